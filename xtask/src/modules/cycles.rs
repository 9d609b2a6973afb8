//! Strongly connected sets of a directed graph (Tarjan's algorithm): each
//! set of two or more nodes is a cycle, or several that share nodes.

use std::collections::{BTreeMap, BTreeSet};

/// The sets of two or more nodes that all reach each other.
pub fn strongly_connected<N: Ord + Copy>(graph: &BTreeMap<N, BTreeSet<N>>) -> Vec<BTreeSet<N>> {
    let mut search = Search {
        graph,
        next_index: 0,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        sets: Vec::new(),
    };
    for &node in graph.keys() {
        if !search.index.contains_key(&node) {
            search.visit(node);
        }
    }
    search.sets
}

struct Search<'a, N> {
    graph: &'a BTreeMap<N, BTreeSet<N>>,
    next_index: usize,
    index: BTreeMap<N, usize>,
    low: BTreeMap<N, usize>,
    stack: Vec<N>,
    on_stack: BTreeSet<N>,
    sets: Vec<BTreeSet<N>>,
}

impl<N: Ord + Copy> Search<'_, N> {
    fn visit(&mut self, node: N) {
        self.index.insert(node, self.next_index);
        self.low.insert(node, self.next_index);
        self.next_index += 1;
        self.stack.push(node);
        self.on_stack.insert(node);
        for &next in self.graph.get(&node).into_iter().flatten() {
            if !self.index.contains_key(&next) {
                self.visit(next);
                let low = self.low[&node].min(self.low[&next]);
                self.low.insert(node, low);
            } else if self.on_stack.contains(&next) {
                let low = self.low[&node].min(self.index[&next]);
                self.low.insert(node, low);
            }
        }
        if self.low[&node] == self.index[&node] {
            let mut set = BTreeSet::new();
            while let Some(member) = self.stack.pop() {
                self.on_stack.remove(&member);
                set.insert(member);
                if member == node {
                    break;
                }
            }
            if set.len() > 1 {
                self.sets.push(set);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(u8, u8)]) -> BTreeMap<u8, BTreeSet<u8>> {
        let mut graph: BTreeMap<u8, BTreeSet<u8>> = BTreeMap::new();
        for &(from, to) in edges {
            graph.entry(from).or_default().insert(to);
        }
        graph
    }

    #[test]
    fn a_chain_has_no_cycle() {
        assert!(strongly_connected(&graph(&[(1, 2), (2, 3), (1, 3)])).is_empty());
    }

    #[test]
    fn a_loop_through_three_nodes_is_one_set() {
        let sets = strongly_connected(&graph(&[(1, 2), (2, 3), (3, 1), (3, 4)]));
        assert_eq!(sets, vec![BTreeSet::from([1, 2, 3])]);
    }

    #[test]
    fn separate_loops_are_separate_sets() {
        let sets = strongly_connected(&graph(&[(1, 2), (2, 1), (3, 4), (4, 3), (2, 3)]));
        assert_eq!(sets.len(), 2);
    }
}
