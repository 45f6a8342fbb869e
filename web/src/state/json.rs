//! Re-indents a JSON document for display. It validates the whole input against RFC 8259 and
//! copies every string and number token verbatim, so nothing is reordered, rounded or
//! re-escaped (a generic JSON value type would sort keys and turn big integers into floats).

/// Deeper nesting than this is shown as plain text rather than recursed into.
const MAX_DEPTH: usize = 64;

/// The input pretty-printed with two-space indentation, or `None` when it is not a JSON
/// object or array (scalars are left to the plain-text view, where they look the same).
pub fn pretty(input: &str) -> Option<String> {
    let mut p = Parser {
        s: input.as_bytes(),
        i: 0,
        out: String::with_capacity(input.len() + input.len() / 2),
    };
    p.ws();
    if !matches!(p.peek(), Some(b'{' | b'[')) {
        return None;
    }
    p.value(0)?;
    p.ws();
    (p.i == p.s.len()).then_some(p.out)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    out: String,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn newline(&mut self, depth: usize) {
        self.out.push('\n');
        for _ in 0..depth {
            self.out.push_str("  ");
        }
    }

    /// Copies `self.s[start..self.i]` to the output. Token boundaries are ASCII, so the
    /// slice is valid UTF-8 whenever the input is.
    fn copy_from(&mut self, start: usize) -> Option<()> {
        self.out
            .push_str(std::str::from_utf8(&self.s[start..self.i]).ok()?);
        Some(())
    }

    fn value(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'{' => self.container(depth, b'}', true),
            b'[' => self.container(depth, b']', false),
            b'"' => self.string(),
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'n' => self.literal("null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn container(&mut self, depth: usize, close: u8, object: bool) -> Option<()> {
        self.out.push(char::from(self.s[self.i]));
        self.i += 1;
        self.ws();
        if self.peek() == Some(close) {
            self.i += 1;
            self.out.push(char::from(close));
            return Some(());
        }
        loop {
            self.newline(depth + 1);
            if object {
                if self.peek() != Some(b'"') {
                    return None;
                }
                self.string()?;
                self.ws();
                if self.peek() != Some(b':') {
                    return None;
                }
                self.i += 1;
                self.out.push_str(": ");
                self.ws();
            }
            self.value(depth + 1)?;
            self.ws();
            match self.peek()? {
                b',' => {
                    self.i += 1;
                    self.out.push(',');
                    self.ws();
                }
                c if c == close => {
                    self.i += 1;
                    self.newline(depth);
                    self.out.push(char::from(close));
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn string(&mut self) -> Option<()> {
        let start = self.i;
        self.i += 1; // opening quote
        loop {
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    return self.copy_from(start);
                }
                b'\\' => {
                    self.i += 1;
                    match self.peek()? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 1,
                        b'u' => {
                            let hex = self.s.get(self.i + 1..self.i + 5)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return None;
                            }
                            self.i += 5;
                        }
                        _ => return None,
                    }
                }
                0x00..=0x1F => return None, // control characters must be escaped
                _ => self.i += 1,
            }
        }
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        if self.s.get(self.i..self.i + word.len())? != word.as_bytes() {
            return None;
        }
        self.i += word.len();
        self.out.push_str(word);
        Some(())
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Option<()> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !self.peek()?.is_ascii_digit() {
                return None;
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !self.peek()?.is_ascii_digit() {
                return None;
            }
            self.digits();
        }
        self.copy_from(start)
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::pretty;

    #[test]
    fn objects_and_arrays_are_indented() {
        assert_eq!(
            pretty(r#"{"a":1,"b":[true,null,{"c":"x"}],"d":{}}"#).unwrap(),
            "{\n  \"a\": 1,\n  \"b\": [\n    true,\n    null,\n    {\n      \"c\": \"x\"\n    }\n  ],\n  \"d\": {}\n}"
        );
        assert_eq!(pretty(" [ ] ").unwrap(), "[]");
    }

    #[test]
    fn tokens_are_copied_verbatim() {
        // Key order kept, big integers and escapes untouched.
        let src = r#"{"z":12345678901234567890123,"a":-0.5e+10,"s":"\u00e9\n\"q\"","ü":"ß"}"#;
        let out = pretty(src).unwrap();
        assert!(out.find("\"z\"").unwrap() < out.find("\"a\"").unwrap());
        for token in [
            "12345678901234567890123",
            "-0.5e+10",
            r#""\u00e9\n\"q\"""#,
            "\"ü\": \"ß\"",
        ] {
            assert!(out.contains(token), "{token} missing from {out}");
        }
    }

    #[test]
    fn invalid_json_is_rejected() {
        for bad in [
            "{",
            "{\"a\":}",
            "{a:1}",
            "[1,]",
            "[01]",
            "[1.]",
            "[-]",
            "[1e]",
            "[\"\\x\"]",
            "[\"\u{1}\"]",
            "[tru]",
            "[1] x",
            "{\"a\" 1}",
            "[\"\\u12g4\"]",
        ] {
            assert_eq!(pretty(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn scalars_are_left_as_text() {
        assert_eq!(pretty("42"), None);
        assert_eq!(pretty("\"hello\""), None);
        assert_eq!(pretty("hello"), None);
        assert_eq!(pretty(""), None);
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert_eq!(pretty(&deep), None);
        let ok = "[".repeat(10) + &"]".repeat(10);
        assert!(pretty(&ok).is_some());
    }
}
