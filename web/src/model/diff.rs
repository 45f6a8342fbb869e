//! What changed between a topic's previous and last value: member by member for JSON
//! (`sensor.temp: 21.5 → 22`, added and removed members, array items by index), or the two
//! texts otherwise.

use std::fmt::Write;

use super::html::push_esc;
use super::value::{self, Value};

/// Changes listed at most; the rest are counted.
pub const MAX_CHANGES: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Added {
        path: String,
        new: String,
    },
    Removed {
        path: String,
        old: String,
    },
    Changed {
        path: String,
        old: String,
        new: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Diff {
    Same,
    /// Both values are JSON: the changes (at most [`MAX_CHANGES`]) and how many more.
    Json {
        changes: Vec<Change>,
        more: usize,
    },
    /// Not both JSON: the texts (or a note for binary payloads).
    Text {
        old: String,
        new: String,
    },
}

pub fn diff(old: &[u8], new: &[u8]) -> Diff {
    if old == new {
        return Diff::Same;
    }
    let parse = |b: &[u8]| {
        std::str::from_utf8(b)
            .ok()
            .and_then(|s| value::parse(s).ok())
            .filter(|v| matches!(v, Value::Object(_) | Value::Array(_)))
    };
    match (parse(old), parse(new)) {
        (Some(a), Some(b)) => {
            let mut out = Out::default();
            walk(&mut out, "", &a, &b);
            if out.changes.is_empty() {
                // Same members, different spacing.
                return Diff::Same;
            }
            Diff::Json {
                changes: out.changes,
                more: out.more,
            }
        }
        _ => Diff::Text {
            old: text(old),
            new: text(new),
        },
    }
}

fn text(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_owned(),
        Err(_) => format!("({} bytes of binary data)", b.len()),
    }
}

#[derive(Default)]
struct Out {
    changes: Vec<Change>,
    more: usize,
}

impl Out {
    fn push(&mut self, c: Change) {
        if self.changes.len() < MAX_CHANGES {
            self.changes.push(c);
        } else {
            self.more += 1;
        }
    }
}

fn member(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn walk(out: &mut Out, path: &str, a: &Value, b: &Value) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                let p = member(path, k);
                match b.get(k) {
                    Some(vb) => walk(out, &p, va, vb),
                    None => out.push(Change::Removed {
                        path: p,
                        old: va.to_json(),
                    }),
                }
            }
            for (k, vb) in y {
                if a.get(k).is_none() {
                    out.push(Change::Added {
                        path: member(path, k),
                        new: vb.to_json(),
                    });
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for i in 0..x.len().max(y.len()) {
                let p = format!("{path}[{i}]");
                match (x.get(i), y.get(i)) {
                    (Some(va), Some(vb)) => walk(out, &p, va, vb),
                    (Some(va), None) => out.push(Change::Removed {
                        path: p,
                        old: va.to_json(),
                    }),
                    (None, Some(vb)) => out.push(Change::Added {
                        path: p,
                        new: vb.to_json(),
                    }),
                    (None, None) => {}
                }
            }
        }
        _ => {
            let (old, new) = (a.to_json(), b.to_json());
            if old != new {
                let path = if path.is_empty() { "(value)" } else { path };
                out.push(Change::Changed {
                    path: path.to_owned(),
                    old,
                    new,
                });
            }
        }
    }
}

/// The diff as an HTML list for the details panel.
pub fn diff_html(d: &Diff) -> String {
    let mut h = String::new();
    match d {
        Diff::Same => h.push_str(r#"<p class="empty">No change from the previous value.</p>"#),
        Diff::Text { old, new } => {
            h.push_str(r#"<dl class="diff"><dt>before</dt><dd class="removed">"#);
            push_esc(&mut h, old);
            h.push_str(r#"</dd><dt>now</dt><dd class="added">"#);
            push_esc(&mut h, new);
            h.push_str("</dd></dl>");
        }
        Diff::Json { changes, more } => {
            h.push_str(r#"<ul class="diff">"#);
            for c in changes {
                let (class, path, text) = match c {
                    Change::Added { path, new } => ("added", path, format!("added: {new}")),
                    Change::Removed { path, old } => {
                        ("removed", path, format!("removed (was {old})"))
                    }
                    Change::Changed { path, old, new } => {
                        ("changed", path, format!("{old} → {new}"))
                    }
                };
                let _ = write!(h, r#"<li class="{class}"><code>"#);
                push_esc(&mut h, path);
                h.push_str("</code> ");
                push_esc(&mut h, &text);
                h.push_str("</li>");
            }
            if *more > 0 {
                let _ = write!(h, "<li>… and {more} more changes</li>");
            }
            h.push_str("</ul>");
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(a: &str, b: &str) -> Vec<Change> {
        match diff(a.as_bytes(), b.as_bytes()) {
            Diff::Json { changes, .. } => changes,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn json_members_are_compared_by_path() {
        let c = changes(
            r#"{"t":21.5,"sensor":{"id":"k1","bat":90},"tags":[1,2],"gone":true}"#,
            r#"{"t":22,"sensor":{"id":"k1","bat":89,"rssi":-70},"tags":[1,3,4]}"#,
        );
        assert_eq!(
            c,
            [
                Change::Changed {
                    path: "t".into(),
                    old: "21.5".into(),
                    new: "22".into()
                },
                Change::Changed {
                    path: "sensor.bat".into(),
                    old: "90".into(),
                    new: "89".into()
                },
                Change::Added {
                    path: "sensor.rssi".into(),
                    new: "-70".into()
                },
                Change::Changed {
                    path: "tags[1]".into(),
                    old: "2".into(),
                    new: "3".into()
                },
                Change::Added {
                    path: "tags[2]".into(),
                    new: "4".into()
                },
                Change::Removed {
                    path: "gone".into(),
                    old: "true".into()
                },
            ]
        );
    }

    #[test]
    fn spacing_alone_is_no_change_and_text_is_shown_whole() {
        assert_eq!(diff(br#"{"a":1}"#, b"{ \"a\" : 1 }"), Diff::Same);
        assert_eq!(diff(b"on", b"on"), Diff::Same);
        assert_eq!(
            diff(b"21.5", b"22"),
            Diff::Text {
                old: "21.5".into(),
                new: "22".into()
            }
        );
        assert_eq!(
            diff(&[0xff], b"x"),
            Diff::Text {
                old: "(1 bytes of binary data)".into(),
                new: "x".into()
            }
        );
    }

    #[test]
    fn long_diffs_are_bounded_and_html_is_escaped() {
        let a: Vec<String> = (0..300).map(|i| format!("\"k{i}\":1")).collect();
        let b: Vec<String> = (0..300).map(|i| format!("\"k{i}\":2")).collect();
        let d = diff(
            format!("{{{}}}", a.join(",")).as_bytes(),
            format!("{{{}}}", b.join(",")).as_bytes(),
        );
        let Diff::Json { changes, more } = &d else {
            panic!()
        };
        assert_eq!((changes.len(), *more), (MAX_CHANGES, 200));
        assert!(diff_html(&d).contains("… and 200 more changes"));
        let h = diff_html(&diff(b"<i>", b"x"));
        assert!(h.contains("&lt;i&gt;") && !h.contains("<i>"));
    }
}
