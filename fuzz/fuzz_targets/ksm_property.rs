//! `ksm_merge_across_nodes`: exactly four spellings are accepted, and a
//! refusal of anything else is one short line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vdsm_hook_largeguest::properties::{Property, Value};

use vdsm_hook_largeguest_fuzz as common;

fuzz_target!(|data: &[u8]| {
    let Some(value) = common::value(data) else {
        return;
    };
    match Property::KsmMergeAcrossNodes.parse(value) {
        Ok(Value::Switch(wanted)) => {
            let expected = match value {
                "1" | "true" => true,
                "0" | "false" => false,
                other => panic!("accepted {other:?}"),
            };
            assert_eq!(wanted, expected, "{value:?}");
        }
        Ok(other) => panic!("read {value:?} as {other:?}"),
        Err(err) => common::refused(&err.to_string()),
    }
});
