//! `ksm status`: every KSM file with its meaning, the memory saved, and
//! what decides `merge_across_nodes` on this host.

use std::fs;
use std::io;
use std::path::Path;

use crate::host::files::{read_text, FileError};
use crate::host::mom;
use crate::wording::bare_path;

use super::switch::page_size;
use super::{KsmError, KsmFiles, MIB};

/// What each counter means, for `ksm status`.
fn meaning(name: &str) -> &'static str {
    match name {
        "run" => "0 ksmd stopped, 1 ksmd running, 2 stopped and everything unmerged",
        "merge_across_nodes" => "1 merge pages from all NUMA nodes, 0 only within a node",
        "pages_shared" => "shared pages in use (each backs several mappings)",
        "pages_sharing" => "further mappings of shared pages: the pages saved",
        "pages_unshared" => "pages scanned, unique so far, still candidates",
        "pages_volatile" => "pages changing too fast to merge",
        "pages_skipped" => "pages the smart scan skipped",
        "pages_scanned" => "pages scanned since KSM started",
        "pages_to_scan" => "pages ksmd scans per wake-up",
        "sleep_millisecs" => "ksmd sleep between scans, ms",
        "full_scans" => "complete scans of all mergeable memory",
        "max_page_sharing" => "most mappings one shared page may back",
        "stable_node_chains" => "shared pages that hit max_page_sharing",
        "stable_node_dups" => "duplicated shared pages in those chains",
        "stable_node_chains_prune_millisecs" => "how often chains are pruned, ms",
        "use_zero_pages" => "1 merge empty pages with the kernel zero page",
        "ksm_zero_pages" => "empty pages merged with the zero page",
        "general_profit" => "bytes saved minus KSM's own metadata",
        "smart_scan" => "1 skip pages that did not merge recently",
        "advisor_mode" => "how pages_to_scan is tuned automatically",
        "advisor_max_cpu" => "advisor: most CPU % ksmd may use",
        "advisor_min_pages_to_scan" => "advisor: lowest pages_to_scan",
        "advisor_max_pages_to_scan" => "advisor: highest pages_to_scan",
        "advisor_target_scan_time" => "advisor: wanted full scan time, s",
        _ => "",
    }
}

/// Every file in the KSM folder with its meaning, the memory saved, and
/// whether `merge_across_nodes` matters at all on this host.
pub(crate) fn status(ksm: &KsmFiles) -> Result<String, KsmError> {
    let read_dir_err = |source| {
        KsmError::from(FileError::Read {
            path: ksm.folder.clone(),
            source,
        })
    };
    let mut names = fs::read_dir(&ksm.folder)
        .map_err(read_dir_err)?
        .map(|entry| entry.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<Vec<String>, io::Error>>()
        .map_err(read_dir_err)?;
    names.sort();
    let mut out = format!("{}:\n", ksm.folder.display());
    for name in &names {
        let value = read_text(&ksm.file(name))?;
        let line = format!("  {name:<36} {:<18} {}", value.trim(), meaning(name));
        out += line.trim_end();
        out.push('\n');
    }
    let sharing = ksm.read("pages_sharing")?;
    let page = page_size();
    out += &format!(
        "saved memory: {:.1} MiB (pages_sharing {sharing} x {page} bytes)\n",
        (sharing * page) as f64 / MIB as f64
    );
    out += &numa_line(&ksm.nodes);
    out += &mom_line(ksm);
    Ok(out)
}

/// Whether MoM keeps merge_across_nodes here, and at what.
fn mom_line(ksm: &KsmFiles) -> String {
    let conf = bare_path(&ksm.mom_conf);
    match ksm.mom() {
        Ok(None) => format!("MoM: does not manage merge_across_nodes here (per {conf})\n"),
        Ok(Some(mom)) => {
            let cluster = match mom::cluster_ksm(&mom) {
                Some(cluster) if !cluster.enabled => "KSM disabled in the cluster".to_string(),
                Some(cluster) => format!(
                    "the cluster keeps merge_across_nodes={}",
                    u8::from(cluster.merge_across_nodes)
                ),
                None => "MoM did not say the cluster's value".to_string(),
            };
            format!("MoM: manages merge_across_nodes here (per {conf}); {cluster}; set it in Edit Cluster > Optimization > KSM control\n")
        }
        Err(err) => format!("MoM: {err}\n"),
    }
}

fn numa_line(nodes: &Path) -> String {
    let Ok(entries) = fs::read_dir(nodes) else {
        return format!("NUMA nodes: unknown ({} is missing)\n", nodes.display());
    };
    let count = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.strip_prefix("node")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .count();
    if count > 1 {
        format!("NUMA nodes: {count}; merge_across_nodes=0 keeps pinned guests' memory local\n")
    } else {
        format!("NUMA nodes: {count}; merge_across_nodes makes no difference on this host\n")
    }
}
