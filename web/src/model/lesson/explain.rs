//! What each experiment observed, in the page's own words. Pure: the runner collects the
//! observations against the real broker; these functions decide what to say.

use tern_codec::topic_matches;

use super::WILDCARD_TOPICS;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The broker behaved as the lecture says.
    pub ok: bool,
    pub text: String,
}

fn out(ok: bool, text: String) -> Outcome {
    Outcome { ok, text }
}

/// Step 1: SUBSCRIBE's answer, and the message coming back with its round trip.
pub fn pubsub(topic: &str, granted: Option<u8>, echo: Option<(&str, u64)>) -> Outcome {
    let Some(q) = granted else {
        return out(
            false,
            format!("The broker did not grant the subscription to {topic}, so nothing can arrive."),
        );
    };
    match echo {
        Some((payload, ms)) => out(
            true,
            format!(
                "The page sent SUBSCRIBE for {topic}; the broker answered SUBACK, granting QoS {q}. Then the page published “{payload}” to the same topic (PUBLISH →). The broker forwarded it to every subscriber of that topic — here, the page itself (PUBLISH ←) — {ms} ms later. The publisher never knew who would receive it: that is the decoupling publish/subscribe gives."
            ),
        ),
        None => out(
            false,
            format!(
                "The subscription to {topic} was granted, but the message did not come back within 5 s."
            ),
        ),
    }
}

/// Step 2: for each filter, the (relative) topics that arrived.
pub fn wildcards(runs: &[(&str, Vec<String>)]) -> Outcome {
    let mut ok = true;
    let mut text = String::new();
    for (filter, got) in runs {
        let expected: Vec<&str> = WILDCARD_TOPICS
            .iter()
            .copied()
            .filter(|t| topic_matches(filter, t))
            .collect();
        let mut got_sorted: Vec<&str> = got.iter().map(String::as_str).collect();
        got_sorted.sort_unstable();
        let mut exp_sorted = expected.clone();
        exp_sorted.sort_unstable();
        let agrees = got_sorted == exp_sorted;
        ok &= agrees;
        let missed: Vec<&str> = WILDCARD_TOPICS
            .iter()
            .copied()
            .filter(|t| !got.iter().any(|g| g == t))
            .collect();
        text.push_str(&format!(
            "Subscribed to {filter}: {} of the 5 messages arrived ({}); not: {}. {}\n",
            got.len(),
            if got.is_empty() {
                "none".into()
            } else {
                got.join(", ")
            },
            if missed.is_empty() {
                "none".into()
            } else {
                missed.join(", ")
            },
            if agrees {
                "Exactly what the matching rules predict."
            } else {
                "That is not what the matching rules predict!"
            }
        ));
    }
    out(ok, text.trim_end().to_owned())
}

