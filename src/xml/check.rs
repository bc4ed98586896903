//! Whether an edited document is still a document, in a fraction of a
//! parse: the scan of the original marks where it can resume between the
//! children of the root, and only the stretch between two such marks that
//! holds every edit is scanned again. roxmltree has the last word on
//! anything this cannot show, with its message.

use std::ops::Range;

use crate::xml::edited::Edited;
use crate::xml::read::{self, Refused};
use crate::xml::scan::{self, Malformed, StartTag, Summary, Visitor, NAMESPACE_LIMIT};

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
    fn changed(&self, edits: Range<usize>) -> Option<Range<usize>> {
        let start = *self
            .after_markup
            .iter()
            .rev()
            .find(|&&at| at <= edits.start)?;
        let end = *self.before_markup.iter().find(|&&at| at >= edits.end)?;
        Some(start..end)
    }
}

/// Whether `edited` is still a document. `boundaries` are those of its
/// original, which was scanned whole; without them it is scanned whole.
/// Refused with roxmltree's message for the whole edited text.
pub fn edit(edited: &Edited, boundaries: Option<&Boundaries>) -> Result<(), Refused> {
    let Some(edits) = edited.span() else {
        return Ok(());
    };
    let resumed = boundaries.and_then(|b| Some((b, b.changed(edits)?)));
    if let Some((boundaries, changed)) = resumed {
        if changed_is_well_formed(edited, boundaries, changed) {
            return Ok(());
        }
    }
    let whole = edited.to_string();
    let scanned = scan::document(&whole, &mut ())
        .is_ok_and(|summary| summary.namespace_declarations <= NAMESPACE_LIMIT);
    match scanned {
        true => Ok(()),
        false => read::parse(&whole).map(drop),
    }
}

/// The changed stretch scanned as the root's content: the root's start tag
/// and the stretch rendered alone, a few KB where the whole is a megabyte.
/// `false` means only that it could not be shown this way.
fn changed_is_well_formed(edited: &Edited, boundaries: &Boundaries, changed: Range<usize>) -> bool {
    let root_tag = &edited.original()[boundaries.root_tag.clone()];
    let mut text = String::from(root_tag);
    edited.render_stretch(changed, &mut text);
    let content = root_tag.len()..text.len();
    match scan::root_content(&text, 0..root_tag.len(), content) {
        Ok(summary) => {
            summary.namespace_declarations + boundaries.namespace_declarations <= NAMESPACE_LIMIT
        }
        Err(_) => false,
    }
}
