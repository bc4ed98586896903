//! What the rewrite tests share: the samples, the corpus, the property
//! combinations tried on each sample, and running the rewrite on them.

#![allow(dead_code)] // each test crate uses its own part of this module

use std::fs;
use std::path::{Path, PathBuf};

use similar::TextDiff;
use vdsm_hook_largeguest::host::topology::HostLimits;
use vdsm_hook_largeguest::properties::{split_pair, Request};
use vdsm_hook_largeguest::splice::rewrite::{self, Outcome, Refusal};

/// One property combination tried on a sample, written as the properties
/// are set: `name=value` separated by spaces.
pub struct Case {
    pub sample: &'static str,
    pub label: &'static str,
    pub properties: &'static str,
}

const fn case(sample: &'static str, label: &'static str, properties: &'static str) -> Case {
    Case {
        sample,
        label,
        properties,
    }
}

/// Every sample with each property alone, all three, `guestnuma=N`, host
/// nodes turned into memnodes, existing pins replaced, and its refusals.
pub const CASES: &[Case] = &[
    case("engine-4.4", "cputune", "cputune=0#0,1#1,2-15#2-15"),
    case("engine-4.4", "numatune", "numatune=interleave#0-1"),
    case("engine-4.4", "guestnuma", "guestnuma=0-7#2G,8-15#2G"),
    case(
        "engine-4.4",
        "all",
        "cputune=0-7#0-7,8-15#8-15 numatune=strict#0-1 guestnuma=0-7#2G,8-15#2G",
    ),
    case("engine-4.4", "guestnuma-even", "guestnuma=4"),
    case("engine-4.4", "host-nodes", "guestnuma=0-7#2G#0,8-15#2G#1"),
    case("engine-4.4", "refused-pin-past-vcpus", "cputune=16#0"),
    case(
        "engine-4.4",
        "refused-hotplug-vcpus-left-out",
        "guestnuma=0#2G,1#2G",
    ),
    case(
        "engine-4.5",
        "all",
        "cputune=0-7#0-7,8-15#8-15 numatune=strict#0-1 guestnuma=0-7#2G#0,8-15#2G#1",
    ),
    case("engine-4.5", "replace-engine-pin", "cputune=0#4,1#5"),
    case("engine-4.5", "guestnuma-even", "guestnuma=2"),
    case(
        "engine-small",
        "all",
        "cputune=0#0_1#1 numatune=interleave#0 guestnuma=0#1G,1#1G",
    ),
    case("engine-small", "guestnuma-even", "guestnuma=2"),
    case("engine-small", "refused-odd-split", "guestnuma=3"),
    case("dumpxml-shares", "replace-pins", "cputune=0#8,4#12"),
    case("dumpxml-shares", "numatune", "numatune=preferred#1"),
    case(
        "dumpxml-shares",
        "guestnuma-same-count",
        "guestnuma=0-3#4G,4-7#4G",
    ),
    case("dumpxml-shares", "guestnuma-even", "guestnuma=4"),
    case(
        "dumpxml-shares",
        "all",
        "cputune=0-7#2-9 numatune=interleave#0-1 guestnuma=0-3#4G#0,4-7#4G#1",
    ),
    case(
        "dumpxml-shares",
        "refused-memory-sum",
        "guestnuma=0-3#4G,4-7#2G",
    ),
    case("minidom-3.x", "cputune", "cputune=0#0,1#1,2#2,3#3"),
    case("minidom-3.x", "guestnuma", "guestnuma=0-1#1G,2-3#1G"),
    case(
        "minidom-3.x",
        "all",
        "cputune=0-3#0-3 numatune=strict#0 guestnuma=2",
    ),
    case("minidom-3.x", "host-nodes", "guestnuma=0-1#1G#0,2-3#1G#1"),
    case("one-line", "cputune", "cputune=0#0,1#1"),
    case(
        "one-line",
        "all",
        "cputune=0-3#0-3 numatune=interleave#0-1 guestnuma=0-1#1G#0,2-3#1G#1",
    ),
    case("one-line", "guestnuma-even", "guestnuma=2"),
    case("crlf", "numatune", "numatune=interleave#0-1"),
    case(
        "crlf",
        "all",
        "cputune=0#0,1#1,2#2,3#3 numatune=strict#0-1 guestnuma=0-1#4G#0,2-3#4G#1",
    ),
    case("crlf", "guestnuma-even", "guestnuma=2"),
    case("comments-cdata", "replace-pin", "cputune=0#1,1#2"),
    case(
        "comments-cdata",
        "all",
        "cputune=0-3#0-3 numatune=strict#0 guestnuma=0-1#2G,2-3#2G",
    ),
    case(
        "comments-cdata",
        "refused-pin-past-vcpus",
        "cputune=0#0,4#4",
    ),
    case(
        "memaccess-shared",
        "guestnuma-same-count",
        "guestnuma=0-3#4G#0,4-7#4G#1",
    ),
    case("memaccess-shared", "guestnuma-even", "guestnuma=4"),
    case(
        "memaccess-shared",
        "all",
        "cputune=0-7#2-9 numatune=strict#0-1 guestnuma=1",
    ),
    case("dimm-hotplug", "guestnuma", "guestnuma=0-1#512M,2-3#1536M"),
    case("dimm-hotplug", "guestnuma-even", "guestnuma=2"),
    case("dimm-hotplug", "cputune", "cputune=0-3#0-3"),
    case("dimm-hotplug", "refused-dimm-node", "guestnuma=0-3#2G"),
    case(
        "dimm-hotplug",
        "refused-memory-sum",
        "guestnuma=0-1#1536M,2-3#1536M",
    ),
    case("numatune-memnodes", "numatune", "numatune=interleave#0-1"),
    case(
        "numatune-memnodes",
        "rebind-cell",
        "guestnuma=0-3#4G#1,4-7#4G",
    ),
    case("numatune-memnodes", "one-cell", "guestnuma=1"),
    case("numatune-memnodes", "replace-pins", "cputune=0-7#0-7"),
    case(
        "numatune-memnodes",
        "refused-restrictive-mix",
        "numatune=restrictive#0-1",
    ),
    case(
        "numatune-memnodes",
        "refused-auto-with-memnodes",
        "numatune=auto",
    ),
    case("placement-auto", "cputune", "cputune=0-3#0-3"),
    case("placement-auto", "guestnuma", "guestnuma=2"),
    case("placement-auto", "numatune", "numatune=interleave#0-1"),
    case(
        "placement-auto",
        "refused-memnodes-with-auto",
        "guestnuma=0-1#2G#0,2-3#2G#1",
    ),
    case(
        "template-placeholder",
        "all",
        "cputune=0-7#0-7 numatune=strict#0 guestnuma=0-3#2G,4-7#2G",
    ),
    case("template-placeholder", "guestnuma-even", "guestnuma=2"),
    case(
        "template-placeholder",
        "refused-hotplug-vcpus-left-out",
        "guestnuma=0#2G,1#2G",
    ),
    case(
        "no-cpu-gib",
        "all",
        "cputune=0#0,1#1,2#2,3#3 numatune=interleave#0-1 guestnuma=0-1#4G,2-3#4G",
    ),
    case("no-cpu-gib", "host-nodes", "guestnuma=0-1#4G#0,2-3#4G#1"),
    case(
        "no-cpu-gib",
        "refused-memory-sum",
        "guestnuma=0-1#4G,2-3#2G",
    ),
    case("topology-smt", "guestnuma-sockets", "guestnuma=2"),
    case("topology-smt", "guestnuma-cores", "guestnuma=4"),
    case(
        "topology-smt",
        "refused-core-split",
        "guestnuma=0-2#4G,3-7#4G",
    ),
    case("topology-smt", "refused-even-core-split", "guestnuma=8"),
    case("large-384", "replace-two-pins", "cputune=0#0,383#1"),
    case("large-384", "numatune", "numatune=interleave#0-7"),
    case("large-384", "guestnuma-four", "guestnuma=4"),
    case("large-384", "guestnuma-same", "guestnuma=8"),
    case("large-384", "refused-uneven-split", "guestnuma=5"),
    case("engine-4.4", "emulatorpin", "emulatorpin=0-1"),
    case(
        "engine-4.4",
        "all-pins",
        "cputune=0-15#2-17 emulatorpin=0-1",
    ),
    case("minidom-3.x", "all-pins", "cputune=0-3#2-5 emulatorpin=0-1"),
    case("dumpxml-shares", "replace-emulatorpin", "emulatorpin=6-7"),
    case("hugepages-cells", "guestnuma-even", "guestnuma=2"),
    case(
        "hugepages-cells",
        "host-nodes",
        "guestnuma=0-3#4G#0,4-7#4G#1",
    ),
    case("hugepages-cells", "same-count", "guestnuma=4"),
    case(
        "hugepages-cells",
        "refused-not-whole-pages",
        "guestnuma=0-3#3584M,4-7#4608M",
    ),
    case(
        "hugepages-split",
        "same-count",
        "guestnuma=0-1#2G,2-3#2G,4-5#2G,6-7#2G",
    ),
    case("hugepages-split", "more-cells", "guestnuma=8"),
    case("hugepages-split", "refused-lost-cells", "guestnuma=2"),
    case(
        "hugepages-split",
        "refused-not-whole-pages",
        "guestnuma=0-1#1536M,2-3#2560M,4-5#2G,6-7#2G",
    ),
    case("iothreads", "emulatorpin", "emulatorpin=0-1"),
    case("iothreads", "iothreadpin", "iothreadpin=1#0_5#1"),
    case(
        "iothreads",
        "all-pins",
        "cputune=0-3#2-5 emulatorpin=0 iothreadpin=1#1,5#1",
    ),
    case("iothreads", "refused-unknown-iothread", "iothreadpin=2#0"),
    case("hostdev", "cputune", "cputune=0-3#1-3"),
    case("hostdev", "numatune", "numatune=strict#0-1"),
    case(
        "hostdev",
        "refused-no-iothreads",
        "emulatorpin=0 iothreadpin=1#0",
    ),
];

