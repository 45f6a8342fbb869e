//! How a payload is shown: UTF-8 text, pretty JSON when it parses, a hex dump otherwise.
//! Every byte is shown; long bodies are collapsed in the view, never cut here.

use std::fmt::Write;

use super::json;
use crate::model::num::fixed;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    /// Not valid UTF-8: shown as a hex dump.
    Binary,
}

impl Format {
    pub fn label(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "JSON",
            Format::Binary => "binary",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub format: Format,
    pub body: String,
}

pub fn render(bytes: &[u8]) -> Rendered {
    match std::str::from_utf8(bytes) {
        Ok(text) => match json::pretty(text) {
            Some(body) => Rendered {
                format: Format::Json,
                body,
            },
            None => Rendered {
                format: Format::Text,
                body: text.to_owned(),
            },
        },
        Err(_) => Rendered {
            format: Format::Binary,
            body: hex_dump(bytes),
        },
    }
}

/// The start of a payload on one line: text as it is, binary as hex.
pub fn preview(bytes: &[u8], chars: usize) -> String {
    if bytes.is_empty() {
        return "(empty)".into();
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(s) => s.replace(['\n', '\r', '\t'], " "),
        Err(_) => {
            let shown = &bytes[..bytes.len().min(chars / 3)];
            let hex: Vec<String> = shown.iter().map(|b| format!("{b:02x}")).collect();
            let more = if shown.len() < bytes.len() {
                " …"
            } else {
                ""
            };
            return format!("hex {}{more} ({})", hex.join(" "), human_size(bytes.len()));
        }
    };
    match text.char_indices().nth(chars) {
        Some((i, _)) => format!("{} …", &text[..i]),
        None => text,
    }
}

/// `offset  16 bytes in hex (8 + 8)  |ASCII|`, one line per 16 bytes.
pub fn hex_dump(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(16) * 78);
    for (line, chunk) in bytes.chunks(16).enumerate() {
        if line > 0 {
            out.push('\n');
        }
        let _ = write!(out, "{:08x} ", line * 16);
        for i in 0..16 {
            if i == 8 {
                out.push(' ');
            }
            match chunk.get(i) {
                Some(b) => {
                    let _ = write!(out, " {b:02x}");
                }
                None => out.push_str("   "),
            }
        }
        out.push_str("  |");
        out.extend(chunk.iter().map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '.'
            }
        }));
        out.push('|');
    }
    out
}

/// "0 B", "999 B", "1.5 KB", "2.0 MB" (1 KB = 1024 B).
pub fn human_size(n: usize) -> String {
    const KB: f64 = 1024.0;
    #[allow(clippy::cast_precision_loss)] // display only
    let f = n as f64;
    if f < KB {
        format!("{n} B")
    } else if f < KB * KB {
        format!("{} KB", fixed(f / KB, 1))
    } else {
        format!("{} MB", fixed(f / (KB * KB), 1))
    }
}

/// The start of `body` to show while collapsed, or `None` when the whole body is short enough
/// to show as it is.
pub fn collapsed(body: &str, max_lines: usize, max_chars: usize) -> Option<&str> {
    let mut end = body.len();
    if let Some((i, _)) = body.match_indices('\n').nth(max_lines.saturating_sub(1)) {
        end = i;
    }
    if let Some((i, _)) = body.char_indices().nth(max_chars) {
        end = end.min(i);
    }
    (end < body.len()).then(|| &body[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_is_text_and_json_is_pretty() {
        assert_eq!(
            render("héllo".as_bytes()),
            Rendered {
                format: Format::Text,
                body: "héllo".into()
            }
        );
        let r = render(br#"{"t":21.5}"#);
        assert_eq!(r.format, Format::Json);
        assert_eq!(r.body, "{\n  \"t\": 21.5\n}");
        assert_eq!(render(b"").format, Format::Text);
    }

    #[test]
    fn invalid_utf8_is_a_hex_dump_of_every_byte() {
        let bytes: Vec<u8> = (0u8..=255).collect();
        let r = render(&bytes);
        assert_eq!(r.format, Format::Binary);
        let lines: Vec<&str> = r.body.lines().collect();
        assert_eq!(lines.len(), 16);
        assert!(lines[0].starts_with("00000000  00 01 02 03 04 05 06 07  08 09 0a"));
        assert!(lines[4].ends_with("|@ABCDEFGHIJKLMNO|"), "{}", lines[4]);
        assert!(lines[15].starts_with("000000f0  f0 f1"));
        // Each byte appears once in the hex columns: 256 pairs in total.
        let pairs: usize = lines
            .iter()
            .map(|l| l[9..58].split_whitespace().count())
            .sum();
        assert_eq!(pairs, 256);
    }

    #[test]
    fn hex_dump_pads_the_last_line() {
        assert_eq!(
            hex_dump(&[0xff, 0x41, 0x00]),
            "00000000  ff 41 00                                          |.A.|"
        );
        assert_eq!(hex_dump(&[]), "");
    }

    #[test]
    fn previews_are_one_short_line_and_binary_is_hex() {
        assert_eq!(preview(b"", 40), "(empty)");
        assert_eq!(preview(&[0xff, 0x00], 40), "hex ff 00 (2 B)");
        assert_eq!(preview(b"a\nb", 40), "a b");
        let long = "x".repeat(100);
        assert_eq!(preview(long.as_bytes(), 40).chars().count(), 42);
    }

    #[test]
    fn sizes_are_human() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1536), "1.5 KB");
        assert_eq!(human_size(3 * 1024 * 1024), "3.0 MB");
    }

    #[test]
    fn long_bodies_collapse_without_losing_the_rest() {
        let body = (1..=30)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join("\n");
        let head = collapsed(&body, 10, 10_000).unwrap();
        assert_eq!(head.lines().count(), 10);
        assert!(body.starts_with(head));
        assert_eq!(collapsed("short", 10, 100), None);
        assert_eq!(collapsed("ééééé", 10, 3), Some("ééé"));
        let exactly_ten = "a\n".repeat(9) + "a";
        assert_eq!(collapsed(&exactly_ten, 10, 100), None);
    }
}
