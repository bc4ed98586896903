//! The domain XML: reading it as libvirt does, and editing it byte for byte.

pub mod agreement;
pub mod devices;
pub mod document;
pub mod facts;
pub mod hugepages;
pub mod locate;
pub mod metadata;
pub mod scan;
pub mod threads;
pub mod values;
pub mod xml_edit;
