//! The rewrite changes what it means to and nothing else: outside
//! `<cputune>`, `<numatune>`, `<cpu>` and `<memoryBacking>` every byte stays; running it twice
//! changes nothing more; new elements are written in the document's own
//! quotes, indentation and line endings; and each check refuses as it should.

use std::fs;
use std::ops::Range;
use std::path::Path;

use assert_cmd::Command;
use roxmltree::{Document, Node};
use vdsm_hook_largeguest::commands::rewrite::RewriteError;
use vdsm_hook_largeguest::cpuset::CpuSet;
use vdsm_hook_largeguest::domain::document::DocumentError;
use vdsm_hook_largeguest::plan::refusal::Refusal;

use crate::support::samples::{
    corpus_files, run, sample, sample_names, standard_properties, CASES,
};
use crate::support::{program, write_tree, TempDir};

const TOUCHED: [&str; 4] = ["cputune", "numatune", "cpu", "memoryBacking"];

fn parse(text: &str) -> Document<'_> {
    Document::parse(text).unwrap_or_else(|err| panic!("not well-formed: {err}\n{text}"))
}

fn is_blank(node: Node) -> bool {
    node.is_text() && node.text().is_some_and(|t| t.trim().is_empty())
}

fn touched<'a, 'i>(doc: &'a Document<'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    doc.root_element()
        .children()
        .filter(|n| n.is_element() && TOUCHED.contains(&n.tag_name().name()))
}

/// The document without the elements the hook edits, each taken with the
/// line break and indentation that put it on its own line.
fn cut(text: &str) -> String {
    let doc = parse(text);
    let ranges: Vec<Range<usize>> = touched(&doc)
        .map(|node| {
            let start = node
                .prev_sibling()
                .filter(|prev| is_blank(*prev))
                .map_or(node.range().start, |prev| prev.range().start);
            start..node.range().end
        })
        .collect();
    let mut rest = String::with_capacity(text.len());
    let mut done = 0;
    for range in ranges {
        rest.push_str(&text[done..range.start]);
        done = range.end;
    }
    rest.push_str(&text[done..]);
    rest
}

/// What the hook must keep inside an element it edits: every child but
/// the ones it rewrites, as written, in order.
fn kept_children(text: &str, parent: &str, rewritten: &[&str]) -> Option<Vec<String>> {
    let doc = parse(text);
    let node = touched(&doc).find(|n| n.tag_name().name() == parent)?;
    let kept = node
        .children()
        .filter(|n| !is_blank(*n) && !rewritten.contains(&n.tag_name().name()))
        .map(|n| text[n.range()].to_string())
        .collect();
    Some(kept)
}

/// One accepted rewrite the fidelity checks look at.
struct Rewrite {
    label: String,
    properties: String,
    input: String,
    output: String,
}

/// Each snapshot case, and each corpus file under every standard property
/// set, that the rewrite accepts.
fn accepted_rewrites() -> Vec<Rewrite> {
    let samples = CASES.iter().map(|case| {
        (
            case.sample.to_string(),
            sample(case.sample),
            case.properties.to_string(),
        )
    });
    let corpus = corpus_files().into_iter().flat_map(|path| {
        let input = fs::read_to_string(&path).expect("read a corpus file");
        let label = path.display().to_string();
        standard_properties(&input)
            .into_iter()
            .map(move |properties| (label.clone(), input.clone(), properties))
    });
    samples
        .chain(corpus)
        .filter_map(|(name, input, properties)| {
            let output = run(&input, &properties).ok()?.text();
            let label = format!("{name} {properties}");
            Some(Rewrite {
                label,
                properties,
                input,
                output,
            })
        })
        .collect()
}

#[test]
fn only_the_touched_elements_change() {
    let runs = accepted_rewrites();
    assert!(runs.len() >= 45, "only {} rewrites", runs.len());
    for Rewrite {
        label,
        input,
        output,
        ..
    } in &runs
    {
        assert_eq!(
            cut(input),
            cut(output),
            "{label}: bytes outside the edit changed"
        );
        let pins: &[&str] = &["vcpupin", "emulatorpin", "iothreadpin"];
        for (parent, rewritten) in [("cputune", pins), ("cpu", &["numa"])] {
            if let (Some(before), Some(after)) = (
                kept_children(input, parent, rewritten),
                kept_children(output, parent, rewritten),
            ) {
                assert_eq!(
                    before, after,
                    "{label}: <{parent}> lost or changed children"
                );
            }
        }
    }
}

