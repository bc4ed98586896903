//! Every integration test, in one binary: one module per area, and
//! `support` for what they share (the executable and a clean environment to
//! run it in, temporary folders, fake sysfs trees, the samples and their
//! cases). One binary links the library once, not once per file.
//!
//! Tests that need root are `#[ignore = "needs root"]`: a run without root
//! lists them as ignored. `tests/run-all.sh` runs them with
//! `--include-ignored`, as root on CI.

#[macro_use]
mod support;

mod check_cli;
mod closed_stdout;
mod cpu_policy;
mod domain_proptest;
mod fidelity;
mod grammar;
mod grammar_proptest;
mod help_texts;
mod hook_protocol;
mod hostile;
mod ksm_concurrency;
mod ksm_fake;
mod ksm_mom;
mod ksm_real_kernel;
mod ksm_sudo;
mod libvirt_agreement;
mod libvirt_agreement_proptest;
mod libvirt_validate;
mod locate;
mod messages;
mod prepare;
mod qemu_generated;
mod recipe;
mod regex_agreement;
mod rewrite_snapshots;
mod suggest_hook;
mod suggest_rules;
mod suggest_snapshots;
mod topology_alignment;
mod topology_limits;
mod topology_snapshots;
mod verify_fleet;
mod verify_trees;
