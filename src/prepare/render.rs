//! What `prepare` prints: the configuration in a few lines, every file as
//! it would be written, the kernel arguments for the engine, and the steps
//! to a host ready for the guests, with what needs a reboot.

use std::fmt;

use serde::Serialize;

use crate::prepare::config::HostConfig;
use crate::prepare::files::{boot_reserves_pages, hugepage_arguments, TUNED_PROFILE};
use crate::prepare::{host_files, Content};
use crate::properties::guestnuma::Size;

pub(crate) struct Preparation<'a> {
    pub config: &'a HostConfig,
    /// The guests, as messages name them.
    pub guests: &'a [String],
}

impl fmt::Display for Preparation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = self.config;
        writeln!(f, "# host configuration for {}", self.guests.join(", "))?;
        match config.isolated.is_empty() {
            true => writeln!(f, "# no vCPU is pinned: no CPU to isolate")?,
            false => {
                writeln!(f, "# isolated CPUs, for vCPUs only: {}", config.isolated)?;
                writeln!(
                    f,
                    "# housekeeping CPUs, for the host, VDSM, emulator and I/O threads: {}",
                    config.housekeeping
                )?;
                writeln!(
                    f,
                    "# isolation keeps host tasks and interrupts off them, not other VMs: VDSM's shared pool, where VMs of CPU Pinning Policy None run, still holds them"
                )?;
            }
        }
        for pages in &config.pages {
            writeln!(
                f,
                "# node {}: {} huge pages of {} ({})",
                pages.node,
                pages.count,
                Size(pages.size_kib),
                Size(pages.count * pages.size_kib)
            )?;
        }
        for file in host_files(config) {
            writeln!(f)?;
            match &file.content {
                Content::Whole { text, mode } => {
                    writeln!(f, "=== {} (mode {mode:04o})", file.path)?;
                    f.write_str(text)?;
                }
                Content::Set {
                    name,
                    value,
                    disable,
                } => {
                    writeln!(f, "=== {}: set {name}, keep the rest", file.path)?;
                    writeln!(f, "{name}={value}")?;
                    if let Some(other) = disable {
                        writeln!(f, "# and {other}, which would override it, commented out")?;
                    }
                }
                Content::Link { target } => {
                    writeln!(f, "=== {} -> {target} (enabled)", file.path)?;
                }
            }
        }
        writeln!(f)?;
        self.kernel(f)?;
        writeln!(f)?;
        self.steps(f)
    }
}

impl Preparation<'_> {
    fn kernel(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = self.config;
        let release = config.kernel.as_ref().map(|k| k.0.as_str());
        writeln!(
            f,
            "=== kernel command line: set in the engine (Edit Host > Kernel > Kernel command line), not in grub"
        )?;
        if boot_reserves_pages(config) {
            writeln!(f, "{}", hugepage_arguments(config).join(" "))?;
            writeln!(
                f,
                "# kernel {} reads per-node counts: the pages are reserved at boot, the units then only check them",
                release.unwrap_or("?")
            )?;
            writeln!(
                f,
                "# keep VDSM's use_dynamic_hugepages off (its default): when on, VDSM reads hugepages= as one number"
            )?;
        } else if !config.pages.is_empty() {
            let kernel = match release {
                Some(release) => format!("kernel {release} reads"),
                None => {
                    "the running kernel's release is unknown, so it is taken to read".to_string()
                }
            };
            writeln!(
                f,
                "# nothing for huge pages: {kernel} no per-node hugepages= (Linux 5.16 and later do; EL8's 4.18 and EL9's 5.14 do not), so the units reserve them"
            )?;
        } else {
            writeln!(f, "# nothing: no huge pages to reserve")?;
        }
        if !config.isolated.is_empty() {
            writeln!(
                f,
                "# tuned's {TUNED_PROFILE} adds its own (nohz_full={}, nohz=on, ...) to the boot entries when it is activated",
                config.isolated
            )?;
        }
        Ok(())
    }

    fn steps(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = self.config;
        writeln!(f, "=== then")?;
        let mut step = 0;
        let mut say = |f: &mut fmt::Formatter<'_>, text: &str| {
            step += 1;
            writeln!(f, "{step}. {text}")
        };
        say(f, "put the host in Maintenance in the engine")?;
        say(f, "write these files: the same command with --write /")?;
        if boot_reserves_pages(config) {
            say(f, "set the kernel command line above in the engine (Edit Host > Kernel), then Installation > Reinstall")?;
        }
        if !config.isolated.is_empty() {
            say(f, &format!("tuned-adm profile {TUNED_PROFILE} (to keep the active profile's settings: tuned-adm profile $(cat /etc/tuned/active_profile) {TUNED_PROFILE})"))?;
        }
        say(f, "reboot: the isolation and the kernel arguments need it, and 1G pages are only sure to be found early at boot")?;
        say(
            f,
            "the same command with --check instead of --write: exit 0 when the host holds it all",
        )?;
        say(f, "activate the host in the engine")
    }
}

/// The same configuration for scripts and playbooks: sets as cpuset text,
/// each file with what goes into it.
#[derive(Serialize)]
pub(crate) struct PreparationJson<'a> {
    guests: &'a [String],
    isolated: String,
    housekeeping: String,
    pages: Vec<PagesJson>,
    /// For the engine's kernel command line; empty when the kernel reads
    /// no per-node counts or nothing is reserved.
    kernel_arguments: Vec<String>,
    files: Vec<FileJson>,
    warnings: &'a [String],
}

#[derive(Serialize)]
struct PagesJson {
    node: u32,
    size_kib: u64,
    count: u64,
}

#[derive(Serialize)]
struct FileJson {
    path: String,
    /// whole, set or link.
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    variable: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<String>,
}

impl Preparation<'_> {
    pub(crate) fn to_json(&self) -> PreparationJson<'_> {
        let config = self.config;
        let files = host_files(config)
            .into_iter()
            .map(|file| {
                let mut json = FileJson {
                    path: file.path,
                    kind: "whole",
                    text: None,
                    mode: None,
                    variable: None,
                    value: None,
                    target: None,
                };
                match file.content {
                    Content::Whole { text, mode } => {
                        json.text = Some(text);
                        json.mode = Some(format!("{mode:04o}"));
                    }
                    Content::Set { name, value, .. } => {
                        json.kind = "set";
                        json.variable = Some(name.to_string());
                        json.value = Some(value);
                    }
                    Content::Link { target } => {
                        json.kind = "link";
                        json.target = Some(target);
                    }
                }
                json
            })
            .collect();
        PreparationJson {
            guests: self.guests,
            isolated: config.isolated.to_string(),
            housekeeping: config.housekeeping.to_string(),
            pages: config
                .pages
                .iter()
                .map(|p| PagesJson {
                    node: p.node,
                    size_kib: p.size_kib,
                    count: p.count,
                })
                .collect(),
            kernel_arguments: match boot_reserves_pages(config) {
                true => hugepage_arguments(config),
                false => Vec::new(),
            },
            files,
            warnings: &config.warnings,
        }
    }
}