#[test]
fn a_second_run_changes_nothing() {
    for Rewrite {
        label,
        properties,
        output,
        ..
    } in accepted_rewrites()
    {
        let twice = run(&output, &properties).expect("the output is accepted again");
        assert_eq!(output, twice.text(), "{label}");
    }
}

/// The whitespace before `node` on its line; none when other text is.
fn indent_of<'t>(text: &'t str, node: Node) -> &'t str {
    let start = node.range().start;
    let line = text[..start].rfind('\n').map_or(0, |nl| nl + 1);
    let lead = &text[line..start];
    match lead.trim().is_empty() {
        true => lead,
        false => "",
    }
}

/// Samples whose every line is indented by whole units of one kind.
const UNIFORM: [(&str, &str); 9] = [
    ("engine-4.4", "  "),
    ("dumpxml-shares", "  "),
    ("minidom-3.x", "\t"),
    ("crlf", "  "),
    ("comments-cdata", "  "),
    ("memaccess-shared", "  "),
    ("dimm-hotplug", "  "),
    ("numatune-memnodes", "  "),
    ("no-cpu-gib", "  "),
];

#[test]
fn new_elements_follow_the_document_style() {
    for case in CASES {
        let input = sample(case.sample);
        let Ok(outcome) = run(&input, case.properties) else {
            continue;
        };
        let output = &outcome.text();
        let label = format!("{} {}", case.sample, case.properties);
        let doc = parse(output);
        let quote = quote_of(&input);
        let unit = UNIFORM.iter().find(|(name, _)| *name == case.sample);
        for node in touched(&doc).flat_map(|n| n.descendants()) {
            if !node.is_element() {
                continue;
            }
            for attr in node.attributes() {
                let written = &output[attr.range()];
                assert!(
                    written.ends_with(quote),
                    "{label}: {written} is not in {quote} quotes"
                );
            }
            let Some((_, unit)) = unit else { continue };
            let parent = node.parent_element().expect("under <domain>");
            let expected = format!("{}{unit}", indent_of(output, parent));
            assert_eq!(
                indent_of(output, node),
                expected,
                "{label}: <{}> misindented",
                node.tag_name().name()
            );
        }
        match (input.contains("\r\n"), input.trim_end().contains('\n')) {
            (true, _) => assert!(
                !output.replace("\r\n", "").contains('\n'),
                "{label}: lone LF"
            ),
            (false, true) => assert!(!output.contains('\r'), "{label}: CR in an LF document"),
            (false, false) => assert!(!output.trim_end().contains('\n'), "{label}: broke the line"),
        }
    }
}

fn quote_of(text: &str) -> char {
    let doc = parse(text);
    let first = doc
        .root_element()
        .attributes()
        .next()
        .expect("<domain type=>");
    text[first.range()].chars().next_back().unwrap()
}

#[test]
fn every_sample_parses_and_has_cases() {
    let names = sample_names();
    assert!(names.len() >= 12, "{names:?}");
    for name in names {
        parse(&sample(&name));
    }
}

fn cells(text: &str) -> Vec<String> {
    let doc = parse(text);
    doc.descendants()
        .filter(|n| n.has_tag_name("cell"))
        .map(|n| text[n.range()].to_string())
        .collect()
}

#[test]
fn mem_access_carries_over_to_the_new_cells() {
    let output = run(&sample("memaccess-shared"), "guestnuma=4")
        .unwrap()
        .text();
    let cells = cells(&output);
    assert_eq!(cells.len(), 4);
    assert!(
        cells.iter().all(|c| c.contains("memAccess='shared'")),
        "{cells:?}"
    );
}

