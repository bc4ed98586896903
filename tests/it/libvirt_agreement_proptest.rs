//! The hook over generated documents that libvirt reads differently from a
//! naive reader: cells listed out of id order, ids and cellids written with
//! the white space or `+` libvirt skips, per-cell memAccess, discard and
//! distances, numbers split by comments and processing instructions, a
//! second `<devices>` holding a DIMM, pins spread over two `<cputune>`, and
//! cores of several threads. Through the executable, so the oracles hold
//! whatever the code looks like inside:
//!
//! - a refusal is one of the refusals these documents may earn, on one
//!   line, with the file as it was;
//! - an output never makes libvirt's QEMU driver resize the guest: the
//!   cells and every memory device add up to `<memory>` as libvirt reads it;
//! - cells keep the memAccess, discard and distances of the old cell with
//!   the same id when the cell count stays, and share them only when every
//!   old cell had the same when it changes;
//! - memnodes of cells that stay are kept, each vCPU is pinned once across
//!   every `<cputune>`, and guestnuma=N never splits a core;
//! - libvirt's test driver defines every input and every output (its own
//!   test, which needs virsh).

use crate::support::libvirt_reading::{
    apply, ids, read, test_driver_defines, Applied, Cell, Guest,
};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 128,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// How a number is written in an element's text.
#[derive(Debug, Clone, Copy)]
enum Split {
    Plain,
    /// White space before the digits.
    Spaced,
    /// A comment at this byte of the digits (0: before them).
    Comment(usize),
    /// A processing instruction at this byte of the digits.
    Instruction(usize),
}

/// How an id or cellid attribute is written.
#[derive(Debug, Clone, Copy)]
enum IdStyle {
    Plain,
    Spaced,
    Plus,
}

#[derive(Debug, Clone)]
struct OldCell {
    mib: u64,
    mem_access: Option<&'static str>,
    discard: Option<&'static str>,
    /// A distance to every cell, or none.
    distances: Option<Vec<u32>>,
    id_style: IdStyle,
}

#[derive(Debug, Clone)]
struct Doc {
    vcpus: u32,
    /// `<topology sockets='1' cores= threads=>`, the threads as written.
    threads: Option<(u32, &'static str)>,
    /// Indexed by cell id.
    cells: Vec<OldCell>,
    /// The order the cells are listed in, by id.
    order: Vec<usize>,
    memory: Split,
    vcpu: Split,
    /// A DIMM of this many MiB, in a second `<devices>`, on cell 0.
    second_devices: Option<u64>,
    /// vCPU 0 pinned in a first `<cputune>`, vCPU 1 in a second.
    two_cputunes: bool,
    memnodes: bool,
}

#[derive(Debug, Clone)]
enum Layout {
    /// The old cells again, written out.
    Same,
    /// guestnuma=N.
    Even(u32),
}

#[derive(Debug, Clone)]
struct Request {
    guestnuma: Option<Layout>,
    pin: Option<(u32, u32)>,
    numatune: bool,
}

fn split() -> impl Strategy<Value = Split> {
    prop_oneof![
        2 => Just(Split::Plain),
        1 => Just(Split::Spaced),
        2 => (0usize..5).prop_map(Split::Comment),
        2 => (0usize..5).prop_map(Split::Instruction),
    ]
}

fn id_style() -> impl Strategy<Value = IdStyle> {
    prop_oneof![
        3 => Just(IdStyle::Plain),
        1 => Just(IdStyle::Spaced),
        1 => Just(IdStyle::Plus),
    ]
}

fn old_cell(count: usize) -> impl Strategy<Value = OldCell> {
    let distances = prop::collection::vec(11u32..40, count);
    (
        prop::sample::select(vec![512u64, 1024, 1536]),
        prop::option::of(prop::sample::select(vec!["shared", "private"])),
        prop::option::of(prop::sample::select(vec!["yes", "no"])),
        prop::option::of(distances),
        id_style(),
    )
        .prop_map(|(mib, mem_access, discard, distances, id_style)| OldCell {
            mib,
            mem_access,
            discard,
            distances,
            id_style,
        })
}

fn doc() -> impl Strategy<Value = Doc> {
    prop::sample::select(vec![2u32, 4, 6, 8])
        .prop_flat_map(|vcpus| {
            let counts: Vec<usize> = (1..=vcpus as usize)
                .filter(|c| (vcpus as usize).is_multiple_of(*c) && *c <= 4)
                .collect();
            (Just(vcpus), prop::sample::select(counts))
        })
        .prop_flat_map(|(vcpus, count)| {
            // Old cells of whole cores only: cells that split one are the
            // topology's business, not this test's.
            let threads = match (vcpus as usize / count) % 2 {
                0 => prop::option::of(prop::sample::select(vec![(1u32, "1"), (2, "2"), (2, " 2")]))
                    .boxed(),
                _ => prop::option::of(Just((1u32, "1"))).boxed(),
            };
            (
                Just(vcpus),
                threads,
                prop::collection::vec(old_cell(count), count),
                Just((0..count).collect::<Vec<usize>>()).prop_shuffle(),
                (split(), split()),
                prop::option::of(prop::sample::select(vec![256u64, 512])),
                (any::<bool>(), any::<bool>()),
            )
        })
        .prop_map(
            |(vcpus, threads, cells, order, (memory, vcpu), second_devices, (two, memnodes))| Doc {
                vcpus,
                threads,
                cells,
                order,
                memory,
                vcpu,
                second_devices,
                two_cputunes: two && vcpus > 1,
                memnodes,
            },
        )
}

fn request(doc: &Doc) -> impl Strategy<Value = Request> {
    let counts: Vec<u32> = (1..=doc.vcpus)
        .filter(|c| doc.vcpus.is_multiple_of(*c))
        .collect();
    let layout = prop_oneof![
        2 => Just(Layout::Same),
        2 => prop::sample::select(counts).prop_map(Layout::Even),
    ];
    (
        prop::option::of(layout),
        prop::option::of((0..doc.vcpus, 0u32..4)),
        any::<bool>(),
    )
        .prop_map(|(guestnuma, pin, numatune)| Request {
            guestnuma,
            pin,
            numatune,
        })
}

fn case() -> impl Strategy<Value = (Doc, Request)> {
    doc().prop_flat_map(|doc| {
        let request = request(&doc);
        (Just(doc), request)
    })
}

/// A number as the document writes it.
fn written(value: u64, how: Split) -> String {
    let digits = value.to_string();
    let at = |i: usize| i.min(digits.len());
    match how {
        Split::Plain => digits,
        Split::Spaced => format!("\n      {digits}"),
        Split::Comment(i) => format!("{}<!-- {i} -->{}", &digits[..at(i)], &digits[at(i)..]),
        Split::Instruction(i) => format!("{}<?keep {i}?>{}", &digits[..at(i)], &digits[at(i)..]),
    }
}

fn id_written(id: usize, style: IdStyle) -> String {
    match style {
        IdStyle::Plain => id.to_string(),
        IdStyle::Spaced => format!(" {id}"),
        IdStyle::Plus => format!("+{id}"),
    }
}

impl Doc {
    fn per_cell(&self) -> u32 {
        self.vcpus / self.cells.len() as u32
    }

