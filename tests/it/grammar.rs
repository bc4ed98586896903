//! Every rule of the three property grammars, through the public parsers:
//! what each accepts, how it prints it back, and the exact message of each
//! refusal an administrator can meet.

use vdsm_hook_largeguest::cpuset::CpuSet;
use vdsm_hook_largeguest::properties::cputune::{self, CpuTune};
use vdsm_hook_largeguest::properties::guestnuma::{self, GuestCell, GuestNuma};
use vdsm_hook_largeguest::properties::numatune::{self, MemoryMode, NumaTune, Placement};
use vdsm_hook_largeguest::properties::problem::{PropertyError, MAX_VALUE_LEN};
use vdsm_hook_largeguest::wording::is_clean_message;

fn set(ranges: &[(u32, u32)]) -> CpuSet {
    let mut set = CpuSet::new();
    for &(lo, hi) in ranges {
        set.insert_range(lo, hi);
    }
    set
}

/// `(vcpu, cpuset ranges)` for each pin, to compare parsed values briefly.
fn pins(value: &str) -> Vec<(u32, Vec<(u32, u32)>)> {
    let tune: CpuTune = cputune::parse(value).unwrap_or_else(|e| panic!("{value}: {e}"));
    tune.pins
        .iter()
        .map(|pin| (pin.vcpu, pin.cpuset.ranges().to_vec()))
        .collect()
}

fn cputune_canonical(value: &str) -> String {
    cputune::parse(value)
        .unwrap_or_else(|e| panic!("{value}: {e}"))
        .to_string()
}

fn numatune_ok(value: &str) -> NumaTune {
    numatune::parse(value).unwrap_or_else(|e| panic!("{value}: {e}"))
}

fn guestnuma_ok(value: &str) -> GuestNuma {
    guestnuma::parse(value).unwrap_or_else(|e| panic!("{value}: {e}"))
}

fn cells(value: &str) -> Vec<GuestCell> {
    match guestnuma_ok(value) {
        GuestNuma::Cells(cells) => cells,
        other => panic!("{value}: expected cells, got {other:?}"),
    }
}

fn cell(cpus: &[(u32, u32)], memory_kib: u64, host_nodes: Option<&[(u32, u32)]>) -> GuestCell {
    GuestCell {
        cpus: set(cpus),
        memory_kib,
        host_nodes: host_nodes.map(set),
    }
}

/// The refusal's full message, checked to be one line at `column`.
fn refused<T: std::fmt::Debug>(
    parsed: Result<T, PropertyError>,
    value: &str,
    column: usize,
) -> String {
    let err = match parsed {
        Ok(ok) => panic!("{value:?} was accepted as {ok:?}"),
        Err(err) => err,
    };
    let text = err.to_string();
    assert!(
        is_clean_message(&text),
        "not one line of ASCII with one quote kind: {text}"
    );
    assert_eq!(err.column, column, "{text}");
    assert_eq!(err.value, value);
    text
}

fn cputune_err(value: &str, column: usize) -> String {
    refused(cputune::parse(value), value, column)
}

fn numatune_err(value: &str, column: usize) -> String {
    refused(numatune::parse(value), value, column)
}

fn guestnuma_err(value: &str, column: usize) -> String {
    refused(guestnuma::parse(value), value, column)
}

// ---- the cpuset grammar, as every property uses it ----

#[test]
fn cpuset_terms_ranges_and_exclusions() {
    assert_eq!(pins("0#5"), [(0, vec![(5, 5)])]);
    assert_eq!(pins("0#0-3"), [(0, vec![(0, 3)])]);
    assert_eq!(pins("0#0-3,^2"), [(0, vec![(0, 1), (3, 3)])]);
    assert_eq!(pins("0#0-3,^0,^3"), [(0, vec![(1, 2)])]);
    assert_eq!(pins("0#16383"), [(0, vec![(16383, 16383)])]);
    assert_eq!(pins("0#0-16383"), [(0, vec![(0, 16383)])]);
    // Leading zeros are still decimal numbers.
    assert_eq!(pins("00#007"), [(0, vec![(7, 7)])]);
}

#[test]
fn cpuset_prints_sorted_merged_ranges_without_exclusions() {
    assert_eq!(cputune_canonical("0#7,3,5-6,4,0"), "0#0,3-7");
    assert_eq!(cputune_canonical("0#0-7,^3,^4"), "0#0-2,5-7");
    assert_eq!(cputune_canonical("0#2,1"), "0#1-2");
    assert_eq!(cputune_canonical("0#0-3,2-5"), "0#0-5");
    assert_eq!(cputune_canonical("0#0-3,^2,2"), "0#0-3");
    assert_eq!(numatune_ok("3,1,2,^2").to_string(), "strict#1,3");
}

#[test]
fn reversed_range_is_refused_with_the_fix() {
    assert_eq!(
        cputune_err("0#3-1", 3),
        "cputune: range 3-1 is reversed at column 3 in '0#3-1'; write it low to high, 1-3"
    );
    assert_eq!(
        numatune_err("strict#0,5-4", 10),
        "numatune: range 5-4 is reversed at column 10 in 'strict#0,5-4'; \
         write it low to high, 4-5"
    );
}

