//! Generated documents for libvirt's QEMU driver to judge. A fixed seed
//! draws the same few dozen guests every run, each with property values:
//! cells of one or two page sizes with page node sets written as libvirt
//! allows (ranges, spaces, `^` exclusions), a guest without cells on huge
//! pages or on a `nodeset='0'` page, DIMMs on a cell, I/O threads with ids
//! past the count, pins spread over a second `<cputune>`, distances and
//! HMAT. Here each runs through the hook as VDSM runs it; with
//! `LARGEGUEST_GENERATED_CASES=DIR` the documents and their properties are
//! also written to DIR, where `tests/e2e/qemu_argv.py --generated DIR`
//! compares what QEMU gets before and after the hook (docs/testing.md).

use std::fs;
use std::path::Path;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

use crate::support::scene::Scene;
use crate::support::PROGRAM;
use vdsm_hook_largeguest::cpuset::CpuSet;

/// How many guests the seed draws: enough to meet every feature several
/// times, few enough for the QEMU driver to judge in about a minute.
const CASES: usize = 40;

const GIB_KIB: u64 = 1 << 20;
const PAGE_2M: u64 = 2048;
const PAGE_1G: u64 = GIB_KIB;

/// How a page's node set of guest cells is written.
#[derive(Debug, Clone, Copy)]
enum Style {
    /// `0-1,3`
    Ranges,
    /// `0, 1, 3`
    Spaced,
    /// `0-3,^2`: every cell, then the ones left out.
    Excluding,
}

#[derive(Debug, Clone)]
enum Backing {
    Plain,
    /// One `<page>` without a node set: every region of the guest.
    Whole(u64),
    /// `<page nodeset='0'>` of a guest without cells: libvirt's whole guest.
    NodesetZero(u64),
    /// Per cell: no huge pages, or the page size in KiB.
    PerCell(Vec<Option<u64>>, Style),
}

/// What the document says about the guest.
#[derive(Debug, Clone)]
struct Doc {
    vcpus: u32,
    /// Threads per core in `<topology>`.
    threads: u32,
    /// Per cell, in GiB; empty for a guest without cells.
    cells_gib: Vec<u64>,
    mem_access: bool,
    distances: bool,
    hmat: bool,
    backing: Backing,
    /// A DIMM of 1 GiB on this cell.
    dimm_node: Option<u32>,
    iothreads: u32,
    /// `<iothreadids>`: one id, possibly past the count.
    iothread_id: Option<u32>,
    vcpupins: Vec<(u32, u32)>,
    emulatorpin: bool,
    iothreadpin: bool,
    /// The vCPU pins in one `<cputune>`, the emulator's and I/O thread's in a second.
    two_cputunes: bool,
    numatune: Option<&'static str>,
}

impl Doc {
    fn memory_kib(&self) -> u64 {
        let cells = match self.cells_gib.is_empty() {
            true => 2,
            false => self.cells_gib.iter().sum(),
        };
        (cells + u64::from(self.dimm_node.is_some())) * GIB_KIB
    }

    /// The I/O thread ids libvirt gives the guest: the listed one, then
    /// the lowest free ones up to the count.
    fn iothread_ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self.iothread_id.into_iter().collect();
        let mut next = 1;
        while ids.len() < self.iothreads as usize {
            if !ids.contains(&next) {
                ids.push(next);
            }
            next += 1;
        }
        ids
    }

    fn features(&self) -> Vec<&'static str> {
        let mut features = Vec::new();
        let cells = self.cells_gib.len();
        features.push(match cells {
            0 => "no cells",
            1 => "one cell",
            _ => "cells",
        });
        features.push(match &self.backing {
            Backing::Plain => "no huge pages",
            Backing::Whole(_) => "huge pages",
            Backing::NodesetZero(_) => "nodeset 0 page",
            Backing::PerCell(pages, _) if pages.iter().flatten().any(|&p| p == PAGE_1G) => {
                match pages.iter().flatten().any(|&p| p == PAGE_2M) {
                    true => "two page sizes with node sets",
                    false => "page node sets",
                }
            }
            Backing::PerCell(..) => "page node sets",
        });
        let flags = [
            (self.dimm_node.is_some(), "DIMM"),
            (self.iothreads > 0, "I/O threads"),
            (
                self.two_cputunes && (self.emulatorpin || self.iothreadpin),
                "second cputune",
            ),
            (self.hmat, "HMAT"),
            (self.distances, "distances"),
            (self.mem_access, "shared memory"),
            (
                self.iothread_id.is_some_and(|id| id > self.iothreads),
                "I/O thread id past the count",
            ),
            (self.numatune.is_some(), "numatune"),
        ];
        features.extend(flags.iter().filter(|f| f.0).map(|f| f.1));
        features
    }
}

