//! Operations: added, removed, renamed; parameters, request bodies, success responses, auth and
//! pagination of the ones both versions have.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{change, schema, security, Change, Impact};
use crate::pagination;
use crate::rules::walk;
use crate::syntax::progenitor_name;

/// What the diff needs to know about one operation.
struct Operation {
    method: String,
    path: String,
    name: String,
    op: Map<String, Value>,
}

impl Operation {
    fn subject(&self) -> String {
        format!("{} {}", self.method.to_uppercase(), self.path)
    }

    fn items(&self) -> Vec<String> {
        use heck::ToUpperCamelCase;
        vec![
            format!("Client::{}", self.name),
            format!("builder::{}", self.name.to_upper_camel_case()),
        ]
    }

    /// The type progenitor names an inline schema of this operation (`Body`, `Response`).
    fn inline_type(&self, suffix: &str) -> String {
        use heck::ToUpperCamelCase;
        format!("types::{}{suffix}", self.name.to_upper_camel_case())
    }

    fn setter(&self, param: &str) -> String {
        use heck::ToUpperCamelCase;
        format!(
            "builder::{}::{}",
            self.name.to_upper_camel_case(),
            progenitor_name(param.trim_end_matches("[]"))
        )
    }

    /// Parameters by (location, name).
    fn params(&self) -> BTreeMap<(String, String), Value> {
        self.op
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| {
                let location = p.get("in")?.as_str()?.to_owned();
                let name = p.get("name")?.as_str()?.to_owned();
                Some(((location, name), p.clone()))
            })
            .collect()
    }

    fn security(&self, doc: &Value) -> Value {
        self.op
            .get("security")
            .or_else(|| doc.get("security"))
            .cloned()
            .unwrap_or(Value::Null)
    }
}

fn collect_operations(doc: &Value) -> BTreeMap<(String, String), Operation> {
    let mut out = BTreeMap::new();
    for walk::Operation { op, method, path } in walk::each_operation(doc) {
        let name = progenitor_name(op.get("operationId").and_then(Value::as_str).unwrap_or_default());
        out.insert(
            (path.to_owned(), method.to_owned()),
            Operation {
                method: method.to_owned(),
                path: path.to_owned(),
                name,
                op: op.clone(),
            },
        );
    }
    out
}

/// Compares the operations of two normalized documents.
pub(super) fn compare(old_doc: &Value, new_doc: &Value, out: &mut Vec<Change>) {
    let (old, new) = (collect_operations(old_doc), collect_operations(new_doc));
    for (key, op) in &old {
        let Some(next) = new.get(key) else {
            out.push(change(
                "operation-removed",
                op.subject(),
                format!("`{}` is gone", op.name),
                Impact::Breaking,
                op.items(),
            ));
            continue;
        };
        operation(old_doc, new_doc, op, next, out);
    }
    for (key, op) in &new {
        if !old.contains_key(key) {
            out.push(change(
                "operation-added",
                op.subject(),
                format!("new `{}`", op.name),
                Impact::Additive,
                op.items(),
            ));
        }
    }
}

fn required(param: &Value) -> bool {
    param.get("required").and_then(Value::as_bool).unwrap_or(false)
}

