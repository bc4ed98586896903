//! The tree of the elements the hook reads, built from the pruned text,
//! against roxmltree's tree of the whole document: the same verdict and
//! message, the same elements where the hook looks, the same edit; and the
//! output check, which scans only what an edit changed, catches what a
//! whole parse catches.

use std::fs;

use crate::support::domxml;
use roxmltree::Document;
use vdsm_hook_largeguest::domain::document::DocumentError;
use vdsm_hook_largeguest::domain::document::{self, parse_whole, Located, Offsets, Pruned};
use vdsm_hook_largeguest::domain::facts::Domain;
use vdsm_hook_largeguest::plan::plan;
use vdsm_hook_largeguest::splice::splice;
use vdsm_hook_largeguest::xml::{check, edited::Edited};

use crate::support::agreement::disagreement;
use crate::support::manifest_dir;
use crate::support::samples::{corpus_files, request, sample, sample_names, standard_properties};

fn assert_agrees(name: &str, text: &str) {
    if let Some(why) = disagreement(text) {
        panic!("{name}: {why}");
    }
}

/// The documents the project has: samples, the shared corpus, the fuzz
/// seeds (after their three property lines) and the benchmark's.
fn documents() -> Vec<(String, String)> {
    let mut docs: Vec<(String, String)> = sample_names()
        .into_iter()
        .map(|name| (name.clone(), sample(&name)))
        .collect();
    for path in corpus_files() {
        let text = fs::read_to_string(&path).expect("corpus file");
        docs.push((path.display().to_string(), text));
    }
    let seeds = fs::read_dir(manifest_dir().join("fuzz/corpus/rewrite")).expect("fuzz seeds");
    for entry in seeds {
        let path = entry.expect("seed").path();
        let Ok(seed) = fs::read_to_string(&path) else {
            continue;
        };
        let xml = seed.splitn(4, '\n').nth(3).unwrap_or("").to_string();
        docs.push((path.display().to_string(), xml));
    }
    for (name, shape) in domxml::SIZES {
        docs.push((format!("benchmark {name}"), shape.domxml()));
    }
    docs
}

#[test]
fn every_document_reads_the_same_pruned_as_whole() {
    for (name, text) in documents() {
        assert_agrees(&name, &text);
    }
}

/// The rewrite from the pruned tree is the rewrite from the whole tree,
/// byte for byte, for every document and the standard properties.
#[test]
fn the_edit_is_the_same_as_from_the_whole_tree() {
    for (name, text) in documents() {
        let Ok(doc) = parse_whole(&text) else {
            continue;
        };
        if doc.root_element().tag_name().name() != "domain" {
            continue;
        }
        let whole = Located {
            doc,
            offsets: Offsets::SAME,
            boundaries: None,
        };
        for properties in standard_properties(&text) {
            let request = request(&properties);
            let from_whole = Domain::read(&whole.doc)
                .map_err(|e| e.to_string())
                .and_then(|domain| {
                    let plan = plan(&domain, &request, None).map_err(|e| e.to_string())?;
                    let edited = splice(&whole, &text, &domain, &plan);
                    Ok(edited.expect("a document").to_string())
                });
            let from_pruned =
                vdsm_hook_largeguest::commands::rewrite::rewrite(&text, &request, None)
                    .map(|outcome| outcome.text())
                    .map_err(|e| e.to_string());
            assert_eq!(from_pruned, from_whole, "{name} with {properties}");
        }
    }
}

/// A thousand devices cost a scan, not a tree: the tree of the benchmark's
/// huge document holds the children of `<domain>`, the kept elements and
/// the runs of devices, not its 36 000 nodes.
#[test]
fn the_tree_of_a_huge_document_is_small() {
    let text = domxml::SIZES[2].1.domxml();
    let whole = Document::parse(&text).unwrap().descendants().count();
    let mut pruned = Pruned::default();
    let from_pruned = document::parse(&text, &mut pruned)
        .unwrap()
        .descendants()
        .count();
    assert!(whole > 30_000, "{whole}");
    assert!(from_pruned < 2_000, "{from_pruned} nodes");
}

/// A broken document is refused with roxmltree's message, as before.
#[test]
fn a_refusal_says_what_a_whole_parse_says() {
    let broken = [
        "<domain><vcpu>2</vcpu><devices><disk><source file='a'></disk></devices></domain>",
        "<domain>\n  <metadata><x:y/></metadata>\n</domain>",
        "<domain><os>&nbsp;</os></domain>",
        "<domain><devices><disk a='1' a='2'/></devices></domain>",
        "<domain><!-- a -- b --></domain>",
        "<!DOCTYPE domain><domain/>",
        "<domain>",
    ];
    for text in broken {
        let mut pruned = Pruned::default();
        let from_pruned = document::parse(text, &mut pruned).map(drop);
        let whole = parse_whole(text).map(drop);
        assert!(whole.is_err(), "{text}");
        assert_eq!(from_pruned, whole, "{text}");
    }
}

/// A document the scan refuses leaves nothing of the one scanned before:
/// an output check resumed from the old boundaries would judge the wrong
/// text.
#[test]
fn a_refused_scan_forgets_the_document_before() {
    let mut pruned = Pruned::default();
    assert!(pruned.prune("<domain><vcpu>2</vcpu></domain>"));
    assert!(pruned.boundaries().is_some());
    assert!(!pruned.prune("<domain><vcpu>2</vcpu>"));
    assert_eq!(pruned.text(), "");
    assert!(pruned.boundaries().is_none());
}

