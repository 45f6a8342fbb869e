//! MQTT topics and filters as NATS subjects, so that NATS does the interest-based routing.
//!
//! A subject is `tern.<kind>.<ns>.<level>…<level>.%%`:
//!
//! * `kind`: `0` live QoS 0 messages (core NATS), `1` QoS 1/2 messages (the `TERN_MSG`
//!   stream), `r` retained messages (the `TERN_RETAINED` stream).
//! * `ns`: `s` when the topic's first level starts with `$`, `u` otherwise. Filters that start
//!   with a wildcard subscribe in `u` only, so they never match `$` topics [MQTT-4.7.2-1].
//! * every MQTT level is one NATS token, escaped so that no MQTT byte changes meaning: bytes
//!   outside printable ASCII, and `.` `*` `>` `%` (NATS separators and wildcards, and our
//!   escape), become `%XX`; an empty level becomes the token `%`, which no escaped level can
//!   be. `$`, `/`-free text and the rest of printable ASCII stay as they are, so subjects
//!   stay readable (`sensors/t1` → `tern.0.u.sensors.t1.%%`).
//! * the end token `%%` (again impossible as an escaped level) lets `#` be a single NATS
//!   subscription: `a/#` → `tern.0.u.a.>` matches `a` itself (`…a.%%`) and everything below
//!   it, where NATS's own MQTT bridge needs a second subscription for the parent level.
//!   `+` → `*`.
//!
//! NATS refuses control lines over 4 KiB (`max_control_line`); a subject must leave room for
//! the rest of the line (reply inbox, sizes, queue names on routes), so subjects are limited
//! to [`MAX_SUBJECT`] bytes and longer topics are refused up front (PUBLISH: v5 DISCONNECT
//! 0x90, SUBSCRIBE: SUBACK 0x8F) instead of failing inside NATS.

use std::fmt::Write;

/// Longest subject we send (bytes): `max_control_line` (4096 by default) less room for the
/// verb, reply inbox, sizes and, on cluster routes, queue group names.
pub const MAX_SUBJECT: usize = 3500;

/// First token of every subject.
pub const ROOT: &str = "tern";

/// Which flow a subject belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// QoS 0 messages over core NATS (at most once).
    Live,
    /// QoS 1/2 messages, stored in the `TERN_MSG` stream.
    Stored,
    /// Retained messages, one per subject in the `TERN_RETAINED` stream.
    Retained,
}

impl Kind {
    fn token(self) -> &'static str {
        match self {
            Kind::Live => "0",
            Kind::Stored => "1",
            Kind::Retained => "r",
        }
    }

    /// Every subject of this kind (stream subjects, the router's filter).
    pub fn all(self) -> String {
        format!("{ROOT}.{}.>", self.token())
    }
}

const EMPTY: &str = "%";
const END: &str = "%%";

fn safe(b: u8) -> bool {
    (0x21..=0x7e).contains(&b) && !matches!(b, b'.' | b'*' | b'>' | b'%')
}

/// Length of `level` once escaped.
fn escaped_len(level: &str) -> usize {
    if level.is_empty() {
        return EMPTY.len();
    }
    level
        .bytes()
        .map(|b| if safe(b) { 1 } else { 3 })
        .sum::<usize>()
}

