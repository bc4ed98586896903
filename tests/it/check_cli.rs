//! The two administrator commands as they are run: `check` (arguments and
//! environment, exit codes, one line per value) and `engine-config` (the
//! printed command, and its regexes against the README's examples). The
//! README's examples are run here too, so the documentation cannot drift.

use std::os::unix::ffi::OsStrExt;

use assert_cmd::Command;
use regex::Regex;
use vdsm_hook_largeguest::wording::quoted;

use crate::support::{documented_section, program, PROGRAM};

/// The properties the README's table gives examples of.
const PROPERTIES: [&str; 5] = [
    "cputune",
    "numatune",
    "guestnuma",
    "emulatorpin",
    "iothreadpin",
];

struct Run {
    code: i32,
    stdout: Vec<String>,
    stderr: Vec<String>,
}

fn execute(command: &mut Command) -> Run {
    let output = command.output().expect("runs");
    let lines = |bytes: &[u8]| {
        String::from_utf8(bytes.to_vec())
            .expect("UTF-8 output")
            .lines()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    Run {
        code: output.status.code().expect("exited"),
        stdout: lines(&output.stdout),
        stderr: lines(&output.stderr),
    }
}

fn check(args: &[&str]) -> Run {
    execute(program().arg("check").args(args))
}

/// What `check` says with every accepted cputune: it has no domain XML to
/// read the engine's policy from.
const CPUTUNE_NOTE: &str = "vdsm-hook-largeguest: note: cputune needs the VM's CPU Pinning \
    Policy set to Manual on the engine (Edit VM > Resource Allocation): under None VDSM moves \
    the vCPUs back to its shared pool once the VM runs, and under Dedicated or Isolate \
    Threads the hook refuses it";

/// Every error line names the program; `check` gives one per refused value.
fn assert_error_lines(run: &Run, count: usize) {
    assert_eq!(run.stderr.len(), count, "{:?}", run.stderr);
    for line in &run.stderr {
        assert!(line.starts_with(&format!("{PROGRAM}: ")), "{line}");
    }
}

#[test]
fn check_prints_canonical_values_and_exits_0() {
    let run = check(&[
        "cputune=0#0,1#1-3,^2,2#4",
        "numatune=1,0",
        "guestnuma=0-3#4194304#0,2_4-7#4G#1,3",
    ]);
    assert_eq!(run.code, 0);
    assert_eq!(
        run.stdout,
        [
            "cputune=0#0,1#1,3,2#4",
            "numatune=strict#0-1",
            "guestnuma=0-3#4G#0,2_4-7#4G#1,3"
        ]
    );
    assert_eq!(run.stderr, [CPUTUNE_NOTE]);
    let run = check(&["numatune=1,0"]);
    assert!(run.stderr.is_empty(), "{:?}", run.stderr);
}

#[test]
fn check_reports_each_refused_value_on_one_line_and_exits_2() {
    let run = check(&[
        "cputune=0#1-",
        "numatune=auto",
        "guestnuma=0#4G\n<x>\"'",
        "guestnuma=0,^0#1G",
    ]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stdout, ["numatune=strict#auto"]);
    assert_error_lines(&run, 3);
    assert_eq!(
        run.stderr,
        [
            "vdsm-hook-largeguest: cputune: expected a CPU number after '-' at column 5 in '0#1-'",
            "vdsm-hook-largeguest: guestnuma: expected ',' and the next cell or the end of the \
             value at column 5 in '0#4G\\n<x>\\u{22}\\''",
            "vdsm-hook-largeguest: guestnuma: the vCPU set '0,^0' is empty at column 1 in \
             '0,^0#1G'; a set needs at least one id",
        ]
    );
}

#[test]
fn check_refuses_an_overlong_value_in_one_short_line() {
    let value = format!("cputune=0#{}", "1,".repeat(40_000));
    let run = check(&[&value]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty());
    assert_error_lines(&run, 1);
    let line = &run.stderr[0];
    assert!(
        line.starts_with(
            "vdsm-hook-largeguest: cputune: the value is 80002 bytes long at column 1"
        ),
        "{line}"
    );
    assert!(line.ends_with("; the limit is 65536 bytes"), "{line}");
    assert!(line.len() < 300, "{line}");
}

#[test]
fn check_reads_the_environment_when_given_no_arguments() {
    let run = execute(
        program()
            .arg("check")
            .env("numatune", "interleave#0-3,^2")
            .env("cputune", "0#3-1"),
    );
    assert_eq!(run.code, 2);
    assert_eq!(run.stdout, ["numatune=interleave#0-1,3"]);
    assert_eq!(
        run.stderr,
        [
            "vdsm-hook-largeguest: cputune: range 3-1 is reversed at column 3 in '0#3-1'; \
          write it low to high, 1-3"
        ]
    );

    let count = execute(program().arg("check").env("guestnuma", "2"));
    assert_eq!(count.code, 0);
    assert_eq!(count.stdout, ["guestnuma=2"]);
}

#[test]
fn check_refuses_a_value_that_is_not_utf8_in_the_environment() {
    let value = std::ffi::OsStr::from_bytes(b"\xff0");
    let run = execute(program().arg("check").env("numatune", value));
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty());
    assert_eq!(
        run.stderr,
        ["vdsm-hook-largeguest: numatune: the value is not valid UTF-8 at column 1 in '\\u{fffd}0'"]
    );
}