/// Cases run against a fake host (`testdata/sysfs/TREE`, and
/// `testdata/procfs/TREE` where there is one): huge pages per node, PCI
/// devices, isolated CPUs.
pub struct HostCase {
    pub tree: &'static str,
    pub case: Case,
}

const fn on(tree: &'static str, case: Case) -> HostCase {
    HostCase { tree, case }
}

pub const HOST_CASES: &[HostCase] = &[
    on(
        "tuned",
        case(
            "hugepages-cells",
            "tuned-refused-pool-shared",
            "guestnuma=2",
        ),
    ),
    on(
        "tuned",
        case(
            "hugepages-cells",
            "tuned-refused-node-short",
            "guestnuma=0-3#4G#0,4-7#4G#1",
        ),
    ),
    on(
        "tuned",
        case(
            "hugepages-cells",
            "tuned-fits",
            "guestnuma=0-3#6G#0,4-7#2G#1",
        ),
    ),
    on(
        "tuned",
        case("hostdev", "tuned-device-warning", "cputune=0-3#1-3"),
    ),
    on(
        "tuned",
        case(
            "hostdev",
            "tuned-refused-device-required",
            "cputune=0-3#1-3 pci_numa_affinity=required",
        ),
    ),
    on(
        "tuned",
        case(
            "hostdev",
            "tuned-device-near",
            "numatune=strict#0-1 pci_numa_affinity=required",
        ),
    ),
    on(
        "tuned",
        case(
            "iothreads",
            "tuned-thread-warnings",
            "emulatorpin=2 iothreadpin=1#1",
        ),
    ),
    on(
        "tuned",
        case(
            "iothreads",
            "tuned-housekeeping",
            "cputune=0-3#2-5 emulatorpin=0 iothreadpin=1#16_5#8",
        ),
    ),
];

