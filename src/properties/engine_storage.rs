//! What the engine can store: all of a VM's custom properties in one
//! string of at most 4,000 characters, whatever each regex allows.

use thiserror::Error;

use crate::properties::Property;

/// The engine keeps all of a VM's user-defined custom properties in one
/// `name=value;name=value` string of at most this many characters
/// (`VmBase.userDefinedProperties`, a `varchar(4000)`): longer sets cannot
/// be saved, whatever the regexes say.
pub const ENGINE_STORAGE_LIMIT: usize = 4000;

/// A set of values the engine could not store.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "these values take {total} characters as the engine stores them (NAME=VALUE joined by ';'), over the {ENGINE_STORAGE_LIMIT} it keeps for all of a VM's custom properties, other hooks' included; {}",
    shorten_hint(*.canonical_total, .longest, *.longest_len)
)]
pub struct TooLongForEngine {
    pub total: usize,
    /// The same values in canonical form (one-to-one runs compact).
    pub canonical_total: usize,
    /// The longest value in canonical form, and its length with its name.
    pub longest: Property,
    pub longest_len: usize,
}

fn shorten_hint(canonical_total: usize, longest: &Property, len: usize) -> String {
    if canonical_total <= ENGINE_STORAGE_LIMIT {
        return format!(
            "in the canonical form printed above, where one-to-one pins are runs (A-B@SET), they take {canonical_total}: set those"
        );
    }
    format!(
        "even in the canonical form printed above they take {canonical_total}, {} alone {len}: shorten it",
        longest.name()
    )
}

/// The `name=value;...` length of `pairs`, counted as the engine counts
/// (UTF-16 units), and the longest pair.
fn stored_length(pairs: &[(Property, &str)]) -> (usize, Option<(Property, usize)>) {
    let length = |(property, value): &(Property, &str)| {
        property.name().len() + 1 + value.encode_utf16().count()
    };
    let total = pairs.iter().map(length).sum::<usize>() + pairs.len().saturating_sub(1);
    let longest = pairs
        .iter()
        .max_by_key(|pair| length(pair))
        .map(|pair| (pair.0, length(pair)));
    (total, longest)
}

/// Refuses values whose `name=value` pairs, joined by `;`, are longer than
/// the engine stores; `canonical` are the same values in canonical form,
/// which the refusal offers when they fit.
pub fn check_engine_storage(
    typed: &[(Property, &str)],
    canonical: &[(Property, &str)],
) -> Result<(), TooLongForEngine> {
    let (total, _) = stored_length(typed);
    if total <= ENGINE_STORAGE_LIMIT {
        return Ok(());
    }
    let (canonical_total, longest) = stored_length(canonical);
    let (longest, longest_len) = longest.unwrap_or((Property::CpuTune, 0));
    Err(TooLongForEngine {
        total,
        canonical_total,
        longest,
        longest_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::properties::cputune;

    #[test]
    fn the_engine_counts_names_equals_and_semicolons() {
        // 8 for "cputune=" and 3,992 for the value: exactly the limit. The
        // count does not read the values, so any text of that length will do.
        let value = "0".repeat(3992);
        let typed = [(Property::CpuTune, value.as_str())];
        assert_eq!(check_engine_storage(&typed, &typed), Ok(()));
        // One more property: its name, '=', its value and a ';' too many.
        let typed = [
            (Property::CpuTune, value.as_str()),
            (Property::NumaTune, "0"),
        ];
        let err = check_engine_storage(&typed, &typed).unwrap_err();
        assert_eq!(
            (err.total, err.canonical_total, err.longest, err.longest_len),
            (4011, 4011, Property::CpuTune, 4000)
        );
        assert!(
            err.to_string()
                .ends_with("even in the canonical form printed above they take 4011, cputune alone 4000: shorten it"),
            "{err}"
        );
        assert_eq!(check_engine_storage(&[], &[]), Ok(()));
        // Java counts UTF-16 units: one per character here, two for an emoji.
        let wide = "\u{1f600}".repeat(1996);
        let typed = [(Property::CpuTune, wide.as_str())];
        assert!(check_engine_storage(&typed, &typed).is_ok());
        let wider = "\u{1f600}".repeat(1997);
        let typed = [(Property::CpuTune, wider.as_str())];
        assert!(check_engine_storage(&typed, &typed).is_err());
    }

    #[test]
    fn the_canonical_form_is_offered_when_it_fits() {
        let pins: Vec<String> = (0..600).map(|i| format!("{i}#{i}")).collect();
        let typed = pins.join("_");
        let canonical = cputune::parse(&typed).unwrap().to_string();
        assert_eq!(canonical, "0-599@0-599");
        let err = check_engine_storage(
            &[(Property::CpuTune, &typed)],
            &[(Property::CpuTune, &canonical)],
        )
        .unwrap_err();
        assert!(
            err.to_string().ends_with("they take 19: set those"),
            "{err}"
        );
    }
}
