//! The jobs VDSM runs: custom properties arrive as environment variables,
//! the domain XML in the file `_hook_domxml` names, and VDSM reads that
//! file back. A refusal must leave it exactly as it was.

use std::path::{Path, PathBuf};

use lexopt::{Arg, Parser};

use crate::commands::args::{print_help, usage, Parsed};
use crate::commands::error::Error;
use crate::commands::exit_codes::ExitCode;
use crate::commands::output;
use crate::commands::rewrite::{self, FileJob, DOMXML_VARIABLE};
use crate::commands::{environment, host_limits, ksm};
use crate::cpuset::CpuSet;
use crate::host::guests;
use crate::host::topology::HostLimits;
use crate::plan::warning::Warning;
use crate::plan::{hotplug, migration};
use crate::properties::{Property, Request};
use crate::wording::quoted;

const HELP: &str = "\
usage: vdsm-hook-largeguest hook before_vm_start|before_vm_migrate_destination|before_nic_hotplug|ksm

Runs one hook job as VDSM would: the custom properties come from the
environment, the domain XML from the file named by _hook_domxml.

  before_vm_start                 rewrite the domain XML
  before_vm_migrate_destination   refuse a migration this host cannot honour
  before_nic_hotplug              judge a hot-plugged SR-IOV interface's node
  ksm                             switch KSM's merge_across_nodes as the VM asks

Installed as VDSM hook entries (NN_largeguest, NN_largeguest_validate,
NN_largeguest_nic, NN_largeguest_ksm), the job is chosen by the entry's
name instead.";

/// The jobs a VDSM hook entry can run, chosen by the entry's file name so
/// that entries are plain symlinks to the executable, with no shell between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HookJob {
    /// `before_vm_start`: rewrite the domain XML.
    Rewrite,
    /// `before_vm_migrate_destination`: VDSM drops edits there, so only refuse
    /// a migration this host cannot honour.
    Validate,
    /// `before_nic_hotplug`: VDSM hands over the `<interface>` alone; judge
    /// an SR-IOV function's node against the binding the properties ask.
    Nic,
    /// Switch KSM's merge_across_nodes to what the VM asks for.
    Ksm,
}

impl HookJob {
    /// `50_largeguest` -> Rewrite, `50_largeguest_validate` -> Validate,
    /// `50_largeguest_nic` -> Nic, `60_largeguest_ksm` -> Ksm; anything
    /// else is not a hook entry.
    pub(crate) fn from_entry_name(argv0: &Path) -> Option<HookJob> {
        let name = argv0.file_name()?.to_str()?;
        let (prefix, job) = name.split_once('_')?;
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        match job {
            "largeguest" => Some(HookJob::Rewrite),
            "largeguest_validate" => Some(HookJob::Validate),
            "largeguest_nic" => Some(HookJob::Nic),
            "largeguest_ksm" => Some(HookJob::Ksm),
            _ => None,
        }
    }

    fn from_subcommand(name: &str) -> Option<HookJob> {
        match name {
            "before_vm_start" => Some(HookJob::Rewrite),
            "before_vm_migrate_destination" => Some(HookJob::Validate),
            "before_nic_hotplug" => Some(HookJob::Nic),
            "ksm" => Some(HookJob::Ksm),
            _ => None,
        }
    }
}

/// `hook JOB`, the jobs run by name.
pub(crate) fn command(parser: &mut Parser) -> Result<ExitCode, Error> {
    match parse(parser).map_err(usage)? {
        Parsed::Help => print_help(HELP),
        Parsed::Run(job) => run(job),
    }
}

fn parse(parser: &mut Parser) -> Result<Parsed<HookJob>, lexopt::Error> {
    let mut job = None;
    while let Some(arg) = parser.next()? {
        match arg {
            Arg::Long("help") | Arg::Short('h') => return Ok(Parsed::Help),
            Arg::Value(name) if job.is_none() => {
                let name = crate::commands::args::text(name)?;
                job = Some(
                    HookJob::from_subcommand(&name)
                        .ok_or_else(|| format!("unknown hook job {}", quoted(&name)))?,
                );
            }
            _ => return Err("hook takes one job name".into()),
        }
    }
    job.map(Parsed::Run)
        .ok_or_else(|| "hook takes one job name".into())
}

pub(crate) fn run(job: HookJob) -> Result<ExitCode, Error> {
    match job {
        HookJob::Rewrite => rewrite_job(),
        HookJob::Validate => validate_job(),
        HookJob::Nic => nic_job(),
        HookJob::Ksm => ksm_job(),
    }
}

