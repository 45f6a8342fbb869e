//! Retained messages, one per topic (section 3.3.1.3), in a topic-level tree so a SUBSCRIBE
//! only visits the part of the tree its filter can match.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::Arc;
use std::time::Instant;

use bytestring::ByteString;

use crate::store::Message;

#[derive(Debug, Default)]
struct Node {
    children: HashMap<ByteString, Node>,
    message: Option<Arc<Message>>,
}

impl Node {
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.children.is_empty() && self.message.is_none()
    }
}

impl Drop for Node {
    /// Frees a subtree without recursion: topics have as many levels as a client sends `/`,
    /// and the derived drop recursed once per level (a 60,000-level retained topic aborted
    /// the broker when its branch was freed).
    fn drop(&mut self) {
        if self.children.is_empty() {
            return;
        }
        let mut stack: Vec<Node> = self.children.drain().map(|(_, n)| n).collect();
        while let Some(mut node) = stack.pop() {
            stack.extend(node.children.drain().map(|(_, n)| n));
        }
    }
}

/// The in-memory retained store. Every walk is iterative (see `Drop for Node`). Topics are
/// also kept sorted, for paging in the admin API without walking the whole tree.
#[derive(Debug, Default)]
pub struct RetainedStore {
    root: Node,
    count: usize,
    bytes: usize,
    by_topic: BTreeMap<ByteString, Arc<Message>>,
}

impl RetainedStore {
    /// Stores `msg` as the retained message of its topic, replacing any previous one
    /// [MQTT-3.3.1-5]; an empty payload deletes it instead and is not stored
    /// [MQTT-3.3.1-10, MQTT-3.3.1-11].
    pub fn set(&mut self, msg: &Arc<Message>) {
        if msg.payload.is_empty() {
            self.remove(&msg.topic);
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
        self.by_topic
            .insert(msg.topic.as_bytestring().clone(), Arc::clone(msg));
    }

    /// Retained messages in topic order whose topic starts with `prefix`, after the topic
    /// `after` (exclusive). Costs what is taken from it.
    pub fn page<'a>(
        &'a self,
        prefix: &'a str,
        after: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Arc<Message>> + 'a {
        let start = match after {
            Some(a) if a >= prefix => Bound::Excluded(a),
            _ => Bound::Included(prefix),
        };
        self.by_topic
            .range::<str, _>((start, Bound::Unbounded))
            .take_while(move |(t, _)| t.starts_with(prefix))
            .map(|(_, m)| m)
    }

    /// Removes the retained message of `topic`, pruning the branch it leaves empty: one
    /// read-only pass finds the deepest node that keeps other content, a second cuts below it.
    pub fn remove(&mut self, topic: &str) -> Option<Arc<Message>> {
        let mut node = &self.root;
        let mut keep = 0;
        for (depth, level) in topic.split('/').enumerate() {
            if node.children.len() > 1 || node.message.is_some() {
                keep = depth;
            }
            node = node.children.get(level)?;
        }
        node.message.as_ref()?;
        let prune = node.children.is_empty();
        let mut levels = topic.split('/');
        let mut node = &mut self.root;
        let old = if prune {
            for level in levels.by_ref().take(keep) {
                node = node.children.get_mut(level)?;
            }
            let mut branch = node.children.remove(levels.next()?)?;
            // The message sits at the end of a chain of otherwise empty nodes.
            let mut tip = &mut branch;
            for level in levels {
                tip = tip.children.get_mut(level)?;
            }
            tip.message.take()
        } else {
            for level in levels {
                node = node.children.get_mut(level)?;
            }
            node.message.take()
        };
        if let Some(m) = &old {
            self.count -= 1;
            self.bytes -= m.payload.len();
            self.by_topic.remove(topic);
        }
        old
    }

    /// Appends the retained messages whose topic matches `filter` (an inner filter, never
    /// `$share/...`). Expired ones are removed on the way [MQTT-3.3.2-5].
    pub fn matching(&mut self, filter: &str, now: Instant, out: &mut Vec<Arc<Message>>) {
        let levels: Vec<&str> = filter.split('/').collect();
        let mut expired = Vec::new();
        walk(&self.root, &levels, now, out, &mut expired);
        for topic in expired {
            self.remove(&topic);
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
    let mut stack: Vec<&Node> = node
        .children
        .iter()
        .filter(|(name, _)| !(skip_dollar && name.starts_with('$')))
        .map(|(_, child)| child)
        .collect();
    while let Some(node) = stack.pop() {
        visit(&node.message, now, out, expired);
        stack.extend(node.children.values());
    }
}

/// The messages matching the filter `levels`, with an explicit stack of (node, index of the
/// next filter level). At index 0 wildcards do not match `$` topics [MQTT-4.7.2-1].
fn walk(
    root: &Node,
    levels: &[&str],
    now: Instant,
    out: &mut Vec<Arc<Message>>,
    expired: &mut Vec<ByteString>,
) {
    let mut stack = vec![(root, 0)];
    while let Some((node, i)) = stack.pop() {
        let first = i == 0;
        let Some(level) = levels.get(i) else {
            visit(&node.message, now, out, expired);
            continue;
        };
        match *level {
            // The node's own message too: "sport/#" matches "sport" [MQTT-4.7.1-2]. (At the
            // root there is none: a topic has at least one level.)
            "#" => all(node, first, now, out, expired),
            "+" => stack.extend(
                node.children
                    .iter()
                    .filter(|(name, _)| !(first && name.starts_with('$')))
                    .map(|(_, child)| (child, i + 1)),
            ),
            level => {
                if let Some(child) = node.children.get(level) {
                    stack.push((child, i + 1));
                }
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

    /// A retained message on a 60,000-level topic, matched by `#` and `+/…`, deleted, and
    /// the store dropped: every walk used to recurse once per level and abort the broker.
    #[test]
    fn sixty_thousand_level_topic_without_recursion() {
        // A topic is at most 65,535 bytes [MQTT-1.5.4], so a deep one has short levels.
        let deep = "/".repeat(60_000) + "end";
        let mut store = RetainedStore::default();
        store.set(&msg(&deep, b"deep"));
        store.set(&msg("/x", b"near"));
        assert_eq!(
            topics(&mut store, "#"),
            vec![deep.clone(), "/x".to_string()]
        );
        assert_eq!(
            topics(&mut store, &("/".repeat(60_000) + "+")),
            vec![deep.clone()]
        );
        let plus = "+/".repeat(30_000) + "#";
        assert_eq!(topics(&mut store, &plus), vec![deep.clone()]);
        let mut all = Vec::new();
        store.all(Instant::now(), &mut all);
        assert_eq!(all.len(), 2);
        store.set(&msg(&deep, b""));
        assert_eq!(topics(&mut store, "#"), vec!["/x".to_string()]);
        assert_eq!(store.len(), 1);
        store.set(&msg(&deep, b"again"));
        drop(store);
    }

    #[test]
    fn delete_keeps_parents_and_siblings() {
        let mut store = RetainedStore::default();
        for t in ["a", "a/b", "a/b/c", "a/d"] {
            store.set(&msg(t, b"v"));
        }
        store.set(&msg("a/b/c", b""));
        assert_eq!(topics(&mut store, "#"), vec!["a", "a/b", "a/d"]);
        store.set(&msg("a", b""));
        assert_eq!(topics(&mut store, "a/#"), vec!["a/b", "a/d"]);
        store.set(&msg("a/b", b""));
        store.set(&msg("a/d", b""));
        store.set(&msg("nothing/here", b""));
        assert!(store.root.is_empty());
        assert_eq!((store.len(), store.bytes()), (0, 0));
    }
}