fn nodeset(cells: &[u32], count: u32, style: Style) -> String {
    match style {
        Style::Spaced => cells
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        Style::Excluding => {
            let mut text = format!("0-{}", count - 1);
            for cell in (0..count).filter(|c| !cells.contains(c)) {
                text.push_str(&format!(",^{cell}"));
            }
            text
        }
        Style::Ranges => {
            let mut runs: Vec<(u32, u32)> = Vec::new();
            for &cell in cells {
                match runs.last_mut() {
                    Some(run) if run.1 + 1 == cell => run.1 = cell,
                    _ => runs.push((cell, cell)),
                }
            }
            let run = |&(lo, hi): &(u32, u32)| match lo == hi {
                true => lo.to_string(),
                false => format!("{lo}-{hi}"),
            };
            runs.iter().map(run).collect::<Vec<_>>().join(",")
        }
    }
}

fn page(kib: u64) -> String {
    match kib {
        PAGE_1G => "size='1' unit='GiB'".to_string(),
        _ => format!("size='{kib}' unit='KiB'"),
    }
}

fn render(doc: &Doc, name: &str) -> String {
    let mut out = String::new();
    let mut line = |depth: usize, text: &str| {
        out.push_str(&"  ".repeat(depth));
        out.push_str(text);
        out.push('\n');
    };
    line(0, "<domain type='kvm'>");
    line(1, &format!("<name>{name}</name>"));
    if doc.dimm_node.is_some() {
        line(1, "<maxMemory slots='4' unit='GiB'>64</maxMemory>");
    }
    line(
        1,
        &format!("<memory unit='KiB'>{}</memory>", doc.memory_kib()),
    );
    render_backing(doc, &mut line);
    line(1, &format!("<vcpu placement='static'>{}</vcpu>", doc.vcpus));
    if doc.iothreads > 0 {
        line(1, &format!("<iothreads>{}</iothreads>", doc.iothreads));
        if let Some(id) = doc.iothread_id {
            line(1, "<iothreadids>");
            line(2, &format!("<iothread id='{id}'/>"));
            line(1, "</iothreadids>");
        }
    }
    render_cputune(doc, &mut line);
    if let Some(numatune) = doc.numatune {
        let (mode, nodes) = numatune.split_once('#').unwrap();
        line(1, "<numatune>");
        line(2, &format!("<memory mode='{mode}' nodeset='{nodes}'/>"));
        line(1, "</numatune>");
    }
    line(1, "<os>");
    line(2, "<type arch='x86_64' machine='q35'>hvm</type>");
    line(1, "</os>");
    render_cpu(doc, &mut line);
    line(1, "<devices>");
    if let Some(node) = doc.dimm_node {
        line(2, "<memory model='dimm'>");
        line(3, "<target>");
        line(4, "<size unit='GiB'>1</size>");
        line(4, &format!("<node>{node}</node>"));
        line(3, "</target>");
        line(2, "</memory>");
    }
    line(2, "<memballoon model='none'/>");
    line(1, "</devices>");
    line(0, "</domain>");
    out
}

