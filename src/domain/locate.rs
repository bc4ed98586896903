//! The few elements of a domain XML the hook reads, found in one scan, and
//! a text of the same length in which everything else is blanked out.
//! roxmltree builds its tree from that text: the elements the hook reads
//! are there whole, at the byte offsets they have in the document, so the
//! facts, the plan and the splice read and edit them as before, while the
//! thousands of devices cost a scan instead of a tree.
//!
//! A child of `<domain>` the hook does not read keeps its start tag (its
//! name and attributes, which decide where a new element goes) and becomes
//! an empty element: `<os>...</os>` reads `<os          />`. Devices it
//! does not read disappear into one empty `<_/>` per run of them.

use std::ops::Range;

use crate::domain::scan::{self, Attribute, QName, StartTag, Visitor, NAMESPACE_LIMIT};

/// An element the hook reads or edits.
#[derive(Debug, Clone, Copy)]
pub enum Kept {
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
/// all (a device).
pub const KEPT: &[Kept] = &[
    Kept::Child("maxMemory"),
    Kept::Child("memory"),
    Kept::Child("currentMemory"),
    Kept::Child("memoryBacking"),
    Kept::Child("vcpu"),
    Kept::Child("vcpus"),
    Kept::Child("iothreads"),
    Kept::Child("iothreadids"),
    Kept::Child("cputune"),
    Kept::Child("numatune"),
    Kept::Child("cpu"),
    Kept::Device("memory"),
    Kept::Device("hostdev"),
    Kept::DeviceOfType("interface", "hostdev"),
];

/// The child of `<domain>` whose own children are sorted out one by one.
pub(crate) const DEVICES: &str = "devices";

/// The reduced text roxmltree parses. Owned by the caller of
/// `document::parse`, since the tree borrows the text.
#[derive(Debug, Default)]
pub struct Reduced {
    text: String,
}

impl Reduced {
    /// Scans `document`; on success this holds its reduced text. A refusal
    /// is not final: roxmltree parses the whole document then, for its
    /// verdict and its message.
    pub fn reduce(&mut self, document: &str) -> bool {
        let mut locator = Locator::new(document);
        match scan::document(document, &mut locator) {
            Ok(summary) if summary.namespace_declarations <= NAMESPACE_LIMIT => {}
            _ => return false,
        }
        let Some(text) = blank(document, &locator.blanks) else {
            return false;
        };
        self.text = text;
        true
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

/// A byte range that becomes an empty element.
#[derive(Debug, Clone)]
struct Blank {
    range: Range<usize>,
    /// A run of devices, which needs its own `<_`; otherwise the range
    /// starts at the `>` of a start tag kept as written.
    whole: bool,
    filler: Filler,
}

/// What fills a blank: spaces are always right, but roxmltree reads an
/// attribute value faster than spaces in a tag (it finds the closing quote
/// with memchr), so a long blank is one attribute where that changes
/// nothing the hook sees.
#[derive(Debug, Clone, Copy)]
enum Filler {
    Spaces,
    /// `_='....'`, its closing quote at the offset given (where the first
    /// attribute of the document closes, with that quote, so the
    /// document's quote style reads the same) or at the end.
    Attribute(Option<(usize, u8)>),
}

/// What the scan finds that matters for the reduced text.
struct Locator<'t> {
    text: &'t str,
    blanks: Vec<Blank>,
    /// The closing quote of the first attribute in document order.
    first_attribute: Option<(usize, u8)>,
    /// The `>` of a child of `<domain>` blanked from there to its end.
    blank_from: Option<(usize, bool)>,
    in_devices: bool,
    /// Whether the current device is kept.
    device_kept: bool,
    /// The devices not kept since the last one kept.
    run: Option<Range<usize>>,
}

impl<'t> Locator<'t> {
    fn new(text: &'t str) -> Self {
        Locator {
            text,
            blanks: Vec::new(),
            first_attribute: None,
            blank_from: None,
            in_devices: false,
            device_kept: false,
            run: None,
        }
    }

