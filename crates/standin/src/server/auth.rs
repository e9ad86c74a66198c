//! Credentials, checked as the spec declares each security scheme.

use crate::spec::{Operation, Scheme, Spec};

/// Whether `headers` satisfy one of `op`'s security alternatives, each scheme checked as the
/// spec declares it (a bearer token, or a key header with the scheme's `x-key-prefix`).
pub(crate) fn authorized(spec: &Spec, op: &Operation, headers: &hyper::HeaderMap) -> bool {
    if op.security.is_empty() || op.security.iter().any(Vec::is_empty) {
        return true;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    let satisfied = |scheme: &String| match spec.schemes.get(scheme) {
        Some(Scheme::Bearer) => header("authorization")
            .strip_prefix("Bearer ")
            .is_some_and(|t| !t.trim().is_empty()),
        Some(Scheme::Header { name, prefix }) => header(name)
            .strip_prefix(prefix.as_str())
            .is_some_and(|rest| !rest.is_empty()),
        Some(Scheme::Unchecked) => true,
        None => false,
    };
    op.security.iter().any(|all| all.iter().all(satisfied))
}
