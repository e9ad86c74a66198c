//! Visits every schema object at the places OpenAPI allows one, children before parents, with the
//! JSON pointer of each. Vendor extensions (`x-...`) are not entered: they are data we keep, not
//! input to the generator.

use serde_json::{Map, Value};

use crate::error::escape;

/// Keys under which a schema holds one sub-schema.
const SINGLE: &[&str] = &["items", "additionalProperties", "not", "if", "then", "else", "contains"];
/// Keys under which a schema holds a list of sub-schemas.
const LISTS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];
/// Keys under which a schema holds a map of named sub-schemas.
const MAPS: &[&str] = &[
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
];

const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// Calls `f` on every schema in `doc`, deepest first.
pub fn schemas(doc: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>, &str)) {
    let Some(root) = doc.as_object_mut() else { return };
    if let Some(components) = root.get_mut("components").and_then(Value::as_object_mut) {
        if let Some(map) = components.get_mut("schemas").and_then(Value::as_object_mut) {
            for (name, schema) in map.iter_mut() {
                walk_schema(schema, &format!("/components/schemas/{}", escape(name)), f);
            }
        }
        for (section, kind) in [
            ("parameters", Holder::Parameter),
            ("headers", Holder::Parameter),
            ("responses", Holder::Content),
            ("requestBodies", Holder::Content),
        ] {
            if let Some(map) = components.get_mut(section).and_then(Value::as_object_mut) {
                for (name, item) in map.iter_mut() {
                    walk_holder(item, &format!("/components/{section}/{}", escape(name)), kind, f);
                }
            }
        }
    }
    for section in ["paths", "webhooks"] {
        if let Some(paths) = root.get_mut(section).and_then(Value::as_object_mut) {
            for (path, item) in paths.iter_mut() {
                walk_path_item(item, &format!("/{section}/{}", escape(path)), f);
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Holder {
    Parameter,
    Content,
}

fn walk_path_item(item: &mut Value, ptr: &str, f: &mut dyn FnMut(&mut Map<String, Value>, &str)) {
    let Some(item) = item.as_object_mut() else { return };
    walk_params(item.get_mut("parameters"), &format!("{ptr}/parameters"), f);
    for method in METHODS {
        let Some(op) = item.get_mut(*method).and_then(Value::as_object_mut) else {
            continue;
        };
        let op_ptr = format!("{ptr}/{method}");
        walk_params(op.get_mut("parameters"), &format!("{op_ptr}/parameters"), f);
        if let Some(body) = op.get_mut("requestBody") {
            walk_holder(body, &format!("{op_ptr}/requestBody"), Holder::Content, f);
        }
        if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
            for (code, response) in responses.iter_mut() {
                walk_holder(
                    response,
                    &format!("{op_ptr}/responses/{}", escape(code)),
                    Holder::Content,
                    f,
                );
            }
        }
    }
}

fn walk_params(params: Option<&mut Value>, ptr: &str, f: &mut dyn FnMut(&mut Map<String, Value>, &str)) {
    if let Some(list) = params.and_then(Value::as_array_mut) {
        for (i, p) in list.iter_mut().enumerate() {
            walk_holder(p, &format!("{ptr}/{i}"), Holder::Parameter, f);
        }
    }
}

fn walk_holder(item: &mut Value, ptr: &str, kind: Holder, f: &mut dyn FnMut(&mut Map<String, Value>, &str)) {
    let Some(obj) = item.as_object_mut() else { return };
    if let Some(schema) = obj.get_mut("schema") {
        walk_schema(schema, &format!("{ptr}/schema"), f);
    }
    if let Some(content) = obj.get_mut("content").and_then(Value::as_object_mut) {
        for (mt, media) in content.iter_mut() {
            if let Some(schema) = media.get_mut("schema") {
                walk_schema(schema, &format!("{ptr}/content/{}/schema", escape(mt)), f);
            }
        }
    }
    if let Holder::Content = kind {
        if let Some(headers) = obj.get_mut("headers").and_then(Value::as_object_mut) {
            for (name, h) in headers.iter_mut() {
                walk_holder(h, &format!("{ptr}/headers/{}", escape(name)), Holder::Parameter, f);
            }
        }
    }
}

/// Walks one schema and everything below it, children first.
pub fn walk_schema(schema: &mut Value, ptr: &str, f: &mut dyn FnMut(&mut Map<String, Value>, &str)) {
    let Some(obj) = schema.as_object_mut() else { return };
    for key in SINGLE {
        if let Some(child) = obj.get_mut(*key) {
            if child.is_array() && *key == "items" {
                for (i, c) in child.as_array_mut().into_iter().flatten().enumerate() {
                    walk_schema(c, &format!("{ptr}/items/{i}"), f);
                }
            } else {
                walk_schema(child, &format!("{ptr}/{key}"), f);
            }
        }
    }
    for key in LISTS {
        if let Some(list) = obj.get_mut(*key).and_then(Value::as_array_mut) {
            for (i, c) in list.iter_mut().enumerate() {
                walk_schema(c, &format!("{ptr}/{key}/{i}"), f);
            }
        }
    }
    for key in MAPS {
        if let Some(map) = obj.get_mut(*key).and_then(Value::as_object_mut) {
            for (name, c) in map.iter_mut() {
                walk_schema(c, &format!("{ptr}/{}/{}", escape(key), escape(name)), f);
            }
        }
    }
    f(obj, ptr);
}

/// A callback on an operation: `(operation, method, path template, JSON pointer)`.
pub type OperationVisitor<'a> = dyn FnMut(&mut Map<String, Value>, &str, &str, &str) + 'a;

/// Calls `f` on every operation object with its method, path template and pointer.
pub fn operations(doc: &mut Value, f: &mut OperationVisitor<'_>) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for method in METHODS {
            if let Some(op) = item.get_mut(*method).and_then(Value::as_object_mut) {
                f(op, method, path, &format!("/paths/{}/{method}", escape(path)));
            }
        }
    }
}

/// One operation of a document, read-only.
pub struct Operation<'a> {
    /// The operation object.
    pub op: &'a Map<String, Value>,
    /// Lower-case HTTP method.
    pub method: &'static str,
    /// The path template.
    pub path: &'a str,
}

impl Operation<'_> {
    /// The operation's JSON pointer.
    pub fn pointer(&self) -> String {
        format!("/paths/{}/{}", escape(self.path), self.method)
    }

    /// The operation id (empty when missing).
    pub fn id(&self) -> &str {
        self.op.get("operationId").and_then(Value::as_str).unwrap_or_default()
    }
}

/// Every operation of `doc`, in document order, without copying anything.
pub fn each_operation(doc: &Value) -> impl Iterator<Item = Operation<'_>> {
    doc.get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(path, item)| Some((path, item.as_object()?)))
        .flat_map(|(path, item)| {
            METHODS.iter().filter_map(move |method| {
                Some(Operation {
                    op: item.get(*method)?.as_object()?,
                    method,
                    path,
                })
            })
        })
}

/// The HTTP methods OpenAPI path items may hold.
pub fn methods() -> &'static [&'static str] {
    METHODS
}
