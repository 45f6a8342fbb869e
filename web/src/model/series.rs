//! Numbers to plot, found in payloads: a payload that is a number (`21.5`), and every
//! number inside a JSON payload by its path (`t`, `sensor.temp`, `values[2]`), including
//! numbers sent as strings (`"21.5"`), which many devices do.

use super::value::{self, Value};

/// Fields taken from one payload at most (a big document is not a dashboard).
pub const MAX_FIELDS: usize = 16;
/// Payloads longer than this are not searched for numbers.
pub const MAX_PAYLOAD: usize = 16 * 1024;

/// The name of the field of a payload that is just a number.
pub const WHOLE: &str = "value";

/// `(path, number)` for every number in the payload, in document order.
pub fn numbers(payload: &[u8]) -> Vec<(String, f64)> {
    if payload.len() > MAX_PAYLOAD {
        return Vec::new();
    }
    let Ok(text) = std::str::from_utf8(payload) else {
        return Vec::new();
    };
    if let Some(n) = plain_number(text) {
        return vec![(WHOLE.to_owned(), n)];
    }
    let Ok(v) = value::parse(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    walk(&mut out, String::new(), &v);
    out
}

/// The number of the field `path` in `payload`, if it has one.
pub fn number_at(payload: &[u8], path: &str) -> Option<f64> {
    numbers(payload)
        .into_iter()
        .find(|(p, _)| p == path)
        .map(|(_, n)| n)
}

fn plain_number(text: &str) -> Option<f64> {
    super::num::parse(text)
}

fn walk(out: &mut Vec<(String, f64)>, path: String, v: &Value) {
    if out.len() >= MAX_FIELDS {
        return;
    }
    match v {
        Value::Number(n, _) if n.is_finite() => out.push((or_whole(path), *n)),
        Value::String(s) => {
            if let Some(n) = plain_number(s) {
                out.push((or_whole(path), n));
            }
        }
        Value::Object(members) => {
            for (k, v) in members {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(out, p, v);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                walk(out, format!("{path}[{i}]"), v);
            }
        }
        _ => {}
    }
}

fn or_whole(path: String) -> String {
    if path.is_empty() {
        WHOLE.to_owned()
    } else {
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_numbers_and_json_fields_are_found() {
        assert_eq!(numbers(b" 21.5\n"), [("value".to_owned(), 21.5)]);
        assert_eq!(numbers(b"-3e2"), [("value".to_owned(), -300.0)]);
        assert_eq!(
            numbers(br#"{"t":21.5,"h":"40","ok":true,"sensor":{"temp":-1},"v":[1,2],"s":"x"}"#),
            [
                ("t".to_owned(), 21.5),
                ("h".to_owned(), 40.0),
                ("sensor.temp".to_owned(), -1.0),
                ("v[0]".to_owned(), 1.0),
                ("v[1]".to_owned(), 2.0),
            ]
        );
        assert_eq!(number_at(br#"{"a":{"b":7}}"#, "a.b"), Some(7.0));
        assert_eq!(number_at(br#"{"a":{"b":7}}"#, "a"), None);
    }

    #[test]
    fn words_binary_and_huge_payloads_have_no_numbers() {
        for p in [
            &b"on"[..],
            b"inf",
            b"NaN",
            b"",
            b"\xff\x00",
            b"[\"x\"]",
            b"1.2.3",
        ] {
            assert!(numbers(p).is_empty(), "{p:?}");
        }
        let many: Vec<String> = (0..40).map(|i| i.to_string()).collect();
        assert_eq!(
            numbers(format!("[{}]", many.join(",")).as_bytes()).len(),
            MAX_FIELDS
        );
        let huge = format!("[{}]", "1,".repeat(MAX_PAYLOAD) + "1");
        assert!(numbers(huge.as_bytes()).is_empty());
    }
}
