//! What the engine says about the VM in `<metadata><ovirt-vm:vm>`, where it
//! matters to the hook: the CPU pinning policy, which decides whether VDSM
//! keeps the `<vcpupin>`s the hook writes once the VM runs.

use std::fmt;

use roxmltree::Node;

use crate::cpuset::CpuSet;
use crate::wording::shorten;

/// The namespace of VDSM's VM metadata (`ovirt-vm:`).
pub const OVIRT_VM_NAMESPACE: &str = "http://ovirt.org/vm/1.0";

/// `<ovirt-vm:cpuPolicy>`, as engine 4.5 sends it (`VmInfoBuildUtils.
/// getVdsmCpuPinningPolicy`) and VDSM acts on it (`cpumanagement.py`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CpuPolicy {
    /// `none`: VDSM pins every vCPU to its shared pool once the VM runs,
    /// and again whenever a VM with exclusive CPUs starts or stops.
    NoPinning,
    /// `manual`: the vCPUs the started XML pins keep their pins; the others
    /// go to the shared pool. The engine sends it for CPU Pinning Policy
    /// Manual (and for Resize and Pin NUMA, or pins from NUMA pinning).
    Manual,
    /// `dedicated`, `isolate-threads` and `siblings`: the engine chose the
    /// host CPUs and VDSM keeps other VMs off them by reading the pins.
    Exclusive(ExclusivePolicy),
    /// A value this hook has not read the code of, kept for the message.
    Other(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExclusivePolicy {
    Dedicated,
    IsolateThreads,
    /// VDSM knows it; engine 4.5 never sends it.
    Siblings,
}

impl CpuPolicy {
    fn from_text(text: &str) -> CpuPolicy {
        match text {
            "none" => CpuPolicy::NoPinning,
            "manual" => CpuPolicy::Manual,
            "dedicated" => CpuPolicy::Exclusive(ExclusivePolicy::Dedicated),
            "isolate-threads" => CpuPolicy::Exclusive(ExclusivePolicy::IsolateThreads),
            "siblings" => CpuPolicy::Exclusive(ExclusivePolicy::Siblings),
            other => CpuPolicy::Other(shorten(other)),
        }
    }
}

impl fmt::Display for CpuPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CpuPolicy::NoPinning => f.write_str("none"),
            CpuPolicy::Manual => f.write_str("manual"),
            CpuPolicy::Exclusive(policy) => policy.fmt(f),
            CpuPolicy::Other(text) => write!(f, "{}", crate::wording::quoted(text)),
        }
    }
}

impl fmt::Display for ExclusivePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExclusivePolicy::Dedicated => "dedicated",
            ExclusivePolicy::IsolateThreads => "isolate-threads",
            ExclusivePolicy::Siblings => "siblings",
        })
    }
}

/// The engine's word on the VM, as far as the plan needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OvirtMetadata {
    /// `None` when the engine sent no policy (engine 4.4 and older): VDSM
    /// then infers `manual` when the started XML has pins, else `none`.
    pub cpu_policy: Option<CpuPolicy>,
    /// `<ovirt-vm:manuallyPinedCPUs>` (VDSM's spelling): under `manual`,
    /// the only vCPUs VDSM leaves pinned. The engine never sends it; VDSM
    /// writes it once the VM runs, so it shows up only in a domain VDSM
    /// has seen before.
    pub manually_pinned: Option<CpuSet>,
}

impl OvirtMetadata {
    /// Reads `<metadata><ovirt-vm:vm>` of the domain; anything missing or
    /// unreadable is as if absent, as VDSM treats it.
    pub fn read(root: Node) -> OvirtMetadata {
        let Some(vm) = ovirt_vm(root) else {
            return OvirtMetadata::default();
        };
        // VDSM's metadata reader fills a dict child by child, so an element
        // given twice counts by its last copy.
        let text = |name: &str| {
            vm.children()
                .rfind(|n| n.has_tag_name((OVIRT_VM_NAMESPACE, name)))
                .map(|n| n.text().unwrap_or("").trim().to_string())
        };
        OvirtMetadata {
            cpu_policy: text("cpuPolicy").map(|t| CpuPolicy::from_text(&t)),
            manually_pinned: text("manuallyPinedCPUs").and_then(|t| t.parse().ok()),
        }
    }
}

fn ovirt_vm<'a, 'i>(root: Node<'a, 'i>) -> Option<Node<'a, 'i>> {
    root.children()
        .find(|n| n.has_tag_name("metadata"))?
        .children()
        .find(|n| n.has_tag_name((OVIRT_VM_NAMESPACE, "vm")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(metadata: &str) -> OvirtMetadata {
        let xml = format!(
            "<domain xmlns:ovirt-vm='http://ovirt.org/vm/1.0'><metadata>{metadata}</metadata></domain>"
        );
        let doc = roxmltree::Document::parse(&xml).unwrap();
        OvirtMetadata::read(doc.root_element())
    }

    #[test]
    fn the_policy_is_read_from_the_ovirt_vm_namespace() {
        let policy = |text: &str| {
            read(&format!(
                "<ovirt-vm:vm><ovirt-vm:cpuPolicy>{text}</ovirt-vm:cpuPolicy></ovirt-vm:vm>"
            ))
            .cpu_policy
        };
        assert_eq!(policy("manual"), Some(CpuPolicy::Manual));
        assert_eq!(policy(" none\n"), Some(CpuPolicy::NoPinning));
        assert_eq!(
            policy("isolate-threads"),
            Some(CpuPolicy::Exclusive(ExclusivePolicy::IsolateThreads))
        );
        assert_eq!(policy("Manual"), Some(CpuPolicy::Other("Manual".into())));
        assert_eq!(policy(""), Some(CpuPolicy::Other(String::new())));
        assert_eq!(read("").cpu_policy, None);
        assert_eq!(
            read(
                "<ovirt-vm:vm><ovirt-vm:cpuPolicy>none</ovirt-vm:cpuPolicy>\
                  <ovirt-vm:cpuPolicy>manual</ovirt-vm:cpuPolicy></ovirt-vm:vm>"
            )
            .cpu_policy,
            Some(CpuPolicy::Manual)
        );
        // Another namespace, or outside <ovirt-vm:vm>, is not the engine's.
        assert_eq!(
            read("<vm><cpuPolicy>none</cpuPolicy></vm>").cpu_policy,
            None
        );
        assert_eq!(
            read("<ovirt-vm:cpuPolicy>none</ovirt-vm:cpuPolicy>").cpu_policy,
            None
        );
    }

    #[test]
    fn manually_pinned_vcpus_are_a_cpu_list() {
        let pinned = read(
            "<ovirt-vm:vm><ovirt-vm:cpuPolicy>manual</ovirt-vm:cpuPolicy>\
             <ovirt-vm:manuallyPinedCPUs>0,1,4</ovirt-vm:manuallyPinedCPUs></ovirt-vm:vm>",
        )
        .manually_pinned
        .map(|set| set.to_string());
        assert_eq!(pinned.as_deref(), Some("0-1,4"));
        let empty = read("<ovirt-vm:vm><ovirt-vm:manuallyPinedCPUs/></ovirt-vm:vm>");
        assert_eq!(empty.manually_pinned.map(|s| s.len()), Some(0));
    }
}