#[test]
fn check_knows_the_ksm_property() {
    let run = check(&["ksm_merge_across_nodes=true", "ksm_merge_across_nodes=0"]);
    assert_eq!(run.code, 0);
    assert_eq!(
        run.stdout,
        ["ksm_merge_across_nodes=1", "ksm_merge_across_nodes=0"]
    );
    let run = check(&["ksm_merge_across_nodes=yes"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr[0].starts_with(
            "vdsm-hook-largeguest: ksm_merge_across_nodes: expected 0 (keep merged pages"
        ),
        "{:?}",
        run.stderr
    );
}

#[test]
fn check_with_nothing_to_check_says_so() {
    let run = check(&[]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.is_empty());
    assert_eq!(
        run.stderr,
        ["vdsm-hook-largeguest: none of cputune, numatune, guestnuma, emulatorpin, iothreadpin, pci_numa_affinity, ksm_merge_across_nodes is set; nothing to check"]
    );
}

#[test]
fn check_refuses_unknown_names_and_malformed_arguments() {
    let run = check(&["cputune=0#0", "foo=1"]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty(), "nothing is checked on a usage error");
    assert_eq!(
        run.stderr,
        ["vdsm-hook-largeguest: unknown property 'foo'; known: cputune, numatune, guestnuma, emulatorpin, iothreadpin, pci_numa_affinity, ksm_merge_across_nodes"]
    );

    let run = check(&["cputune"]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        ["vdsm-hook-largeguest: 'cputune' is not NAME=VALUE, e.g. cputune=0#2"]
    );
}

/// `0#0_1#1_...`, one pin per vCPU, the way the engine's own field reads.
fn one_to_one(pins: u32) -> String {
    (0..pins)
        .map(|i| format!("{i}#{i}"))
        .collect::<Vec<_>>()
        .join("_")
}

#[test]
fn check_refuses_values_the_engine_cannot_store() {
    // 526 pins: 3,987 characters, 3,995 with "cputune=": the engine stores it.
    let fits = one_to_one(526);
    let run = check(&[&format!("cputune={fits}")]);
    assert_eq!(run.code, 0, "{:?}", run.stderr);
    // 527 pins: 4,003 with the name. Each value is still printed, the set
    // is refused on a line of its own.
    let long = one_to_one(527);
    let run = check(&[&format!("cputune={long}")]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stdout, ["cputune=0-526@0-526"]);
    assert_eq!(
        run.stderr,
        [
            CPUTUNE_NOTE,
            "vdsm-hook-largeguest: these values take 4003 characters as the engine stores \
          them (NAME=VALUE joined by ';'), over the 4000 it keeps for all of a VM's custom \
          properties, other hooks' included; in the canonical form printed above, where \
          one-to-one pins are runs (A-B@SET), they take 19: set those"
        ]
    );
    // Together with others, each name, '=' and ';' counts.
    let run = check(&[&format!("cputune={fits}"), "numatune=0"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr[1].contains("these values take 4006 characters"),
        "{:?}",
        run.stderr
    );
    // From the environment, as the hook would see them.
    let run = execute(program().arg("check").env("cputune", &long));
    assert_eq!(run.code, 2);
    assert!(
        run.stderr[1].contains("take 4003 characters"),
        "{:?}",
        run.stderr
    );
}

// ---- engine-config ----

/// The `NAME=REGEX` declarations of the printed command, and its `--cver`.
fn declarations(stdout: &[String]) -> (Vec<(String, String)>, String) {
    let command = stdout
        .iter()
        .find(|line| line.starts_with("engine-config -s "))
        .expect("an engine-config line");
    let rest = command
        .strip_prefix("engine-config -s UserDefinedVMProperties='")
        .expect("sets UserDefinedVMProperties");
    let (setting, cver) = rest.split_once("' --cver=").expect("ends with --cver");
    let declarations = setting
        .split(';')
        .map(|declaration| {
            let (name, pattern) = declaration.split_once('=').expect("NAME=REGEX");
            (name.to_string(), pattern.to_string())
        })
        .collect();
    (declarations, cver.to_string())
}

fn engine_config(args: &[&str]) -> Run {
    execute(program().arg("engine-config").args(args))
}

#[test]
fn engine_config_prints_the_command_for_the_cluster_level() {
    for (args, level) in [
        (&["--current", ""][..], "4.8"),
        (&["--cver", "4.6", "--current", ""][..], "4.6"),
        (&["--cver=4.2", "--current="][..], "4.2"),
    ] {
        let run = engine_config(args);
        assert_eq!(run.code, 0, "{args:?}");
        assert!(run.stderr.is_empty());
        // Comment lines first, so the output can be pasted into a shell.
        let (last, comments) = run.stdout.split_last().expect("output");
        assert!(
            comments.iter().all(|line| line.starts_with("# ")),
            "{comments:?}"
        );
        assert!(last.starts_with("engine-config -s UserDefinedVMProperties='"));
        let (declared, cver) = declarations(&run.stdout);
        assert_eq!(cver, level);
        let names: Vec<&str> = declared.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "cputune",
                "numatune",
                "guestnuma",
                "emulatorpin",
                "iothreadpin",
                "pci_numa_affinity",
                "ksm_merge_across_nodes"
            ]
        );
        assert_eq!(
            declared[6].1.as_str(),
            "^(0|1|true|false)$",
            "ksm_merge_across_nodes"
        );
    }
}