fn push_level(out: &mut String, level: &str) {
    if level.is_empty() {
        out.push_str(EMPTY);
        return;
    }
    for b in level.bytes() {
        if safe(b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

fn namespace(first: &str) -> &'static str {
    if first.starts_with('$') { "s" } else { "u" }
}

fn prefix_len(kind: Kind) -> usize {
    ROOT.len() + 1 + kind.token().len() + 1 + 1
}

/// Length of the subject of `topic` (any kind: their tokens have the same length).
pub fn topic_subject_len(topic: &str) -> usize {
    prefix_len(Kind::Live)
        + topic.split('/').map(|l| 1 + escaped_len(l)).sum::<usize>()
        + 1
        + END.len()
}

/// Whether `topic` (or filter, which is never longer as a subject) fits a NATS subject.
pub fn fits(topic: &str) -> bool {
    topic_subject_len(topic) <= MAX_SUBJECT
}

/// The subject of a topic name; `None` when it is longer than [`MAX_SUBJECT`].
pub fn topic_subject(kind: Kind, topic: &str) -> Option<String> {
    let len = topic_subject_len(topic);
    if len > MAX_SUBJECT {
        return None;
    }
    let mut out = String::with_capacity(len);
    out.push_str(ROOT);
    out.push('.');
    out.push_str(kind.token());
    out.push('.');
    out.push_str(namespace(topic));
    for level in topic.split('/') {
        out.push('.');
        push_level(&mut out, level);
    }
    out.push('.');
    out.push_str(END);
    Some(out)
}

/// The subscription subject of a topic filter (without any `$share/group/` prefix): `+` →
/// `*`, a trailing `#` → `>`. `None` when it is longer than [`MAX_SUBJECT`].
pub fn filter_subject(kind: Kind, filter: &str) -> Option<String> {
    let mut out = String::with_capacity(filter.len() + 16);
    out.push_str(ROOT);
    out.push('.');
    out.push_str(kind.token());
    out.push('.');
    let first = filter.split('/').next().unwrap_or_default();
    // A filter starting with a wildcard matches no `$` topic [MQTT-4.7.2-1].
    out.push_str(if first == "+" || first == "#" {
        "u"
    } else {
        namespace(first)
    });
    let mut open = true;
    for level in filter.split('/') {
        out.push('.');
        match level {
            "+" => out.push('*'),
            "#" => {
                out.push('>');
                open = false;
            }
            l => push_level(&mut out, l),
        }
    }
    if open {
        out.push('.');
        out.push_str(END);
    }
    (out.len() <= MAX_SUBJECT).then_some(out)
}

/// The kind and topic name of a subject made by [`topic_subject`]; `None` for anything else.
pub fn topic_of(subject: &str) -> Option<(Kind, String)> {
    let mut tokens = subject.split('.');
    if tokens.next()? != ROOT {
        return None;
    }
    let kind = match tokens.next()? {
        "0" => Kind::Live,
        "1" => Kind::Stored,
        "r" => Kind::Retained,
        _ => return None,
    };
    let ns = tokens.next()?;
    let levels: Vec<&str> = tokens.collect();
    let (last, levels) = levels.split_last()?;
    if *last != END || levels.is_empty() {
        return None;
    }
    let mut bytes = Vec::with_capacity(subject.len());
    for (i, level) in levels.iter().enumerate() {
        if i > 0 {
            bytes.push(b'/');
        }
        if *level == EMPTY {
            continue;
        }
        let mut b = level.bytes();
        while let Some(c) = b.next() {
            if c == b'%' {
                let hi = char::from(b.next()?).to_digit(16)?;
                let lo = char::from(b.next()?).to_digit(16)?;
                bytes.push(u8::try_from(hi * 16 + lo).ok()?);
            } else if safe(c) {
                bytes.push(c);
            } else {
                return None;
            }
        }
    }
    let topic = String::from_utf8(bytes).ok()?;
    (namespace(&topic) == ns).then_some((kind, topic))
}

/// MQTT topic matching (section 4.7) of a topic name against a filter (no `$share/`).
pub fn topic_matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        // [MQTT-4.7.2-1]
        return false;
    }
    let mut t = topic.split('/');
    for f in filter.split('/') {
        match (f, t.next()) {
            ("#", _) => return true,
            ("+", Some(_)) => {}
            (l, Some(tl)) if l == tl => {}
            _ => return false,
        }
    }
    t.next().is_none()
}

/// A NATS queue group name for the shared subscription `$share/{group}/{filter}`: a fixed
/// length hash (queue names travel on every routed message's control line).
pub fn queue_name(group: &str, filter: &str) -> String {
    format!("tern-{:016x}", stable_hash(group, filter))
}

