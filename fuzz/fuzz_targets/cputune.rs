//! The `cputune` grammar on any text: no panic, accepted values are free of
//! markup and round-trip through their canonical form, refusals are one line.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    vdsm_hook_largeguest_fuzz::grammar(data, vdsm_hook_largeguest::properties::cputune::parse);
});
