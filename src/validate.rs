//! The migration destination's check. VDSM throws away edits made in
//! `before_vm_migrate_destination`, but the hook can still refuse a
//! migration the host cannot honour, before libvirt fails it halfway.

use roxmltree::Node;

use crate::cpuset::{self, CpuSet, SetEnd};
use crate::domain::{self, DomainError};
use crate::property::{parse_value, Noun};
use crate::topology::HostLimits;
use crate::xml_edit::{child, children};

/// Refuses when the incoming XML pins to CPUs that are not online here, or
/// binds memory to nodes that have none here.
pub fn check_incoming(text: &str, host: &HostLimits) -> Result<(), DomainError> {
    let doc = domain::parse(text)?;
    let root = doc.root_element();
    for (element, cpus) in pinned_cpus(root) {
        let missing = cpus.difference(&host.online_cpus);
        if !missing.is_empty() {
            let online = host.online_cpus.clone();
            return Err(DomainError::MigrationCpusMissing {
                element,
                missing,
                online,
            });
        }
    }
    for (element, nodes) in bound_nodes(root) {
        let missing = nodes.difference(&host.memory_nodes);
        if !missing.is_empty() {
            let with_memory = host.memory_nodes.clone();
            return Err(DomainError::MigrationNodesMissing {
                element,
                missing,
                with_memory,
            });
        }
    }
    Ok(())
}

fn pinned_cpus(root: Node) -> Vec<(&'static str, CpuSet)> {
    let mut found: Vec<(&'static str, Node)> = Vec::new();
    found.extend(child(root, "vcpu").map(|n| ("vcpu", n)));
    if let Some(cputune) = child(root, "cputune") {
        for name in ["vcpupin", "emulatorpin", "iothreadpin"] {
            found.extend(children(cputune, name).map(|n| (name, n)));
        }
    }
    found
        .into_iter()
        .filter_map(|(name, node)| Some((name, set(node.attribute("cpuset")?, Noun::Cpu)?)))
        .collect()
}

fn bound_nodes(root: Node) -> Vec<(&'static str, CpuSet)> {
    let Some(numatune) = child(root, "numatune") else {
        return Vec::new();
    };
    let memory = child(numatune, "memory").map(|n| ("memory", n));
    let memnodes = children(numatune, "memnode").map(|n| ("memnode", n));
    memory
        .into_iter()
        .chain(memnodes)
        .filter_map(|(name, node)| Some((name, set(node.attribute("nodeset")?, Noun::Node)?)))
        .collect()
}

/// libvirt writes sets canonically; one this grammar cannot read was not
/// written by this project, and libvirt itself will judge it.
fn set(text: &str, noun: Noun) -> Option<CpuSet> {
    parse_value("", text, |input, notes| {
        let (rest, set) = cpuset::set(input, noun, SetEnd::AtAnyOtherCharacter, notes)?;
        crate::property::end(rest, "','")?;
        Ok((rest, set))
    })
    .ok()
}