fn render_backing(doc: &Doc, line: &mut impl FnMut(usize, &str)) {
    let pages: Vec<String> = match &doc.backing {
        Backing::Plain => return,
        Backing::Whole(kib) => vec![format!("<page {}/>", page(*kib))],
        Backing::NodesetZero(kib) => vec![format!("<page {} nodeset='0'/>", page(*kib))],
        Backing::PerCell(per_cell, style) => {
            let count = per_cell.len() as u32;
            [PAGE_2M, PAGE_1G]
                .into_iter()
                .filter_map(|kib| {
                    let cells: Vec<u32> = (0..count)
                        .filter(|&c| per_cell[c as usize] == Some(kib))
                        .collect();
                    let set = nodeset(&cells, count, *style);
                    (!cells.is_empty()).then(|| format!("<page {} nodeset='{set}'/>", page(kib)))
                })
                .collect()
        }
    };
    line(1, "<memoryBacking>");
    line(2, "<hugepages>");
    for page in &pages {
        line(3, page);
    }
    line(2, "</hugepages>");
    line(1, "</memoryBacking>");
}

fn render_cputune(doc: &Doc, line: &mut impl FnMut(usize, &str)) {
    let vcpupins: Vec<String> = doc
        .vcpupins
        .iter()
        .map(|(vcpu, cpu)| format!("<vcpupin vcpu='{vcpu}' cpuset='{cpu}'/>"))
        .collect();
    let mut others = Vec::new();
    if doc.emulatorpin {
        others.push("<emulatorpin cpuset='3'/>".to_string());
    }
    if doc.iothreadpin {
        let id = doc.iothread_ids()[0];
        others.push(format!("<iothreadpin iothread='{id}' cpuset='3'/>"));
    }
    let tunes = match doc.two_cputunes {
        true => vec![vcpupins, others],
        false => vec![vcpupins.into_iter().chain(others).collect()],
    };
    for tune in tunes.iter().filter(|t| !t.is_empty() || doc.two_cputunes) {
        line(1, "<cputune>");
        for pin in tune {
            line(2, pin);
        }
        line(1, "</cputune>");
    }
}

fn render_cpu(doc: &Doc, line: &mut impl FnMut(usize, &str)) {
    let cores = doc.vcpus / doc.threads;
    line(1, "<cpu>");
    line(
        2,
        &format!(
            "<topology sockets='1' dies='1' cores='{cores}' threads='{}'/>",
            doc.threads
        ),
    );
    let count = doc.cells_gib.len() as u32;
    if let Some(per_cell) = doc.vcpus.checked_div(count) {
        line(2, "<numa>");
        for (id, gib) in (0..count).zip(&doc.cells_gib) {
            let (first, last) = (id * per_cell, (id + 1) * per_cell - 1);
            let access = match doc.mem_access {
                true => " memAccess='shared'",
                false => "",
            };
            let open =
                format!("<cell id='{id}' cpus='{first}-{last}' memory='{gib}' unit='GiB'{access}");
            let cache = doc.hmat && id == 0;
            if !doc.distances && !cache {
                line(3, &format!("{open}/>"));
                continue;
            }
            line(3, &format!("{open}>"));
            if doc.distances {
                line(4, "<distances>");
                for other in 0..count {
                    let value = if other == id { 10 } else { 20 + id + other };
                    line(5, &format!("<sibling id='{other}' value='{value}'/>"));
                }
                line(4, "</distances>");
            }
            if cache {
                line(
                    4,
                    "<cache level='1' associativity='direct' policy='writeback'>",
                );
                line(5, "<size value='10' unit='KiB'/>");
                line(5, "<line value='8' unit='B'/>");
                line(4, "</cache>");
            }
            line(3, "</cell>");
        }
        if doc.hmat {
            line(3, "<interconnects>");
            for target in 0..count {
                let value = 5 * (target + 1);
                line(
                    4,
                    &format!(
                        "<latency initiator='0' target='{target}' type='access' value='{value}'/>"
                    ),
                );
            }
            line(
                4,
                "<bandwidth initiator='0' target='0' type='access' value='204800' unit='KiB'/>",
            );
            line(3, "</interconnects>");
        }
        line(2, "</numa>");
    }
    line(1, "</cpu>");
}

