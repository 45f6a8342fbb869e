//! Topic and filter comparisons for ACL checks: does an ACL topic match a topic name, does
//! it cover every topic of a subscription filter, can two filters match a common topic.
//!
//! In all three, a filter whose first level is a wildcard never matches a topic starting
//! with `$` [MQTT-4.7.2-1], so `topic read #` does not grant `$SYS/...`: only an ACL topic
//! that itself starts with `$` does (Mosquitto applies the same rule).

/// Whether `filter` starts with a wildcard level (and so cannot match `$` topics).
fn wild_first(filter: &str) -> bool {
    matches!(filter.split('/').next(), Some("+" | "#"))
}

/// `filter` (an ACL topic, possibly with `+` / `#`) matches the topic name `topic`
/// [MQTT-4.7.1-2, MQTT-4.7.1-3].
pub fn matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && wild_first(filter) {
        return false;
    }
    let (mut f, mut t) = (filter.split('/'), topic.split('/'));
    loop {
        match (f.next(), t.next()) {
            // `#` also matches the parent level: `a/#` matches `a` [MQTT-4.7.1-2].
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Every topic that `sub` (a subscription filter) matches is also matched by `acl`.
pub fn covers(acl: &str, sub: &str) -> bool {
    if sub.starts_with('$') && wild_first(acl) {
        return false;
    }
    let (mut a, mut s) = (acl.split('/'), sub.split('/'));
    loop {
        match (a.next(), s.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(x)) if x != "#" => {}
            (Some(x), Some(y)) if x == y && x != "#" && x != "+" => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Some topic name is matched by both filters.
pub fn intersects(a: &str, b: &str) -> bool {
    if (a.starts_with('$') && wild_first(b)) || (b.starts_with('$') && wild_first(a)) {
        return false;
    }
    let (mut x, mut y) = (a.split('/'), b.split('/'));
    loop {
        match (x.next(), y.next()) {
            (Some("#"), _) | (_, Some("#")) => return true,
            (Some("+"), Some(_)) | (Some(_), Some("+")) => {}
            (Some(p), Some(q)) if p == q => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// A valid topic filter: `#` only as a whole, last level; `+` only as a whole level
/// [MQTT-4.7.1-2, MQTT-4.7.1-3]; not empty, no NUL [MQTT-4.7.3-1, MQTT-4.7.3-2].
pub fn valid_filter(filter: &str) -> bool {
    if filter.is_empty() || filter.contains('\0') {
        return false;
    }
    let mut levels = filter.split('/').peekable();
    while let Some(level) = levels.next() {
        let last = levels.peek().is_none();
        if (level.contains('#') && (level != "#" || !last)) || (level.contains('+') && level != "+")
        {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_as_in_subscriptions_mqtt_4_7_1_2_and_4_7_1_3() {
        assert!(matches("a/b", "a/b"));
        assert!(!matches("a/b", "a/c"));
        assert!(matches("a/+", "a/b"));
        assert!(!matches("a/+", "a/b/c"));
        assert!(matches("a/+", "a/"));
        assert!(matches("a/#", "a"));
        assert!(matches("a/#", "a/b/c"));
        assert!(matches("#", "x/y"));
        assert!(matches("+/+", "/x"));
        assert!(!matches("a/b", "a/b/c"));
        assert!(!matches("a/b/c", "a/b"));
    }

    #[test]
    fn wildcard_first_level_never_matches_dollar_topics_mqtt_4_7_2_1() {
        assert!(!matches("#", "$SYS/broker/uptime"));
        assert!(!matches("+/broker/uptime", "$SYS/broker/uptime"));
        assert!(matches("$SYS/#", "$SYS/broker/uptime"));
        assert!(!covers("#", "$SYS/#"));
        assert!(!intersects("#", "$SYS/#"));
        assert!(intersects("$SYS/#", "$SYS/broker/+"));
    }

    #[test]
    fn covers_means_every_topic_of_the_subscription() {
        assert!(covers("a/#", "a/#"));
        assert!(covers("a/#", "a/b/+"));
        assert!(covers("a/#", "a"));
        assert!(covers("#", "x/#"));
        assert!(covers("a/+", "a/+"));
        assert!(covers("a/+", "a/b"));
        assert!(!covers("a/+", "a/#"));
        assert!(!covers("a/b", "a/+"));
        assert!(!covers("a", "a/#"));
        assert!(!covers("a/b", "#"));
    }

    #[test]
    fn intersects_when_some_topic_matches_both() {
        assert!(intersects("#", "a/b"));
        assert!(intersects("a/b", "#"));
        assert!(intersects("a/+", "+/b"));
        assert!(intersects("a/#", "a"));
        assert!(!intersects("a/+", "b/+"));
        assert!(!intersects("+", "a/b"));
        assert!(!intersects("a/b/c", "a/b"));
    }

    #[test]
    fn filter_validity() {
        for ok in ["a", "#", "a/#", "+/+", "a/+/c", "/", "%c/x", "$SYS/#"] {
            assert!(valid_filter(ok), "{ok}");
        }
        for bad in ["", "a#", "a/#/b", "a+", "+a/b", "a/b#", "a\0b"] {
            assert!(!valid_filter(bad), "{bad}");
        }
    }
}
