//! Topic-filter trie: one node per topic level. The wildcards `+` and `#` have dedicated
//! children, so matching costs one map lookup per visited node (the literal level) instead
//! of three (`#`, `+` and the level). Matching a topic walks at most the levels of the topic
//! (times the wildcard branches), so routing cost does not grow with the number of unrelated
//! subscriptions.
//!
//! Shared subscriptions (`$share/{group}/{filter}`, section 4.8.2) live at the node of their
//! inner filter, one group per share name; each message goes to one member, round robin
//! (section 4.8.2: each message goes to only one session of the group).

use std::collections::HashMap;
use std::num::NonZeroU32;

use bytestring::ByteString;
use tern_codec::{QoS, SubscriptionOptions};

use super::message::SessionKey;

/// Literal topic levels → child node. foldhash instead of std's SipHash (8 % of fan-in CPU
/// in the profile): it is seeded per process at random, so colliding levels cannot be
/// precomputed by a client; not cryptographic, which a routing table does not need.
type Children = HashMap<ByteString, Node, foldhash::fast::RandomState>;

/// A subscription of one session, as stored in the trie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscriber {
    pub key: SessionKey,
    pub options: SubscriptionOptions,
    pub id: Option<NonZeroU32>,
}

/// One matching subscription, produced by [`SubscriptionTree::matches`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    pub key: SessionKey,
    pub qos: QoS,
    pub retain_as_published: bool,
    pub no_local: bool,
    pub id: Option<NonZeroU32>,
    /// Came from a shared subscription: delivered separately, never merged.
    pub shared: bool,
}

#[derive(Debug, Default)]
struct SharedGroup {
    name: ByteString,
    members: Vec<Subscriber>,
    next: usize,
}

#[derive(Debug, Default)]
struct Node {
    /// Literal levels only; never `+` or `#`.
    children: Children,
    /// The `+` child: matches exactly one level [MQTT-4.7.1-3].
    plus: Option<Box<Node>>,
    /// The `#` child: matches this level and everything below [MQTT-4.7.1-2].
    hash: Option<Box<Node>>,
    subscribers: Vec<Subscriber>,
    shared: Vec<SharedGroup>,
}

impl Node {
    fn is_empty(&self) -> bool {
        self.children.is_empty()
            && self.plus.is_none()
            && self.hash.is_none()
            && self.subscribers.is_empty()
            && self.shared.is_empty()
    }

    /// The child for filter level `level`, created when missing.
    fn child_or_insert(&mut self, level: &str) -> &mut Node {
        match level {
            "+" => self.plus.get_or_insert_with(Box::default),
            "#" => self.hash.get_or_insert_with(Box::default),
            _ => self.children.entry(ByteString::from(level)).or_default(),
        }
    }
}

/// All subscriptions of all sessions.
#[derive(Debug, Default)]
pub struct SubscriptionTree {
    root: Node,
    count: usize,
}

/// Splits `$share/group/filter` into `(Some(group), filter)`, anything else into `(None, s)`.
pub fn split_shared(filter: &str) -> (Option<&str>, &str) {
    match filter
        .strip_prefix("$share/")
        .and_then(|r| r.split_once('/'))
    {
        Some((group, inner)) => (Some(group), inner),
        None => (None, filter),
    }
}

impl SubscriptionTree {
    /// Number of stored subscriptions (for `$SYS/broker/subscriptions/count`).
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Adds or replaces the subscription of `sub.key` to `filter`. Returns `true` when it
    /// replaced an existing one [MQTT-3.8.4-3].
    pub fn insert(&mut self, filter: &str, sub: Subscriber) -> bool {
        let (group, inner) = split_shared(filter);
        let mut node = &mut self.root;
        for level in inner.split('/') {
            node = node.child_or_insert(level);
        }
        let list = match group {
            None => &mut node.subscribers,
            Some(name) => {
                let idx = match node.shared.iter().position(|g| g.name == name) {
                    Some(i) => i,
                    None => {
                        node.shared.push(SharedGroup {
                            name: ByteString::from(name),
                            ..SharedGroup::default()
                        });
                        node.shared.len() - 1
                    }
                };
                &mut node.shared[idx].members
            }
        };
        match list.iter_mut().find(|s| s.key == sub.key) {
            Some(existing) => {
                *existing = sub;
                true
            }
            None => {
                list.push(sub);
                self.count += 1;
                false
            }
        }
    }

    /// Removes the subscription of `key` to `filter`; `false` if there was none.
    pub fn remove(&mut self, filter: &str, key: SessionKey) -> bool {
        let (group, inner) = split_shared(filter);
        let levels: Vec<&str> = inner.split('/').collect();
        let removed = remove_rec(&mut self.root, &levels, group, key);
        if removed {
            self.count -= 1;
        }
        removed
    }

