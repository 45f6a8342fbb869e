//! "Does this filter match this topic?" — the codec's own validation and matching
//! ([`tern_codec::TopicFilter::matches`]), with the reason in words.

use tern_codec::{TopicFilter, TopicName};

/// The answer for a filter and a topic as typed.
pub fn check(filter: &str, topic: &str) -> (Option<bool>, String) {
    if filter.is_empty() || topic.is_empty() {
        return (None, "Type a topic filter and a topic.".into());
    }
    let f = match TopicFilter::new(filter) {
        Ok(f) => f,
        Err(e) => return (None, format!("Not a valid filter: {e}.")),
    };
    if let Err(e) = TopicName::new(topic) {
        return (None, format!("Not a valid topic name: {e}."));
    }
    let yes = f.matches(topic);
    let why = reason(filter, topic, yes);
    (Some(yes), why)
}

fn reason(filter: &str, topic: &str, yes: bool) -> String {
    let fl: Vec<&str> = filter.split('/').collect();
    let tl: Vec<&str> = topic.split('/').collect();
    if topic.starts_with('$') && (fl[0] == "+" || fl[0] == "#") {
        return "No: a filter starting with a wildcard does not match topics starting with $ ([MQTT-4.7.2-1]).".into();
    }
    if yes {
        return if filter.contains('#') {
            "Yes: # matches the level it stands for and everything below it.".into()
        } else if filter.contains('+') {
            "Yes: every + stands for exactly one level, and the other levels are equal.".into()
        } else {
            "Yes: the topic is exactly the filter.".into()
        };
    }
    for (i, f) in fl.iter().enumerate() {
        match (f, tl.get(i)) {
            (&"#", _) => break,
            (_, None) => {
                return format!(
                    "No: the topic has {} levels, the filter needs {}.",
                    tl.len(),
                    fl.len()
                );
            }
            (&"+", Some(_)) => {}
            (f, Some(t)) if f != t => {
                return format!(
                    "No: level {} is “{t}” in the topic but “{f}” in the filter (levels are case sensitive).",
                    i + 1
                );
            }
            _ => {}
        }
    }
    format!(
        "No: the topic has {} levels, the filter only {} (+ matches one level; # would match the rest).",
        tl.len(),
        fl.len()
    )
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn answers_with_the_reason_mqtt_4_7() {
        assert_eq!(check("house/#", "house/room1/alarm").0, Some(true));
        assert_eq!(
            check("house/+/main-light", "house/garage/main-light").0,
            Some(true)
        );
        let (m, why) = check("house/+/main-light", "house/room1/side-light");
        assert_eq!(m, Some(false));
        assert!(
            why.contains("level 3") && why.contains("side-light"),
            "{why}"
        );
        let (m, why) = check("house/+", "house/room1/alarm");
        assert_eq!(m, Some(false));
        assert!(why.contains("3 levels"), "{why}");
        assert_eq!(check("House/#", "house/x").0, Some(false), "case sensitive");
        let (m, why) = check("#", "$SYS/broker/uptime");
        assert_eq!(m, Some(false));
        assert!(why.contains("MQTT-4.7.2-1"));
        let (m, why) = check("house/#/x", "house/a");
        assert_eq!(m, None);
        assert!(why.contains("Not a valid filter"), "{why}");
        assert_eq!(
            check("a", "a/+").0,
            None,
            "wildcards are not allowed in topic names"
        );
        assert_eq!(check("", "a").0, None);
    }
}
