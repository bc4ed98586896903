//! The VM's own threads as the domain XML declares and pins them: its I/O
//! threads, and the `<cputune>` pins already there.

use roxmltree::Node;

use crate::cpuset::{CpuSet, MAX_ID};
use crate::domain::document::{number, DocumentError};
use crate::xml::read::{child, children};

/// The I/O thread ids libvirt gives the VM: those `<iothreadids>` lists,
/// then, up to the `<iothreads>` count, the lowest ids not taken.
pub(crate) fn iothread_ids(root: Node) -> Result<CpuSet, DocumentError> {
    let listed: CpuSet = child(root, "iothreadids")
        .into_iter()
        .flat_map(|ids| children(ids, "iothread"))
        .filter_map(|thread| thread.attribute("id")?.trim().parse::<u32>().ok())
        .filter(|&id| (1..=MAX_ID).contains(&id))
        .collect();
    let count = match child(root, "iothreads") {
        Some(node) => number(node, "a number of I/O threads")? as usize,
        None => 0,
    };
    let mut ids = listed.clone();
    let mut missing = count.saturating_sub(listed.len());
    let free = CpuSet::from_range(1, MAX_ID).difference(&listed);
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

/// `(id, cpuset)` of each pin element called `name` with id attribute
/// `id`; an element libvirt would refuse (no id, a bad set) is left to it.
pub(crate) fn pins(root: Node, name: &'static str, id: &str) -> Vec<(u32, CpuSet)> {
    child(root, "cputune")
        .into_iter()
        .flat_map(|cputune| children(cputune, name))
        .filter_map(|pin| {
            let which = pin.attribute(id)?.trim().parse().ok()?;
            Some((which, pin.attribute("cpuset")?.parse().ok()?))
        })
        .collect()
}

/// The emulator threads' pin already in the VM.
pub(crate) fn emulator_pin(root: Node) -> Option<CpuSet> {
    let pin = child(child(root, "cputune")?, "emulatorpin")?;
    pin.attribute("cpuset")?.parse().ok()
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
    }
}
