//! An edited document kept as the original and its edits: written out as
//! the original's slices between the edits and the fresh text, so that a
//! megabyte document is never copied into a second megabyte to be written.

use std::convert::Infallible;
use std::fmt;
use std::io::{self, Write};
use std::ops::Range;

/// The original text and what replaces which of its byte ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited<'t> {
    original: &'t str,
    /// Sorted by where they start; insertions at a point before a
    /// replacement starting there, in the order they were made.
    edits: Vec<(Range<usize>, String)>,
}

impl<'t> Edited<'t> {
    /// The edits of `original`, in any order. Ranges must lie on character
    /// boundaries of `original`.
    pub fn new(original: &'t str, mut edits: Vec<(Range<usize>, String)>) -> Edited<'t> {
        edits.sort_by_key(|(range, _)| (range.start, range.end));
        Edited { original, edits }
    }

    pub fn original(&self) -> &'t str {
        self.original
    }

    /// From the start of the first edit to the end of the last, in the
    /// original; `None` when nothing was edited.
    pub fn span(&self) -> Option<Range<usize>> {
        let start = self.edits.first()?.0.start;
        let end = self.edits.iter().map(|(range, _)| range.end).max()?;
        Some(start..end)
    }

    /// The edited text in order, piece by piece: what stands of the
    /// original from `from` to `to`, which hold every edit, and the edits'
    /// text. Ranges that overlap keep the original's bytes once.
    fn each_piece<E>(
        &self,
        from: usize,
        to: usize,
        mut piece: impl FnMut(&str) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut done = from;
        for (range, new) in &self.edits {
            piece(&self.original[done..range.start.max(done)])?;
            piece(new)?;
            done = done.max(range.end);
        }
        piece(&self.original[done..to.max(done)])
    }

    /// True when the edits give back the original byte for byte (a second
    /// run over its own output), so that nothing needs writing.
    pub fn is_unchanged(&self) -> bool {
        let original = self.original.as_bytes();
        let mut at = 0;
        let same = self.each_piece(0, original.len(), |piece| {
            let piece = piece.as_bytes();
            let there = original.get(at..at + piece.len()).ok_or(())?;
            // A slice of the original in its own place needs no comparing.
            if there.as_ptr() != piece.as_ptr() && there != piece {
                return Err(());
            }
            at += piece.len();
            Ok(())
        });
        same.is_ok() && at == original.len()
    }

    /// The whole edited text, written piece by piece.
    pub fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        self.each_piece(0, self.original.len(), |piece| {
            out.write_all(piece.as_bytes())
        })
    }

    /// What `stretch` of the original, which holds every edit, became.
    pub(crate) fn render_stretch(&self, stretch: Range<usize>, out: &mut String) {
        let Ok(()) = self.each_piece::<Infallible>(stretch.start, stretch.end, |piece| {
            out.push_str(piece);
            Ok(())
        });
    }
}

/// The whole edited text, for a dry run's output and for tests.
impl fmt::Display for Edited<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.each_piece(0, self.original.len(), |piece| f.write_str(piece))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edited(text: &str, edits: &[(Range<usize>, &str)]) -> String {
        let edits = edits.iter().map(|(r, t)| (r.clone(), t.to_string()));
        Edited::new(text, edits.collect()).to_string()
    }

    #[test]
    fn edits_apply_in_text_order_whatever_order_they_were_made_in() {
        let edits = [(6..8, "G"), (0..0, "<"), (1..3, "B")];
        assert_eq!(edited("abcdefgh", &edits), "<aBdefG");
    }

    #[test]
    fn edits_at_one_position_insert_first_in_the_order_made() {
        let edits = [
            (2..4, "X"),
            (2..2, "1"),
            (2..2, "2"),
            (4..5, "Y"),
            (6..6, "3"),
        ];
        assert_eq!(edited("abcdefg", &edits), "ab12XYf3g");
    }

    #[test]
    fn no_edits_give_the_text_back() {
        let none = Edited::new("<a>\r\n</a>", Vec::new());
        assert_eq!(none.to_string(), "<a>\r\n</a>");
        assert!(none.is_unchanged());
        assert_eq!(none.span(), None);
    }

    #[test]
    fn an_edit_that_writes_what_was_there_leaves_it_unchanged() {
        let same = Edited::new("<a><b/></a>", vec![(3..7, "<b/>".into())]);
        assert!(same.is_unchanged());
        let other = Edited::new("<a><b/></a>", vec![(3..7, "<c/>".into())]);
        assert!(!other.is_unchanged());
        let longer = Edited::new("<a><b/></a>", vec![(3..3, " ".into())]);
        assert!(!longer.is_unchanged());
    }

    #[test]
    fn what_is_written_is_what_is_shown() {
        let edits = vec![(3..7, "<c x='1'/>".to_string()), (0..0, "<!-- -->".into())];
        let edited = Edited::new("<a><b/></a>", edits);
        let mut written = Vec::new();
        edited.write_to(&mut written).unwrap();
        assert_eq!(String::from_utf8(written).unwrap(), edited.to_string());
        assert_eq!(edited.span(), Some(0..7));
        let mut stretch = String::new();
        edited.render_stretch(0..7, &mut stretch);
        assert_eq!(stretch, "<!-- --><a><c x='1'/>");
    }
}
