//! Generators shared by the property tests: well-formed values written the
//! way an administrator might (every separator, unit and term kind, with
//! problems of meaning left in), and mutations of them.

use proptest::prelude::*;
use proptest::sample::Index;

/// A decimal id: mostly small so exclusions and overlaps happen, sometimes
/// at or over the 16383 limit, sometimes too long for any integer.
pub(crate) fn number() -> BoxedStrategy<String> {
    prop_oneof![
        6 => (0u32..24).prop_map(|n| n.to_string()),
        1 => (16380u32..16390).prop_map(|n| n.to_string()),
        1 => (0u32..24).prop_map(|n| format!("0{n}")),
        1 => Just("99999999999999999999999".to_string()),
    ]
    .boxed()
}

/// `N` or `N-M`, the reversed kind included.
pub(crate) fn range() -> BoxedStrategy<String> {
    prop_oneof![
        number(),
        (number(), number()).prop_map(|(lo, hi)| format!("{lo}-{hi}")),
    ]
    .boxed()
}

/// `N`, `N-M` or `^N`.
pub(crate) fn term() -> BoxedStrategy<String> {
    prop_oneof![3 => range(), 1 => number().prop_map(|n| format!("^{n}"))].boxed()
}

/// A cpuset or node set.
pub(crate) fn set() -> BoxedStrategy<String> {
    prop::collection::vec(term(), 1..5)
        .prop_map(|terms| terms.join(","))
        .boxed()
}

fn separator() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![",", "_"])
}

/// A cputune entry: `VCPUS#CPUSET`, or `VCPUS@SET:SET...` with sets
/// that rarely fit the range, or one that does.
fn cputune_entry() -> BoxedStrategy<String> {
    let sets = prop::collection::vec(set(), 1..4).prop_map(|sets| sets.join(":"));
    prop_oneof![
        4 => (range(), set()).prop_map(|(vcpus, cpus)| format!("{vcpus}#{cpus}")),
        1 => (range(), sets).prop_map(|(vcpus, sets)| format!("{vcpus}@{sets}")),
        2 => one_to_one_entry(),
    ]
    .boxed()
}

/// `A-B@SET:SET...` with T sets of S ids each and T*S vCPUs: one to one.
fn one_to_one_entry() -> BoxedStrategy<String> {
    let shape = (0u32..24, 1usize..4, 1usize..6);
    shape
        .prop_flat_map(|(first, count, size)| {
            let set = prop::collection::btree_set(0u32..40, size).prop_map(|ids| {
                let ids: Vec<String> = ids.iter().map(u32::to_string).collect();
                ids.join(",")
            });
            let last = first as usize + count * size - 1;
            (Just(first), Just(last), prop::collection::vec(set, count))
        })
        .prop_map(|(first, last, sets)| format!("{first}-{last}@{}", sets.join(":")))
        .boxed()
}

pub(crate) fn cputune() -> BoxedStrategy<String> {
    (prop::collection::vec(cputune_entry(), 1..5), separator())
        .prop_map(|(entries, separator)| entries.join(separator))
        .boxed()
}

pub(crate) const MODES: [&str; 4] = ["strict", "interleave", "preferred", "restrictive"];

pub(crate) fn numatune() -> BoxedStrategy<String> {
    let mode = prop::option::of(prop::sample::select(MODES.to_vec()));
    let placement = prop_oneof![1 => Just("auto".to_string()), 4 => set()];
    (mode, placement)
        .prop_map(|(mode, placement)| match mode {
            Some(mode) => format!("{mode}#{placement}"),
            None => placement,
        })
        .boxed()
}

pub(crate) const UNITS: [&str; 9] = ["", "K", "KiB", "M", "MiB", "G", "GiB", "T", "TiB"];

pub(crate) fn memory() -> BoxedStrategy<String> {
    let digits = prop_oneof![
        4 => (0u64..5000).prop_map(|n| n.to_string()),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => Just("99999999999999999999999".to_string()),
    ];
    (digits, prop::sample::select(UNITS.to_vec()))
        .prop_map(|(n, unit)| format!("{n}{unit}"))
        .boxed()
}

/// A guestnuma value: a lone count, one cell, or several cells with `_`
/// (host nodes any set) or `,` (host nodes one range).
pub(crate) fn guestnuma() -> BoxedStrategy<String> {
    let wide_cell = (set(), memory(), prop::option::of(set()));
    let narrow_cell = (set(), memory(), prop::option::of(range()));
    let cell = |(cpus, memory, nodes): (String, String, Option<String>)| match nodes {
        Some(nodes) => format!("{cpus}#{memory}#{nodes}"),
        None => format!("{cpus}#{memory}"),
    };
    prop_oneof![
        1 => number(),
        2 => wide_cell.clone().prop_map(cell),
        3 => prop::collection::vec(wide_cell, 2..5)
            .prop_map(move |cells| cells.into_iter().map(cell).collect::<Vec<_>>().join("_")),
        3 => prop::collection::vec(narrow_cell, 1..5)
            .prop_map(move |cells| cells.into_iter().map(cell).collect::<Vec<_>>().join(",")),
    ]
    .boxed()
}

/// The characters mutations draw from: the grammar's own, letters of the
/// modes and units, and the kinds of text an attacker or a typo brings.
pub(crate) const ALPHABET: &[char] = &[
    '0', '1', '2', '3', '9', ',', '-', '^', '#', '_', 'K', 'M', 'G', 'T', 'i', 'B', 'a', 'u', 't',
    'o', 's', 'r', 'c', 'e', 'l', 'n', 'p', 'f', 'v', 'x', '<', '>', '"', '\'', ' ', '\n', '\0',
    'é', '\u{663}', ';', '=',
];

#[derive(Debug, Clone)]
pub(crate) enum Edit {
    Insert(Index, char),
    Delete(Index),
    Replace(Index, char),
}

fn edit() -> impl Strategy<Value = Edit> {
    let letter = prop::sample::select(ALPHABET);
    prop_oneof![
        (any::<Index>(), letter.clone()).prop_map(|(at, c)| Edit::Insert(at, c)),
        any::<Index>().prop_map(Edit::Delete),
        (any::<Index>(), letter).prop_map(|(at, c)| Edit::Replace(at, c)),
    ]
}

pub(crate) fn apply(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for edit in edits {
        match *edit {
            Edit::Insert(at, c) => {
                let at = at.index(chars.len() + 1);
                chars.insert(at, c);
            }
            Edit::Delete(at) if !chars.is_empty() => {
                let at = at.index(chars.len());
                chars.remove(at);
            }
            Edit::Replace(at, c) if !chars.is_empty() => {
                let at = at.index(chars.len());
                chars[at] = c;
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

/// `valid`, then one to three edits of it.
pub(crate) fn mutated(valid: BoxedStrategy<String>) -> BoxedStrategy<String> {
    (valid, prop::collection::vec(edit(), 1..4))
        .prop_map(|(text, edits)| apply(&text, &edits))
        .boxed()
}

/// Short strings of the alphabet alone.
pub(crate) fn alphabet_soup() -> BoxedStrategy<String> {
    prop::collection::vec(prop::sample::select(ALPHABET), 0..16)
        .prop_map(|chars| chars.into_iter().collect())
        .boxed()
}

/// Every kind of input the tests throw at a parser.
pub(crate) fn any_input(valid: BoxedStrategy<String>) -> BoxedStrategy<String> {
    prop_oneof![
        2 => valid.clone(),
        4 => mutated(valid),
        2 => alphabet_soup(),
        1 => any::<String>(),
    ]
    .boxed()
}
