//! The stage graph (petgraph): edges run from a stage to the stages that read its output.
//! Rendered as text, Graphviz DOT or Mermaid for `pipeline dag`.

use std::collections::BTreeSet;

use petgraph::Direction;
use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};

/// Dependencies between the stage instances of a plan; node `i` is stage `i`. It knows stages
/// only by index: the plan says which reads which.
pub struct StageGraph {
    graph: DiGraph<(), ()>,
}

impl StageGraph {
    /// `len` stages; each edge `(from, to)`: stage `to` reads the output of `from` (repeats are
    /// kept once).
    pub fn from_edges(len: usize, edges: impl IntoIterator<Item = (usize, usize)>) -> Self {
        let mut graph = DiGraph::new();
        for _ in 0..len {
            graph.add_node(());
        }
        let edges: BTreeSet<(usize, usize)> = edges.into_iter().collect();
        for (from, to) in edges {
            graph.add_edge(NodeIndex::new(from), NodeIndex::new(to), ());
        }
        Self { graph }
    }

    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    /// Stages whose output `index` reads.
    pub fn upstream(&self, index: usize) -> Vec<usize> {
        self.neighbors(index, Direction::Incoming)
    }

    /// Stages that read the output of `index`.
    pub fn downstream(&self, index: usize) -> Vec<usize> {
        self.neighbors(index, Direction::Outgoing)
    }

    fn neighbors(&self, index: usize, direction: Direction) -> Vec<usize> {
        let mut found: Vec<usize> = self
            .graph
            .neighbors_directed(NodeIndex::new(index), direction)
            .map(NodeIndex::index)
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    /// Every stage before its dependents, ties in declaration order.
    pub fn order(&self) -> Vec<usize> {
        let mut order = Vec::with_capacity(self.len());
        let mut remaining: Vec<usize> = (0..self.len()).map(|i| self.upstream(i).len()).collect();
        let mut ready: BTreeSet<usize> = (0..self.len()).filter(|&i| remaining[i] == 0).collect();
        while let Some(next) = ready.pop_first() {
            order.push(next);
            for down in self.downstream(next) {
                remaining[down] -= 1;
                if remaining[down] == 0 {
                    ready.insert(down);
                }
            }
        }
        order
    }

    /// `targets` and everything they depend on.
    pub fn with_ancestors(&self, targets: &[usize]) -> BTreeSet<usize> {
        let mut keep = BTreeSet::new();
        let mut stack = targets.to_vec();
        while let Some(next) = stack.pop() {
            if keep.insert(next) {
                stack.extend(self.upstream(next));
            }
        }
        keep
    }

    /// One cycle, as the stages along it, if the graph has any.
    pub fn find_cycle(&self) -> Option<Vec<usize>> {
        if toposort(&self.graph, None).is_ok() {
            return None;
        }
        let component = tarjan_scc(&self.graph)
            .into_iter()
            .find(|c| c.len() > 1 || self.graph.contains_edge(c[0], c[0]))?;
        let members: BTreeSet<usize> = component.iter().map(|n| n.index()).collect();
        let mut path = vec![*members.first()?];
        loop {
            let last = *path.last()?;
            let next = self
                .downstream(last)
                .into_iter()
                .find(|n| members.contains(n))?;
            if let Some(start) = path.iter().position(|&p| p == next) {
                return Some(path.split_off(start));
            }
            path.push(next);
        }
    }

    /// Graphviz DOT.
    pub fn to_dot(&self, names: &[&str]) -> String {
        let node =
            |i: usize, name: &str| format!("  n{i} [label=\"{}\"];", name.replace('"', "\\\""));
        let edge = |from: usize, to: usize| format!("  n{from} -> n{to};");
        let head = "digraph pipeline {\n  rankdir=LR;\n  node [shape=box];";
        self.render(names, head, node, edge) + "}\n"
    }

    /// A Mermaid flowchart.
    pub fn to_mermaid(&self, names: &[&str]) -> String {
        let node = |i: usize, name: &str| format!("  n{i}[\"{}\"]", name.replace('"', "#quot;"));
        let edge = |from: usize, to: usize| format!("  n{from} --> n{to}");
        self.render(names, "flowchart LR", node, edge)
    }

    /// `head`, then a line per stage and a line per edge.
    fn render(
        &self,
        names: &[&str],
        head: &str,
        node: impl Fn(usize, &str) -> String,
        edge: impl Fn(usize, usize) -> String,
    ) -> String {
        let nodes = names.iter().enumerate().map(|(i, name)| node(i, name));
        let edges = self.graph.raw_edges().iter();
        let edges = edges.map(|e| edge(e.source().index(), e.target().index()));
        let lines: Vec<String> = std::iter::once(head.to_string())
            .chain(nodes)
            .chain(edges)
            .collect();
        lines.join("\n") + "\n"
    }

    /// One line per stage in run order, with what it reads from.
    pub fn to_text(&self, names: &[&str]) -> String {
        let mut out = String::new();
        for index in self.order() {
            let upstream: Vec<&str> = self.upstream(index).into_iter().map(|u| names[u]).collect();
            if upstream.is_empty() {
                out.push_str(&format!("{}\n", names[index]));
            } else {
                out.push_str(&format!("{}  <- {}\n", names[index], upstream.join(", ")));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 0 -> 1 -> 3, 0 -> 2 -> 3, and 4 alone.
    fn diamond() -> StageGraph {
        StageGraph::from_edges(5, [(0, 1), (0, 2), (1, 3), (2, 3), (2, 3)])
    }

    #[test]
    fn neighbours_and_order_follow_the_edges() {
        let graph = diamond();
        assert_eq!(graph.upstream(3), [1, 2]);
        assert_eq!(graph.downstream(0), [1, 2]);
        assert_eq!(graph.order(), [0, 1, 2, 3, 4]);
        let late_first = StageGraph::from_edges(3, [(2, 0), (2, 1)]);
        assert_eq!(late_first.order(), [2, 0, 1]);
    }

    #[test]
    fn ancestors_are_what_a_target_needs() {
        let graph = diamond();
        assert_eq!(graph.with_ancestors(&[3]), BTreeSet::from([0, 1, 2, 3]));
        assert_eq!(graph.with_ancestors(&[1, 4]), BTreeSet::from([0, 1, 4]));
    }

    #[test]
    fn a_cycle_is_found_as_the_stages_along_it() {
        assert_eq!(diamond().find_cycle(), None);
        let cycle = StageGraph::from_edges(4, [(0, 1), (1, 2), (2, 3), (3, 1)]).find_cycle();
        assert_eq!(cycle, Some(vec![1, 2, 3]));
        assert_eq!(
            StageGraph::from_edges(2, [(1, 1)]).find_cycle(),
            Some(vec![1])
        );
    }

    #[test]
    fn renderings_name_every_stage_and_edge() {
        let graph = StageGraph::from_edges(3, [(0, 2), (1, 2)]);
        let names = ["a", "b", "say \"c\""];
        assert_eq!(graph.to_text(&names), "a\nb\nsay \"c\"  <- a, b\n");
        let dot = graph.to_dot(&names);
        assert!(
            dot.contains("n2 [label=\"say \\\"c\\\"\"]") && dot.contains("n0 -> n2;"),
            "{dot}"
        );
        let mermaid = graph.to_mermaid(&names);
        assert!(
            mermaid.contains("n2[\"say #quot;c#quot;\"]") && mermaid.contains("n1 --> n2"),
            "{mermaid}"
        );
    }
}
