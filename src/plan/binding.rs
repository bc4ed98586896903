//! Where the guest's memory will be bound once the edit is done: the
//! `<numatune>` the plan writes, or the VM's own when it writes none. The
//! huge page and device checks judge that final binding.

use std::collections::BTreeMap;

use roxmltree::Node;

use crate::cpuset::NodeSet;
use crate::domain::facts::Domain;
use crate::plan::numatune::{MemnodeSource, MemoryElement, NumaTunePlan};
use crate::properties::numatune::{MemoryMode, Placement};
use crate::xml::read::{child, children};

/// One policy: its mode, and its host nodes (`None`: numad places it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bind {
    pub mode: String,
    pub nodes: Option<NodeSet>,
}

impl Bind {
    /// The host nodes when the memory may come from nowhere else: `strict`
    /// binds it through the memory policy, `restrictive` as firmly through
    /// the cgroup's `cpuset.mems` (libvirt's qemuProcessSetupEmulator).
    /// The mode as a message names it, for memory `strict_nodes` confines.
    pub(crate) fn confining_mode(&self) -> &'static str {
        match self.mode == MemoryMode::Restrictive.as_str() {
            true => "restrictive",
            false => "strict",
        }
    }

    pub(crate) fn strict_nodes(&self) -> Option<&NodeSet> {
        let confined = [
            MemoryMode::Strict.as_str(),
            MemoryMode::Restrictive.as_str(),
        ];
        confined
            .contains(&self.mode.as_str())
            .then_some(self.nodes.as_ref())
            .flatten()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MemoryBinding {
    /// `<numatune><memory>`: every cell without a memnode.
    pub memory: Option<Bind>,
    /// `<memnode cellid=>`, by cell.
    pub cells: BTreeMap<u32, Bind>,
}

impl MemoryBinding {
    /// The policy of guest cell `cell`, or of all memory (`None`).
    pub(crate) fn of(&self, cell: Option<u32>) -> Option<&Bind> {
        cell.and_then(|cell| self.cells.get(&cell))
            .or(self.memory.as_ref())
    }

    pub(crate) fn after(domain: &Domain, plan: Option<&NumaTunePlan>) -> MemoryBinding {
        match plan {
            Some(plan) => planned(plan),
            None => existing(child(domain.root, "numatune")),
        }
    }
}

fn planned(plan: &NumaTunePlan) -> MemoryBinding {
    let memory = match &plan.memory {
        Some(MemoryElement::New(tune)) => Some(Bind {
            mode: tune.mode.to_string(),
            nodes: match &tune.placement {
                Placement::Nodes(nodes) => Some(nodes.clone()),
                Placement::Auto => None,
            },
        }),
        Some(MemoryElement::Kept(node)) => Some(bind_of(*node)),
        None => None,
    };
    let cells = plan
        .memnodes
        .iter()
        .map(|memnode| {
            let bind = match &memnode.source {
                MemnodeSource::Kept(node) => bind_of(*node),
                MemnodeSource::Bound(nodes) => Bind {
                    mode: memnode.mode.clone(),
                    nodes: Some(nodes.clone()),
                },
            };
            (memnode.cellid, bind)
        })
        .collect();
    MemoryBinding { memory, cells }
}

fn existing(numatune: Option<Node>) -> MemoryBinding {
    let Some(numatune) = numatune else {
        return MemoryBinding::default();
    };
    let cells = children(numatune, "memnode")
        .filter_map(|node| {
            let cell = node.attribute("cellid")?.trim().parse().ok()?;
            Some((cell, bind_of(node)))
        })
        .collect();
    MemoryBinding {
        memory: child(numatune, "memory").map(bind_of),
        cells,
    }
}

/// libvirt's default mode is strict; a set it cannot read binds nowhere
/// the hook can tell, so it counts as placed elsewhere.
fn bind_of(node: Node) -> Bind {
    Bind {
        mode: node
            .attribute("mode")
            .unwrap_or(MemoryMode::Strict.as_str())
            .to_string(),
        nodes: node.attribute("nodeset").and_then(|set| set.parse().ok()),
    }
}
