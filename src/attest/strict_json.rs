//! JSON in which no object names a key twice (RFC 8259 §4: names "SHOULD be unique"; the
//! behaviour with duplicates is unpredictable). serde_json keeps the last value of a repeated
//! key, other readers the first, so the same bytes would say two things: an attestation's
//! signed statement or predicate copy with a repeated key could show one reader what was not
//! signed. Such documents are refused.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Parse `bytes` as JSON, refusing any object with a repeated key (compared after unescaping,
/// so `"a"` and `"\u0061"` are the same key). Depth is bounded by serde_json's recursion limit.
pub fn parse(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let Strict(v) = serde_json::from_slice(bytes)?;
    Ok(v)
}

struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Strict, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON without repeated object keys")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "the key '{}' is given twice",
                    crate::text::escape(&key)
                )));
            }
            let Strict(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_are_refused_at_any_depth() {
        for bad in [
            &br#"{"a":1,"a":2}"#[..],
            br#"{"a":1,"\u0061":1}"#,
            br#"{"x":[{"b":true,"b":true}]}"#,
            br#"{"x":{"y":{"c":null,"c":null}}}"#,
        ] {
            assert!(
                parse(bad).is_err(),
                "{:?} is refused",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn everything_else_parses_as_serde_json_does() {
        for good in [
            &br#"{"a":1,"b":[1,2.5,-3,"s",null,true,{"a":1}],"c":{"a":{}}}"#[..],
            b"[]",
            b"18446744073709551615",
            br#""\u00e9""#,
        ] {
            let ours = parse(good).expect("valid JSON without repeats");
            let theirs: Value = serde_json::from_slice(good).expect("valid JSON");
            assert_eq!(ours, theirs, "{:?}", String::from_utf8_lossy(good));
        }
        assert!(parse(b"{").is_err(), "malformed JSON is still refused");
    }
}
