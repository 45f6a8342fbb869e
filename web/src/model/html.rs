//! HTML text for the parts of the page that are rebuilt many times a second (trace rows,
//! tree rows, charts, the QR code). Building a string and setting `innerHTML` once is far
//! cheaper, in time and in wasm size, than a reactive node per cell; the price is escaping,
//! done here for every value that came from the network.

/// Appends `s` with `& < > " '` escaped: safe in text content and in quoted attributes.
pub fn push_esc(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_esc(&mut out, s);
    out
}

/// `<tag class="class" role="role">escaped text</tag>`; empty `role` is left out.
pub fn push_el(out: &mut String, tag: &str, class: &str, role: &str, text: &str) {
    out.push('<');
    out.push_str(tag);
    if !class.is_empty() {
        out.push_str(" class=\"");
        out.push_str(class);
        out.push('"');
    }
    if !role.is_empty() {
        out.push_str(" role=\"");
        out.push_str(role);
        out.push('"');
    }
    out.push('>');
    push_esc(out, text);
    out.push_str("</");
    out.push_str(tag);
    out.push('>');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_values_is_inert() {
        assert_eq!(
            esc(r#"<img src=x onerror="alert('x')">&"#),
            "&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;"
        );
        let mut s = String::new();
        push_el(&mut s, "span", "topic", "cell", "a/<b>");
        assert_eq!(s, r#"<span class="topic" role="cell">a/&lt;b&gt;</span>"#);
        assert_eq!(esc("ünï ✓"), "ünï ✓");
    }
}
