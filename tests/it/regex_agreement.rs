//! The engine's regexes and the hook's parsers must agree on what is well
//! formed: a regex looser than the parser lets typos reach the hook, a
//! stricter one refuses good values in the engine's VM dialog.
//!
//! The engine runs each regex in two languages, so they are tested in both,
//! not in Rust: the VM dialog's JavaScript (`new RegExp(pattern)`, then
//! `test`, with node) and the backend's java.util.regex (`String.matches`,
//! interpreted, on a 1 MiB stack, as a freshly started engine runs it). The
//! values are the chosen ones below, the README's examples, thousands from
//! the property-test generators, and values of up to the engine's 4,000
//! characters; each is expected to pass exactly when the parser finds it
//! well formed.

use std::path::PathBuf;
use std::process::Command;

use crate::support::{documented_section, strategies};
use proptest::strategy::{BoxedStrategy, Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use vdsm_hook_largeguest::properties::{Property, ENGINE_STORAGE_LIMIT};

/// Every property's name and engine regex, from the registry.
fn declarations() -> Vec<(&'static str, String)> {
    Property::ALL
        .into_iter()
        .map(|property| (property.name(), property.engine_regex()))
        .collect()
}

/// True when the parser finds the value well formed, even if it refuses
/// its meaning (a reversed range, a vCPU twice...), which no regex can see.
fn well_formed(property: &str, value: &str) -> bool {
    let property = Property::from_name(property).expect("a property of the registry");
    property
        .parse(value)
        .map_or_else(|err| !err.problem.is_syntax(), |_| true)
}

/// Values a generator might miss: each separator's edge, units, the cases
/// where `,` and `_` change how a comma is read, and line breaks, which
/// Java's `$` would match before.
const CHOSEN: &[(&str, &[&str])] = &[
    (
        "cputune",
        &[
            "0#0,1#1-3,^2,2#4",
            "0#0_1#1-3,^2",
            "0#0,1_1#2",
            "0-3#0-7",
            "0#1,2-3#4",
            "0#1,2-3-4#5",
            "0#1,,1#2",
            "0#1_,1#2",
            "0#1__1#2",
            "_0#1",
            "0#1_",
            "0#^1-2",
            "0#1-^2",
            "0#-1",
            "0##1",
            "#1",
            "0-#1",
            "0#1\n",
            "0#1\r\n",
            "0#1\u{2028}",
            "0#1 ",
            " 0#1",
            "",
            "0-3@4-7",
            "0-3@0-1:4-5",
            "0-3@0,1:2,3,4#9",
            "0#1,2@3",
            "0@1,2-3@4:5",
            "0@1_1@2,3",
            "0-1@^1",
            "0@1:",
            "0@:1",
            "0@1::2",
            "0@1#2",
            "0#1:2",
            "0#1@2",
            "0@@1",
            "@1",
            "0-@1",
            "0@",
            "0:1",
            "0-383@0-191",
            "0-7@0-3:8-10",
            // ',' form, where ':' is allowed only inside an '@' entry.
            "0@1,2:3",
            "0#1,2:3",
            "0@1,2#3,4:5",
            "0@1,2#3,4",
            "0#1,2@3:4,5",
            "0@1,2:3,4#5",
            "0@1:2@3",
            "0#1,^2@3",
            "0@1,^2:3",
            "0#1,2@3,4#5,6@7:8",
            "0#1,2,",
            "0@1:2,",
            "0@1,2:3:4,5:6",
            "0@1,2:3_4#5",
            "0#1,2_3@4:5",
            "0#1_2@3,4:5",
            "0@1_2#3:4",
            "0#1,2#3_4#5",
            "0#1;1#2",
            "0#1=",
            "0#\u{663}",
        ],
    ),
    (
        "numatune",
        &[
            "auto",
            "strict#auto",
            "preferred#0-3",
            "0",
            "^0,0",
            "strict",
            "strict#",
            "strictauto",
            "autostrict#0",
            "auto#0",
            "auto,0",
            "0,auto",
            "strict#auto#0",
            "interleave#0_1",
            "restrictive#0-",
            "Strict#0",
            "#0",
            "",
            "auto\n",
            "0\n",
            "0,1\n",
            "strict#0-1-2",
            "strict#^1-2",
        ],
    ),
    (
        "guestnuma",
        &[
            "2",
            "0",
            "0-3,8-11#4G,4-7,12-15#4G",
            "0-3#4G#0,2_4-7#4G#1,3",
            "0-3#4G#0,2",
            "0-3#4G#0,2,4-7#4G#1",
            "0#4G#0,1#4G#2,3",
            "0#4G#0-1,1#4G#2",
            "0#4G_1#4G",
            "0#4G_1",
            "0#4G,1",
            "0#4G#^1",
            "0#4G#0,^1",
            "0#4G,1#4G#^1",
            "0#4Gi",
            "0#4GiB",
            "0#4KB",
            "0#4G5",
            "0#G",
            "0#4G#",
            "0#4G##1",
            "0_1",
            "1_",
            "0#4G_",
            "",
            "2\n",
            "0#4G\n",
            "0#4G#1-2",
            "0#1-2",
            "0,1#4G#1#2",
            "0#4G#1,2#4G",
            "0,1_2#4G",
            "0#4G#0_1,2#4G#1",
            "0#4G#0,1_2#4G",
            "0#4KiB,1#4T#3",
        ],
    ),
    (
        "emulatorpin",
        &[
            "0", "0-1", "0,48", "0-3,^2", "^0", "0-", "0#1", "0,", ",0", "0 1", "", "0\n", "0-1-2",
            "^1-2",
        ],
    ),
    (
        "iothreadpin",
        &[
            "1#0",
            "0#0",
            "1#0,2#1",
            "1#0_2#1",
            "1-2#0-3,^1",
            "1#0,1",
            "1",
            "1#",
            "#0",
            "1#0__2#1",
            "",
            "1#0,2#1_3#4",
            "1#0_2#1,3",
            "1#0\n",
            "1#0:1",
            "1@0",
        ],
    ),
    (
        "pci_numa_affinity",
        &[
            "required",
            "preferred",
            "legacy",
            "Required",
            "",
            "required ",
            "required\n",
            "(required|preferred)",
        ],
    ),
    (
        "ksm_merge_across_nodes",
        &[
            "0", "1", "true", "false", "", "2", "01", "True", "yes", "true\n", " 1", "0|1",
        ],
    ),
];

/// `(property, value)` from the README's property grammars: each table
/// row's value and canonical form, and the values of its error examples.
fn readme_examples() -> Vec<(String, String)> {
    let section = documented_section("Property grammars");
    let mut property = None;
    let mut examples = Vec::new();
    for line in section.lines() {
        if let Some(heading) = line.strip_prefix("### `") {
            property = heading.split('`').next().map(str::to_string);
        } else if line.starts_with("### ") {
            property = None;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if let (Some(property), [_, value, canonical, ..]) = (&property, &cells[..]) {
            for cell in [value, canonical] {
                if let Some(text) = cell.strip_prefix('`').and_then(|c| c.strip_suffix('`')) {
                    examples.push((property.clone(), text.to_string()));
                }
            }
        }
    }
    let errors = section
        .split("```text\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next());
    for message in errors.expect("a text block of error examples").lines() {
        let property = message.split(':').next().unwrap_or_default();
        let value = message
            .split(" in '")
            .nth(1)
            .and_then(|rest| rest.split('\'').next());
        examples.push((
            property.to_string(),
            value.expect("... in 'VALUE'").to_string(),
        ));
    }
    examples
}

/// Values from the property-test generators, the same on every run.
fn generated() -> Vec<(&'static str, String)> {
    let generators: [(&str, BoxedStrategy<String>); 5] = [
        ("cputune", strategies::any_input(strategies::cputune())),
        ("numatune", strategies::any_input(strategies::numatune())),
        ("guestnuma", strategies::any_input(strategies::guestnuma())),
        ("emulatorpin", strategies::any_input(strategies::set())),
        // I/O thread pins are written as vCPU pins are.
        ("iothreadpin", strategies::any_input(strategies::cputune())),
    ];
    let mut runner = TestRunner::deterministic();
    let mut values = Vec::new();
    for (property, generator) in generators {
        for _ in 0..3000 {
            let tree = generator.new_tree(&mut runner).expect("a value");
            values.push((property, tree.current()));
        }
    }
    values
}

/// `head` then `unit(i)` for i = 0, 1, ... joined by `separator`, as long
/// as the value stays within `limit` characters.
fn repeated(head: &str, separator: &str, limit: usize, unit: impl Fn(usize) -> String) -> String {
    let mut value = head.to_string();
    for i in 0.. {
        let next = format!("{}{}", if i == 0 { "" } else { separator }, unit(i));
        if value.len() + next.len() > limit {
            break;
        }
        value += &next;
    }
    value
}

/// Values as long as the engine stores (its 4,000 characters hold the
/// property's name and `=` too, so a value is a few shorter), of every
/// repetitive shape, with a broken end too, which each engine must read to
/// the last character to refuse.
fn long_values() -> Vec<(&'static str, String)> {
    let limit = ENGINE_STORAGE_LIMIT - "guestnuma=".len();
    let shapes: Vec<(&str, String)> = vec![
        ("cputune", repeated("", "_", limit, |i| format!("{i}#{i}"))),
        ("cputune", repeated("", ",", limit, |i| format!("{i}#{i}"))),
        (
            "cputune",
            repeated("0#", ",", limit, |i| (2 * i).to_string()),
        ),
        ("cputune", repeated("", ",", limit, |i| format!("{i}@{i}"))),
        ("cputune", repeated("", "_", limit, |i| format!("{i}@{i}"))),
        (
            "cputune",
            repeated("", ",", limit, |i| format!("{i}{}{i}", ["#", "@"][i % 2])),
        ),
        (
            "cputune",
            repeated("0-1999@", ":", limit, |i| i.to_string()),
        ),
        (
            "cputune",
            repeated("0-1999@", ",", limit, |i| i.to_string()),
        ),
        (
            "cputune",
            repeated("0-1999@0", ",", limit, |i| format!("{i}:{i}")),
        ),
        (
            "emulatorpin",
            repeated("", ",", limit, |i| (2 * i).to_string()),
        ),
        (
            "iothreadpin",
            repeated("", "_", limit, |i| format!("{}#{i}", i + 1)),
        ),
        (
            "iothreadpin",
            repeated("", ",", limit, |i| format!("{}#{i}", i + 1)),
        ),
        (
            "iothreadpin",
            repeated("1#0", ",", limit, |i| format!("^{i}")),
        ),
        (
            "numatune",
            repeated("strict#", ",", limit, |i| (2 * i).to_string()),
        ),
        (
            "numatune",
            repeated("interleave#0-16383", ",", limit, |i| {
                format!("^{}", 2 * i + 1)
            }),
        ),
        ("guestnuma", repeated("", "_", limit, |i| format!("{i}#1G"))),
        ("guestnuma", repeated("", ",", limit, |i| format!("{i}#1G"))),
        (
            "guestnuma",
            repeated("", ",", limit, |i| format!("{i}#1G#{i}")),
        ),
        (
            "guestnuma",
            repeated("", "_", limit, |i| format!("{i}#1G#{i},{}", i + 1)),
        ),
        (
            "guestnuma",
            repeated("", ",", limit - 3, |i| (2 * i).to_string()) + "#1G",
        ),
        (
            "guestnuma",
            repeated("0#1G#", ",", limit, |i| (2 * i).to_string()),
        ),
    ];
    let mut values = Vec::new();
    for (property, value) in shapes {
        for broken in ["", ",", "_", "#", ":", "x", "\n"] {
            values.push((
                property,
                format!("{}{broken}", &value[..value.len() - broken.len()]),
            ));
        }
        values.push((property, format!("x{}", &value[1..])));
    }
    values
}

/// Every value the tests use, with what the parser says of it.
fn corpus() -> Vec<(&'static str, String, bool)> {
    let chosen = CHOSEN
        .iter()
        .flat_map(|(property, values)| values.iter().map(|value| (*property, value.to_string())));
    let readme = readme_examples().into_iter().map(|(property, value)| {
        let property = Property::from_name(&property).expect("a README heading names a property");
        (property.name(), value)
    });
    // Each registry entry's example, which `check --help` shows.
    let examples = Property::ALL.map(|p| (p.name(), p.definition().example.to_string()));
    chosen
        .chain(examples)
        .chain(readme)
        .chain(generated())
        .chain(long_values())
        .map(|(property, value)| {
            let accepted = well_formed(property, &value);
            (property, value, accepted)
        })
        .collect()
}

/// A folder of this test's own, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let dir = std::env::temp_dir().join(format!("regex-engines-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch folder");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Runs one engine over the declarations and the corpus; its report.
fn run_engine(program: &str, args: &[&str], scratch: &Scratch) -> (bool, String) {
    let regexes = scratch.0.join("regexes");
    let corpus_file = scratch.0.join("corpus");
    let mut command = Command::new(program);
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .arg(&regexes)
        .arg(&corpus_file);
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let report = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), report)
}

#[test]
#[ignore = "needs java and node: tests/engine-regex/run.sh installs them and runs this"]
fn regexes_agree_with_the_parser_in_java_and_in_the_browser() {
    let scratch = Scratch::new();
    let declared: Vec<String> = declarations()
        .into_iter()
        .map(|(name, regex)| format!("{name}={regex}\n"))
        .collect();
    std::fs::write(scratch.0.join("regexes"), declared.concat()).expect("regexes");
    let lines: Vec<String> = corpus()
        .iter()
        .map(|(property, value, accepted)| {
            let expected = if *accepted { "accept" } else { "refuse" };
            format!("{property}\t{expected}\t{}\n", hex(value))
        })
        .collect();
    std::fs::write(scratch.0.join("corpus"), lines.concat()).expect("corpus");

    let java = [
        "-Xint",
        "-Xss1m",
        "tests/engine-regex/RegexDepth.java",
        "corpus",
    ];
    let (java_ok, java_report) = run_engine("java", &java, &scratch);
    let (node_ok, node_report) = run_engine("node", &["tests/engine-regex/dialog.js"], &scratch);
    eprintln!("{java_report}{node_report}");
    assert!(
        java_ok,
        "java.util.regex and the parser disagree:\n{java_report}"
    );
    assert!(
        node_ok,
        "the VM dialog and the parser disagree:\n{node_report}"
    );
    // Only the two properties of a few fixed words are drop-down lists.
    let drop_downs: Vec<&str> = node_report
        .lines()
        .filter(|line| line.starts_with("drop-down "))
        .collect();
    assert_eq!(
        drop_downs,
        [
            "drop-down pci_numa_affinity: required preferred",
            "drop-down ksm_merge_across_nodes: 0 1 true false",
        ]
    );
}

/// The corpus holds what the engine test above needs to mean something:
/// accepted and refused values of every property, and accepted ones as
/// long as the engine stores; each registry example is among the accepted.
#[test]
fn corpus_holds_long_and_refused_values_of_every_property() {
    let corpus = corpus();
    for property in Property::ALL {
        let example = property.definition().example;
        let found = corpus
            .iter()
            .find(|c| c.0 == property.name() && c.1 == example);
        assert_eq!(
            found.map(|c| c.2),
            Some(true),
            "{}={example}",
            property.name()
        );
    }
    for property in Property::ALL.map(Property::name) {
        let of = |accepted: bool| {
            corpus
                .iter()
                .filter(move |c| c.0 == property && c.2 == accepted)
        };
        assert!(of(true).count() >= 2, "{property}: accepted values");
        assert!(of(false).count() >= 4, "{property}: refused values");
        let long = of(true).map(|c| c.1.len()).max().unwrap_or(0);
        let short_property = ["pci_numa_affinity", "ksm_merge_across_nodes"].contains(&property);
        assert!(
            short_property || long > 3900,
            "{property}: longest accepted value {long}"
        );
    }
}

/// Reads the same in java.util.regex and JavaScript: `(?:`, `(?=`, `(?!`,
/// classes of ASCII characters, `\^`, `|`, `?`, `*`, `+`, literal letters,
/// digits, `#`, `@`, `:`, `,`, `-`, `_`, one leading `^` and one trailing `$`.
/// No possessive quantifier, atomic group, lookbehind, named group, flag,
/// `\p{..}` or counted repetition; nothing the engine's `;`-separated
/// setting or the single-quoted shell command would split on.
#[test]
fn regexes_use_only_syntax_common_to_java_and_javascript() {
    for (name, pattern) in declarations() {
        let body = pattern
            .strip_prefix('^')
            .and_then(|p| p.strip_suffix('$'))
            .unwrap_or_else(|| panic!("{name}: not anchored at both ends: {pattern}"));
        for possessive in ["*+", "++", "?+"] {
            assert!(
                !body.contains(possessive),
                "{name}: {possessive} in {pattern}"
            );
        }
        let groups = ["(?:", "(?=", "(?!"];
        let special = body.matches("(?").count();
        let allowed: usize = groups.iter().map(|g| body.matches(g).count()).sum();
        assert_eq!(
            special, allowed,
            "{name}: a group kind JavaScript reads otherwise: {pattern}"
        );
        let mut rest = body.to_string();
        for group in groups {
            rest = rest.replace(group, "(");
        }
        let rest = rest.replace("\\^", "");
        // Classes: what is between '[' and ']' is ASCII, with no escape.
        let mut outside = String::new();
        let mut class = None::<String>;
        for c in rest.chars() {
            match (&mut class, c) {
                (None, '[') => class = Some(String::new()),
                (Some(inside), ']') if !inside.is_empty() && inside != "^" => {
                    let ok = inside
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "#@:,_^-".contains(c));
                    assert!(ok, "{name}: class [{inside}] in {pattern}");
                    class = None;
                }
                (Some(inside), c) => inside.push(c),
                (None, c) => outside.push(c),
            }
        }
        assert!(class.is_none(), "{name}: unclosed class in {pattern}");
        for c in outside.chars() {
            let ok = c.is_ascii_alphanumeric() || "#@:,-_()|?*+".contains(c);
            assert!(ok, "{name}: {c:?} outside the common syntax in {pattern}");
        }
        assert!(!pattern.contains(';') && !pattern.contains('\''), "{name}");
    }
}