/// Which of 4 new cells would get the one old cell's `private` is a guess:
/// refused rather than dropped (QEMU would give every cell share=false).
#[test]
fn mem_access_the_old_cells_did_not_share_is_not_guessed() {
    let input = sample("memaccess-shared").replacen("memAccess='shared'", "memAccess='private'", 1);
    assert!(matches!(
        run(&input, "guestnuma=4"),
        Err(RewriteError::Refused(Refusal::CellsDiffer {
            attribute: "memAccess",
            new: 4,
            old: 2,
            ..
        }))
    ));
}

#[test]
fn distances_go_when_the_cell_count_changes() {
    let output = run(&sample("memaccess-shared"), "guestnuma=4")
        .unwrap()
        .text();
    assert!(!output.contains("<distances>"), "{output}");
    assert!(!output.contains("<sibling"), "{output}");
}

#[test]
fn distances_stay_when_the_cell_count_does_not() {
    let input = sample("memaccess-shared");
    let output = run(&input, "guestnuma=0-1,4-5#4G_2-3,6-7#4G")
        .unwrap()
        .text();
    let cells = cells(&output);
    assert_eq!(cells.len(), 2);
    assert!(cells[0].starts_with("<cell id='0' cpus='0-1,4-5' memory='4194304'"));
    assert!(
        cells[0].contains("<sibling id='1' value='21'/>"),
        "{}",
        cells[0]
    );
    assert!(
        cells[1].contains("<sibling id='0' value='21'/>"),
        "{}",
        cells[1]
    );
    assert_eq!(output.matches("<distances>").count(), 2);
}

#[test]
fn memnodes_of_changed_cells_are_refused_and_rebound_ones_replaced() {
    // The engine's memnodes were made for its NUMA nodes: carried onto a
    // cell of other vCPUs, or dropped with a cell, they would mislead.
    let input = sample("numatune-memnodes");
    let refused = run(&input, "guestnuma=1");
    assert!(
        matches!(
            refused,
            Err(RewriteError::Refused(Refusal::EngineMemnodeMoved {
                cellid: 0,
                ..
            }))
        ),
        "{refused:?}"
    );
    let output = run(&sample("numatune-memnodes"), "guestnuma=0-7#8G#1")
        .unwrap()
        .text();
    assert!(output.contains("<memnode cellid='0' mode='strict' nodeset='1'/>"));
    assert!(!output.contains("cellid='1'"), "{output}");
}

#[test]
fn host_nodes_become_memnodes_in_the_memory_mode() {
    let input = sample("no-cpu-gib");
    let output = run(
        &input,
        "numatune=restrictive#0-1 guestnuma=0-1#4G#0,2-3#4G#1",
    )
    .unwrap()
    .text();
    assert!(output.contains("<memory mode='restrictive' nodeset='0-1'/>"));
    assert!(output.contains("<memnode cellid='0' mode='restrictive' nodeset='0'/>"));
    assert!(output.contains("<memnode cellid='1' mode='restrictive' nodeset='1'/>"));
}

