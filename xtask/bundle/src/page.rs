//! `index.html`: the repository's Trunk template in, the served page out.
//!
//! The template stays Trunk's (so `trunk serve` keeps working on the same file); we handle the
//! two directives it uses and refuse any other, so a new `<link data-trunk …>` cannot be
//! silently dropped from the page:
//!
//! * `<link data-trunk rel="rust" … data-wasm-opt="z">` becomes Trunk's module script (import the
//!   wasm-bindgen JS, `init` with the wasm, `window.wasmBindings`, the `TrunkApplicationStarted`
//!   event), and `modulepreload` / `preload` links with integrity go at the end of `<head>`;
//! * `<link data-trunk rel="css" href="…">` becomes a hashed stylesheet link with integrity.

use crate::Result;

enum Part {
    Text(String),
    Rust { wasm_opt: Option<String> },
    Css { href: String },
}

pub struct Template {
    parts: Vec<Part>,
}

/// Names (relative to the site root) of what the page loads.
pub struct Outputs<'a> {
    pub js: &'a str,
    pub wasm: &'a str,
    pub css: &'a [String],
    /// The `sha384-…` integrity value of a file written to dist.
    pub integrity: &'a dyn Fn(&str) -> String,
}

impl Template {
    pub fn parse(html: &str) -> Result<Template> {
        let mut parts = Vec::new();
        let mut rest = html;
        let mut rust = 0;
        while let Some(start) = find_trunk_link(rest) {
            let end = rest[start..]
                .find('>')
                .map(|e| start + e + 1)
                .ok_or("index.html: unterminated <link data-trunk …> tag")?;
            parts.push(Part::Text(rest[..start].to_string()));
            let tag = &rest[start..end];
            let attrs = attributes(tag);
            let get = |name: &str| {
                attrs
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            };
            match get("rel").as_deref() {
                Some("rust") => {
                    rust += 1;
                    parts.push(Part::Rust {
                        wasm_opt: get("data-wasm-opt").filter(|l| l != "0" && l != "off"),
                    });
                }
                Some("css") => parts.push(Part::Css {
                    href: get("href").ok_or(format!("index.html: {tag} has no href"))?,
                }),
                other => {
                    return Err(format!(
                        "index.html: tern-bundle does not handle rel={other:?} in {tag}; \
                         teach xtask/bundle/src/page.rs what Trunk does with it"
                    ));
                }
            }
            rest = &rest[end..];
        }
        parts.push(Part::Text(rest.to_string()));
        if rust != 1 {
            return Err(format!(
                "index.html: expected one <link data-trunk rel=\"rust\">, found {rust}"
            ));
        }
        if !html.contains("</head>") {
            return Err("index.html has no </head>".into());
        }
        Ok(Template { parts })
    }

    /// `data-wasm-opt` of the rust link: the `-O` level, `None` for none.
    pub fn wasm_opt_level(&self) -> Option<&str> {
        self.parts.iter().find_map(|p| match p {
            Part::Rust { wasm_opt } => wasm_opt.as_deref(),
            _ => None,
        })
    }

    /// Stylesheet `href`s in document order (relative to the template).
    pub fn css(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Css { href } => Some(href.as_str()),
            _ => None,
        })
    }

    pub fn render(&self, out: &Outputs) -> String {
        let mut html = String::new();
        let mut css = out.css.iter();
        for part in &self.parts {
            match part {
                Part::Text(t) => html.push_str(t),
                Part::Rust { .. } => html.push_str(&script(out.js, out.wasm)),
                Part::Css { .. } => {
                    if let Some(name) = css.next() {
                        html.push_str(&format!(
                            r#"<link rel="stylesheet" href="/{name}" integrity="{}"/>"#,
                            (out.integrity)(name)
                        ));
                    }
                }
            }
        }
        let preload = format!(
            "<link rel=\"modulepreload\" href=\"/{js}\" crossorigin=\"anonymous\" integrity=\"{ji}\">\
             <link rel=\"preload\" href=\"/{wasm}\" crossorigin=\"anonymous\" integrity=\"{wi}\" \
             as=\"fetch\" type=\"application/wasm\"></head>",
            js = out.js,
            wasm = out.wasm,
            ji = (out.integrity)(out.js),
            wi = (out.integrity)(out.wasm),
        );
        html.replacen("</head>", &preload, 1)
    }
}

