//! What one guest needs of the host, read from the values that place it:
//! a plan as `suggest --json` prints it, or the guest's custom properties.
//!
//! A plan carries the same values as strings (cputune, guestnuma, ...), so
//! both go through the property grammars. The plan is read leniently: any
//! field this reader does not know is skipped, so a newer `suggest` that
//! prints more still feeds an older `prepare`.

use serde::Deserialize;
use thiserror::Error;

use crate::cpuset::CpuSet;
use crate::properties::guestnuma::{self, GuestNuma, Size};
use crate::properties::numatune::{self, Placement};
use crate::properties::problem::PropertyError;
use crate::properties::{cputune, emulatorpin, iothreadpin};
use crate::wording::quoted;

/// oVirt's own custom property for huge pages: the page size in KiB.
pub(crate) const HUGEPAGES_PROPERTY: &str = "hugepages";

/// The values of one guest, as text, and where they came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct GuestValues {
    /// `plan 1 (FILE)` or `guest 2`, as messages name the guest.
    pub source: String,
    pub cputune: Option<String>,
    pub numatune: Option<String>,
    pub guestnuma: Option<String>,
    pub emulatorpin: Option<String>,
    pub iothreadpin: Option<String>,
    pub hugepages: Option<String>,
}

/// Huge pages one guest cell needs on one host node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CellPages {
    pub cell: usize,
    pub node: u32,
    pub size_kib: u64,
    pub count: u64,
}

/// What one guest takes from the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GuestNeeds {
    pub source: String,
    /// Host CPUs its vCPUs are pinned to: the host keeps them isolated.
    pub vcpu_cpus: CpuSet,
    /// Host CPUs of its emulator and I/O threads: housekeeping CPUs.
    pub thread_cpus: CpuSet,
    pub pages: Vec<CellPages>,
}

#[derive(Debug, Error)]
#[error("{guest}: {problem}")]
pub struct NeedsError {
    pub guest: String,
    /// Boxed: a property's error is large, and every command's result carries this.
    pub problem: Box<NeedsProblem>,
}

#[derive(Debug, Error)]
pub enum NeedsProblem {
    #[error("{0}")]
    Property(#[from] PropertyError),
    #[error("not a plan as 'suggest --json' prints it: {0}")]
    NotAPlan(String),
    #[error("hugepages={} is not a huge page size in KiB such as 2048 or 1048576 (oVirt's hugepages property)", quoted(.0))]
    PageSize(String),
    #[error("hugepages is set but guestnuma is not: give guestnuma cells with their memory and host node (as suggest prints them), so the pages can be reserved per node")]
    NoCells,
    #[error("guestnuma={0} leaves the cells' sizes to the VM: give each cell its memory and host node (as suggest prints them), so the pages can be reserved per node")]
    EvenCells(usize),
    #[error("guestnuma cell {cell} has {} of memory, not a whole number of {} pages", Size(*.memory_kib), Size(*.size_kib))]
    NotWholePages {
        cell: usize,
        memory_kib: u64,
        size_kib: u64,
    },
    #[error("guestnuma cell {cell} binds its memory to {nodes}: give it one host node (CELL#MEMORY#NODE) so its pages can be reserved there")]
    CellNodes { cell: usize, nodes: String },
}

/// The fields of a plan this reader uses; the rest are skipped.
#[derive(Debug, Deserialize)]
struct PlanJson {
    cputune: Option<String>,
    numatune: Option<String>,
    guestnuma: Option<String>,
    emulatorpin: Option<String>,
    iothreadpin: Option<String>,
    /// Wherever the plan nests it: `hugepages` at the top, or in an object
    /// beside the other engine settings.
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

/// The first `hugepages` field of `fields` or of an object in them, a
/// level or two down, as the engine's property is named.
fn find_hugepages(
    fields: &serde_json::Map<String, serde_json::Value>,
    depth: u8,
) -> Option<&serde_json::Value> {
    fields.get(HUGEPAGES_PROPERTY).or_else(|| {
        (depth > 0)
            .then(|| {
                fields
                    .values()
                    .filter_map(serde_json::Value::as_object)
                    .find_map(|inner| find_hugepages(inner, depth - 1))
            })
            .flatten()
    })
}

/// A plan's values. `default_hugepages` (from `prepare --hugepages`) is
/// the page size when the plan names none.
pub(crate) fn from_plan(
    source: &str,
    json: &str,
    default_hugepages: Option<&str>,
) -> Result<GuestValues, NeedsError> {
    let fail = |problem| NeedsError {
        guest: source.to_string(),
        problem: Box::new(problem),
    };
    let plan: PlanJson =
        serde_json::from_str(json).map_err(|err| fail(NeedsProblem::NotAPlan(err.to_string())))?;
    let hugepages = match find_hugepages(&plan.rest, 2).cloned() {
        None | Some(serde_json::Value::Null) => default_hugepages.map(str::to_string),
        Some(serde_json::Value::String(text)) => Some(text),
        Some(serde_json::Value::Number(number)) => Some(number.to_string()),
        Some(other) => return Err(fail(NeedsProblem::PageSize(other.to_string()))),
    };
    Ok(GuestValues {
        source: source.to_string(),
        cputune: plan.cputune,
        numatune: plan.numatune,
        guestnuma: plan.guestnuma,
        emulatorpin: plan.emulatorpin,
        iothreadpin: plan.iothreadpin,
        hugepages,
    })
}

impl GuestValues {
    /// Sets one `NAME=VALUE`; false for a name that is not one of these.
    pub(crate) fn set(&mut self, name: &str, value: &str) -> bool {
        let slot = match name {
            cputune::PROPERTY => &mut self.cputune,
            numatune::PROPERTY => &mut self.numatune,
            guestnuma::PROPERTY => &mut self.guestnuma,
            emulatorpin::PROPERTY => &mut self.emulatorpin,
            iothreadpin::PROPERTY => &mut self.iothreadpin,
            HUGEPAGES_PROPERTY => &mut self.hugepages,
            _ => return false,
        };
        *slot = Some(value.to_string());
        true
    }

