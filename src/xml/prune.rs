//! A shortened copy of a document for a tree to be built from: byte ranges
//! a reader does not need are left out, each made an empty element, and
//! [`Offsets`] takes any offset of the copy back to the document, so that
//! an edit made through the tree lands in the document.

use std::ops::Range;

/// A byte range left out, which becomes an empty element.
#[derive(Debug, Clone)]
pub struct Gap {
    pub range: Range<usize>,
    /// A run of elements, which needs its own `<_`; otherwise the range
    /// starts at the `>` of a start tag kept as written.
    pub whole: bool,
    /// The quote of the document's first attribute, when it is in this
    /// range: the stand-in then carries an attribute quoted so, and the
    /// tree's first attribute is quoted as the document's (the editor
    /// writes in that quote).
    pub first_quote: Option<u8>,
}

/// Takes an offset in a tree's text to the same place in the document.
#[derive(Debug, Clone, Copy, Default)]
pub struct Offsets<'p> {
    jumps: &'p [(usize, usize)],
}

impl<'p> Offsets<'p> {
    /// A tree of the whole document: every offset is the document's.
    pub const SAME: Offsets<'static> = Offsets { jumps: &[] };

    /// After each gap left out: its offset in the text, and in the document.
    pub fn new(jumps: &'p [(usize, usize)]) -> Offsets<'p> {
        Offsets { jumps }
    }

    /// Offsets the tree can give: outside the stand-ins, or at their ends.
    pub fn original(&self, at: usize) -> usize {
        match self.jumps.partition_point(|&(text, _)| text <= at) {
            0 => at,
            after => {
                let (text, document) = self.jumps[after - 1];
                document + (at - text)
            }
        }
    }

    /// A range of the tree's text, in the document.
    pub fn range(&self, range: Range<usize>) -> Range<usize> {
        self.original(range.start)..self.original(range.end)
    }
}

/// The document with each gap made an empty element: `<_/>` for a run
/// of devices, `/>` closing a start tag kept as written. Gaps start and
/// end at `<` or `>`, so every piece kept is whole UTF-8 text; `None` if
/// one does not (the whole document is parsed then).
pub fn leave_out(document: &str, gaps: &mut [Gap]) -> Option<(String, Vec<(usize, usize)>)> {
    gaps.sort_by_key(|gap| gap.range.start);
    let kept: usize = document.len() - gaps.iter().map(|g| g.range.len()).sum::<usize>();
    let mut text = String::with_capacity(kept + 16 * gaps.len());
    let mut jumps = Vec::with_capacity(gaps.len());
    let mut done = 0;
    for gap in gaps.iter() {
        text.push_str(document.get(done..gap.range.start)?);
        text.push_str(if gap.whole { "<_" } else { "" });
        if let Some(quote) = gap.first_quote {
            let quote = char::from(quote);
            text.extend([' ', '_', '=', quote, quote]);
        }
        text.push_str("/>");
        done = gap.range.end;
        jumps.push((text.len(), done));
    }
    text.push_str(document.get(done..)?);
    Some((text, jumps))
}
