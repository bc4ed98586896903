//! The host the VM starts on, as sysfs and procfs describe it, and the one
//! thing the hook changes on it: KSM's merge_across_nodes. Imports
//! `properties` (the set grammar) and the words.

pub mod files;
pub mod guests;
pub mod hugepages;
pub mod isolation;
pub mod kernel;
pub mod ksm;
pub mod mom;
pub mod pci;
pub mod sudo;
pub mod topology;
