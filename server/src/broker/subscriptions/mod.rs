//! Topic-filter trie: one node per topic level. The wildcards `+` and `#` have dedicated
//! children, so matching costs one map lookup per visited node (the literal level) instead
//! of three (`#`, `+` and the level). Matching a topic walks at most the levels of the topic
//! (times the wildcard branches), so routing cost does not grow with the number of unrelated
//! subscriptions.
//!
//! Shared subscriptions (`$share/{group}/{filter}`, section 4.8.2) live at the node of their
//! inner filter, one group per share name; each message goes to one member, round robin
//! (section 4.8.2: each message goes to only one session of the group).
//!
//! Nothing here recurses: the depth of the trie is chosen by clients (one level per `/`),
//! and a recursive walk or drop of a 60,000-level filter overflowed the worker's stack and
//! aborted the whole process. Matching uses an explicit stack, removal finds the branch to
//! prune in one pass and cuts it in a second, and [`Node`]'s `Drop` flattens the subtree it
//! frees. `max_topic_levels` (see `limits.rs`) keeps depths sane on top of that.
//!
//! The subscribers of a node, and the members of a shared group, are insertion-ordered hash
//! maps keyed by session: a hot filter with 100,000 subscribers adds and removes one in
//! O(1) (a `Vec` searched by key was linear), while routing still iterates a dense array.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::num::NonZeroU32;

use bytestring::ByteString;
use indexmap::IndexMap;
use smallvec::SmallVec;
use tern_codec::{QoS, SubscriptionOptions};

use crate::store::KeyHasher;
use crate::store::SessionKey;

/// Literal topic levels → child node. foldhash instead of std's SipHash (8 % of fan-in CPU
/// in the profile): it is seeded per process at random, so colliding levels cannot be
/// precomputed by a client; not cryptographic, which a routing table does not need.
type Children = HashMap<ByteString, Node, foldhash::fast::RandomState>;

/// Session → its options at one node, in insertion order (swap-removed).
type Members = IndexMap<SessionKey, Granted, BuildHasherDefault<KeyHasher>>;

/// Share name → group at one node.
type Groups = IndexMap<ByteString, SharedGroup, foldhash::fast::RandomState>;

/// A subscription of one session, as stored in the trie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscriber {
    pub key: SessionKey,
    pub options: SubscriptionOptions,
    pub id: Option<NonZeroU32>,
}

/// What a node keeps per subscribing session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Granted {
    options: SubscriptionOptions,
    id: Option<NonZeroU32>,
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
    members: Members,
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
    subscribers: Members,
    shared: Groups,
}

impl Node {
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.child_count() == 0 && self.subscribers.is_empty() && self.shared.is_empty()
    }

    fn child_count(&self) -> usize {
        self.children.len() + usize::from(self.plus.is_some()) + usize::from(self.hash.is_some())
    }

    fn child(&self, level: &str) -> Option<&Node> {
        match level {
            "+" => self.plus.as_deref(),
            "#" => self.hash.as_deref(),
            _ => self.children.get(level),
        }
    }

    fn child_mut(&mut self, level: &str) -> Option<&mut Node> {
        match level {
            "+" => self.plus.as_deref_mut(),
            "#" => self.hash.as_deref_mut(),
            _ => self.children.get_mut(level),
        }
    }

    /// The child for filter level `level`, created when missing.
    fn child_or_insert(&mut self, level: &str) -> &mut Node {
        match level {
            "+" => self.plus.get_or_insert_with(Box::default),
            "#" => self.hash.get_or_insert_with(Box::default),
            _ => self.children.entry(ByteString::from(level)).or_default(),
        }
    }

    /// Cuts off the child for `level` (freed by the caller, iteratively).
    fn remove_child(&mut self, level: &str) -> Option<Node> {
        match level {
            "+" => self.plus.take().map(|b| *b),
            "#" => self.hash.take().map(|b| *b),
            _ => self.children.remove(level),
        }
    }

    /// The members list for `group` (`None` = plain subscribers).
    fn members(&self, group: Option<&str>) -> Option<&Members> {
        match group {
            None => Some(&self.subscribers),
            Some(name) => self.shared.get(name).map(|g| &g.members),
        }
    }

    /// Moves every child into `out`, leaving this node without children.
    fn detach_children(&mut self, out: &mut Vec<Node>) {
        out.extend(self.children.drain().map(|(_, n)| n));
        out.extend(self.plus.take().map(|b| *b));
        out.extend(self.hash.take().map(|b| *b));
    }
}

