//! `numatune`: where the guest's memory comes from on the host.
//!
//! `MODE#NODESET`, a bare `NODESET` (strict), or `MODE#auto` / `auto` for
//! placement by numad.

use std::fmt;

use nom::character::complete::alpha1;

use crate::cpuset::NodeSet;
use crate::grammar::problem::{
    end, fail, parse_value, Notes, Noun, PResult, Problem, PropertyError,
};
use crate::grammar::sets::{self, SetEnd};

pub const PROPERTY: &str = "numatune";

/// libvirt's `<memory mode=>`; strict is its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MemoryMode {
    #[default]
    Strict,
    Interleave,
    Preferred,
    Restrictive,
}

impl MemoryMode {
    pub const ALL: [MemoryMode; 4] = [
        MemoryMode::Strict,
        MemoryMode::Interleave,
        MemoryMode::Preferred,
        MemoryMode::Restrictive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MemoryMode::Strict => "strict",
            MemoryMode::Interleave => "interleave",
            MemoryMode::Preferred => "preferred",
            MemoryMode::Restrictive => "restrictive",
        }
    }

    pub fn from_name(name: &str) -> Option<MemoryMode> {
        MemoryMode::ALL
            .into_iter()
            .find(|mode| mode.as_str() == name)
    }
}

impl fmt::Display for MemoryMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// Memory comes from these host nodes.
    Nodes(NodeSet),
    /// numad chooses the nodes when the guest starts.
    Auto,
}

/// One `<numatune><memory mode= nodeset=|placement=/>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumaTune {
    pub mode: MemoryMode,
    pub placement: Placement,
}

pub fn parse(value: &str) -> Result<NumaTune, PropertyError> {
    parse_value(PROPERTY, value, numatune)
}

const MODES: &str = "strict, interleave, preferred or restrictive";

fn numatune<'a>(input: &'a str, notes: &mut Notes<'a>) -> PResult<'a, NumaTune> {
    let (after_mode, mode) = mode(input)?;
    let (rest, placement) = placement(after_mode, mode.is_some(), notes)?;
    match placement {
        Placement::Nodes(_) => end(rest, "',' and another node")?,
        Placement::Auto if !rest.is_empty() => {
            return fail(rest, Problem::expected("the end of the value after 'auto'"))
        }
        Placement::Auto => (rest, ()),
    };
    let mode = mode.unwrap_or_default();
    if let (MemoryMode::Preferred, Placement::Nodes(nodes)) = (mode, &placement) {
        if nodes.len() > 1 {
            notes.note(
                after_mode,
                Problem::PreferredManyNodes {
                    nodes: nodes.to_string(),
                },
            );
        }
    }
    Ok((rest, NumaTune { mode, placement }))
}

/// `MODE#` when the value opens with a word other than `auto`.
fn mode(input: &str) -> PResult<'_, Option<MemoryMode>> {
    let Ok((rest, word)) = alpha1::<_, nom::error::Error<&str>>(input) else {
        return Ok((input, None));
    };
    if word == "auto" {
        return Ok((input, None));
    }
    let Some(mode) = MemoryMode::from_name(word) else {
        return fail(
            input,
            Problem::expected(format!("a mode ({MODES}), a node set or 'auto'")),
        );
    };
    match rest.strip_prefix('#') {
        Some(rest) => Ok((rest, Some(mode))),
        None => fail(rest, Problem::expected("'#' after the mode")),
    }
}

fn placement<'a>(
    input: &'a str,
    after_mode: bool,
    notes: &mut Notes<'a>,
) -> PResult<'a, Placement> {
    if let Some(rest) = input.strip_prefix("auto") {
        return Ok((rest, Placement::Auto));
    }
    if !input.starts_with(|c: char| c.is_ascii_digit() || c == '^') {
        let what = match after_mode {
            true => "a node set or 'auto' after '#'",
            false => "a mode (strict, interleave, preferred or restrictive), a node set or 'auto'",
        };
        return fail(input, Problem::expected(what));
    }
    let (rest, nodes) = sets::set(input, Noun::Node, SetEnd::AtAnyOtherCharacter, notes)?;
    Ok((rest, Placement::Nodes(nodes)))
}

/// Canonical form: the mode always written, then the node set or `auto`.
impl fmt::Display for NumaTune {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.placement {
            Placement::Nodes(nodes) => write!(f, "{}#{nodes}", self.mode),
            Placement::Auto => write!(f, "{}#auto", self.mode),
        }
    }
}
