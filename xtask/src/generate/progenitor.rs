//! One run of progenitor on a normalized document, with its panics and errors caught.

use std::panic::{self, AssertUnwindSafe};

use serde_json::Value;

use crate::error::escape;

/// The Rust path of the runtime type every generated client carries as its inner value.
pub const INNER_TYPE: &str = "agentapis_runtime::Runtime";

/// Why progenitor produced no code.
#[derive(Debug, Clone)]
pub enum Failure {
    /// The document does not deserialize as OpenAPI 3.0; the pointer of the node that failed.
    Invalid {
        /// JSON pointer of the innermost node the deserializer reached.
        pointer: String,
        /// The deserializer's message.
        message: String,
    },
    /// progenitor (or typify under it) panicked or returned an error.
    Generator(String),
}

/// Parses `doc` as OpenAPI 3.0, tracking where a failure happens. openapiv3's untagged and
/// flattened types hide the path below a schema, so the failure is then narrowed to the deepest
/// schema that fails on its own and to the key whose removal mends it.
pub fn parse(doc: &Value) -> Result<openapiv3::OpenAPI, Failure> {
    serde_path_to_error::deserialize(doc).map_err(|e| {
        let reached = pointer_of(e.path());
        Failure::Invalid {
            pointer: narrow(doc, &reached).unwrap_or(reached),
            message: e.inner().to_string(),
        }
    })
}

type SchemaNode = openapiv3::ReferenceOr<openapiv3::Schema>;

fn schema_fails(schema: &Value) -> bool {
    serde_json::from_value::<SchemaNode>(schema.clone()).is_err()
}

/// The deepest schema under `reached` that does not deserialize alone, and in it the key whose
/// removal mends it (or the schema itself when no single key does).
fn narrow(doc: &Value, reached: &str) -> Option<String> {
    let mut scratch = doc.clone();
    let mut culprit: Option<(String, Value)> = None;
    crate::rules::walk::schemas(&mut scratch, &mut |schema, ptr| {
        if culprit.is_none() && ptr.starts_with(reached) {
            let value = Value::Object(schema.clone());
            if schema_fails(&value) {
                culprit = Some((ptr.to_owned(), value));
            }
        }
    });
    let (ptr, schema) = culprit?;
    let Value::Object(map) = &schema else { return Some(ptr) };
    let key = map.keys().find(|key| {
        let mut without = map.clone();
        without.remove(*key);
        !schema_fails(&Value::Object(without))
    });
    Some(match key {
        Some(key) => format!("{ptr}/{}", escape(key)),
        None => ptr,
    })
}

fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|segment| match segment {
            Segment::Seq { index } => Some(index.to_string()),
            Segment::Map { key } => Some(escape(key)),
            Segment::Enum { .. } | Segment::Unknown => None,
        })
        .map(|s| format!("/{s}"))
        .collect()
}

/// Runs progenitor with the workspace's settings.
pub fn run(doc: &Value) -> Result<proc_macro2::TokenStream, Failure> {
    run_with_mocks(doc, false).map(|(client, _)| client)
}

/// [`run`], and with `mocks` also progenitor's typed `httpmock` extension for that client (one
/// `MockServerExt` method per operation), from the same generator: its types are the client's,
/// and the document is read and the client generated once.
pub fn run_with_mocks(
    doc: &Value,
    mocks: bool,
) -> Result<(proc_macro2::TokenStream, Option<proc_macro2::TokenStream>), Failure> {
    let spec = parse(doc)?;
    let settings = settings(doc)?;
    guarded(|| {
        let mut generator = progenitor::Generator::new(&settings);
        let client = generator.generate_tokens(&spec)?;
        let mocks = if mocks {
            Some(generator.httpmock(&spec, "crate")?)
        } else {
            None
        };
        Ok((client, mocks))
    })
}

/// The settings every generation of this workspace uses.
fn settings(doc: &Value) -> Result<progenitor::GenerationSettings, Failure> {
    let mut settings = progenitor::GenerationSettings::default();
    let inner = INNER_TYPE
        .parse()
        .map_err(|_| Failure::Generator("the inner type does not parse".into()))?;
    settings
        .with_interface(progenitor::InterfaceStyle::Builder)
        .with_tag(progenitor::TagStyle::Merged)
        .with_inner_type(inner)
        .with_hooks(progenitor::HooksMode::Expected)
        .with_derive("PartialEq");
    for e in super::open_enums::collect(doc) {
        // typify looks replacements up by the type name it would give the component.
        settings.with_replacement(
            crate::syntax::typify_name(&e.name),
            super::open_enums::rust_path(&e.name),
            [progenitor::TypeImpl::FromStr, progenitor::TypeImpl::Display].into_iter(),
        );
    }
    Ok(settings)
}

/// Runs `generate`, turning progenitor's errors and panics into a [`Failure`].
fn guarded<T>(generate: impl FnOnce() -> Result<T, progenitor::Error>) -> Result<T, Failure> {
    // progenitor reports many unsupported constructs by panicking; keep the default hook quiet
    // while the panic becomes an error (the caller then looks for the construct to blame).
    let previous = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let result = panic::catch_unwind(AssertUnwindSafe(generate));
    panic::set_hook(previous);
    match result {
        Ok(Ok(tokens)) => Ok(tokens),
        Ok(Err(e)) => Err(Failure::Generator(e.to_string())),
        Err(payload) => Err(Failure::Generator(
            payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic without a message".to_owned()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_deserialization_failure_names_the_node() {
        let doc = json!({"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {},
            "components": {"schemas": {"A": {"type": "object", "properties": {"b": {"type": "string", "description": false}}}}}});
        let Err(Failure::Invalid { pointer, message }) = parse(&doc) else {
            panic!("expected a deserialization failure");
        };
        assert_eq!(pointer, "/components/schemas/A/properties/b/description");
        assert!(message.contains("boolean"), "{message}");
    }
}
