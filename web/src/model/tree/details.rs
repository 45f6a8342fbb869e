//! The selected topic's panel as HTML, in two parts: [`controls_html`] (the topic, which
//! numbers to plot, the actions — it changes only when those do, so its buttons stay put
//! under the pointer and keyboard focus) and [`values_html`] (counts, what changed from the
//! previous value, the last values newest first, rendered as in the message list). The
//! view wires the controls by their `data-act` attribute.

use std::fmt::Write;

use super::render::rate;
use super::{NodeId, TopicTree};
use crate::model::diff::{diff, diff_html};
use crate::model::html::{esc, push_esc};
use crate::model::series::numbers;
use crate::state::clock;
use crate::state::payload::{self, human_size};

/// The topic, the plot checkboxes and the action buttons for `id`; `plotted(field)` says
/// whether a field is on the chart.
pub fn controls_html(t: &TopicTree, id: NodeId, plotted: impl Fn(&str) -> bool) -> String {
    let Some(n) = t.node(id) else {
        return String::new();
    };
    let mut h = String::with_capacity(512);
    h.push_str(r#"<h3 class="topic">"#);
    push_esc(&mut h, &t.topic(id));
    h.push_str("</h3>");
    let fields = n.last().map(|v| numbers(&v.payload)).unwrap_or_default();
    if !fields.is_empty() {
        h.push_str(r#"<fieldset class="plot"><legend>Plot on the chart</legend>"#);
        for (i, (f, _)) in fields.iter().enumerate() {
            let f = esc(f);
            let _ = write!(
                h,
                r#"<span class="check"><input type="checkbox" id="plot-{i}" data-act="plot" data-field="{f}"{}><label for="plot-{i}">{f}</label></span>"#,
                if plotted(&f) { " checked" } else { "" }
            );
        }
        h.push_str("</fieldset>");
    }
    h.push_str(r#"<div class="actions"><button type="button" data-act="publish">Publish to this topic</button><button type="button" data-act="clear">Clear retained</button></div>"#);
    h
}

/// Counts, the change from the previous value and the last values of `id`.
pub fn values_html(t: &TopicTree, id: NodeId, now_ms: u64, tz: i64) -> String {
    let Some(n) = t.node(id) else {
        return String::new();
    };
    let mut h = String::with_capacity(2048);
    let _ = write!(h, r#"<p class="facts">{} messages"#, n.messages);
    let r = rate(n.rate.at(now_ms));
    if !r.is_empty() {
        let _ = write!(h, " · {r}");
    }
    if n.retained {
        h.push_str(" · retained on the broker");
    }
    h.push_str("</p><h4>Change from the previous value</h4>");
    match (n.previous(), n.last()) {
        (Some(a), Some(b)) => h.push_str(&diff_html(&diff(&a.payload, &b.payload))),
        _ => h.push_str(r#"<p class="empty">Only one value so far.</p>"#),
    }
    h.push_str("<h4>Last values</h4>");
    if n.history.is_empty() {
        h.push_str(r#"<p class="empty">No value kept (the tree's memory cap dropped it).</p>"#);
        return h;
    }
    h.push_str(r#"<ol class="history">"#);
    for v in n.history.iter().rev() {
        let r = payload::render(&v.payload);
        let _ = write!(
            h,
            r#"<li><div class="meta"><time>{}</time><span class="badge">QoS {}</span>{}<span class="size">{}{}</span><span class="format">{}</span></div><pre class="payload{}">"#,
            clock(v.at_ms, tz),
            v.qos as u8,
            if v.retain {
                r#"<span class="badge flag">retained</span>"#
            } else {
                ""
            },
            human_size(v.size),
            if v.is_cut() { ", first 8 KB kept" } else { "" },
            r.format.label(),
            if r.format == payload::Format::Binary {
                " hex"
            } else {
                ""
            },
        );
        if v.payload.is_empty() {
            h.push_str("(empty payload)");
        } else {
            push_esc(&mut h, &r.body);
        }
        h.push_str("</pre></li>");
    }
    h.push_str("</ol>");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use tern_codec::QoS;

    #[test]
    fn the_panel_lists_numbers_changes_and_values_newest_first() {
        let mut t = TopicTree::default();
        t.insert(
            "a",
            &Bytes::from_static(br#"{"t":1,"h":40}"#),
            QoS::AtMostOnce,
            false,
            1_000,
        );
        t.insert(
            "a",
            &Bytes::from_static(br#"{"t":2,"h":"<x>"}"#),
            QoS::AtLeastOnce,
            true,
            2_000,
        );
        let id = t.find("a").unwrap();
        let h = controls_html(&t, id, |f| f == "t") + &values_html(&t, id, 2_000, 0);
        assert!(h.contains(r#"data-field="t" checked"#), "{h}");
        assert!(!h.contains(r#"data-field="h""#), "h is no longer a number");
        assert!(h.contains("<code>t</code> 1 → 2"), "{h}");
        assert!(h.contains("retained on the broker"));
        let newest = h.find("&lt;x&gt;").unwrap();
        let older = h.find("&quot;h&quot;: 40").unwrap();
        assert!(newest < older, "newest first");
        assert!(h.contains("00:00:02.000") && h.contains("QoS 1"));
        assert!(!h.contains("<x>"));
    }
}
