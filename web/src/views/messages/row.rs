//! One received message as HTML (built once per message, see [`crate::model::html`]): the
//! colour and the filter of its subscription, time with milliseconds, topic, QoS,
//! retained/DUP flags, size, format, the payload (collapsed when long, never cut) and any
//! MQTT 5 properties. "Show all" is wired by the list (`data-msg`).

use std::fmt::Write;

use crate::model::html::{esc, push_el, push_esc};
use crate::state::clock;
use crate::state::messages::Message;
use crate::state::payload::{self, Format};
use crate::state::properties;

/// Collapsed view: at most this many lines …
const PREVIEW_LINES: usize = 12;
/// … and characters.
const PREVIEW_CHARS: usize = 1_500;

/// The row's content (the `<li>` itself carries the colour).
pub fn row_html(msg: &Message, tz: i64, expanded: bool) -> String {
    let r = payload::render(&msg.payload);
    let preview = payload::collapsed(&r.body, PREVIEW_LINES, PREVIEW_CHARS);
    let mut h = String::with_capacity(256 + r.body.len());
    h.push_str(r#"<div class="meta"><time>"#);
    h.push_str(&clock(msg.at_ms, tz));
    h.push_str("</time>");
    push_el(&mut h, "span", "topic", "", &msg.topic);
    if let Some(f) = &msg.filter {
        let _ = write!(h, r#"<span class="via">via <code>{}</code></span>"#, esc(f));
    }
    let _ = write!(h, r#"<span class="badge">QoS {}</span>"#, msg.qos as u8);
    if msg.retain {
        h.push_str(r#"<span class="badge flag">retained</span>"#);
    }
    if msg.dup {
        h.push_str(r#"<span class="badge flag">DUP</span>"#);
    }
    let binary = r.format == Format::Binary;
    let _ = write!(
        h,
        r#"<span class="size">{}</span><span class="format{}">{}</span></div>"#,
        payload::human_size(msg.payload.len()),
        if binary { " binary" } else { "" },
        r.format.label()
    );
    if msg.payload.is_empty() {
        h.push_str(r#"<p class="payload empty-payload">(empty payload)</p>"#);
    } else {
        let _ = write!(
            h,
            r#"<pre class="payload{}">"#,
            if binary { " hex" } else { "" }
        );
        push_esc(
            &mut h,
            if expanded {
                &r.body
            } else {
                preview.unwrap_or(&r.body)
            },
        );
        h.push_str("</pre>");
    }
    let props = properties::describe(&msg.properties);
    if !props.is_empty() {
        h.push_str(r#"<dl class="props" role="group" aria-label="MQTT 5 properties">"#);
        for p in props {
            h.push_str("<div>");
            push_el(&mut h, "dt", "", "", p.name);
            push_el(&mut h, "dd", "", "", &p.value);
            h.push_str("</div>");
        }
        h.push_str("</dl>");
    }
    if preview.is_some() {
        let label = if expanded {
            "Collapse".to_owned()
        } else {
            format!("Show all ({} lines)", r.body.lines().count())
        };
        let _ = write!(
            h,
            r#"<button type="button" class="small" data-msg="{}" aria-expanded="{expanded}">{label}</button>"#,
            msg.id
        );
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use tern_codec::{Props, PublishProperties, QoS};

    fn msg(payload: Vec<u8>) -> Message {
        Message {
            id: 7,
            at_ms: 1_500,
            topic: "a/<b>".into(),
            qos: QoS::AtLeastOnce,
            retain: true,
            dup: false,
            payload: Bytes::from(payload),
            color: Some("#112233".into()),
            filter: Some("a/#".into()),
            properties: Props::none(),
        }
    }

    #[test]
    fn a_row_names_its_filter_and_escapes_the_topic() {
        let h = row_html(&msg(b"hello".to_vec()), 0, false);
        assert!(h.contains("<time>00:00:01.500</time>"), "{h}");
        assert!(h.contains(r#"<span class="topic">a/&lt;b&gt;</span>"#));
        assert!(h.contains(r#"via <code>a/#</code>"#));
        assert!(h.contains("QoS 1") && h.contains("retained") && h.contains("5 B"));
        assert!(h.contains(r#"<pre class="payload">hello</pre>"#));
        assert!(!h.contains("<button"), "short payloads have no Show all");
    }

    #[test]
    fn long_payloads_collapse_and_expand() {
        let body: Vec<u8> = (0..30)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let closed = row_html(&msg(body.clone()), 0, false);
        assert!(
            closed.contains(r#"data-msg="7" aria-expanded="false">Show all (30 lines)"#),
            "{closed}"
        );
        assert!(!closed.contains("line 20"));
        let open = row_html(&msg(body), 0, true);
        assert!(open.contains("line 29") && open.contains(">Collapse<"));
    }

    #[test]
    fn properties_are_a_named_group_mqtt_3_3_2_3() {
        let mut m = msg(b"x".to_vec());
        m.properties = PublishProperties {
            content_type: Some("text/plain".into()),
            ..Default::default()
        }
        .into();
        let h = row_html(&m, 0, false);
        assert!(h.contains(r#"role="group" aria-label="MQTT 5 properties"><div><dt>Content Type</dt><dd>text/plain</dd></div>"#), "{h}");
        assert!(row_html(&msg(vec![]), 0, false).contains("(empty payload)"));
    }
}
