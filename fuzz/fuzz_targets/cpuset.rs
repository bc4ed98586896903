//! A cpuset alone, through the same public pieces the grammars and the
//! sysfs list reader use, checked against a plain model of its meaning:
//! terms left to right, `N` and `N-M` add, `^N` removes an id present.
#![no_main]

use std::collections::BTreeSet;

use libfuzzer_sys::fuzz_target;
use vdsm_hook_largeguest::cpuset::{CpuSet, MAX_ID};
use vdsm_hook_largeguest::properties::problem::{parse_value, PropertyError, MAX_VALUE_LEN};
use vdsm_hook_largeguest::properties::sets;

use vdsm_hook_largeguest_fuzz as common;

fn parse(value: &str) -> Result<CpuSet, PropertyError> {
    parse_value("cpuset", value, sets::list)
}

fn id(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|&id| id <= MAX_ID)
}

/// What the value means, or `None` when it must be refused.
fn model(value: &str) -> Option<BTreeSet<u32>> {
    if value.len() > MAX_VALUE_LEN {
        return None;
    }
    let mut set = BTreeSet::new();
    for term in value.split(',') {
        if let Some(excluded) = term.strip_prefix('^') {
            if !set.remove(&id(excluded)?) {
                return None;
            }
        } else if let Some((lo, hi)) = term.split_once('-') {
            let (lo, hi) = (id(lo)?, id(hi)?);
            if lo > hi {
                return None;
            }
            set.extend(lo..=hi);
        } else {
            set.insert(id(term)?);
        }
    }
    (!set.is_empty()).then_some(set)
}

fuzz_target!(|data: &[u8]| {
    let Some(value) = common::value(data) else {
        return;
    };
    let parsed = parse(value);
    let expected = model(value);
    match (&parsed, &expected) {
        (Ok(set), Some(ids)) => {
            let got: BTreeSet<u32> = set.iter().collect();
            assert_eq!(&got, ids, "{value:?} read as {set}");
            common::accepted(value, set, parse);
        }
        (Err(err), None) => common::refused(&err.to_string()),
        _ => panic!("parser {parsed:?} and model {expected:?} disagree on {value:?}"),
    }
});
