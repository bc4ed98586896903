//! XML with no libvirt in it: a scan that checks a document without a tree,
//! reading children by name, and format-preserving edits of its text.
//! Imports no module of the crate.

pub mod edit;
pub mod read;
pub mod scan;
