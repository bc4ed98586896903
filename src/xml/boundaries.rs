//! Where a scan of a document can resume: between two children of the
//! root the only state is the root's start tag. Marked by the scan that
//! reads the document on the way in, used by the check of its edit.

use std::ops::Range;

use crate::xml::scan::{self, Malformed, StartTag, Summary, Visitor};

/// Where the scan of a document can resume between the children of its
/// root: between two children the only state is the root's start tag.
#[derive(Debug, Clone, Default)]
pub struct Boundaries {
    root_tag: Range<usize>,
    /// Right after the root's start tag and after each child element.
    after_markup: Vec<usize>,
    /// Each child element's start, and the root's end tag.
    before_markup: Vec<usize>,
    namespace_declarations: usize,
}

/// Scans a whole document for `visitor`, and marks its boundaries on the way.
pub fn document<'t>(
    text: &'t str,
    visitor: &mut impl Visitor<'t>,
) -> Result<(Summary, Boundaries), Malformed> {
    let mut marking = Marking {
        visitor,
        boundaries: Boundaries::default(),
    };
    let summary = scan::document(text, &mut marking)?;
    let boundaries = Boundaries {
        namespace_declarations: summary.namespace_declarations,
        ..marking.boundaries
    };
    Ok((summary, boundaries))
}

/// Hands every tag on to the caller's visitor, noting the root's children.
struct Marking<'v, V> {
    visitor: &'v mut V,
    boundaries: Boundaries,
}

impl<'t, V: Visitor<'t>> Visitor<'t> for Marking<'_, V> {
    #[inline]
    fn start_tag(&mut self, tag: &StartTag<'_, 't>) {
        let marks = &mut self.boundaries;
        match tag.depth {
            0 => {
                marks.root_tag = tag.range.clone();
                if !tag.empty {
                    marks.after_markup.push(tag.range.end);
                }
            }
            1 => {
                marks.before_markup.push(tag.range.start);
                if tag.empty {
                    marks.after_markup.push(tag.range.end);
                }
            }
            _ => {}
        }
        self.visitor.start_tag(tag);
    }

    #[inline]
    fn end_tag(&mut self, depth: usize, range: Range<usize>) {
        match depth {
            0 => self.boundaries.before_markup.push(range.start),
            1 => self.boundaries.after_markup.push(range.end),
            _ => {}
        }
        self.visitor.end_tag(depth, range);
    }
}

impl Boundaries {
    /// The stretch of the original to scan again: it holds every edit,
    /// starts after markup and ends before markup, so that no text run
    /// (which may not hold `]]>`) crosses its ends.
    pub(crate) fn changed(&self, edits: Range<usize>) -> Option<Range<usize>> {
        let start = *self
            .after_markup
            .iter()
            .rev()
            .find(|&&at| at <= edits.start)?;
        let end = *self.before_markup.iter().find(|&&at| at >= edits.end)?;
        Some(start..end)
    }

    pub(crate) fn root_tag(&self) -> Range<usize> {
        self.root_tag.clone()
    }

    /// Every declaration in the document, which an edit's count adds to.
    pub(crate) fn namespace_declarations(&self) -> usize {
        self.namespace_declarations
    }
}
