//! `apply`: the hook's rewrite run by an administrator on a file, to see
//! what a VM would get before setting the properties on it.

use std::path::PathBuf;

use similar::TextDiff;

use crate::check::Property;
use crate::error::Error;
use crate::exit_codes::ExitCode;
use crate::rewrite::{self, Request};
use crate::{cputune, guestnuma, numatune};
use crate::{hook, output};

const USAGE: &str = "usage: apply --domxml FILE [NAME=VALUE...] [--dry-run] [--diff]";

struct Options {
    domxml: PathBuf,
    pairs: Vec<(Property, String)>,
    dry_run: bool,
    diff: bool,
}

fn options(args: &[String]) -> Result<Options, Error> {
    let mut domxml = None;
    let (mut pairs, mut dry_run, mut diff) = (Vec::new(), false, false);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dry-run" => dry_run = true,
            "--diff" => diff = true,
            "--domxml" => domxml = args.next().map(PathBuf::from),
            pair => {
                let known = pair
                    .split_once('=')
                    .and_then(|(n, v)| Some((Property::from_name(n)?, v)));
                let Some((property, value)) = known else {
                    return Err(Error::Usage(format!(
                        "{pair:?} is not a known NAME=VALUE; {USAGE}"
                    )));
                };
                pairs.push((property, value.to_string()));
            }
        }
    }
    let domxml = domxml.ok_or_else(|| Error::Usage(USAGE.into()))?;
    Ok(Options {
        domxml,
        pairs,
        dry_run,
        diff,
    })
}

/// With no `NAME=VALUE`, the properties come from the environment, as in the hook.
fn request(pairs: &[(Property, String)]) -> Result<Request, Error> {
    if pairs.is_empty() {
        return Ok(hook::request_from_env()?);
    }
    let mut request = Request::default();
    for (property, value) in pairs {
        match property {
            Property::CpuTune => request.cputune = Some(cputune::parse(value)?),
            Property::NumaTune => request.numatune = Some(numatune::parse(value)?),
            Property::GuestNuma => request.guestnuma = Some(guestnuma::parse(value)?),
            Property::Ksm => {
                let why = "ksm_merge_across_nodes acts on the host, not the domain XML; use 'ksm set 0|1'";
                return Err(Error::Usage(why.into()));
            }
        }
    }
    Ok(request)
}

/// `--dry-run` prints the new document (or with `--diff` the diff) and
/// writes nothing; otherwise the file is rewritten as the hook would.
pub fn run(args: &[String]) -> Result<ExitCode, Error> {
    let options = options(args)?;
    let request = request(&options.pairs)?;
    let text = hook::read_domxml(&options.domxml)?;
    let outcome = rewrite::rewrite(&text, &request, hook::host_limits().as_ref())?;
    if options.diff {
        let name = options.domxml.display().to_string();
        let diff = TextDiff::from_lines(&text, &outcome.text);
        let diff = diff
            .unified_diff()
            .context_radius(3)
            .header(&name, &name)
            .to_string();
        output::out(&diff)?;
    } else if options.dry_run {
        output::out(&outcome.text)?;
    }
    if !options.dry_run && outcome.text != text {
        hook::write_atomically(&options.domxml, &outcome.text)?;
    }
    let note = if options.dry_run {
        " (dry run, nothing written)"
    } else {
        ""
    };
    output::note(&format!("{}{note}", outcome.summary));
    Ok(ExitCode::Success)
}
