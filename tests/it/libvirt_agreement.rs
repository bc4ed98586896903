//! The hook must read a domain XML the way libvirt reads it, and never hand
//! libvirt something it refuses or quietly changes: every case here runs the
//! executable's `apply` on a document of `testdata/agreement/` (or a variant
//! of one) and checks what libvirt 9.0 would make of the result, element by
//! element, or the one line of a refusal and the file left as it was.
//!
//! Grouped by the way the hook and libvirt used to disagree: a guestnuma=N
//! split through a core, per-cell attributes and children lost or carried by
//! position, element text read from its first text node, parents libvirt
//! merges, attributes libvirt trims, documents libvirt refuses later, and
//! the messages.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::support::libvirt_reading::{apply, apply_with, ids, read, sample, Cell};
use crate::support::{samples, TempDir};

const PREFIX: &str = "vdsm-hook-largeguest: ";

fn line(message: &str) -> String {
    format!("{PREFIX}{message}")
}

/// The hook refuses `xml` with exactly this message, the file as it was.
fn refuses(xml: &str, properties: &[&str], message: &str) {
    assert_eq!(apply(xml, properties).refused(), line(message));
}

fn cell(id: u32, cpus: &str, kib: u64) -> Cell {
    Cell {
        id,
        cpus: cpus.to_string(),
        kib,
        mem_access: None,
        discard: None,
        distances: Vec::new(),
    }
}

impl Cell {
    fn mem_access(self, value: &str) -> Cell {
        Cell {
            mem_access: Some(value.to_string()),
            ..self
        }
    }

    fn discard(self, value: &str) -> Cell {
        Cell {
            discard: Some(value.to_string()),
            ..self
        }
    }

    fn distances(self, distances: &[(u32, u32)]) -> Cell {
        Cell {
            distances: distances.to_vec(),
            ..self
        }
    }
}

/// The cells of a written document by id, after checking that libvirt's
/// QEMU driver would not resize the guest at define: `<memory>` is the
/// cells plus the memory devices, as libvirt reads them all.
fn cells(written: &str) -> Vec<Cell> {
    let guest = read(written);
    if !guest.cells.is_empty() {
        assert_eq!(
            guest.memory_kib,
            Some(guest.cells_and_devices_kib()),
            "libvirt would resize <memory> to the cells and devices:\n{written}"
        );
    }
    guest.cells_by_id().into_values().collect()
}

// ---- guestnuma=N splits a core -------------------------------------------
// QEMU numbers vCPUs thread first (socket, die, core, thread), so the threads
// of a core are neighbours; a Linux guest warns and drops the SMT relation
// when two of them land in different cells.

#[test]
fn guestnuma_n_never_splits_the_threads_of_a_core_between_cells() {
    refuses(&sample("smt-threads"), &["guestnuma=2"], "guestnuma: 2 equal cells of 3 vCPUs would split a core between cells (vCPUs 2-3 are the 2 threads of one core in <topology>); choose a cell count that divides the 3 cores");
}

#[test]
fn guestnuma_n_counts_the_cores_of_every_socket() {
    let xml = sample("smt-threads")
        .replace(">6144<", ">12288<")
        .replace(">6</vcpu>", ">12</vcpu>")
        .replace("sockets='1'", "sockets='2'");
    refuses(&xml, &["guestnuma=4"], "guestnuma: 4 equal cells of 3 vCPUs would split a core between cells (vCPUs 2-3 are the 2 threads of one core in <topology>); choose a cell count that divides the 6 cores");
}

#[test]
fn guestnuma_n_counts_the_cores_of_every_die() {
    let xml = sample("smt-threads")
        .replace(">6144<", ">8192<")
        .replace(">6</vcpu>", ">8</vcpu>")
        .replace("dies='1' cores='3'", "dies='2' cores='2'");
    refuses(&xml, &["guestnuma=8"], "guestnuma: 8 equal cells of 1 vCPU would split a core between cells (vCPUs 0-1 are the 2 threads of one core in <topology>); choose a cell count that divides the 4 cores");
}

#[test]
fn guestnuma_n_reads_the_thread_count_as_libvirt_does() {
    let xml = sample("smt-threads").replace("threads='2'", "threads=' 2'");
    let refused = apply(&xml, &["guestnuma=2"]).refused();
    assert!(
        refused.contains("would split a core between cells (vCPUs 2-3 are the 2 threads"),
        "{refused}"
    );
}

