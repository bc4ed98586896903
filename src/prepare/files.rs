//! The files that make a host hold its configuration, as text: one
//! early-boot unit per node and page size with the script they run, and
//! the lines set in tuned's and irqbalance's own files.
//!
//! Units, not kernel arguments, reserve the pages because they work on
//! every kernel: `hugepages=` takes per-node counts only from Linux 5.16,
//! later than EL8's 4.18 and EL9's 5.14. They run before sysinit.target,
//! while memory is still unfragmented enough for 1G pages, and before
//! libvirt and VDSM, so no guest starts on a half-reserved host.

use std::fmt::Write;

use crate::prepare::config::{HostConfig, NodePages};
use crate::properties::guestnuma::Size;

/// Where the units are: systemd's folder for the administrator's units.
pub(crate) const UNIT_DIR: &str = "/etc/systemd/system";
/// Enabling a unit is this link, as `systemctl enable` makes it.
pub(crate) const WANTS_DIR: &str = "/etc/systemd/system/sysinit.target.wants";
/// Every unit this writes starts so, so a new `prepare` can find and
/// remove the units of an old one.
pub(crate) const UNIT_PREFIX: &str = "vdsm-hook-largeguest-hugepages-";
/// In /etc, not /usr: oVirt Node replaces /usr at every upgrade.
pub(crate) const SCRIPT: &str = "/etc/vdsm-hook-largeguest/reserve-hugepages";
pub(crate) const TUNED_VARIABLES: &str = "/etc/tuned/cpu-partitioning-variables.conf";
pub(crate) const TUNED_ACTIVE: &str = "/etc/tuned/active_profile";
pub(crate) const TUNED_PROFILE: &str = "cpu-partitioning";
pub(crate) const IRQBALANCE: &str = "/etc/sysconfig/irqbalance";
/// irqbalance 1.8.0 and later read a CPU list here.
pub(crate) const IRQBALANCE_LIST: &str = "IRQBALANCE_BANNED_CPULIST";
/// The older 64-bit mask; when set, irqbalance uses it and ignores the list.
pub(crate) const IRQBALANCE_MASK: &str = "IRQBALANCE_BANNED_CPUS";
pub(crate) const TUNED_ISOLATED: &str = "isolated_cores";

/// The script every unit runs, with the node, size and count in its
/// environment. It only ever raises a pool: pages reserved by other means
/// (a kernel argument, another tool) stay. It says what it got, and fails
/// the unit when that is fewer than asked, so `systemctl --failed` and
/// `prepare --check` show it.
pub(crate) const SCRIPT_TEXT: &str = r#"#!/bin/sh
# Written by 'vdsm-hook-largeguest prepare'; run by its hugepages units.
# Raises node NODE's pool of SIZE_KB kB huge pages to PAGES, and fails
# when the kernel gives fewer. LARGEGUEST_SYSFS_ROOT replaces /sys in tests.
sysfs=${LARGEGUEST_SYSFS_ROOT:-/sys}
pool=$sysfs/devices/system/node/node$NODE/hugepages/hugepages-${SIZE_KB}kB/nr_hugepages
say() { echo "node $NODE, ${SIZE_KB} kB pages: $*"; }
if [ ! -f "$pool" ]; then
    say "no such pool ($pool)" >&2
    exit 1
fi
have=$(cat "$pool" 2>/dev/null)
case $have in ''|*[!0-9]*) say "cannot read $pool" >&2; exit 1;; esac
if [ "$have" -lt "$PAGES" ]; then
    { echo "$PAGES" >"$pool"; } 2>/dev/null
    have=$(cat "$pool" 2>/dev/null)
fi
if [ "$have" -lt "$PAGES" ] 2>/dev/null; then
    say "$PAGES asked, the kernel gave ${have:-none}" >&2
    exit 1
fi
say "$have reserved ($PAGES asked)"
"#;

/// A unit's file name for one node and size.
pub(crate) fn unit_name(pages: &NodePages) -> String {
    format!(
        "{UNIT_PREFIX}node{}-{}kB.service",
        pages.node, pages.size_kib
    )
}

pub(crate) fn unit_text(pages: &NodePages) -> String {
    let size = Size(pages.size_kib);
    let (node, count, size_kib) = (pages.node, pages.count, pages.size_kib);
    format!(
        "\
# Written by 'vdsm-hook-largeguest prepare'.
[Unit]
Description=Reserve {count} huge pages of {size} on NUMA node {node} for large guests
Documentation=man:vdsm-hook-largeguest(8)
DefaultDependencies=no
Conflicts=shutdown.target
Before=sysinit.target shutdown.target libvirtd.service virtqemud.service supervdsmd.service vdsmd.service
RequiresMountsFor={SCRIPT}

[Service]
Type=oneshot
RemainAfterExit=yes
Environment=NODE={node} SIZE_KB={size_kib} PAGES={count}
ExecStart=/bin/sh {SCRIPT}

[Install]
WantedBy=sysinit.target
"
    )
}

