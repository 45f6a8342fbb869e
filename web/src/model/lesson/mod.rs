//! The guided lesson: short steps that follow the introductory lecture (publish/subscribe
//! and topics, wildcards, QoS 0/1/2, retained messages, last will, keep-alive, persistent
//! sessions). Each step has one experiment the page runs against the connected broker
//! (the runner is `views::lesson::run`); [`explain`] turns what was observed into the
//! page's own words, and [`matcher`] is the live "does this filter match this topic?".

pub mod explain;
pub mod matcher;

/// Which experiment a step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Experiment {
    PubSub,
    Wildcards,
    Qos,
    Retained,
    Will,
    KeepAlive,
    Session,
}

pub struct Step {
    pub title: &'static str,
    /// Trusted static HTML (paragraphs), written here.
    pub text: &'static str,
    /// The one button's label.
    pub run: &'static str,
    pub experiment: Experiment,
}

pub const STEPS: [Step; 7] = [
    Step {
        title: "1. Publish and subscribe",
        text: "<p>Clients never talk to each other directly. A <b>publisher</b> sends a message about a <b>topic</b> to the <b>broker</b>; the broker hands it to every client <b>subscribed</b> to that topic. Topics are levels separated by <code>/</code>, like folders: <code>house/room1/main-light</code>. They are case sensitive and need no set-up: a topic exists as soon as someone publishes to it.</p>",
        run: "Subscribe, then publish to the same topic",
        experiment: Experiment::PubSub,
    },
    Step {
        title: "2. Wildcards: + and #",
        text: "<p>A subscription can use wildcards. <code>+</code> matches exactly one level: <code>house/+/main-light</code> covers <code>house/room1/main-light</code> and <code>house/garage/main-light</code> but not <code>house/room1/side-light</code>. <code>#</code> matches a whole sub-tree and must come last: <code>house/#</code> covers everything under <code>house</code>. Topics starting with <code>$</code> (like <code>$SYS</code>) are not matched by a leading wildcard. Try your own below.</p>",
        run: "Subscribe with wildcards and publish five topics",
        experiment: Experiment::Wildcards,
    },
    Step {
        title: "3. Quality of Service 0, 1 and 2",
        text: "<p>Each message is published with a <b>QoS</b>. <b>0, at most once</b>: fire and forget, one PUBLISH. <b>1, at least once</b>: the receiver answers PUBACK and the sender retries until it does (duplicates possible). <b>2, exactly once</b>: a second round trip — PUBREC, PUBREL, PUBCOMP — so a message is delivered once and only once. Open the <b>Trace</b> tab (or presenter mode with Trace) to watch the packets.</p>",
        run: "Publish one message at each QoS",
        experiment: Experiment::Qos,
    },
    Step {
        title: "4. Retained messages",
        text: "<p>A message published with the <b>retained</b> flag is kept by the broker, one per topic: whoever subscribes later gets it at once, as the last known good value, instead of waiting for the next update. Publishing an empty retained message removes it.</p>",
        run: "Publish retained, then subscribe",
        experiment: Experiment::Retained,
    },
    Step {
        title: "5. Last will and testament",
        text: "<p>When a client connects it may leave a <b>will</b>: a message the broker publishes for it if the connection ends without a proper DISCONNECT — a crash, a pulled cable. Other parts of the system learn at once that the node has gone.</p>",
        run: "Connect a second client with a will, then cut it off",
        experiment: Experiment::Will,
    },
    Step {
        title: "6. Keep-alive",
        text: "<p>In CONNECT the client states a <b>keep-alive</b> in seconds: the longest it will stay silent. With nothing else to send it sends a 2-byte PINGREQ and the broker answers PINGRESP. If the broker hears nothing for one and a half keep-alives, it closes the connection and publishes the client's will. 0 switches this off; the maximum is 18 h 12 min 15 s.</p>",
        run: "Connect a client with a 2-second keep-alive that goes silent",
        experiment: Experiment::KeepAlive,
    },
    Step {
        title: "7. Persistent sessions",
        text: "<p>A client that connects with <b>Clean Session</b> off asks the broker to keep its session under its client id: its subscriptions, and the QoS 1 and 2 messages that arrive while it is away. When it comes back, the broker says \u{201c}session present\u{201d} and delivers what it missed.</p>",
        run: "Subscribe, go away, publish, come back",
        experiment: Experiment::Session,
    },
];

/// The topics of one run: `tern-lesson/<run id>/…`, so experiments from several pages in a
/// class never see each other's messages.
pub fn base_topic(run_id: &str) -> String {
    format!("tern-lesson/{run_id}")
}

/// The five topics of the wildcard experiment (from the lecture's example).
pub const WILDCARD_TOPICS: [&str; 5] = [
    "house/room1/main-light",
    "house/room1/alarm",
    "house/garage/main-light",
    "house/main-door",
    "house/room2/side-light",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_steps_follow_the_lecture() {
        let titles: Vec<&str> = STEPS.iter().map(|s| s.title).collect();
        for (i, word) in [
            "ublish",
            "ildcard",
            "Quality of Service",
            "etained",
            "will",
            "eep-alive",
            "ersistent",
        ]
        .iter()
        .enumerate()
        {
            assert!(titles[i].contains(word), "{}", titles[i]);
        }
        assert!(
            STEPS
                .iter()
                .all(|s| !s.run.is_empty() && s.text.starts_with("<p>"))
        );
        assert_eq!(base_topic("ab12"), "tern-lesson/ab12");
    }
}
