//! `ksm_merge_across_nodes`: exactly four spellings are accepted, and a
//! refusal of anything else is one short line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vdsm_hook_largeguest::properties::{Property, Request};

use vdsm_hook_largeguest_fuzz as common;

fuzz_target!(|data: &[u8]| {
    let Some(value) = common::value(data) else {
        return;
    };
    match Property::KsmMergeAcrossNodes.parse(value) {
        Ok(request) => {
            let expected = match value {
                "1" | "true" => true,
                "0" | "false" => false,
                other => panic!("accepted {other:?}"),
            };
            assert_eq!(request.ksm_merge_across_nodes, Some(expected), "{value:?}");
            let others = Request {
                ksm_merge_across_nodes: None,
                ..request
            };
            assert_eq!(others, Request::default(), "{value:?}");
        }
        Err(err) => common::refused(&err.to_string()),
    }
});
