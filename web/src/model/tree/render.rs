//! One tree row as HTML (see [`crate::model::html`]): a `treeitem` whose accessible name
//! starts with the level's name, then the message count, rate, retained badge, the last
//! value and its age. The view renders only the rows in sight.

use std::fmt::Write;

use super::TopicTree;
use super::rows::Row;
use crate::model::html::{push_el, push_esc};
use crate::model::num::fixed;
use crate::state::payload::preview;

/// Characters of the last value shown in a row.
const PREVIEW_CHARS: usize = 60;

/// "now", "12 s", "3 min", "2 h", "4 d".
pub fn age(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0 => "now".into(),
        1..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        3600..=86_399 => format!("{} h", s / 3600),
        _ => format!("{} d", s / 86_400),
    }
}

/// "0.3/s", "12/s", "1.2k/s"; empty when the topic is quiet.
pub fn rate(r: f64) -> String {
    if r < 0.05 {
        String::new()
    } else if r < 10.0 {
        format!("{}/s", fixed(r, 1))
    } else if r < 1000.0 {
        format!("{}/s", fixed(r, 0))
    } else {
        format!("{}k/s", fixed(r / 1000.0, 1))
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The row's HTML; `active` is the keyboard position, `now_ms` dates the ages.
pub fn row_html(t: &TopicTree, row: &Row, now_ms: u64, active: bool) -> String {
    let Some(n) = t.node(row.id) else {
        return String::new();
    };
    let name = if n.name.is_empty() {
        "(empty)"
    } else {
        &n.name
    };
    let mut count = if n.messages > 0 {
        plural(n.messages, "message", "messages")
    } else {
        String::new()
    };
    if !n.children.is_empty() {
        let below = n.subtree_topics - u32::from(n.messages > 0);
        if !count.is_empty() {
            count.push_str(" · ");
        }
        let _ = write!(
            count,
            "{} below, {}",
            plural(u64::from(below), "topic", "topics"),
            plural(n.subtree_messages - n.messages, "message", "messages")
        );
    }
    let value = match n.last() {
        Some(v) => preview(&v.payload, PREVIEW_CHARS),
        None if n.messages > 0 => "(value dropped: memory cap)".into(),
        None => String::new(),
    };
    let rate = rate(n.rate.at(now_ms));
    let age = if n.messages > 0 {
        age(now_ms.saturating_sub(n.last_at))
    } else {
        String::new()
    };

    let mut label = format!("{name}, {count}");
    if !rate.is_empty() {
        let _ = write!(label, ", {rate}");
    }
    if n.retained {
        label.push_str(", retained");
    }
    if !value.is_empty() {
        let _ = write!(label, ", last value {value}");
    }
    let mut h = String::with_capacity(400);
    let _ = write!(
        h,
        r#"<div role="treeitem" id="tn-{}" data-id="{}" aria-level="{}" aria-posinset="{}" aria-setsize="{}" aria-selected="{}""#,
        row.id,
        row.id,
        row.depth,
        row.pos,
        row.of,
        t.selected() == Some(row.id)
    );
    if row.has_children {
        let _ = write!(h, r#" aria-expanded="{}""#, row.expanded);
    }
    h.push_str(r#" aria-label=""#);
    push_esc(&mut h, &label);
    let _ = write!(
        h,
        r#"" class="tree-row{}" style="padding-left:{}px">"#,
        if active { " active" } else { "" },
        u32::from(row.depth.min(40)) * 18 - 10
    );
    let twisty = match (row.has_children, row.expanded) {
        (false, _) => "",
        (true, false) => "▸",
        (true, true) => "▾",
    };
    let _ = write!(
        h,
        r#"<span class="twisty" aria-hidden="true">{twisty}</span>"#
    );
    push_el(&mut h, "span", "tname", "", name);
    push_el(&mut h, "span", "tcount", "", &count);
    push_el(&mut h, "span", "trate", "", &rate);
    if n.retained {
        h.push_str(r#"<span class="badge flag">retained</span>"#);
    }
    push_el(&mut h, "span", "tvalue", "", &value);
    push_el(&mut h, "span", "tage", "", &age);
    h.push_str("</div>");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use tern_codec::QoS;

    #[test]
    fn a_row_is_named_by_its_level_and_shows_count_and_last_value() {
        let mut t = TopicTree::default();
        let b = |s: &'static str| Bytes::from_static(s.as_bytes());
        t.insert("home/temp", &b("21.5"), QoS::AtMostOnce, true, 0);
        t.insert("home/temp", &b("<b>22</b>"), QoS::AtMostOnce, true, 1_000);
        t.insert("home/hum", &b("40"), QoS::AtMostOnce, false, 1_000);
        let rows = t.rows("");
        let home = row_html(&t, &rows[0], 2_000, false);
        assert!(
            home.contains(r#"aria-label="home, 2 topics below, 3 messages""#),
            "{home}"
        );
        assert!(home.contains(r#"aria-expanded="true""#) && home.contains("▾"));
        let temp = row_html(&t, &rows[2], 13_000, true);
        assert!(
            temp.contains(r#"aria-label="temp, 2 messages, 0.1/s, retained, last value &lt;b&gt;22&lt;/b&gt;""#),
            "{temp}"
        );
        assert!(temp.contains(r#"<span class="tcount">2 messages</span>"#));
        assert!(temp.contains(r#"<span class="tvalue">&lt;b&gt;22&lt;/b&gt;</span>"#));
        assert!(temp.contains(r#"<span class="tage">12 s</span>"#));
        assert!(temp.contains(r#"aria-level="2" aria-posinset="2" aria-setsize="2""#));
        assert!(temp.contains("tree-row active") && !temp.contains("aria-expanded"));
    }

    #[test]
    fn ages_and_rates_read_short() {
        assert_eq!(age(999), "now");
        assert_eq!(age(61_000), "1 min");
        assert_eq!(age(7_200_000), "2 h");
        assert_eq!(rate(0.01), "");
        assert_eq!(rate(2.345), "2.3/s");
        assert_eq!(rate(1500.0), "1.5k/s");
    }
}
