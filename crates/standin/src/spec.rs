//! The bundled specs, read into what the server needs: operations with their path templates,
//! auth, parameters, success schema and paging style.

pub(crate) use agentapis_paging::Paging;
use serde_json::{Map, Value};

use crate::Api;

/// One operation of a spec.
#[derive(Debug, Clone)]
pub(crate) struct Operation {
    pub(crate) id: String,
    pub(crate) method: String,
    pub(crate) template: String,
    pub(crate) segments: Vec<Segment>,
    /// Alternatives; each a list of scheme names that must all be present. Empty: no auth.
    pub(crate) security: Vec<Vec<String>>,
    pub(crate) required_query: Vec<String>,
    /// Query and path parameters: name (without `[]`), location, schema.
    pub(crate) params: Vec<(String, String, Value)>,
    pub(crate) has_body: bool,
    /// The JSON request body's schema, if the operation takes one.
    pub(crate) body_schema: Option<Value>,
    pub(crate) success_status: u16,
    pub(crate) success_schema: Option<Value>,
    /// The success body's media type when it is not JSON (a file, an image): answered as bytes.
    pub(crate) success_binary: Option<String>,
    pub(crate) paging: Option<Paging>,
}

/// Path parameters of a matched route, in template order.
pub(crate) type PathParams = Vec<(String, String)>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Literal(String),
    Param(String),
}

/// How a security scheme's credential is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// `Authorization: Bearer <non-empty token>`.
    Bearer,
    /// A header whose value starts with `prefix` (the scheme's `x-key-prefix`, may be empty) and
    /// has more after it.
    Header { name: String, prefix: String },
    /// A kind the stand-in does not check (query keys, cookies, OAuth): accepted.
    Unchecked,
}

/// A loaded spec.
pub(crate) struct Spec {
    pub(crate) doc: Value,
    pub(crate) operations: Vec<Operation>,
    /// `components.securitySchemes` by name, as checks.
    pub(crate) schemes: std::collections::HashMap<String, Scheme>,
}

fn schemes(doc: &Value) -> std::collections::HashMap<String, Scheme> {
    doc.pointer("/components/securitySchemes")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, scheme)| {
            let field = |k: &str| scheme.get(k).and_then(Value::as_str).unwrap_or_default();
            let check = match (field("type"), field("in")) {
                ("http", _) if field("scheme").eq_ignore_ascii_case("bearer") => Scheme::Bearer,
                ("apiKey", "header") => Scheme::Header {
                    name: field("name").to_ascii_lowercase(),
                    prefix: field("x-key-prefix").to_owned(),
                },
                _ => Scheme::Unchecked,
            };
            (name.clone(), check)
        })
        .collect()
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

impl Spec {
    /// Loads the bundled spec of `api`. The specs are checked by the xtask, so a failure here is
    /// a build defect, reported as an error rather than a panic.
    pub(crate) fn load(api: Api) -> Result<Self, String> {
        let doc: Value =
            serde_json::from_str(crate::apis::spec_text(api)).map_err(|e| format!("bundled {api:?} spec: {e}"))?;
        let schemes = schemes(&doc);
        let mut operations = Vec::new();
        let global_security = doc.get("security").cloned().unwrap_or(Value::Array(vec![]));
        let paths = doc.get("paths").and_then(Value::as_object).cloned().unwrap_or_default();
        for (template, item) in &paths {
            let shared = item
                .get("parameters")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for method in METHODS {
                let Some(op) = item.get(method).and_then(Value::as_object) else {
                    continue;
                };
                operations.push(Self::operation(&doc, template, method, op, &shared, &global_security));
            }
        }
        Ok(Self {
            doc,
            operations,
            schemes,
        })
    }

    fn operation(
        doc: &Value,
        template: &str,
        method: &str,
        op: &Map<String, Value>,
        shared: &[Value],
        global_security: &Value,
    ) -> Operation {
        let params: Vec<Value> = shared
            .iter()
            .chain(op.get("parameters").and_then(Value::as_array).into_iter().flatten())
            .map(|p| resolve(doc, p).clone())
            .collect();
        let query: Vec<(String, bool)> = params
            .iter()
            .filter(|p| p.get("in").and_then(Value::as_str) == Some("query"))
            .filter_map(|p| {
                let name = p.get("name")?.as_str()?.trim_end_matches("[]").to_owned();
                Some((name, p.get("required").and_then(Value::as_bool).unwrap_or(false)))
            })
            .collect();
        let paging = agentapis_paging::detect(method, query.iter().map(|(name, _)| name.as_str()));
        let (success_status, success_schema, success_binary) = success_of(doc, op);
        let security = op
            .get("security")
            .unwrap_or(global_security)
            .as_array()
            .map(|alternatives| {
                alternatives
                    .iter()
                    .filter_map(Value::as_object)
                    .map(|req| req.keys().cloned().collect())
                    .collect()
            })
            .unwrap_or_default();
        Operation {
            id: op
                .get("operationId")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            method: method.to_uppercase(),
            template: template.to_owned(),
            segments: template
                .split('/')
                .filter(|s| !s.is_empty())
                .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name) => Segment::Param(name.to_owned()),
                    None => Segment::Literal(s.to_owned()),
                })
                .collect(),
            security,
            required_query: query.into_iter().filter(|(_, r)| *r).map(|(n, _)| n).collect(),
            params: params
                .iter()
                .filter_map(|p| {
                    let location = p.get("in")?.as_str()?;
                    if !matches!(location, "query" | "path") {
                        return None;
                    }
                    let name = p.get("name")?.as_str()?.trim_end_matches("[]").to_owned();
                    Some((
                        name,
                        location.to_owned(),
                        p.get("schema").cloned().unwrap_or(Value::Null),
                    ))
                })
                .collect(),
            has_body: op.get("requestBody").is_some(),
            body_schema: op
                .get("requestBody")
                .map(|b| resolve(doc, b))
                .and_then(|b| b.pointer("/content/application~1json/schema"))
                .cloned(),
            success_status,
            success_schema,
            success_binary,
            paging,
        }
    }
}

/// An operation's success: its (lowest 2xx) status, its JSON schema, or else the media type of
/// a binary body.
fn success_of(doc: &Value, op: &Map<String, Value>) -> (u16, Option<Value>, Option<String>) {
    let responses = op.get("responses").and_then(Value::as_object);
    let (status, success) = responses
        .into_iter()
        .flatten()
        .filter_map(|(code, r)| {
            code.parse::<u16>()
                .ok()
                .filter(|c| (200..300).contains(c))
                .map(|c| (c, r))
        })
        .min_by_key(|(c, _)| *c)
        .map(|(c, r)| (c, Some(resolve(doc, r))))
        .unwrap_or((200, None));
    let schema = success
        .and_then(|r| r.pointer("/content/application~1json/schema"))
        .cloned();
    let binary = success
        .and_then(|r| r.get("content"))
        .and_then(Value::as_object)
        .filter(|_| schema.is_none())
        .and_then(|content| content.keys().find(|media| !media.contains("json")))
        .map(|media| match media.as_str() {
            "*/*" => "application/octet-stream".to_owned(),
            other => other.to_owned(),
        });
    (status, schema, binary)
}

/// Follows a local `$ref` (one or more hops); anything else is returned as is.
pub(crate) fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    let mut current = value;
    for _ in 0..16 {
        let Some(target) = current.get("$ref").and_then(Value::as_str) else {
            return current;
        };
        match target.strip_prefix('#').and_then(|p| doc.pointer(p)) {
            Some(next) => current = next,
            None => return current,
        }
    }
    current
}