    pub(crate) fn needs(&self) -> Result<GuestNeeds, NeedsError> {
        self.read().map_err(|problem| NeedsError {
            guest: self.source.clone(),
            problem: Box::new(problem),
        })
    }

    fn read(&self) -> Result<GuestNeeds, NeedsProblem> {
        let vcpu_cpus = match &self.cputune {
            Some(value) => cputune::parse(value)?
                .pins
                .iter()
                .flat_map(|pin| pin.cpuset.iter())
                .collect(),
            None => CpuSet::new(),
        };
        let mut thread_cpus = match &self.emulatorpin {
            Some(value) => emulatorpin::parse(value)?,
            None => CpuSet::new(),
        };
        if let Some(value) = &self.iothreadpin {
            for pin in iothreadpin::parse(value)?.pins {
                for cpu in pin.cpuset.iter() {
                    thread_cpus.insert(cpu);
                }
            }
        }
        let pages = match &self.hugepages {
            Some(size) => self.pages(page_size(size)?)?,
            None => Vec::new(),
        };
        Ok(GuestNeeds {
            source: self.source.clone(),
            vcpu_cpus,
            thread_cpus,
            pages,
        })
    }

    /// Each cell's pages on its host node: the cell's own node, or the one
    /// node numatune binds the whole guest to.
    fn pages(&self, size_kib: u64) -> Result<Vec<CellPages>, NeedsProblem> {
        let cells = match self.guestnuma.as_deref().map(guestnuma::parse) {
            None => return Err(NeedsProblem::NoCells),
            Some(parsed) => match parsed? {
                GuestNuma::Cells(cells) => cells,
                GuestNuma::Even(count) => return Err(NeedsProblem::EvenCells(count)),
            },
        };
        let guest_nodes = match self.numatune.as_deref().map(numatune::parse) {
            Some(parsed) => match parsed?.placement {
                Placement::Nodes(nodes) => Some(nodes),
                Placement::Auto => None,
            },
            None => None,
        };
        let mut pages = Vec::new();
        for (cell, guest_cell) in cells.iter().enumerate() {
            let nodes = guest_cell.host_nodes.as_ref().or(guest_nodes.as_ref());
            let node = match nodes {
                Some(nodes) if nodes.len() == 1 => nodes.first().unwrap_or_default(),
                Some(nodes) => {
                    return Err(NeedsProblem::CellNodes {
                        cell,
                        nodes: format!("host nodes {nodes}"),
                    })
                }
                None => {
                    return Err(NeedsProblem::CellNodes {
                        cell,
                        nodes: "no host node".to_string(),
                    })
                }
            };
            if !guest_cell.memory_kib.is_multiple_of(size_kib) {
                return Err(NeedsProblem::NotWholePages {
                    cell,
                    memory_kib: guest_cell.memory_kib,
                    size_kib,
                });
            }
            pages.push(CellPages {
                cell,
                node,
                size_kib,
                count: guest_cell.memory_kib / size_kib,
            });
        }
        Ok(pages)
    }
}

/// oVirt's hugepages property is a size in KiB; `2M` and `1G` are taken too.
fn page_size(text: &str) -> Result<u64, NeedsProblem> {
    let kib = match text.bytes().all(|b| b.is_ascii_digit()) {
        true => text.parse().ok(),
        false => guestnuma::parse_size(HUGEPAGES_PROPERTY, text).ok(),
    };
    match kib {
        Some(kib) if kib > 4 && kib.is_power_of_two() => Ok(kib),
        _ => Err(NeedsProblem::PageSize(text.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guest(pairs: &[(&str, &str)]) -> GuestValues {
        let mut values = GuestValues {
            source: "guest 1".to_string(),
            ..GuestValues::default()
        };
        for (name, value) in pairs {
            assert!(values.set(name, value), "{name}");
        }
        values
    }

    #[test]
    fn a_plan_with_fields_this_reader_does_not_know_is_read() {
        let json = r#"{"cputune": "0-3@1-2:17-18", "numatune": "strict#0",
            "guestnuma": "0-3#6G#0", "emulatorpin": "0,16", "reserve": "0,8",
            "cells": [{"node": 0}], "engine": {"policy": "manual", "properties": {"hugepages": 1048576}},
            "topology": {"sockets": 1}}"#;
        let values = from_plan("plan 1", json, None).unwrap();
        assert_eq!(values.hugepages.as_deref(), Some("1048576"));
        let needs = values.needs().unwrap();
        assert_eq!(needs.vcpu_cpus.to_string(), "1-2,17-18");
        assert_eq!(needs.thread_cpus.to_string(), "0,16");
        assert_eq!(
            needs.pages,
            vec![CellPages {
                cell: 0,
                node: 0,
                size_kib: 1048576,
                count: 6
            }]
        );
    }

    #[test]
    fn a_plan_without_a_page_size_takes_the_one_given() {
        let json = r#"{"guestnuma": "0-1#2G#0,2-3#4G#1"}"#;
        let values = from_plan("plan 1", json, Some("2M")).unwrap();
        let counts: Vec<(u32, u64)> = values
            .needs()
            .unwrap()
            .pages
            .iter()
            .map(|p| (p.node, p.count))
            .collect();
        assert_eq!(counts, vec![(0, 1024), (1, 2048)]);
        assert!(from_plan("plan 1", json, None)
            .unwrap()
            .needs()
            .unwrap()
            .pages
            .is_empty());
        // A size the plan names wins over the one given.
        let named = r#"{"guestnuma": "0#2G#0", "hugepages": "1048576"}"#;
        let pages = from_plan("plan 1", named, Some("2M"))
            .unwrap()
            .needs()
            .unwrap()
            .pages;
        assert_eq!((pages[0].size_kib, pages[0].count), (1048576, 2));
    }

    #[test]
    fn cells_without_one_node_each_are_refused_naming_the_cell() {
        let err = guest(&[("guestnuma", "0-1#2G,2-3#2G"), ("hugepages", "1048576")])
            .needs()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "guest 1: guestnuma cell 0 binds its memory to no host node: give it one host node (CELL#MEMORY#NODE) so its pages can be reserved there"
        );
        let one_node = guest(&[
            ("guestnuma", "0-1#2G,2-3#2G"),
            ("numatune", "strict#1"),
            ("hugepages", "1G"),
        ]);
        assert_eq!(one_node.needs().unwrap().pages[1].node, 1);
        let two = guest(&[
            ("guestnuma", "0-1#2G"),
            ("numatune", "interleave#0-1"),
            ("hugepages", "1G"),
        ]);
        assert!(two
            .needs()
            .unwrap_err()
            .to_string()
            .contains("cell 0 binds its memory to host nodes 0-1"));
    }

    #[test]
    fn pages_need_cells_of_whole_pages() {
        let err = guest(&[("guestnuma", "0-1#1536M#0"), ("hugepages", "1048576")])
            .needs()
            .unwrap_err();
        assert!(err
            .to_string()
            .ends_with("guestnuma cell 0 has 1536M of memory, not a whole number of 1G pages"));
        for bad in ["0", "3000", "abc", "4"] {
            let err = guest(&[("guestnuma", "0#1G#0"), ("hugepages", bad)])
                .needs()
                .unwrap_err();
            assert!(matches!(*err.problem, NeedsProblem::PageSize(_)), "{bad}");
        }
        let even = guest(&[("guestnuma", "2"), ("hugepages", "2048")]);
        assert!(matches!(
            *even.needs().unwrap_err().problem,
            NeedsProblem::EvenCells(2)
        ));
    }

    #[test]
    fn something_that_is_not_a_plan_is_said_so() {
        let err = from_plan("plan 2 (x.json)", "cputune=0#1", None).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("plan 2 (x.json): not a plan as 'suggest --json' prints it:"));
        let err = from_plan("plan 1", r#"{"hugepages": [1]}"#, None).unwrap_err();
        assert!(matches!(*err.problem, NeedsProblem::PageSize(_)));
    }
}
