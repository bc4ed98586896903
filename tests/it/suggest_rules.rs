//! The placement rules of `suggest`, checked on the fake sysfs trees.

use crate::support::sysfs_tree;
use proptest::prelude::*;
use vdsm_hook_largeguest::cpuset::CpuSet;
use vdsm_hook_largeguest::host::topology::HostTopology;
use vdsm_hook_largeguest::properties::guestnuma::GuestNuma;
use vdsm_hook_largeguest::properties::numatune::MemoryMode;
use vdsm_hook_largeguest::suggest::{propose, Proposal, Shortage, SuggestError, SuggestRequest};

const GIB: u64 = 1024 * 1024;

fn host(tree: &str) -> HostTopology {
    HostTopology::read(&sysfs_tree(tree)).unwrap()
}

fn request(vcpus: u32, memory_gib: u64, threads: u32) -> SuggestRequest {
    SuggestRequest {
        threads_per_core: threads,
        ..SuggestRequest::new(vcpus, memory_gib * GIB)
    }
}

/// The plan for `request` on `tree`, checked for soundness.
fn planned(tree: &str, request: &SuggestRequest) -> Proposal {
    let topology = host(tree);
    let plan = propose(&topology, request).unwrap();
    assert_sound(&topology, request, &plan);
    plan
}

fn nodes(plan: &Proposal) -> Vec<u32> {
    plan.cells.iter().map(|cell| cell.node).collect()
}

/// What must hold for every plan: checked here on any host and request.
fn assert_sound(topology: &HostTopology, request: &SuggestRequest, plan: &Proposal) {
    let mut used = CpuSet::new();
    for pin in &plan.cputune.pins {
        assert_eq!(pin.cpuset.len(), 1, "one host CPU per vCPU: {pin:?}");
        let cpu = pin.cpuset.first().unwrap();
        assert!(!used.contains(cpu), "CPU {cpu} pinned twice");
        assert!(!plan.reserve.contains(cpu), "CPU {cpu} is reserved");
        assert!(topology.online_cpus.contains(cpu), "CPU {cpu} offline");
        used.insert(cpu);
    }
    let vcpus: Vec<u32> = plan.cputune.pins.iter().map(|pin| pin.vcpu).collect();
    assert_eq!(vcpus, (0..request.vcpus).collect::<Vec<_>>());
    let total: u64 = plan.cells.iter().map(|cell| cell.memory_kib).sum();
    assert_eq!(total, request.memory_kib);
    for cell in &plan.cells {
        let node = topology.nodes.iter().find(|n| n.id == cell.node).unwrap();
        assert!(cell.memory_kib <= node.memory_free_kib, "{cell:?}");
        assert!(cell.memory_kib % 1024 == 0, "{cell:?}");
        assert!(cell.host_cpus.is_subset(&node.cpus), "{cell:?}");
    }
    let GuestNuma::Cells(cells) = &plan.guestnuma else {
        panic!("suggest writes explicit cells")
    };
    assert_eq!(cells.len(), plan.cells.len());
    for (cell, planned) in cells.iter().zip(&plan.cells) {
        let bound = cell.host_nodes.as_ref().unwrap();
        assert_eq!(bound.to_string(), planned.node.to_string());
    }
    if request.threads_per_core == 2 {
        for pair in plan.cputune.pins.chunks(2) {
            let (a, b) = (pair[0].cpuset.first(), pair[1].cpuset.first());
            let core = topology
                .nodes
                .iter()
                .flat_map(|n| &n.cores)
                .find(|core| core.contains(a.unwrap()))
                .unwrap();
            assert!(core.contains(b.unwrap()), "{pair:?} are not siblings");
            assert_ne!(a, b);
        }
    }
}

#[test]
fn one_node_when_one_node_is_enough() {
    let plan = planned("two-socket-ht", &request(16, 64, 1));
    // Node 1 has more free memory (180.5 GiB against 171.25).
    assert_eq!(nodes(&plan), vec![1]);
    assert_eq!(plan.numatune.to_string(), "strict#1");
    assert_eq!(plan.guestnuma.to_string(), "0-15#64G#1");
}

#[test]
fn reserve_defaults_to_cpu_zero_and_its_sibling() {
    let plan = planned("two-socket-ht", &request(92, 64, 1));
    assert_eq!(plan.reserve.to_string(), "0,48");
    // 94 would fit as cells of 46 and 48, which no socket layout matches.
    let err = plan_err(&host("two-socket-ht"), &request(94, 64, 1));
    assert!(
        matches!(
            err,
            SuggestError::DoesNotFit {
                shortage: Shortage::UnequalCells {
                    cores: 94,
                    count: 2,
                    smallest: 46,
                    node: 0
                },
                ..
            }
        ),
        "{err}"
    );
    let err = plan_err(&host("two-socket-ht"), &request(95, 64, 1));
    assert!(
        matches!(
            err,
            SuggestError::DoesNotFit {
                shortage: Shortage::Cpus {
                    need: 95,
                    have: 94,
                    ..
                },
                ..
            }
        ),
        "{err}"
    );
}

fn plan_err(topology: &HostTopology, request: &SuggestRequest) -> SuggestError {
    propose(topology, request).unwrap_err()
}

