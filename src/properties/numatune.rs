//! `numatune`: where the guest's memory comes from on the host.
//!
//! `MODE#NODESET`, a bare `NODESET` (strict), or `MODE#auto` / `auto` for
//! placement by numad.

use std::fmt;

use nom::branch::alt;
use nom::bytes::complete::tag;
use nom::character::complete::{alpha1, char};
use nom::combinator::{eof, map, map_opt, opt, peek, value, verify};
use nom::sequence::{preceded, terminated};
use nom::Parser;

use crate::cpuset::NodeSet;
use crate::properties::problem::{
    end, expect, parse_value, Fail, Notes, Noun, PResult, Problem, PropertyError,
};
use crate::properties::sets::{self, SetEnd};

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

// numatune := mode? placement
//   'preferred' with more than one node is noted
fn numatune<'a>(input: &'a str, notes: &Notes<'a>) -> PResult<'a, NumaTune> {
    let (after_mode, mode) = mode().parse(input)?;
    let (rest, placement) = placement(mode.is_some(), notes).parse(after_mode)?;
    let mode = mode.unwrap_or_default();
    if let (MemoryMode::Preferred, Placement::Nodes(nodes)) = (mode, &placement) {
        if nodes.len() > 1 {
            let nodes = nodes.to_string();
            notes.note(after_mode, Problem::PreferredManyNodes { nodes });
        }
    }
    Ok((rest, NumaTune { mode, placement }))
}

// mode := ("strict" | "interleave" | "preferred" | "restrictive") "#"
//   read when the value opens with a word other than "auto"
fn mode<'a>() -> impl Parser<&'a str, Output = Option<MemoryMode>, Error = Fail<'a>> {
    let word = verify(alpha1, |word: &str| word != "auto");
    let name = map_opt(alpha1, MemoryMode::from_name);
    let name = expect(name, || format!("a mode ({MODES}), a node set or 'auto'"));
    let hash = expect(char('#'), || "'#' after the mode");
    opt(preceded(peek(word), terminated(name, hash)))
}

// placement := "auto" EOF | set EOF
fn placement<'a, 'n>(
    after_mode: bool,
    notes: &'n Notes<'a>,
) -> impl Parser<&'a str, Output = Placement, Error = Fail<'a>> + 'n {
    let auto = value(Placement::Auto, tag("auto"));
    let auto = terminated(auto, expect(eof, || "the end of the value after 'auto'"));
    let nodes = map(
        sets::set(Noun::Node, SetEnd::AtAnyOtherCharacter, notes),
        Placement::Nodes,
    );
    let nodes = terminated(nodes, end("',' and another node"));
    expect(alt((auto, nodes)), move || match after_mode {
        true => "a node set or 'auto' after '#'".to_string(),
        false => format!("a mode ({MODES}), a node set or 'auto'"),
    })
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