    /// Appends every subscription matching `topic` to `out`. For shared groups one member is
    /// chosen round robin, preferring members for which `online` is true.
    pub fn matches(
        &mut self,
        topic: &str,
        online: &dyn Fn(SessionKey) -> bool,
        out: &mut Vec<Match>,
    ) {
        // Filters starting with a wildcard do not match topics starting with '$' [MQTT-4.7.2-1].
        let dollar = topic.starts_with('$');
        walk(&mut self.root, Some(topic), !dollar, online, out);
    }
}

fn remove_rec(node: &mut Node, levels: &[&str], group: Option<&str>, key: SessionKey) -> bool {
    let Some((first, rest)) = levels.split_first() else {
        return match group {
            None => remove_from(&mut node.subscribers, key),
            Some(name) => {
                let Some(gi) = node.shared.iter().position(|g| g.name == name) else {
                    return false;
                };
                let removed = remove_from(&mut node.shared[gi].members, key);
                if node.shared[gi].members.is_empty() {
                    node.shared.swap_remove(gi);
                }
                removed
            }
        };
    };
    // Prune children left empty, so the trie only holds live filters.
    match *first {
        "+" | "#" => {
            let slot = if *first == "+" {
                &mut node.plus
            } else {
                &mut node.hash
            };
            let Some(child) = slot.as_deref_mut() else {
                return false;
            };
            let removed = remove_rec(child, rest, group, key);
            if child.is_empty() {
                *slot = None;
            }
            removed
        }
        level => {
            let Some(child) = node.children.get_mut(level) else {
                return false;
            };
            let removed = remove_rec(child, rest, group, key);
            if child.is_empty() {
                node.children.remove(level);
            }
            removed
        }
    }
}

fn remove_from(list: &mut Vec<Subscriber>, key: SessionKey) -> bool {
    match list.iter().position(|s| s.key == key) {
        Some(i) => {
            list.swap_remove(i);
            true
        }
        None => false,
    }
}

fn collect(node: &mut Node, online: &dyn Fn(SessionKey) -> bool, out: &mut Vec<Match>) {
    out.extend(node.subscribers.iter().map(|s| to_match(s, false)));
    for group in &mut node.shared {
        let n = group.members.len();
        if n == 0 {
            continue;
        }
        // Round robin, skipping members that are offline when an online one exists.
        let start = group.next % n;
        let pick = (0..n)
            .map(|i| (start + i) % n)
            .find(|&i| online(group.members[i].key))
            .unwrap_or(start);
        group.next = pick + 1;
        out.push(to_match(&group.members[pick], true));
    }
}

fn to_match(s: &Subscriber, shared: bool) -> Match {
    Match {
        key: s.key,
        qos: s.options.qos,
        retain_as_published: s.options.retain_as_published,
        no_local: s.options.no_local,
        id: s.id,
        shared,
    }
}