/// The host a fake tree describes, as the hook would read it.
pub fn fake_host(tree: &str) -> HostLimits {
    let testdata = manifest_dir().join("testdata");
    let mut host = HostLimits::read(&testdata.join("sysfs").join(tree)).expect("a fake tree");
    if let Some(files) = host.files.as_mut() {
        files.procfs = testdata.join("procfs").join(tree);
    }
    host
}

pub fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn sample_path(name: &str) -> PathBuf {
    manifest_dir().join("testdata").join(format!("{name}.xml"))
}

pub fn sample(name: &str) -> String {
    let path = sample_path(name);
    fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// Every `testdata/*.xml`, by name without the extension.
pub fn sample_names() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(manifest_dir().join("testdata"))
        .expect("testdata/")
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".xml").map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

/// The shared corpus next to the repository, when it is there (a user's
/// clone has none, and then the corpus tests have nothing to walk).
pub fn corpus_files() -> Vec<PathBuf> {
    let root = manifest_dir().join("../shared/corpus");
    let mut files = Vec::new();
    for dir in ["vdsm", "libvirt"] {
        let Ok(entries) = fs::read_dir(root.join(dir)) else {
            continue;
        };
        files.extend(
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "xml")),
        );
    }
    files.sort();
    files
}

pub fn request(properties: &str) -> Request {
    let pairs = properties
        .split_whitespace()
        .map(|pair| split_pair(pair).expect("a known name=value"));
    Request::from_pairs(pairs).expect("values the grammar accepts")
}

pub fn run(text: &str, properties: &str) -> Result<Outcome, Refusal> {
    rewrite::rewrite(text, &request(properties), None)
}

pub fn run_on(text: &str, properties: &str, host: &HostLimits) -> Result<Outcome, Refusal> {
    rewrite::rewrite(text, &request(properties), Some(host))
}

/// A property set that suits any domain: every vCPU pinned, memory
/// interleaved, and the guest split into two cells when it divides
/// evenly, else one. The first the rewrite accepts is used.
pub fn standard_properties(text: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(text).expect("well-formed");
    let vcpus: u32 = doc
        .root_element()
        .children()
        .find(|n| n.has_tag_name("vcpu"))
        .and_then(|n| n.text()?.trim().parse().ok())
        .unwrap_or(1);
    let pins = format!("cputune=0-{}#0-3", vcpus - 1);
    ["2", "1"]
        .iter()
        .map(|cells| format!("{pins} numatune=interleave#0 guestnuma={cells}"))
        .chain([pins.clone()])
        .collect()
}

/// A unified diff with carriage returns shown, so a CRLF document's
/// snapshot says what its new lines end in. A document on one line is
/// shown broken at its tags, or the diff would be one enormous line.
pub fn diff(old: &str, new: &str) -> String {
    let (old, new) = match old.trim_end().contains('\n') {
        true => (old.to_string(), new.to_string()),
        false => (old.replace("><", ">\n<"), new.replace("><", ">\n<")),
    };
    let diff = TextDiff::from_lines(&old, &new);
    let text = diff
        .unified_diff()
        .context_radius(2)
        .header("input", "output")
        .to_string();
    text.replace('\r', "\\r")
}
