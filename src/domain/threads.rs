//! The VM's own threads as the domain XML declares and pins them: its I/O
//! threads, and the `<cputune>` pins already there.

use roxmltree::Node;

use crate::cpuset::CpuSet;
use crate::domain::document::{number, DocumentError};
use crate::domain::values::{c_unsigned, libvirt_bitmap, Base, BITMAP_SIZE};
use crate::xml::read::{child, children};

/// The I/O thread ids libvirt gives the VM: those `<iothreadids>` lists
/// (`virDomainIOThreadIDDefParseXML`: any unsigned int but 0, base 10),
/// then, up to the `<iothreads>` count, the lowest ids not taken.
pub(crate) fn iothread_ids(root: Node) -> Result<CpuSet, DocumentError> {
    let listed: CpuSet = child(root, "iothreadids")
        .into_iter()
        .flat_map(|ids| children(ids, "iothread"))
        .filter_map(|thread| c_unsigned(thread.attribute("id")?, Base::Decimal))
        .filter(|&id| id > 0)
        .collect();
    let count = match child(root, "iothreads") {
        Some(node) => number(node, "a number of I/O threads")? as usize,
        None => 0,
    };
    let mut ids = listed.clone();
    let mut missing = count.saturating_sub(listed.len());
    let free = CpuSet::from_range(1, u32::MAX).difference(&listed);
    for &(lo, hi) in free.ranges() {
        if missing == 0 {
            break;
        }
        let take = missing.min((hi - lo) as usize + 1);
        ids.insert_range(lo, lo + take as u32 - 1);
        missing -= take;
    }
    Ok(ids)
}

/// The pins of every `<cputune>`, as libvirt's `virDomainDefTunaParse`
/// reads them: its XPath `./cputune/vcpupin` (and `emulatorpin`,
/// `iothreadpin`) gathers the children of every `<cputune>` into one list,
/// ids read by `virXMLPropUInt` in base 10 and sets by `virBitmapParse`.
/// The rewrite, the migration check and the warnings all read pins here.
#[derive(Debug, Clone)]
pub(crate) struct TunedPin<'a, 'i> {
    pub node: Node<'a, 'i>,
    /// The vCPU or I/O thread; 0 for the emulator.
    pub id: u32,
    /// `None` where libvirt could not read the set (it refuses the domain).
    pub cpuset: Option<CpuSet>,
}

/// Every pin element called `name` (`vcpupin`, `emulatorpin`,
/// `iothreadpin`) in every `<cputune>`, in document order; one whose id
/// libvirt could not read is left to libvirt, which refuses the domain.
pub(crate) fn tuned_pins<'a, 'i>(root: Node<'a, 'i>, name: &'static str) -> Vec<TunedPin<'a, 'i>> {
    let id_attribute = match name {
        "vcpupin" => Some("vcpu"),
        "iothreadpin" => Some("iothread"),
        _ => None,
    };
    children(root, "cputune")
        .flat_map(|cputune| children(cputune, name))
        .filter_map(|node| {
            let id = match id_attribute {
                Some(attribute) => c_unsigned(node.attribute(attribute)?, Base::Decimal)?,
                None => 0,
            };
            let cpuset = node
                .attribute("cpuset")
                .and_then(|set| libvirt_bitmap(set, BITMAP_SIZE));
            Some(TunedPin { node, id, cpuset })
        })
        .collect()
}

/// `(id, cpuset)` of each readable pin element called `name`.
pub(crate) fn pins(root: Node, name: &'static str) -> Vec<(u32, CpuSet)> {
    tuned_pins(root, name)
        .into_iter()
        .filter_map(|pin| Some((pin.id, pin.cpuset?)))
        .collect()
}

/// The emulator threads' pin already in the VM, in whichever `<cputune>`.
pub(crate) fn emulator_pin(root: Node) -> Option<CpuSet> {
    tuned_pins(root, "emulatorpin").into_iter().next()?.cpuset
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(xml: &str) -> String {
        let doc = roxmltree::Document::parse(xml).unwrap();
        iothread_ids(doc.root_element()).unwrap().to_string()
    }

    #[test]
    fn ids_follow_libvirt_numbering() {
        assert_eq!(ids("<domain/>"), "");
        assert_eq!(ids("<domain><iothreads>3</iothreads></domain>"), "1-3");
        assert_eq!(
            ids("<domain><iothreads>3</iothreads><iothreadids><iothread id='7'/></iothreadids></domain>"),
            "1-2,7"
        );
        assert_eq!(
            ids("<domain><iothreadids><iothread id='2'/><iothread id='4'/></iothreadids></domain>"),
            "2,4"
        );
        assert_eq!(
            ids("<domain><iothreads>2</iothreads><iothreadids><iothread id='4000000000'/></iothreadids></domain>"),
            "1,4000000000"
        );
    }

    #[test]
    fn pins_of_every_cputune_are_read() {
        let xml = "<domain><cputune><vcpupin vcpu='0' cpuset='0'/></cputune>\
            <cputune><emulatorpin cpuset='3, 5'/><iothreadpin iothread='1' cpuset='3'/></cputune></domain>";
        let doc = roxmltree::Document::parse(xml).unwrap();
        let root = doc.root_element();
        assert_eq!(pins(root, "vcpupin"), [(0, "0".parse().unwrap())]);
        assert_eq!(
            emulator_pin(root).map(|s| s.to_string()).as_deref(),
            Some("3,5")
        );
        assert_eq!(pins(root, "iothreadpin"), [(1, "3".parse().unwrap())]);
    }
}
