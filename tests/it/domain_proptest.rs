//! The domain edit over generated documents and property values: the
//! layouts engines and people write (quotes, indentation, CRLF, comments,
//! one line), with or without `<cputune>`, `<numatune>`, memnodes, guest
//! cells, `memAccess`, DIMMs. On success a second run changes nothing,
//! every byte outside `<cputune>`, `<numatune>` and `<cpu>` is kept, the
//! pins asked for are there, and the tree the hook reads both documents
//! through agrees with a whole parse. libvirt's test driver defines the
//! document and the edit (its own test, which needs virsh).

use std::io::Write;
use std::process::{Command, Stdio};

use crate::support::agreement::disagreement;
use proptest::prelude::*;
use roxmltree::{Document, Node};
use vdsm_hook_largeguest::commands::rewrite::{rewrite, RewriteError};
use vdsm_hook_largeguest::cpuset::CpuSet;
use vdsm_hook_largeguest::plan::refusal::Refusal;
use vdsm_hook_largeguest::properties::cputune::{CpuTune, VcpuPin};
use vdsm_hook_largeguest::properties::guestnuma::{GuestCell, GuestNuma};
use vdsm_hook_largeguest::properties::numatune::{MemoryMode, NumaTune, Placement};
use vdsm_hook_largeguest::properties::Request;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 300,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// How the document is written.
#[derive(Debug, Clone)]
struct Layout {
    quote: char,
    eol: &'static str,
    unit: &'static str,
    comments: bool,
}

/// What the document says about the VM.
#[derive(Debug, Clone)]
struct Vm {
    vcpus: u32,
    current: Option<u32>,
    /// Per cell, in MiB; empty for no `<numa>`.
    cells: Vec<u64>,
    mem_access: bool,
    /// One DIMM of this many MiB in cell 0 (only with cells).
    dimm_mib: Option<u64>,
    pins: Vec<(u32, u32)>,
    emulatorpin: bool,
    empty_cputune: bool,
    memory_mode: Option<MemoryMode>,
    memnodes: bool,
    cpu_model: bool,
}

fn layout() -> impl Strategy<Value = Layout> {
    let style = prop_oneof![
        Just(("\n", "  ")),
        Just(("\n", "    ")),
        Just(("\n", "\t")),
        Just(("\r\n", "  ")),
        Just(("", "")),
    ];
    (prop::sample::select(vec!['\'', '"']), style, any::<bool>()).prop_map(
        |(quote, (eol, unit), comments)| Layout {
            quote,
            eol,
            unit,
            comments,
        },
    )
}

fn vm() -> impl Strategy<Value = Vm> {
    let vcpus = prop::sample::select(vec![1u32, 2, 4, 6, 8]);
    vcpus
        .prop_flat_map(|vcpus| {
            let divisors: Vec<u32> = (1..=vcpus).filter(|d| vcpus.is_multiple_of(*d)).collect();
            let cells = prop_oneof![
                1 => Just(Vec::new()),
                3 => (prop::sample::select(divisors), 1u64..4)
                    .prop_map(|(count, gib)| vec![gib * 1024; count as usize]),
            ];
            (
                Just(vcpus),
                prop::option::of(1..=vcpus),
                cells,
                any::<bool>(),
                prop::option::of(prop::sample::select(vec![512u64, 1024])),
                prop::collection::vec((0..vcpus, 0u32..8), 0..3),
                (any::<bool>(), any::<bool>()),
                prop::option::of(prop::sample::select(MemoryMode::ALL.to_vec())),
                (any::<bool>(), any::<bool>()),
            )
        })
        .prop_map(
            |(vcpus, current, cells, mem_access, dimm, pins, tune, mode, extra)| Vm {
                vcpus,
                current,
                dimm_mib: dimm.filter(|_| !cells.is_empty()),
                mem_access: mem_access && !cells.is_empty(),
                memnodes: extra.0 && !cells.is_empty() && mode.is_some(),
                cells,
                pins,
                emulatorpin: tune.0,
                empty_cputune: tune.1,
                memory_mode: mode,
                cpu_model: extra.1,
            },
        )
}

impl Vm {
    fn memory_mib(&self) -> u64 {
        match self.cells.is_empty() {
            true => 2048,
            false => self.cells.iter().sum::<u64>() + self.dimm_mib.unwrap_or(0),
        }
    }
}