/// The kernel arguments that reserve the same pages at boot, when the
/// kernel reads per-node counts: one `hugepagesz=` and `hugepages=` pair
/// per size.
pub(crate) fn hugepage_arguments(config: &HostConfig) -> Vec<String> {
    let mut sizes: Vec<u64> = config.pages.iter().map(|p| p.size_kib).collect();
    sizes.sort_unstable();
    sizes.dedup();
    sizes
        .into_iter()
        .flat_map(|size| {
            let counts: Vec<String> = config
                .pages
                .iter()
                .filter(|p| p.size_kib == size)
                .map(|p| format!("{}:{}", p.node, p.count))
                .collect();
            [
                format!("hugepagesz={}", Size(size)),
                format!("hugepages={}", counts.join(",")),
            ]
        })
        .collect()
}

/// Whether the engine's kernel command line should carry the pages.
pub(crate) fn boot_reserves_pages(config: &HostConfig) -> bool {
    !config.pages.is_empty()
        && config
            .kernel
            .as_ref()
            .is_some_and(|kernel| kernel.reads_node_hugepages())
}

/// `text` with `NAME=value` set: the first assignment replaced, later ones
/// dropped, appended when there is none; assignments of `disable` are
/// commented out. Every other line, comments included, stays as it was.
pub(crate) fn set_variable(text: &str, name: &str, value: &str, disable: Option<&str>) -> String {
    let mut out = String::with_capacity(text.len() + name.len() + value.len() + 2);
    let mut done = false;
    for line in text.split_inclusive('\n') {
        let ending = &line[line.trim_end_matches(['\n', '\r']).len()..];
        if assigns(line, name) {
            if !done {
                let _ = write!(out, "{name}={value}{}", ending_or_newline(ending));
                done = true;
            }
        } else if disable.is_some_and(|other| assigns(line, other)) {
            let _ = write!(out, "#{line}");
        } else {
            out.push_str(line);
        }
    }
    if !done {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        let _ = writeln!(out, "{name}={value}");
    }
    out
}

fn ending_or_newline(ending: &str) -> &str {
    match ending.is_empty() {
        true => "\n",
        false => ending,
    }
}

/// Whether `line` assigns `name` (not in a comment).
fn assigns(line: &str, name: &str) -> bool {
    line.trim_start()
        .strip_prefix(name)
        .is_some_and(|rest| rest.trim_start().starts_with('='))
}

/// The value `text` assigns to `name`, as a shell or tuned would read the
/// last assignment; quotes around it removed.
pub(crate) fn variable(text: &str, name: &str) -> Option<String> {
    text.lines()
        .rev()
        .find(|line| assigns(line, name))
        .and_then(|line| line.split_once('='))
        .map(|(_, value)| value.trim().trim_matches(['"', '\'']).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_variable_is_set_in_place_keeping_every_other_line() {
        let text = "# comment\nIRQBALANCE_BANNED_CPUS=ff\n#IRQBALANCE_BANNED_CPULIST=\nIRQBALANCE_ARGS=\"\"\n";
        assert_eq!(
            set_variable(text, IRQBALANCE_LIST, "4-7", Some(IRQBALANCE_MASK)),
            "# comment\n#IRQBALANCE_BANNED_CPUS=ff\n#IRQBALANCE_BANNED_CPULIST=\nIRQBALANCE_ARGS=\"\"\nIRQBALANCE_BANNED_CPULIST=4-7\n"
        );
        let twice = "isolated_cores=${f:calc_isolated_cores:1}\r\nx=1\r\n isolated_cores = 3\r\n";
        assert_eq!(
            set_variable(twice, TUNED_ISOLATED, "2-5", None),
            "isolated_cores=2-5\r\nx=1\r\n"
        );
        assert_eq!(set_variable("", "a", "1", None), "a=1\n");
        assert_eq!(set_variable("b=2", "a", "1", None), "b=2\na=1\n");
    }

    #[test]
    fn the_last_assignment_is_the_value() {
        let text =
            "#isolated_cores=1\nisolated_cores=2\n isolated_cores = \"3-4\"\nisolated_cores_x=9\n";
        assert_eq!(variable(text, TUNED_ISOLATED).as_deref(), Some("3-4"));
        assert_eq!(variable("# isolated_cores=1\n", TUNED_ISOLATED), None);
    }
}
