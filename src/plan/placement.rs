//! Whether demands bound to sets of host nodes fit what the nodes have.
//!
//! Two regions bound to overlapping node sets draw on one pool, so checking
//! each set alone is not enough, and checking every union of sets grows as
//! 2^n. A maximum flow (demands -> their nodes -> what each node has) says
//! exactly whether a placement exists for any number of sets; when none
//! does, the demands still reachable in the residual graph and their nodes
//! are the smallest group that cannot fit together (the minimum cut), which
//! is what the message names.

use std::collections::VecDeque;

use crate::cpuset::NodeSet;

/// The demands that cannot fit together: their indexes, the nodes they may
/// use, what they need and what those nodes have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shortfall {
    pub(crate) demands: Vec<usize>,
    pub(crate) nodes: NodeSet,
    pub(crate) needed: u64,
    pub(crate) have: u64,
}

struct Edge {
    to: usize,
    capacity: u64,
}

/// `demands`: (the nodes a demand may use, how much it needs); `capacity`
/// of each node, read once per node.
pub(crate) fn shortfall<E>(
    demands: &[(NodeSet, u64)],
    mut capacity: impl FnMut(u32) -> Result<u64, E>,
) -> Result<Option<Shortfall>, E> {
    let mut nodes: Vec<u32> = Vec::new();
    for (set, _) in demands {
        nodes.extend(set.iter());
    }
    nodes.sort_unstable();
    nodes.dedup();
    // Vertices: source, the demands, the nodes, sink.
    let (source, sink) = (0, 1 + demands.len() + nodes.len());
    let mut edges: Vec<Edge> = Vec::new();
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); sink + 1];
    let mut add = |from: usize, to: usize, capacity: u64| {
        out[from].push(edges.len());
        edges.push(Edge { to, capacity });
        out[to].push(edges.len());
        edges.push(Edge {
            to: from,
            capacity: 0,
        });
    };
    for (index, (set, need)) in demands.iter().enumerate() {
        add(source, 1 + index, *need);
        for node in set.iter() {
            let at = nodes.binary_search(&node).unwrap_or(0);
            add(1 + index, 1 + demands.len() + at, u64::MAX);
        }
    }
    for (at, &node) in nodes.iter().enumerate() {
        add(1 + demands.len() + at, sink, capacity(node)?);
    }
    while let Some(path) = augmenting_path(&edges, &out, source, sink) {
        let flow = path.iter().map(|&e| edges[e].capacity).min().unwrap_or(0);
        for e in path {
            edges[e].capacity -= flow;
            edges[e ^ 1].capacity = edges[e ^ 1].capacity.saturating_add(flow);
        }
    }
    let reached = reachable(&edges, &out, source);
    let short: Vec<usize> = (0..demands.len()).filter(|&i| reached[1 + i]).collect();
    if short.is_empty() {
        return Ok(None);
    }
    let mut cut = NodeSet::new();
    for &i in &short {
        for &(lo, hi) in demands[i].0.ranges() {
            cut.insert_range(lo, hi);
        }
    }
    let needed = short
        .iter()
        .fold(0u64, |sum, &i| sum.saturating_add(demands[i].1));
    let mut have = 0u64;
    for node in cut.iter() {
        have = have.saturating_add(capacity(node)?);
    }
    Ok(Some(Shortfall {
        demands: short,
        nodes: cut,
        needed,
        have,
    }))
}

/// The edges of a shortest path with room left, source to sink.
fn augmenting_path(
    edges: &[Edge],
    out: &[Vec<usize>],
    source: usize,
    sink: usize,
) -> Option<Vec<usize>> {
    let mut via: Vec<Option<usize>> = vec![None; out.len()];
    let mut queue = VecDeque::from([source]);
    let mut seen = vec![false; out.len()];
    seen[source] = true;
    while let Some(at) = queue.pop_front() {
        for &e in &out[at] {
            let to = edges[e].to;
            if edges[e].capacity > 0 && !seen[to] {
                seen[to] = true;
                via[to] = Some(e);
                if to == sink {
                    let mut path = Vec::new();
                    let mut here = sink;
                    while let Some(e) = via[here] {
                        path.push(e);
                        here = edges[e ^ 1].to;
                    }
                    return Some(path);
                }
                queue.push_back(to);
            }
        }
    }
    None
}

fn reachable(edges: &[Edge], out: &[Vec<usize>], source: usize) -> Vec<bool> {
    let mut seen = vec![false; out.len()];
    seen[source] = true;
    let mut stack = vec![source];
    while let Some(at) = stack.pop() {
        for &e in &out[at] {
            let to = edges[e].to;
            if edges[e].capacity > 0 && !seen[to] {
                seen[to] = true;
                stack.push(to);
            }
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str) -> NodeSet {
        text.parse().unwrap()
    }

    fn check(demands: &[(&str, u64)], free: &[u64]) -> Option<(Vec<usize>, String, u64, u64)> {
        let demands: Vec<(NodeSet, u64)> = demands.iter().map(|(s, n)| (set(s), *n)).collect();
        let found = shortfall(&demands, |node| Ok::<_, ()>(free[node as usize])).unwrap();
        found.map(|s| (s.demands, s.nodes.to_string(), s.needed, s.have))
    }

    #[test]
    fn overlapping_sets_share_one_pool() {
        assert_eq!(check(&[("0", 1), ("1", 1), ("0-1", 1)], &[2, 1]), None);
        assert_eq!(
            check(&[("0", 1), ("1", 1), ("0-1", 1)], &[1, 1]),
            Some((vec![0, 1, 2], "0-1".into(), 3, 2))
        );
    }

    #[test]
    fn a_shortfall_past_ten_sets_is_found() {
        let mut demands = vec![("0-1", 2), ("1-2", 2)];
        demands.extend([("3", 1), ("4", 1), ("5", 1), ("6", 1), ("7", 1)]);
        demands.extend([("3-4", 1), ("5-6", 1), ("6-7", 1), ("4-5", 1)]);
        let free = [1, 1, 1, 4, 4, 4, 4, 4];
        assert_eq!(
            check(&demands, &free),
            Some((vec![0, 1], "0-2".into(), 4, 3))
        );
        let free = [2, 2, 2, 4, 4, 4, 4, 4];
        assert_eq!(check(&demands, &free), None);
    }
}