/// Writes the document element by element, in the layout given.
fn render(vm: &Vm, layout: &Layout) -> String {
    let q = layout.quote;
    let (eol, unit) = (layout.eol, layout.unit);
    let mut lines: Vec<(usize, String)> = Vec::new();
    let mut line = |depth: usize, text: String| lines.push((depth, text));
    line(0, format!("<domain type={q}kvm{q}>"));
    line(1, "<name>generated</name>".into());
    if layout.comments {
        line(1, "<!-- written by a generator -->".into());
    }
    if vm.dimm_mib.is_some() {
        line(
            1,
            format!("<maxMemory slots={q}4{q} unit={q}MiB{q}>65536</maxMemory>"),
        );
    }
    line(
        1,
        format!("<memory unit={q}MiB{q}>{}</memory>", vm.memory_mib()),
    );
    match vm.current {
        Some(current) => line(
            1,
            format!("<vcpu current={q}{current}{q}>{}</vcpu>", vm.vcpus),
        ),
        None => line(1, format!("<vcpu>{}</vcpu>", vm.vcpus)),
    }
    if !vm.pins.is_empty() || vm.emulatorpin || vm.empty_cputune {
        if vm.pins.is_empty() && !vm.emulatorpin {
            line(1, "<cputune></cputune>".into());
        } else {
            line(1, "<cputune>".into());
            let mut seen = Vec::new();
            for &(vcpu, cpu) in &vm.pins {
                if !seen.contains(&vcpu) {
                    seen.push(vcpu);
                    line(
                        2,
                        format!("<vcpupin vcpu={q}{vcpu}{q} cpuset={q}{cpu}{q}/>"),
                    );
                }
            }
            if vm.emulatorpin {
                line(2, format!("<emulatorpin cpuset={q}0-1{q}/>"));
            }
            line(1, "</cputune>".into());
        }
    }
    if let Some(mode) = vm.memory_mode {
        line(1, "<numatune>".into());
        line(2, format!("<memory mode={q}{mode}{q} nodeset={q}0-1{q}/>"));
        if vm.memnodes {
            for cell in 0..vm.cells.len() {
                line(
                    2,
                    format!(
                        "<memnode cellid={q}{cell}{q} mode={q}{mode}{q} nodeset={q}{}{q}/>",
                        cell % 2
                    ),
                );
            }
        }
        line(1, "</numatune>".into());
    }
    line(1, "<os>".into());
    line(2, format!("<type arch={q}x86_64{q}>hvm</type>"));
    line(1, "</os>".into());
    if vm.cells.is_empty() && !vm.cpu_model {
        // no <cpu>
    } else if vm.cells.is_empty() {
        line(1, format!("<cpu mode={q}host-passthrough{q}/>"));
    } else {
        line(1, "<cpu>".into());
        if vm.cpu_model {
            line(
                2,
                format!(
                    "<topology sockets={q}1{q} cores={q}{}{q} threads={q}1{q}/>",
                    vm.vcpus
                ),
            );
        }
        line(2, "<numa>".into());
        let per_cell = vm.vcpus / vm.cells.len() as u32;
        for (id, mib) in vm.cells.iter().enumerate() {
            let first = id as u32 * per_cell;
            let access = match vm.mem_access {
                true => format!(" memAccess={q}shared{q}"),
                false => String::new(),
            };
            line(
                3,
                format!(
                    "<cell id={q}{id}{q} cpus={q}{first}-{}{q} memory={q}{mib}{q} unit={q}MiB{q}{access}/>",
                    first + per_cell - 1
                ),
            );
        }
        line(2, "</numa>".into());
        line(1, "</cpu>".into());
    }
    line(1, "<devices>".into());
    if let Some(mib) = vm.dimm_mib {
        line(2, format!("<memory model={q}dimm{q}>"));
        line(3, "<target>".into());
        line(4, format!("<size unit={q}MiB{q}>{mib}</size>"));
        line(4, "<node>0</node>".into());
        line(3, "</target>".into());
        line(2, "</memory>".into());
    }
    if layout.comments {
        line(
            2,
            "<!-- <vcpupin vcpu='0' cpuset='9'/> in a comment stays a comment -->".into(),
        );
    }
    line(1, "</devices>".into());
    line(0, "</domain>".into());
    let mut text: String = lines
        .iter()
        .map(|(depth, text)| format!("{}{text}", unit.repeat(*depth)))
        .collect::<Vec<_>>()
        .join(eol);
    text.push_str(eol);
    text
}

