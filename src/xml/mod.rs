//! XML with no libvirt in it: a scan that checks a document without a tree,
//! reading children by name, format-preserving edits of its text, and the
//! check that an edited text is still a document. Imports only the crate's
//! words (`wording`).

pub mod boundaries;
pub mod check;
pub mod edit;
pub mod edited;
pub mod prune;
pub mod read;
pub mod scan;