/// The output check of `after`, given as the one edit of `before` that
/// spans from the first byte they differ in to the last.
fn check(before: &str, after: &str) -> Result<(), String> {
    let mut pruned = Pruned::default();
    document::parse(before, &mut pruned).expect("a document");
    let same = |a: &[u8], b: &[u8]| a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let prefix = same(before.as_bytes(), after.as_bytes());
    let room = before.len().min(after.len()) - prefix;
    let tail = |text: &str| text.bytes().rev().take(room).collect::<Vec<u8>>();
    let suffix = same(&tail(before), &tail(after));
    let (mut start, mut old_end) = (prefix, before.len() - suffix);
    while !before.is_char_boundary(start) || !after.is_char_boundary(start) {
        start -= 1;
    }
    while !before.is_char_boundary(old_end) {
        old_end += 1;
    }
    let new = after[start..after.len() - (before.len() - old_end)].to_string();
    let edited = Edited::new(before, vec![(start..old_end, new)]);
    assert_eq!(edited.to_string(), after);
    check::edit(&edited, pruned.boundaries())
        .map_err(|refused| DocumentError::from(refused).to_string())
}

/// The output check scans what changed in the context of the root; what
/// it cannot place, it scans whole. Either way it refuses what roxmltree
/// refuses, with roxmltree's message.
#[test]
fn the_output_check_catches_a_broken_edit() {
    let before = "<domain xmlns:p='urn:p'>\n  <vcpu>2</vcpu>\n  <cputune/>\n  <os><type>hvm</type></os>\n</domain>\n";
    let fine = [
        before.replace(
            "<cputune/>",
            "<cputune><vcpupin vcpu='0' cpuset='1'/></cputune>",
        ),
        before.replace("<cputune/>", "<cputune><p:x/></cputune>"),
        before.replace("  <cputune/>\n", ""),
        before.replace("<vcpu>2</vcpu>", "<vcpu>2</vcpu><numatune/>"),
        before.replace("<domain ", "<domain a='1' "),
        before.to_string(),
    ];
    for after in &fine {
        assert_eq!(check(before, after), Ok(()), "{after}");
    }
    let broken = [
        before.replace("<cputune/>", "<cputune>"),
        before.replace("<cputune/>", "<cputune><q:x/></cputune>"),
        before.replace("<cputune/>", "<cputune a='1' a='2'/>"),
        before.replace("<cputune/>", "</domain><cputune/>"),
        before.replace("<cputune/>", "<cputune/>]]>"),
        before.replace("<cputune/>", "<!-- a -- b -->"),
        before.replace("<domain ", "<domain a='1' a='2' "),
        before.replace("</domain>", "</domain><x/>"),
        before.replace("<vcpu>2", "<vcpu>2&bad;"),
    ];
    for after in &broken {
        let whole = parse_whole(after).map(drop).map_err(|e| e.to_string());
        assert!(whole.is_err(), "{after}");
        assert_eq!(check(before, after), whole, "{after}");
    }
}

/// `]]` before the edit and `>` at its start make a `]]>` that neither
/// half holds: the changed part starts after markup, never inside text.
#[test]
fn the_output_check_looks_across_the_edge_of_text() {
    let before = "<domain><vcpu>2</vcpu>]]<cputune/></domain>";
    let after = before.replace("<cputune/>", "><cputune/>");
    assert!(parse_whole(&after).is_err());
    assert!(check(before, &after).is_err());
}

/// New elements are written in the quote of the document's first
/// attribute, even when that attribute is inside an element the tree
/// leaves empty, or in a run of devices it leaves out.
#[test]
fn the_quote_is_learned_even_from_what_the_tree_leaves_out() {
    let in_metadata =
        "<domain>\n  <metadata>\n    <x a=\"1\"/>\n  </metadata>\n  <vcpu>2</vcpu>\n  \
                       <memory>2097152</memory>\n  <os type='hvm'/>\n</domain>\n";
    let in_devices = "<domain>\n  <vcpu>2</vcpu>\n  <memory>2097152</memory>\n  <devices>\n    \
                      <disk type=\"file\"/>\n  </devices>\n  <os type='hvm'/>\n</domain>\n";
    for text in [in_metadata, in_devices] {
        assert_agrees(text, text);
        let out =
            vdsm_hook_largeguest::commands::rewrite::rewrite(text, &request("cputune=0#0"), None)
                .unwrap()
                .text();
        assert!(out.contains("<vcpupin vcpu=\"0\" cpuset=\"0\"/>"), "{out}");
    }
}

/// The engine's metadata has an entry per device: the pruned tree keeps
/// only the policy entries `domain::metadata` reads, and reads them alike.
#[test]
fn the_metadata_keeps_the_cpu_policy_and_drops_the_device_entries() {
    let text = sample("engine-4.5");
    assert_agrees("engine-4.5", &text);
    let mut pruned = Pruned::default();
    assert!(pruned.prune(&text));
    let kept = pruned.text();
    assert!(
        kept.contains("<ovirt-vm:cpuPolicy>manual</ovirt-vm:cpuPolicy>"),
        "{kept}"
    );
    assert!(!kept.contains("<ovirt-vm:device"), "{kept}");
    assert!(!kept.contains("<ovirt-vm:custom>"), "{kept}");
}