fn cpus(max: u32) -> impl Strategy<Value = CpuSet> {
    (0u32..8, 0u32..4).prop_map(move |(lo, len)| CpuSet::from_range(lo, (lo + len).min(max)))
}

fn request(vm: &Vm) -> impl Strategy<Value = Request> {
    let vcpus = vm.vcpus;
    let total_mib = vm.memory_mib() - vm.dimm_mib.unwrap_or(0);
    let divisors: Vec<usize> = (1..=vcpus as usize)
        .filter(|d| (vcpus as usize).is_multiple_of(*d) && total_mib as usize >= *d)
        .collect();
    let cputune =
        prop::collection::btree_map(0..vcpus, cpus(7), 1..=vcpus as usize).prop_map(|pins| {
            CpuTune {
                pins: pins
                    .into_iter()
                    .map(|(vcpu, cpuset)| VcpuPin { vcpu, cpuset })
                    .collect(),
            }
        });
    let numatune = (
        prop::sample::select(MemoryMode::ALL.to_vec()),
        0u32..2,
        any::<bool>(),
    )
        .prop_map(|(mode, node, both)| {
            let last = if both && mode != MemoryMode::Preferred {
                1
            } else {
                node
            };
            NumaTune {
                mode,
                placement: Placement::Nodes(CpuSet::from_range(node.min(last), last)),
            }
        });
    let guestnuma = (prop::sample::select(divisors), any::<bool>(), any::<bool>()).prop_map(
        move |(count, even, bind)| match even {
            true => GuestNuma::Even(count),
            false => {
                let per = vcpus / count as u32;
                let mib = total_mib / count as u64;
                GuestNuma::Cells(
                    (0..count)
                        .map(|i| GuestCell {
                            cpus: CpuSet::from_range(i as u32 * per, (i as u32 + 1) * per - 1),
                            memory_kib: 1024
                                * (mib + if i == 0 { total_mib % count as u64 } else { 0 }),
                            host_nodes: bind
                                .then(|| CpuSet::from_range(i as u32 % 2, i as u32 % 2)),
                        })
                        .collect(),
                )
            }
        },
    );
    (
        prop::option::of(cputune),
        prop::option::of(numatune),
        prop::option::of(guestnuma),
    )
        .prop_map(|(cputune, numatune, guestnuma)| Request {
            cputune,
            numatune,
            guestnuma,
            ..Request::default()
        })
}

fn case() -> impl Strategy<Value = (Vm, Layout, Request)> {
    (vm(), layout()).prop_flat_map(|(vm, layout)| {
        let request = request(&vm);
        (Just(vm), Just(layout), request)
    })
}

/// The elements the edit may touch, as byte ranges of `<domain>` children.
fn touched<'a>(doc: &'a Document) -> Vec<Node<'a, 'a>> {
    doc.root_element()
        .children()
        .filter(|n| n.is_element() && ["cputune", "numatune", "cpu"].contains(&n.tag_name().name()))
        .collect()
}

/// The text with the touched elements cut out, each with the whitespace
/// that put it on its own line.
fn outside_touched(text: &str) -> String {
    let doc = Document::parse(text).unwrap();
    let mut out = String::new();
    let mut done = 0;
    for node in touched(&doc) {
        let start = node.range().start;
        let before = &text[done..start];
        let kept = before.trim_end_matches([' ', '\t', '\r', '\n']);
        out.push_str(kept);
        done = node.range().end;
    }
    out.push_str(&text[done..]);
    out
}

/// `<cpu>`'s attributes and its children other than `<numa>`, as written.
fn cpu_without_numa(text: &str) -> Option<Vec<String>> {
    let doc = Document::parse(text).unwrap();
    let cpu = doc
        .root_element()
        .children()
        .find(|n| n.has_tag_name("cpu"))?;
    let attributes = cpu.attributes().map(|a| text[a.range()].to_string());
    let children = cpu
        .children()
        .filter(|n| n.is_element() && !n.has_tag_name("numa"))
        .map(|n| text[n.range()].to_string());
    Some(attributes.chain(children).collect())
}