fn doc() -> impl Strategy<Value = Doc> {
    let shape = prop::sample::select(vec![2u32, 4, 8]).prop_flat_map(|vcpus| {
        let counts: Vec<u32> = [0u32, 0, 1, 2, 2, 4]
            .into_iter()
            .filter(|c| *c <= vcpus)
            .collect();
        (Just(vcpus), prop::sample::select(counts))
    });
    shape
        .prop_flat_map(|(vcpus, count)| {
            let n = count as usize;
            let page = prop::sample::select(vec![PAGE_2M, PAGE_1G]);
            let backing = match n {
                0 => prop_oneof![
                    1 => Just(Backing::Plain),
                    1 => page.clone().prop_map(Backing::Whole),
                    2 => page.prop_map(Backing::NodesetZero),
                ]
                .boxed(),
                _ => prop_oneof![
                    1 => Just(Backing::Plain),
                    1 => page.prop_map(Backing::Whole),
                    3 => (
                        prop::collection::vec(
                            prop::option::of(prop::sample::select(vec![PAGE_2M, PAGE_1G])),
                            n
                        ),
                        prop::sample::select(vec![Style::Ranges, Style::Spaced, Style::Excluding]),
                    )
                        .prop_map(|(pages, style)| Backing::PerCell(pages, style)),
                ]
                .boxed(),
            };
            let pins = prop::collection::btree_map(0..vcpus, 0u32..16, 0..3);
            (
                (Just(vcpus), prop::sample::select(vec![1u32, 2])),
                prop::collection::vec(prop::sample::select(vec![1u64, 2]), n),
                (any::<bool>(), any::<bool>(), prop::bool::weighted(0.3)),
                backing,
                prop::option::weighted(0.3, 0..count.max(1)),
                (
                    0u32..3,
                    prop::option::of(prop::sample::select(vec![1u32, 7, 4_000_000_000])),
                ),
                (
                    pins,
                    any::<bool>(),
                    any::<bool>(),
                    prop::bool::weighted(0.6),
                ),
                prop::option::of(prop::sample::select(vec![
                    "strict#0-1",
                    "interleave#0-1",
                    "preferred#1",
                    "restrictive#0",
                ])),
            )
        })
        .prop_map(|shape| {
            let ((vcpus, threads), cells_gib, flags, backing, dimm, threads_io, pins, numatune) =
                shape;
            let (iothreads, iothread_id) = threads_io;
            let cells = cells_gib.len();
            Doc {
                vcpus,
                threads,
                mem_access: flags.0 && cells > 0,
                distances: flags.1 && cells > 1,
                hmat: flags.2 && cells > 0,
                backing,
                dimm_node: dimm.filter(|_| cells > 0),
                iothreads,
                iothread_id: iothread_id.filter(|_| iothreads > 0),
                vcpupins: pins.0.into_iter().collect(),
                emulatorpin: pins.1,
                iothreadpin: pins.2 && iothreads > 0,
                two_cputunes: pins.3,
                numatune,
                cells_gib,
            }
        })
}

