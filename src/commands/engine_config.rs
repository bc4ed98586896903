//! `engine-config`: the command that declares the custom properties on the
//! engine, with the regexes the registry gives.
//!
//! `UserDefinedVMProperties` is one setting per cluster level, shared by
//! every hook: `engine-config -s` replaces all of it, and `-m` appends, so
//! an upgrade with `-m` piles new regexes over old ones. So the command
//! takes what the engine declares now and prints an `-s` that replaces
//! this hook's declarations and keeps every other one, word for word.

use std::io::Read;
use std::path::PathBuf;

use lexopt::{Arg, Parser};
use thiserror::Error;

use crate::commands::args::{print_help, text, usage, Parsed};
use crate::commands::error::Error;
use crate::commands::exit_codes::ExitCode;
use crate::commands::output;
use crate::properties::Property;
use crate::wording::{bare_path, quoted};

const HELP: &str = "\
usage: vdsm-hook-largeguest engine-config [--cver X.Y|all] (--current VALUE | --current-file FILE)

Prints the engine-config command that declares the custom VM properties,
each with the regex the engine checks values against, for one cluster level
or all of them. It replaces this hook's declarations and keeps every other
one the engine has, so it needs what the engine declares now:

  --cver X.Y|all       cluster level, 4.2 to 4.8 (default 4.8), or all of them
  --current VALUE      what 'engine-config -g UserDefinedVMProperties --cver=X.Y'
                       printed on the engine ('' where it printed an empty line)
  --current-file FILE  the same, saved in FILE ('-' reads standard input); with
                       --cver all, the output of 'engine-config -g
                       UserDefinedVMProperties', which lists every level";

/// The cluster levels of engine 4.5.7 (`SupportedClusterLevels`).
pub(crate) const CLUSTER_LEVELS: [&str; 7] = ["4.2", "4.3", "4.4", "4.5", "4.6", "4.7", "4.8"];

/// The cluster level used when none is given: the newest engine 4.5.7 has.
pub(crate) const DEFAULT_CLUSTER_LEVEL: &str = "4.8";

/// The engine's name for the setting.
const KEY: &str = "UserDefinedVMProperties";

/// Which levels to declare for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Levels {
    One(String),
    All,
}

/// Where the engine's current declarations come from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Current {
    Given(String),
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Options {
    levels: Levels,
    current: Current,
}

/// What the engine's current declarations cannot be read as.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CurrentError {
    #[error("cannot read {}: {reason}", bare_path(.path))]
    Read { path: PathBuf, reason: String },
    #[error("the current value has {lines} lines; 'engine-config -g {KEY} --cver=X.Y' prints one (without --cver it prints one '{KEY}: VALUE version: X.Y' line per level, which is read as such)")]
    Lines { lines: usize },
    #[error("the current value lists levels {listed} but not {level}; run 'engine-config -g {KEY}' again, or give --cver one of those")]
    NoLevel { level: String, listed: String },
    #[error("with --cver all the current value must list every level, as 'engine-config -g {KEY}' (without --cver) prints it: one '{KEY}: VALUE version: X.Y' line per level")]
    NotPerLevel,
}

/// A current value that cannot be read is a wrong value on the command line.
impl From<CurrentError> for Error {
    fn from(err: CurrentError) -> Error {
        Error::Usage(err.to_string())
    }
}

pub(crate) fn command(parser: &mut Parser) -> Result<ExitCode, Error> {
    let options = match parse(parser).map_err(usage)? {
        Parsed::Help => return print_help(HELP),
        Parsed::Run(Some(options)) => options,
        Parsed::Run(None) => return Err(Error::Usage(no_current())),
    };
    if let Levels::One(level) = &options.levels {
        check_level(level)?;
    }
    let current = match &options.current {
        Current::Given(value) => value.clone(),
        Current::File(path) => read(path)?,
    };
    let per_level = per_level(&current)?;
    output::out(&commands(&options.levels, &per_level)?)?;
    Ok(ExitCode::Success)
}

