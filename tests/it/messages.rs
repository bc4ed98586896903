//! Every message the program prints reads cleanly inside the engine's
//! `Hook Error: (b'...',)`: one line of ASCII, quoting with `'` only, and
//! never a `"`, so Python's bytes repr neither escapes a quote nor turns a
//! character into `\xNN`. Untrusted text inside a message is escaped, so a
//! value holding quotes cannot bring the other kind in.

use std::fs;

use crate::support::{program, strategies, TempDir, PROGRAM};
use assert_cmd::Command;
use proptest::prelude::*;
use vdsm_hook_largeguest::properties::problem::PropertyError;
use vdsm_hook_largeguest::properties::{
    affinity, cputune, emulatorpin, guestnuma, iothreadpin, numatune, switch,
};
use vdsm_hook_largeguest::wording::{is_clean_message, quoted};

/// The text [`quoted`] quoted, read back: `None` when a `'` inside ends the
/// quoting early or an escape is not one [`quoted`] writes.
fn unquote(shown: &str) -> Option<String> {
    let inner = shown.strip_prefix('\'')?.strip_suffix('\'')?;
    let mut text = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => return None,
            '\\' => match chars.next()? {
                '\\' => text.push('\\'),
                '\'' => text.push('\''),
                'n' => text.push('\n'),
                'r' => text.push('\r'),
                't' => text.push('\t'),
                'u' => {
                    let rest = chars.as_str().strip_prefix('{')?;
                    let (hex, after) = rest.split_once('}')?;
                    text.push(char::from_u32(u32::from_str_radix(hex, 16).ok()?)?);
                    chars = after.chars();
                }
                _ => return None,
            },
            c => text.push(c),
        }
    }
    Some(text)
}

fn assert_clean(message: &str) {
    assert!(
        is_clean_message(message),
        "not one line of ASCII with only single quotes: {message:?}"
    );
}

fn refusal_is_clean<T>(parsed: Result<T, PropertyError>) {
    if let Err(err) = parsed {
        assert_clean(&err.to_string());
    }
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 2000,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// Any text at all comes out clean, and reads back as itself: the
    /// quoting cannot be ended early nor two texts shown alike.
    #[test]
    fn quoting_is_clean_and_reversible(text in any::<String>()) {
        let shown = quoted(&text).to_string();
        assert_clean(&shown);
        prop_assert_eq!(unquote(&shown), Some(text));
    }

    #[test]
    fn quoting_reversible_on_quotes_and_escapes(
        text in prop::collection::vec(prop::sample::select(&['\'', '"', '\\', 'u', '{', '}', '1', 'n', '\n'][..]), 0..12)
    ) {
        let text: String = text.into_iter().collect();
        let shown = quoted(&text).to_string();
        assert_clean(&shown);
        prop_assert_eq!(unquote(&shown), Some(text));
    }

    #[test]
    fn cputune_refusals_are_clean(value in strategies::any_input(strategies::cputune())) {
        refusal_is_clean(cputune::parse(&value));
    }

    #[test]
    fn numatune_refusals_are_clean(value in strategies::any_input(strategies::numatune())) {
        refusal_is_clean(numatune::parse(&value));
    }

    #[test]
    fn guestnuma_refusals_are_clean(value in strategies::any_input(strategies::guestnuma())) {
        refusal_is_clean(guestnuma::parse(&value));
    }

    #[test]
    fn emulatorpin_refusals_are_clean(value in strategies::any_input(strategies::set())) {
        refusal_is_clean(emulatorpin::parse(&value));
    }

    #[test]
    fn iothreadpin_refusals_are_clean(value in strategies::any_input(strategies::cputune())) {
        refusal_is_clean(iothreadpin::parse(&value));
    }

    #[test]
    fn switch_refusals_are_clean(value in strategies::alphabet_soup()) {
        refusal_is_clean(switch::parse("ksm_merge_across_nodes", &value));
        refusal_is_clean(affinity::parse(&value));
    }
}