#[test]
fn guestnuma_n_keeps_whole_cores_in_a_cell() {
    let xml = sample("smt-threads")
        .replace(">6144<", ">8192<")
        .replace(">6</vcpu>", ">8</vcpu>")
        .replace("cores='3'", "cores='4'");
    let two = apply(&xml, &["guestnuma=2"]).written();
    assert_eq!(
        cells(&two),
        [cell(0, "0-3", 4_194_304), cell(1, "4-7", 4_194_304)]
    );
    let four = apply(&xml, &["guestnuma=4"]).written();
    let cpus: Vec<String> = cells(&four).into_iter().map(|c| c.cpus).collect();
    assert_eq!(cpus, ["0-1", "2-3", "4-5", "6-7"]);
}

// ---- per-cell memAccess and discard --------------------------------------

#[test]
fn per_cell_mem_access_and_discard_stay_when_the_cell_count_does() {
    for layout in ["guestnuma=0-1#2G,2-3#2G", "guestnuma=2"] {
        let written = apply(&sample("cells-mixed-access"), &[layout]).written();
        assert_eq!(
            cells(&written),
            [
                cell(0, "0-1", 2_097_152)
                    .mem_access("shared")
                    .discard("yes"),
                cell(1, "2-3", 2_097_152).mem_access("private"),
            ],
            "{layout}"
        );
    }
}

#[test]
fn a_discard_of_one_cell_stays_on_that_cell() {
    let xml = sample("cells-mixed-access").replace("memAccess='private'", "memAccess='shared'");
    let written = apply(&xml, &["guestnuma=2"]).written();
    assert_eq!(
        cells(&written),
        [
            cell(0, "0-1", 2_097_152)
                .mem_access("shared")
                .discard("yes"),
            cell(1, "2-3", 2_097_152).mem_access("shared"),
        ]
    );
}

#[test]
fn differing_mem_access_with_another_cell_count_is_refused() {
    refuses(&sample("cells-mixed-access"), &["guestnuma=4"], "guestnuma: cells 0 and 1 differ in memAccess ('shared' and 'private') and the new layout has 4 cells instead of 2, so the hook cannot tell which new cell gets which; give every cell the same memAccess, or keep 2 cells");
}

#[test]
fn differing_discard_with_another_cell_count_is_refused() {
    let xml = sample("cells-mixed-access").replace("memAccess='private'", "memAccess='shared'");
    refuses(&xml, &["guestnuma=0-3#4G"], "guestnuma: cells 0 and 1 differ in discard ('yes' and unset) and the new layout has 1 cell instead of 2, so the hook cannot tell which new cell gets which; give every cell the same discard, or keep 2 cells");
}

// ---- cells carried by id, not by position --------------------------------

const FULL_DISTANCES: [&[(u32, u32)]; 3] = [
    &[(0, 10), (1, 15), (2, 31)],
    &[(0, 15), (1, 10), (2, 21)],
    &[(0, 31), (1, 21), (2, 10)],
];

#[test]
fn distances_follow_their_cell_id_not_its_position() {
    let written = apply(&sample("cells-out-of-order"), &["guestnuma=0#1G,1#1G,2#1G"]).written();
    let expected: Vec<Cell> = (0..3)
        .map(|id| cell(id, &id.to_string(), 1_048_576).distances(FULL_DISTANCES[id as usize]))
        .collect();
    assert_eq!(cells(&written), expected);
}

/// Distances that only name a third cell stay valid when two cells swap
/// blocks, so a swap would reach the guest without a word from libvirt.
fn cells_listed_backwards() -> String {
    let numa = "<numa>
      <cell id='1' cpus='1' memory='1048576' unit='KiB'>
        <distances>
          <sibling id='2' value='21'/>
        </distances>
      </cell>
      <cell id='0' cpus='0' memory='1048576' unit='KiB' memAccess='shared'>
        <distances>
          <sibling id='2' value='31'/>
        </distances>
      </cell>
      <cell id='2' cpus='2' memory='1048576' unit='KiB'/>
    </numa>";
    let xml = sample("cells-out-of-order");
    let start = xml.find("<numa>").unwrap();
    let end = xml.find("</numa>").unwrap() + "</numa>".len();
    format!("{}{numa}{}", &xml[..start], &xml[end..])
}

#[test]
fn a_distance_matrix_is_never_swapped_silently() {
    let written = apply(&cells_listed_backwards(), &["guestnuma=3"]).written();
    assert_eq!(
        cells(&written),
        [
            cell(0, "0", 1_048_576)
                .mem_access("shared")
                .distances(&[(2, 31)]),
            cell(1, "1", 1_048_576).distances(&[(2, 21)]),
            cell(2, "2", 1_048_576),
        ]
    );
}

