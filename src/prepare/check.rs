//! `prepare --check`: whether the running host holds the configuration,
//! one line per thing: the pages each node has reserved, the CPUs the
//! kernel keeps isolated, the tuned profile and its CPUs, irqbalance's
//! banned CPUs, VDSM's dynamic huge pages, the files `prepare` writes
//! and, where the kernel reads them, the huge page arguments it booted
//! with.

use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::cpuset::CpuSet;
use crate::host::files::{read_number, read_text, FileError};
use crate::host::isolation::Isolation;
use crate::host::kernel::command_line;
use crate::host::paths::KernelTrees;
use crate::prepare::config::HostConfig;
use crate::prepare::files::{
    boot_reserves_pages, hugepage_arguments, variable, IRQBALANCE, IRQBALANCE_LIST,
    IRQBALANCE_MASK, TUNED_ACTIVE, TUNED_ISOLATED, TUNED_PROFILE, TUNED_VARIABLES,
};
use crate::prepare::vdsm_conf::{dynamic_hugepages, DYNAMIC_HUGEPAGES, SECTION, VDSM_CONF};
use crate::prepare::write::under;
use crate::prepare::{host_files, Content};
use crate::properties::guestnuma::Size;

/// One comparison of the host with the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Check {
    /// hugepages, vdsm, isolated, tuned, irqbalance, file, kernel.
    pub what: &'static str,
    /// Which node, file or setting.
    pub subject: String,
    pub expected: String,
    pub found: String,
    pub holds: bool,
    /// What to do when it does not hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct CheckReport {
    pub holds: bool,
    pub checks: Vec<Check>,
}

/// `kernel` is where the running host's kernel is read, `root` the folder
/// its configuration files are under.
pub(crate) fn check(
    config: &HostConfig,
    kernel: &KernelTrees,
    root: &Path,
) -> Result<CheckReport, FileError> {
    let mut checks = Vec::new();
    for pages in &config.pages {
        let path = kernel.sysfs.join(format!(
            "devices/system/node/node{}/hugepages/hugepages-{}kB/nr_hugepages",
            pages.node, pages.size_kib
        ));
        let found = match path.exists() {
            true => Some(read_number(&path)?),
            false => None,
        };
        checks.push(Check {
            what: "hugepages",
            subject: format!("node {}, {} pages", pages.node, Size(pages.size_kib)),
            expected: format!("at least {}", pages.count),
            found: found.map_or("no such pool".to_string(), |n| n.to_string()),
            holds: found.is_some_and(|n| n >= pages.count),
            fix: Some("reboot, so the units reserve them early; or start the unit now (1G pages may then fall short)".to_string()),
        });
    }
    if !config.pages.is_empty() {
        checks.push(vdsm_check(root)?);
    }
    if !config.isolated.is_empty() {
        isolation_checks(config, kernel, root, &mut checks)?;
    }
    file_checks(config, root, &mut checks)?;
    if boot_reserves_pages(config) {
        let words = command_line(&kernel.procfs)?;
        for argument in hugepage_arguments(config) {
            checks.push(Check {
                what: "kernel",
                subject: "command line".to_string(),
                expected: argument.clone(),
                found: present(words.contains(&argument)),
                holds: words.contains(&argument),
                fix: Some(
                    "set it in the engine (Edit Host > Kernel), reinstall the host and reboot"
                        .to_string(),
                ),
            });
        }
    }
    let holds = checks.iter().all(|check| check.holds);
    Ok(CheckReport { holds, checks })
}

/// VDSM must leave the reserved pages alone: no dynamic allocation.
fn vdsm_check(root: &Path) -> Result<Check, FileError> {
    let setting = dynamic_hugepages(root)?;
    Ok(Check {
        what: "vdsm",
        subject: format!("[{SECTION}] {DYNAMIC_HUGEPAGES}"),
        expected: "false (VDSM's default)".to_string(),
        found: match &setting {
            None => "not set".to_string(),
            Some((value, file)) => format!("{value} in {file}"),
        },
        holds: !setting.is_some_and(|(value, _)| value),
        fix: Some(format!(
            "set {DYNAMIC_HUGEPAGES} = false in {VDSM_CONF} and restart vdsmd: VDSM would allocate and free guests' pages on top of the reserved ones"
        )),
    })
}

fn present(yes: bool) -> String {
    match yes {
        true => "present".to_string(),
        false => "missing".to_string(),
    }
}

fn listed(cpus: &CpuSet) -> String {
    match cpus.is_empty() {
        true => "none".to_string(),
        false => cpus.to_string(),
    }
}

