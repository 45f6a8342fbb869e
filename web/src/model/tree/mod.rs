//! The topic tree: every topic seen on the page's subscriptions as a hierarchy of levels,
//! with counts, rates, the retained flag and the last values of each topic. Memory is
//! bounded by these caps (documented in web/README.md):
//!
//! * [`MAX_NODES`] levels (a topic `a/b/c` is three levels, shared with its neighbours);
//!   messages to topics beyond it are counted in [`TopicTree::over_cap`], not stored;
//! * [`HISTORY`] values per topic, each cut to [`VALUE_BYTES`];
//! * [`MAX_VALUE_BYTES`] and [`MAX_VALUES`] for all kept values together: beyond them the
//!   oldest values in the whole tree go first (a topic quiet for long may lose even its
//!   last value, and then says so).
//!
//! [`rows`] flattens what is expanded (or what matches a search) for the virtualised view.

pub mod details;
pub mod node;
pub mod render;
pub mod rows;

use std::collections::VecDeque;

use bytes::Bytes;
use tern_codec::QoS;

pub use node::{Node, NodeId, Value};

pub const MAX_NODES: usize = 50_000;
pub const HISTORY: usize = 20;
pub const VALUE_BYTES: usize = 8 * 1024;
pub const MAX_VALUE_BYTES: usize = 32 * 1024 * 1024;
pub const MAX_VALUES: usize = 200_000;

/// The root is a level without a name that holds the top levels.
const ROOT: NodeId = 0;

#[derive(Debug, Clone)]
pub struct TopicTree {
    nodes: Vec<Node>,
    topics: usize,
    messages: u64,
    over_cap: u64,
    /// Every kept value as (topic, seq), oldest first: the tree-wide eviction order.
    /// Entries whose value a topic already dropped are skipped when they come up.
    order: VecDeque<(NodeId, u64)>,
    value_bytes: usize,
    next_seq: u64,
    selected: Option<NodeId>,
}

impl Default for TopicTree {
    fn default() -> Self {
        TopicTree {
            nodes: vec![Node::new("", None, 0)],
            topics: 0,
            messages: 0,
            over_cap: 0,
            order: VecDeque::new(),
            value_bytes: 0,
            next_seq: 0,
            selected: None,
        }
    }
}

impl TopicTree {
    /// Records a message. Returns the topic's node, or `None` when the tree is full.
    pub fn insert(
        &mut self,
        topic: &str,
        payload: &Bytes,
        qos: QoS,
        retain: bool,
        now_ms: u64,
    ) -> Option<NodeId> {
        let Some(leaf) = self.find_or_create(topic) else {
            self.over_cap += 1;
            return None;
        };
        self.messages += 1;
        let first = self.nodes[leaf as usize].messages == 0;
        if first {
            self.topics += 1;
        }
        let mut at = Some(leaf);
        while let Some(id) = at {
            let n = &mut self.nodes[id as usize];
            n.subtree_messages += 1;
            if first {
                n.subtree_topics += 1;
            }
            at = n.parent;
        }
        self.next_seq += 1;
        let keep = payload.len().min(VALUE_BYTES);
        let value = Value {
            seq: self.next_seq,
            at_ms: now_ms,
            payload: payload.slice(..keep),
            size: payload.len(),
            qos,
            retain,
        };
        let n = &mut self.nodes[leaf as usize];
        n.messages += 1;
        n.last_at = now_ms;
        n.rate.hit(now_ms);
        // An empty payload is how a retained message is cleared ([MQTT-3.3.1-10]).
        n.retained = retain && !payload.is_empty();
        n.history.push_back(value);
        self.value_bytes += keep;
        self.order.push_back((leaf, self.next_seq));
        if n.history.len() > HISTORY
            && let Some(old) = n.history.pop_front()
        {
            self.value_bytes -= old.payload.len();
        }
        self.trim();
        Some(leaf)
    }

