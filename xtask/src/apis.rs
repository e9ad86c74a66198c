//! The APIs this workspace bundles: where each spec lives and where its client is generated.

use crate::rules::auth::AuthExtension;
use crate::rules::Options;

/// One bundled API: an entry of the table (its `variant` names the `agentapis_runtime::Api` it becomes).
#[derive(Debug, Clone, Copy)]
pub struct ApiEntry {
    /// Short name used on the command line and in the lock file.
    pub name: &'static str,
    /// The spec, relative to the workspace root.
    pub spec: &'static str,
    /// The generated file, relative to the workspace root.
    pub output: &'static str,
    /// The generated contract test (every operation against the stand-in).
    pub contract: &'static str,
    /// The typed realtime channel module and its contract test, for an API whose spec has
    /// `x-channels`.
    pub channels: Option<ChannelOutputs>,
    /// The client crate's typed httpmock mocks (its `mock` feature), when it has them.
    pub mocks: Option<&'static str>,
    /// The client crate's manifest (its version carries the spec version as build metadata).
    pub manifest: &'static str,
    /// The client crate's package name (as in `Cargo.lock`).
    pub package: &'static str,
    /// The client crate's changelog, appended to by `cargo xtask spec import`.
    pub changelog: &'static str,
    /// What the API is, in a few words (the client crate's README says it).
    pub about: &'static str,
    /// The API's variant of `agentapis_runtime::Api` (generated from this table; shared by the
    /// runtime, the generated clients, the facade and the stand-in).
    pub variant: &'static str,
    /// Where the API's rate-limit headers apply (becomes `agentapis_runtime::LimitScope`).
    pub limit_scope: LimitScope,
    /// A path parameter most operations share and a client usually fixes (Invent's `org_id`):
    /// the generated client gets a view with it pre-filled.
    pub scope: Option<Scope>,
    /// Switches for rules that depend on the server.
    pub options: Options,
    /// How the stand-in behaves like this API's server (generated into its profile table).
    pub standin: StandinProfile,
}

/// Where an API's rate-limit headers apply: the runtime's `LimitScope`, one variant each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitScope {
    /// One budget for everything the client sends (a per-key or per-IP limit).
    Client,
    /// One budget per operation.
    Operation,
}

impl LimitScope {
    /// The runtime's variant name.
    pub const fn variant(self) -> &'static str {
        match self {
            LimitScope::Client => "Client",
            LimitScope::Operation => "Operation",
        }
    }
}

/// The shape of an API's error bodies, as the stand-in answers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorShape {
    /// `{"success": false, "error": {"code", "message"}}`.
    Envelope,
    /// `{"error": {"code", "message"}}`, the code in lower case.
    Nested,
}

/// What the stand-in does differently for one API (the stand-in's `Profile`).
#[derive(Debug, Clone, Copy)]
pub struct StandinProfile {
    /// The shape of its error bodies.
    pub errors: ErrorShape,
    /// The status an invalid request body is answered with.
    pub invalid_body: u16,
    /// The Phoenix socket's path, for an API whose realtime API is Phoenix channels.
    pub phoenix_path: Option<&'static str>,
    /// Sign-ins can rotate their tokens (login and refresh routes).
    pub sessions: bool,
    /// Agent runs are simulated: started, then polled until done.
    pub runs: bool,
    /// The path parameter that names a run (given the seeded run's id in generated requests).
    pub run_parameter: Option<&'static str>,
}

impl StandinProfile {
    /// A plain REST server: nested error objects, 422 for an invalid body, no socket, no
    /// sessions, no runs.
    pub const PLAIN: StandinProfile = StandinProfile {
        errors: ErrorShape::Nested,
        invalid_body: 422,
        phoenix_path: None,
        sessions: false,
        runs: false,
        run_parameter: None,
    };
}

/// Where an API's generated channel code goes (see [`crate::generate::channels`]).
#[derive(Debug, Clone, Copy)]
pub struct ChannelOutputs {
    /// The channel module, relative to the workspace root.
    pub code: &'static str,
    /// Its contract test (every join, message and push against the stand-in).
    pub contract: &'static str,
}

