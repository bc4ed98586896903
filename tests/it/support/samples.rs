//! What the rewrite tests share: the samples, the corpus, the property
//! combinations tried on each sample, and running the rewrite on them.

use std::fs;
use std::path::{Path, PathBuf};

use similar::TextDiff;

use super::manifest_dir;
use vdsm_hook_largeguest::commands::rewrite::{self, Outcome, RewriteError};
use vdsm_hook_largeguest::host::topology::HostLimits;
use vdsm_hook_largeguest::properties::{split_pair, Request};

/// Every snapshot case, written once: `rewrite_cases!(then)` hands the list
/// to the macro `then`, so that [`CASES`] and the one test per case in
/// `rewrite_snapshots` come from the same lines. Each case is a sample
/// (`testdata/SAMPLE.xml`), a label and the properties as they are set,
/// `name=value` separated by spaces: every sample with each property alone,
/// all three, `guestnuma=N`, host nodes turned into memnodes, existing pins
/// replaced, and its refusals. The cases `on_fake_host` run against
/// `testdata/sysfs/TREE` (and `testdata/procfs/TREE` where there is one):
/// huge pages per node, PCI devices, isolated CPUs.
macro_rules! rewrite_cases {
    ($then:ident) => {
        $then! {
            without_host {
                engine_4_4 "engine-4.4" {
                    cputune: "cputune=0#0,1#1,2-15#2-15",
                    numatune: "numatune=interleave#0-1",
                    guestnuma: "guestnuma=0-7#2G,8-15#2G",
                    all: "cputune=0-7#0-7,8-15#8-15 numatune=strict#0-1 guestnuma=0-7#2G,8-15#2G",
                    guestnuma_even: "guestnuma=4",
                    host_nodes: "guestnuma=0-7#2G#0,8-15#2G#1",
                    refused_pin_past_vcpus: "cputune=16#0",
                    refused_hotplug_vcpus_left_out: "guestnuma=0#2G,1#2G",
                    emulatorpin: "emulatorpin=0-1",
                    all_pins: "cputune=0-15#2-17 emulatorpin=0-1",
                }
                engine_4_5 "engine-4.5" {
                    all: "cputune=0#0,1-7#0-7,8-15#8-15 numatune=strict#0-1 guestnuma=0-7#2G#0,8-15#2G#1",
                    replace_engine_pin: "cputune=0#4,1#5",
                    agree_with_engine_pin: "cputune=0#0,1#5",
                    guestnuma_even: "guestnuma=2",
                }
                engine_small "engine-small" {
                    all: "cputune=0#0_1#1 numatune=interleave#0 guestnuma=0#1G,1#1G",
                    guestnuma_even: "guestnuma=2",
                    refused_odd_split: "guestnuma=3",
                }
                dumpxml_shares "dumpxml-shares" {
                    replace_pins: "cputune=0#8,4#12",
                    numatune: "numatune=preferred#1",
                    guestnuma_same_count: "guestnuma=0-3#4G,4-7#4G",
                    guestnuma_even: "guestnuma=4",
                    all: "cputune=0-7#2-9 numatune=interleave#0-1 guestnuma=0-3#4G#0,4-7#4G#1",
                    refused_memory_sum: "guestnuma=0-3#4G,4-7#2G",
                    replace_emulatorpin: "emulatorpin=6-7",
                }
                minidom_3_x "minidom-3.x" {
                    cputune: "cputune=0#0,1#1,2#2,3#3",
                    guestnuma: "guestnuma=0-1#1G,2-3#1G",
                    all: "cputune=0-3#0-3 numatune=strict#0 guestnuma=2",
                    host_nodes: "guestnuma=0-1#1G#0,2-3#1G#1",
                    all_pins: "cputune=0-3#2-5 emulatorpin=0-1",
                }
                one_line "one-line" {
                    cputune: "cputune=0#0,1#1",
                    all: "cputune=0-3#0-3 numatune=interleave#0-1 guestnuma=0-1#1G#0,2-3#1G#1",
                    guestnuma_even: "guestnuma=2",
                }
                crlf "crlf" {
                    numatune: "numatune=interleave#0-1",
                    all: "cputune=0#0,1#1,2#2,3#3 numatune=strict#0-1 guestnuma=0-1#4G#0,2-3#4G#1",
                    guestnuma_even: "guestnuma=2",
                }
                comments_cdata "comments-cdata" {
                    replace_pin: "cputune=0#1,1#2",
                    all: "cputune=0-3#0-3 numatune=strict#0 guestnuma=0-1#2G,2-3#2G",
                    refused_pin_past_vcpus: "cputune=0#0,4#4",
                }
                memaccess_shared "memaccess-shared" {
                    guestnuma_same_count: "guestnuma=0-3#4G#0,4-7#4G#1",
                    guestnuma_even: "guestnuma=4",
                    all: "cputune=0-7#2-9 numatune=strict#0-1 guestnuma=1",
                }
                dimm_hotplug "dimm-hotplug" {
                    guestnuma: "guestnuma=0-1#512M,2-3#1536M",
                    guestnuma_even: "guestnuma=2",
                    cputune: "cputune=0-3#0-3",
                    refused_dimm_node: "guestnuma=0-3#2G",
                    refused_memory_sum: "guestnuma=0-1#1536M,2-3#1536M",
                }
                numatune_memnodes "numatune-memnodes" {
                    numatune: "numatune=interleave#0-1",
                    rebind_cell: "guestnuma=0-3#4G#1,4-7#4G",
                    one_cell: "guestnuma=1",
                    replace_pins: "cputune=0-7#0-7",
                    refused_restrictive_mix: "numatune=restrictive#0-1",
                    refused_auto_with_memnodes: "numatune=auto",
                }
                placement_auto "placement-auto" {
                    cputune: "cputune=0-3#0-3",
                    guestnuma: "guestnuma=2",
                    numatune: "numatune=interleave#0-1",
                    refused_memnodes_with_auto: "guestnuma=0-1#2G#0,2-3#2G#1",
                }
                template_placeholder "template-placeholder" {
                    all: "cputune=0-7#0-7 numatune=strict#0 guestnuma=0-3#2G,4-7#2G",
                    guestnuma_even: "guestnuma=2",
                    refused_hotplug_vcpus_left_out: "guestnuma=0#2G,1#2G",
                }
                no_cpu_gib "no-cpu-gib" {
                    all: "cputune=0#0,1#1,2#2,3#3 numatune=interleave#0-1 guestnuma=0-1#4G,2-3#4G",
                    host_nodes: "guestnuma=0-1#4G#0,2-3#4G#1",
                    refused_memory_sum: "guestnuma=0-1#4G,2-3#2G",
                }
                topology_smt "topology-smt" {
                    guestnuma_sockets: "guestnuma=2",
                    guestnuma_cores: "guestnuma=4",
                    refused_core_split: "guestnuma=0-2#4G,3-7#4G",
                    refused_even_core_split: "guestnuma=8",
                }
                large_384 "large-384" {
                    replace_two_pins: "cputune=0#0,383#1",
                    numatune: "numatune=interleave#0-7",
                    guestnuma_four: "guestnuma=4",
                    guestnuma_same: "guestnuma=8",
                    refused_uneven_split: "guestnuma=5",
                }
                hugepages_cells "hugepages-cells" {
                    guestnuma_even: "guestnuma=2",
                    host_nodes: "guestnuma=0-3#4G#0,4-7#4G#1",
                    same_count: "guestnuma=4",
                    refused_not_whole_pages: "guestnuma=0-3#3584M#0,4-7#4608M#1",
                }
                hugepages_split "hugepages-split" {
                    same_count: "guestnuma=0-1#2G,2-3#2G,4-5#2G,6-7#2G",
                    more_cells: "guestnuma=8",
                    refused_lost_cells: "guestnuma=2",
                    refused_not_whole_pages: "guestnuma=0-1#1536M,2-3#2560M,4-5#2G,6-7#2G",
                }
                iothreads "iothreads" {
                    emulatorpin: "emulatorpin=0-1",
                    iothreadpin: "iothreadpin=1#0_5#1",
                    all_pins: "cputune=0-3#2-5 emulatorpin=0 iothreadpin=1#1,5#1",
                    refused_unknown_iothread: "iothreadpin=2#0",
                }
                hostdev "hostdev" {
                    cputune: "cputune=0-3#1-3",
                    numatune: "numatune=strict#0-1",
                    refused_no_iothreads: "emulatorpin=0 iothreadpin=1#0",
                }
            }
            on_fake_host {
                tuned "tuned" {
                    hugepages_cells "hugepages-cells" {
                        tuned_refused_pool_shared: "guestnuma=0-3#4G#0,4-7#4G#0",
                        tuned_refused_node_short: "guestnuma=0-3#4G#0,4-7#4G#1",
                        tuned_fits: "guestnuma=0-3#6G#0,4-7#2G#1",
                    }
                    hostdev "hostdev" {
                        tuned_device_warning: "cputune=0-3#1-3",
                        tuned_refused_device_required: "cputune=0-3#1-3 pci_numa_affinity=required",
                        tuned_device_near: "numatune=strict#0-1 pci_numa_affinity=required",
                    }
                    iothreads "iothreads" {
                        tuned_thread_warnings: "emulatorpin=2 iothreadpin=1#1",
                        tuned_housekeeping: "cputune=0-3#2-5 emulatorpin=0 iothreadpin=1#16_5#8",
                    }
                }
            }
        }
    };
}