/// What `engine-config -g UserDefinedVMProperties --cver=4.8` prints on an
/// engine where another hook declared two properties, and this one, upgraded
/// twice with `-m`, three generations of `cputune`.
const CURRENT: &str = "sap_agent=^(true|false)$;cputune=^old$;viodiskcache=^(none|writeback)$;\
                       cputune=^older$;numatune=^x$\n";

#[test]
fn engine_config_keeps_every_other_declaration() {
    let file = std::env::temp_dir().join(format!("engine-config-{}", std::process::id()));
    std::fs::write(&file, CURRENT).unwrap();
    let from_file = engine_config(&["--cver", "4.8", "--current-file", file.to_str().unwrap()]);
    std::fs::remove_file(&file).unwrap();
    let given = engine_config(&["--cver", "4.8", "--current", CURRENT.trim_end()]);
    let piped = execute(
        program()
            .args(["engine-config", "--current-file", "-"])
            .write_stdin(CURRENT),
    );
    for run in [&from_file, &given, &piped] {
        assert_eq!(run.code, 0, "{:?}", run.stderr);
        assert_eq!(run.stdout, from_file.stdout);
    }
    let (declared, _) = declarations(&given.stdout);
    let names: Vec<&str> = declared.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names[..2], ["sap_agent", "viodiskcache"]);
    assert_eq!(declared[0].1, "^(true|false)$");
    assert_eq!(declared[1].1, "^(none|writeback)$");
    assert_eq!(
        names[2..],
        [
            "cputune",
            "numatune",
            "guestnuma",
            "emulatorpin",
            "iothreadpin",
            "pci_numa_affinity",
            "ksm_merge_across_nodes"
        ]
    );
    assert!(!declared
        .iter()
        .any(|(_, regex)| regex.contains("old") || regex == "^x$"));
    assert!(given
        .stdout
        .contains(&"# 4.8: keeps sap_agent, viodiskcache".to_string()));
}

