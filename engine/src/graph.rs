//! The stage graph (petgraph): edges run from a stage to the stages that read its output.
//! Rendered as text, Graphviz DOT or Mermaid for `pipeline dag`.

use std::collections::BTreeSet;

use petgraph::Direction;
use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};

use crate::plan::{InputSource, PlannedStage};

/// Dependencies between the stage instances of a plan; node `i` is stage `i`.
pub struct StageGraph {
    graph: DiGraph<(), ()>,
}

impl StageGraph {
    pub fn new(stages: &[PlannedStage]) -> Self {
        let mut graph = DiGraph::new();
        for _ in stages {
            graph.add_node(());
        }
        for (index, stage) in stages.iter().enumerate() {
            let upstream: BTreeSet<usize> = stage
                .inputs
                .values()
                .flatten()
                .filter_map(|source| match source {
                    InputSource::Output { stage, .. } => Some(*stage),
                    InputSource::Path { .. } => None,
                })
                .collect();
            for from in upstream {
                graph.add_edge(NodeIndex::new(from), NodeIndex::new(index), ());
            }
        }
        Self { graph }
    }

    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
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

    /// `roots` and everything that depends on them.
    pub fn with_descendants(&self, roots: &[usize]) -> BTreeSet<usize> {
        let mut found = BTreeSet::new();
        let mut stack = roots.to_vec();
        while let Some(next) = stack.pop() {
            if found.insert(next) {
                stack.extend(self.downstream(next));
            }
        }
        found
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
            let next = self.downstream(last).into_iter().find(|n| members.contains(n))?;
            if let Some(start) = path.iter().position(|&p| p == next) {
                return Some(path.split_off(start));
            }
            path.push(next);
        }
    }

    /// Graphviz DOT.
    pub fn to_dot(&self, names: &[&str]) -> String {
        let mut out = String::from("digraph pipeline {\n  rankdir=LR;\n  node [shape=box];\n");
        for (index, name) in names.iter().enumerate() {
            out.push_str(&format!("  n{index} [label=\"{}\"];\n", name.replace('"', "\\\"")));
        }
        for edge in self.graph.raw_edges() {
            out.push_str(&format!("  n{} -> n{};\n", edge.source().index(), edge.target().index()));
        }
        out.push_str("}\n");
        out
    }

    /// A Mermaid flowchart.
    pub fn to_mermaid(&self, names: &[&str]) -> String {
        let mut out = String::from("flowchart LR\n");
        for (index, name) in names.iter().enumerate() {
            out.push_str(&format!("  n{index}[\"{}\"]\n", name.replace('"', "#quot;")));
        }
        for edge in self.graph.raw_edges() {
            out.push_str(&format!("  n{} --> n{}\n", edge.source().index(), edge.target().index()));
        }
        out
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