fn isolation_checks(
    config: &HostConfig,
    kernel: &KernelTrees,
    root: &Path,
    checks: &mut Vec<Check>,
) -> Result<(), FileError> {
    let wanted = config.isolated.to_string();
    let isolated = Isolation::read(&kernel.sysfs)?.reserved_for_vcpus();
    checks.push(Check {
        what: "isolated",
        subject: "CPUs the kernel isolates (nohz_full, isolcpus)".to_string(),
        expected: wanted.clone(),
        found: listed(&isolated),
        holds: isolated == config.isolated,
        fix: Some("activate tuned's cpu-partitioning profile and reboot".to_string()),
    });
    let active = optional_text(&under(root, TUNED_ACTIVE))?;
    let profiles = active.as_deref().map(str::trim).unwrap_or_default();
    checks.push(Check {
        what: "tuned",
        subject: TUNED_ACTIVE.to_string(),
        expected: format!("a profile list with {TUNED_PROFILE}"),
        found: match profiles.is_empty() {
            true => "none".to_string(),
            false => profiles.to_string(),
        },
        holds: profiles.split_whitespace().any(|p| p == TUNED_PROFILE),
        fix: Some(format!(
            "tuned-adm profile {TUNED_PROFILE} (or keep the current ones: tuned-adm profile CURRENT {TUNED_PROFILE})"
        )),
    });
    let variables = optional_text(&under(root, TUNED_VARIABLES))?;
    let cores = variables
        .as_deref()
        .and_then(|t| variable(t, TUNED_ISOLATED));
    checks.push(set_check(
        "tuned",
        TUNED_VARIABLES,
        TUNED_ISOLATED,
        &wanted,
        cores,
    ));
    let irqbalance = optional_text(&under(root, IRQBALANCE))?.unwrap_or_default();
    let banned = variable(&irqbalance, IRQBALANCE_LIST);
    checks.push(set_check(
        "irqbalance",
        IRQBALANCE,
        IRQBALANCE_LIST,
        &wanted,
        banned,
    ));
    if let Some(mask) = variable(&irqbalance, IRQBALANCE_MASK).filter(|m| !m.is_empty()) {
        checks.push(Check {
            what: "irqbalance",
            subject: IRQBALANCE.to_string(),
            expected: format!("no {IRQBALANCE_MASK}"),
            found: format!("{IRQBALANCE_MASK}={mask}, which irqbalance uses instead of the list"),
            holds: false,
            fix: Some("remove it; prepare --write comments it out".to_string()),
        });
    }
    Ok(())
}

/// `NAME=LIST` in a file, compared as CPU sets.
fn set_check(
    what: &'static str,
    file: &str,
    name: &str,
    wanted: &str,
    found: Option<String>,
) -> Check {
    let same =
        found.as_deref().and_then(|f| f.parse::<CpuSet>().ok()) == wanted.parse::<CpuSet>().ok();
    Check {
        what,
        subject: format!("{file} {name}"),
        expected: wanted.to_string(),
        found: found.unwrap_or_else(|| "not set".to_string()),
        holds: same,
        fix: Some("prepare --write /".to_string()),
    }
}

fn optional_text(path: &Path) -> Result<Option<String>, FileError> {
    match path.exists() {
        true => read_text(path).map(Some),
        false => Ok(None),
    }
}

/// Each file `prepare --write` makes, as it would make it now.
fn file_checks(config: &HostConfig, root: &Path, checks: &mut Vec<Check>) -> Result<(), FileError> {
    for file in host_files(config) {
        let path = under(root, &file.path);
        let holds = match &file.content {
            Content::Whole { text, .. } => optional_text(&path)?.as_deref() == Some(text.as_str()),
            Content::Link { target } => {
                std::fs::read_link(&path).is_ok_and(|found| found == Path::new(target))
            }
            // The variables are compared as CPU sets above.
            Content::Set { .. } => continue,
        };
        checks.push(Check {
            what: "file",
            subject: file.path.clone(),
            expected: "as prepare writes it".to_string(),
            found: match (holds, path.exists()) {
                (true, _) => "the same".to_string(),
                (false, true) => "different".to_string(),
                (false, false) => "missing".to_string(),
            },
            holds,
            fix: Some("prepare --write /".to_string()),
        });
    }
    Ok(())
}

/// One line per check, differences first said with what to do.
impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for check in &self.checks {
            let mark = match check.holds {
                true => "ok     ",
                false => "DIFFERS",
            };
            write!(
                f,
                "{mark} {:<10} {}: expected {}, found {}",
                check.what, check.subject, check.expected, check.found
            )?;
            match (&check.fix, check.holds) {
                (Some(fix), false) => writeln!(f, "; {fix}")?,
                _ => writeln!(f)?,
            }
        }
        let differing = self.checks.iter().filter(|c| !c.holds).count();
        match differing {
            0 => writeln!(f, "the host holds the configuration"),
            n => writeln!(f, "{n} of {} checks differ", self.checks.len()),
        }
    }
}
