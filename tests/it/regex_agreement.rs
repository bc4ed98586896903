//! The engine's regexes and the hook's parsers must agree on what is well
//! formed: a regex looser than the parser lets typos reach the hook, a
//! stricter one refuses good values in the engine's VM dialog. The engine
//! runs `Pattern.matcher(value).matches()`, a whole-value match, which the
//! anchors give in Rust too.
//!
//! Rust's `regex` crate has no possessive quantifiers, so the regexes are
//! compiled here with each `*+` read as `*`; `tests/engine-regex/run.sh`
//! shows with Java itself that both forms accept the same values.

use std::sync::LazyLock;

use crate::support::strategies;
use proptest::prelude::*;
use regex::Regex;
use vdsm_hook_largeguest::properties::problem::PropertyError;
use vdsm_hook_largeguest::properties::Property;
use vdsm_hook_largeguest::properties::{
    affinity, cputune, emulatorpin, guestnuma, iothreadpin, numatune,
};

/// Compiled once: compiling per case was most of the suite's time.
static REGEXES: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    declarations()
        .into_iter()
        .map(|(name, pattern)| {
            let regex = Regex::new(&greedy(&pattern)).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, regex)
        })
        .collect()
});

/// The pattern with its possessive `*+` read as greedy `*`, the only form
/// the `regex` crate takes. The regexes have no `++`, `?+` or `+` after a
/// `*` that means a literal, so this is the only change.
fn greedy(pattern: &str) -> String {
    pattern.replace("*+", "*")
}

/// Every property's name and engine regex, from the registry.
fn declarations() -> Vec<(&'static str, String)> {
    Property::ALL
        .into_iter()
        .map(|property| (property.name(), property.engine_regex()))
        .collect()
}

fn regex_of(property: &str) -> &'static Regex {
    REGEXES
        .iter()
        .find(|(name, _)| *name == property)
        .map(|(_, regex)| regex)
        .unwrap_or_else(|| panic!("no regex for {property}"))
}

/// True when the parser finds the value well formed, even if it refuses
/// its meaning (a reversed range, a vCPU twice...), which no regex can see.
fn well_formed<T>(parsed: Result<T, PropertyError>) -> bool {
    parsed.map_or_else(|err| !err.problem.is_syntax(), |_| true)
}

fn agree<T>(property: &str, value: &str, parse: fn(&str) -> Result<T, PropertyError>) {
    let matched = regex_of(property).is_match(value);
    let parsed = parse(value);
    let why = match &parsed {
        Ok(_) => "accepted".to_string(),
        Err(err) => err.to_string(),
    };
    assert_eq!(
        matched,
        well_formed(parsed),
        "{property} regex and parser disagree on {value:?}: parser says {why}"
    );
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 3000,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn cputune_regex_agrees(value in strategies::any_input(strategies::cputune())) {
        agree("cputune", &value, cputune::parse);
    }

    #[test]
    fn numatune_regex_agrees(value in strategies::any_input(strategies::numatune())) {
        agree("numatune", &value, numatune::parse);
    }

    #[test]
    fn guestnuma_regex_agrees(value in strategies::any_input(strategies::guestnuma())) {
        agree("guestnuma", &value, guestnuma::parse);
    }

    #[test]
    fn emulatorpin_regex_agrees(value in strategies::any_input(strategies::set())) {
        agree("emulatorpin", &value, emulatorpin::parse);
    }

    /// I/O thread pins are written as vCPU pins are.
    #[test]
    fn iothreadpin_regex_agrees(value in strategies::any_input(strategies::cputune())) {
        agree("iothreadpin", &value, iothreadpin::parse);
    }
}

#[test]
fn regexes_agree_on_the_new_properties_chosen_values() {
    for value in [
        "0", "0-1", "0,48", "0-3,^2", "^0", "0-", "0#1", "0,", ",0", "0 1", "",
    ] {
        agree("emulatorpin", value, emulatorpin::parse);
    }
    for value in [
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
    ] {
        agree("iothreadpin", value, iothreadpin::parse);
    }
    for value in [
        "required",
        "preferred",
        "legacy",
        "Required",
        "",
        "required ",
    ] {
        agree("pci_numa_affinity", value, affinity::parse);
    }
}

/// Values a generator might miss: each separator's edge, units, the cases
/// where ',' and '_' change how a comma is read.
#[test]
fn regexes_agree_on_chosen_values() {
    let cputune_values = [
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
        // ',' form, where ':' is allowed only inside an '@' entry: blocks of
        // '#' and '@' entries in turn, and the value's last token.
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
    ];
    for value in cputune_values {
        agree("cputune", value, cputune::parse);
    }
    let numatune_values = [
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
    ];
    for value in numatune_values {
        agree("numatune", value, numatune::parse);
    }
    let guestnuma_values = [
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
    ];
    for value in guestnuma_values {
        agree("guestnuma", value, guestnuma::parse);
    }
}

/// Each registry entry's example passes its own engine regex.
#[test]
fn every_example_passes_its_engine_regex() {
    for property in Property::ALL {
        let example = property.definition().example;
        let name = property.name();
        assert!(regex_of(name).is_match(example), "{name}={example}");
    }
}

#[test]
fn ksm_regex_takes_exactly_its_four_values() {
    let ksm = regex_of("ksm_merge_across_nodes");
    for value in ["0", "1", "true", "false"] {
        assert!(ksm.is_match(value), "{value}");
    }
    for value in ["", "2", "01", "True", "yes", "true\n", " 1", "0|1"] {
        assert!(!ksm.is_match(value), "{value:?}");
    }
}

/// Reads the same in Java's `Pattern` and Rust's `regex` once `*+` is read
/// as `*`: only `()`, `(?:)`, `[0-9]`, `|`, `?`, `*`, `*+`, `+`, `\^`,
/// literal letters, digits, `#`, `@`, `:`, `,`, `-`, `_`, one leading `^`
/// and one trailing `$`. Nothing the engine's `;`-separated setting or the
/// single-quoted shell command would split on. Every `*` is possessive
/// (`*+`), so no repetition makes Java recurse once per item.
#[test]
fn regexes_use_only_syntax_common_to_java_and_rust() {
    for (name, pattern) in declarations() {
        let body = pattern
            .strip_prefix('^')
            .and_then(|p| p.strip_suffix('$'))
            .unwrap_or_else(|| panic!("{name}: not anchored at both ends: {pattern}"));
        assert_eq!(
            body.matches('*').count(),
            body.matches("*+").count(),
            "{name}: a greedy * recurses in Java once per repetition: {pattern}"
        );
        let rest = greedy(body)
            .replace("(?:", "")
            .replace("[0-9]", "")
            .replace("\\^", "");
        for c in rest.chars() {
            let allowed = c.is_ascii_alphanumeric() || "#@:,-_()|?*+".contains(c);
            assert!(
                allowed,
                "{name}: {c:?} outside the common syntax in {pattern}"
            );
        }
        // Groups are plain or `(?:`, never a lookaround, named group or
        // flag (`(?=`, `(?<`, `(?i`), whose spellings differ; classes are [0-9].
        assert_eq!(
            body.matches("(?").count(),
            body.matches("(?:").count(),
            "{name}: {pattern}"
        );
        assert_eq!(
            body.matches('[').count(),
            body.matches("[0-9]").count(),
            "{name}: {pattern}"
        );
        assert_eq!(
            body.matches('\\').count(),
            body.matches("\\^").count(),
            "{name}: {pattern}"
        );
        assert!(!pattern.contains(';') && !pattern.contains('\''), "{name}");
    }
}