fn parse(parser: &mut Parser) -> Result<Parsed<Option<Options>>, lexopt::Error> {
    let mut level = None;
    let mut current = None;
    while let Some(arg) = parser.next()? {
        match arg {
            Arg::Long("help") | Arg::Short('h') => return Ok(Parsed::Help),
            Arg::Long("cver") if level.is_none() => level = Some(text(parser.value()?)?),
            Arg::Long("current") if current.is_none() => {
                current = Some(Current::Given(text(parser.value()?)?));
            }
            Arg::Long("current-file") if current.is_none() => {
                current = Some(Current::File(parser.value()?.into()));
            }
            _ => return Err(arg.unexpected()),
        }
    }
    let level = level.unwrap_or_else(|| DEFAULT_CLUSTER_LEVEL.to_string());
    let levels = match level.as_str() {
        "all" => Levels::All,
        _ => Levels::One(level),
    };
    Ok(Parsed::Run(
        current.map(|current| Options { levels, current }),
    ))
}

fn no_current() -> String {
    format!(
        "engine-config needs what the engine declares now, to keep other hooks' properties: \
         run 'engine-config -g {KEY} --cver={DEFAULT_CLUSTER_LEVEL}' on the engine and pass what it \
         prints with --current '...' (--current '' for an empty line) or --current-file FILE"
    )
}

fn read(path: &PathBuf) -> Result<String, CurrentError> {
    let mut text = String::new();
    let result = match path.as_os_str() == "-" {
        true => std::io::stdin().read_to_string(&mut text),
        false => std::fs::File::open(path).and_then(|mut file| file.read_to_string(&mut text)),
    };
    result.map_err(|err| CurrentError::Read {
        path: path.clone(),
        reason: err.to_string(),
    })?;
    Ok(text)
}

/// What the engine declares now: one value for the level asked (`None`
/// for the level), or one per level as `engine-config -g` without `--cver`
/// lists them (`KEY: VALUE version: X.Y`).
fn per_level(current: &str) -> Result<Vec<(Option<String>, String)>, CurrentError> {
    let lines: Vec<&str> = current.lines().collect();
    let prefix = format!("{KEY}: ");
    let listed: Vec<(Option<String>, String)> = lines
        .iter()
        .filter_map(|line| line.strip_prefix(&prefix)?.rsplit_once(" version: "))
        .map(|(value, level)| (Some(level.trim().to_string()), value.to_string()))
        .collect();
    match (listed.is_empty(), lines.as_slice()) {
        (false, _) => Ok(listed),
        (true, [] | [_]) => Ok(vec![(None, lines.first().unwrap_or(&"").to_string())]),
        (true, _) => Err(CurrentError::Lines { lines: lines.len() }),
    }
}

/// The comment and one `engine-config -s` per level.
fn commands(levels: &Levels, current: &[(Option<String>, String)]) -> Result<String, Error> {
    let mut out = String::from(
        "# Run on the engine, then: systemctl restart ovirt-engine\n\
         # Each line replaces this hook's declarations for its cluster level and\n\
         # keeps every other declaration there as it is.\n",
    );
    let chosen: Vec<(String, &str)> = match levels {
        Levels::One(level) => {
            let value = match current {
                [(None, value)] => value,
                _ => find(current, level)?,
            };
            vec![(level.clone(), value.as_str())]
        }
        Levels::All => {
            if current.iter().any(|(level, _)| level.is_none()) {
                return Err(CurrentError::NotPerLevel.into());
            }
            let mut chosen = Vec::new();
            for (level, value) in current {
                let level = level.clone().unwrap_or_default();
                match CLUSTER_LEVELS.contains(&level.as_str()) {
                    true => chosen.push((level, value.as_str())),
                    false => {
                        out += &format!("# {level}: not a level engine 4.5 has, left as it is\n");
                    }
                }
            }
            chosen
        }
    };
    for (level, value) in chosen {
        out += &format!("# {level}: {}\n", summary(value));
        out += &declaration(&level, value);
        out.push('\n');
    }
    Ok(out)
}