/// `before_vm_start`: with none of the domain's properties set, the file is
/// not even opened, so a VM that does not use the hook pays nothing for it.
fn rewrite_job() -> Result<ExitCode, Error> {
    let request = Request::from_values(Property::edits_domain, environment::variable)?;
    if request.leaves_domain_alone() {
        return Ok(ExitCode::Success);
    }
    let path = domxml_path()?;
    let host = host_limits();
    let job = FileJob {
        host: host.as_ref(),
        numad: &environment::host_paths().numad,
        write: true,
    };
    rewrite::rewrite_file(&path, &request, job, |_, outcome| {
        output::note(&outcome.cpu_policy);
        outcome.warnings.iter().for_each(output::warn);
        if let Some(warning) = host
            .as_ref()
            .and_then(|host| shared_with_guests(&request, host))
        {
            output::warn(&warning);
        }
        output::note(&outcome.summary);
    })?;
    Ok(ExitCode::Success)
}

/// The engine's scheduler does not know the hook's pins, so it may start
/// this VM where another guest's vCPUs are already pinned: said, not refused
/// (the administrator may share CPUs on purpose).
fn shared_with_guests(request: &Request, host: &HostLimits) -> Option<Warning> {
    let procfs = environment::host_paths().guests_procfs.as_ref()?;
    let tune = request.cputune.as_ref()?;
    let guests = guests::pinned(procfs, &host.online_cpus);
    let taken = guests
        .iter()
        .fold(CpuSet::new(), |taken, guest| taken.union(&guest.cpus()));
    let mut vcpus = CpuSet::new();
    let mut cpus = CpuSet::new();
    for pin in &tune.pins {
        let shared = pin.cpuset.intersection(&taken);
        if !shared.is_empty() {
            vcpus.insert(pin.vcpu);
            cpus = cpus.union(&shared);
        }
    }
    let others = guests::sharing(&guests, &cpus);
    (!others.is_empty()).then(|| Warning::SharesCpusWithGuests {
        vcpus,
        cpus,
        guests: others.join(", "),
    })
}

/// `before_vm_migrate_destination`: refuse what this host cannot honour.
fn validate_job() -> Result<ExitCode, Error> {
    let request = Request::from_values(Property::edits_domain, environment::variable)?;
    if request.leaves_domain_alone() {
        return Ok(ExitCode::Success);
    }
    let text = rewrite::read_domxml(&domxml_path()?).map_err(rewrite::RewriteError::from)?;
    let host = host_limits();
    let incoming = migration::check_incoming(&text, &request, host.as_ref())?;
    output::note(&incoming.cpu_policy);
    incoming.warnings.iter().for_each(output::warn);
    if host.is_some() {
        output::note("this host has every CPU and memory node the VM is pinned to");
    }
    Ok(ExitCode::Success)
}

/// `before_nic_hotplug`: a refusal fails the hotplug (VDSM raises the hook
/// error); the NIC XML is never changed. With none of the properties set,
/// the file is not even opened.
fn nic_job() -> Result<ExitCode, Error> {
    let request = Request::from_values(Property::edits_domain, environment::variable)?;
    if request.leaves_domain_alone() {
        return Ok(ExitCode::Success);
    }
    let text = rewrite::read_domxml(&domxml_path()?).map_err(rewrite::RewriteError::from)?;
    let doc = crate::domain::document::parse_whole(&text).map_err(rewrite::RewriteError::from)?;
    let kernel = environment::host_paths().kernel_trees();
    let outcome = hotplug::check_nic(doc.root_element(), &request, &kernel)
        .map_err(rewrite::RewriteError::from)?;
    outcome.warnings.iter().for_each(output::warn);
    outcome.notes.iter().for_each(|note| output::note(note));
    Ok(ExitCode::Success)
}

/// `NN_largeguest_ksm`. No property: no look at the host at all.
fn ksm_job() -> Result<ExitCode, Error> {
    let request = Request::from_values(
        |p| p == Property::KsmMergeAcrossNodes,
        environment::variable,
    )?;
    match request.ksm_merge_across_nodes {
        Some(wanted) => ksm::switch_for_vm(wanted),
        None => Ok(ExitCode::Success),
    }
}

fn domxml_path() -> Result<PathBuf, Error> {
    environment::variable(DOMXML_VARIABLE)
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .ok_or(Error::NoDomxml)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_choose_the_job() {
        let job = |name: &str| HookJob::from_entry_name(Path::new(name));
        assert_eq!(
            job("/usr/libexec/vdsm/hooks/before_vm_start/50_largeguest"),
            Some(HookJob::Rewrite)
        );
        assert_eq!(job("50_largeguest_validate"), Some(HookJob::Validate));
        assert_eq!(job("60_largeguest_ksm"), Some(HookJob::Ksm));
        assert_eq!(job("50_largeguest_nic"), Some(HookJob::Nic));
        assert_eq!(job("vdsm-hook-largeguest"), None);
        assert_eq!(job("_largeguest"), None);
        assert_eq!(job("5a_largeguest"), None);
        assert_eq!(job("50_largeguest_other"), None);
    }
}