#[test]
fn ids_above_16383_are_refused() {
    assert_eq!(
        cputune_err("0#16384", 3),
        "cputune: CPU 16384 is above the highest id at column 3 in '0#16384'; \
         ids go from 0 to 16383"
    );
    assert_eq!(
        cputune_err("16384#0", 1),
        "cputune: vCPU 16384 is above the highest id at column 1 in '16384#0'; \
         ids go from 0 to 16383"
    );
    assert_eq!(
        numatune_err("0-1234567890123456789012345", 3),
        "numatune: node 123456789012345678901234... is above the highest id at column 3 in \
         '0-1234567890123456789012345'; ids go from 0 to 16383"
    );
}

#[test]
fn a_set_that_ends_up_empty_is_refused() {
    assert_eq!(
        cputune_err("0#0,^0", 3),
        "cputune: the CPU set '0,^0' is empty at column 3 in '0#0,^0'; \
         a set needs at least one id"
    );
    assert_eq!(
        numatune_err("interleave#1-2,^1,^2", 12),
        "numatune: the node set '1-2,^1,^2' is empty at column 12 in \
         'interleave#1-2,^1,^2'; a set needs at least one id"
    );
}

#[test]
fn an_exclusion_that_removes_nothing_is_refused() {
    assert_eq!(
        cputune_err("0#^2,0-3", 3),
        "cputune: '^2' removes nothing, CPU 2 is not in the set built so far at column 3 in \
         '0#^2,0-3'; put each exclusion after the range it cuts into, as in 0-3,^2"
    );
    assert_eq!(
        numatune_err("0-3,^5", 5),
        "numatune: '^5' removes nothing, node 5 is not in the set built so far at column 5 in \
         '0-3,^5'; put each exclusion after the range it cuts into, as in 0-3,^2"
    );
}

#[test]
fn exclusions_take_a_single_number() {
    assert_eq!(
        cputune_err("0#0-3,^1-2", 9),
        "cputune: expected ',' after the excluded id ('^' takes a single number, not a range) \
         at column 9 in '0#0-3,^1-2'"
    );
    assert_eq!(
        cputune_err("0#0-3,^", 8),
        "cputune: expected a CPU number after '^' at column 8 in '0#0-3,^'"
    );
}

#[test]
fn a_dangling_dash_or_comma_is_refused() {
    assert_eq!(
        cputune_err("0#1-", 5),
        "cputune: expected a CPU number after '-' at column 5 in '0#1-'"
    );
    assert_eq!(
        cputune_err("0#1,", 5),
        "cputune: expected a CPU number or '^' after ',' at column 5 in '0#1,'"
    );
    assert_eq!(
        numatune_err("0,", 3),
        "numatune: expected a node number or '^' after ',' at column 3 in '0,'"
    );
}

// ---- cputune ----

#[test]
fn cputune_entries_separated_by_comma() {
    assert_eq!(
        pins("0#0,1#1-3,^2,2#4"),
        [
            (0, vec![(0, 0)]),
            (1, vec![(1, 1), (3, 3)]),
            (2, vec![(4, 4)])
        ]
    );
    // A comma before `N-M#` also starts an entry.
    assert_eq!(
        pins("0#0,5,1-2#6"),
        [
            (0, vec![(0, 0), (5, 5)]),
            (1, vec![(6, 6)]),
            (2, vec![(6, 6)])
        ]
    );
}

#[test]
fn cputune_entries_separated_by_underscore() {
    assert_eq!(
        pins("0#0_1#1-3,^2"),
        [(0, vec![(0, 0)]), (1, vec![(1, 1), (3, 3)])]
    );
    // With '_' every comma belongs to the cpuset.
    assert_eq!(pins("0#0,1_1#2"), [(0, vec![(0, 1)]), (1, vec![(2, 2)])]);
}

#[test]
fn cputune_vcpu_ranges_pin_each_vcpu() {
    assert_eq!(
        pins("0-2#4-5"),
        [(0, vec![(4, 5)]), (1, vec![(4, 5)]), (2, vec![(4, 5)])]
    );
}

#[test]
fn cputune_prints_in_vcpu_order_with_runs_folded() {
    assert_eq!(cputune_canonical("2#4_0#4_1#4"), "0-2#4");
    assert_eq!(cputune_canonical("3#1,0#0,1#0,2#1"), "0-1#0,2-3#1");
    // Not neighbours: no fold.
    assert_eq!(cputune_canonical("0#1,2#1"), "0#1,2#1");
    assert_eq!(cputune_canonical("0#0_1#1-3,^2"), "0#0,1#1,3");
    assert_eq!(cputune_canonical("0#0,1#1-3,^2,2#4"), "0#0,1#1,3,2#4");
}