    /// Attribute filler unless an attribute of the same name is already
    /// there, or the first attribute of the document comes later: the
    /// filler would then be the first, and the document's quote style
    /// would be read from it.
    fn filler(&self, range: &Range<usize>, clashes: bool) -> Filler {
        match self.first_attribute {
            Some((at, _)) if at < range.start && !clashes => Filler::Attribute(None),
            Some(first) if range.contains(&first.0) => Filler::Attribute(Some(first)),
            _ => Filler::Spaces,
        }
    }

    fn end_run(&mut self) {
        if let Some(range) = self.run.take() {
            let filler = self.filler(&range, false);
            self.blanks.push(Blank {
                range,
                whole: true,
                filler,
            });
        }
    }

    fn child_of_root(&mut self, tag: &StartTag) {
        if tag.empty {
            return;
        }
        if is_plain(tag.name, DEVICES) {
            self.in_devices = true;
        } else if !KEPT.iter().any(|kept| kept.is_child(tag.name)) {
            let clashes = tag.attributes.iter().any(|a| is_plain(a.name, "_"));
            self.blank_from = Some((tag.range.end - 1, clashes));
        }
    }

    fn device(&mut self, tag: &StartTag) {
        self.device_kept = KEPT.iter().any(|kept| kept.is_device(tag));
        if self.device_kept {
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
            _ => {}
        }
    }

    #[inline]
    fn end_tag(&mut self, depth: usize, range: Range<usize>) {
        match depth {
            1 => {
                if let Some((from, clashes)) = self.blank_from.take() {
                    let range = from..range.end;
                    let filler = self.filler(&range, clashes);
                    self.blanks.push(Blank {
                        range,
                        whole: false,
                        filler,
                    });
                }
                if self.in_devices {
                    self.end_run();
                    self.in_devices = false;
                }
            }
            2 if self.in_devices && !self.device_kept => {
                if let Some(run) = &mut self.run {
                    run.end = range.end;
                }
            }
            _ => {}
        }
    }
}

impl Kept {
    pub(crate) fn is_child(&self, name: QName) -> bool {
        matches!(self, Kept::Child(kept) if is_plain(name, kept))
    }

    /// A `type` with a reference in it is kept whatever it says.
    pub(crate) fn is_device(&self, tag: &StartTag) -> bool {
        match *self {
            Kept::Child(_) => false,
            Kept::Device(kept) => is_plain(tag.name, kept),
            Kept::DeviceOfType(kept, kind) => {
                let of_kind = |a: &&Attribute| {
                    is_plain(a.name, "type") && (a.value.contains('&') || a.value.trim() == kind)
                };
                is_plain(tag.name, kept) && tag.attributes.iter().any(|a| of_kind(&a))
            }
        }
    }
}

/// The name with no prefix, as the hook's lookups want it.
pub(crate) fn is_plain(name: QName, local: &str) -> bool {
    name.prefix.is_empty() && name.local == local
}

/// The document with each blank made an empty element of the same length.
/// Blanks start and end at `<` or `>`, and only ASCII is written, so the
/// result is UTF-8 wherever the document was.
fn blank(document: &str, blanks: &[Blank]) -> Option<String> {
    let mut bytes = document.as_bytes().to_vec();
    for blank in blanks {
        let out = &mut bytes[blank.range.clone()];
        let body = match blank.whole {
            true => {
                out[..2].copy_from_slice(b"<_");
                2..out.len() - 2
            }
            false => 0..out.len() - 2,
        };
        let len = out.len();
        out[len - 2..].copy_from_slice(b"/>");
        fill(
            &mut out[body.clone()],
            blank.range.start + body.start,
            blank.filler,
        );
    }
    String::from_utf8(bytes).ok()
}

/// Writes the filler into `out`, which starts at offset `at` of the text.
fn fill(out: &mut [u8], at: usize, filler: Filler) {
    out.fill(b' ');
    let (closing, quote) = match filler {
        Filler::Attribute(Some((offset, quote))) => (offset - at, quote),
        Filler::Attribute(None) if out.len() >= 5 => (out.len() - 1, b'"'),
        _ => return,
    };
    out[1..3].copy_from_slice(b"_=");
    out[3] = quote;
    out[4..closing].fill(b'.');
    out[closing] = quote;
}
