//! The few elements of a domain XML the hook reads, found in one scan, and
//! a short text in which everything else is left out. roxmltree builds its
//! tree from that text: the elements the hook reads are there whole, and
//! [`Offsets`] takes any offset in it back to the document, so the facts,
//! the plan and the splice read and edit them as before, while the
//! thousands of devices cost a scan instead of a tree (and roxmltree never
//! reads the megabyte the hook does not: it reads a character at a time).
//!
//! A child of `<domain>` the hook does not read keeps its start tag (its
//! name and attributes, which decide where a new element goes) and becomes
//! an empty element: `<os>...</os>` reads `<os/>`. Devices it does not read
//! disappear into one empty `<_/>` per run of them.

use std::ops::Range;

use crate::xml::boundaries::{self, Boundaries};
pub use crate::xml::prune::Offsets;
use crate::xml::prune::{self, Gap};
use crate::xml::scan::{Attribute, QName, StartTag, Visitor, NAMESPACE_LIMIT};

/// An element the hook reads or edits.
#[derive(Debug, Clone, Copy)]
pub enum Needed {
    /// A child of `<domain>`.
    Child(&'static str),
    /// A child of `<devices>`.
    Device(&'static str),
    /// A child of `<devices>` with this `type`.
    DeviceOfType(&'static str, &'static str),
}

/// Everything the hook reads or edits, kept whole in the tree. A plan or a
/// splice that reads another element must add it here: anything else is
/// an empty element in the tree (a child of `<domain>`) or not there at
/// all (a device). Public, with the names below, because the tests'
/// oracle (`tests/it/support/agreement.rs`) checks the tree against them.
pub const NEEDED: &[Needed] = &[
    Needed::Child("maxMemory"),
    Needed::Child("memory"),
    Needed::Child("currentMemory"),
    Needed::Child("memoryBacking"),
    Needed::Child("vcpu"),
    Needed::Child("vcpus"),
    Needed::Child("iothreads"),
    Needed::Child("iothreadids"),
    Needed::Child("cputune"),
    Needed::Child("numatune"),
    Needed::Child("cpu"),
    Needed::Device("memory"),
    Needed::Device("hostdev"),
    Needed::DeviceOfType("interface", "hostdev"),
];

/// The entries of [`NEEDED`] a device can match, picked out once, at
/// compile time: each of thousands of devices is checked against these.
const NEEDED_DEVICES: [Needed; devices_in(NEEDED)] = only_devices(NEEDED);

const fn devices_in(list: &[Needed]) -> usize {
    let (mut at, mut count) = (0, 0);
    while at < list.len() {
        if !matches!(list[at], Needed::Child(_)) {
            count += 1;
        }
        at += 1;
    }
    count
}

const fn only_devices<const N: usize>(list: &[Needed]) -> [Needed; N] {
    let mut devices = [Needed::Child(""); N];
    let (mut at, mut count) = (0, 0);
    while at < list.len() {
        if !matches!(list[at], Needed::Child(_)) {
            devices[count] = list[at];
            count += 1;
        }
        at += 1;
    }
    devices
}

/// The child of `<domain>` whose own children are sorted out one by one.
pub const DEVICES: &str = "devices";

/// In `<metadata>`, the engine's `<ovirt-vm:vm>` is kept but for its
/// children, which are sorted out as devices are: only these are read (by
/// `domain::metadata`), and a VM has an entry per device there besides.
/// The names are matched without their prefix; roxmltree checks the
/// namespace on what is kept.
pub const METADATA: &str = "metadata";
pub const METADATA_VM: &str = "vm";
pub const METADATA_NEEDED: &[&str] = &["cpuPolicy", "manuallyPinedCPUs"];

/// The pruned text roxmltree parses, where its offsets are in the
/// document, and where the output check can resume a scan of it.
/// Owned by the caller of `document::parse`, since the tree borrows the
/// text.
#[derive(Debug, Default)]
pub struct Pruned {
    text: String,
    /// After each gap left out: its offset in the text, and in the document.
    jumps: Vec<(usize, usize)>,
    boundaries: Option<Boundaries>,
}

impl Pruned {
    /// Scans `document`; on success this holds its pruned text. A refusal
    /// is not final: roxmltree parses the whole document then, for its
    /// verdict and its message.
    pub fn prune(&mut self, document: &str) -> bool {
        // A refusal leaves nothing of an earlier document behind.
        *self = Pruned::default();
        let mut locator = Locator::new(document);
        let Ok((summary, boundaries)) = boundaries::document(document, &mut locator) else {
            return false;
        };
        if summary.namespace_declarations > NAMESPACE_LIMIT {
            return false;
        }
        let Some((text, jumps)) = prune::leave_out(document, &mut locator.gaps) else {
            return false;
        };
        self.text = text;
        self.jumps = jumps;
        self.boundaries = Some(boundaries);
        true
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Where the offsets of a tree of [`Pruned::text`] are in the document.
    pub fn offsets(&self) -> Offsets<'_> {
        Offsets::new(&self.jumps)
    }

    /// What the output check needs to know of the document, if the scan
    /// accepted it.
    pub fn boundaries(&self) -> Option<&Boundaries> {
        self.boundaries.as_ref()
    }
}

/// What the scan finds that matters for the pruned text.
struct Locator<'t> {
    text: &'t str,
    gaps: Vec<Gap>,
    /// The closing quote of the first attribute in document order.
    first_attribute: Option<(usize, u8)>,
    /// The `>` of a child of `<domain>` blanked from there to its end.
    gap_from: Option<(usize, bool)>,
    in_devices: bool,
    /// Inside `<metadata>`, and inside its `<ovirt-vm:vm>`.
    in_metadata: bool,
    in_metadata_vm: bool,
    /// Whether the current device (or entry of `<ovirt-vm:vm>`) is kept.
    device_needed: bool,
    /// The devices not kept since the last one kept.
    run: Option<Range<usize>>,
}

impl<'t> Locator<'t> {
    fn new(text: &'t str) -> Self {
        Locator {
            text,
            gaps: Vec::new(),
            first_attribute: None,
            gap_from: None,
            in_devices: false,
            in_metadata: false,
            in_metadata_vm: false,
            device_needed: false,
            run: None,
        }
    }

