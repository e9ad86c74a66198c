//! The rule that a path parameter is exactly one path segment.
//!
//! progenitor percent-encodes `/` and `%` in path parameters, but not `.` or `\`, and `reqwest`
//! then parses the URL the WHATWG way: `..` and `.` segments are resolved and `\` is a separator.
//! So an id of `..` or `a\..\..\admin` silently reaches another endpoint with the client's
//! credentials, and an empty id turns `/agents/{id}/run` into `/agents//run`. Two steps close it:
//!
//! 1. The generated code encodes path parameters with [`encode_segment`] (the xtask points it
//!    there), which also encodes `\`: a backslash is then part of the value, never a separator.
//! 2. Every request passes the client hooks before it is sent: there the URL's path is matched
//!    against the operation's template, segment by segment, after the base URL's own path.
//!    Literal segments must be equal; a parameter segment must be non-empty and not `.` or `..`
//!    (values no encoding can keep from collapsing, since URL parsers read `%2e` as a dot too).
//!    Anything a parameter did to the route shows up as a mismatch, and the request is refused.

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use reqwest::Url;

/// What a path parameter's value is encoded against: progenitor's set plus `\`.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'%')
    .add(b'\\');

/// Percent-encodes one path parameter so it stays one segment (`/`, `\\`, `%`, `?`, `#` and
/// controls are encoded). The generated clients call this instead of progenitor's
/// `encode_path`.
///
/// ```
/// assert_eq!(agentapis_runtime::encode_segment("a/b\\..\\c d"), "a%2Fb%5C..%5Cc%20d");
/// ```
pub fn encode_segment(value: &str) -> std::borrow::Cow<'_, str> {
    // Borrowed when nothing needs encoding (most ids): the generated code formats it into the
    // URL, so no string is made for it.
    utf8_percent_encode(value, SEGMENT).into()
}

/// Whether `url` is `base` followed by `template` with every `{param}` one proper segment.
pub(crate) fn matches_template(url: &Url, base: &str, template: &str) -> bool {
    let Some(rest) = url.path().strip_prefix(base_path(base)) else {
        return false;
    };
    let (Some(rest), Some(template)) = (rest.strip_prefix('/'), template.strip_prefix('/')) else {
        return rest.is_empty() && template.is_empty();
    };
    let mut actual = rest.split('/');
    let mut expected = template.split('/');
    loop {
        match (actual.next(), expected.next()) {
            (None, None) => return true,
            (Some(segment), Some(pattern)) if pattern.contains('{') => {
                if segment.is_empty() || is_dot_segment(segment) {
                    return false;
                }
            }
            (Some(segment), Some(pattern)) => {
                if segment != pattern && segment != encode_literal(pattern) {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// The path of a base URL (`https://h/v1/` → `/v1`), by slicing: it runs on every request, and
/// base URLs are checked when a client is built.
fn base_path(base: &str) -> &str {
    let after_scheme = base.split_once("://").map_or(base, |(_, rest)| rest);
    after_scheme
        .find('/')
        .map_or("", |i| &after_scheme[i..])
        .trim_end_matches('/')
}

/// `.` or `..`, also in the percent-encoded forms URL parsers treat as dots.
fn is_dot_segment(segment: &str) -> bool {
    let lower = segment.to_ascii_lowercase();
    matches!(lower.as_str(), "." | ".." | "%2e" | "%2e%2e" | ".%2e" | "%2e.")
}

/// A literal template segment as the URL parser writes it (only characters it encodes in paths
/// matter; the templates are ASCII).
fn encode_literal(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for c in segment.chars() {
        match c {
            ' ' | '"' | '<' | '>' | '`' | '#' | '?' | '{' | '}' => out.push_str(&format!("%{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the generated code does: encode the parameter, format, parse.
    fn built(base: &str, template: &str, value: &str) -> Url {
        let encoded = encode_segment(value);
        let path = template.replacen("{id}", &encoded, 1);
        Url::parse(&format!("{base}{path}")).expect("generated URLs parse")
    }

    #[test]
    fn proper_ids_pass() {
        for base in ["https://h", "https://h/v1", "http://127.0.0.1:9/prefix/x"] {
            for id in [
                "agt_1", "a b", "a/b", "100%", "é", "...", ".a", "a.", "x..y", "%2e%2e", "./.", "../x",
            ] {
                let url = built(base, "/api/v1/agents/{id}/run", id);
                assert!(
                    matches_template(&url, base, "/api/v1/agents/{id}/run"),
                    "{base} {id:?} {url}"
                );
            }
        }
    }

    #[test]
    fn ids_that_change_the_route_fail() {
        for base in ["https://h", "https://h/v1"] {
            for id in ["", ".", ".."] {
                let url = built(base, "/api/v1/agents/{id}/run", id);
                assert!(
                    !matches_template(&url, base, "/api/v1/agents/{id}/run"),
                    "{base} {id:?} → {url}"
                );
                let url = built(base, "/orgs/{id}/assistants", id);
                assert!(
                    !matches_template(&url, base, "/orgs/{id}/assistants"),
                    "{base} {id:?} → {url}"
                );
                let url = built(base, "/agents/{id}", id);
                assert!(!matches_template(&url, base, "/agents/{id}"), "{base} {id:?} → {url}");
            }
        }
    }

    #[test]
    fn progenitors_encoding_alone_lets_a_backslash_change_the_route() {
        // Why the generated code is pointed at `encode_segment`: `.\\a` would become `a`.
        let url = Url::parse(&format!("https://h/agents/{}", progenitor_client::encode_path(".\\a"))).expect("url");
        assert_eq!(url.path(), "/agents/a");
        let url = Url::parse(&format!("https://h/agents/{}", encode_segment(".\\a"))).expect("url");
        assert_eq!(url.path(), "/agents/.%5Ca");
    }

    #[test]
    fn base_paths() {
        for (base, path) in [
            ("https://h", ""),
            ("https://h/", ""),
            ("https://h/v1", "/v1"),
            ("http://127.0.0.1:9/a/b/", "/a/b"),
        ] {
            assert_eq!(base_path(base), path, "{base}");
        }
    }

    #[test]
    fn parameters_inside_a_segment_and_root_paths() {
        let base = "https://h";
        let url = Url::parse("https://h/files/report.json").expect("url");
        assert!(matches_template(&url, base, "/files/{name}.json"));
        let url = Url::parse("https://h/").expect("url");
        assert!(matches_template(&url, base, "/"));
        let url = Url::parse("https://h/other").expect("url");
        assert!(!matches_template(&url, "https://h/v1", "/other"));
    }
}
