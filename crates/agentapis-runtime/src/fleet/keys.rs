//! Every key fleet mode writes, named in one place. A client's keys share the prefix
//! `<namespace>:<api>:<credential>` (the credential being [`fingerprint`](super::fingerprint) of
//! the client's keys, so no key appears in a store), and each script touches one key:
//!
//! | key | Redis type | holds | written by |
//! |---|---|---|---|
//! | `<prefix>:rate` | string | the client-side rate's next place (GCRA arrival time, µs) | `take_rate` |
//! | `<prefix>:slots` | sorted set | concurrency leases, scored by expiry | `lease_slot`, `release_slot` |
//! | `<prefix>:budget` | hash `{left, reset, probe}` | the server-stated budget of a client-wide limit | `note_budget`, `take_budget` |
//! | `<prefix>:budget:<operation>` | hash `{left, reset, probe}` | the same for a per-operation limit ([`LimitScope::Operation`]) | `note_budget`, `take_budget` |
//! | `<prefix>:session` | hash `{gen, access, refresh}` | a shared sign-in's tokens (ArchAstro) | `store`, `store_if` |
//! | `<prefix>:session:lock` | string | the holder of the single-flight refresh | `lock`, `unlock` |
//!
//! Rates and slots expire shortly after their last use, budgets a minute past their reset and
//! session locks with their lease; a session's tokens do not expire (a shared sign-in lasts until
//! a new one replaces it).

use std::borrow::Cow;

use crate::{Api, LimitScope};

/// The keys of one client in a fleet's store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    prefix: String,
    rate: String,
    slots: String,
    budget: String,
}

impl Keys {
    /// The keys of a client of `api` whose credentials have fingerprint `credential`, under
    /// `namespace`.
    pub fn new(namespace: &str, api: Api, credential: &str) -> Self {
        Self::under(format!("{namespace}:{}:{credential}", api.name()))
    }

    /// The keys under `prefix` (a process's own limits use the empty prefix).
    pub fn under(prefix: String) -> Self {
        Self {
            rate: format!("{prefix}:rate"),
            slots: format!("{prefix}:slots"),
            budget: format!("{prefix}:budget"),
            prefix,
        }
    }

    /// The prefix every key of this client starts with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The client-side rate.
    pub fn rate(&self) -> &str {
        &self.rate
    }

    /// The concurrency leases.
    pub fn slots(&self) -> &str {
        &self.slots
    }

    /// The server-stated budget `operation` counts against, where the API's limit applies.
    pub fn budget(&self, scope: LimitScope, operation: &str) -> Cow<'_, str> {
        match scope {
            LimitScope::Operation => Cow::Owned(format!("{}:{operation}", self.budget)),
            _ => Cow::Borrowed(&self.budget),
        }
    }

    /// A shared session's tokens.
    pub fn session(&self) -> String {
        format!("{}:session", self.prefix)
    }

    /// The lock of the single-flight refresh of the session at `session`.
    pub fn session_lock(session: &str) -> String {
        format!("{session}:lock")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_named_under_the_clients_prefix() {
        let keys = Keys::new("prod", Api::ArchAstro, "3f2a");
        assert_eq!(keys.prefix(), "prod:archastro:3f2a");
        assert_eq!(keys.rate(), "prod:archastro:3f2a:rate");
        assert_eq!(keys.slots(), "prod:archastro:3f2a:slots");
        assert_eq!(
            keys.budget(LimitScope::Client, "get_agent"),
            "prod:archastro:3f2a:budget"
        );
        assert_eq!(
            keys.budget(LimitScope::Operation, "get_agent"),
            "prod:archastro:3f2a:budget:get_agent"
        );
        assert_eq!(keys.session(), "prod:archastro:3f2a:session");
        assert_eq!(Keys::session_lock(&keys.session()), "prod:archastro:3f2a:session:lock");
    }
}
