//! `prepare`: the host configuration that the guests planned on a host
//! need, from the same values that place them: huge pages reserved per
//! node early at boot, the vCPUs' CPUs isolated from host tasks (tuned's
//! cpu-partitioning) and from interrupts (irqbalance), and the kernel
//! arguments the engine sets. `check` compares a running host with it.
//! Imports `properties` (the values it plans from), `host` and the words.
//!
//! needs (one guest's values) -> config (all guests on this host, or a
//! refusal) -> files (the text) -> write (under a root) / check.

pub(crate) mod check;
pub(crate) mod config;
pub(crate) mod files;
pub(crate) mod needs;
pub(crate) mod render;
pub(crate) mod vdsm_conf;
pub(crate) mod write;

use thiserror::Error;

use crate::prepare::config::HostConfig;
use crate::prepare::files::{
    unit_name, unit_text, IRQBALANCE, IRQBALANCE_LIST, IRQBALANCE_MASK, SCRIPT, SCRIPT_TEXT,
    TUNED_ISOLATED, TUNED_VARIABLES, UNIT_DIR, WANTS_DIR,
};

/// What goes into one file of the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Content {
    /// The whole file, owned by this program.
    Whole { text: String, mode: u32 },
    /// One variable in a file another package owns; the rest stays.
    Set {
        name: &'static str,
        value: String,
        /// A variable that would override this one, commented out.
        disable: Option<&'static str>,
    },
    /// A symbolic link to this target, as `systemctl enable` makes.
    Link { target: String },
}

/// A file of the host configuration, by its absolute path on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostFile {
    pub path: String,
    pub content: Content,
}

/// Every file `config` needs, in the order they are shown and written.
pub(crate) fn host_files(config: &HostConfig) -> Vec<HostFile> {
    let mut files = Vec::new();
    if !config.pages.is_empty() {
        files.push(HostFile {
            path: SCRIPT.to_string(),
            content: Content::Whole {
                text: SCRIPT_TEXT.to_string(),
                mode: 0o755,
            },
        });
    }
    for pages in &config.pages {
        let name = unit_name(pages);
        let unit = format!("{UNIT_DIR}/{name}");
        files.push(HostFile {
            path: unit.clone(),
            content: Content::Whole {
                text: unit_text(pages),
                mode: 0o644,
            },
        });
        files.push(HostFile {
            path: format!("{WANTS_DIR}/{name}"),
            content: Content::Link { target: unit },
        });
    }
    if !config.isolated.is_empty() {
        files.push(HostFile {
            path: TUNED_VARIABLES.to_string(),
            content: Content::Set {
                name: TUNED_ISOLATED,
                value: config.isolated.to_string(),
                disable: None,
            },
        });
        files.push(HostFile {
            path: IRQBALANCE.to_string(),
            content: Content::Set {
                name: IRQBALANCE_LIST,
                value: config.isolated.to_string(),
                disable: Some(IRQBALANCE_MASK),
            },
        });
    }
    files
}

/// Why `prepare` stops: a guest's values, the host, or the write.
#[derive(Debug, Error)]
pub enum PrepareError {
    #[error(transparent)]
    Needs(#[from] needs::NeedsError),
    #[error(transparent)]
    Host(#[from] config::HostError),
    #[error(transparent)]
    Write(#[from] write::WriteError),
}
