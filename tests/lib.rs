//! Holder crate for the workspace's cross-crate tests (see the `[[test]]` targets).

/// The workspace README's examples, compiled as doctests so they cannot drift from the API. They
/// live here, not in the facade: a published crate may not reach outside its own folder.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeExamples;

/// The stand-in crate's README example (what crates.io shows), compiled the same way.
#[cfg(doctest)]
#[doc = include_str!("../crates/standin/README.md")]
pub struct StandinReadmeExamples;