    fn trim(&mut self) {
        while self.value_bytes > MAX_VALUE_BYTES || self.order.len() > MAX_VALUES {
            let Some((id, seq)) = self.order.pop_front() else {
                return;
            };
            let n = &mut self.nodes[id as usize];
            if n.history.front().is_some_and(|v| v.seq == seq)
                && let Some(old) = n.history.pop_front()
            {
                self.value_bytes -= old.payload.len();
            }
        }
    }

    fn find_or_create(&mut self, topic: &str) -> Option<NodeId> {
        let mut at = ROOT;
        for (depth, level) in topic.split('/').enumerate() {
            let next = self.nodes[at as usize].children.get(level).copied();
            at = match next {
                Some(id) => id,
                None => {
                    if self.nodes.len() >= MAX_NODES {
                        return None;
                    }
                    let id = NodeId::try_from(self.nodes.len()).ok()?;
                    let depth = u16::try_from(depth + 1).unwrap_or(u16::MAX);
                    self.nodes.push(Node::new(level, Some(at), depth));
                    self.nodes[at as usize].children.insert(level.into(), id);
                    id
                }
            };
        }
        Some(at)
    }

    /// Forgets everything (the page's view only; the broker is not touched).
    pub fn clear(&mut self) {
        *self = TopicTree::default();
    }

    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id as usize).filter(|_| id != ROOT)
    }

    /// The node of an exact topic, if seen.
    pub fn find(&self, topic: &str) -> Option<NodeId> {
        let mut at = ROOT;
        for level in topic.split('/') {
            at = *self.nodes[at as usize].children.get(level)?;
        }
        Some(at)
    }

    /// The full topic of a node: its levels joined with `/`.
    pub fn topic(&self, id: NodeId) -> String {
        let mut levels = Vec::new();
        let mut at = Some(id);
        while let Some(i) = at.filter(|i| *i != ROOT) {
            let n = &self.nodes[i as usize];
            levels.push(&*n.name);
            at = n.parent;
        }
        levels.reverse();
        levels.join("/")
    }

    /// Topics that received at least one message.
    pub fn topics(&self) -> usize {
        self.topics
    }

    pub fn messages(&self) -> u64 {
        self.messages
    }

    /// Levels in the tree (the cap is [`MAX_NODES`]).
    pub fn levels(&self) -> usize {
        self.nodes.len() - 1
    }

    /// Messages to new topics that did not fit under [`MAX_NODES`].
    pub fn over_cap(&self) -> u64 {
        self.over_cap
    }

    /// Bytes of values kept (bounded by [`MAX_VALUE_BYTES`]).
    pub fn value_bytes(&self) -> usize {
        self.value_bytes
    }

    pub fn selected(&self) -> Option<NodeId> {
        self.selected
    }

    /// Selects a level (for the details) and opens its ancestors so it can be seen.
    pub fn select(&mut self, id: Option<NodeId>) {
        self.selected = id.filter(|i| (*i as usize) < self.nodes.len() && *i != ROOT);
        let mut at = self.selected.and_then(|i| self.nodes[i as usize].parent);
        while let Some(i) = at {
            self.nodes[i as usize].expanded = true;
            at = self.nodes[i as usize].parent;
        }
    }

    pub fn set_expanded(&mut self, id: NodeId, open: bool) {
        if let Some(n) = self.nodes.get_mut(id as usize) {
            n.expanded = open;
        }
    }

    pub fn expand_all(&mut self, open: bool) {
        for n in &mut self.nodes[1..] {
            n.expanded = open;
        }
    }

    /// Our own empty retained publish cleared the broker's retained message; the broker
    /// forwards it with RETAIN 0 ([MQTT-3.3.1-9]), so the badge is cleared here.
    pub fn clear_retained(&mut self, id: NodeId) {
        if let Some(n) = self.nodes.get_mut(id as usize) {
            n.retained = false;
        }
    }
}

#[cfg(test)]
mod tests;
