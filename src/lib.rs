//! vdsm-hook-largeguest: per-vCPU pinning, memory binding and guest NUMA cells
//! for large oVirt guests, written into the domain XML by a VDSM hook.
//!
//! The data path, one module a step: the environment -> `properties` (the
//! registry, parsing with `grammar`) -> `plan` (every decision and every
//! refusal, against the `domain` facts and the `host`) -> `splice` (the
//! byte-preserving edit) -> `rewrite` (the safety check and the atomic
//! write). `commands` sits on top and nothing below imports it; `main.rs`
//! only hands argv to `cli`, so tests, benchmarks and fuzz targets drive the
//! same code VDSM runs.

pub mod cli;
pub mod commands;
pub mod cpuset;
pub mod domain;
pub mod exit_codes;
pub mod grammar;
pub mod host;
pub mod migration;
pub mod output;
pub mod plan;
pub mod prepare;
pub mod properties;
pub mod rewrite;
pub mod splice;
pub mod suggest;
pub mod verify;
pub mod wording;
