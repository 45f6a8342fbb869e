//! Retained messages, one per topic (section 3.3.1.3), in a topic-level tree so a SUBSCRIBE
//! only visits the part of the tree its filter can match.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use bytestring::ByteString;

use crate::broker::Message;

#[derive(Debug, Default)]
struct Node {
    children: HashMap<ByteString, Node>,
    message: Option<Arc<Message>>,
}

impl Node {
    fn is_empty(&self) -> bool {
        self.children.is_empty() && self.message.is_none()
    }
}

/// The in-memory retained store. A durable implementation keeps the same methods.
#[derive(Debug, Default)]
pub struct RetainedStore {
    root: Node,
    count: usize,
    bytes: usize,
}

impl RetainedStore {
    /// Stores `msg` as the retained message of its topic, replacing any previous one
    /// [MQTT-3.3.1-5]; an empty payload deletes it instead and is not stored
    /// [MQTT-3.3.1-10, MQTT-3.3.1-11].
    pub fn set(&mut self, msg: &Arc<Message>) {
        if msg.payload.is_empty() {
            let levels: Vec<&str> = msg.topic.split('/').collect();
            if let Some(old) = remove_rec(&mut self.root, &levels) {
                self.count -= 1;
                self.bytes -= old.payload.len();
            }
            return;
        }
        // No allocation for levels that exist already (the common case: a topic updated
        // again and again).
        let mut node = &mut self.root;
        for level in msg.topic.split('/') {
            if !node.children.contains_key(level) {
                node.children
                    .insert(ByteString::from(level), Node::default());
            }
            let Some(next) = node.children.get_mut(level) else {
                return;
            };
            node = next;
        }
        match node.message.replace(Arc::clone(msg)) {
            Some(old) => self.bytes -= old.payload.len(),
            None => self.count += 1,
        }
        self.bytes += msg.payload.len();
    }

    /// Appends the retained messages whose topic matches `filter` (an inner filter, never
    /// `$share/...`). Expired ones are removed on the way [MQTT-3.3.2-5].
    pub fn matching(&mut self, filter: &str, now: Instant, out: &mut Vec<Arc<Message>>) {
        let levels: Vec<&str> = filter.split('/').collect();
        let mut expired = Vec::new();
        walk(&self.root, &levels, true, now, out, &mut expired);
        for topic in expired {
            let levels: Vec<&str> = topic.split('/').collect();
            if let Some(old) = remove_rec(&mut self.root, &levels) {
                self.count -= 1;
                self.bytes -= old.payload.len();
            }
        }
    }

    /// Every retained message not expired at `now`, `$` topics included (for snapshots).
    pub fn all(&self, now: Instant, out: &mut Vec<Arc<Message>>) {
        let mut expired = Vec::new();
        all(&self.root, false, now, out, &mut expired);
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Payload bytes held (for `$SYS/broker/store/messages/bytes`).
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

fn remove_rec(node: &mut Node, levels: &[&str]) -> Option<Arc<Message>> {
    let Some((first, rest)) = levels.split_first() else {
        return node.message.take();
    };
    let child = node.children.get_mut(*first)?;
    let removed = remove_rec(child, rest);
    if child.is_empty() {
        node.children.remove(*first);
    }
    removed
}

fn visit(
    msg: &Option<Arc<Message>>,
    now: Instant,
    out: &mut Vec<Arc<Message>>,
    expired: &mut Vec<ByteString>,
) {
    if let Some(m) = msg {
        if m.is_expired(now) {
            expired.push(m.topic.as_bytestring().clone());
        } else {
            out.push(Arc::clone(m));
        }
    }
}

/// Every message in the subtree (for `#`); `skip_dollar` at the root level [MQTT-4.7.2-1].
fn all(
    node: &Node,
    skip_dollar: bool,
    now: Instant,
    out: &mut Vec<Arc<Message>>,
    expired: &mut Vec<ByteString>,
) {
    visit(&node.message, now, out, expired);
    for (name, child) in &node.children {
        if !(skip_dollar && name.starts_with('$')) {
            all(child, false, now, out, expired);
        }
    }
}

/// `root` is true at the first level, where wildcards do not match `$` topics.
fn walk(
    node: &Node,
    levels: &[&str],
    root: bool,
    now: Instant,
    out: &mut Vec<Arc<Message>>,
    expired: &mut Vec<ByteString>,
) {
    let Some((first, rest)) = levels.split_first() else {
        visit(&node.message, now, out, expired);
        return;
    };
    match *first {
        "#" => {
            // "sport/#" matches "sport" itself too.
            if !root {
                visit(&node.message, now, out, expired);
            }
            for (name, child) in &node.children {
                if !(root && name.starts_with('$')) {
                    all(child, false, now, out, expired);
                }
            }
        }
        "+" => {
            for (name, child) in &node.children {
                if !(root && name.starts_with('$')) {
                    walk(child, rest, false, now, out, expired);
                }
            }
        }
        level => {
            if let Some(child) = node.children.get(level) {
                walk(child, rest, false, now, out, expired);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;
    use tern_codec::{QoS, TopicName, topic_matches};

    use super::*;

    fn msg(topic: &str, payload: &'static [u8]) -> Arc<Message> {
        Arc::new(Message {
            topic: TopicName::new(topic).unwrap(),
            payload: Bytes::from_static(payload),
            qos: QoS::AtMostOnce,
            retain: true,
            properties: None,
            origin: None,
            expires_at: None,
        })
    }

    fn topics(store: &mut RetainedStore, filter: &str) -> Vec<String> {
        let mut out = Vec::new();
        store.matching(filter, Instant::now(), &mut out);
        let mut t: Vec<String> = out.iter().map(|m| m.topic.to_string()).collect();
        t.sort();
        t
    }

    #[test]
    fn matches_like_topic_matches_for_every_filter() {
        let names = [
            "a", "a/b", "a/b/c", "a//c", "/a", "b/b", "$SYS/x", "$SYS/x/y", "a/$x",
        ];
        let mut store = RetainedStore::default();
        for n in names {
            store.set(&msg(n, b"p"));
        }
        assert_eq!(store.len(), names.len());
        let filters = [
            "#", "+", "+/+", "a/#", "a/+", "a/+/c", "+/b", "/+", "$SYS/#", "$SYS/+", "+/x",
            "a/b/c", "a//c", "a/+/+", "+/#",
        ];
        for f in filters {
            let mut expected: Vec<String> = names
                .iter()
                .filter(|n| topic_matches(f, n))
                .map(|n| n.to_string())
                .collect();
            expected.sort();
            assert_eq!(topics(&mut store, f), expected, "filter {f}");
        }
    }

    #[test]
    fn replace_delete_and_expire_keep_counts_mqtt_3_3_1_10() {
        let mut store = RetainedStore::default();
        store.set(&msg("x/y", b"one"));
        store.set(&msg("x/y", b"three"));
        assert_eq!((store.len(), store.bytes()), (1, 5));
        store.set(&msg("x/y", b""));
        assert_eq!((store.len(), store.bytes()), (0, 0));
        assert!(store.root.is_empty(), "empty branches pruned");

        let mut m = Message::clone(&msg("e/1", b"gone"));
        m.expires_at = Some(Instant::now() - Duration::from_secs(1));
        store.set(&Arc::new(m));
        assert!(topics(&mut store, "e/#").is_empty());
        assert_eq!(store.len(), 0);
    }
}
