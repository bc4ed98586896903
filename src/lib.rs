//! vdsm-hook-largeguest: per-vCPU pinning, memory binding and guest NUMA cells
//! for large oVirt guests, written into the domain XML by a VDSM hook.
//!
//! The library holds everything; `main.rs` only wires the command line to it,
//! so that tests, benchmarks and fuzz targets drive the same code VDSM runs.

pub mod apply;
pub mod check;
pub mod cli;
pub mod cpuset;
pub mod cputune;
pub mod domain;
pub mod engine_config;
pub mod error;
pub mod exit_codes;
pub mod fit;
pub mod guestnuma;
pub mod hook;
pub mod ksm;
pub mod ksm_sudo;
pub mod numatune;
pub mod output;
pub mod planner;
pub mod property;
pub mod rewrite;
pub mod topology;
pub mod validate;
pub mod verify;
pub mod xml_edit;