/// Step 3: per QoS, the packets seen in the trace while it ran (type, and whether the page
/// sent it). They are split into the page's own publish flow and the broker's delivery of
/// the message back to the page's subscription, which interleave on the wire.
pub fn qos(flows: &[(u8, Vec<(&str, bool)>)]) -> Outcome {
    const EXPECTED: [&[&str]; 3] = [
        &["PUBLISH"],
        &["PUBLISH", "PUBACK"],
        &["PUBLISH", "PUBREC", "PUBREL", "PUBCOMP"],
    ];
    let arrow = |t: &str, sent: bool| format!("{t} {}", if sent { "→" } else { "←" });
    let mut ok = true;
    let mut text = String::new();
    for (q, packets) in flows {
        // Which flow a packet belongs to follows from its type and direction: the page's
        // publish is PUBLISH →, PUBACK ←, PUBREC ←, PUBREL →, PUBCOMP ←.
        type Seen<'a> = Vec<&'a (&'a str, bool)>;
        let (ours, back): (Seen, Seen) = packets.iter().partition(|(t, sent)| {
            matches!(
                (*t, *sent),
                ("PUBLISH", true)
                    | ("PUBACK", false)
                    | ("PUBREC", false)
                    | ("PUBREL", true)
                    | ("PUBCOMP", false)
            )
        });
        let names: Vec<&str> = ours.iter().map(|p| p.0).collect();
        ok &= names == EXPECTED[usize::from(*q)];
        let ours: Vec<String> = ours.iter().map(|(t, s)| arrow(t, *s)).collect();
        let back: Vec<String> = back.iter().map(|(t, s)| arrow(t, *s)).collect();
        let meaning = match q {
            0 => "fire and forget: no acknowledgement",
            1 => "PUBACK confirms it; until then the sender would resend (duplicates possible)",
            _ => "PUBREC, PUBREL, PUBCOMP: two round trips so it is delivered exactly once",
        };
        text.push_str(&format!(
            "QoS {q}: {} — {meaning}. The delivery back to the page: {}.\n",
            ours.join(", "),
            if back.is_empty() {
                "none".into()
            } else {
                back.join(", ")
            }
        ));
    }
    text.push_str("The page's subscription is at QoS 2, so each message comes back at the QoS it was published with: the broker delivers at the lower of the two.");
    out(ok, text)
}

/// Step 4: what a new subscription got at once, and after the retained message was cleared.
pub fn retained(topic: &str, first: Option<(&str, bool)>, after_clear: Option<&str>) -> Outcome {
    match first {
        Some((payload, true)) => {
            let cleared = after_clear.is_none();
            out(
                cleared,
                format!(
                    "The page published “{payload}” to {topic} with RETAIN set while nobody was subscribed. Then it subscribed — and got it at once, marked retained: the broker had kept it as the topic's last known value. {}",
                    if cleared {
                        "After an empty retained message cleared it, a new subscription got nothing."
                    } else {
                        "But after the empty retained message, a new subscription still got one: the broker did not clear it."
                    }
                ),
            )
        }
        Some((_, false)) => out(
            false,
            "A message arrived, but without the RETAIN flag.".into(),
        ),
        None => out(
            false,
            format!("Subscribing to {topic} brought no retained message within 3 s."),
        ),
    }
}

/// Step 5: the will, and how long after the connection was cut it arrived.
pub fn will(topic: &str, got: Option<(&str, u64)>) -> Outcome {
    match got {
        Some((payload, ms)) => out(
            true,
            format!(
                "A second client connected with a will on {topic} (“{payload}”). The page then cut its connection without DISCONNECT, as a crash would. {ms} ms later the broker published the will, and the page — subscribed to {topic} — received it."
            ),
        ),
        None => out(
            false,
            format!("No will arrived on {topic} within 10 s of cutting the connection."),
        ),
    }
}

/// Step 6: a silent client with `keep_alive` seconds; how long until its will arrived.
pub fn keep_alive(keep_alive: u16, got_after_ms: Option<u64>, pings_seen: usize) -> Outcome {
    let limit = u64::from(keep_alive) * 1500;
    match got_after_ms {
        Some(ms) => out(
            ms + 500 >= limit && ms <= limit + 5_000,
            format!(
                "A second client connected with keep-alive {keep_alive} s, then sent nothing at all — no PINGREQ. The broker waited one and a half keep-alives ({} ms) and closed it: its will arrived {ms} ms after it went silent. Meanwhile this page kept its own connection alive{}.",
                limit,
                if pings_seen > 0 {
                    format!(" (the trace holds {pings_seen} PINGREQ/PINGRESP packets)")
                } else {
                    " (with other traffic, no ping was needed yet)".into()
                }
            ),
        ),
        None => out(
            false,
            format!(
                "The silent client was not dropped within {} s.",
                (limit + 5_000) / 1000
            ),
        ),
    }
}

/// Step 7: the returning client's CONNACK and what it received.
pub fn session(session_present: Option<bool>, got: Option<&str>) -> Outcome {
    match (session_present, got) {
        (Some(true), Some(payload)) => out(
            true,
            format!(
                "A second client connected with Clean Session off, subscribed at QoS 1 and disconnected. While it was away the page published “{payload}”. When it came back with the same client id, CONNACK said “session present”, and the broker delivered the message it had kept."
            ),
        ),
        (Some(true), None) => out(
            false,
            "The session was present, but the message sent while away did not arrive.".into(),
        ),
        (Some(false), _) => out(
            false,
            "The broker did not keep the session (CONNACK: session present = 0).".into(),
        ),
        (None, _) => out(false, "The second client could not reconnect.".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_are_checked_against_the_codec() {
        let ok = wildcards(&[
            (
                "house/+/main-light",
                vec![
                    "house/room1/main-light".into(),
                    "house/garage/main-light".into(),
                ],
            ),
            (
                "house/#",
                WILDCARD_TOPICS.iter().map(|t| t.to_string()).collect(),
            ),
        ]);
        assert!(ok.ok, "{}", ok.text);
        assert!(ok.text.contains("2 of the 5 messages arrived"));
        assert!(
            ok.text
                .contains("not: house/room1/alarm, house/main-door, house/room2/side-light")
        );
        let bad = wildcards(&[("house/+/main-light", vec!["house/room1/alarm".into()])]);
        assert!(!bad.ok && bad.text.contains("not what the matching rules predict"));
    }

    #[test]
    fn qos_flows_name_the_packets() {
        let o = qos(&[
            (0, vec![("PUBLISH", true), ("PUBLISH", false)]),
            (
                1,
                vec![
                    ("PUBLISH", true),
                    ("PUBACK", false),
                    ("PUBLISH", false),
                    ("PUBREC", true),
                ],
            ),
            (
                2,
                vec![
                    ("PUBLISH", true),
                    ("PUBREC", false),
                    ("PUBREL", true),
                    ("PUBCOMP", false),
                ],
            ),
        ]);
        assert!(o.ok, "{}", o.text);
        assert!(
            o.text
                .contains("QoS 2: PUBLISH →, PUBREC ←, PUBREL →, PUBCOMP ←")
        );
        assert!(!qos(&[(1, vec![("PUBLISH", true)])]).ok, "no PUBACK");
    }

    #[test]
    fn the_other_steps_say_what_happened() {
        assert!(
            pubsub("t", Some(0), Some(("hi", 12)))
                .text
                .contains("12 ms later")
        );
        assert!(!pubsub("t", None, None).ok);
        assert!(retained("r", Some(("21.5", true)), None).ok);
        assert!(!retained("r", Some(("21.5", true)), Some("21.5")).ok);
        assert!(will("w", Some(("gone", 40))).text.contains("40 ms later"));
        assert!(keep_alive(2, Some(3_100), 2).ok);
        assert!(
            !keep_alive(2, Some(100), 0).ok,
            "too early is not keep-alive"
        );
        assert!(session(Some(true), Some("x")).ok);
        assert!(!session(Some(false), None).ok);
    }
}