#[test]
fn a_cell_id_libvirt_trims_is_still_its_id() {
    let xml = cells_listed_backwards().replace("<cell id='1'", "<cell id=' 1'");
    let written = apply(&xml, &["guestnuma=0#1G,1#1G,2#1G"]).written();
    let by_id = cells(&written);
    assert_eq!(by_id[0].distances, [(2, 31)]);
    assert_eq!(by_id[1].distances, [(2, 21)]);
}

// ---- element text read as libvirt reads it -------------------------------

#[test]
fn memory_split_by_a_comment_is_read_whole() {
    let xml = sample("split-text").replace(
        "<vcpu placement='static'><!-- the licence allows 4 -->4</vcpu>",
        "<vcpu placement='static'>4</vcpu>",
    );
    refuses(&xml, &["guestnuma=0-1#1M,2-3#1M"], "guestnuma: the cells add up to 2048 KiB but the guest has 2097152 KiB of memory for its cells (<memory> is 2097152 KiB), and libvirt would silently resize the guest to the cells' sum; make the cells add up to 2097152 KiB");
    let written = apply(&xml, &["guestnuma=0-1#1G,2-3#1G"]).written();
    assert_eq!(
        cells(&written),
        [cell(0, "0-1", 1_048_576), cell(1, "2-3", 1_048_576)]
    );
}

#[test]
fn guestnuma_n_splits_the_whole_memory_and_vcpus_around_comments() {
    let written = apply(&sample("split-text"), &["guestnuma=2"]).written();
    assert_eq!(
        cells(&written),
        [cell(0, "0-1", 1_048_576), cell(1, "2-3", 1_048_576)]
    );
}

#[test]
fn memory_split_by_a_processing_instruction_is_read_whole() {
    let xml = sample("split-text")
        .replace(
            "2<!-- 2 GiB for the application -->048",
            "1<?backup keep?>024",
        )
        .replace("<!-- the licence allows 4 -->", "");
    let written = apply(&xml, &["guestnuma=2"]).written();
    assert_eq!(
        cells(&written),
        [cell(0, "0-1", 524_288), cell(1, "2-3", 524_288)]
    );
}

#[test]
fn vcpu_after_a_comment_is_read() {
    let written = apply(&sample("split-text"), &["cputune=3#1"]).written();
    assert_eq!(read(&written).pins, [(3, "1".to_string())]);
}

#[test]
fn vcpu_split_by_a_comment_is_read_whole() {
    let xml = sample("split-text").replace(
        "<!-- the licence allows 4 -->4</vcpu>",
        "1<!-- sixteen -->6</vcpu>",
    );
    let written = apply(&xml, &["guestnuma=2"]).written();
    assert_eq!(
        cells(&written),
        [cell(0, "0-7", 1_048_576), cell(1, "8-15", 1_048_576)]
    );
}

#[test]
fn a_memory_device_size_split_by_a_comment_is_read_whole() {
    let xml = sample("two-devices")
        .replace("  </devices>\n  <devices>\n", "")
        .replace(">512</size>", ">5<!-- half a GiB -->12</size>");
    assert_eq!(read(&xml).device_kib, 524_288, "{xml}");
    let written = apply(&xml, &["guestnuma=0#768M,1#768M"]).written();
    assert_eq!(
        cells(&written),
        [cell(0, "0", 786_432), cell(1, "1", 786_432)]
    );
}

// ---- parents libvirt merges ----------------------------------------------

#[test]
fn a_memory_device_in_a_second_devices_is_subtracted() {
    let xml = sample("two-devices");
    let written = apply(&xml, &["guestnuma=0#768M,1#768M"]).written();
    assert_eq!(
        cells(&written),
        [cell(0, "0", 786_432), cell(1, "1", 786_432)]
    );
    refuses(&xml, &["guestnuma=0#1G,1#1G"], "guestnuma: the cells add up to 2097152 KiB but the guest has 1572864 KiB of memory for its cells (<memory> 2097152 KiB minus 524288 KiB of memory devices), and libvirt would silently resize the guest to the cells' sum; make the cells add up to 1572864 KiB");
}

#[test]
fn a_memory_device_in_a_second_devices_keeps_its_cell() {
    refuses(&sample("two-devices"), &["guestnuma=0-1#1536M"], "guestnuma: the memory device <target><node>1</node> names a guest cell the VM would not have (it would get 1 cell); keep at least 2 cells");
}