/// A path parameter fixed once for a view of the generated client (see
/// [`crate::generate::scope`]).
#[derive(Debug, Clone, Copy)]
pub struct Scope {
    /// The path parameter, as the spec names it.
    pub parameter: &'static str,
    /// The view's type name in the generated code.
    pub view: &'static str,
    /// What the parameter means, for the view's docs.
    pub meaning: &'static str,
}

/// Every bundled API, in a fixed order (reports and headers rely on it).
pub const APIS: &[ApiEntry] = &[
    ApiEntry {
        name: "agentiv",
        spec: "specs/agentiv/openapi.json",
        output: "crates/agentiv-client/src/generated.rs",
        contract: "tests/contract/agentiv.rs",
        channels: None,
        mocks: Some("crates/agentiv-client/src/mock.rs"),
        manifest: "crates/agentiv-client/Cargo.toml",
        package: "agentiv-client",
        changelog: "crates/agentiv-client/CHANGELOG.md",
        about: "hosted agents you run, poll and schedule; `api.agentiv.cloud`",
        variant: "Agentiv",
        // Agentiv limits per API key (its plans).
        limit_scope: LimitScope::Client,
        scope: None,
        options: Options {
            plug_query: false,
            auth_extension: None,
        },
        standin: StandinProfile {
            errors: ErrorShape::Envelope,
            invalid_body: 400,
            phoenix_path: None,
            sessions: false,
            runs: true,
            run_parameter: Some("executionId"),
        },
    },
    ApiEntry {
        name: "archastro",
        spec: "specs/archastro/openapi.json",
        output: "crates/archastro-client/src/generated.rs",
        contract: "tests/contract/archastro.rs",
        channels: Some(ChannelOutputs {
            code: "crates/archastro-client/src/channels.rs",
            contract: "tests/contract/archastro_channels.rs",
        }),
        mocks: Some("crates/archastro-client/src/mock.rs"),
        manifest: "crates/archastro-client/Cargo.toml",
        package: "archastro-client",
        changelog: "crates/archastro-client/CHANGELOG.md",
        about: "an agent platform; API host `platform.archastro.ai`",
        variant: "ArchAstro",
        // ArchAstro documents no scope: an exhausted budget on one operation does not hold back
        // the others.
        limit_scope: LimitScope::Operation,
        scope: None,
        // ArchAstro's backend is Phoenix/Plug (its realtime API is Phoenix channels).
        options: Options {
            plug_query: true,
            auth_extension: Some(AuthExtension {
                schemes: "x-auth-schemes",
                operation: "x-auth",
            }),
        },
        standin: StandinProfile {
            errors: ErrorShape::Nested,
            invalid_body: 422,
            phoenix_path: Some("/socket/api/websocket"),
            sessions: true,
            runs: false,
            run_parameter: None,
        },
    },
    ApiEntry {
        name: "invent",
        spec: "specs/invent/openapi.json",
        output: "crates/invent-client/src/generated.rs",
        contract: "tests/contract/invent.rs",
        channels: None,
        mocks: Some("crates/invent-client/src/mock.rs"),
        manifest: "crates/invent-client/Cargo.toml",
        package: "invent-client",
        changelog: "crates/invent-client/CHANGELOG.md",
        about: "AI support assistants; `api.useinvent.com`",
        variant: "Invent",
        // Invent limits per IP address (500 requests/min).
        limit_scope: LimitScope::Client,
        scope: Some(Scope {
            parameter: "org_id",
            view: "Org",
            meaning: "the organization acted on (`c`: the key's own)",
        }),
        options: Options {
            plug_query: false,
            auth_extension: None,
        },
        standin: StandinProfile::PLAIN,
    },
];

impl ApiEntry {
    /// Every file the generator writes for this API (the client, its contract test, its mocks,
    /// its channel module and channel contract test), relative to the workspace root.
    pub fn outputs(&self) -> Vec<&'static str> {
        let mut files = vec![self.output, self.contract];
        files.extend(self.mocks);
        if let Some(channels) = self.channels {
            files.extend([channels.code, channels.contract]);
        }
        files
    }
}

/// Looks an API up by name.
pub fn find(name: &str) -> Option<&'static ApiEntry> {
    APIS.iter().find(|a| a.name == name)
}