#[test]
fn refusals() {
    let refused = |name: &str, properties: &str| match run(&sample(name), properties) {
        Err(RewriteError::Refused(err)) => err,
        other => panic!("{properties}: {other:?}"),
    };
    assert_eq!(
        refused("dimm-hotplug", "guestnuma=0-3#2G"),
        Refusal::DimmWithoutCell { node: 1, cells: 1 }
    );
    assert!(matches!(
        refused("numatune-memnodes", "numatune=restrictive#0-1"),
        Refusal::RestrictiveMix { .. }
    ));
    assert_eq!(
        refused("placement-auto", "guestnuma=0-1#2G#0,2-3#2G#1"),
        Refusal::MemnodesWithAuto
    );
    assert_eq!(
        refused("numatune-memnodes", "numatune=auto"),
        Refusal::MemnodesWithAuto
    );
    assert!(matches!(
        refused("no-cpu-gib", "guestnuma=0-1#4G,2-3#2G"),
        Refusal::MemoryMismatch {
            cells: 6291456,
            expected: 8388608,
            ..
        }
    ));
    assert!(matches!(
        refused("dimm-hotplug", "guestnuma=0-1#1536M,2-3#1536M"),
        Refusal::MemoryMismatch {
            cells: 3145728,
            expected: 2097152,
            ..
        }
    ));
    assert_eq!(
        refused("engine-4.4", "cputune=16#0"),
        Refusal::PinPastVcpus { vcpu: 16, max: 16 }
    );
    assert!(
        run(&sample("engine-4.4"), "cputune=15#0").is_ok(),
        "vCPU 15 is hotpluggable"
    );
    assert_eq!(
        refused("engine-4.4", "guestnuma=0#2G,1#2G"),
        Refusal::VcpusInNoCell {
            missing: CpuSet::from_range(2, 15),
            max: 16
        }
    );
    let one_cell = sample("numatune-memnodes")
        .replace("<cell id='1' cpus='4-7' memory='4194304' unit='KiB'/>", "");
    assert_eq!(
        run(&one_cell, "numatune=strict#0").unwrap_err(),
        RewriteError::Refused(Refusal::MemnodeWithoutCell {
            cellid: 1,
            cells: 1
        })
    );
    let broken = sample("crlf").replace("</numatune>", "</numatun>");
    let why = run(&broken, "cputune=0#0").unwrap_err();
    assert!(
        matches!(why, RewriteError::Document(DocumentError::NotWellFormed(_))),
        "{why}"
    );
    assert!(why.to_string().contains("at line 11, column 3"), "{why}");
    assert_eq!(
        refused("dimm-hotplug", "guestnuma=0-1#1G,2-4#1G"),
        Refusal::CellsPastVcpus {
            vcpus: CpuSet::from_range(4, 4),
            max: 4
        }
    );
}

/// A scratch folder with a fake sysfs of a 64-CPU, 2-node host, so that
/// `apply` checks the host the same way on every machine.
fn scratch(test: &str) -> TempDir {
    let dir = TempDir::new(test);
    write_tree(
        dir.path(),
        &[
            ("sys/devices/system/cpu/online", "0-63\n"),
            ("sys/devices/system/node/online", "0-1\n"),
            ("sys/devices/system/node/has_memory", "0-1\n"),
        ],
    );
    dir
}

fn apply(dir: &Path) -> Command {
    let mut command = program();
    command
        .env_clear()
        .env("LARGEGUEST_SYSFS_ROOT", dir.join("sys"))
        .args(["apply", "--domxml"]);
    command
}

#[test]
fn a_refusal_leaves_the_file_as_it_was() {
    let dir = scratch("refused");
    let file = dir.join("refused.xml");
    let input = sample("crlf");
    fs::write(&file, &input).unwrap();
    let before = fs::metadata(&file).unwrap().modified().unwrap();
    let assert = apply(dir.path())
        .arg(&file)
        .arg("cputune=0#0,7#1")
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr);
    assert!(
        stderr.contains("vCPU 7 is pinned but <vcpu> gives the VM 4 vCPUs"),
        "{stderr}"
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), input);
    assert_eq!(fs::metadata(&file).unwrap().modified().unwrap(), before);
}

#[test]
fn apply_writes_what_the_rewrite_gives() {
    let dir = scratch("applied");
    let file = dir.join("applied.xml");
    let input = sample("minidom-3.x");
    fs::write(&file, &input).unwrap();
    let properties = "cputune=0-3#0-3 numatune=strict#0 guestnuma=2";
    apply(dir.path())
        .arg(&file)
        .args(properties.split(' '))
        .assert()
        .success();
    let expected = run(&input, properties).unwrap().text();
    assert_eq!(fs::read_to_string(&file).unwrap(), expected);
}

#[test]
fn a_mixed_indentation_is_followed_where_the_edit_is() {
    let output = run(&sample("template-placeholder"), "guestnuma=2")
        .unwrap()
        .text();
    let cells: Vec<&str> = output.lines().filter(|l| l.contains("<cell ")).collect();
    assert_eq!(cells.len(), 2);
    for line in cells {
        assert!(
            line.starts_with(&format!("{}<cell", " ".repeat(24))),
            "{line:?}"
        );
    }
    assert!(output.contains("\n\t<vcpu current=\"2\">8</vcpu>\n"));
}
