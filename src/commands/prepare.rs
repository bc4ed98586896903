//! `prepare`: the host configuration for the guests planned on this host,
//! printed, written under a root, or checked against the running host.

use std::path::PathBuf;

use lexopt::{Arg, Parser};

use crate::commands::args::{print_help, text, usage, Parsed};
use crate::commands::error::Error;
use crate::commands::exit_codes::ExitCode;
use crate::commands::{environment, output};
use crate::host::kernel::KernelRelease;
use crate::host::topology::{HostTopology, TopologyError};
use crate::prepare::check::check;
use crate::prepare::config::plan_host;
use crate::prepare::needs::{from_plan, GuestValues, HUGEPAGES_PROPERTY};
use crate::prepare::render::Preparation;
use crate::prepare::write::write_all;
use crate::prepare::{host_files, PrepareError};
use crate::wording::{bare_path, quoted};

const HELP: &str = "\
usage: vdsm-hook-largeguest prepare [PLAN.json|-]... [--guest NAME=VALUE...]...
           [--hugepages SIZE] [--json | --write ROOT | --check [--root ROOT] [--json]]

Works out what this host must hold for the guests planned on it, from the
plans 'suggest --json' printed (a file each, '-' for stdin) or from each
guest's custom properties (cputune, numatune, guestnuma, emulatorpin,
iothreadpin, and oVirt's hugepages, the page size in KiB), and prints it:
huge pages per node as early-boot systemd units, the vCPUs' CPUs isolated
with tuned's cpu-partitioning profile and banned for irqbalance, and the
kernel arguments to set in the engine. Refuses what the host cannot hold.

  --guest NAME=VALUE...  one guest's properties; repeat --guest per guest
  --hugepages SIZE       the page size (2M, 1G, or KiB) of plans that name none
  --write ROOT           write the files under ROOT ('/' on the host itself)
  --check                compare the running host with the configuration
  --root ROOT            where --check reads the files (default /)
  --json                 the configuration, or the --check report, as JSON

Exit status: 0 done, or with --check every check holds; 1 with --check
something differs (one line each); 2 refused, or the host cannot be read.";

/// Where the guests' values come from, in the order given.
enum Source {
    Plan(String),
    Guest(Vec<String>),
}

enum Mode {
    Print { json: bool },
    Write(PathBuf),
    Check { root: PathBuf, json: bool },
}

struct Options {
    sources: Vec<Source>,
    hugepages: Option<String>,
    mode: Mode,
}

pub(crate) fn command(parser: &mut Parser) -> Result<ExitCode, Error> {
    let options = match parse(parser).map_err(usage)? {
        Parsed::Help => return print_help(HELP),
        Parsed::Run(options) => options,
    };
    let guests = read_guests(&options)?;
    let needs = guests
        .iter()
        .map(GuestValues::needs)
        .collect::<Result<Vec<_>, _>>()
        .map_err(PrepareError::from)?;
    let paths = environment::host_paths();
    let topology = HostTopology::read(&paths.sysfs)?;
    let kernel = KernelRelease::read(&paths.procfs).map_err(TopologyError::from)?;
    let config = plan_host(&topology, &needs, kernel).map_err(PrepareError::from)?;
    for warning in &config.warnings {
        output::warn(warning);
    }
    match options.mode {
        Mode::Print { json } => {
            let names: Vec<String> = guests.iter().map(|g| g.source.clone()).collect();
            let preparation = Preparation {
                config: &config,
                guests: &names,
            };
            match json {
                true => output::out(&format!("{}\n", output::to_json(&preparation.to_json())))?,
                false => output::out(&preparation.to_string())?,
            }
            Ok(ExitCode::Success)
        }
        Mode::Write(root) => {
            let done = write_all(&root, &host_files(&config)).map_err(PrepareError::from)?;
            for line in done {
                output::out(&format!("{line}\n"))?;
            }
            Ok(ExitCode::Success)
        }
        Mode::Check { root, json } => {
            let report =
                check(&config, &paths.kernel_trees(), &root).map_err(TopologyError::from)?;
            match json {
                true => output::out(&format!("{}\n", output::to_json(&report)))?,
                false => output::out(&report.to_string())?,
            }
            Ok(match report.holds {
                true => ExitCode::Success,
                false => ExitCode::Differs,
            })
        }
    }
}

/// Each plan read and each guest's properties set, named by position.
fn read_guests(options: &Options) -> Result<Vec<GuestValues>, Error> {
    let mut guests = Vec::new();
    let (mut plans, mut others) = (0, 0);
    for source in &options.sources {
        match source {
            Source::Plan(path) => {
                plans += 1;
                let name = format!("plan {plans} ({})", bare_path(path.as_ref()));
                let json = read_plan(path)?;
                let values = from_plan(&name, &json, options.hugepages.as_deref())
                    .map_err(PrepareError::from)?;
                guests.push(values);
            }
            Source::Guest(pairs) => {
                others += 1;
                let mut values = GuestValues {
                    source: format!("guest {others}"),
                    ..GuestValues::default()
                };
                for pair in pairs {
                    set_pair(&mut values, pair)?;
                }
                guests.push(values);
            }
        }
    }
    Ok(guests)
}

fn set_pair(values: &mut GuestValues, pair: &str) -> Result<(), Error> {
    let Some((name, value)) = pair.split_once('=') else {
        return Err(Error::Usage(format!(
            "{}: {} is not NAME=VALUE",
            values.source,
            quoted(pair)
        )));
    };
    match values.set(name, value) {
        true => Ok(()),
        // The other properties place nothing on the host.
        false if crate::properties::Property::from_name(name).is_some() => Ok(()),
        false => Err(Error::Usage(format!(
            "{}: unknown property {}; prepare reads cputune, numatune, guestnuma, emulatorpin, iothreadpin and {HUGEPAGES_PROPERTY}",
            values.source,
            quoted(name)
        ))),
    }
}

