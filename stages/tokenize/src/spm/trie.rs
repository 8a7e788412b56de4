//! A byte trie over the vocabulary's pieces, for the common-prefix search of the Viterbi pass.
//! Children are kept sorted in one flat array per node and found by binary search.

use std::collections::BTreeMap;

const NO_VALUE: u32 = u32::MAX;

/// An immutable trie mapping byte strings to `u32` values.
#[derive(Debug, Clone)]
pub struct PieceTrie {
    /// For node `n`, its children are `edges[first_edge[n]..first_edge[n + 1]]`.
    first_edge: Vec<u32>,
    /// `(byte, child node)`, sorted by byte within each node.
    edges: Vec<(u8, u32)>,
    values: Vec<u32>,
}

#[derive(Default)]
struct BuildNode {
    children: BTreeMap<u8, usize>,
    value: Option<u32>,
}

impl PieceTrie {
    /// Builds the trie; a key given twice keeps its first value.
    pub fn new<'a>(keys: impl IntoIterator<Item = (&'a [u8], u32)>) -> Self {
        let mut nodes = vec![BuildNode::default()];
        for (key, value) in keys {
            let mut node = 0;
            for &byte in key {
                let next = nodes.len();
                node = *nodes[node].children.entry(byte).or_insert(next);
                if node == next {
                    nodes.push(BuildNode::default());
                }
            }
            nodes[node].value.get_or_insert(value);
        }
        let mut first_edge = Vec::with_capacity(nodes.len() + 1);
        let mut edges = Vec::with_capacity(nodes.len());
        for node in &nodes {
            first_edge.push(edges.len() as u32);
            edges.extend(node.children.iter().map(|(&b, &child)| (b, child as u32)));
        }
        first_edge.push(edges.len() as u32);
        let values = nodes.iter().map(|n| n.value.unwrap_or(NO_VALUE)).collect();
        Self {
            first_edge,
            edges,
            values,
        }
    }

    /// Calls `found(length, value)` for every key that prefixes `input`, shortest first.
    pub fn for_each_prefix(&self, input: &[u8], mut found: impl FnMut(usize, u32)) {
        let mut node = 0usize;
        for (index, byte) in input.iter().enumerate() {
            let children =
                &self.edges[self.first_edge[node] as usize..self.first_edge[node + 1] as usize];
            match children.binary_search_by_key(byte, |&(b, _)| b) {
                Ok(at) => node = children[at].1 as usize,
                Err(_) => return,
            }
            if self.values[node] != NO_VALUE {
                found(index + 1, self.values[node]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_prefix_in_order() {
        let trie = PieceTrie::new([
            (&b"a"[..], 1),
            (b"abc", 2),
            (b"b", 3),
            (b"ab", 4),
            (b"a", 9),
        ]);
        let mut hits = Vec::new();
        trie.for_each_prefix(b"abcd", |len, value| hits.push((len, value)));
        assert_eq!(hits, vec![(1, 1), (2, 4), (3, 2)]);
        hits.clear();
        trie.for_each_prefix(b"xyz", |len, value| hits.push((len, value)));
        assert!(hits.is_empty());
    }
}
