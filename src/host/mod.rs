//! The host the VM starts on, as sysfs and procfs describe it, and the one
//! thing the hook changes on it: KSM's merge_across_nodes. Imports
//! `properties` (the set grammar) and the words.

pub mod files;
pub(crate) mod guests;
pub(crate) mod hugepages;
pub(crate) mod isolation;
pub(crate) mod kernel;
pub(crate) mod ksm;
pub mod leased;
pub(crate) mod mom;
pub mod paths;
pub(crate) mod pci;
pub(crate) mod replace;
pub(crate) mod sudo;
pub mod topology;
