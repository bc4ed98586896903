//! Whether an edited document is still a document, in a fraction of a
//! parse: the scan of the original marked where it can resume between the
//! children of the root ([`Boundaries`]), and only the stretch between two
//! such marks that holds every edit is scanned again. roxmltree has the
//! last word on anything this cannot show, with its message.

use std::ops::Range;

use crate::xml::boundaries::Boundaries;
use crate::xml::edited::Edited;
use crate::xml::read::{self, Refused};
use crate::xml::scan::{self, NAMESPACE_LIMIT};

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
    let root_tag = &edited.original()[boundaries.root_tag()];
    let mut text = String::from(root_tag);
    edited.render_stretch(changed, &mut text);
    let content = root_tag.len()..text.len();
    match scan::root_content(&text, 0..root_tag.len(), content) {
        Ok(summary) => {
            summary.namespace_declarations + boundaries.namespace_declarations() <= NAMESPACE_LIMIT
        }
        Err(_) => false,
    }
}
