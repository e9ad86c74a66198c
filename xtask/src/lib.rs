//! The workspace's build tasks: validate the bundled OpenAPI specs, down-convert 3.1 to 3.0,
//! normalize them with named rules, generate each client with progenitor, and check that the
//! checked-in output is fresh. `cargo xtask --help` lists the commands.

pub mod api_table;
pub mod apis;
pub mod bench;
pub mod channel_contract;
pub mod channels;
pub mod contract;
pub mod corpus;
pub mod diff;
pub mod error;
pub mod facts;
pub mod gate;
pub mod generate;
pub mod import;
pub mod index;
pub mod packaging;
pub mod pagination;
pub mod paging_glue;
pub mod pipeline;
pub mod regen;
pub mod release;
pub mod rules;
pub mod spec;
pub mod syntax;
pub mod transaction;
pub mod validate;
pub mod versions;
pub mod yaml;

use std::path::PathBuf;

/// `cargo` as the xtask was run with (`$CARGO`), or from `PATH`.
pub fn cargo() -> std::process::Command {
    std::process::Command::new(cargo_program())
}

/// The program [`cargo`] runs.
pub fn cargo_program() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

/// The workspace root (the xtask crate's parent directory).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}
