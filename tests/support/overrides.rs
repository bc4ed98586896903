//! The built program honours the `LARGEGUEST_*` test variables only where
//! its folder holds the marker file (`commands::environment`); the tests
//! that point it at fake trees put the marker there first.

#![allow(dead_code)] // each test crate uses its own part of this module

use std::path::{Path, PathBuf};

use vdsm_hook_largeguest::commands::environment::OVERRIDES_MARKER;

/// The program `cargo test` built.
pub const BIN: &str = env!("CARGO_BIN_EXE_vdsm-hook-largeguest");

/// Where the marker for the built program goes.
pub fn marker() -> PathBuf {
    Path::new(BIN).with_file_name(OVERRIDES_MARKER)
}

/// Lets the built program honour the test variables.
pub fn allow() {
    let marker = marker();
    if !marker.is_file() {
        let why =
            "lets the LARGEGUEST_* test variables move the host's paths for the program here\n";
        std::fs::write(&marker, why).expect("the test variables' marker");
    }
}
