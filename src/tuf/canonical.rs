//! OLPC canonical JSON, the byte form TUF signatures cover: keys sorted by their UTF-8 bytes,
//! no insignificant whitespace, strings escaping only `"` and `\`, integers only (as
//! securesystemslib, python-tuf and go-tuf write it).

use serde_json::Value;

/// The canonical bytes of `v`, or `None` when it holds a number that is not an integer
/// (canonical JSON has no floats, so such metadata cannot carry a valid signature).
pub fn canonical(v: &Value) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    write(v, &mut out)?;
    Some(out)
}

fn write(v: &Value, out: &mut Vec<u8>) -> Option<()> {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) if n.is_i64() || n.is_u64() => {
            out.extend_from_slice(n.to_string().as_bytes())
        }
        Value::Number(_) => return None,
        Value::String(s) => string(s, out),
        Value::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(x, out)?;
            }
            out.push(b']');
        }
        Value::Object(m) => {
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (k, x)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string(k, out);
                out.push(b':');
                write(x, out)?;
            }
            out.push(b'}');
        }
    }
    Some(())
}

fn string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for c in s.bytes() {
        if c == b'"' || c == b'\\' {
            out.push(b'\\');
        }
        out.push(c);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_strips_whitespace_and_escapes_only_quote_and_backslash() {
        let v = json!({"b": [1, -2, "x\"y\\z\n"], "a": {"d": null, "c": true}, "é": false});
        assert_eq!(
            String::from_utf8(canonical(&v).expect("canonical form exists"))
                .expect("canonical form exists"),
            "{\"a\":{\"c\":true,\"d\":null},\"b\":[1,-2,\"x\\\"y\\\\z\n\"],\"é\":false}",
            "must match securesystemslib's encode_canonical"
        );
    }

    #[test]
    fn refuses_floats() {
        assert_eq!(
            canonical(&json!({"a": 1.5})),
            None,
            "canonical JSON has no floats"
        );
    }
}
