//! The proposal as the administrator reads it, and as JSON.

use std::fmt::{self, Write};

use serde::Serialize;

use crate::host::topology::Gib;
use crate::properties::guestnuma::Size;
use crate::properties::numatune::Placement;

use super::types::{Proposal, Reserve};

impl Proposal {
    /// The elements the three values make the hook write, in libvirt's form.
    pub fn fragment(&self) -> String {
        let mut xml = String::from("<cputune>\n");
        for pin in &self.cputune.pins {
            let _ = writeln!(
                xml,
                "  <vcpupin vcpu='{}' cpuset='{}'/>",
                pin.vcpu, pin.cpuset
            );
        }
        if !self.emulatorpin.is_empty() {
            let _ = writeln!(xml, "  <emulatorpin cpuset='{}'/>", self.emulatorpin);
        }
        for pin in self.iothreadpin.iter().flat_map(|p| &p.pins) {
            let _ = writeln!(
                xml,
                "  <iothreadpin iothread='{}' cpuset='{}'/>",
                pin.iothread, pin.cpuset
            );
        }
        xml.push_str("</cputune>\n<numatune>\n");
        let mode = self.numatune.mode;
        if let Placement::Nodes(nodes) = &self.numatune.placement {
            let _ = writeln!(xml, "  <memory mode='{mode}' nodeset='{nodes}'/>");
        }
        for (id, cell) in self.cells.iter().enumerate() {
            let _ = writeln!(
                xml,
                "  <memnode cellid='{id}' mode='{mode}' nodeset='{}'/>",
                cell.node
            );
        }
        xml.push_str("</numatune>\n<cpu>\n  <numa>\n");
        for (id, cell) in self.cells.iter().enumerate() {
            let _ = writeln!(
                xml,
                "    <cell id='{id}' cpus='{}' memory='{}' unit='KiB'/>",
                cell.vcpus, cell.memory_kib
            );
        }
        xml.push_str("  </numa>\n</cpu>\n");
        xml
    }

    /// `NAME=VALUE` lines, as `check` prints them.
    pub fn values(&self) -> String {
        let mut values = format!(
            "cputune={}\nnumatune={}\nguestnuma={}\n",
            self.cputune, self.numatune, self.guestnuma
        );
        if !self.emulatorpin.is_empty() {
            let _ = writeln!(values, "emulatorpin={}", self.emulatorpin);
        }
        if let Some(pins) = &self.iothreadpin {
            let _ = writeln!(values, "iothreadpin={pins}");
        }
        values
    }
}

/// What the administrator reads first: where each cell went and why it fits.
impl fmt::Display for Proposal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "# host CPUs kept free: {}", Reserve(&self.reserve))?;
        for (id, cell) in self.cells.iter().enumerate() {
            writeln!(
                f,
                "# cell {id}: vCPUs {} on host node {} CPUs {}, {} of its {} free",
                cell.vcpus,
                cell.node,
                cell.host_cpus,
                Size(cell.memory_kib),
                Gib(cell.node_free_kib)
            )?;
        }
        match self.emulatorpin.is_empty() {
            true => writeln!(
                f,
                "# no housekeeping CPU is left for the emulator and I/O threads: reserve one with --reserve"
            )?,
            false => writeln!(
                f,
                "# emulator and I/O threads: host CPUs {}, housekeeping CPUs outside the vCPUs",
                self.emulatorpin
            )?,
        }
        if let Some(size) = self.hugepage_kib {
            writeln!(
                f,
                "# huge pages of {}: set oVirt's own custom property hugepages={size} too",
                Size(size)
            )?;
        }
        writeln!(f, "{}", self.values())?;
        f.write_str(&self.fragment())
    }
}

#[derive(Serialize)]
struct ProposalJson {
    cputune: String,
    numatune: String,
    guestnuma: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    emulatorpin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iothreadpin: Option<String>,
    reserve: String,
    cells: Vec<CellJson>,
    xml: String,
}

#[derive(Serialize)]
struct CellJson {
    node: u32,
    vcpus: String,
    host_cpus: String,
    memory_kib: u64,
}

impl Proposal {
    /// What `suggest --json` prints: the commands layer renders it.
    pub fn json(&self) -> impl Serialize + '_ {
        ProposalJson {
            cputune: self.cputune.to_string(),
            numatune: self.numatune.to_string(),
            guestnuma: self.guestnuma.to_string(),
            emulatorpin: (!self.emulatorpin.is_empty()).then(|| self.emulatorpin.to_string()),
            iothreadpin: self.iothreadpin.as_ref().map(ToString::to_string),
            reserve: self.reserve.to_string(),
            cells: self
                .cells
                .iter()
                .map(|cell| CellJson {
                    node: cell.node,
                    vcpus: cell.vcpus.to_string(),
                    host_cpus: cell.host_cpus.to_string(),
                    memory_kib: cell.memory_kib,
                })
                .collect(),
            xml: self.fragment(),
        }
    }
}
