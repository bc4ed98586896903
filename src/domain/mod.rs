//! The domain XML as libvirt reads it: the few elements the hook needs,
//! found by a scan, and the facts the plan decides on. Imports `xml`.

pub mod devices;
pub mod document;
pub mod facts;
pub mod hugepages;
pub mod locate;
pub mod metadata;
pub mod threads;
pub mod values;
