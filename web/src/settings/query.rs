//! `application/x-www-form-urlencoded` pairs, as in URL query strings. Used both for URL
//! parameters and for the localStorage record, so one format serves both.

/// Splits `a=1&b=x%20y` (a leading `?` is ignored) into decoded pairs, in order.
pub fn parse(query: &str) -> Vec<(String, String)> {
    query
        .trim_start_matches('?')
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| match part.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(part), String::new()),
        })
        .collect()
}

/// Joins pairs into a query string (without the leading `?`).
pub fn build<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        encode_into(k, &mut out);
        out.push('=');
        encode_into(v, &mut out);
    }
    out
}

fn encode_into(s: &str, out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(hex_digit(b >> 4));
            out.push(hex_digit(b & 0xF));
        }
    }
}

fn hex_digit(n: u8) -> char {
    char::from(if n < 10 { b'0' + n } else { b'A' + n - 10 })
}

/// Percent-decoding with `+` as space; bad escapes are kept literally, invalid UTF-8 is
/// replaced (a URL typed by hand should still load).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(b) = hex {
                    out.push(b);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_of_awkward_values() {
        let pairs = [
            ("sub", "e2e/#"),
            ("sub", "a/+/b c"),
            ("host", "::1"),
            ("m", "ünï&=?%"),
        ];
        let q = build(pairs);
        assert!(!q.contains('#') && !q.contains(' '), "{q}");
        let back = parse(&q);
        let expect: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(back, expect);
    }

    #[test]
    fn parses_what_people_type() {
        assert_eq!(
            parse("?host=broker.local&port=8080&tls&x=a+b&bad=%zz%4"),
            vec![
                ("host".into(), "broker.local".into()),
                ("port".into(), "8080".into()),
                ("tls".into(), String::new()),
                ("x".into(), "a b".into()),
                ("bad".into(), "%zz%4".into()),
            ]
        );
        assert!(parse("").is_empty());
        assert_eq!(parse("?sub=%E2%82%AC"), vec![("sub".into(), "€".into())]);
    }
}