/// A plan file, or stdin for `-`. A pipe is fine (`prepare <(ssh host
/// vdsm-hook-largeguest suggest ... --json)`); what never ends or is not
/// text is refused after a bound no plan comes near.
fn read_plan(path: &str) -> Result<String, Error> {
    use std::io::Read;
    const MAX_PLAN: u64 = 4 * 1024 * 1024;
    let name = match path {
        "-" => "the plan on stdin".to_string(),
        _ => format!("the plan {}", quoted(path)),
    };
    let fail = |why: String| Error::Usage(format!("cannot read {name}: {why}"));
    let reader: Box<dyn Read> = match path {
        "-" => Box::new(std::io::stdin()),
        _ => Box::new(std::fs::File::open(path).map_err(|err| fail(err.to_string()))?),
    };
    let mut bytes = Vec::new();
    reader
        .take(MAX_PLAN + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| fail(err.to_string()))?;
    if bytes.len() as u64 > MAX_PLAN {
        return Err(fail(format!("longer than {MAX_PLAN} bytes, so not a plan")));
    }
    String::from_utf8(bytes).map_err(|_| fail("not UTF-8 text, so not a plan".to_string()))
}

fn parse(parser: &mut Parser) -> Result<Parsed<Options>, lexopt::Error> {
    let mut sources = Vec::new();
    let (mut hugepages, mut write, mut check, mut root, mut json) =
        (None, None, false, None, false);
    while let Some(arg) = parser.next()? {
        match arg {
            Arg::Long("help") | Arg::Short('h') => return Ok(Parsed::Help),
            Arg::Long("guest") => sources.push(Source::Guest(Vec::new())),
            Arg::Long("hugepages") => hugepages = Some(text(parser.value()?)?),
            Arg::Long("write") => write = Some(PathBuf::from(parser.value()?)),
            Arg::Long("check") => check = true,
            Arg::Long("root") => root = Some(PathBuf::from(parser.value()?)),
            Arg::Long("json") => json = true,
            Arg::Value(value) => {
                let value = text(value)?;
                match (value.contains('='), sources.last_mut()) {
                    (true, Some(Source::Guest(pairs))) => pairs.push(value),
                    (true, _) => sources.push(Source::Guest(vec![value])),
                    (false, _) => sources.push(Source::Plan(value)),
                }
            }
            _ => return Err(arg.unexpected()),
        }
    }
    if sources.is_empty() {
        return Err("prepare needs plans (files from 'suggest --json', '-' for stdin) or --guest NAME=VALUE...".into());
    }
    let mode = match (write, check) {
        (Some(_), true) => return Err("--write and --check do not go together".into()),
        (Some(_), false) if json => return Err("--json does not go with --write".into()),
        (_, false) if root.is_some() => return Err("--root goes with --check".into()),
        (Some(root), false) => Mode::Write(root),
        (None, true) => Mode::Check {
            root: root.unwrap_or_else(|| PathBuf::from("/")),
            json,
        },
        (None, false) => Mode::Print { json },
    };
    Ok(Parsed::Run(Options {
        sources,
        hugepages,
        mode,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parsed(args: &[&str]) -> Result<Options, String> {
        let mut parser = Parser::from_args(args.iter().copied());
        match parse(&mut parser) {
            Ok(Parsed::Run(options)) => Ok(options),
            Ok(Parsed::Help) => Err("help".to_string()),
            Err(err) => Err(err.to_string()),
        }
    }

    fn sources(options: &Options) -> Vec<String> {
        options
            .sources
            .iter()
            .map(|source| match source {
                Source::Plan(path) => format!("plan {path}"),
                Source::Guest(pairs) => format!("guest {}", pairs.join(" ")),
            })
            .collect()
    }

    #[test]
    fn plans_and_guests_keep_their_order_and_pairs_go_to_the_last_guest() {
        let options = parsed(&[
            "a.json",
            "cputune=0#1",
            "--guest",
            "guestnuma=0#1G#0",
            "hugepages=2048",
            "-",
            "--guest",
            "emulatorpin=0",
        ])
        .unwrap();
        assert_eq!(
            sources(&options),
            [
                "plan a.json",
                "guest cputune=0#1",
                "guest guestnuma=0#1G#0 hugepages=2048",
                "plan -",
                "guest emulatorpin=0",
            ]
        );
        assert!(matches!(options.mode, Mode::Print { json: false }));
    }

    #[test]
    fn write_and_check_exclude_each_other_and_root_needs_check() {
        assert!(matches!(
            parsed(&["a.json", "--write", "/"]).unwrap().mode,
            Mode::Write(root) if root == Path::new("/")
        ));
        assert!(matches!(
            parsed(&["a.json", "--check", "--json"]).unwrap().mode,
            Mode::Check { root, json: true } if root == Path::new("/")
        ));
        assert_eq!(
            parsed(&["a.json", "--write", "/", "--check"])
                .err()
                .as_deref(),
            Some("--write and --check do not go together")
        );
        assert_eq!(
            parsed(&["a.json", "--root", "/x"]).err().as_deref(),
            Some("--root goes with --check")
        );
        assert_eq!(
            parsed(&["a.json", "--write", "/", "--json"])
                .err()
                .as_deref(),
            Some("--json does not go with --write")
        );
        assert!(matches!(
            parsed(&["a.json", "--json"]).unwrap().mode,
            Mode::Print { json: true }
        ));
        assert!(parsed(&[])
            .err()
            .unwrap_or_default()
            .starts_with("prepare needs plans"));
        assert_eq!(parsed(&["--help"]).err().as_deref(), Some("help"));
    }
}
