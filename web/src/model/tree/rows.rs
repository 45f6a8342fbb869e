//! The tree as the rows a view shows: depth-first in name order, children of expanded
//! levels only — or, while searching, every level whose topic contains the text and the
//! levels above it. Iterative, so a topic of thousands of levels cannot overflow the stack.

use super::{NodeId, ROOT, TopicTree};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub id: NodeId,
    /// 1 for a top level (`aria-level`).
    pub depth: u16,
    pub has_children: bool,
    pub expanded: bool,
    /// Position among the shown siblings, from 1 (`aria-posinset` / `aria-setsize`).
    pub pos: u32,
    pub of: u32,
}

impl TopicTree {
    /// The rows to show. `search` (case-insensitive for ASCII letters) shows the matching
    /// topics, their ancestors and everything under a match, all opened.
    pub fn rows(&self, search: &str) -> Vec<Row> {
        let search = search.trim();
        let visible = (!search.is_empty()).then(|| self.matching(search));
        let mut rows = Vec::new();
        // (node, position, set size) to visit; children pushed in reverse name order.
        let mut stack: Vec<(NodeId, u32, u32)> = Vec::new();
        let push_children = |stack: &mut Vec<(NodeId, u32, u32)>, id: NodeId| {
            let kids: Vec<NodeId> = self.nodes[id as usize]
                .children
                .values()
                .copied()
                .filter(|c| visible.as_ref().is_none_or(|v| v[*c as usize]))
                .collect();
            let of = u32::try_from(kids.len()).unwrap_or(u32::MAX);
            for (i, c) in kids.into_iter().enumerate().rev() {
                stack.push((c, u32::try_from(i + 1).unwrap_or(u32::MAX), of));
            }
        };
        push_children(&mut stack, ROOT);
        while let Some((id, pos, of)) = stack.pop() {
            let n = &self.nodes[id as usize];
            let open = visible.is_some() || n.expanded;
            rows.push(Row {
                id,
                depth: n.depth,
                has_children: !n.children.is_empty(),
                expanded: open && !n.children.is_empty(),
                pos,
                of,
            });
            if open {
                push_children(&mut stack, id);
            }
        }
        rows
    }

    /// Per node: whether it is shown for `search`. One depth-first pass with the topic
    /// built in a buffer: `buf[..len]` is always the parent's topic when a child comes up.
    fn matching(&self, search: &str) -> Vec<bool> {
        let needle = search.as_bytes();
        let mut shown = vec![false; self.nodes.len()];
        let mut buf = String::new();
        // (node, length of the parent's topic in `buf`, a level above matched)
        let mut stack: Vec<(NodeId, usize, bool)> = self.nodes[ROOT as usize]
            .children
            .values()
            .rev()
            .map(|c| (*c, 0, false))
            .collect();
        while let Some((id, len, under)) = stack.pop() {
            let n = &self.nodes[id as usize];
            buf.truncate(len);
            if n.depth > 1 {
                buf.push('/');
            }
            buf.push_str(&n.name);
            let hit = under || contains_ci(buf.as_bytes(), needle);
            shown[id as usize] = hit;
            let here = buf.len();
            stack.extend(n.children.values().rev().map(|c| (*c, here, hit)));
        }
        // Ancestors of a match are shown too; a child's id is always above its parent's.
        for id in (1..self.nodes.len()).rev() {
            if shown[id]
                && let Some(p) = self.nodes[id].parent
            {
                shown[p as usize] = true;
            }
        }
        shown
    }
}

fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || hay
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}
