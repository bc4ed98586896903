//! The domain XML as libvirt reads it: the few elements the hook needs,
//! found by a scan, and the facts the plan decides on. Imports `xml`.

pub(crate) mod devices;
pub mod document;
pub mod facts;
pub(crate) mod hugepages;
pub mod locate;
pub mod metadata;
pub(crate) mod threads;
pub(crate) mod values;