    fn cell_cpus(&self, id: usize) -> String {
        let first = id as u32 * self.per_cell();
        match self.per_cell() {
            1 => first.to_string(),
            n => format!("{first}-{}", first + n - 1),
        }
    }

    fn cells_mib(&self) -> u64 {
        self.cells.iter().map(|c| c.mib).sum()
    }

    fn render(&self) -> String {
        let mut xml = String::from("<domain type='kvm'>\n  <name>generated</name>\n");
        if self.second_devices.is_some() {
            xml.push_str("  <maxMemory slots='4' unit='MiB'>65536</maxMemory>\n");
        }
        let memory = self.cells_mib() + self.second_devices.unwrap_or(0);
        xml += &format!(
            "  <memory unit='MiB'>{}</memory>\n",
            written(memory, self.memory)
        );
        xml += &format!(
            "  <vcpu placement='static'>{}</vcpu>\n",
            written(u64::from(self.vcpus), self.vcpu)
        );
        if self.two_cputunes {
            xml.push_str("  <cputune>\n    <vcpupin vcpu='0' cpuset='0'/>\n  </cputune>\n");
            xml.push_str("  <cputune>\n    <vcpupin vcpu='1' cpuset='1'/>\n  </cputune>\n");
        }
        if self.memnodes {
            xml.push_str("  <numatune>\n    <memory mode='strict' nodeset='0-1'/>\n");
            for &id in &self.order {
                let cellid = id_written(id, self.cells[id].id_style);
                xml += &format!(
                    "    <memnode cellid='{cellid}' mode='strict' nodeset='{}'/>\n",
                    id % 2
                );
            }
            xml.push_str("  </numatune>\n");
        }
        xml.push_str("  <os>\n    <type arch='x86_64'>hvm</type>\n  </os>\n  <cpu>\n");
        if let Some((threads, text)) = self.threads {
            xml += &format!(
                "    <topology sockets='1' cores='{}' threads='{text}'/>\n",
                self.vcpus / threads
            );
        }
        xml.push_str("    <numa>\n");
        for &id in &self.order {
            xml += &self.render_cell(id);
        }
        xml.push_str(
            "    </numa>\n  </cpu>\n  <devices>\n    <memballoon model='none'/>\n  </devices>\n",
        );
        if let Some(mib) = self.second_devices {
            xml += &format!(
                "  <devices>\n    <memory model='dimm'>\n      <target>\n        \
                 <size unit='MiB'>{mib}</size>\n        <node>0</node>\n      </target>\n    \
                 </memory>\n  </devices>\n"
            );
        }
        xml.push_str("</domain>\n");
        xml
    }