fn find<'a>(current: &'a [(Option<String>, String)], level: &str) -> Result<&'a String, Error> {
    let found = current.iter().find(|(l, _)| l.as_deref() == Some(level));
    found.map(|(_, value)| value).ok_or_else(|| {
        let listed: Vec<&str> = current.iter().filter_map(|(l, _)| l.as_deref()).collect();
        CurrentError::NoLevel {
            level: level.to_string(),
            listed: listed.join(", "),
        }
        .into()
    })
}

fn check_level(level: &str) -> Result<(), Error> {
    match CLUSTER_LEVELS.contains(&level) {
        true => Ok(()),
        false => Err(Error::Usage(format!(
            "cluster level {} is not one engine 4.5 has: {} or all",
            quoted(level),
            CLUSTER_LEVELS.join(", ")
        ))),
    }
}

/// The other hooks' declarations in `current`, in their order, as written.
fn kept(current: &str) -> Vec<&str> {
    current
        .trim_end_matches(['\r', '\n'])
        .split(';')
        .filter(|declaration| !declaration.is_empty())
        .filter(|declaration| {
            let name = declaration.split('=').next().unwrap_or_default();
            Property::from_name(name).is_none()
        })
        .collect()
}

/// What the line does to the level's declarations, in a comment.
fn summary(current: &str) -> String {
    let kept = kept(current);
    let names: Vec<&str> = kept
        .iter()
        .map(|declaration| declaration.split('=').next().unwrap_or_default())
        .collect();
    match names.is_empty() {
        true => "no other declarations".to_string(),
        false => format!("keeps {}", names.join(", ")),
    }
}

/// The command for one cluster level, given what it declares now.
pub(crate) fn declaration(cluster_level: &str, current: &str) -> String {
    let ours = Property::ALL
        .into_iter()
        .map(|property| format!("{}={}", property.name(), property.engine_regex()));
    let all: Vec<String> = kept(current)
        .into_iter()
        .map(str::to_string)
        .chain(ours)
        .collect();
    format!(
        "engine-config -s {KEY}={} --cver={cluster_level}",
        shell_quoted(&all.join(";"))
    )
}

/// One shell word, in single quotes: other hooks' regexes may hold any
/// character, a `'` included.
fn shell_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_other_declarations_and_replaces_ours() {
        let current = "foo=^a$;cputune=^old$;bar;cputune=^older$;numatune=^x$\n";
        let line = declaration("4.8", current);
        let value = line
            .strip_prefix("engine-config -s UserDefinedVMProperties='")
            .and_then(|rest| rest.strip_suffix("' --cver=4.8"))
            .expect(&line);
        let names: Vec<&str> = value
            .split(';')
            .map(|d| d.split('=').next().unwrap())
            .collect();
        let ours: Vec<&str> = Property::ALL.iter().map(|p| p.name()).collect();
        assert_eq!(names[..2], ["foo", "bar"]);
        assert_eq!(names[2..], ours[..]);
        assert!(value.starts_with("foo=^a$;bar;cputune="));
        assert!(!value.contains("old") && !value.contains("^x$"));
    }

    #[test]
    fn quotes_a_quote_for_the_shell() {
        let line = declaration("4.8", "it's=^a'b$");
        assert!(line.starts_with("engine-config -s UserDefinedVMProperties='it'\\''s=^a'\\''b$;"));
    }

    #[test]
    fn reads_one_value_or_one_line_per_level() {
        assert_eq!(per_level("a=^x$\n"), Ok(vec![(None, "a=^x$".into())]));
        assert_eq!(per_level(""), Ok(vec![(None, String::new())]));
        let listed = "UserDefinedVMProperties: a=^x$ version: 4.7\n\
                      UserDefinedVMProperties:  version: 4.8\n";
        assert_eq!(
            per_level(listed),
            Ok(vec![
                (Some("4.7".into()), "a=^x$".into()),
                (Some("4.8".into()), String::new())
            ])
        );
        assert_eq!(per_level("a\nb\n"), Err(CurrentError::Lines { lines: 2 }));
    }
}
