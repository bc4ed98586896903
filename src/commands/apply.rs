//! `apply`: the hook's rewrite run by an administrator on a file, to see
//! what a VM would get before setting the properties on it.

use std::path::PathBuf;

use lexopt::{Arg, Parser};
use similar::TextDiff;

use crate::commands::args::{print_help, text, usage, Parsed};
use crate::commands::error::Error;
use crate::commands::exit_codes::ExitCode;
use crate::commands::output;
use crate::commands::rewrite::{self, FileJob, Outcome};
use crate::commands::{environment, host_limits};
use crate::properties::{split_pair, Property, Request};

const HELP: &str = "\
usage: vdsm-hook-largeguest apply --domxml FILE [NAME=VALUE...] [--dry-run] [--diff]

Rewrites a domain XML file as the before_vm_start hook would, with the
properties given (or, with none, those set in the environment), checked
against this host.

  --domxml FILE   the domain XML to rewrite in place
  --dry-run       write nothing; print the new document (or the diff)
  --diff          print a unified diff of the change";

struct Options {
    domxml: PathBuf,
    pairs: Vec<String>,
    dry_run: bool,
    diff: bool,
}

/// `--dry-run` prints the new document (or with `--diff` the diff) and
/// writes nothing; otherwise the file is rewritten as the hook would.
pub(crate) fn command(parser: &mut Parser) -> Result<ExitCode, Error> {
    let options = match parse(parser).map_err(usage)? {
        Parsed::Help => return print_help(HELP),
        Parsed::Run(options) => options,
    };
    let request = request(&options.pairs)?;
    let host = host_limits();
    let job = FileJob {
        host: host.as_ref(),
        numad: &environment::host_paths().numad,
        write: !options.dry_run,
    };
    rewrite::rewrite_file(&options.domxml, &request, job, |before, outcome| {
        show(&options, before, outcome)
    })??;
    Ok(ExitCode::Success)
}

/// What `apply` prints: the diff or the dry run's document, then the lines
/// the hook would log.
fn show(options: &Options, before: &str, outcome: &Outcome) -> Result<(), Error> {
    if options.diff {
        let name = options.domxml.display().to_string();
        let after = outcome.text();
        let diff = TextDiff::from_lines(before, &after);
        let diff = diff
            .unified_diff()
            .context_radius(3)
            .header(&name, &name)
            .to_string();
        output::out(&diff)?;
    } else if options.dry_run {
        output::out(&outcome.text())?;
    }
    let note = match options.dry_run {
        true => " (dry run, nothing written)",
        false => "",
    };
    output::note(&outcome.cpu_policy);
    outcome.warnings.iter().for_each(output::warn);
    output::note(&format!("{}{note}", outcome.summary));
    Ok(())
}

fn parse(parser: &mut Parser) -> Result<Parsed<Options>, lexopt::Error> {
    let mut domxml = None;
    let (mut pairs, mut dry_run, mut diff) = (Vec::new(), false, false);
    while let Some(arg) = parser.next()? {
        match arg {
            Arg::Long("help") | Arg::Short('h') => return Ok(Parsed::Help),
            Arg::Long("dry-run") => dry_run = true,
            Arg::Long("diff") => diff = true,
            Arg::Long("domxml") => domxml = Some(PathBuf::from(parser.value()?)),
            Arg::Value(pair) => pairs.push(text(pair)?),
            _ => return Err(arg.unexpected()),
        }
    }
    let domxml = domxml.ok_or("--domxml FILE is required")?;
    Ok(Parsed::Run(Options {
        domxml,
        pairs,
        dry_run,
        diff,
    }))
}

/// With no `NAME=VALUE`, the properties come from the environment, as in the hook.
fn request(pairs: &[String]) -> Result<Request, Error> {
    if pairs.is_empty() {
        return Ok(Request::from_values(
            Property::edits_domain,
            environment::variable,
        )?);
    }
    let pairs = pairs
        .iter()
        .map(|pair| split_pair(pair))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Error::Usage)?;
    if let Some((property, _)) = pairs.iter().find(|(p, _)| !p.edits_domain()) {
        return Err(Error::Usage(format!(
            "{} acts on the host, not the domain XML; use 'ksm set 0|1'",
            property.name()
        )));
    }
    Ok(Request::from_pairs(pairs)?)
}