/// java.util.regex repeats a single character class, or a group that
/// always matches one character, in a loop; any other repeated group
/// recurses once per repetition and overflows a fresh engine's stack on
/// long values. So every `*` and `+` follows a class, a literal, or a group
/// of the form `(?:(?=...)[...])`.
#[test]
fn every_repetition_is_a_loop_in_java() {
    for (name, pattern) in declarations() {
        let chars: Vec<char> = pattern.chars().collect();
        let mut opened = Vec::new();
        let mut in_class = false;
        for (at, &c) in chars.iter().enumerate() {
            let escaped = at > 0 && chars[at - 1] == '\\';
            match c {
                _ if escaped => {}
                '[' if !in_class => in_class = true,
                ']' if in_class => in_class = false,
                _ if in_class => {}
                '(' => opened.push(at),
                ')' => {
                    let start = opened.pop().expect("balanced");
                    let repeated = matches!(chars.get(at + 1), Some('*' | '+'));
                    let group: String = chars[start..=at].iter().collect();
                    assert!(
                        !repeated || one_character(&group),
                        "{name}: {group} repeated in {pattern}"
                    );
                }
                _ => {}
            }
        }
    }
}

/// `(?:(?=...)[...])`: a lookahead, then one class.
fn one_character(group: &str) -> bool {
    let Some(inner) = group
        .strip_prefix("(?:(?=")
        .and_then(|g| g.strip_suffix("])"))
    else {
        return false;
    };
    let Some(class_at) = inner.rfind(")[") else {
        return false;
    };
    !inner[class_at + 2..].contains(['[', ']', '(', ')'])
}
