//! MoM, VDSM's Memory Overcommitment Manager (`mom-vdsm.service`), and the
//! KSM setting it keeps.
//!
//! On an oVirt host MoM runs a policy every 15 s that writes the cluster's
//! `merge_across_nodes` into the kernel, unmerging every shared page first
//! (`run=2`) when the two differ. A switch made behind its back costs one
//! host-wide unmerge and is undone within a cycle or two. So the hook must
//! know whether MoM manages the value on this host, and what value MoM
//! keeps there.
//!
//! Whether it manages it is MoM's configuration, not whether momd runs at
//! this instant: systemd restarts it within 5 s and vdsmd wants it, while
//! an admin who took the KSM controller or the policy out of the
//! configuration has handed KSM to the hook on purpose. The files are
//! world-readable, so VDSM's user can tell. What it keeps there is the
//! cluster's setting, which the engine hands VDSM at host activation and
//! VDSM hands MoM as the `01-parameters` policy; it lives only in MoM's
//! memory, readable over MoM's RPC socket.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;

use crate::host::files::{self, FileError};
use crate::wording::bare_path;

/// VDSM's own client waits this long for MoM (`momIF.py`).
const RPC_TIMEOUT: Duration = Duration::from_secs(2);
/// The policies are a few KiB; anything larger is not MoM answering.
const MAX_RESPONSE: u64 = 1024 * 1024;
/// The KSM policy's control for merge_across_nodes.
const MERGE_CONTROL: &str = "\"ksm_merge_across_nodes\"";

#[derive(Debug, Error)]
pub enum MomError {
    /// The file's text is never repeated: the path may come from a test
    /// variable and point anywhere.
    #[error("cannot tell whether MoM manages KSM on this host: {0}")]
    File(#[from] FileError),
    #[error("cannot tell whether MoM manages KSM on this host: cannot list its policy folder {}: {source}", bare_path(.path))]
    PolicyDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// MoM as configured on this host, when it manages merge_across_nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mom {
    /// The configuration that says so, for messages.
    pub conf: PathBuf,
    /// MoM's RPC socket (`rpc-port`), when it serves one.
    pub socket: Option<PathBuf>,
}

/// `Some` when MoM's configuration at `conf` enables the KSM controller and
/// one of its policies sets `ksm_merge_across_nodes`; no file, no MoM.
pub(crate) fn managing(conf: &Path) -> Result<Option<Mom>, MomError> {
    let text = match files::read_text(conf) {
        Ok(text) => text,
        Err(FileError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(None)
        }
        Err(err) => return Err(err.into()),
    };
    let main = MainSection::read(&text);
    let ksm_controller = main.controllers.split(',').any(|name| name.trim() == "KSM");
    if !ksm_controller || !policies_set_merge(&main, conf)? {
        return Ok(None);
    }
    Ok(Some(Mom {
        conf: conf.to_path_buf(),
        socket: main.socket(conf),
    }))
}

/// The `[main]` settings that matter here, with MoM's defaults.
struct MainSection {
    controllers: String,
    policy: String,
    policy_dir: String,
    rpc_port: String,
}

impl MainSection {
    /// Python's ConfigParser syntax, as MoM reads it: `[section]`, `key:
    /// value` or `key = value`, whole-line `#` and `;` comments, keys in
    /// any case; a later line wins.
    fn read(text: &str) -> MainSection {
        let mut main = MainSection {
            controllers: "Balloon".into(),
            policy: String::new(),
            policy_dir: String::new(),
            rpc_port: "-1".into(),
        };
        let mut in_main = false;
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with(['#', ';']) {
                continue;
            }
            if let Some(section) = trimmed.strip_prefix('[') {
                in_main = section.strip_suffix(']').map(str::trim) == Some("main");
                continue;
            }
            let Some(at) = trimmed.find([':', '=']) else {
                continue;
            };
            if !in_main || line.starts_with([' ', '\t']) {
                continue;
            }
            let value = trimmed[at + 1..].trim().to_string();
            match trimmed[..at].trim().to_ascii_lowercase().as_str() {
                "controllers" => main.controllers = value,
                "policy" => main.policy = value,
                "policy-dir" => main.policy_dir = value,
                "rpc-port" => main.rpc_port = value,
                _ => {}
            }
        }
        main
    }

    /// `rpc-port` names a unix socket when it is a path; a number is a TCP
    /// port (or -1, none), which VDSM never configures.
    fn socket(&self, conf: &Path) -> Option<PathBuf> {
        let port = self.rpc_port.as_str();
        match port.is_empty() || port.parse::<i64>().is_ok() {
            true => None,
            false => Some(relative_to(conf, port)),
        }
    }
}