/// Every refusal, warning and summary of the rewrite's snapshot cases.
#[test]
fn every_snapshot_case_says_it_cleanly() {
    let mut refusals = 0;
    for case in crate::support::samples::CASES {
        let text = crate::support::samples::sample(case.sample);
        match crate::support::samples::run(&text, case.properties) {
            Ok(outcome) => {
                assert_clean(&outcome.summary);
                for warning in &outcome.warnings {
                    assert_clean(&warning.to_string());
                }
            }
            Err(err) => {
                assert_clean(&err.to_string());
                refusals += 1;
            }
        }
    }
    assert!(refusals >= 10, "{refusals} refusals among the cases");
}

/// A folder whose name holds both quotes and a non-ASCII letter, for the
/// messages that name a path.
fn hostile_folder() -> TempDir {
    TempDir::new("it's \"é\"")
}

/// Runs `command` and checks every line it wrote on stderr; returns them.
fn stderr_lines(command: &mut Command) -> Vec<String> {
    let out = command.output().unwrap();
    let stderr = String::from_utf8(out.stderr).expect("stderr is UTF-8");
    let lines: Vec<String> = stderr.lines().map(str::to_string).collect();
    for line in &lines {
        assert!(line.starts_with(&format!("{PROGRAM}: ")), "{line}");
        // A debug build stops on a message that is not clean: the guard
        // before stderr must not be what makes these pass.
        assert!(!line.contains("internal error"), "{line}");
        assert_clean(line);
    }
    assert_ne!(out.status.code(), Some(101), "panicked: {lines:?}");
    lines
}

/// Arguments holding both quotes, a backslash and a non-ASCII letter, in
/// every place each command reads one.
#[test]
fn usage_errors_with_hostile_arguments_are_clean() {
    let hostile = "x'\"\\é";
    let cases: Vec<Vec<String>> = [
        vec!["check", &format!("cputune=0#{hostile}")],
        vec!["check", &format!("numatune={hostile}")],
        vec!["check", &format!("guestnuma=0#{hostile}")],
        vec!["check", &format!("ksm_merge_across_nodes={hostile}")],
        vec!["check", &format!("emulatorpin={hostile}")],
        vec!["check", &format!("iothreadpin=1#{hostile}")],
        vec!["check", &format!("pci_numa_affinity={hostile}")],
        vec!["verify", hostile],
        vec!["verify", "x", hostile],
        vec![
            "suggest",
            "--vcpus",
            "2",
            "--memory",
            "1G",
            "--hugepages",
            hostile,
        ],
        vec![
            "suggest", "--vcpus", "2", "--memory", "1G", "--device", hostile,
        ],
        vec!["check", &format!("{hostile}=1")],
        vec!["check", hostile],
        vec!["check", &format!("--{hostile}")],
        vec!["apply", "--domxml", hostile, "cputune=0#0"],
        vec!["apply", &format!("--{hostile}")],
        vec!["apply", "--domxml", "x", hostile],
        vec!["engine-config", "--cver", hostile, "--current", ""],
        vec!["engine-config", "--current-file", hostile],
        vec!["engine-config", hostile],
        vec!["ksm", "set", hostile],
        vec!["ksm", "set", "0", "--timeout", hostile],
        vec!["ksm", hostile],
        vec!["ksm-switch", hostile],
        vec!["topology", hostile],
        vec!["suggest", "--vcpus", hostile, "--memory", "1G"],
        vec!["suggest", "--vcpus", "2", "--memory", hostile],
        vec![
            "suggest", "--vcpus", "2", "--memory", "1G", "--mode", hostile,
        ],
        vec![
            "suggest",
            "--vcpus",
            "2",
            "--memory",
            "1G",
            "--reserve",
            hostile,
        ],
        vec!["suggest", &format!("--{hostile}")],
        vec!["hook", hostile],
        vec![hostile],
        vec![&format!("--{hostile}")],
    ]
    .iter()
    .map(|args| args.iter().map(|a| a.to_string()).collect())
    .collect();
    for args in cases {
        let lines = stderr_lines(program().args(&args));
        assert!(!lines.is_empty(), "{args:?} printed no error");
    }
}