/// Property values for a document: what an administrator might set on it.
fn properties(doc: &Doc) -> impl Strategy<Value = Vec<String>> {
    let vcpus = doc.vcpus;
    let divisors: Vec<u32> = [1u32, 2, 4]
        .into_iter()
        .filter(|d| vcpus.is_multiple_of(*d) && (vcpus / d).is_multiple_of(doc.threads))
        .collect();
    let same = match doc.cells_gib.is_empty() {
        true => vec![1, 1],
        false => doc.cells_gib.clone(),
    };
    let per = vcpus / same.len() as u32;
    let explicit = move |bind: bool| {
        (0u32..)
            .zip(&same)
            .map(|(i, gib)| {
                let host = if bind {
                    format!("#{}", i % 2)
                } else {
                    String::new()
                };
                format!("{}-{}#{gib}G{host}", i * per, (i + 1) * per - 1)
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let guestnuma = prop_oneof![
        prop::sample::select(divisors).prop_map(|n| n.to_string()),
        any::<bool>().prop_map(explicit),
    ];
    let iothread = doc.iothread_ids().first().copied();
    (
        prop::option::of((1..=vcpus).prop_map(move |k| format!("0-{}#16-{}", k - 1, 15 + k))),
        prop::option::of(Just("40-41".to_string())),
        prop::option::of(Just(iothread)),
        prop::option::of(prop::sample::select(vec![
            "strict#0-1",
            "interleave#0",
            "preferred#1",
            "restrictive#2",
        ])),
        prop::option::weighted(0.6, guestnuma),
    )
        .prop_map(|(cputune, emulatorpin, iothread, numatune, guestnuma)| {
            let mut set = Vec::new();
            set.extend(cputune.map(|v| format!("cputune={v}")));
            set.extend(emulatorpin.map(|v| format!("emulatorpin={v}")));
            set.extend(iothread.flatten().map(|id| format!("iothreadpin={id}#42")));
            set.extend(numatune.map(|v| format!("numatune={v}")));
            set.extend(guestnuma.map(|v| format!("guestnuma={v}")));
            if set.is_empty() {
                set.push("cputune=0#16".to_string());
            }
            set
        })
}

struct Generated {
    doc: Doc,
    xml: String,
    properties: Vec<String>,
}

/// The same cases every run: proptest's deterministic runner, its seed fixed.
fn generated() -> Vec<Generated> {
    let mut runner = TestRunner::deterministic();
    let case = doc().prop_flat_map(|doc| (Just(doc.clone()), properties(&doc)));
    (0..CASES)
        .map(|i| {
            let (doc, properties) = case.new_tree(&mut runner).unwrap().current();
            let xml = render(&doc, &format!("generated-{i:03}"));
            Generated {
                doc,
                xml,
                properties,
            }
        })
        .collect()
}

/// A host with room for every generated guest, as qemu_argv.py's generous
/// one: eight nodes of 16 CPUs and 4 TiB each, huge pages of both sizes free.
fn generous_host(scene: &Scene) {
    scene.sysfs("0-127", Some("0-7"));
    let root = scene.dir.join("sys/devices/system/node");
    fs::write(root.join("online"), "0-7\n").unwrap();
    for node in 0..8u32 {
        let dir = root.join(format!("node{node}"));
        let cpus = format!("{}-{}\n", node * 16, node * 16 + 15);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("cpulist"), cpus).unwrap();
        let kib = 4u64 << 30;
        let meminfo = format!("Node {node} MemTotal: {kib} kB\nNode {node} MemFree: {kib} kB\n");
        fs::write(dir.join("meminfo"), meminfo).unwrap();
        for size in [PAGE_2M, PAGE_1G] {
            let pool = dir.join(format!("hugepages/hugepages-{size}kB"));
            fs::create_dir_all(&pool).unwrap();
            fs::write(pool.join("nr_hugepages"), "4096\n").unwrap();
            fs::write(pool.join("free_hugepages"), "4096\n").unwrap();
        }
    }
}

/// The hook as VDSM runs it on [`generous_host`]: its exit status, stderr
/// and the file afterwards.
fn hook(xml: &str, properties: &[String]) -> (Option<i32>, String, String) {
    let scene = Scene::new(xml.as_bytes());
    generous_host(&scene);
    let env: Vec<(&str, &str)> = properties
        .iter()
        .map(|p| p.split_once('=').unwrap())
        .collect();
    let out = scene.run(&env).output().unwrap();
    let written = fs::read_to_string(scene.domxml()).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code(), stderr, written)
}

/// What an applied case's file must hold, in the generated documents'
/// quotes: vCPU 0's pin, the emulator's and the I/O thread's pins and the
/// memory mode the properties name, each as the hook writes it. The QEMU
/// driver judges the rest (qemu_argv.py).
fn written_for(properties: &[String]) -> Vec<String> {
    let canonical = |set: &str| set.parse::<CpuSet>().unwrap().to_string();
    let mut elements = Vec::new();
    for (name, value) in properties.iter().filter_map(|p| p.split_once('=')) {
        match name {
            "cputune" => {
                let (_, cpus) = value.split_once('#').unwrap();
                let cpus = canonical(cpus);
                elements.push(format!("<vcpupin vcpu='0' cpuset='{cpus}'/>"));
            }
            "emulatorpin" => {
                elements.push(format!("<emulatorpin cpuset='{}'/>", canonical(value)));
            }
            "iothreadpin" => {
                let (id, cpus) = value.split_once('#').unwrap();
                let cpus = canonical(cpus);
                elements.push(format!("<iothreadpin iothread='{id}' cpuset='{cpus}'/>"));
            }
            "numatune" => {
                let (mode, _) = value.split_once('#').unwrap();
                elements.push(format!("<memory mode='{mode}'"));
            }
            _ => {}
        }
    }
    elements
}

/// How many guest cells `guestnuma` asks for: N, or the cells written out.
fn cells_asked(properties: &[String]) -> Option<usize> {
    let value = properties
        .iter()
        .find_map(|p| p.strip_prefix("guestnuma="))?;
    Some(match value.parse() {
        Ok(count) => count,
        Err(_) => value.split(',').filter(|cell| cell.contains('#')).count(),
    })
}

fn write_cases(dir: &Path, cases: &[Generated]) {
    fs::create_dir_all(dir).unwrap();
    let mut list = String::new();
    for (i, case) in cases.iter().enumerate() {
        fs::write(dir.join(format!("{i:03}.xml")), &case.xml).unwrap();
        let features = case.doc.features().join(", ");
        list.push_str(&format!(
            "{i:03}\t{}\t{features}\n",
            case.properties.join(" ")
        ));
    }
    fs::write(dir.join("cases.tsv"), list).unwrap();
}

#[test]
fn generated_documents_meet_every_feature_and_the_hook_takes_most() {
    let cases = generated();
    let again: Vec<String> = generated().into_iter().map(|c| c.xml).collect();
    assert_eq!(
        cases.iter().map(|c| &c.xml).collect::<Vec<_>>(),
        again.iter().collect::<Vec<_>>(),
        "the same seed draws the same documents"
    );
    for feature in [
        "cells",
        "no cells",
        "page node sets",
        "two page sizes with node sets",
        "nodeset 0 page",
        "huge pages",
        "DIMM",
        "I/O threads",
        "second cputune",
        "HMAT",
        "distances",
        "shared memory",
        "I/O thread id past the count",
        "numatune",
    ] {
        let count = cases
            .iter()
            .filter(|c| c.doc.features().contains(&feature))
            .count();
        assert!(count >= 2, "{feature}: {count} generated documents");
    }
    for mode in ["strict", "interleave", "preferred", "restrictive"] {
        let count = cases
            .iter()
            .filter(|c| c.doc.numatune.is_some_and(|tune| tune.starts_with(mode)))
            .count();
        assert!(count >= 2, "<numatune> {mode}: {count} generated documents");
    }
    let mut applied = 0;
    for case in &cases {
        let (code, stderr, written) = hook(&case.xml, &case.properties);
        let asked: Vec<&str> = case
            .properties
            .iter()
            .map(|p| p.split_once('=').unwrap().0)
            .collect();
        match code {
            Some(0) => {
                applied += 1;
                let missing: Vec<String> = written_for(&case.properties)
                    .into_iter()
                    .filter(|element| !written.contains(element.as_str()))
                    .collect();
                assert!(
                    missing.is_empty(),
                    "applied {:?} without writing {missing:?}:\n{written}",
                    case.properties
                );
                let cells = written.matches("<cell ").count();
                if let Some(count) = cells_asked(&case.properties) {
                    assert_eq!(cells, count, "{:?}:\n{written}", case.properties);
                }
            }
            Some(2) => {
                let line = stderr.trim_end();
                assert_eq!(line.lines().count(), 1, "one line: {stderr}");
                let said = line.strip_prefix(&format!("{PROGRAM}: ")).unwrap_or(line);
                assert!(
                    asked.iter().any(|name| said.contains(name)),
                    "the refusal names no property given ({asked:?}): {said}\n{}",
                    case.xml
                );
                assert_eq!(written, case.xml, "a refusal leaves the file as it was");
            }
            other => panic!("exit {other:?}: {stderr}\n{}", case.xml),
        }
    }
    assert!(
        applied * 2 >= cases.len(),
        "the hook applied only {applied} of {} generated cases",
        cases.len()
    );
    if let Some(dir) = std::env::var_os("LARGEGUEST_GENERATED_CASES") {
        write_cases(Path::new(&dir), &cases);
    }
}