fn relative_to(conf: &Path, path: &str) -> PathBuf {
    let path = Path::new(path);
    match (path.is_absolute(), conf.parent()) {
        (false, Some(folder)) => folder.join(path),
        _ => path.to_path_buf(),
    }
}

/// As MoM loads them: `policy` alone when set, else every `*.policy` of
/// `policy-dir` (no dot files). A folder MoM cannot list gives it no
/// policy at all, and so no KSM control.
fn policies_set_merge(main: &MainSection, conf: &Path) -> Result<bool, MomError> {
    let files: Vec<PathBuf> = if !main.policy.is_empty() {
        vec![relative_to(conf, &main.policy)]
    } else if !main.policy_dir.is_empty() {
        let dir = relative_to(conf, &main.policy_dir);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(source) => return Err(MomError::PolicyDir { path: dir, source }),
        };
        entries
            .filter_map(Result::ok)
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".policy") && !name.starts_with('.'))
            .map(|name| dir.join(name))
            .collect()
    } else {
        Vec::new()
    };
    for file in files {
        if without_comments(&files::read_text(&file)?).contains(MERGE_CONTROL) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// MoM's policy language comments run from `#` to the end of the line.
fn without_comments(policy: &str) -> String {
    policy
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// What the cluster asks of KSM, as MoM holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClusterKsm {
    /// `ksmMergeAcrossNodes`: Edit Cluster > Optimization > KSM control.
    pub merge_across_nodes: bool,
    /// `ksmEnabled`: the Enable KSM box of the same group.
    pub enabled: bool,
}

/// The cluster's KSM setting, read from MoM over its socket; `None` when
/// MoM does not answer (it restarts, or serves no socket), or answers
/// something this cannot read. The caller then falls back to the kernel's
/// value, which MoM converges to within a cycle or two.
pub(crate) fn cluster_ksm(mom: &Mom) -> Option<ClusterKsm> {
    let body = call(mom.socket.as_deref()?, "getNamedPolicies").ok()?;
    let policies = named_policies(&body)?;
    let value = |name: &str| last_assignment(&policies, name);
    Some(ClusterKsm {
        merge_across_nodes: value("ksmMergeAcrossNodes")?,
        enabled: value("ksmEnabled").unwrap_or(true),
    })
}

/// One XML-RPC call without arguments, over HTTP/1.0 on the unix socket,
/// as MoM's own client makes it; the response body.
fn call(socket: &Path, method: &str) -> std::io::Result<String> {
    let mut stream = UnixStream::connect(socket)?;
    stream.set_read_timeout(Some(RPC_TIMEOUT))?;
    stream.set_write_timeout(Some(RPC_TIMEOUT))?;
    let body = format!(
        "<?xml version='1.0'?>\n<methodCall>\n<methodName>{method}</methodName>\n<params>\n</params>\n</methodCall>\n"
    );
    let request = format!(
        "POST /RPC2 HTTP/1.0\r\nHost: localhost\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    stream.take(MAX_RESPONSE).read_to_end(&mut response)?;
    let response = String::from_utf8(response)
        .map_err(|_| std::io::Error::other("the response is not UTF-8"))?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no HTTP response"))?;
    let status = head.lines().next().unwrap_or_default();
    if status.split_whitespace().nth(1) != Some("200") {
        return Err(std::io::Error::other("MoM refused the call"));
    }
    Ok(body.to_string())
}

/// The struct a `getNamedPolicies` response holds: policy name to text,
/// sorted by name, the order MoM evaluates them in.
fn named_policies(body: &str) -> Option<Vec<(String, String)>> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(body, options).ok()?;
    let mut policies: Vec<(String, String)> = doc
        .descendants()
        .filter(|node| node.has_tag_name("member"))
        .filter_map(|member| {
            let name = member.children().find(|n| n.has_tag_name("name"))?.text()?;
            let value = member.children().find(|n| n.has_tag_name("value"))?;
            // A string is <value><string>text</string></value>, or bare text.
            let text: String = value
                .descendants()
                .filter(|n| n.is_text())
                .filter_map(|n| n.text())
                .collect();
            Some((name.to_string(), text))
        })
        .collect();
    if doc.descendants().all(|n| !n.has_tag_name("methodResponse")) {
        return None;
    }
    policies.sort();
    Some(policies)
}

/// The value of the last `(defvar NAME X)` or `(set NAME X)` at the top
/// of the policies, where X is `True`, `False` (00-defines makes them 1
/// and 0) or a number.
fn last_assignment(policies: &[(String, String)], name: &str) -> Option<bool> {
    let mut value = None;
    for (_, text) in policies {
        let text = without_comments(text);
        for statement in text.split('(').skip(1) {
            let mut words = statement
                .split(|c: char| c.is_whitespace() || c == ')')
                .filter(|w| !w.is_empty());
            let (Some(verb), Some(variable), Some(word)) =
                (words.next(), words.next(), words.next())
            else {
                continue;
            };
            if (verb == "defvar" || verb == "set") && variable == name {
                value = match word {
                    "True" => Some(true),
                    "False" => Some(false),
                    number => number.parse::<f64>().ok().map(|n| n != 0.0).or(value),
                };
            }
        }
    }
    value
}

/// The kernel's KSM state, as far as the judgement needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KernelKsm {
    pub merge_across_nodes: bool,
    pub run: u64,
    pub pages_shared: u64,
}