fn pins(text: &str) -> Vec<(u32, String)> {
    let doc = Document::parse(text).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("vcpupin"))
        .map(|n| {
            (
                n.attribute("vcpu").unwrap().parse().unwrap(),
                n.attribute("cpuset").unwrap().to_string(),
            )
        })
        .collect()
}

/// Refusals a generated case may meet: combinations the request and the
/// document make impossible. Any other refusal is a bug in the edit.
fn expected_refusal(err: &RewriteError) -> bool {
    matches!(
        err,
        RewriteError::Refused(
            Refusal::RestrictiveMix { .. }
                | Refusal::MemnodeWithoutCell { .. }
                | Refusal::DimmWithoutCell { .. }
                | Refusal::CannotSplit(_)
                // The generated pins and memnodes stand for the engine's.
                | Refusal::EngineStringContradicts { .. }
                | Refusal::EngineMemnodesOutrankNumatune { .. }
                | Refusal::EngineMemnodeMoved { .. }
                // A new cell over memory of two backings (the backing model).
                | Refusal::CellSpansBackings { .. }
                | Refusal::EvenSplit { .. }
        )
    )
}

/// libvirt's test driver parses and defines the document as it would on a
/// host. Only the test marked `needs virsh` calls it.
fn defines(text: &str) -> Result<(), String> {
    let mut child = Command::new("virsh")
        .args(["-q", "-c", "test:///default", "define", "/dev/stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("virsh (libvirt's clients) cannot run: {e}"))?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    match out.status.success() {
        true => Ok(()),
        false => Err(String::from_utf8_lossy(&out.stderr).into_owned()),
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_edit_is_a_fixed_point_that_keeps_everything_else((vm, layout, request) in case()) {
        let before = render(&vm, &layout);
        prop_assert_eq!(disagreement(&before), None, "the pruned tree differs:\n{}", before);
        let outcome = match rewrite(&before, &request, None) {
            Ok(outcome) => outcome,
            Err(err) => {
                prop_assert!(expected_refusal(&err), "unexpected refusal: {err}\n{before}");
                prop_assert!(!err.to_string().contains('\n'));
                return Ok(());
            }
        };
        let after = outcome.text();
        prop_assert_eq!(disagreement(&after), None, "the pruned tree differs:\n{}", after);
        let again = rewrite(&after, &request, None).map(|o| o.text());
        prop_assert_eq!(again.as_deref(), Ok(after.as_str()), "second run changed it");
        prop_assert_eq!(outside_touched(&after), outside_touched(&before), "bytes outside the edit changed");
        if let Some(old_cpu) = cpu_without_numa(&before) {
            prop_assert_eq!(cpu_without_numa(&after), Some(old_cpu));
        }
        if vm.emulatorpin {
            let emulator = format!("<emulatorpin cpuset={q}0-1{q}/>", q = layout.quote);
            prop_assert!(after.contains(&emulator), "{}", after);
        }
        if let Some(cputune) = &request.cputune {
            let written = pins(&after);
            for pin in &cputune.pins {
                let found: Vec<&(u32, String)> =
                    written.iter().filter(|(vcpu, _)| *vcpu == pin.vcpu).collect();
                let wanted = (pin.vcpu, pin.cpuset.to_string());
                prop_assert_eq!(found, vec![&wanted]);
            }
        }
        if layout.eol == "\r\n" {
            prop_assert!(!after.replace("\r\n", "").contains('\n'), "a bare LF in a CRLF document");
        }
    }

    /// The same documents and edits, judged by libvirt's test driver: it
    /// defines every generated document and every edit of one.
    #[test]
    #[ignore = "needs virsh"]
    fn libvirt_defines_the_document_and_the_edit((vm, layout, request) in case()) {
        let before = render(&vm, &layout);
        if let Err(err) = defines(&before) {
            prop_assert!(false, "the generator wrote what libvirt refuses: {err}\n{before}");
        }
        if let Ok(outcome) = rewrite(&before, &request, None) {
            if let Err(err) = defines(&outcome.text()) {
                prop_assert!(false, "libvirt refuses the edit: {err}\n{}", outcome.text());
            }
        }
    }
}
