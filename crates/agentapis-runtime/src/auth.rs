//! How requests authenticate: the credential headers each request gets.

use std::sync::Arc;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};

use crate::secret::Secret;
use crate::token::TokenStore;

/// How requests authenticate.
#[derive(Clone, Debug)]
pub enum Auth {
    /// No credentials (public operations, tests).
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// The credential in a named header, e.g. `x-archastro-api-key`.
    Header {
        /// Header name.
        name: &'static str,
        /// Header value.
        value: Secret,
    },
    /// A bearer token that may change (sign-in, refresh); nothing is sent while it is empty.
    Token(Arc<TokenStore>),
    /// Several credentials at once (e.g. ArchAstro's app key plus a user's token).
    All(Vec<Auth>),
}

impl Auth {
    /// The replaceable token, if these credentials include one.
    pub fn token_store(&self) -> Option<&Arc<TokenStore>> {
        match self {
            Auth::Token(store) => Some(store),
            Auth::All(all) => all.iter().find_map(Auth::token_store),
            _ => None,
        }
    }

    /// The fixed credentials (keys, not replaceable tokens), which name a fleet's shared limits
    /// (hashed: see [`crate::fleet::fingerprint`]).
    pub fn static_secrets(&self) -> Vec<&Secret> {
        match self {
            Auth::Bearer(secret) | Auth::Header { value: secret, .. } => vec![secret],
            Auth::All(all) => all.iter().flat_map(Auth::static_secrets).collect(),
            Auth::None | Auth::Token(_) => Vec::new(),
        }
    }

    /// Every credential these may send right now (the fixed ones and the replaceable token's
    /// current value), to scrub from server text.
    pub(crate) fn current_secrets(&self) -> Vec<Secret> {
        let mut out: Vec<Secret> = self.static_secrets().into_iter().cloned().collect();
        if let Some(token) = self.token_store().and_then(|store| store.current().1) {
            out.push(token);
        }
        out
    }

    /// Sets the credential header on `headers`, marked sensitive so HTTP-level logging hides it,
    /// and returns the generation of the replaceable token it sent, if it sent one (so a 401 is
    /// matched to exactly the token that was rejected).
    /// A credential that is not a valid header value is not sent (the server then answers 401);
    /// configuration code validates credentials up front so this does not happen in practice.
    pub fn apply(&self, headers: &mut HeaderMap) -> Option<u64> {
        // One implementation: the runtime keeps the prepared form and applies it per request.
        Prepared::new(self).apply(headers)
    }
}

/// [`Auth`] with its fixed header values built once, so a request copies them (a reference
/// count) instead of formatting and parsing its credentials again.
pub(crate) struct Prepared(Vec<Part>);

enum Part {
    Fixed(HeaderName, HeaderValue),
    Token(Arc<TokenStore>),
}

impl Prepared {
    pub(crate) fn new(auth: &Auth) -> Self {
        fn flatten(auth: &Auth, out: &mut Vec<Part>) {
            let fixed = |name: HeaderName, value: &str| {
                HeaderValue::from_str(value).ok().map(|mut value| {
                    value.set_sensitive(true);
                    Part::Fixed(name, value)
                })
            };
            match auth {
                Auth::None => {}
                Auth::All(all) => all.iter().for_each(|a| flatten(a, out)),
                Auth::Token(store) => out.push(Part::Token(Arc::clone(store))),
                Auth::Bearer(token) => out.extend(fixed(AUTHORIZATION, &format!("Bearer {}", token.expose()))),
                Auth::Header { name, value } => {
                    if let Ok(name) = HeaderName::from_bytes(name.as_bytes()) {
                        out.extend(fixed(name, value.expose()));
                    }
                }
            }
        }
        let mut parts = Vec::new();
        flatten(auth, &mut parts);
        Self(parts)
    }

    /// Sets the credential headers (see [`Auth::apply`]), in the order they were given.
    pub(crate) fn apply(&self, headers: &mut HeaderMap) -> Option<u64> {
        let mut generation = None;
        for part in &self.0 {
            match part {
                Part::Fixed(name, value) => {
                    headers.insert(name.clone(), value.clone());
                }
                Part::Token(store) => {
                    if let Some((current, value)) = store.authorization() {
                        generation = Some(current);
                        if let Some(value) = value {
                            headers.insert(AUTHORIZATION, value);
                        }
                    }
                }
            }
        }
        generation
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let auth = Auth::Bearer(Secret::new("sk_live_123"));
        assert!(!format!("{auth:?}").contains("sk_live_123"));
        assert!(!Secret::new("sk_live_123").to_string().contains("sk_live_123"));
    }

    #[test]
    fn prepared_credentials_set_what_auth_sets() {
        let store = TokenStore::new();
        store.set(Secret::new("jwt_1"));
        let auths = [
            Auth::None,
            Auth::Bearer(Secret::new("sk_1")),
            Auth::Header {
                name: "x-archastro-api-key",
                value: Secret::new("pk_1"),
            },
            Auth::All(vec![
                Auth::Header {
                    name: "x-archastro-api-key",
                    value: Secret::new("pk_1"),
                },
                Auth::Token(Arc::clone(&store)),
            ]),
            Auth::Bearer(Secret::new("bad\nvalue")),
        ];
        for auth in auths {
            let (mut direct, mut prepared) = (HeaderMap::new(), HeaderMap::new());
            let sent = auth.apply(&mut direct);
            assert_eq!(Prepared::new(&auth).apply(&mut prepared), sent, "{auth:?}");
            assert_eq!(direct, prepared, "{auth:?}");
            assert!(prepared.values().all(HeaderValue::is_sensitive));
        }
    }

    #[test]
    fn header_auth_sets_a_sensitive_header() {
        let mut h = HeaderMap::new();
        Auth::Header {
            name: "x-archastro-api-key",
            value: Secret::new("sk_1"),
        }
        .apply(&mut h);
        let v = h.get("x-archastro-api-key").expect("header set");
        assert_eq!(v, "sk_1");
        assert!(v.is_sensitive());
        let mut h = HeaderMap::new();
        Auth::Bearer(Secret::new("bad\nvalue")).apply(&mut h);
        assert!(h.is_empty());
    }
}