/// FNV-1a over `group`, a separator that cannot occur in a share name, and `filter`: stable
/// across processes and versions (every node must compute the same name).
pub fn stable_hash(group: &str, filter: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in group.bytes().chain([b'/']).chain(filter.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// NATS subject matching (tokens; `*` one token, `>` one or more at the end).
    fn nats_match(filter: &str, subject: &str) -> bool {
        let f: Vec<&str> = filter.split('.').collect();
        let s: Vec<&str> = subject.split('.').collect();
        for (i, ft) in f.iter().enumerate() {
            match *ft {
                ">" => return s.len() > i,
                "*" if i < s.len() => {}
                t if i < s.len() && s[i] == t => {}
                _ => return false,
            }
        }
        f.len() == s.len()
    }

    /// MQTT topic matching (section 4.7), written out index by index as the reference for
    /// [`nats_match`] on our subjects and for [`topic_matches`].
    fn mqtt_match(filter: &str, topic: &str) -> bool {
        if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
            return false;
        }
        let f: Vec<&str> = filter.split('/').collect();
        let t: Vec<&str> = topic.split('/').collect();
        for (i, fl) in f.iter().enumerate() {
            match *fl {
                "#" => return true,
                "+" if i < t.len() => {}
                l if i < t.len() && t[i] == l => {}
                _ => return false,
            }
        }
        f.len() == t.len()
    }

    fn valid_subject(s: &str) -> bool {
        !s.is_empty()
            && s.split('.')
                .all(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic() && b != b'.'))
    }

    #[test]
    fn readable_subjects_for_plain_topics() {
        assert_eq!(
            topic_subject(Kind::Live, "sensors/t1").unwrap(),
            "tern.0.u.sensors.t1.%%"
        );
        assert_eq!(
            topic_subject(Kind::Stored, "$SYS/brokers/a").unwrap(),
            "tern.1.s.$SYS.brokers.a.%%"
        );
        assert_eq!(
            topic_subject(Kind::Retained, "a.b/*/>/ /x%y//").unwrap(),
            "tern.r.u.a%2Eb.%2A.%3E.%20.x%25y.%.%.%%"
        );
        assert_eq!(filter_subject(Kind::Live, "#").unwrap(), "tern.0.u.>");
        assert_eq!(
            filter_subject(Kind::Live, "a/+/#").unwrap(),
            "tern.0.u.a.*.>"
        );
        assert_eq!(
            filter_subject(Kind::Live, "+/b").unwrap(),
            "tern.0.u.*.b.%%"
        );
        assert_eq!(
            filter_subject(Kind::Live, "$SYS/#").unwrap(),
            "tern.0.s.$SYS.>"
        );
    }

    #[test]
    fn too_long_topics_have_no_subject() {
        let long = "x".repeat(MAX_SUBJECT);
        assert!(!fits(&long));
        assert!(topic_subject(Kind::Live, &long).is_none());
        assert!(filter_subject(Kind::Live, &long).is_none());
        // Escaping counts: 1,200 spaces are 3,600 bytes.
        assert!(!fits(&" ".repeat(1200)));
        assert!(fits(&"x".repeat(1200)));
    }

    #[test]
    fn subjects_from_elsewhere_are_not_topics() {
        for s in [
            "tern.0.u.a",
            "tern.x.u.a.%%",
            "foo.0.u.a.%%",
            "tern.0.s.a.%%",
            "tern.0.u.%G1.%%",
            "tern.0.u.%%",
        ] {
            assert_eq!(topic_of(s), None, "{s}");
        }
    }

    fn level() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            "[a-z]{1,3}",
            "[$a.*>% \t%~é€\u{1}\u{7f}]{1,4}",
            any::<String>().prop_map(|s| s.replace(['/', '+', '#', '\0'], "")),
        ]
    }

    fn topic() -> impl Strategy<Value = String> {
        prop::collection::vec(level(), 1..5).prop_map(|l| l.join("/"))
    }

    fn filter() -> impl Strategy<Value = String> {
        let lvl = prop_oneof![level(), Just("+".to_owned())];
        (prop::collection::vec(lvl, 1..5), any::<bool>()).prop_map(|(mut l, hash)| {
            if hash {
                l.push("#".to_owned());
            }
            l.join("/")
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Every topic comes back unchanged, through a subject NATS accepts.
        #[test]
        fn topic_round_trip(t in topic()) {
            for kind in [Kind::Live, Kind::Stored, Kind::Retained] {
                let s = topic_subject(kind, &t).unwrap();
                prop_assert!(valid_subject(&s), "{s}");
                prop_assert_eq!(s.len(), topic_subject_len(&t));
                prop_assert_eq!(topic_of(&s), Some((kind, t.clone())));
            }
        }

        /// NATS matching on the subjects is exactly MQTT matching on the topics.
        #[test]
        fn nats_matches_like_mqtt(f in filter(), t in topic()) {
            let fs = filter_subject(Kind::Live, &f).unwrap();
            let ts = topic_subject(Kind::Live, &t).unwrap();
            prop_assert!(valid_subject(&fs), "{fs}");
            prop_assert_eq!(nats_match(&fs, &ts), mqtt_match(&f, &t), "{} {} / {} {}", f, fs, t, ts);
            prop_assert_eq!(topic_matches(&f, &t), mqtt_match(&f, &t));
        }

        /// A topic used as a filter matches itself (and `#` / `+` levels around it).
        #[test]
        fn literal_filters_match_their_topic(t in topic()) {
            let ts = topic_subject(Kind::Live, &t).unwrap();
            prop_assert!(nats_match(&filter_subject(Kind::Live, &t).unwrap(), &ts));
            let hash = format!("{t}/#");
            prop_assert!(nats_match(&filter_subject(Kind::Live, &hash).unwrap(), &ts));
        }
    }
}
