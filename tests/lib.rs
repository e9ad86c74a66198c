//! Holder crate for the workspace's cross-crate tests (see the `[[test]]` targets).