fn operation(old_doc: &Value, new_doc: &Value, old: &Operation, new: &Operation, out: &mut Vec<Change>) {
    let subject = new.subject();
    if old.name != new.name {
        out.push(change(
            "operation-renamed",
            subject.clone(),
            format!("`{}` is now `{}`", old.name, new.name),
            Impact::Breaking,
            [old.items(), new.items()].concat(),
        ));
    }
    let (before, after) = (old.params(), new.params());
    for ((location, name), param) in &before {
        match after.get(&(location.clone(), name.clone())) {
            None => out.push(change(
                "parameter-removed",
                subject.clone(),
                format!("{location} parameter `{name}` removed"),
                Impact::Breaking,
                vec![old.setter(name)],
            )),
            Some(next) => {
                if !required(param) && required(next) {
                    out.push(change(
                        "parameter-made-required",
                        subject.clone(),
                        format!("{location} parameter `{name}` is now required"),
                        Impact::Breaking,
                        vec![new.setter(name)],
                    ));
                } else if required(param) && !required(next) {
                    out.push(change(
                        "parameter-made-optional",
                        subject.clone(),
                        format!("{location} parameter `{name}` is now optional"),
                        Impact::Additive,
                        vec![new.setter(name)],
                    ));
                }
                let (a, b) = (param.get("schema"), next.get("schema"));
                schema::compare(
                    old_doc,
                    new_doc,
                    a,
                    b,
                    &format!("{subject} {location} parameter `{name}`"),
                    &[new.setter(name)],
                    out,
                );
            }
        }
    }
    for ((location, name), param) in &after {
        if !before.contains_key(&(location.clone(), name.clone())) {
            let (kind, impact, how) = if required(param) {
                ("parameter-added-required", Impact::Breaking, "required")
            } else {
                ("parameter-added", Impact::Additive, "optional")
            };
            out.push(change(
                kind,
                subject.clone(),
                format!("new {how} {location} parameter `{name}`"),
                impact,
                vec![new.setter(name)],
            ));
        }
    }
    // Request body and success response: compared as schemas.
    let body = |op: &Operation| {
        op.op
            .get("requestBody")
            .and_then(|b| b.get("content"))
            .and_then(Value::as_object)
            .and_then(|c| c.values().next())
            .and_then(|m| m.get("schema"))
            .cloned()
    };
    let (old_body, new_body) = (body(old), body(new));
    match (&old_body, &new_body) {
        (Some(_), None) => out.push(change(
            "request-body-removed",
            subject.clone(),
            "the request body is gone".into(),
            Impact::Breaking,
            new.items(),
        )),
        (None, Some(_)) => out.push(change(
            "request-body-added",
            subject.clone(),
            "a request body is now sent".into(),
            Impact::Breaking,
            new.items(),
        )),
        // An inline body is `types::<Operation>Body`; a `$ref` body is compared as its component.
        _ => schema::compare(
            old_doc,
            new_doc,
            old_body.as_ref(),
            new_body.as_ref(),
            &format!("{subject} request body"),
            &[new.inline_type("Body"), format!("Client::{}", new.name)],
            out,
        ),
    }
    responses(old_doc, new_doc, old, new, &subject, out);
    let (old_auth, new_auth) = (old.security(old_doc), new.security(new_doc));
    if security::canonical(&old_auth, old_doc) != security::canonical(&new_auth, new_doc) {
        out.push(change(
            "auth-changed",
            subject.clone(),
            format!("security {old_auth} → {new_auth}"),
            Impact::Breaking,
            vec![format!("Client::{}", new.name)],
        ));
    }
    let (old_paging, new_paging) = (
        pagination::detect(&old.method, &old.op),
        pagination::detect(&new.method, &new.op),
    );
    let paged = |s: Option<pagination::Paging>| s.map_or("none", pagination::Paging::label);
    let paging_impact = match (old_paging, new_paging) {
        (a, b) if a == b => None,
        (None, Some(_)) => Some(Impact::Additive),
        _ => Some(Impact::Breaking),
    };
    if let Some(impact) = paging_impact {
        out.push(change(
            "pagination-changed",
            subject,
            format!("paging {} → {}", paged(old_paging), paged(new_paging)),
            impact,
            vec![format!("impl Paginated for builder::{}", {
                use heck::ToUpperCamelCase;
                new.name.to_upper_camel_case()
            })],
        ));
    }
}

/// The body schema of each response, by status code.
fn response_schemas(op: &Operation) -> BTreeMap<String, Option<Value>> {
    op.op
        .get("responses")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(code, response)| {
            let schema = response
                .get("content")
                .and_then(Value::as_object)
                .and_then(|c| c.values().next())
                .and_then(|m| m.get("schema"))
                .cloned();
            (code.clone(), schema)
        })
        .collect()
}

fn is_success(code: &str) -> bool {
    code.starts_with('2')
}

/// Every response: a status whose body changed retypes the return value (2xx) or the error type
/// (the others); a status added or removed is breaking when it brings or takes away a body type
/// the operation's other statuses of its kind do not have (the generated success or error type
/// changes), and otherwise only changes which answers decode as typed.
fn responses(old_doc: &Value, new_doc: &Value, old: &Operation, new: &Operation, subject: &str, out: &mut Vec<Change>) {
    let (before, after) = (response_schemas(old), response_schemas(new));
    let kind = |code: &str| if is_success(code) { "success" } else { "error" };
    let items = |code: &str| {
        let inline = if is_success(code) {
            new.inline_type("Response")
        } else {
            format!("Client::{} error type", new.name)
        };
        vec![inline, format!("Client::{}", new.name)]
    };
    for (code, schema) in &before {
        if let Some(next) = after.get(code) {
            schema::compare(
                old_doc,
                new_doc,
                schema.as_ref(),
                next.as_ref(),
                &format!("{subject} {} response {code}", kind(code)),
                &items(code),
                out,
            );
        }
    }
    let shapes = |map: &BTreeMap<String, Option<Value>>, success: bool| -> Vec<Value> {
        map.iter()
            .filter(|(code, _)| is_success(code) == success)
            .filter_map(|(_, s)| s.as_ref().map(schema::shape))
            .collect()
    };
    let mut status_change = |code: &String, schema: &Option<Value>, added: bool| {
        let others = if added { &before } else { &after };
        let known = schema
            .as_ref()
            .is_none_or(|s| shapes(others, is_success(code)).contains(&schema::shape(s)));
        let (impact, why) = match (added, known) {
            (false, _) => (Impact::Breaking, "answers with it no longer decode as typed"),
            (true, true) => (Impact::Additive, "same body type as its other statuses"),
            (true, false) => (Impact::Breaking, "its body type changes what the operation returns"),
        };
        out.push(change(
            if added { "response-added" } else { "response-removed" },
            subject.to_owned(),
            format!(
                "{} response {code} {} ({why})",
                kind(code),
                if added { "added" } else { "removed" }
            ),
            impact,
            vec![format!("Client::{}", new.name)],
        ));
    };
    for (code, schema) in before.iter().filter(|(c, _)| !after.contains_key(*c)) {
        status_change(code, schema, false);
    }
    for (code, schema) in after.iter().filter(|(c, _)| !before.contains_key(*c)) {
        status_change(code, schema, true);
    }
}
