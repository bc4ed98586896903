//! The migration destination's check. VDSM throws away edits made in
//! `before_vm_migrate_destination`, but the hook can still refuse a
//! migration the host cannot honour, before libvirt fails it halfway.

use roxmltree::Node;
use thiserror::Error;

use crate::cpuset::CpuSet;
use crate::domain::document::{self, DocumentError, Pruned};
use crate::domain::facts::Domain;
use crate::domain::metadata::{CpuPolicy, OvirtMetadata};
use crate::domain::threads;
use crate::domain::values::{libvirt_bitmap, BITMAP_SIZE};
use crate::host::topology::HostLimits;
use crate::plan::binding::MemoryBinding;
use crate::plan::refusal::Refusal;
use crate::plan::warning::Warning;
use crate::plan::{devices, hugepages, memory_fit, policy};
use crate::properties::Request;
use crate::wording::Ids;
use crate::xml::read::{child, children};

#[derive(Debug, Error, PartialEq, Eq)]
pub enum MigrationError {
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error("migration refused: the VM's <{element}> pins to host {}, which this host does not have online (online: {online})", Ids("CPU", .missing))]
    CpusMissing {
        element: &'static str,
        missing: CpuSet,
        online: CpuSet,
    },
    #[error("migration refused: {0}")]
    HugePages(#[from] Refusal),
    #[error("migration refused: the VM's <numatune><{element}> binds memory to host {}, where this host has no memory (nodes with memory: {with_memory})", Ids("node", .missing))]
    NodesMissing {
        element: &'static str,
        missing: CpuSet,
        with_memory: CpuSet,
    },
}

/// What the check saw of a migration it lets through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Incoming {
    /// The engine's CPU pinning policy, as a line.
    pub cpu_policy: String,
    pub warnings: Vec<Warning>,
}

/// Refuses when the incoming XML pins to CPUs that are not online here, or
/// binds memory to nodes that have none here (without `host`, sysfs was
/// unreadable: libvirt checks again). What the engine's CPU pinning policy
/// would have refused at start comes back as a warning.
pub(crate) fn check_incoming(
    text: &str,
    request: &Request,
    host: Option<&HostLimits>,
) -> Result<Incoming, MigrationError> {
    let mut pruned = Pruned::default();
    let doc = document::parse(text, &mut pruned)?;
    let root = doc.root_element();
    let metadata = OvirtMetadata::read(root);
    let warnings = match policy::check(&metadata, root, request, host) {
        Ok(warnings) => warnings,
        Err(refused) => vec![Warning::RunningAgainstPolicy(refused.to_string())],
    };
    let engine_rebinds = matches!(metadata.cpu_policy, Some(CpuPolicy::Exclusive(_)));
    let mut warnings = warnings;
    if let Some(host) = host {
        check_host(root, host, engine_rebinds)?;
        let domain = Domain::read(&doc)?;
        warnings.extend(check_host_fit(&domain, request, host, engine_rebinds)?);
    }
    Ok(Incoming {
        cpu_policy: policy::describe(metadata.cpu_policy.as_ref()),
        warnings,
    })
}

/// `engine_rebinds`: under `dedicated`, `isolate-threads` and `siblings`
/// the engine sends the destination's `numaNodesets`, and VDSM writes them
/// into the `<memnode>`s of the XML libvirt gets, not of the one this hook
/// sees: those memnodes are the source's, and say nothing of this host.
/// The pins it sees are already the destination's (`cpusets`).
fn check_host(root: Node, host: &HostLimits, engine_rebinds: bool) -> Result<(), MigrationError> {
    for (element, cpus) in pinned_cpus(root) {
        let missing = cpus.difference(&host.online_cpus);
        if !missing.is_empty() {
            let online = host.online_cpus.clone();
            return Err(MigrationError::CpusMissing {
                element,
                missing,
                online,
            });
        }
    }
    for (element, nodes) in bound_nodes(root) {
        if engine_rebinds && element == "memnode" {
            continue;
        }
        let missing = nodes.difference(&host.memory_nodes);
        if !missing.is_empty() {
            let with_memory = host.memory_nodes.clone();
            return Err(MigrationError::NodesMissing {
                element,
                missing,
                with_memory,
            });
        }
    }
    Ok(())
}

