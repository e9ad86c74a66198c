//! Vendor auth extensions → standard OpenAPI `security`. Some vendors publish auth only in their
//! own extensions (a scheme table at the top, a list of scheme names per operation); which
//! extensions a vendor uses is per-API configuration ([`AuthExtension`]), the mapping is general.

use serde_json::{json, Map, Value};

use super::{Options, Rule, RuleError};

/// Where a vendor document keeps its auth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthExtension {
    /// Top-level extension mapping scheme names to scheme objects (`x-auth-schemes`).
    pub schemes: &'static str,
    /// Per-operation extension listing scheme names, any one of which is enough (`x-auth`).
    pub operation: &'static str,
}

/// The auth rules.
pub const RULES: &[Rule] = &[Rule {
    name: "vendor-auth-to-security",
    doc: "Where the API's configuration names vendor auth extensions (e.g. `x-auth-schemes` and per-operation `x-auth`), writes each operation's standard `security` (every named scheme an alternative) and the `components.securitySchemes` it uses; an explicit `security` wins.",
    apply: vendor_auth_to_security,
}];

/// A vendor scheme object as an OpenAPI 3.0 security scheme (`api_key` → `apiKey`, a key
/// `prefix` kept as `x-key-prefix`).
fn security_scheme(vendor: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    for (key, value) in vendor {
        match (key.as_str(), value.as_str()) {
            ("type", Some("api_key" | "apikey" | "apiKey")) => {
                out.insert("type".into(), json!("apiKey"));
            }
            ("prefix", _) => {
                out.insert("x-key-prefix".into(), value.clone());
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(out)
}

fn vendor_auth_to_security(doc: &mut Value, options: &Options) -> Result<usize, RuleError> {
    let Some(ext) = options.auth_extension else {
        return Ok(0);
    };
    let Some(schemes) = doc.get(ext.schemes).and_then(Value::as_object).cloned() else {
        return Ok(0);
    };
    let mut used: Vec<String> = Vec::new();
    let mut error = None;
    let mut n = 0;
    super::walk::operations(doc, &mut |op, _, _, ptr| {
        if op.contains_key("security") {
            return;
        }
        let Some(names) = op.get(ext.operation).and_then(Value::as_array) else {
            return;
        };
        let mut alternatives = Vec::new();
        for (i, name) in names.iter().enumerate() {
            match name.as_str() {
                Some(name) if schemes.contains_key(name) => {
                    alternatives.push(json!({ name: [] }));
                    if !used.iter().any(|u| u == name) {
                        used.push(name.to_owned());
                    }
                }
                _ => {
                    error.get_or_insert(RuleError {
                        pointer: format!("{ptr}/{}/{i}", ext.operation),
                        message: format!("{name} is not a scheme of `{}`", ext.schemes),
                    });
                }
            }
        }
        op.insert("security".into(), Value::Array(alternatives));
        n += 1;
    });
    if let Some(e) = error {
        return Err(e);
    }
    let declared = doc
        .as_object_mut()
        .map(|root| root.entry("components").or_insert_with(|| json!({})))
        .and_then(Value::as_object_mut)
        .map(|c| c.entry("securitySchemes").or_insert_with(|| json!({})))
        .and_then(Value::as_object_mut);
    if let Some(declared) = declared {
        for name in used {
            if let (false, Some(vendor)) = (declared.contains_key(&name), schemes[&name].as_object()) {
                declared.insert(name, security_scheme(vendor));
            }
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXT: AuthExtension = AuthExtension {
        schemes: "x-auth-schemes",
        operation: "x-auth",
    };

    fn doc() -> Value {
        json!({"x-auth-schemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "publishable_key": {"type": "api_key", "in": "header", "name": "x-key", "prefix": "pk_"},
                "unused": {"type": "http", "scheme": "basic"}},
            "paths": {"/a": {
                "get": {"x-auth": ["bearer", "publishable_key"]},
                "post": {"x-auth": ["bearer"], "security": []},
                "put": {}}}})
    }

    fn run(mut doc: Value, auth_extension: Option<AuthExtension>) -> Result<(Value, usize), RuleError> {
        let options = Options {
            auth_extension,
            ..Options::default()
        };
        let n = (RULES[0].apply)(&mut doc, &options)?;
        Ok((doc, n))
    }

    #[test]
    fn vendor_auth_becomes_security_and_schemes() {
        let (doc, n) = run(doc(), Some(EXT)).expect("applies");
        let a = &doc["paths"]["/a"];
        assert_eq!(a["get"]["security"], json!([{"bearer": []}, {"publishable_key": []}]));
        assert_eq!(a["post"]["security"], json!([]), "an explicit security wins");
        assert!(a["put"].get("security").is_none());
        let schemes = &doc["components"]["securitySchemes"];
        assert_eq!(
            schemes["publishable_key"],
            json!({"type": "apiKey", "in": "header", "name": "x-key", "x-key-prefix": "pk_"})
        );
        assert_eq!(schemes["bearer"], json!({"type": "http", "scheme": "bearer"}));
        assert!(schemes.get("unused").is_none());
        assert_eq!(n, 1);
    }

    #[test]
    fn without_configuration_nothing_changes_and_unknown_names_are_errors() {
        let (unchanged, n) = run(doc(), None).expect("applies");
        assert_eq!((unchanged, n), (doc(), 0));
        let mut bad = doc();
        bad["paths"]["/a"]["get"]["x-auth"] = json!(["bearer", "nope"]);
        let err = run(bad, Some(EXT)).expect_err("unknown scheme");
        assert_eq!(err.pointer, "/paths/~1a/get/x-auth/1");
    }
}
