//! The APIs this workspace bundles: where each spec lives and where its client is generated.

use crate::rules::auth::AuthExtension;
use crate::rules::Options;

/// One bundled API.
#[derive(Debug, Clone, Copy)]
pub struct Api {
    /// Short name used on the command line and in the lock file.
    pub name: &'static str,
    /// The spec, relative to the workspace root.
    pub spec: &'static str,
    /// The generated file, relative to the workspace root.
    pub output: &'static str,
    /// The generated contract test (every operation against the stand-in).
    pub contract: &'static str,
    /// The client crate's manifest (its version carries the spec version as build metadata).
    pub manifest: &'static str,
    /// The client crate's package name (as in `Cargo.lock`).
    pub package: &'static str,
    /// The client crate's changelog, appended to by `cargo xtask spec import`.
    pub changelog: &'static str,
    /// The stand-in's name for this API (`agentapis_standin::Api::<standin>`), used by the
    /// generated contract test.
    pub standin: &'static str,
    /// Switches for rules that depend on the server.
    pub options: Options,
}

/// Every bundled API, in a fixed order (reports and headers rely on it).
pub const APIS: &[Api] = &[
    Api {
        name: "agentiv",
        spec: "specs/agentiv/openapi.json",
        output: "crates/agentiv-client/src/generated.rs",
        contract: "tests/contract/agentiv.rs",
        manifest: "crates/agentiv-client/Cargo.toml",
        package: "agentiv-client",
        changelog: "crates/agentiv-client/CHANGELOG.md",
        standin: "Agentiv",
        options: Options {
            plug_query: false,
            auth_extension: None,
        },
    },
    Api {
        name: "archastro",
        spec: "specs/archastro/openapi.json",
        output: "crates/archastro-client/src/generated.rs",
        contract: "tests/contract/archastro.rs",
        manifest: "crates/archastro-client/Cargo.toml",
        package: "archastro-client",
        changelog: "crates/archastro-client/CHANGELOG.md",
        standin: "ArchAstro",
        // ArchAstro's backend is Phoenix/Plug (its realtime API is Phoenix channels).
        options: Options {
            plug_query: true,
            auth_extension: Some(AuthExtension {
                schemes: "x-auth-schemes",
                operation: "x-auth",
            }),
        },
    },
    Api {
        name: "invent",
        spec: "specs/invent/openapi.json",
        output: "crates/invent-client/src/generated.rs",
        contract: "tests/contract/invent.rs",
        manifest: "crates/invent-client/Cargo.toml",
        package: "invent-client",
        changelog: "crates/invent-client/CHANGELOG.md",
        standin: "Invent",
        options: Options {
            plug_query: false,
            auth_extension: None,
        },
    },
];

/// Looks an API up by name.
pub fn find(name: &str) -> Option<&'static Api> {
    APIS.iter().find(|a| a.name == name)
}