#[test]
fn pins_in_a_second_cputune_are_replaced_where_they_are() {
    let written = apply(&sample("two-cputune"), &["cputune=1#0"]).written();
    let guest = read(&written);
    assert_eq!(guest.pins, [(0, "0".to_string()), (1, "0".to_string())]);
    assert!(written.contains("<shares>2048</shares>"), "{written}");
}

#[test]
fn a_vcpu_is_pinned_once_across_every_cputune() {
    let written = apply(&sample("two-cputune"), &["cputune=0-1#1"]).written();
    let mut pins = read(&written).pins;
    pins.sort();
    assert_eq!(pins, [(0, "1".to_string()), (1, "1".to_string())]);
}

#[test]
fn cells_with_a_second_cpu_are_refused() {
    refuses(&sample("two-cpu"), &["guestnuma=2"], "guestnuma: the domain XML has 2 <cpu> elements, and libvirt reads guest NUMA cells from each of them; merge them into one <cpu>");
}

#[test]
fn cells_in_a_second_cpu_count_for_memnodes() {
    let xml = sample("two-cpu").replace(
        "  <os>",
        "  <numatune>\n    <memory mode='strict' nodeset='0'/>\n    \
         <memnode cellid='0' mode='strict' nodeset='0'/>\n  </numatune>\n  <os>",
    );
    // The memnode binds cell 0, which the second <cpu> holds: numatune
    // would reach none of its memory, and the refusal names that cell.
    let refused = apply(&xml, &["numatune=interleave#0-1"]).refused();
    assert!(
        refused.contains("numatune: the engine binds the memory of this VM's NUMA node 0 itself"),
        "{refused}"
    );
}

fn two_numatunes() -> String {
    samples::sample("numatune-memnodes").replace(
        "  </numatune>\n",
        "  </numatune>\n  <numatune>\n    <memory mode='strict' nodeset='1'/>\n  </numatune>\n",
    )
}

#[test]
fn a_second_numatune_is_refused() {
    refuses(&two_numatunes(), &["numatune=interleave#0-1"], "numatune: the domain XML has 2 <numatune> elements, and libvirt accepts only one; merge them into one <numatune>");
}

#[test]
fn a_second_numatune_is_refused_for_host_nodes_too() {
    refuses(&two_numatunes(), &["guestnuma=0-3#4G#0,4-7#4G#1"], "numatune: the domain XML has 2 <numatune> elements, and libvirt accepts only one; merge them into one <numatune>");
}

// ---- attributes libvirt normalises ---------------------------------------

#[test]
fn a_memnode_whose_cellid_libvirt_trims_is_kept_by_numatune() {
    // libvirt reads cellid ' 1' as cell 1, and so does the refusal: the
    // memnode outranks numatune for that cell.
    let refused = apply(
        &sample("memnode-spaced-cellid"),
        &["numatune=interleave#0-1"],
    )
    .refused();
    assert!(
        refused.contains("the memory of this VM's NUMA node 1 itself"),
        "{refused}"
    );
}

#[test]
fn a_memnode_whose_cellid_libvirt_trims_is_kept_by_guestnuma() {
    let written = apply(
        &sample("memnode-spaced-cellid"),
        &["guestnuma=0-1#2G,2-3#2G"],
    )
    .written();
    let memnodes = read(&written).memnodes;
    assert_eq!(memnodes.len(), 1, "{written}");
    assert_eq!(
        (memnodes[0].cellid, memnodes[0].nodeset.as_str()),
        (Some(1), "1")
    );
}

#[test]
fn a_memnode_libvirt_cannot_read_is_refused_not_dropped() {
    let xml = sample("memnode-spaced-cellid").replace("cellid=' 1'", "cellid='one'");
    refuses(&xml, &["numatune=interleave#0-1"], "the domain XML's <memnode> has cellid='one', expected a guest cell id, a whole number 0 or more");
}

// ---- accepted, then refused by libvirt or at start -----------------------

#[test]
fn vcpu_placement_auto_makes_memory_placement_auto_for_memnodes() {
    refuses(
            &sample("vcpu-placement-auto"),
            &["guestnuma=0-1#2G#0,2-3#2G#1"],
        "numatune: per-cell host nodes (guestnuma HOSTNODES or <memnode>) cannot be used with placement 'auto', which <vcpu placement='auto'> gives memory when <numatune> names no node set; give numatune a node set");
}