/// `engine-config -g UserDefinedVMProperties` without `--cver`: one line per
/// level, `KEY: VALUE version: X.Y` (EngineConfigLogic.printAllValuesForKey).
#[test]
fn engine_config_for_all_levels_reads_the_listing_of_every_level() {
    let listing = "UserDefinedVMProperties:  version: 4.2\n\
                   UserDefinedVMProperties: a=^1$ version: 4.7\n\
                   UserDefinedVMProperties: b=^2$;cputune=^old$ version: 4.8\n\
                   UserDefinedVMProperties: c=^3$ version: 4.1\n";
    let run = execute(
        program()
            .args(["engine-config", "--cver", "all", "--current-file", "-"])
            .write_stdin(listing),
    );
    assert_eq!(run.code, 0, "{:?}", run.stderr);
    let commands: Vec<&String> = run.stdout.iter().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(commands.len(), 3, "{:?}", run.stdout);
    for (command, (level, kept)) in
        commands
            .iter()
            .zip([("4.2", ""), ("4.7", "a=^1$;"), ("4.8", "b=^2$;")])
    {
        let prefix = format!("engine-config -s UserDefinedVMProperties='{kept}cputune=");
        assert!(command.starts_with(&prefix), "{command}");
        assert!(command.ends_with(&format!("' --cver={level}")), "{command}");
        assert!(!command.contains("old"));
    }
    assert!(run
        .stdout
        .contains(&"# 4.1: not a level engine 4.5 has, left as it is".to_string()));
    // One level from the same listing.
    let one = execute(
        program()
            .args(["engine-config", "--cver", "4.7", "--current-file", "-"])
            .write_stdin(listing),
    );
    assert_eq!(one.stdout.last(), Some(commands[1]));
    let missing = execute(
        program()
            .args(["engine-config", "--cver", "4.5", "--current-file", "-"])
            .write_stdin(listing),
    );
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr[0].contains("lists levels 4.2, 4.7, 4.8, 4.1 but not 4.5"),
        "{:?}",
        missing.stderr
    );
    // A single value cannot stand for every level.
    let single = engine_config(&["--cver", "all", "--current", ""]);
    assert_eq!(single.code, 2);
    assert!(single.stdout.is_empty());
}

/// A quote in another hook's regex stays one shell word.
#[test]
fn engine_config_quotes_other_regexes_for_the_shell() {
    let run = engine_config(&["--current", "q=^it's$"]);
    let last = run.stdout.last().unwrap();
    assert!(
        last.starts_with("engine-config -s UserDefinedVMProperties='q=^it'\\''s$;cputune="),
        "{last}"
    );
}

#[test]
fn engine_config_refuses_a_level_engine_4_5_lacks() {
    for level in [
        "4", "4.x", "", "4.7.1", "x.7", "4.7'", "4.1", "4.9", "5.0", "ALL",
    ] {
        let run = engine_config(&["--cver", level, "--current", ""]);
        assert_eq!(run.code, 2, "{level:?}");
        assert!(run.stdout.is_empty(), "{level:?}");
        assert_eq!(
            run.stderr,
            [format!(
                "vdsm-hook-largeguest: cluster level {} is not one engine 4.5 has: 4.2, 4.3, 4.4, 4.5, 4.6, 4.7, 4.8 or all",
                quoted(level)
            )]
        );
    }
    for (args, problem) in [
        (&["--cver"][..], "missing argument for option '--cver'"),
        (
            &["--cver", "4.7", "--current", "", "x"][..],
            "unexpected argument 'x'",
        ),
        (&["4.7"][..], "unexpected argument '4.7'"),
    ] {
        let run = engine_config(args);
        assert_eq!(run.code, 2, "{args:?}");
        assert_eq!(
            run.stderr,
            [format!("vdsm-hook-largeguest: {problem}; run 'vdsm-hook-largeguest engine-config --help' for its usage")]
        );
    }
}

/// Without the engine's current value it would clobber other hooks': it
/// says how to get the value instead.
#[test]
fn engine_config_without_the_current_value_says_how_to_get_it() {
    let run = engine_config(&["--cver", "4.8"]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr[0]
            .contains("run 'engine-config -g UserDefinedVMProperties --cver=4.8' on the engine"),
        "{:?}",
        run.stderr
    );
}

// ---- the README's examples ----

/// The `## Property grammars` section of the documentation.
fn readme_section() -> String {
    documented_section("Property grammars")
}

