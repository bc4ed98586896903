//! Which executable a benchmark measures, and the marker that lets the
//! LARGEGUEST_* test variables count beside it (commands::environment); a
//! benchmark's fake host needs them.

use std::fs;
use std::path::{Path, PathBuf};

/// `LARGEGUEST_BENCH_HOOK` names the executable to measure (what
/// `benches/shipped.sh` builds as the RPM's spec does); without it, the
/// one cargo built for this benchmark. That one is not quite what ships:
/// building a benchmark turns on the dev-dependencies' crate features
/// (memchr's run-time CPU detection among them) in the executable too.
pub(crate) fn hook() -> PathBuf {
    std::env::var_os("LARGEGUEST_BENCH_HOOK")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_vdsm-hook-largeguest")))
}

pub(crate) fn allow_test_variables(hook: &Path) {
    let marker = hook.with_file_name("largeguest-test-overrides");
    fs::write(marker, "lets the LARGEGUEST_* test variables count here\n").expect("marker");
}