#[test]
fn vcpu_placement_auto_with_a_memory_of_no_node_set_is_auto_too() {
    let xml = sample("vcpu-placement-auto").replace(
        "  <os>",
        "  <numatune>\n    <memory mode='interleave'/>\n  </numatune>\n  <os>",
    );
    let refused = apply(&xml, &["guestnuma=0-1#2G#0,2-3#2G#1"]).refused();
    assert!(
        refused.contains("cannot be used with placement 'auto', which <vcpu placement='auto'>"),
        "{refused}"
    );
}

#[test]
fn vcpu_placement_auto_takes_host_nodes_with_a_numatune_node_set() {
    let written = apply(
        &sample("vcpu-placement-auto"),
        &["numatune=strict#0-1", "guestnuma=0-1#2G#0,2-3#2G#1"],
    )
    .written();
    let memnodes: Vec<(Option<u32>, String)> = read(&written)
        .memnodes
        .into_iter()
        .map(|m| (m.cellid, m.nodeset))
        .collect();
    assert_eq!(memnodes, [(Some(0), "0".into()), (Some(1), "1".into())]);
}

#[test]
fn a_preferred_memnode_over_several_nodes_is_refused() {
    refuses(
            &samples::sample("numatune-memnodes"),
            &["numatune=preferred#0", "guestnuma=0-3#4G#0-1,4-7#4G#1"],
        "guestnuma: cell 0 binds its memory to host nodes 0-1 in 'preferred' mode, which takes a single node; bind each cell to one node, or use strict or interleave in numatune");
}

#[test]
fn a_preferred_memory_of_the_document_refuses_several_nodes_for_a_cell() {
    let xml = samples::sample("numatune-memnodes").replace(
        "<memory mode='strict' nodeset='0-1'/>",
        "<memory mode='preferred' nodeset='0'/>",
    );
    refuses(&xml, &["guestnuma=0-3#4G#0,4-7#4G#0-1"], "guestnuma: cell 1 binds its memory to host nodes 0-1 in 'preferred' mode, which takes a single node; bind each cell to one node, or use strict or interleave in numatune");
}

#[test]
fn preferred_memnodes_of_one_node_each_are_written() {
    let written = apply(
        &samples::sample("numatune-memnodes"),
        &["numatune=preferred#0", "guestnuma=0-3#4G#0,4-7#4G#1"],
    )
    .written();
    let memnodes: Vec<(String, String)> = read(&written)
        .memnodes
        .into_iter()
        .map(|m| (m.mode, m.nodeset))
        .collect();
    assert_eq!(
        memnodes,
        [
            ("preferred".into(), "0".into()),
            ("preferred".into(), "1".into())
        ]
    );
}

