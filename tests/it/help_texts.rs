//! Every command has its own help, reached with `--help` (exit 0), and the
//! man page says what the help says: each command, each option.

use crate::support::{manifest_dir, std_program};

use vdsm_hook_largeguest::commands::table;

/// The commands the help lists, from the command table.
fn commands() -> impl Iterator<Item = &'static str> {
    table::COMMANDS
        .iter()
        .filter(|command| command.is_listed())
        .map(|command| command.name)
}

fn help(args: &[&str]) -> String {
    let out = std_program().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{args:?}");
    assert!(out.stderr.is_empty(), "{args:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn man_page() -> String {
    let path = manifest_dir().join("packaging/vdsm-hook-largeguest.8");
    std::fs::read_to_string(path).unwrap().replace("\\-", "-")
}

/// `--json` or `--threads-per-core`, as a help text names them.
fn options(text: &str) -> Vec<String> {
    let mut found: Vec<String> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|word| word.starts_with("--") && word.len() > 2)
        .map(str::to_string)
        .collect();
    found.sort();
    found.dedup();
    found
}

#[test]
fn every_command_has_its_own_help() {
    for command in commands() {
        for flag in ["--help", "-h"] {
            let text = help(&[command, flag]);
            assert!(
                text.starts_with(&format!("usage: vdsm-hook-largeguest {command}")),
                "{command} {flag}: {text}"
            );
        }
    }
}

#[test]
fn the_top_help_lists_every_command() {
    let text = help(&["--help"]);
    for command in commands() {
        assert!(
            text.contains(&format!("\n  {command} ")),
            "{command} missing: {text}"
        );
    }
}

#[test]
fn the_man_page_names_every_command_and_option_the_help_names() {
    let man = man_page();
    for command in commands() {
        assert!(man.contains(command), "{command} is not in the man page");
        for option in options(&help(&[command, "--help"])) {
            assert!(
                man.contains(&option),
                "{command}'s help names {option}, the man page does not"
            );
        }
    }
}

#[test]
fn options_take_their_value_joined_or_apart() {
    let joined = help(&["engine-config", "--cver=4.6", "--current="]);
    let apart = help(&["engine-config", "--cver", "4.6", "--current", ""]);
    assert_eq!(joined, apart);
    assert!(joined.contains("--cver=4.6"), "{joined}");
}

#[test]
fn check_lists_every_property_the_engine_is_told_about() {
    let text = help(&["check", "--help"]);
    let declared = help(&["engine-config", "--current", ""]);
    let declaration = declared
        .lines()
        .find(|line| line.starts_with("engine-config"))
        .unwrap();
    let names: Vec<&str> = declaration
        .split(['\'', ';'])
        .filter_map(|part| part.split_once('=').map(|(name, _)| name))
        .filter(|name| !name.contains(' '))
        .collect();
    assert!(names.len() >= 7, "{names:?}");
    for name in names {
        assert!(
            text.contains(&format!("\n  {name} ")),
            "{name} missing: {text}"
        );
    }
}