/// Every host check of the start entry, on the XML the destination gets:
/// free huge pages (VDSM allocated the VM's pages, `use_dynamic_hugepages`,
/// before this hook runs, as it does before a start, so the free pages
/// counted include them), device locality, memory that fits its nodes and
/// vCPUs near their cell's memory.
fn check_host_fit(
    domain: &Domain,
    request: &Request,
    host: &HostLimits,
    engine_rebinds: bool,
) -> Result<Vec<Warning>, Refusal> {
    let mut binding = MemoryBinding::after(domain, None);
    if engine_rebinds {
        binding.cells.clear();
    }
    let pages = hugepages::plan(domain, None, &binding, host.kernel.as_ref())?;
    let mut warnings = pages.warnings;
    if let Some(kernel) = host.kernel.as_ref() {
        let policy = request.pci_numa_affinity.unwrap_or_default();
        let cells = domain.cells.len();
        warnings.extend(devices::check(domain, cells, &binding, policy, kernel)?);
        let pins = threads::pins(domain.root, "vcpupin").into_iter().collect();
        let fits = memory_fit::check(domain, None, &binding, &pins, "numatune", &kernel.sysfs);
        warnings.extend(fits?);
    }
    Ok(warnings)
}

/// Every pin libvirt will apply, read as the rewrite reads them: the pins
/// of every `<cputune>` (`threads::tuned_pins`), and `<vcpu cpuset>`.
fn pinned_cpus(root: Node) -> Vec<(&'static str, CpuSet)> {
    let mut found: Vec<(&'static str, CpuSet)> = Vec::new();
    let vcpu_set = child(root, "vcpu").and_then(|n| n.attribute("cpuset"));
    found.extend(vcpu_set.and_then(set).map(|cpus| ("vcpu", cpus)));
    for name in ["vcpupin", "emulatorpin", "iothreadpin"] {
        let pins = threads::tuned_pins(root, name).into_iter();
        found.extend(pins.filter_map(|pin| Some((name, pin.cpuset?))));
    }
    found
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
        .filter_map(|(name, node)| Some((name, set(node.attribute("nodeset")?)?)))
        .collect()
}

/// A set as libvirt reads it; one it cannot read, libvirt itself refuses.
fn set(text: &str) -> Option<CpuSet> {
    libvirt_bitmap(text, BITMAP_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incoming(policy: &str, numatune: &str) -> Result<Incoming, MigrationError> {
        let xml = format!(
            "<domain xmlns:ovirt-vm='http://ovirt.org/vm/1.0'><vcpu>2</vcpu>\
             <cputune><vcpupin vcpu='0' cpuset='1'/></cputune><numatune>{numatune}</numatune>\
             <metadata><ovirt-vm:vm><ovirt-vm:cpuPolicy>{policy}</ovirt-vm:cpuPolicy>\
             </ovirt-vm:vm></metadata></domain>"
        );
        let host = HostLimits {
            online_cpus: CpuSet::from_range(0, 3),
            memory_nodes: CpuSet::from_range(0, 1),
            kernel: None,
        };
        check_incoming(&xml, &Request::default(), Some(&host))
    }

    #[test]
    fn the_engine_rebinds_memnodes_of_exclusive_policies_after_this_check() {
        let memnode = "<memnode cellid='0' mode='strict' nodeset='3'/>";
        for policy in ["dedicated", "isolate-threads", "siblings"] {
            assert!(incoming(policy, memnode).is_ok(), "{policy}");
        }
        assert!(matches!(
            incoming("manual", memnode),
            Err(MigrationError::NodesMissing {
                element: "memnode",
                ..
            })
        ));
        // <memory> travels as it is, under every policy.
        assert!(matches!(
            incoming("dedicated", "<memory mode='strict' nodeset='3'/>"),
            Err(MigrationError::NodesMissing {
                element: "memory",
                ..
            })
        ));
    }
}
