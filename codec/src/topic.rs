//! Validated topic names and topic filters (section 4.7), shared subscriptions (4.8.2) and
//! topic matching, used by the codec, the broker's router and the web client.

use std::fmt;
use std::ops::Deref;

use bytestring::ByteString;

/// Why a string is not a valid topic name or topic filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    #[error("[MQTT-4.7.3-1] topic must be at least one character long")]
    Empty,
    #[error("[MQTT-4.7.3-3] topic is longer than 65535 bytes")]
    TooLong,
    #[error("[MQTT-4.7.3-2] topic contains U+0000")]
    NullCharacter,
    #[error("[MQTT-3.3.2-2] topic name contains a wildcard")]
    WildcardInName,
    #[error("[MQTT-4.7.1-2] multi-level wildcard '#' must be last and alone in its level")]
    MultiLevelWildcard,
    #[error("[MQTT-4.7.1-3] single-level wildcard '+' must occupy an entire level")]
    SingleLevelWildcard,
    #[error(
        "[MQTT-4.8.2-1] shared subscription needs a non-empty share name without '/', '+', '#' and a topic filter"
    )]
    InvalidShare,
}

const MAX_LEN: usize = u16::MAX as usize;

/// Checks shared by names and filters: length and U+0000 ([MQTT-4.7.3-1..3]).
fn check_common(s: &str) -> Result<(), TopicError> {
    if s.is_empty() {
        return Err(TopicError::Empty);
    }
    if s.len() > MAX_LEN {
        return Err(TopicError::TooLong);
    }
    if s.as_bytes().contains(&0) {
        return Err(TopicError::NullCharacter);
    }
    Ok(())
}

/// A topic name as carried by PUBLISH: non-empty, no `+`/`#` ([MQTT-3.3.2-2]), no U+0000.
///
/// The single exception is [`TopicName::empty`]: in MQTT 5 a PUBLISH that carries a Topic
/// Alias may have a zero-length topic; the decoder produces it only then and the receiver
/// resolves the alias.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicName(ByteString);

impl TopicName {
    pub fn new(s: impl Into<ByteString>) -> Result<TopicName, TopicError> {
        let s = s.into();
        Self::validate(&s)?;
        Ok(TopicName(s))
    }

    /// Validation without constructing (used by the decoder on the hot path).
    pub(crate) fn validate(s: &str) -> Result<(), TopicError> {
        check_common(s)?;
        if s.bytes().any(|b| b == b'+' || b == b'#') {
            return Err(TopicError::WildcardInName);
        }
        Ok(())
    }

    /// Wraps an already validated string.
    pub(crate) fn from_validated(s: ByteString) -> TopicName {
        TopicName(s)
    }

    /// The zero-length topic of an MQTT 5 PUBLISH that relies on a Topic Alias.
    pub fn empty() -> TopicName {
        TopicName(ByteString::new())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The underlying shared string (cheap to clone).
    pub fn as_bytestring(&self) -> &ByteString {
        &self.0
    }

    pub fn into_inner(self) -> ByteString {
        self.0
    }
}

impl Deref for TopicName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for TopicName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<&str> for TopicName {
    type Error = TopicError;
    fn try_from(s: &str) -> Result<Self, TopicError> {
        TopicName::new(s)
    }
}

/// A topic filter as carried by SUBSCRIBE/UNSUBSCRIBE: non-empty, `#` only as the whole last
/// level ([MQTT-4.7.1-2]), `+` only as a whole level ([MQTT-4.7.1-3]), and for
/// `$share/{group}/{filter}` a valid group name and inner filter ([MQTT-4.8.2-1], [MQTT-4.8.2-2]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicFilter(ByteString);

const SHARE_PREFIX: &str = "$share/";

impl TopicFilter {
    pub fn new(s: impl Into<ByteString>) -> Result<TopicFilter, TopicError> {
        let s = s.into();
        Self::validate(&s)?;
        Ok(TopicFilter(s))
    }