    fn render_cell(&self, id: usize) -> String {
        let cell = &self.cells[id];
        let mut attributes = format!(
            "id='{}' cpus='{}' memory='{}' unit='MiB'",
            id_written(id, cell.id_style),
            self.cell_cpus(id),
            cell.mib
        );
        if let Some(access) = cell.mem_access {
            attributes += &format!(" memAccess='{access}'");
        }
        if let Some(discard) = cell.discard {
            attributes += &format!(" discard='{discard}'");
        }
        let Some(distances) = &cell.distances else {
            return format!("      <cell {attributes}/>\n");
        };
        let mut text = format!("      <cell {attributes}>\n        <distances>\n");
        for (sibling, &value) in distances.iter().enumerate() {
            let value = if sibling == id { 10 } else { value };
            text += &format!("          <sibling id='{sibling}' value='{value}'/>\n");
        }
        text + "        </distances>\n      </cell>\n"
    }

    fn properties(&self, request: &Request) -> Vec<String> {
        let mut properties = Vec::new();
        match &request.guestnuma {
            Some(Layout::Same) => {
                let cells: Vec<String> = (0..self.cells.len())
                    .map(|id| format!("{}#{}M", self.cell_cpus(id), self.cells[id].mib))
                    .collect();
                properties.push(format!("guestnuma={}", cells.join("_")));
            }
            Some(Layout::Even(count)) => properties.push(format!("guestnuma={count}")),
            None => {}
        }
        if let Some((vcpu, cpu)) = request.pin {
            properties.push(format!("cputune={vcpu}#{cpu}"));
        }
        if request.numatune {
            properties.push("numatune=interleave#0-1".to_string());
        }
        properties
    }
}

/// The refusals these documents may earn; any other is a disagreement.
const EXPECTED_REFUSALS: &[&str] = &[
    "would split a core between cells",
    "differ in memAccess",
    "differ in discard",
    // A generated <memnode> stands for the engine's NUMA pinning.
    "so numatune would reach none of it",
    "so that binding would land on other vCPUs",
    "so that binding would be dropped",
    // A new cell over old cells of two bindings or page sizes (the backing model).
    "but QEMU gives one cell one memory backend",
    "which names the old cells by id and would not survive",
];

/// The value every cell has, or None when they differ.
fn shared<T: PartialEq>(cells: &[Cell], value: impl Fn(&Cell) -> T) -> Option<T> {
    let first = value(cells.first()?);
    cells.iter().all(|c| value(c) == first).then_some(first)
}

fn check_cells(before: &Guest, after: &Guest, doc: &Doc, request: &Request) -> Result<(), String> {
    let old: Vec<Cell> = before.cells_by_id().into_values().collect();
    let new: Vec<Cell> = after.cells_by_id().into_values().collect();
    if new.len() != after.cells.len() || new.iter().enumerate().any(|(i, c)| c.id as usize != i) {
        return Err(format!(
            "cell ids are not 0..n-1 once each: {:?}",
            after.cells
        ));
    }
    let mut covered: Vec<u32> = new.iter().flat_map(|c| ids(&c.cpus)).collect();
    covered.sort_unstable();
    if covered != (0..doc.vcpus).collect::<Vec<u32>>() {
        return Err(format!("the cells' vCPUs are {covered:?}"));
    }
    match &request.guestnuma {
        None if new != old => Err(format!("cells changed without guestnuma: {new:?}")),
        None => Ok(()),
        Some(_) if new.len() == old.len() => {
            for (o, n) in old.iter().zip(&new) {
                let kept = (&o.mem_access, &o.discard, &o.distances);
                if kept != (&n.mem_access, &n.discard, &n.distances) {
                    return Err(format!(
                        "cell {} lost what it had: {o:?} became {n:?}",
                        o.id
                    ));
                }
            }
            Ok(())
        }
        Some(_) => {
            check_shared("memAccess", &old, &new, |c| c.mem_access.clone())?;
            check_shared("discard", &old, &new, |c| c.discard.clone())?;
            match new.iter().any(|c| !c.distances.is_empty()) {
                true => Err(format!("distances kept over a new cell count: {new:?}")),
                false => Ok(()),
            }
        }
    }
}

/// With a new cell count, an attribute carries over only when every old
/// cell had the same; otherwise the hook should have refused.
fn check_shared(
    name: &str,
    old: &[Cell],
    new: &[Cell],
    value: impl Fn(&Cell) -> Option<String>,
) -> Result<(), String> {
    let Some(was) = shared(old, &value) else {
        return Err(format!(
            "the old cells differ in {name}, yet the hook wrote {new:?}"
        ));
    };
    match new.iter().any(|c| value(c) != was) {
        true => Err(format!(
            "{name} {was:?} of every old cell not carried: {new:?}"
        )),
        false => Ok(()),
    }
}

fn check_whole_cores(after: &Guest, doc: &Doc, request: &Request) -> Result<(), String> {
    let (Some((threads, _)), Some(Layout::Even(_))) = (doc.threads, &request.guestnuma) else {
        return Ok(());
    };
    for cell in &after.cells {
        let vcpus = ids(&cell.cpus);
        let split = vcpus
            .iter()
            .any(|v| (v - v % threads..v - v % threads + threads).any(|t| !vcpus.contains(&t)));
        if split {
            return Err(format!(
                "cell {} splits a core of {threads} threads: {}",
                cell.id, cell.cpus
            ));
        }
    }
    Ok(())
}

fn check_output(input: &str, output: &str, doc: &Doc, request: &Request) -> Result<(), String> {
    let (before, after) = (read(input), read(output));
    if after.memory_kib != Some(after.cells_and_devices_kib()) {
        return Err(format!(
            "libvirt reads <memory> as {:?} KiB but the cells and devices add up to {} KiB",
            after.memory_kib,
            after.cells_and_devices_kib()
        ));
    }
    check_cells(&before, &after, doc, request)?;
    check_whole_cores(&after, doc, request)?;
    let cells = after.cells.len() as u32;
    let staying = before
        .memnodes
        .iter()
        .filter(|m| m.cellid.is_some_and(|id| id < cells));
    for memnode in staying {
        let kept = after
            .memnodes
            .iter()
            .filter(|m| m.cellid == memnode.cellid)
            .count();
        if kept != 1
            || !after
                .memnodes
                .iter()
                .any(|m| m.cellid == memnode.cellid && m.nodeset == memnode.nodeset)
        {
            return Err(format!(
                "memnode of cell {:?} not kept once: {:?}",
                memnode.cellid, after.memnodes
            ));
        }
    }
    let mut pinned: Vec<u64> = after.pins.iter().map(|(vcpu, _)| *vcpu).collect();
    pinned.sort_unstable();
    if pinned.windows(2).any(|w| w[0] == w[1]) {
        return Err(format!("a vCPU is pinned twice: {:?}", after.pins));
    }
    if let Some((vcpu, cpu)) = request.pin {
        if !after.pins.contains(&(u64::from(vcpu), cpu.to_string())) {
            return Err(format!("vCPU {vcpu} not pinned to {cpu}: {:?}", after.pins));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_hook_agrees_with_libvirt_or_refuses((doc, request) in case()) {
        let input = doc.render();
        let properties = doc.properties(&request);
        if properties.is_empty() {
            return Ok(());
        }
        let arguments: Vec<&str> = properties.iter().map(String::as_str).collect();
        match apply(&input, &arguments) {
            Applied::Refused(line) => prop_assert!(
                EXPECTED_REFUSALS.iter().any(|cause| line.contains(cause)),
                "unexpected refusal: {line}\n{properties:?}\n{input}"
            ),
            Applied::Written(output) => {
                if let Err(why) = check_output(&input, &output, &doc, &request) {
                    prop_assert!(false, "{why}\n{properties:?}\ninput:\n{input}\noutput:\n{output}");
                }
            }
        }
    }

    /// The same documents and edits, judged by libvirt's test driver: it
    /// defines every generated input and every output the hook writes.
    #[test]
    #[ignore = "needs virsh"]
    fn libvirt_defines_the_input_and_the_output((doc, request) in case()) {
        let input = doc.render();
        if let Err(err) = test_driver_defines(&input) {
            prop_assert!(false, "the generator wrote what libvirt refuses: {err}\n{input}");
        }
        let properties = doc.properties(&request);
        let arguments: Vec<&str> = properties.iter().map(String::as_str).collect();
        if properties.is_empty() {
            return Ok(());
        }
        if let Applied::Written(output) = apply(&input, &arguments) {
            if let Err(err) = test_driver_defines(&output) {
                prop_assert!(false, "libvirt's test driver refuses the output: {err}\n{properties:?}\n{output}");
            }
        }
    }
}
