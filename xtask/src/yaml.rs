//! Reading a YAML document into the JSON value model every other step works on.
//!
//! Deserializing YAML straight into `serde_json::Value` fails on two things real documents
//! contain: integers beyond 64 bits (`minimum: -9223372036854776000`, which a JSON parser reads
//! as a float) and non-string mapping keys (`200:` for a response code). This visitor reads both
//! the way a JSON reader would: big integers as floats, scalar keys as their text.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// A JSON value read from YAML.
pub struct Json(pub Value);

/// Parses YAML text into a JSON value.
pub fn from_slice(bytes: &[u8]) -> Result<Value, yaml_serde::Error> {
    yaml_serde::from_slice::<Json>(bytes).map(|j| j.0)
}

fn float(f: f64) -> Value {
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json(Value::Number(v.into())))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json(Value::Number(v.into())))
    }
    #[allow(clippy::cast_precision_loss)] // as a JSON reader does beyond 64 bits
    fn visit_i128<E>(self, v: i128) -> Result<Json, E> {
        Ok(Json(
            i64::try_from(v).map_or_else(|_| float(v as f64), |n| Value::Number(n.into())),
        ))
    }
    #[allow(clippy::cast_precision_loss)]
    fn visit_u128<E>(self, v: u128) -> Result<Json, E> {
        Ok(Json(
            u64::try_from(v).map_or_else(|_| float(v as f64), |n| Value::Number(n.into())),
        ))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
        Ok(Json(float(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json(Value::String(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json(Value::String(v)))
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json(Value::Null))
    }
    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json(Value::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        Json::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut out = Vec::new();
        while let Some(Json(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Json(Value::Array(out)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut out = Map::new();
        while let Some((Json(key), Json(value))) = map.next_entry()? {
            let key = match key {
                Value::String(s) => s,
                Value::Number(_) | Value::Bool(_) => key.to_string(),
                Value::Null => "null".to_owned(),
                Value::Array(_) | Value::Object(_) => {
                    return Err(de::Error::custom("a mapping key must be a scalar"));
                }
            };
            out.insert(key, value);
        }
        Ok(Json(Value::Object(out)))
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn big_integers_become_floats_and_scalar_keys_become_text() {
        let doc = from_slice(b"minimum: -9223372036854776000\nmaximum: 18446744073709551615\nresponses:\n  200: {description: ok}\n  true: 1\n")
            .expect("reads");
        assert_eq!(doc["minimum"].as_f64(), Some(-9_223_372_036_854_776_000.0));
        assert_eq!(doc["maximum"], json!(18_446_744_073_709_551_615_u64));
        assert_eq!(doc["responses"]["200"]["description"], json!("ok"));
        assert_eq!(doc["responses"]["true"], json!(1));
    }

    #[test]
    fn a_sequence_key_is_refused() {
        assert!(from_slice(b"? [a, b]\n: 1\n").is_err());
    }
}