    /// The document's first quote, if its first attribute is in `range`
    /// and the stand-in can carry an attribute `_` (its start tag has none).
    fn first_quote(&self, range: &Range<usize>, clashes: bool) -> Option<u8> {
        match self.first_attribute {
            Some((at, quote)) if range.contains(&at) && !clashes => Some(quote),
            _ => None,
        }
    }

    fn end_run(&mut self) {
        if let Some(range) = self.run.take() {
            let first_quote = self.first_quote(&range, false);
            self.gaps.push(Gap {
                range,
                whole: true,
                first_quote,
            });
        }
    }

    fn child_of_root(&mut self, tag: &StartTag) {
        if tag.empty {
            return;
        }
        if is_plain(tag.name, DEVICES) {
            self.in_devices = true;
        } else if is_plain(tag.name, METADATA) {
            self.in_metadata = true;
        } else if !NEEDED.iter().any(|kept| kept.is_child(tag.name)) {
            let clashes = tag.attributes.iter().any(|a| is_plain(a.name, "_"));
            self.gap_from = Some((tag.range.end - 1, clashes));
        }
    }

    fn device(&mut self, tag: &StartTag) {
        self.device_needed = NEEDED_DEVICES.iter().any(|kept| kept.is_device(tag));
        self.sort(tag);
    }

    fn metadata_entry(&mut self, tag: &StartTag) {
        self.device_needed = METADATA_NEEDED.contains(&tag.name.local);
        self.sort(tag);
    }

    /// A kept child ends the run of blanked ones before it; another one
    /// joins the run.
    fn sort(&mut self, tag: &StartTag) {
        if self.device_needed {
            return self.end_run();
        }
        let run = self.run.get_or_insert(tag.range.clone());
        run.end = tag.range.end;
    }
}

impl<'t> Visitor<'t> for Locator<'t> {
    #[inline]
    fn start_tag(&mut self, tag: &StartTag<'_, 't>) {
        if let (None, Some(first)) = (self.first_attribute, tag.attributes.first()) {
            let quote = first.range.end - 1;
            self.first_attribute = Some((quote, self.text.as_bytes()[quote]));
        }
        match tag.depth {
            1 => self.child_of_root(tag),
            2 if self.in_devices => self.device(tag),
            2 if self.in_metadata && tag.name.local == METADATA_VM && !tag.empty => {
                self.in_metadata_vm = true;
            }
            3 if self.in_metadata_vm => self.metadata_entry(tag),
            _ => {}
        }
    }

    #[inline]
    fn end_tag(&mut self, depth: usize, range: Range<usize>) {
        match depth {
            1 => {
                if let Some((from, clashes)) = self.gap_from.take() {
                    let range = from..range.end;
                    let first_quote = self.first_quote(&range, clashes);
                    self.gaps.push(Gap {
                        range,
                        whole: false,
                        first_quote,
                    });
                }
                if self.in_devices {
                    self.end_run();
                    self.in_devices = false;
                }
                self.in_metadata = false;
            }
            2 if self.in_devices && !self.device_needed => {
                if let Some(run) = &mut self.run {
                    run.end = range.end;
                }
            }
            2 if self.in_metadata_vm => {
                self.end_run();
                self.in_metadata_vm = false;
            }
            3 if self.in_metadata_vm && !self.device_needed => {
                if let Some(run) = &mut self.run {
                    run.end = range.end;
                }
            }
            _ => {}
        }
    }
}

impl Needed {
    pub fn is_child(&self, name: QName) -> bool {
        matches!(self, Needed::Child(kept) if is_plain(name, kept))
    }

    /// A `type` with a reference in it is kept whatever it says. Inlined:
    /// it is asked once per kept kind for each of thousands of devices.
    #[inline]
    pub fn is_device(&self, tag: &StartTag) -> bool {
        match *self {
            Needed::Child(_) => false,
            Needed::Device(kept) => is_plain(tag.name, kept),
            Needed::DeviceOfType(kept, kind) => {
                let of_kind = |a: &&Attribute| {
                    is_plain(a.name, "type") && (a.value.contains('&') || a.value.trim() == kind)
                };
                is_plain(tag.name, kept) && tag.attributes.iter().any(|a| of_kind(&a))
            }
        }
    }
}

/// The name with no prefix, as the hook's lookups want it.
#[inline]
pub fn is_plain(name: QName, local: &str) -> bool {
    name.prefix.is_empty() && name.local == local
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The devices checked are those of `NEEDED`, in its order, and only
    /// those.
    #[test]
    fn needed_devices_are_the_device_entries_of_needed() {
        let devices = |list: &[Needed]| -> Vec<String> {
            list.iter()
                .filter(|kept| !matches!(kept, Needed::Child(_)))
                .map(|kept| format!("{kept:?}"))
                .collect()
        };
        let picked: Vec<String> = NEEDED_DEVICES.iter().map(|k| format!("{k:?}")).collect();
        assert_eq!(picked, devices(NEEDED));
        assert_eq!(picked.len(), 3, "{picked:?}");
    }
}
