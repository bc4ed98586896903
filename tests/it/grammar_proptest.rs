//! Properties of the grammars over generated values: printing then parsing
//! gives the value back, the canonical form is a fixed point that means the
//! same as what was written, and no input makes a parser panic.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::strategies;
use proptest::prelude::*;
use vdsm_hook_largeguest::cpuset::{CpuSet, MAX_ID};
use vdsm_hook_largeguest::properties::cputune::{self, CpuTune, VcpuPin};
use vdsm_hook_largeguest::properties::guestnuma::{self, GuestCell, GuestNuma, MAX_CELLS};
use vdsm_hook_largeguest::properties::numatune::{self, MemoryMode, NumaTune, Placement};
use vdsm_hook_largeguest::properties::Property;
use vdsm_hook_largeguest::properties::{emulatorpin, iothreadpin};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// A non-empty set, mostly of small ids with gaps, sometimes near the top.
fn cpu_set() -> impl Strategy<Value = CpuSet> {
    let span = prop_oneof![
        4 => (0u32..40, 0u32..4),
        1 => (0u32..=MAX_ID, 0u32..64),
    ];
    prop::collection::vec(span, 1..6).prop_map(|spans| {
        let mut set = CpuSet::new();
        for (lo, len) in spans {
            set.insert_range(lo, lo.saturating_add(len).min(MAX_ID));
        }
        set
    })
}

/// Pins of vCPUs `first + k*T + t` to CPU `starts[t] + k`: the one-to-one
/// runs the canonical form writes `A-B@C-D:E-F`, some too short for it, some
/// with blocks that overlap and so print as `#` entries.
fn one_to_one_run() -> impl Strategy<Value = Vec<(u32, CpuSet)>> {
    let first = prop_oneof![4 => 0u32..48, 1 => (MAX_ID - 30)..=(MAX_ID - 24)];
    let start = prop_oneof![4 => 0u32..64, 1 => (MAX_ID - 6)..=(MAX_ID - 5)];
    (first, 1u32..=4, 1u32..=6, prop::collection::vec(start, 4)).prop_map(
        |(first, sets, per_set, starts)| {
            let pin = |k: u32| {
                let cpu = starts[(k % sets) as usize] + k / sets;
                (first + k, CpuSet::from_range(cpu, cpu))
            };
            (0..sets * per_set).map(pin).collect()
        },
    )
}

fn cpu_tune() -> impl Strategy<Value = CpuTune> {
    let vcpu = prop_oneof![4 => 0u32..32, 1 => 0u32..=MAX_ID];
    // Few distinct sets, so that neighbouring vCPUs often share one and fold.
    let sets = prop::collection::vec(cpu_set(), 1..3);
    let scattered = prop::collection::btree_map(vcpu, any::<prop::sample::Index>(), 0..12);
    let runs = prop::collection::vec(one_to_one_run(), 0..3);
    (scattered, sets, runs)
        .prop_map(|(vcpus, sets, runs)| {
            let mut pins: BTreeMap<u32, CpuSet> = vcpus
                .into_iter()
                .map(|(vcpu, pick)| (vcpu, pick.get(&sets).clone()))
                .collect();
            pins.extend(runs.into_iter().flatten());
            let pins = pins.into_iter();
            CpuTune {
                pins: pins
                    .map(|(vcpu, cpuset)| VcpuPin { vcpu, cpuset })
                    .collect(),
            }
        })
        .prop_filter("a value pins some vCPU", |tune| !tune.pins.is_empty())
}

fn numa_tune() -> impl Strategy<Value = NumaTune> {
    let mode = prop::sample::select(MemoryMode::ALL.to_vec());
    let placement =
        prop_oneof![1 => Just(Placement::Auto), 4 => cpu_set().prop_map(Placement::Nodes)];
    (mode, placement, 0u32..=MAX_ID).prop_map(|(mode, placement, node)| {
        let placement = match (mode, placement) {
            // 'preferred' takes one node.
            (MemoryMode::Preferred, Placement::Nodes(_)) => {
                Placement::Nodes(CpuSet::from_range(node, node))
            }
            (_, placement) => placement,
        };
        NumaTune { mode, placement }
    })
}

fn memory_kib() -> impl Strategy<Value = u64> {
    prop_oneof![
        1u64..=u64::MAX,
        (1u64..5000).prop_map(|n| n << 10),
        (1u64..5000).prop_map(|n| n << 20),
        (1u64..5000).prop_map(|n| n << 30),
        (1u64..5000),
    ]
}