    pub(crate) fn validate(s: &str) -> Result<(), TopicError> {
        check_common(s)?;
        let inner = match s.strip_prefix(SHARE_PREFIX) {
            Some(rest) => {
                let (group, filter) = rest.split_once('/').ok_or(TopicError::InvalidShare)?;
                if group.is_empty() || group.contains(['+', '#']) || filter.is_empty() {
                    return Err(TopicError::InvalidShare);
                }
                filter
            }
            None => s,
        };
        validate_filter_levels(inner)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn as_bytestring(&self) -> &ByteString {
        &self.0
    }

    pub fn into_inner(self) -> ByteString {
        self.0
    }

    /// `true` when the filter contains `+` or `#`.
    pub fn has_wildcards(&self) -> bool {
        self.filter().contains(['+', '#'])
    }

    /// For `$share/{group}/{filter}`, the group name and the inner filter.
    pub fn shared(&self) -> Option<(&str, &str)> {
        self.0.strip_prefix(SHARE_PREFIX)?.split_once('/')
    }

    /// The filter that topics are matched against (the inner filter of a shared subscription).
    pub fn filter(&self) -> &str {
        match self.shared() {
            Some((_, f)) => f,
            None => &self.0,
        }
    }

    /// Whether `topic` matches this filter (section 4.7, including [MQTT-4.7.2-1]).
    pub fn matches(&self, topic: &str) -> bool {
        matches_levels(self.filter(), topic)
    }
}

fn validate_filter_levels(filter: &str) -> Result<(), TopicError> {
    let mut levels = filter.split('/').peekable();
    while let Some(level) = levels.next() {
        if level.contains('#') && (level != "#" || levels.peek().is_some()) {
            return Err(TopicError::MultiLevelWildcard);
        }
        if level.contains('+') && level != "+" {
            return Err(TopicError::SingleLevelWildcard);
        }
    }
    Ok(())
}

impl Deref for TopicFilter {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for TopicFilter {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TopicFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<&str> for TopicFilter {
    type Error = TopicError;
    fn try_from(s: &str) -> Result<Self, TopicError> {
        TopicFilter::new(s)
    }
}

/// Whether `topic` matches `filter`. A `$share/{group}/` prefix on the filter is ignored (the
/// inner filter is matched). Neither argument is validated: an invalid filter simply matches
/// what its literal levels match.
pub fn topic_matches(filter: &str, topic: &str) -> bool {
    let filter = match filter
        .strip_prefix(SHARE_PREFIX)
        .and_then(|r| r.split_once('/'))
    {
        Some((_, inner)) => inner,
        None => filter,
    };
    matches_levels(filter, topic)
}

fn matches_levels(filter: &str, topic: &str) -> bool {
    // [MQTT-4.7.2-1] a filter starting with a wildcard must not match a topic starting with '$'.
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            // '#' also matches the parent level: "sport/#" matches "sport" (section 4.7.1.2).
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(fl), Some(tl)) if fl == tl => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_name_rules_mqtt_3_3_2_2_and_4_7_3_1() {
        assert!(TopicName::new("a/b/c").is_ok());
        assert!(TopicName::new("/").is_ok());
        assert_eq!(TopicName::new(""), Err(TopicError::Empty));
        assert_eq!(TopicName::new("a/+"), Err(TopicError::WildcardInName));
        assert_eq!(TopicName::new("a/#"), Err(TopicError::WildcardInName));
        assert_eq!(TopicName::new("a\0b"), Err(TopicError::NullCharacter));
        assert_eq!(TopicName::new("x".repeat(65536)), Err(TopicError::TooLong));
        assert!(TopicName::new("x".repeat(65535)).is_ok());
        assert!(TopicName::empty().is_empty());
    }

    #[test]
    fn topic_filter_rules_mqtt_4_7_1_2_and_4_7_1_3() {
        for ok in [
            "#", "+", "a/#", "+/+", "a/+/b", "/+", "+/", "$SYS/#", "a//b",
        ] {
            assert!(TopicFilter::new(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            TopicFilter::new("a/#/b"),
            Err(TopicError::MultiLevelWildcard)
        );
        assert_eq!(TopicFilter::new("a#"), Err(TopicError::MultiLevelWildcard));
        assert_eq!(
            TopicFilter::new("a/b#"),
            Err(TopicError::MultiLevelWildcard)
        );
        assert_eq!(TopicFilter::new("a+"), Err(TopicError::SingleLevelWildcard));
        assert_eq!(
            TopicFilter::new("a/+b"),
            Err(TopicError::SingleLevelWildcard)
        );
        assert_eq!(TopicFilter::new(""), Err(TopicError::Empty));
    }

    #[test]
    fn shared_filters_mqtt_4_8_2_1() {
        let f = TopicFilter::new("$share/g1/sensors/+").unwrap();
        assert_eq!(f.shared(), Some(("g1", "sensors/+")));
        assert!(f.matches("sensors/t"));
        assert!(!f.matches("$share/g1/sensors/t"));
        assert!(f.has_wildcards());
        for bad in [
            "$share/g1",
            "$share//a",
            "$share/g+/a",
            "$share/g#/a",
            "$share/g/",
        ] {
            assert_eq!(
                TopicFilter::new(bad),
                Err(TopicError::InvalidShare),
                "{bad}"
            );
        }
        assert_eq!(
            TopicFilter::new("$share/g/a#"),
            Err(TopicError::MultiLevelWildcard)
        );
        assert_eq!(TopicFilter::new("a").unwrap().shared(), None);
        assert!(topic_matches("$share/g/a/#", "a/b"));
    }

    #[test]
    fn matching_section_4_7_1() {
        let cases = [
            ("sport/tennis/player1/#", "sport/tennis/player1", true),
            (
                "sport/tennis/player1/#",
                "sport/tennis/player1/ranking",
                true,
            ),
            (
                "sport/tennis/player1/#",
                "sport/tennis/player1/score/wimbledon",
                true,
            ),
            ("sport/#", "sport", true),
            ("#", "a/b/c", true),
            ("sport/tennis/+", "sport/tennis/player1", true),
            ("sport/tennis/+", "sport/tennis/player1/ranking", false),
            ("sport/+", "sport", false),
            ("sport/+", "sport/", true),
            ("+/+", "/finance", true),
            ("/+", "/finance", true),
            ("+", "/finance", false),
            ("a/b", "a/b", true),
            ("a/b", "a/b/c", false),
            ("a/b/c", "a/b", false),
            ("A", "a", false),
        ];
        for (f, t, want) in cases {
            assert_eq!(topic_matches(f, t), want, "{f} vs {t}");
        }
    }

    #[test]
    fn dollar_topics_mqtt_4_7_2_1() {
        assert!(!topic_matches("#", "$SYS/uptime"));
        assert!(!topic_matches("+/uptime", "$SYS/uptime"));
        assert!(topic_matches("$SYS/#", "$SYS/uptime"));
        assert!(topic_matches("$SYS/+", "$SYS/uptime"));
        let f = TopicFilter::new("#").unwrap();
        assert!(!f.matches("$SYS"));
        assert!(f.matches("SYS"));
    }
}