/// Trunk's default initializer (`import_bindings` on, `init` with an options object).
fn script(js: &str, wasm: &str) -> String {
    format!(
        r#"
<script type="module">
import init, * as bindings from '/{js}';
const wasm = await init({{ module_or_path: '/{wasm}' }});

window.wasmBindings = bindings;

dispatchEvent(new CustomEvent("TrunkApplicationStarted", {{detail: {{wasm}}}}));
</script>"#
    )
}

/// Byte offset of the next `<link` tag that carries `data-trunk`.
fn find_trunk_link(html: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = html[from..].find("<link") {
        let start = from + i;
        let end = html[start..].find('>').map_or(html.len(), |e| start + e);
        if attributes(&html[start..end])
            .iter()
            .any(|(k, _)| k == "data-trunk")
        {
            return Some(start);
        }
        from = end;
    }
    None
}

/// `name="value"`, `name='value'`, `name=value` and bare `name` attributes of one tag.
fn attributes(tag: &str) -> Vec<(String, String)> {
    let inner = tag
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim_end_matches('/');
    let mut out = Vec::new();
    let mut chars = inner.char_indices().peekable();
    // Skip the element name.
    while chars.next_if(|(_, c)| !c.is_whitespace()).is_some() {}
    loop {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(start, _)) = chars.peek() else {
            break;
        };
        let mut end = start;
        while let Some((i, c)) = chars.next_if(|(_, c)| !c.is_whitespace() && *c != '=') {
            end = i + c.len_utf8();
        }
        let name = inner[start..end].to_ascii_lowercase();
        let mut value = String::new();
        if chars.next_if(|(_, c)| *c == '=').is_some() {
            match chars.peek().map(|&(_, c)| c) {
                Some(q @ ('"' | '\'')) => {
                    chars.next();
                    for (_, c) in chars.by_ref() {
                        if c == q {
                            break;
                        }
                        value.push(c);
                    }
                }
                _ => {
                    while let Some((_, c)) = chars.next_if(|(_, c)| !c.is_whitespace()) {
                        value.push(c);
                    }
                }
            }
        }
        if name.is_empty() {
            chars.next();
        } else {
            out.push((name, value));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"<!doctype html>
<html><head><title>t</title>
<link data-trunk rel="rust" href="web/Cargo.toml" data-cargo-profile-release="wasm-release" data-wasm-opt="z" />
<link data-trunk rel='css' href=styles/main.css>
<link rel="icon" href="/favicon.ico">
</head><body></body></html>"#;

    #[test]
    fn attributes_in_every_quoting_style() {
        let a = attributes(r#"<link data-trunk rel='css' href=styles/main.css x="a b"/>"#);
        let pairs: Vec<_> = a.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("data-trunk", ""),
                ("rel", "css"),
                ("href", "styles/main.css"),
                ("x", "a b")
            ]
        );
    }

    #[test]
    fn renders_what_trunk_renders() {
        let t = Template::parse(TEMPLATE).unwrap();
        assert_eq!(t.wasm_opt_level(), Some("z"));
        assert_eq!(t.css().collect::<Vec<_>>(), ["styles/main.css"]);
        let html = t.render(&Outputs {
            js: "app-1.js",
            wasm: "app-2_bg.wasm",
            css: &["main-3.css".to_string()],
            integrity: &|n| format!("sha384-{n}"),
        });
        assert!(!html.contains("data-trunk"), "{html}");
        assert!(html.contains("import init, * as bindings from '/app-1.js';"));
        assert!(html.contains("init({ module_or_path: '/app-2_bg.wasm' })"));
        assert!(html.contains("TrunkApplicationStarted"));
        assert!(html.contains(
            r#"<link rel="stylesheet" href="/main-3.css" integrity="sha384-main-3.css"/>"#
        ));
        assert!(html.contains(r#"<link rel="icon" href="/favicon.ico">"#));
        let head_end = html.find("</head>").unwrap();
        let preload = html.find(r#"rel="preload" href="/app-2_bg.wasm""#).unwrap();
        let modulepreload = html
            .find(r#"rel="modulepreload" href="/app-1.js""#)
            .unwrap();
        assert!(preload < head_end && modulepreload < head_end);
        assert!(html.contains(r#"type="application/wasm""#));
    }

    #[test]
    fn refuses_directives_it_does_not_know() {
        let t = TEMPLATE.replace("rel='css'", "rel='copy-dir'");
        let err = Template::parse(&t).err().unwrap();
        assert!(err.contains("copy-dir"), "{err}");
    }

    #[test]
    fn needs_exactly_one_rust_app() {
        let none = TEMPLATE.replace("rel=\"rust\"", "rel=\"css\"");
        assert!(Template::parse(&none).is_err());
    }
}
