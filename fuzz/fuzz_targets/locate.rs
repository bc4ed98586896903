//! The pruned tree against roxmltree's tree of the whole document, on any
//! text, and the output check against a whole parse, on any edit of it.
//!
//! Input: two little-endian u16 offsets, then the document, a NUL, and the
//! text an edit puts between those offsets. Checked: the scan accepts
//! exactly what roxmltree accepts, and the pruned tree shows the hook the
//! same root, the same children of `<domain>` and the same kept elements
//! at the same offsets, in the same style (`agreement::disagreement`); and
//! for an accepted document, the output check (which scans only what the
//! edit changed) accepts the edited text exactly when roxmltree does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vdsm_hook_largeguest::domain::document::{self, parse_whole, DocumentError, Pruned};
use vdsm_hook_largeguest::xml::{check, edited::Edited};
use vdsm_hook_largeguest_fuzz::agreement::disagreement;

/// The nearest character boundary at or before `at`.
fn boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fuzz_target!(|data: &[u8]| {
    let Some((offsets, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let Ok(rest) = std::str::from_utf8(rest) else {
        return;
    };
    let (text, insertion) = rest.split_once('\0').unwrap_or((rest, ""));
    if let Some(why) = disagreement(text) {
        panic!("{why}\n{text:?}");
    }
    let mut pruned = Pruned::default();
    if document::parse(text, &mut pruned).is_err() {
        return;
    }
    let a = boundary(text, usize::from(u16::from_le_bytes([offsets[0], offsets[1]])));
    let b = boundary(text, usize::from(u16::from_le_bytes([offsets[2], offsets[3]])));
    let (start, end) = (a.min(b), a.max(b));
    let edited = Edited::new(text, vec![(start..end, insertion.to_string())]);
    let after = edited.to_string();
    let checked = check::edit(&edited, pruned.boundaries())
        .map_err(|refused| DocumentError::from(refused).to_string());
    let whole = parse_whole(&after).map(drop).map_err(|e| e.to_string());
    assert_eq!(
        checked, whole,
        "the output check and a whole parse disagree on\n{text:?}\nedited to\n{after:?}"
    );
});