/// One property combination tried on a sample.
pub(crate) struct Case {
    pub sample: &'static str,
    pub label: &'static str,
    pub properties: &'static str,
}

macro_rules! case_table {
    (
        without_host {
            $($module:ident $sample:literal { $($label:ident: $properties:literal,)* })*
        }
        on_fake_host { $($tree:tt)* }
    ) => {
        /// The cases `without_host`: they run without host checks.
        pub(crate) const CASES: &[Case] = &[$($(Case {
            sample: $sample,
            label: stringify!($label),
            properties: $properties,
        },)*)*];
    };
}

rewrite_cases!(case_table);

/// The host a fake tree describes, as the hook would read it.
pub(crate) fn fake_host(tree: &str) -> HostLimits {
    let testdata = manifest_dir().join("testdata");
    let mut host = HostLimits::read(&testdata.join("sysfs").join(tree), Path::new("/proc"))
        .expect("a fake tree");
    if let Some(kernel) = host.kernel.as_mut() {
        kernel.procfs = testdata.join("procfs").join(tree);
    }
    host
}

pub(crate) fn sample_path(name: &str) -> PathBuf {
    manifest_dir().join("testdata").join(format!("{name}.xml"))
}

pub(crate) fn sample(name: &str) -> String {
    let path = sample_path(name);
    fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// Every `testdata/*.xml`, by name without the extension.
pub(crate) fn sample_names() -> Vec<String> {
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
pub(crate) fn corpus_files() -> Vec<PathBuf> {
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

pub(crate) fn request(properties: &str) -> Request {
    let pairs = properties
        .split_whitespace()
        .map(|pair| split_pair(pair).expect("a known name=value"));
    Request::from_pairs(pairs).expect("values the grammar accepts")
}

pub(crate) fn run<'t>(text: &'t str, properties: &str) -> Result<Outcome<'t>, RewriteError> {
    rewrite::rewrite(text, &request(properties), None)
}

pub(crate) fn run_on<'t>(
    text: &'t str,
    properties: &str,
    host: &HostLimits,
) -> Result<Outcome<'t>, RewriteError> {
    rewrite::rewrite(text, &request(properties), Some(host))
}

/// A property set that suits any domain: every vCPU pinned, memory
/// interleaved, and the guest split into two cells when it divides
/// evenly, else one. The first the rewrite accepts is used.
pub(crate) fn standard_properties(text: &str) -> Vec<String> {
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
pub(crate) fn diff(old: &str, new: &str) -> String {
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
