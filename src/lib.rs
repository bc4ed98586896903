//! vdsm-hook-largeguest: per-vCPU pinning, memory binding and guest NUMA cells
//! for large oVirt guests, written into the domain XML by a VDSM hook.
//!
//! The folders are the data path, in order: `commands` reads the
//! environment and the arguments -> `properties` (the registry and the
//! grammars) -> `domain` (the domain XML as libvirt reads it, on the generic
//! `xml` layer) and `host` -> `plan` (every decision and every refusal) ->
//! `splice` (the edits, handed to `xml`'s editor, which checks its result)
//! -> the atomic write; `commands::rewrite` calls each stage once, in that
//! order. A module imports only those listed above it here; `main.rs` only
//! hands argv to `commands::cli`, so tests, benchmarks and fuzz targets
//! drive the same code VDSM runs.
//!
//! The public API is what those drive: `commands::cli::main` and the
//! command table, the registry and the grammars, the domain reader, the
//! host's limits, `plan::plan`, the splice and the rewrite. The rest is
//! `pub(crate)`, and the `unreachable_pub` lint (Cargo.toml's `[lints]`)
//! keeps it so.

// The words every layer speaks: sets of CPU and node ids, and how messages
// quote and count.
pub mod cpuset;
pub mod wording;

// The pipeline, one folder a stage, in order (cargo fmt would sort the
// lines of one block, so each stands alone):
// XML with nothing of libvirt: the scan, the format-preserving edit.
pub mod xml;

// The custom properties: the registry and the grammars.
pub mod properties;

// The domain XML as libvirt reads it.
pub mod domain;

// The host the VM starts on.
pub mod host;

// Every decision and every refusal.
pub mod plan;

// The plan carried out on the bytes, as a list of edits.
pub mod splice;

// The jobs beside the hook: proposing properties, checking a running VM,
// preparing the host for the guests planned on it.
pub(crate) mod prepare;
pub mod suggest;
pub(crate) mod verify;

// On top: the executable's commands.
pub mod commands;