/// `rest` is the unmatched remainder of the topic (`None` once every level is consumed).
/// `wild_ok` is false only at the first level of a `$` topic.
fn walk(
    node: &mut Node,
    rest: Option<&str>,
    wild_ok: bool,
    online: &dyn Fn(SessionKey) -> bool,
    out: &mut Vec<Match>,
) {
    let Some(rest) = rest else {
        collect(node, online, out);
        // "sport/#" also matches "sport" [MQTT-4.7.1-2 non-normative example].
        if let Some(hash) = node.hash.as_deref_mut() {
            collect(hash, online, out);
        }
        return;
    };
    let (level, tail) = match rest.split_once('/') {
        Some((l, t)) => (l, Some(t)),
        None => (rest, None),
    };
    if wild_ok {
        if let Some(hash) = node.hash.as_deref_mut() {
            collect(hash, online, out);
        }
        if let Some(plus) = node.plus.as_deref_mut() {
            walk(plus, tail, true, online, out);
        }
    }
    // `children` holds literal levels only, so a topic level can never reach a wildcard's
    // node here; the emptiness check skips hashing at leaves and wildcard-only nodes.
    if !node.children.is_empty()
        && let Some(child) = node.children.get_mut(level)
    {
        walk(child, tail, true, online, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(k: u64, qos: QoS) -> Subscriber {
        Subscriber {
            key: SessionKey(k),
            options: SubscriptionOptions::new(qos),
            id: None,
        }
    }

    fn keys(t: &mut SubscriptionTree, topic: &str) -> Vec<u64> {
        let mut out = Vec::new();
        t.matches(topic, &|_| true, &mut out);
        let mut k: Vec<u64> = out.iter().map(|m| m.key.0).collect();
        k.sort_unstable();
        k
    }

    #[test]
    fn wildcards_match_per_mqtt_4_7() {
        let mut t = SubscriptionTree::default();
        t.insert("sport/tennis/+", sub(1, QoS::AtMostOnce));
        t.insert("sport/#", sub(2, QoS::AtMostOnce));
        t.insert("#", sub(3, QoS::AtMostOnce));
        t.insert("+/+", sub(4, QoS::AtMostOnce));
        t.insert("/+", sub(5, QoS::AtMostOnce));
        assert_eq!(keys(&mut t, "sport/tennis/player1"), vec![1, 2, 3]);
        assert_eq!(keys(&mut t, "sport"), vec![2, 3]);
        assert_eq!(keys(&mut t, "sport/tennis"), vec![2, 3, 4]);
        assert_eq!(keys(&mut t, "/finance"), vec![3, 4, 5]);
        assert_eq!(t.len(), 5);
    }

    #[test]
    fn dollar_topics_not_matched_by_leading_wildcards_mqtt_4_7_2_1() {
        let mut t = SubscriptionTree::default();
        t.insert("#", sub(1, QoS::AtMostOnce));
        t.insert("+/monitor/Clients", sub(2, QoS::AtMostOnce));
        t.insert("$SYS/#", sub(3, QoS::AtMostOnce));
        t.insert("$SYS/monitor/+", sub(4, QoS::AtMostOnce));
        assert_eq!(keys(&mut t, "$SYS/monitor/Clients"), vec![3, 4]);
        assert_eq!(keys(&mut t, "a/monitor/Clients"), vec![1, 2]);
    }

    #[test]
    fn replace_and_remove_prune() {
        let mut t = SubscriptionTree::default();
        assert!(!t.insert("a/b", sub(1, QoS::AtMostOnce)));
        assert!(t.insert("a/b", sub(1, QoS::ExactlyOnce)));
        assert_eq!(t.len(), 1);
        assert!(t.remove("a/b", SessionKey(1)));
        assert!(!t.remove("a/b", SessionKey(1)));
        assert!(t.root.is_empty());
        assert!(t.is_empty());
    }

    #[test]
    fn wildcard_children_pruned_on_remove() {
        let mut t = SubscriptionTree::default();
        t.insert("a/+/c/#", sub(1, QoS::AtMostOnce));
        t.insert("+/#", sub(2, QoS::AtMostOnce));
        t.insert("$share/g/+/b", sub(3, QoS::AtMostOnce));
        assert_eq!(keys(&mut t, "a/b/c"), vec![1, 2]);
        assert_eq!(keys(&mut t, "x/b"), vec![2, 3]);
        assert!(!t.remove("a/+/c", SessionKey(1)), "a different filter");
        assert!(t.remove("a/+/c/#", SessionKey(1)));
        assert!(t.remove("+/#", SessionKey(2)));
        assert!(t.remove("$share/g/+/b", SessionKey(3)));
        assert!(t.root.is_empty(), "{:?}", t.root);
    }

    #[test]
    fn plus_matches_exactly_one_level_including_empty_mqtt_4_7_1_3() {
        let mut t = SubscriptionTree::default();
        t.insert("sport/+", sub(1, QoS::AtMostOnce));
        t.insert("+", sub(2, QoS::AtMostOnce));
        t.insert("sport/+/+", sub(3, QoS::AtMostOnce));
        assert_eq!(keys(&mut t, "sport"), vec![2]);
        assert_eq!(keys(&mut t, "sport/"), vec![1]);
        assert_eq!(keys(&mut t, "sport/a/"), vec![3]);
        assert_eq!(keys(&mut t, "sport/a/b/c"), Vec::<u64>::new());
        assert_eq!(keys(&mut t, "$SYS"), Vec::<u64>::new(), "[MQTT-4.7.2-1]");
    }

    #[test]
    fn shared_group_round_robin_mqtt_4_8_2() {
        let mut t = SubscriptionTree::default();
        t.insert("$share/g/a/+", sub(1, QoS::AtMostOnce));
        t.insert("$share/g/a/+", sub(2, QoS::AtMostOnce));
        t.insert("$share/h/a/+", sub(3, QoS::AtMostOnce));
        let mut seen = Vec::new();
        for _ in 0..4 {
            let mut out = Vec::new();
            t.matches("a/x", &|_| true, &mut out);
            assert_eq!(out.len(), 2, "one member per group");
            assert!(out.iter().all(|m| m.shared));
            seen.extend(out.iter().map(|m| m.key.0).filter(|k| *k != 3));
        }
        assert_eq!(seen, vec![1, 2, 1, 2]);
        // Offline members are skipped while an online one exists.
        let mut out = Vec::new();
        t.matches("a/x", &|k| k.0 != 1, &mut out);
        assert!(out.iter().any(|m| m.key.0 == 2));
        assert!(t.remove("$share/g/a/+", SessionKey(1)));
        assert!(t.remove("$share/g/a/+", SessionKey(2)));
        assert_eq!(keys(&mut t, "a/x"), vec![3]);
    }
}