#[test]
fn cputune_same_vcpu_twice_is_refused() {
    assert_eq!(
        cputune_err("0#1,0#2", 5),
        "cputune: vCPU 0 is pinned twice at column 5 in '0#1,0#2'; give each vCPU one entry"
    );
    assert_eq!(
        cputune_err("0-3#1_2-5#2", 7),
        "cputune: vCPU 2 is pinned twice at column 7 in '0-3#1_2-5#2'; give each vCPU one entry"
    );
}

#[test]
fn cputune_syntax_errors() {
    assert_eq!(
        cputune_err("", 1),
        "cputune: expected a vCPU number at column 1 in ''"
    );
    assert_eq!(
        cputune_err("0", 2),
        "cputune: expected '#' or '@' after the vCPU at column 2 in '0'"
    );
    assert_eq!(
        cputune_err("0#1x", 4),
        "cputune: expected ',' or the end of the value at column 4 in '0#1x'"
    );
    assert_eq!(
        cputune_err("0#1_1#2 ", 8),
        "cputune: expected '_' or the end of the value at column 8 in '0#1_1#2 '"
    );
    assert_eq!(
        cputune_err("0#1_", 5),
        "cputune: expected a vCPU number at column 5 in '0#1_'"
    );
}

#[test]
fn cputune_refuses_hostile_characters() {
    assert_eq!(
        cputune_err("0#\u{663}", 3),
        "cputune: expected a CPU number or '^' at column 3 in '0#\\u{663}'"
    );
    // The column counts characters, not bytes.
    assert_eq!(
        cputune_err("0#1,\u{663}", 5),
        "cputune: expected a CPU number or '^' after ',' at column 5 in '0#1,\\u{663}'"
    );
    assert_eq!(
        cputune_err("0#1\n2", 4),
        "cputune: expected ',' or the end of the value at column 4 in '0#1\\n2'"
    );
    assert_eq!(
        cputune_err("0#1\t", 4),
        "cputune: expected ',' or the end of the value at column 4 in '0#1\\t'"
    );
    assert_eq!(
        cputune_err("0#1\0", 4),
        "cputune: expected ',' or the end of the value at column 4 in '0#1\\u{0}'"
    );
    assert_eq!(
        cputune_err("0#\"1\"", 3),
        "cputune: expected a CPU number or '^' at column 3 in '0#\\u{22}1\\u{22}'"
    );
    assert_eq!(
        cputune_err("0#<1>", 3),
        "cputune: expected a CPU number or '^' at column 3 in '0#<1>'"
    );
    assert_eq!(
        cputune_err("0#1'", 4),
        "cputune: expected ',' or the end of the value at column 4 in '0#1\\''"
    );
}

// ---- cputune, the one-to-one form VCPUS@SET:SET... ----

/// `(vcpu, cpu)` for pins of one CPU each.
fn one_to_one(value: &str) -> Vec<(u32, u32)> {
    pins(value)
        .into_iter()
        .map(|(vcpu, cpus)| match cpus[..] {
            [(lo, hi)] if lo == hi => (vcpu, lo),
            _ => panic!("{value}: vCPU {vcpu} has {cpus:?}"),
        })
        .collect()
}

#[test]
fn one_to_one_pins_each_vcpu_of_the_range_to_the_next_cpu_of_the_set() {
    assert_eq!(one_to_one("0-3@4-7"), [(0, 4), (1, 5), (2, 6), (3, 7)]);
    assert_eq!(one_to_one("5@9"), [(5, 9)]);
    // The set's CPUs in ascending order, however it is written.
    assert_eq!(one_to_one("2-4@9,1,0-3,^2,^3"), [(2, 0), (3, 1), (4, 9)]);
}

#[test]
fn one_to_one_takes_several_sets_in_turn() {
    assert_eq!(
        one_to_one("0-5@0-2:8-10"),
        [(0, 0), (1, 8), (2, 1), (3, 9), (4, 2), (5, 10)]
    );
    assert_eq!(
        one_to_one("10-15@0,4:1,5:2,6"),
        [(10, 0), (11, 1), (12, 2), (13, 4), (14, 5), (15, 6)]
    );
}

#[test]
fn one_to_one_mixes_with_ordinary_entries() {
    assert_eq!(
        pins("0#9,1-2@4-5,3#8"),
        [
            (0, vec![(9, 9)]),
            (1, vec![(4, 4)]),
            (2, vec![(5, 5)]),
            (3, vec![(8, 8)])
        ]
    );
    // With ',' between entries, ',N@' and ',N-M@' start an entry and every
    // other comma belongs to the set before it.
    assert_eq!(
        one_to_one("0-3@0,1:2,3,4@9,5-6@7,8"),
        [(0, 0), (1, 2), (2, 1), (3, 3), (4, 9), (5, 7), (6, 8)]
    );
    assert_eq!(
        one_to_one("0-1@0,2_2#5_3-4@6:7"),
        [(0, 0), (1, 2), (2, 5), (3, 6), (4, 7)]
    );
}

