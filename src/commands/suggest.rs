//! `suggest`: plan a guest on this host's topology and print the property
//! values that place it.

use lexopt::{Arg, Parser};

use crate::commands::args::{print_help, text, usage, Parsed};
use crate::commands::error::Error;
use crate::commands::exit_codes::ExitCode;
use crate::commands::{environment, output};
use crate::cpuset::CpuSet;
use crate::host::guests::{self, GuestPins};
use crate::host::isolation::Isolation;
use crate::host::pci;
use crate::host::topology::{HostTopology, TopologyError};
use crate::properties::guestnuma;
use crate::properties::numatune::MemoryMode;
use crate::suggest::{propose, Proposal, SuggestRequest};
use crate::wording::{quoted, Ids};

const HELP: &str = "\
usage: vdsm-hook-largeguest suggest --vcpus N --memory SIZE [--threads-per-core T]
           [--mode strict|interleave|preferred] [--reserve CPUSET] [--nodes K]
           [--iothreads N] [--hugepages SIZE] [--device DDDD:BB:SS.F]...
           [--empty-host] [--json]

Chooses host nodes and CPUs for a guest on this host and prints the
cputune, numatune, guestnuma, emulatorpin and iothreadpin values that
place it there. No vCPU goes on a CPU a running guest's vCPU is pinned to.

  --vcpus N              the guest's vCPUs
  --memory SIZE          the guest's memory: 64G, 512M, or KiB
  --threads-per-core T   guest threads per core; each guest core lands on
                         T siblings of one host core (default 1)
  --mode MODE            the memory policy (default strict)
  --reserve CPUSET       host CPUs no vCPU gets (default: every CPU the host
                         does not isolate, or with no isolated CPUs, CPU 0
                         and its siblings; '' for none)
  --nodes K              exactly K host nodes instead of the fewest that fit
  --iothreads N          pin I/O threads 1 to N beside the emulator
  --hugepages SIZE       back the memory with huge pages of SIZE (2M, 1G):
                         each node offers its free pages of that size
  --device ADDR          a passthrough PCI device: its node is used first
  --empty-host           plan as if no guest ran (the host's own capacity)
  --json                 the proposal as JSON";

pub(crate) fn command(parser: &mut Parser) -> Result<ExitCode, Error> {
    let (mut request, devices, Flags { json, empty_host }) = match parse(parser).map_err(usage)? {
        Parsed::Help => return print_help(HELP),
        Parsed::Run(parsed) => parsed,
    };
    let paths = environment::host_paths();
    let sysfs = &paths.sysfs;
    let topology = HostTopology::read(sysfs)?;
    let running = match (empty_host, &paths.guests_procfs) {
        (false, Some(procfs)) => guests::pinned(procfs, &topology.online_cpus),
        _ => Vec::new(),
    };
    let taken = running
        .iter()
        .fold(CpuSet::new(), |taken, guest| taken.union(&guest.cpus()));
    let topology = topology.without_cpus(&taken);
    request.isolated = Isolation::read(sysfs)
        .map_err(TopologyError::from)?
        .reserved_for_vcpus();
    for device in devices {
        match pci::numa_node(sysfs, &device).map_err(TopologyError::from)? {
            Some(node) => request.device_nodes.insert(node),
            None => output::warn(&format!(
                "device {device}: this host has no such PCI device, or the firmware gives it no node; placed without it"
            )),
        }
    }
    let around = planned_around(&running, &taken);
    let proposal = propose(&topology, &request)?;
    match (json, around) {
        (true, around) => output::out(&format!("{}\n", with_around(&proposal, around)))?,
        (false, Some(line)) => output::out(&format!("# {line}\n{proposal}"))?,
        (false, None) => output::out(&proposal.to_string())?,
    }
    Ok(ExitCode::Success)
}

/// What the plan left out for the guests already running, in one line.
fn planned_around(running: &[GuestPins], taken: &CpuSet) -> Option<String> {
    (!taken.is_empty()).then(|| {
        format!(
            "planned around {} that running guests pin: {}; --empty-host plans as if none ran",
            Ids("CPU", taken),
            guests::sharing(running, taken).join(", ")
        )
    })
}

/// The proposal's JSON, with `planned_around` after its fields when the
/// plan left CPUs out (the fields keep their order).
fn with_around(proposal: &Proposal, around: Option<String>) -> String {
    let json = output::to_json(&proposal.json());
    let (Some(line), Some(body)) = (around, json.trim_end().strip_suffix('}')) else {
        return json;
    };
    let value = serde_json::Value::from(line);
    format!("{},\n  \"planned_around\": {value}\n}}", body.trim_end())
}

struct Flags {
    json: bool,
    empty_host: bool,
}

type Options = (SuggestRequest, Vec<String>, Flags);

fn parse(parser: &mut Parser) -> Result<Parsed<Options>, lexopt::Error> {
    let mut request = SuggestRequest::new(0, 0);
    let mut devices = Vec::new();
    let (mut vcpus, mut memory) = (false, false);
    let mut flags = Flags {
        json: false,
        empty_host: false,
    };
    while let Some(arg) = parser.next()? {
        let flag = match &arg {
            Arg::Long(flag) => format!("--{flag}"),
            _ => String::new(),
        };
        match arg {
            Arg::Long("help") | Arg::Short('h') => return Ok(Parsed::Help),
            Arg::Long("json") => flags.json = true,
            Arg::Long("empty-host") => flags.empty_host = true,
            Arg::Long("vcpus") => (request.vcpus, vcpus) = (number(&flag, parser)?, true),
            Arg::Long("memory") => (request.memory_kib, memory) = (size(parser)?, true),
            Arg::Long("threads-per-core") => request.threads_per_core = number(&flag, parser)?,
            Arg::Long("mode") => request.mode = mode(parser)?,
            Arg::Long("reserve") => request.reserve = Some(reserve(parser)?),
            Arg::Long("nodes") => request.nodes = Some(number(&flag, parser)?),
            Arg::Long("iothreads") => request.iothreads = number(&flag, parser)?,
            Arg::Long("hugepages") => request.hugepage_kib = Some(page_size(parser)?),
            Arg::Long("device") => devices.push(device(parser)?),
            Arg::Long(_) => {
                return Err(lexopt::Error::from(format!(
                    "unknown option {}",
                    quoted(&flag)
                )))
            }
            other => return Err(other.unexpected()),
        }
    }
    match (vcpus, memory) {
        (true, true) => Ok(Parsed::Run((request, devices, flags))),
        _ => Err(lexopt::Error::from("--vcpus and --memory are required")),
    }
}

fn value(flag: &str, parser: &mut Parser) -> Result<String, lexopt::Error> {
    let value = parser
        .value()
        .map_err(|_| lexopt::Error::from(format!("{flag} needs a value")))?;
    text(value)
}

fn number<T: std::str::FromStr>(flag: &str, parser: &mut Parser) -> Result<T, lexopt::Error> {
    let value = value(flag, parser)?;
    match value.bytes().all(|b| b.is_ascii_digit()) {
        true => value.parse().ok(),
        false => None,
    }
    .ok_or_else(|| {
        lexopt::Error::from(format!(
            "{flag} takes a whole number, not {}",
            quoted(&value)
        ))
    })
}

fn size(parser: &mut Parser) -> Result<u64, lexopt::Error> {
    let value = value("--memory", parser)?;
    if !value.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(lexopt::Error::from(format!(
            "--memory takes a size such as 64G, 512M or 1048576 (KiB), not {}",
            quoted(&value)
        )));
    }
    guestnuma::parse_size("--memory", &value).map_err(|err| err.to_string().into())
}

