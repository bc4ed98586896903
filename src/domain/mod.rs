//! The domain XML: reading it as libvirt does, and editing it byte for byte.

pub mod agreement;
pub mod document;
pub mod facts;
pub mod locate;
pub mod scan;
pub mod xml_edit;