impl Drop for Node {
    /// Frees a subtree without recursion (the derived drop recurses once per level).
    fn drop(&mut self) {
        if self.child_count() == 0 {
            return;
        }
        let mut stack = Vec::new();
        self.detach_children(&mut stack);
        while let Some(mut node) = stack.pop() {
            node.detach_children(&mut stack);
            // `node` drops here with no children left.
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

/// A node waiting to be visited by [`SubscriptionTree::matches`]: the unmatched rest of the
/// topic (`None` once every level is consumed) and whether wildcards may match the next
/// level (false only at the first level of a `$` topic [MQTT-4.7.2-1]). Sixteen entries
/// live on the stack; only topics with many wildcard branches spill to the heap.
type Pending<'t, 's> = SmallVec<[(&'t mut Node, Option<&'s str>, bool); 16]>;

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
                &mut node
                    .shared
                    .entry(ByteString::from(name))
                    .or_default()
                    .members
            }
        };
        let granted = Granted {
            options: sub.options,
            id: sub.id,
        };
        let replaced = list.insert(sub.key, granted).is_some();
        if !replaced {
            self.count += 1;
        }
        replaced
    }

    /// Removes the subscription of `key` to `filter`; `false` if there was none. Nodes left
    /// empty are pruned, so the trie only holds live filters.
    pub fn remove(&mut self, filter: &str, key: SessionKey) -> bool {
        let (group, inner) = split_shared(filter);
        // Pass 1, read-only: find the subscription and the deepest node on the path that
        // keeps other content; everything below it dies with this subscription.
        let mut node = &self.root;
        let mut keep = 0;
        for (depth, level) in inner.split('/').enumerate() {
            if node.child_count() > 1 || !node.subscribers.is_empty() || !node.shared.is_empty() {
                keep = depth;
            }
            let Some(child) = node.child(level) else {
                return false;
            };
            node = child;
        }
        if !node.members(group).is_some_and(|m| m.contains_key(&key)) {
            return false;
        }
        let last_content = node.child_count() == 0
            && match group {
                None => node.subscribers.len() == 1 && node.shared.is_empty(),
                Some(_) => {
                    node.subscribers.is_empty()
                        && node.shared.len() == 1
                        && node.members(group).is_some_and(|m| m.len() == 1)
                }
            };
        self.count -= 1;
        // Pass 2: cut the dead branch, or remove just the one entry.
        let mut levels = inner.split('/');
        let mut node = &mut self.root;
        if last_content {
            for level in levels.by_ref().take(keep) {
                let Some(child) = node.child_mut(level) else {
                    return true;
                };
                node = child;
            }
            if let Some(level) = levels.next() {
                drop(node.remove_child(level));
            }
            return true;
        }
        for level in levels {
            let Some(child) = node.child_mut(level) else {
                return true;
            };
            node = child;
        }
        match group {
            None => {
                node.subscribers.swap_remove(&key);
            }
            Some(name) => {
                if let Some(g) = node.shared.get_mut(name) {
                    g.members.swap_remove(&key);
                    if g.members.is_empty() {
                        node.shared.swap_remove(name);
                    }
                }
            }
        }
        true
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
        let mut pending: Pending<'_, '_> = SmallVec::new();
        pending.push((&mut self.root, Some(topic), !dollar));
        while let Some((node, rest, wild_ok)) = pending.pop() {
            let Some(rest) = rest else {
                collect(node, online, out);
                // "sport/#" also matches "sport" [MQTT-4.7.1-2 non-normative example].
                if let Some(hash) = node.hash.as_deref_mut() {
                    collect(hash, online, out);
                }
                continue;
            };
            let (level, tail) = match rest.split_once('/') {
                Some((l, t)) => (l, Some(t)),
                None => (rest, None),
            };
            let Node {
                children,
                plus,
                hash,
                ..
            } = node;
            if wild_ok {
                if let Some(hash) = hash.as_deref_mut() {
                    collect(hash, online, out);
                }
                if let Some(plus) = plus.as_deref_mut() {
                    pending.push((plus, tail, true));
                }
            }
            // `children` holds literal levels only, so a topic level can never reach a
            // wildcard's node here; the emptiness check skips hashing at leaves and
            // wildcard-only nodes.
            if !children.is_empty()
                && let Some(child) = children.get_mut(level)
            {
                pending.push((child, tail, true));
            }
        }
    }
}

impl SubscriptionTree {
    /// The node of `filter` itself (no wildcard expansion: `+` and `#` are its levels).
    fn node_mut(&mut self, filter: &str) -> Option<&mut Node> {
        let mut node = &mut self.root;
        for level in filter.split('/') {
            node = node.child_mut(level)?;
        }
        Some(node)
    }

    /// Appends the plain (non-shared) subscriptions to exactly `filter` (cluster: a message
    /// another node sent to this node's NATS subscription for that filter).
    pub fn exact(&mut self, filter: &str, out: &mut Vec<Match>) {
        if let Some(node) = self.node_mut(filter) {
            out.extend(node.subscribers.iter().map(|(k, g)| to_match(*k, g, false)));
        }
    }

    /// One member of `$share/{group}/{filter}` for which `online` is true, round robin
    /// (cluster: NATS already chose this node for the message).
    pub fn pick_member(
        &mut self,
        group: &str,
        filter: &str,
        online: &dyn Fn(SessionKey) -> bool,
    ) -> Option<Match> {
        let g = self.node_mut(filter)?.shared.get_mut(group)?;
        let n = g.members.len();
        let start = g.next % n.max(1);
        let pick = (0..n)
            .map(|i| (start + i) % n)
            .find(|&i| g.members.get_index(i).is_some_and(|(k, _)| online(*k)))?;
        g.next = pick + 1;
        g.members
            .get_index(pick)
            .map(|(k, granted)| to_match(*k, granted, true))
    }
}

fn collect(node: &mut Node, online: &dyn Fn(SessionKey) -> bool, out: &mut Vec<Match>) {
    out.extend(node.subscribers.iter().map(|(k, g)| to_match(*k, g, false)));
    for group in node.shared.values_mut() {
        let n = group.members.len();
        if n == 0 {
            continue;
        }
        // Round robin, skipping members that are offline when an online one exists.
        let start = group.next % n;
        let member = |i: usize| group.members.get_index(i);
        let pick = (0..n)
            .map(|i| (start + i) % n)
            .find(|&i| member(i).is_some_and(|(k, _)| online(*k)))
            .unwrap_or(start);
        if let Some((k, g)) = member(pick) {
            out.push(to_match(*k, g, true));
        }
        group.next = pick + 1;
    }
}

fn to_match(key: SessionKey, g: &Granted, shared: bool) -> Match {
    Match {
        key,
        qos: g.options.qos,
        retain_as_published: g.options.retain_as_published,
        no_local: g.options.no_local,
        id: g.id,
        shared,
    }
}

#[cfg(test)]
mod tests;