fn page_size(parser: &mut Parser) -> Result<u64, lexopt::Error> {
    let value = value("--hugepages", parser)?;
    match guestnuma::parse_size("--hugepages", &value) {
        Ok(kib) if kib > 4 => Ok(kib),
        _ => Err(lexopt::Error::from(format!(
            "--hugepages takes a huge page size such as 2M or 1G, not {}",
            quoted(&value)
        ))),
    }
}

/// `DDDD:BB:SS.F` as sysfs names PCI devices; `BB:SS.F` is in domain 0.
fn device(parser: &mut Parser) -> Result<String, lexopt::Error> {
    let value = value("--device", parser)?.to_ascii_lowercase();
    let full = match value.matches(':').count() {
        1 => format!("0000:{value}"),
        _ => value.clone(),
    };
    let hex =
        |part: &str, len: usize| part.len() == len && part.chars().all(|c| c.is_ascii_hexdigit());
    let parts: Vec<&str> = full.split([':', '.']).collect();
    match parts.as_slice() {
        [d, b, s, f] if hex(d, 4) && hex(b, 2) && hex(s, 2) && hex(f, 1) => Ok(full),
        _ => Err(lexopt::Error::from(format!(
            "--device takes a PCI address such as 0000:3b:00.0, not {}",
            quoted(&value)
        ))),
    }
}

fn mode(parser: &mut Parser) -> Result<MemoryMode, lexopt::Error> {
    let value = value("--mode", parser)?;
    match MemoryMode::from_name(&value) {
        Some(mode @ (MemoryMode::Strict | MemoryMode::Interleave | MemoryMode::Preferred)) => {
            Ok(mode)
        }
        _ => Err(lexopt::Error::from(format!(
            "--mode takes strict, interleave or preferred, not {}",
            quoted(&value)
        ))),
    }
}

/// `--reserve ''` reserves nothing; anything else is a cpuset in the
/// grammar of the properties.
fn reserve(parser: &mut Parser) -> Result<CpuSet, lexopt::Error> {
    let value = value("--reserve", parser)?;
    value
        .parse()
        .map_err(|err: crate::properties::sets::ListError| {
            lexopt::Error::from(format!(
                "--reserve takes a CPU set such as 0,48 or 0-1; {} is not one (column {})",
                quoted(&value),
                err.column
            ))
        })
}