#[test]
fn one_to_one_runs_print_compactly_from_three_vcpus() {
    assert_eq!(cputune_canonical("0#4,1#5,2#6"), "0-2@4-6");
    assert_eq!(cputune_canonical("0-383@0-383"), "0-383@0-383");
    // Two vCPUs gain nothing from it.
    assert_eq!(cputune_canonical("0#4,1#5"), "0#4,1#5");
    assert_eq!(cputune_canonical("0-1@4-5"), "0#4,1#5");
    // Sibling threads taken in turn, as `suggest` pins them.
    assert_eq!(
        cputune_canonical("0#1,1#33,2#2,3#34,4#3,5#35"),
        "0-5@1-3:33-35"
    );
    assert_eq!(
        cputune_canonical("0-383@0-191:192-383"),
        "0-383@0-191:192-383"
    );
    // The same pins, however the sets were written.
    assert_eq!(cputune_canonical("0-5@0,2,4:1,3,5"), "0-5@0-5");
    // A run ends where the CPUs stop being consecutive.
    assert_eq!(
        cputune_canonical("0-5@0,1,3:10,11,13"),
        "0-3@0-1:10-11,4#3,5#13"
    );
    assert_eq!(cputune_canonical("0#9,1#4,2#5,3#6,4#6"), "0#9,1-3@4-6,4#6");
}

#[test]
fn one_to_one_needs_every_cpu_once_to_print_compactly() {
    // Sets that share CPUs would not give each vCPU a CPU of its own.
    assert_eq!(
        cputune_err("0-3@0-1:0-1", 9),
        "cputune: sets 1 and 2 after '@' both hold CPUs 0-1, so two vCPUs would share a CPU \
         the one-to-one form gives each of them alone at column 9 in '0-3@0-1:0-1'; give each \
         set other CPUs, as in 0-7@0-3:8-11, or pin with '#' to share them"
    );
    // vCPUs on one CPU each fold as before.
    assert_eq!(cputune_canonical("0#5,1#5,2#5"), "0-2#5");
}

#[test]
fn one_to_one_sets_of_different_sizes_are_refused() {
    assert_eq!(
        cputune_err("0-7@0-3:8-10", 9),
        "cputune: set 2 after '@' holds 3 CPUs, set 1 holds 4 CPUs at column 9 in '0-7@0-3:8-10'; \
         give every set after '@' the same number of CPUs, as in 0-7@0-3:8-11"
    );
    assert_eq!(
        cputune_err("0-2@0:1:2-3", 9),
        "cputune: set 3 after '@' holds 2 CPUs, set 1 holds 1 CPU at column 9 in '0-2@0:1:2-3'; \
         give every set after '@' the same number of CPUs, as in 0-7@0-3:8-11"
    );
}