/// `(property, value, canonical)` from the rows of the section's tables
/// under each property's heading.
fn table_examples() -> Vec<(String, String, String)> {
    let row = Regex::new(r"^\| `([^`]+)` +\| `([^`]+)` +\|").unwrap();
    let mut property = None;
    let mut examples = Vec::new();
    for line in readme_section().lines() {
        if let Some(heading) = line.strip_prefix("### `") {
            property = heading.split('`').next().map(str::to_string);
        } else if line.starts_with("### ") {
            property = None;
        }
        if let (Some(property), Some(row)) = (&property, row.captures(line)) {
            examples.push((property.clone(), row[1].to_string(), row[2].to_string()));
        }
    }
    examples
}

/// Whether the regexes take them is for tests/regex_agreement.rs, which
/// runs the examples in Java and JavaScript.
#[test]
fn readme_table_examples_print_their_canonical_form() {
    let examples = table_examples();
    for property in PROPERTIES {
        let count = examples.iter().filter(|(p, _, _)| p == property).count();
        assert!(count >= 3, "{property}: {count} examples in the README");
    }
    for (property, value, canonical) in examples {
        let run = check(&[&format!("{property}={value}")]);
        assert_eq!(run.code, 0, "{property}={value}: {:?}", run.stderr);
        assert_eq!(run.stdout, [format!("{property}={canonical}")]);
    }
}

#[test]
fn readme_error_examples_are_what_check_prints() {
    let section = readme_section();
    let block = section
        .split("```text\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a text block of error examples");
    let line = Regex::new(r"^(\w+): .* in '([^'\\]*)'(; .*)?$").unwrap();
    for message in block.lines() {
        let parts = line.captures(message).expect("PROPERTY: ... in 'VALUE'");
        let (property, value) = (&parts[1], &parts[2]);
        let run = check(&[&format!("{property}={value}")]);
        assert_eq!(run.code, 2);
        assert_eq!(run.stderr, [format!("{PROGRAM}: {message}")]);
    }
}

/// Splits a console line the way the shell would for the README's
/// examples: words, `'...'` quoting, leading `NAME=VALUE` assignments.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '\'' => quoted = !quoted,
            ' ' if !quoted => words.push(std::mem::take(&mut word)),
            _ => word.push(c),
        }
    }
    words.push(word);
    words.retain(|word| !word.is_empty());
    words
}

#[test]
fn readme_console_sessions_of_check_are_what_it_prints() {
    let section = readme_section();
    let mut sessions = 0;
    for block in section.split("```console\n").skip(1) {
        let block = block.split("```").next().unwrap_or_default();
        for session in block.split("$ ").filter(|s| !s.is_empty()) {
            let mut lines = session.lines();
            let words = shell_words(lines.next().unwrap_or_default());
            let at = words
                .iter()
                .position(|w| w == PROGRAM)
                .expect("runs the program");
            if words.get(at + 1).map(String::as_str) != Some("check") {
                continue;
            }
            let mut command = program();
            for assignment in &words[..at] {
                let (name, value) = assignment.split_once('=').expect("NAME=VALUE");
                command.env(name, value);
            }
            let ran = execute(command.args(&words[at + 1..]));
            let (stderr, stdout): (Vec<String>, Vec<String>) = lines
                .map(str::to_string)
                .partition(|line| line.starts_with(&format!("{PROGRAM}: ")));
            assert_eq!(ran.stdout, stdout, "{session}");
            assert_eq!(ran.stderr, stderr, "{session}");
            let note = format!("{PROGRAM}: note: ");
            let refused = stderr.iter().any(|line| !line.starts_with(&note));
            assert_eq!(ran.code, if refused { 2 } else { 0 }, "{session}");
            sessions += 1;
        }
    }
    assert!(sessions >= 3, "{sessions} check sessions in the README");
}

#[test]
fn readme_engine_config_example_shows_the_real_command_shape() {
    let section = readme_section();
    let run = engine_config(&["--cver", "4.8", "--current", ""]);
    let first = run.stdout.first().expect("output");
    assert!(section.contains(first.as_str()), "README lacks {first:?}");
    let ksm = "ksm_merge_across_nodes=^(0|1|true|false)$' --cver=4.8";
    assert!(run.stdout.last().unwrap().ends_with(ksm));
    assert!(section.contains(ksm));
}