/// MoM keeps another value than the VM asks for, and would undo a switch.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "ksm_merge_across_nodes: MoM keeps merge_across_nodes at this cluster's value ({}{}) and would undo a switch with a full unmerge; set Edit Cluster > Optimization > KSM control to {} (REST: cluster ksm merge_across_nodes {}), or remove ksm_merge_across_nodes",
    u8::from(*.kept), kept_from(*.known), setting(*.wanted), .wanted
)]
pub struct MomKeeps {
    pub kept: bool,
    pub wanted: bool,
    /// False when MoM did not say, and the kernel's value stood in for it.
    pub known: bool,
}

fn kept_from(known: bool) -> &'static str {
    match known {
        true => "",
        false => ", as the kernel shows it: MoM did not say",
    }
}

/// The radio button of Edit Cluster > Optimization > KSM control.
pub(crate) fn setting(merge_across_nodes: bool) -> &'static str {
    match merge_across_nodes {
        true => "Share memory pages across all available memory",
        false => "Share memory pages inside NUMA nodes",
    }
}

/// Where MoM manages KSM the hook never writes: the host satisfies the VM
/// (a note to log), or the VM start is refused naming the cluster setting.
/// `cluster` is what MoM said, or `None`: then the kernel's value, which
/// MoM converges to within a cycle or two, stands in for it.
pub(crate) fn judge(
    wanted: bool,
    kernel: KernelKsm,
    cluster: Option<ClusterKsm>,
) -> Result<String, MomKeeps> {
    let value = u8::from(wanted);
    if cluster.is_some_and(|c| !c.enabled) {
        return Ok(
            "KSM is disabled in this cluster, so MoM keeps every page unmerged and \
                   merge_across_nodes does not matter; nothing changed"
                .into(),
        );
    }
    let kept = cluster.map_or(kernel.merge_across_nodes, |c| c.merge_across_nodes);
    if kept == wanted && kernel.merge_across_nodes == wanted {
        return Ok(format!(
            "KSM merge_across_nodes is already {value}, the value MoM keeps for this cluster; \
             nothing changed"
        ));
    }
    if kept == wanted {
        return Ok(format!(
            "KSM merge_across_nodes is {} now, and MoM sets it to this cluster's value {value} \
             within its next cycles (unmerging first if pages are shared); nothing changed here",
            u8::from(kernel.merge_across_nodes)
        ));
    }
    if kernel.run != 1 && kernel.pages_shared == 0 {
        return Ok(format!(
            "KSM is not running and no page is shared, so no page is merged across nodes; \
             should memory run short, MoM starts it with this cluster's merge_across_nodes={}: \
             set Edit Cluster > Optimization > KSM control to {} to rule that out; nothing changed",
            u8::from(kept),
            setting(wanted)
        ));
    }
    Err(MomKeeps {
        kept,
        wanted,
        known: cluster.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policies(texts: &[(&str, &str)]) -> Vec<(String, String)> {
        texts
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect()
    }

    #[test]
    fn the_last_assignment_wins_as_moms_evaluation_order() {
        let set = policies(&[
            ("00-defines", "(defvar False 0)\n(defvar True 1)\n(defvar ksmMergeAcrossNodes 1)\n"),
            ("01-parameters", "(set ksmEnabled True)\n(set ksmMergeAcrossNodes False)"),
            ("03-ksm", "# (set ksmMergeAcrossNodes 1) is a comment\n(Host.Control \"ksm_merge_across_nodes\" ksmMergeAcrossNodes)"),
        ]);
        assert_eq!(last_assignment(&set, "ksmMergeAcrossNodes"), Some(false));
        assert_eq!(last_assignment(&set, "ksmEnabled"), Some(true));
        assert_eq!(
            last_assignment(&set[..1], "ksmMergeAcrossNodes"),
            Some(true)
        );
        assert_eq!(last_assignment(&[], "ksmMergeAcrossNodes"), None);
    }

    #[test]
    fn the_rpc_response_is_read_as_a_struct_of_strings() {
        let body = "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><struct>\n\
            <member>\n<name>01-parameters</name>\n<value><string>(set ksmMergeAcrossNodes 0)</string></value>\n</member>\n\
            <member>\n<name>00-defines</name>\n<value>(defvar ksmMergeAcrossNodes 1)</value>\n</member>\n\
            </struct></value>\n</param>\n</params>\n</methodResponse>\n";
        let read = named_policies(body).unwrap();
        assert_eq!(read[0].0, "00-defines");
        assert_eq!(last_assignment(&read, "ksmMergeAcrossNodes"), Some(false));
        assert_eq!(named_policies("<html/>"), None);
        assert_eq!(named_policies("not xml"), None);
    }

    #[test]
    fn the_main_section_is_read_as_configparser_does() {
        let main = MainSection::read(
            "### comment\n[main]\n# controllers: none\ncontrollers: Balloon, KSM, CpuTune\n\
             Policy-Dir = /etc/vdsm/mom.d\nrpc-port: /run/vdsm/mom-vdsm.sock\n[host]\ncontrollers: x\n",
        );
        assert_eq!(main.controllers, "Balloon, KSM, CpuTune");
        assert_eq!(main.policy_dir, "/etc/vdsm/mom.d");
        let conf = Path::new("/etc/vdsm/mom.conf");
        assert_eq!(
            main.socket(conf),
            Some(PathBuf::from("/run/vdsm/mom-vdsm.sock"))
        );
        let defaults = MainSection::read("");
        assert_eq!(defaults.controllers, "Balloon");
        assert_eq!(defaults.socket(conf), None);
    }

    const KEEP_0: Option<ClusterKsm> = Some(ClusterKsm {
        merge_across_nodes: false,
        enabled: true,
    });

    fn kernel(merge: bool, run: u64, pages_shared: u64) -> KernelKsm {
        KernelKsm {
            merge_across_nodes: merge,
            run,
            pages_shared,
        }
    }

    #[test]
    fn the_host_satisfies_the_vm_or_the_start_is_refused() {
        // The cluster keeps 0 and the kernel has it.
        let note = judge(false, kernel(false, 1, 500), KEEP_0).unwrap();
        assert!(
            note.starts_with("KSM merge_across_nodes is already 0"),
            "{note}"
        );
        // The cluster keeps 0; MoM has not got there yet.
        let note = judge(false, kernel(true, 1, 500), KEEP_0).unwrap();
        assert!(
            note.contains("MoM sets it to this cluster's value 0"),
            "{note}"
        );
        // The cluster keeps 0, the VM wants 1, pages are merged: refused.
        assert_eq!(
            judge(true, kernel(false, 1, 500), KEEP_0),
            Err(MomKeeps {
                kept: false,
                wanted: true,
                known: true
            })
        );
        // ...but with KSM idle and nothing shared, nothing is merged now.
        let note = judge(true, kernel(false, 0, 0), KEEP_0).unwrap();
        assert!(
            note.contains("Share memory pages across all available memory"),
            "{note}"
        );
        // KSM disabled in the cluster: nothing is ever merged.
        let off = Some(ClusterKsm {
            merge_across_nodes: true,
            enabled: false,
        });
        assert!(judge(false, kernel(true, 1, 9), off).is_ok());
    }

    #[test]
    fn without_moms_word_the_kernel_stands_in_for_the_cluster() {
        assert!(judge(false, kernel(false, 1, 500), None).is_ok());
        let err = judge(false, kernel(true, 1, 500), None).unwrap_err();
        assert!(!err.known);
        assert_eq!(
            err.to_string(),
            "ksm_merge_across_nodes: MoM keeps merge_across_nodes at this cluster's value (1, \
             as the kernel shows it: MoM did not say) and would undo a switch with a full unmerge; set Edit \
             Cluster > Optimization > KSM control to Share memory pages inside NUMA nodes (REST: \
             cluster ksm merge_across_nodes false), or remove ksm_merge_across_nodes"
        );
    }
}