#[test]
fn one_to_one_needs_as_many_vcpus_as_cpus() {
    assert_eq!(
        cputune_err("0-383@0-191", 1),
        "cputune: 384 vCPUs cannot be pinned one to one to 192 CPUs at column 1 in \
         '0-383@0-191'; give the range one vCPU per CPU, as in 0-191@0-191"
    );
    assert_eq!(
        cputune_err("0#0,5@1-2", 5),
        "cputune: 1 vCPU cannot be pinned one to one to 2 CPUs at column 5 in '0#0,5@1-2'; \
         give the range one vCPU per CPU, as in 5-6@1-2"
    );
    assert_eq!(
        cputune_err("4-7@0-2,^1", 1),
        "cputune: 4 vCPUs cannot be pinned one to one to 2 CPUs at column 1 in '4-7@0-2,^1'; \
         give the range one vCPU per CPU, as in 4-5@0-2,^1"
    );
    // Long sets are cut in the example.
    let long = format!(
        "0-9@{}",
        (0..20)
            .map(|cpu| (2 * cpu).to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    let text = cputune_err(&long, 1);
    assert!(
        text.ends_with("; give the range one vCPU per CPU, as in 0-19@0,2,4,6,8,10,12,14,16,18..."),
        "{text}"
    );
    // When no range can fit the CPUs, the sets must shrink.
    assert_eq!(
        cputune_err("16000-16383@0-16383", 1),
        "cputune: 384 vCPUs cannot be pinned one to one to 16384 CPUs at column 1 in \
         '16000-16383@0-16383'; give the sets after '@' one CPU per vCPU, 384 in all"
    );
}

#[test]
fn one_to_one_pins_get_the_usual_checks() {
    assert_eq!(
        cputune_err("0-3@0-3,2#5", 9),
        "cputune: vCPU 2 is pinned twice at column 9 in '0-3@0-3,2#5'; give each vCPU one entry"
    );
    assert_eq!(
        cputune_err("0-1@3-1", 5),
        "cputune: range 3-1 is reversed at column 5 in '0-1@3-1'; write it low to high, 1-3"
    );
    assert_eq!(
        cputune_err("0@0,^0", 3),
        "cputune: the CPU set '0,^0' is empty at column 3 in '0@0,^0'; \
         a set needs at least one id"
    );
    // Each pin of a '@' entry holds one CPU range toward the bound.
    use vdsm_hook_largeguest::properties::problem::Problem;
    let eight_ranges = "8192-16383#0,2,4,6,8,10,12,14";
    assert_eq!(pins(eight_ranges).len(), 8192);
    let err = cputune::parse(&format!("0-8191@0-8191_{eight_ranges}")).unwrap_err();
    assert_eq!(
        err.problem,
        Problem::TooManyPinnedRanges {
            limit: cputune::MAX_PINNED_RANGES
        }
    );
}

#[test]
fn one_to_one_syntax_errors() {
    assert_eq!(
        cputune_err("0@", 3),
        "cputune: expected a CPU number or '^' at column 3 in '0@'"
    );
    assert_eq!(
        cputune_err("0@1:", 5),
        "cputune: expected a CPU number or '^' after ':' at column 5 in '0@1:'"
    );
    assert_eq!(
        cputune_err("0-1@1::2", 7),
        "cputune: expected a CPU number or '^' after ':' at column 7 in '0-1@1::2'"
    );
    assert_eq!(
        cputune_err("0@1#2", 4),
        "cputune: expected ',' or the end of the value at column 4 in '0@1#2'"
    );
    assert_eq!(
        cputune_err("0#1:2", 4),
        "cputune: expected ',' or the end of the value at column 4 in '0#1:2'"
    );
    assert_eq!(
        cputune_err("0:1", 2),
        "cputune: expected '#' or '@' after the vCPU at column 2 in '0:1'"
    );
    // A syntax error anywhere still wins over the counts.
    assert_eq!(
        cputune_err("0-383@0-191,x", 13),
        "cputune: expected a CPU number or '^' after ',' at column 13 in '0-383@0-191,x'"
    );
}

/// Every property of a guest of `vcpus` vCPUs on two host nodes, as the
/// engine stores them together in at most 4,000 characters.
fn stored_properties(cputune: &str, vcpus: u32) -> String {
    let half = vcpus / 2;
    format!(
        "cputune={cputune};numatune=strict#0-1;guestnuma=0-{}#768G#0,{half}-{}#768G#1",
        half - 1,
        vcpus - 1
    )
}

#[test]
fn a_384_vcpu_guest_pinned_one_to_one_fits_the_engine_s_4000_characters() {
    // One guest core's two threads on one host core's two sibling threads,
    // on a host that numbers siblings k and k+192.
    let compact = "0-383@0-191:192-383";
    let pins = one_to_one(compact);
    assert_eq!(pins.len(), 384);
    assert_eq!(pins[..4], [(0, 0), (1, 192), (2, 1), (3, 193)]);
    assert_eq!(pins[383], (383, 383));
    assert!(stored_properties(compact, 384).len() < 100);
    // The same pins one entry each: what the compact form replaces.
    let one_by_one: Vec<String> = pins
        .iter()
        .map(|(vcpu, cpu)| format!("{vcpu}#{cpu}"))
        .collect();
    let one_by_one = one_by_one.join("_");
    assert_eq!(one_to_one(&one_by_one), pins);
    assert_eq!(cputune_canonical(&one_by_one), compact);
    assert_eq!(one_by_one.len(), 2851);
}

#[test]
fn a_768_vcpu_guest_fits_only_in_the_compact_form() {
    // Two sockets of 192 cores with two threads each.
    let compact = "0-767@0-383:384-767";
    let pins = one_to_one(compact);
    let one_by_one: Vec<String> = pins
        .iter()
        .map(|(vcpu, cpu)| format!("{vcpu}#{cpu}"))
        .collect();
    assert!(stored_properties(&one_by_one.join("_"), 768).len() > 4000);
    assert!(stored_properties(compact, 768).len() < 100);
}

// ---- numatune ----

#[test]
fn numatune_each_mode() {
    for mode in MemoryMode::ALL {
        let value = format!("{mode}#0");
        let tune = numatune_ok(&value);
        assert_eq!(tune.mode, mode);
        assert_eq!(tune.placement, Placement::Nodes(set(&[(0, 0)])));
        assert_eq!(tune.to_string(), value);
    }
    assert_eq!(
        numatune_ok("interleave#0-3,^1").placement,
        Placement::Nodes(set(&[(0, 0), (2, 3)]))
    );
}

#[test]
fn numatune_bare_nodeset_means_strict() {
    let tune = numatune_ok("0-1,3");
    assert_eq!(tune.mode, MemoryMode::Strict);
    assert_eq!(tune.placement, Placement::Nodes(set(&[(0, 1), (3, 3)])));
    assert_eq!(tune.to_string(), "strict#0-1,3");
    assert_eq!(numatune_ok("5,^5,5").to_string(), "strict#5");
}

#[test]
fn numatune_auto_with_and_without_mode() {
    let auto = numatune_ok("auto");
    assert_eq!(
        (auto.mode, &auto.placement),
        (MemoryMode::Strict, &Placement::Auto)
    );
    assert_eq!(auto.to_string(), "strict#auto");
    for mode in MemoryMode::ALL {
        let tune = numatune_ok(&format!("{mode}#auto"));
        assert_eq!((tune.mode, tune.placement), (mode, Placement::Auto));
    }
}

#[test]
fn numatune_preferred_takes_one_node() {
    assert_eq!(numatune_ok("preferred#3").to_string(), "preferred#3");
    // Two terms that leave one node are fine.
    assert_eq!(numatune_ok("preferred#2-3,^3").to_string(), "preferred#2");
    assert_eq!(
        numatune_err("preferred#0-1", 11),
        "numatune: 'preferred' takes a single node and '0-1' has several at column 11 in \
         'preferred#0-1'; use strict or interleave to spread memory over several nodes"
    );
    assert_eq!(
        numatune_err("preferred#0,2", 11),
        "numatune: 'preferred' takes a single node and '0,2' has several at column 11 in \
         'preferred#0,2'; use strict or interleave to spread memory over several nodes"
    );
}

#[test]
fn numatune_syntax_errors() {
    let modes = "a mode (strict, interleave, preferred or restrictive), a node set or 'auto'";
    assert_eq!(
        numatune_err("", 1),
        format!("numatune: expected {modes} at column 1 in ''")
    );
    assert_eq!(
        numatune_err("Strict#0", 1),
        format!("numatune: expected {modes} at column 1 in 'Strict#0'")
    );
    assert_eq!(
        numatune_err("bogus#0", 1),
        format!("numatune: expected {modes} at column 1 in 'bogus#0'")
    );
    assert_eq!(
        numatune_err("<x>", 1),
        format!("numatune: expected {modes} at column 1 in '<x>'")
    );
    assert_eq!(
        numatune_err("strict", 7),
        "numatune: expected '#' after the mode at column 7 in 'strict'"
    );
    assert_eq!(
        numatune_err("strict#", 8),
        "numatune: expected a node set or 'auto' after '#' at column 8 in 'strict#'"
    );
    assert_eq!(
        numatune_err("strict#\u{663}", 8),
        "numatune: expected a node set or 'auto' after '#' at column 8 in 'strict#\\u{663}'"
    );
    assert_eq!(
        numatune_err("auto#1", 5),
        "numatune: expected the end of the value after 'auto' at column 5 in 'auto#1'"
    );
    assert_eq!(
        numatune_err("strict#auto,1", 12),
        "numatune: expected the end of the value after 'auto' at column 12 in 'strict#auto,1'"
    );
    assert_eq!(
        numatune_err("0#1", 2),
        "numatune: expected ',' and another node or the end of the value at column 2 in '0#1'"
    );
    assert_eq!(
        numatune_err("0\r", 2),
        "numatune: expected ',' and another node or the end of the value at column 2 in '0\\r'"
    );
}

// ---- guestnuma ----

#[test]
fn guestnuma_cells_separated_by_comma_with_commas_in_cpus() {
    assert_eq!(
        cells("0-3,8-11#4G,4-7,12-15#4G"),
        [
            cell(&[(0, 3), (8, 11)], 4 << 20, None),
            cell(&[(4, 7), (12, 15)], 4 << 20, None)
        ]
    );
    assert_eq!(
        cells("0-3#4G#0,4-7#4G#1-2"),
        [
            cell(&[(0, 3)], 4 << 20, Some(&[(0, 0)])),
            cell(&[(4, 7)], 4 << 20, Some(&[(1, 2)]))
        ]
    );
}

#[test]
fn guestnuma_cells_separated_by_underscore_with_host_node_lists() {
    assert_eq!(
        cells("0-3#4G#0,2_4-7#4G#1,3"),
        [
            cell(&[(0, 3)], 4 << 20, Some(&[(0, 0), (2, 2)])),
            cell(&[(4, 7)], 4 << 20, Some(&[(1, 1), (3, 3)]))
        ]
    );
    assert_eq!(
        cells("0,2#1G_1,3#1G#0-3,^2"),
        [
            cell(&[(0, 0), (2, 2)], 1 << 20, None),
            cell(&[(1, 1), (3, 3)], 1 << 20, Some(&[(0, 1), (3, 3)]))
        ]
    );
}

#[test]
fn guestnuma_single_cell_may_bind_to_a_host_node_list() {
    assert_eq!(
        cells("0-3#4G#0,2"),
        [cell(&[(0, 3)], 4 << 20, Some(&[(0, 0), (2, 2)]))]
    );
    assert_eq!(guestnuma_ok("0-3#4G#0,2").to_string(), "0-3#4G#0,2");
}

#[test]
fn guestnuma_every_memory_unit() {
    let cases: [(&str, u64); 10] = [
        ("4096", 4096),
        ("3K", 3),
        ("3KiB", 3),
        ("3M", 3 << 10),
        ("3MiB", 3 << 10),
        ("3G", 3 << 20),
        ("3GiB", 3 << 20),
        ("3T", 3 << 30),
        ("3TiB", 3 << 30),
        ("0001G", 1 << 20),
    ];
    for (memory, kib) in cases {
        let value = format!("0#{memory}");
        assert_eq!(cells(&value), [cell(&[(0, 0)], kib, None)], "{value}");
    }
}

#[test]
fn guestnuma_prints_memory_in_the_largest_unit() {
    let cases = [
        ("0#1024", "0#1M"),
        ("0#1048576K", "0#1G"),
        ("0#1536M", "0#1536M"),
        ("0#2048G", "0#2T"),
        ("0#1025", "0#1025"),
        ("0#3KiB", "0#3"),
        ("0#1TiB", "0#1T"),
    ];
    for (value, canonical) in cases {
        assert_eq!(guestnuma_ok(value).to_string(), canonical, "{value}");
    }
}

#[test]
fn guestnuma_chooses_underscore_only_when_host_nodes_need_commas() {
    assert_eq!(
        guestnuma_ok("0-3#4G#0_4-7#4G#1").to_string(),
        "0-3#4G#0,4-7#4G#1"
    );
    assert_eq!(
        guestnuma_ok("0-3#4G#0-1_4-7#4G").to_string(),
        "0-3#4G#0-1,4-7#4G"
    );
    assert_eq!(
        guestnuma_ok("0-3#4G#2,0_4-7#4G#1").to_string(),
        "0-3#4G#0,2_4-7#4G#1"
    );
    assert_eq!(guestnuma_ok("4-7,0-3#4194304").to_string(), "0-7#4G");
}

#[test]
fn guestnuma_lone_count() {
    assert_eq!(guestnuma_ok("2"), GuestNuma::Even(2));
    assert_eq!(guestnuma_ok("1"), GuestNuma::Even(1));
    assert_eq!(guestnuma_ok("128"), GuestNuma::Even(128));
    assert_eq!(guestnuma_ok("002").to_string(), "2");
}

#[test]
fn guestnuma_cell_count_is_1_to_128() {
    assert_eq!(
        guestnuma_err("0", 1),
        "guestnuma: 0 guest cells are asked for at column 1 in '0'; QEMU allows 1 to 128 cells"
    );
    assert_eq!(
        guestnuma_err("129", 1),
        "guestnuma: 129 guest cells are asked for at column 1 in '129'; \
         QEMU allows 1 to 128 cells"
    );
    let many: Vec<String> = (0..129).map(|cpu| format!("{cpu}#1G")).collect();
    let value = many.join(",");
    assert_eq!(cells(&many[..128].join(",")).len(), 128);
    let column = value.find("128#").unwrap() + 1;
    let text = guestnuma_err(&value, column);
    assert!(
        text.starts_with(&format!(
            "guestnuma: more than 128 guest cells are asked for at column {column} in ..."
        )),
        "{text}"
    );
    assert!(text.ends_with("; QEMU allows 1 to 128 cells"), "{text}");
}

#[test]
fn guestnuma_vcpu_in_two_cells_is_refused() {
    assert_eq!(
        guestnuma_err("0-1#4G,1-2#4G", 8),
        "guestnuma: vCPU 1 is in two guest cells at column 8 in '0-1#4G,1-2#4G'; \
         each vCPU belongs to exactly one cell"
    );
    assert_eq!(
        guestnuma_err("0,5#1G_2,5#1G", 8),
        "guestnuma: vCPU 5 is in two guest cells at column 8 in '0,5#1G_2,5#1G'; \
         each vCPU belongs to exactly one cell"
    );
}

#[test]
fn guestnuma_memory_must_be_above_zero_and_fit() {
    assert_eq!(
        guestnuma_err("0#0", 3),
        "guestnuma: the cell's memory is 0 at column 3 in '0#0'; \
         give each cell a size above 0, e.g. 4G"
    );
    assert_eq!(
        guestnuma_err("0#0G", 3),
        "guestnuma: the cell's memory is 0 at column 3 in '0#0G'; \
         give each cell a size above 0, e.g. 4G"
    );
    assert_eq!(
        guestnuma_err("0#99999999999999999999", 3),
        "guestnuma: memory 99999999999999999999 is too large at column 3 in \
         '0#99999999999999999999'; no host has that much memory"
    );
    // Fits in u64 as a number, overflows once scaled to KiB.
    assert_eq!(
        guestnuma_err("0#18014398509481984T", 3),
        "guestnuma: memory 18014398509481984T is too large at column 3 in \
         '0#18014398509481984T'; no host has that much memory"
    );
}

#[test]
fn guestnuma_bad_unit_is_refused() {
    for (value, column) in [
        ("0#4g", 4),
        ("0#4Gi", 5),
        ("0#4GB", 5),
        ("0#4KB", 5),
        ("0#4x", 4),
    ] {
        assert_eq!(
            guestnuma_err(value, column),
            format!(
                "guestnuma: expected a unit K, KiB, M, MiB, G, GiB, T or TiB at column {column} \
                 in '{value}'"
            )
        );
    }
}

#[test]
fn guestnuma_comma_separated_host_nodes_are_one_range() {
    assert_eq!(
        guestnuma_err("0#4G#0,1#4G#2,3", 16),
        "guestnuma: expected '#' after the cell's vCPUs at column 16 in '0#4G#0,1#4G#2,3'; \
         to bind a cell to a list of host nodes, separate the cells with '_', \
         as in 0-3#4G#0,2_4-7#4G#1,3"
    );
}

#[test]
fn guestnuma_syntax_errors() {
    assert_eq!(
        guestnuma_err("", 1),
        "guestnuma: expected a vCPU number or '^' at column 1 in ''"
    );
    assert_eq!(
        guestnuma_err("0#", 3),
        "guestnuma: expected the cell's memory, e.g. 4096 (KiB) or 4G, after '#' at column 3 \
         in '0#'"
    );
    assert_eq!(
        guestnuma_err("0-3", 4),
        "guestnuma: expected '#' after the cell's vCPUs at column 4 in '0-3'"
    );
    assert_eq!(
        guestnuma_err("0#4G#", 6),
        "guestnuma: expected a node number or '^' at column 6 in '0#4G#'"
    );
    assert_eq!(
        guestnuma_err("0#4G#0,1#4G#", 13),
        "guestnuma: expected a host node number or range after '#' at column 13 in \
         '0#4G#0,1#4G#'"
    );
    assert_eq!(
        guestnuma_err("0#4G 1", 5),
        "guestnuma: expected ',' and the next cell or the end of the value at column 5 in \
         '0#4G 1'"
    );
    assert_eq!(
        guestnuma_err("0#4G_1#4G_", 11),
        "guestnuma: expected a vCPU number or '^' at column 11 in '0#4G_1#4G_'"
    );
    assert_eq!(
        guestnuma_err("\u{663}", 1),
        "guestnuma: expected a vCPU number or '^' at column 1 in '\\u{663}'"
    );
    assert_eq!(
        guestnuma_err("0#4G\u{7f}", 5),
        "guestnuma: expected ',' and the next cell or the end of the value at column 5 in \
         '0#4G\\u{7f}'"
    );
    assert_eq!(
        guestnuma_err("0#<4G>", 3),
        "guestnuma: expected the cell's memory, e.g. 4096 (KiB) or 4G, after '#' at column 3 \
         in '0#<4G>'"
    );
}

// ---- every property ----

#[test]
fn a_value_longer_than_64_kib_is_refused_before_parsing() {
    let fits = format!("0#{}", "1".repeat(MAX_VALUE_LEN - 2));
    // Exactly at the limit the parser runs (and finds the id too large).
    assert!(cputune_err(&fits, 3).contains("is above the highest id"));
    let long = format!("0#{}", "1".repeat(MAX_VALUE_LEN - 1));
    for (property, err) in [
        ("cputune", cputune::parse(&long).err()),
        ("numatune", numatune::parse(&long).err()),
        ("guestnuma", guestnuma::parse(&long).err()),
    ] {
        let err = err.expect("refused");
        let text = err.to_string();
        assert_eq!(err.column, 1);
        assert!(!text.contains('\n'));
        assert!(
            text.starts_with(&format!(
                "{property}: the value is 65537 bytes long at column 1 in '0#111"
            )),
            "{text}"
        );
        assert!(text.ends_with("'...; the limit is 65536 bytes"), "{text}");
        assert!(text.len() < 200, "{text}");
    }
}

#[test]
fn a_semantic_problem_does_not_hide_a_later_syntax_error() {
    // The reversed range comes first, but the value is not even well formed.
    assert_eq!(
        cputune_err("0#3-1,x", 7),
        "cputune: expected a CPU number or '^' after ',' at column 7 in '0#3-1,x'"
    );
    assert_eq!(
        guestnuma_err("0#0,1#4G#", 10),
        "guestnuma: expected a host node number or range after '#' at column 10 in '0#0,1#4G#'"
    );
}

#[test]
fn a_short_value_cannot_fan_out_into_a_huge_set_of_pins() {
    use vdsm_hook_largeguest::properties::cputune::{self, MAX_PINNED_RANGES};
    use vdsm_hook_largeguest::properties::problem::Problem;
    let every_other: Vec<String> = (0..16384).step_by(2).map(|id| id.to_string()).collect();
    let value = format!("0-16383#{}", every_other.join(","));
    assert!(value.len() < 64 * 1024);
    let err = cputune::parse(&value).unwrap_err();
    assert_eq!(
        err.problem,
        Problem::TooManyPinnedRanges {
            limit: MAX_PINNED_RANGES
        }
    );
    assert_eq!(err.column, 1);
    // Many vCPUs on a plain set stay well inside the bound.
    let plenty = cputune::parse("0-4095#0-63,128-191").unwrap();
    assert_eq!(plenty.pins.len(), 4096);
}