/// Where the hook is told to look for numad (`LARGEGUEST_NUMAD`), and
/// whether a numad is there.
fn numad(installed: bool) -> (TempDir, String) {
    let dir = TempDir::new("numad");
    let path = dir.join("numad");
    if installed {
        fs::write(&path, "#!/bin/sh\necho 0\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = path.to_string_lossy().into_owned();
    (dir, path)
}

#[test]
fn numad_placement_on_a_host_without_numad_is_refused() {
    let (_dir, path) = numad(false);
    for value in ["numatune=auto", "numatune=interleave#auto"] {
        let refused = apply_with(
            &sample("smt-threads"),
            &[value],
            &[("LARGEGUEST_NUMAD", &path)],
        )
        .refused();
        assert_eq!(
            refused,
            line(&format!("numatune: placement 'auto' asks numad for the host nodes when the VM starts, and this host has no numad ({path} is missing); install numad, or give numatune a node set"))
        );
    }
}

#[test]
fn numad_placement_on_a_host_with_numad_is_written() {
    let (_dir, path) = numad(true);
    let written = apply_with(
        &sample("smt-threads"),
        &["numatune=auto"],
        &[("LARGEGUEST_NUMAD", &path)],
    )
    .written();
    assert!(
        written.contains("<memory mode='strict' placement='auto'/>"),
        "{written}"
    );
}

#[test]
fn guestnuma_n_past_16384_vcpus_is_refused() {
    refuses(&sample("vcpus-16386"), &["guestnuma=2"], "guestnuma: <vcpu> gives the VM 16386 vCPUs, but libvirt reads a cell's cpus only up to vCPU 16383; give the VM at most 16384 vCPUs to use guestnuma");
}

#[test]
fn explicit_cells_past_16384_vcpus_are_refused_with_the_limit() {
    refuses(&sample("vcpus-16386"), &["guestnuma=0-16383#64G"], "guestnuma: <vcpu> gives the VM 16386 vCPUs, but libvirt reads a cell's cpus only up to vCPU 16383; give the VM at most 16384 vCPUs to use guestnuma");
}

#[test]
fn guestnuma_n_up_to_16384_vcpus_is_written() {
    let xml = sample("vcpus-16386").replace(">16386<", ">16384<");
    let written = apply(&xml, &["guestnuma=2"]).written();
    let all: Vec<String> = cells(&written).into_iter().map(|c| c.cpus).collect();
    assert_eq!(all, ["0-8191", "8192-16383"]);
}

#[test]
fn a_hugepage_nodeset_naming_a_removed_cell_is_refused() {
    // One new cell over cell 0 (no huge pages) and cell 1 (1G pages): one
    // QEMU backend cannot have both, whichever way the cell count is given.
    let over_both = "new cell 0 would take guest memory that old cells 0 and 1 backed with no huge pages and with pages of 1G, but QEMU gives one cell one memory backend; cut the cells where the page size changes (QEMU lays the cells' memory out in cell order), or give the VM one page size";
    refuses(
        &sample("hugepages-per-cell"),
        &["guestnuma=0-3#4G"],
        &format!("guestnuma: {over_both}"),
    );
    refuses(&sample("hugepages-per-cell"), &["guestnuma=1"], &format!("guestnuma=1 splits the guest into 1 equal cell, and then {over_both}; choose a cell count for which this holds, or give the cells explicitly"));
}

#[test]
fn a_hugepage_nodeset_of_cells_kept_is_fine() {
    let written = apply(&sample("hugepages-per-cell"), &["guestnuma=0#2G,1-3#2G"]).written();
    assert_eq!(
        cells(&written),
        [cell(0, "0", 2_097_152), cell(1, "1-3", 2_097_152)]
    );
    assert!(written.contains("nodeset='1'/>"), "{written}");
}

#[test]
fn ids_are_read_as_libvirt_reads_them() {
    assert_eq!(ids("0-2,^1, 5"), [0, 2, 5]);
    assert_eq!(crate::support::libvirt_reading::number(" +07"), Some(7));
    assert_eq!(crate::support::libvirt_reading::number("7 "), None);
    assert_eq!(
        crate::support::libvirt_reading::kib("1", Some("GB")),
        Some(976_563)
    );
    let guest = read(&sample("split-text"));
    assert_eq!((guest.memory_kib, guest.vcpus), (Some(2_097_152), Some(4)));
    assert_eq!(read(&sample("two-devices")).device_kib, 524_288);
}

// ---- messages --------------------------------------------------------------

#[test]
fn a_split_of_memory_into_one_cell_reads_right() {
    let xml = sample("memory-decimal-gb").replace(
        "<memory unit='GB'>1</memory>",
        "<memory unit='KiB'>1048577</memory>",
    );
    refuses(&xml, &["guestnuma=1"], "guestnuma: 1048577 KiB of memory cannot be split into 1 cell of whole MiB; make <memory> a whole number of MiB");
}

#[test]
fn a_decimal_gigabyte_is_named_as_the_cause() {
    refuses(&sample("memory-decimal-gb"), &["guestnuma=1"], "guestnuma: 976563 KiB of memory cannot be split into 1 cell of whole MiB: <memory unit='GB'> counts in decimal units (1 GB = 1000000000 bytes); give <memory> in MiB or GiB");
}

#[test]
fn a_decimal_megabyte_is_named_as_the_cause() {
    let xml = sample("memory-decimal-gb").replace(
        "<memory unit='GB'>1</memory>",
        "<memory unit='MB'>3000</memory>",
    );
    refuses(&xml, &["guestnuma=2"], "guestnuma: 2929688 KiB of memory cannot be split into 2 cells of whole MiB: <memory unit='MB'> counts in decimal units (1 MB = 1000000 bytes); give <memory> in MiB or GiB");
}

#[test]
fn a_split_of_one_vcpu_reads_right() {
    let xml = sample("memory-decimal-gb")
        .replace(
            "<memory unit='GB'>1</memory>",
            "<memory unit='MiB'>1024</memory>",
        )
        .replace(">2</vcpu>", ">1</vcpu>");
    refuses(
        &xml,
        &["guestnuma=2"],
        "guestnuma: 1 vCPU cannot be split into 2 equal cells; choose a count that divides 1",
    );
}