/// Cells with disjoint vCPUs: each vCPU goes to one cell, empty cells drop.
fn guest_numa() -> impl Strategy<Value = GuestNuma> {
    let owners = prop::collection::vec(0usize..8, 1..40);
    let extras = prop::collection::vec((memory_kib(), prop::option::of(cpu_set())), 8);
    let cells = (owners, extras).prop_map(|(owners, extras)| {
        let mut cpus = vec![CpuSet::new(); 8];
        for (vcpu, owner) in owners.into_iter().enumerate() {
            cpus[owner].insert(vcpu as u32);
        }
        let cells = cpus
            .into_iter()
            .zip(extras)
            .filter(|(cpus, _)| !cpus.is_empty())
            .map(|(cpus, (memory_kib, host_nodes))| GuestCell {
                cpus,
                memory_kib,
                host_nodes,
            })
            .collect();
        GuestNuma::Cells(cells)
    });
    prop_oneof![1 => (1..=MAX_CELLS).prop_map(GuestNuma::Even), 4 => cells]
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn cputune_print_then_parse(tune in cpu_tune()) {
        let text = tune.to_string();
        prop_assert_eq!(cputune::parse(&text).map_err(|e| e.to_string()), Ok(tune), "{}", text);
    }

    #[test]
    fn numatune_print_then_parse(tune in numa_tune()) {
        let text = tune.to_string();
        prop_assert_eq!(numatune::parse(&text).map_err(|e| e.to_string()), Ok(tune), "{}", text);
    }

    #[test]
    fn guestnuma_print_then_parse(numa in guest_numa()) {
        let text = numa.to_string();
        prop_assert_eq!(guestnuma::parse(&text).map_err(|e| e.to_string()), Ok(numa), "{}", text);
    }

}

// Generated text can pin thousands of vCPUs (3-16383#...): fewer cases.
proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn cputune_canonical_means_the_same(value in strategies::cputune()) {
        if let Ok(tune) = cputune::parse(&value) {
            let canonical = tune.to_string();
            let again = cputune::parse(&canonical).map_err(|e| e.to_string());
            prop_assert_eq!(again.as_ref(), Ok(&tune), "{} -> {}", value, canonical);
            prop_assert_eq!(again.map(|t| t.to_string()), Ok(canonical));
        }
    }

    #[test]
    fn iothreadpin_canonical_means_the_same(value in strategies::cputune()) {
        if let Ok(pins) = iothreadpin::parse(&value) {
            let canonical = pins.to_string();
            let again = iothreadpin::parse(&canonical).map_err(|e| e.to_string());
            prop_assert_eq!(again.as_ref(), Ok(&pins), "{} -> {}", value, canonical);
            prop_assert_eq!(again.map(|t| t.to_string()), Ok(canonical));
        }
    }

    #[test]
    fn emulatorpin_canonical_means_the_same(value in strategies::set()) {
        if let Ok(cpus) = emulatorpin::parse(&value) {
            let canonical = cpus.to_string();
            prop_assert_eq!(emulatorpin::parse(&canonical).map_err(|e| e.to_string()), Ok(cpus));
        }
    }

    #[test]
    fn numatune_canonical_means_the_same(value in strategies::numatune()) {
        if let Ok(tune) = numatune::parse(&value) {
            let canonical = tune.to_string();
            let again = numatune::parse(&canonical).map_err(|e| e.to_string());
            prop_assert_eq!(again.as_ref(), Ok(&tune), "{} -> {}", value, canonical);
            prop_assert_eq!(again.map(|t| t.to_string()), Ok(canonical));
        }
    }

    #[test]
    fn guestnuma_canonical_means_the_same(value in strategies::guestnuma()) {
        if let Ok(numa) = guestnuma::parse(&value) {
            let canonical = numa.to_string();
            let again = guestnuma::parse(&canonical).map_err(|e| e.to_string());
            prop_assert_eq!(again.as_ref(), Ok(&numa), "{} -> {}", value, canonical);
            prop_assert_eq!(again.map(|n| n.to_string()), Ok(canonical));
        }
    }

    /// No panic, and every refusal is one line naming the property.
    #[test]
    fn no_input_panics(
        cputune in strategies::any_input(strategies::cputune()),
        numatune in strategies::any_input(strategies::numatune()),
        guestnuma in strategies::any_input(strategies::guestnuma()),
    ) {
        // Every property sees every input, not only its own grammar's.
        for property in Property::ALL {
            for value in [&cputune, &numatune, &guestnuma] {
                if let Err(err) = property.parse(value) {
                    let text = err.to_string();
                    prop_assert!(!text.contains('\n') && !text.contains('\r'), "{}", text);
                    let prefix = format!("{}: ", property.name());
                    prop_assert!(text.starts_with(&prefix), "{}", text);
                    prop_assert!(err.column >= 1 && err.column <= value.chars().count() + 1);
                }
            }
        }
    }

    /// The set operations the parsers use agree with a plain set of ids.
    #[test]
    fn cpuset_operations_match_a_model(a in cpu_set(), b in cpu_set()) {
        let model = |set: &CpuSet| set.iter().collect::<BTreeSet<u32>>();
        let (ma, mb) = (model(&a), model(&b));
        prop_assert_eq!(model(&a.intersection(&b)), &ma & &mb);
        prop_assert_eq!(model(&a.difference(&b)), &ma - &mb);
        prop_assert_eq!(a.is_subset(&b), ma.is_subset(&mb));
        prop_assert_eq!(a.len(), ma.len());
        // Canonical: sorted ranges that neither touch nor overlap.
        for pair in a.intersection(&b).ranges().windows(2) {
            prop_assert!(pair[0].1 + 1 < pair[1].0, "{:?}", pair);
        }
    }
}