#[test]
fn an_empty_reserve_frees_cpu_zero() {
    let topology = host("laptop");
    let mut request = request(8, 4, 2);
    request.reserve = Some(CpuSet::new());
    let plan = propose(&topology, &request).unwrap();
    assert_sound(&topology, &request, &plan);
    assert_eq!(plan.cputune.pins[0].cpuset.to_string(), "0");
    assert_eq!(plan.cputune.pins[1].cpuset.to_string(), "4");
}

#[test]
fn epyc_spills_onto_nodes_of_the_same_socket() {
    let plan = planned("epyc-nps4", &request(40, 100, 2));
    // 20 guest cores in cells of one size: 4 of 5 (3 would not be equal).
    assert_eq!(plan.cells.len(), 4);
    let sockets: Vec<u32> = nodes(&plan).iter().map(|n| n / 4).collect();
    assert!(sockets.iter().all(|&s| s == sockets[0]), "{sockets:?}");
}

#[test]
fn asymmetric_memory_is_split_by_what_each_node_has() {
    let plan = planned("asymmetric", &request(40, 250, 1));
    assert_eq!(plan.guestnuma.to_string(), "0-19#230G#0,20-39#20G#1");
}

#[test]
fn cpu_less_node_gets_no_cell() {
    let plan = planned("cxl", &request(28, 100, 1));
    assert_eq!(nodes(&plan), vec![0, 1]);
}

#[test]
fn offline_cpus_and_broken_pairs_are_not_used() {
    let plan = planned("offline-cpus", &request(24, 16, 2));
    // CPU 7 lost its sibling 23: with two threads per core it is no pair.
    let pinned: CpuSet = plan
        .cputune
        .pins
        .iter()
        .filter_map(|p| p.cpuset.first())
        .collect();
    assert!(!pinned.contains(7), "{pinned}");
    let err = plan_err(&host("offline-cpus"), &request(28, 16, 2));
    assert!(err.to_string().contains("cores are the limit"), "{err}");
}

#[test]
fn the_tightest_resource_is_named() {
    let topology = host("asymmetric");
    let err = plan_err(&topology, &request(8, 300, 1));
    assert_eq!(
        err.to_string(),
        "the guest does not fit on the 2 host nodes with usable CPUs: memory is the limit: \
         the guest needs 300G and the best of these nodes have 260.0 GiB free"
    );
}

#[test]
fn preferred_stays_on_one_node() {
    let topology = host("two-socket-ht");
    let mut request = request(8, 200, 1);
    request.mode = MemoryMode::Preferred;
    let err = plan_err(&topology, &request);
    assert!(
        err.to_string().contains("one host node (--mode preferred"),
        "{err}"
    );
    request.memory_kib = 100 * GIB;
    let plan = propose(&topology, &request).unwrap();
    assert_eq!(plan.numatune.to_string(), "preferred#1");
}

#[test]
fn nodes_fixes_the_count() {
    let topology = host("epyc-nps4");
    let mut request = request(8, 8, 1);
    request.nodes = Some(4);
    let plan = propose(&topology, &request).unwrap();
    assert_sound(&topology, &request, &plan);
    assert_eq!(nodes(&plan), vec![4, 5, 6, 7]);
    request.nodes = Some(9);
    assert!(matches!(
        plan_err(&topology, &request),
        SuggestError::MoreCellsThanCores { .. }
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_plan_is_sound(
        tree in prop::sample::select(vec!["laptop", "two-socket-ht", "epyc-nps4", "asymmetric", "cxl", "offline-cpus"]),
        cores in 1u32..70,
        threads in 1u32..3,
        memory_mib in 1u64..600_000,
        nodes in prop::option::of(1usize..9),
    ) {
        let topology = host(tree);
        let request = SuggestRequest {
            threads_per_core: threads,
            mode: MemoryMode::Interleave,
            nodes,
            ..SuggestRequest::new(cores * threads, memory_mib * 1024)
        };
        if let Ok(plan) = propose(&topology, &request) {
            assert_sound(&topology, &request, &plan);
            if let Some(count) = nodes {
                prop_assert_eq!(plan.cells.len(), count);
            }
        }
    }
}

/// The engine's side: the same pins in its syntax, one vCPU an entry, and
/// a guest topology whose sockets are the cells.
#[test]
fn the_engine_gets_the_same_pins_and_one_socket_a_cell() {
    let plan = planned("two-socket-ht", &request(64, 64, 2));
    let engine = &plan.engine;
    assert_eq!(engine.sockets, plan.cells.len());
    assert_eq!(
        engine.sockets as u64 * engine.cores_per_socket * u64::from(engine.threads_per_core),
        64
    );
    let entries: Vec<&str> = engine.cpu_pinning.split('_').collect();
    assert_eq!(entries.len(), 64);
    for (pin, entry) in plan.cputune.pins.iter().zip(&entries) {
        assert_eq!(*entry, format!("{}#{}", pin.vcpu, pin.cpuset));
    }
    for cell in &plan.cells {
        assert_eq!(cell.vcpus.len() as u64, engine.cores_per_socket * 2);
    }
}
