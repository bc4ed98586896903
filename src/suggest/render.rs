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
        self.engine_steps(f)?;
        writeln!(f, "{}", self.values())?;
        f.write_str(&self.fragment())
    }
}

impl Proposal {
    /// The engine's side, in the order of the Edit VM dialog's tabs.
    fn engine_steps(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &self.engine;
        writeln!(f, "# on the engine, Edit VM:")?;
        writeln!(
            f,
            "#   System: Memory Size {} MB, Total Virtual CPUs {}; Advanced Parameters: \
             Virtual Sockets {}, Cores per Virtual Socket {}, Threads per Core {} \
             (one socket a cell)",
            e.memory_mib, e.vcpus, e.sockets, e.cores_per_socket, e.threads_per_core
        )?;
        writeln!(f, "#   Host: Start Running On: Specific Host(s), this host")?;
        writeln!(
            f,
            "#   Resource Allocation: CPU Pinning Policy Manual, CPU Pinning topology {}",
            e.cpu_pinning
        )?;
        match self.hugepage_kib {
            Some(size) => writeln!(
                f,
                "#   Custom Properties: hugepages={size} (oVirt's own, pages of {}), and the values below",
                Size(size)
            ),
            None => writeln!(f, "#   Custom Properties: the values below"),
        }
    }
}

#[derive(Serialize)]
struct EngineJson<'p> {
    cpu_pinning_policy: &'static str,
    cpu_pinning: &'p str,
    sockets: usize,
    cores_per_socket: u64,
    threads_per_core: u32,
    vcpus: u32,
    memory_mb: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    hugepages: Option<u64>,
}

#[derive(Serialize)]
struct ProposalJson<'p> {
    cputune: String,
    numatune: String,
    guestnuma: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    emulatorpin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iothreadpin: Option<String>,
    reserve: String,
    cells: Vec<CellJson>,
    engine: EngineJson<'p>,
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
            engine: EngineJson {
                cpu_pinning_policy: "manual",
                cpu_pinning: &self.engine.cpu_pinning,
                sockets: self.engine.sockets,
                cores_per_socket: self.engine.cores_per_socket,
                threads_per_core: self.engine.threads_per_core,
                vcpus: self.engine.vcpus,
                memory_mb: self.engine.memory_mib,
                hugepages: self.hugepage_kib,
            },
            xml: self.fragment(),
        }
    }
}
