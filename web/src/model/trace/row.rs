//! One trace row as HTML cells (see [`crate::model::html`] for why a string): sequence
//! number, time and gap, the arrow between the page and broker lanes labelled with the
//! packet type, id, flags, reason, size and a short detail; when open, every field and the
//! raw bytes.

use std::fmt::Write;

use super::TraceEntry;
use super::fields::{fields, hex};
use super::summary::summarize;
use crate::model::html::{push_el, push_esc};
use crate::mqtt::tap::Direction;
use crate::state::clock;
use crate::state::payload::human_size;

/// The cells of `entry`'s row; `tz` is the browser's time-zone offset in minutes.
pub fn row_html(entry: &TraceEntry, tz: i64, open: bool) -> String {
    let s = summarize(&entry.tapped);
    let mut h = String::with_capacity(512);
    let cell = |h: &mut String, class: &str, text: &str| push_el(h, "span", class, "cell", text);
    cell(&mut h, "seq", &entry.seq.to_string());
    let _ = write!(
        h,
        r#"<span class="when" role="cell"><time>{}</time><span class="gap">+{} ms</span></span>"#,
        clock(entry.tapped.at_ms, tz),
        entry.delta_ms
    );
    let way = match entry.tapped.dir {
        Direction::Sent => "page to broker",
        Direction::Received => "broker to page",
    };
    let _ = write!(
        h,
        r#"<span class="lanes arrow" role="cell" title="{way}"><span class="sr-only">{way}: </span><span class="ptype">{}</span></span>"#,
        s.name
    );
    cell(
        &mut h,
        "pid",
        &s.pid.map(|p| p.to_string()).unwrap_or_default(),
    );
    cell(&mut h, "flags", &s.flags);
    cell(&mut h, "reason", s.reason.as_deref().unwrap_or(""));
    cell(&mut h, "size", &human_size(entry.tapped.raw.len()));
    h.push_str(r#"<span class="about" role="cell">"#);
    push_el(&mut h, "span", "detail", "", &s.detail);
    let _ = write!(
        h,
        r#"<button type="button" class="small" data-seq="{0}" aria-expanded="{open}" aria-label="Fields of packet {0}">Fields</button>"#,
        entry.seq
    );
    if open {
        h.push_str(r#"<div class="trace-fields"><dl>"#);
        for f in fields(&entry.tapped) {
            h.push_str("<div>");
            push_el(&mut h, "dt", "", "", &f.name);
            push_el(&mut h, "dd", "", "", &f.value);
            h.push_str("</div>");
        }
        h.push_str(r#"</dl><pre class="payload hex" aria-label="Raw bytes">"#);
        push_esc(&mut h, &hex(&entry.tapped));
        h.push_str("</pre></div>");
    }
    h.push_str("</span>");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::trace::TraceLog;
    use crate::model::trace::tests::tapped;
    use bytes::Bytes;
    use tern_codec::{Packet, Publish, QosPid, TopicName};

    #[test]
    fn a_row_has_the_type_in_capitals_and_escapes_what_peers_sent() {
        let mut log = TraceLog::default();
        let p = Publish::new(
            TopicName::new("x/<b>").unwrap(),
            QosPid::AtMostOnce,
            Bytes::from_static(b"<script>alert(1)</script>"),
        );
        log.push(tapped(Direction::Received, 0, Packet::Publish(p)));
        let e = log.iter(false).next().unwrap();
        let closed = row_html(e, 0, false);
        assert!(
            closed.contains(r#"<span class="ptype">PUBLISH</span>"#),
            "{closed}"
        );
        assert!(closed.contains("broker to page"));
        assert!(
            !closed.contains("<script>") && !closed.contains("<b>"),
            "{closed}"
        );
        assert!(closed.contains(r#"aria-expanded="false""#));
        assert_eq!(closed.matches(r#"role="cell""#).count(), 8);
        let open = row_html(e, 0, true);
        assert!(
            open.contains("<dt>Topic Name</dt><dd>x/&lt;b&gt;</dd>"),
            "{open}"
        );
        assert!(open.contains(r#"aria-label="Raw bytes""#));
        assert!(open.contains("00000000  30 "), "hex of the fixed header");
    }
}