/// Paths come from the test variables and `_hook_domxml`: a hostile one
/// is escaped like a value.
#[test]
fn hostile_paths_in_messages_are_clean() {
    let dir = hostile_folder();
    let missing = dir.0.join("missing");
    for args in [
        &["topology"][..],
        &["ksm", "status"],
        &["suggest", "--vcpus", "2", "--memory", "1G"],
    ] {
        let lines = stderr_lines(program().args(args).env("LARGEGUEST_SYSFS_ROOT", &missing));
        assert!(!lines.is_empty(), "{args:?}");
    }
    let lines = stderr_lines(
        program()
            .args(["verify", "vm's \"x\""])
            .env("LARGEGUEST_RUN_ROOT", &missing)
            .env("LARGEGUEST_PROCFS_ROOT", &missing),
    );
    assert_eq!(lines.len(), 1, "{lines:?}");
    let lines = stderr_lines(
        program()
            .args(["hook", "ksm"])
            .env("LARGEGUEST_SYSFS_ROOT", &missing)
            .env("LARGEGUEST_MOM_CONF", &missing)
            .env("ksm_merge_across_nodes", "0"),
    );
    assert_eq!(lines.len(), 1, "{lines:?}");
    // A MoM configuration that cannot be read, and one whose policy folder
    // cannot be listed.
    let conf = dir.0.join("mom's \"conf\"");
    fs::write(
        &conf,
        format!("[main]\ncontrollers: KSM\npolicy-dir: {}\n", conf.display()),
    )
    .unwrap();
    for mom_conf in [&dir.0, &conf] {
        let lines = stderr_lines(
            program()
                .args(["hook", "ksm"])
                .env("LARGEGUEST_MOM_CONF", mom_conf)
                .env("ksm_merge_across_nodes", "0"),
        );
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].contains("cannot tell whether MoM manages KSM"),
            "{lines:?}"
        );
    }

    let domxml = dir.0.join("vm's \"domain\".xml");
    fs::write(
        &domxml,
        "<domain><vcpu>2</vcpu><memory>1048576</memory></domain>",
    )
    .unwrap();
    // The host checks are skipped with a warning naming the tree, then the
    // rewrite goes on.
    let lines = stderr_lines(
        program()
            .args(["hook", "before_vm_start"])
            .env("LARGEGUEST_SYSFS_ROOT", &missing)
            .env("_hook_domxml", &domxml)
            .env("cputune", "0#0"),
    );
    assert!(lines.len() >= 2, "{lines:?}");
    for path in [missing.clone(), dir.0.clone()] {
        let lines = stderr_lines(
            program()
                .args(["hook", "before_vm_start"])
                .env("_hook_domxml", &path)
                .env("cputune", "0#0"),
        );
        assert_eq!(lines.len(), 1, "{lines:?}");
    }
}

/// A domain XML's own text reaches messages: bad values, names, and the
/// parser's description of where the document breaks.
#[test]
fn hostile_documents_are_described_cleanly() {
    let dir = hostile_folder();
    let domxml = dir.0.join("domain.xml");
    for document in [
        "<domain><vcpu>\"four'é</vcpu></domain>",
        "<domain><vcpu>2</vcpu><memory unit='\"'>1</memory></domain>",
        "<domaine/>",
        "<domain xmlns='it&apos;s \"x\"'/>",
        "<domain a=\"'/>",
        "<domain><vcpu>2</vcpu></domain\u{e9}>",
        "<domain>\"'\u{1b}",
    ] {
        fs::write(&domxml, document).unwrap();
        let lines = stderr_lines(
            program()
                .args(["hook", "before_vm_start"])
                .env("_hook_domxml", &domxml)
                .env("cputune", "0#0"),
        );
        assert_eq!(lines.len(), 1, "{document}: {lines:?}");
    }
}
