//! Domain XMLs as oVirt's engine writes them for `before_vm_start`: double
//! quotes, the `ovirt-vm` metadata namespace with an entry per device, an
//! empty `<cputune></cputune>` and one guest NUMA cell, indented by two.
//! Generated, not stored, so any size can be benchmarked.

use std::fmt::Write;

/// What a benchmarked VM looks like.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    pub vcpus: u32,
    /// Guest NUMA cells the properties ask for; each gets 8 GiB.
    pub cells: u32,
    pub devices: u32,
    /// The document already pins every vCPU, as after a migration or a
    /// second start: the rewrite then replaces pins instead of adding them.
    pub pinned: bool,
}

/// The three sizes of the benchmark suite.
pub(crate) const SIZES: [(&str, Shape); 3] = [
    ("typical", Shape::new(16, 2, 20)),
    ("large", Shape::new(128, 4, 300)),
    ("huge", Shape::new(384, 8, 3000)),
];

impl Shape {
    pub(crate) const fn new(vcpus: u32, cells: u32, devices: u32) -> Shape {
        Shape {
            vcpus,
            cells,
            devices,
            pinned: false,
        }
    }

    pub(crate) fn memory_kib(&self) -> u64 {
        u64::from(self.cells) * 8 * 1024 * 1024
    }

    /// `cputune`, `numatune` and `guestnuma` pinning every vCPU to its own
    /// host CPU and every cell to its own host node.
    pub(crate) fn properties(&self) -> Vec<(&'static str, String)> {
        let pins: Vec<String> = (0..self.vcpus).map(|v| format!("{v}#{v}")).collect();
        let per_cell = self.vcpus / self.cells;
        let cells: Vec<String> = (0..self.cells)
            .map(|c| {
                let (lo, hi) = (c * per_cell, (c + 1) * per_cell - 1);
                format!("{lo}-{hi}#8G#{c}")
            })
            .collect();
        vec![
            ("cputune", pins.join("_")),
            ("numatune", format!("strict#0-{}", self.cells - 1)),
            ("guestnuma", cells.join("_")),
        ]
    }

    pub(crate) fn domxml(&self) -> String {
        let mut x = String::with_capacity(400 * self.devices as usize + 4096);
        let uuid = uuid(0);
        let mem = self.memory_kib();
        let _ = write!(
            x,
            r#"<?xml version="1.0" encoding="UTF-8"?>
<domain type="kvm" xmlns:ovirt-tune="http://ovirt.org/vm/tune/1.0" xmlns:ovirt-vm="http://ovirt.org/vm/1.0">
  <name>bench-{vcpus}-{devices}</name>
  <uuid>{uuid}</uuid>
  <memory>{mem}</memory>
  <currentMemory>{mem}</currentMemory>
  <maxMemory slots="16">{max}</maxMemory>
  <vcpu current="{vcpus}">{vcpus}</vcpu>
  <sysinfo type="smbios">
    <system>
      <entry name="manufacturer">oVirt</entry>
      <entry name="product">RHEL</entry>
      <entry name="version">9.4-1.el9</entry>
      <entry name="serial">30393036-3539-5a43-3332-323730324c4e</entry>
      <entry name="uuid">{uuid}</entry>
      <entry name="family">oVirt</entry>
    </system>
  </sysinfo>
  <clock offset="variable" adjustment="0">
    <timer name="rtc" tickpolicy="catchup"></timer>
    <timer name="pit" tickpolicy="delay"></timer>
    <timer name="hpet" present="no"></timer>
  </clock>
  <features>
    <acpi></acpi>
    <vmcoreinfo></vmcoreinfo>
  </features>
  <cpu match="exact">
    <model>Skylake-Server-noTSX-IBRS</model>
    <feature name="spec-ctrl" policy="require"></feature>
    <feature name="ssbd" policy="require"></feature>
    <topology cores="{vcpus}" threads="1" sockets="1"></topology>
    <numa>
      <cell id="0" cpus="0-{last}" memory="{mem}"></cell>
    </numa>
  </cpu>
  <cputune>"#,
            vcpus = self.vcpus,
            devices = self.devices,
            max = mem * 4,
            last = self.vcpus - 1,
        );
        if self.pinned {
            for v in 0..self.vcpus {
                let _ = write!(
                    x,
                    "\n    <vcpupin vcpu=\"{v}\" cpuset=\"{}\"></vcpupin>",
                    v + 1
                );
            }
            x.push_str("\n  ");
        }
        x.push_str("</cputune>\n  <devices>");
        for d in 0..self.devices {
            device(&mut x, d);
        }
        x.push_str(
            r#"
  </devices>
  <pm>
    <suspend-to-disk enabled="false"></suspend-to-disk>
    <suspend-to-mem enabled="false"></suspend-to-mem>
  </pm>
  <os>
    <type arch="x86_64" machine="pc-q35-rhel9.4.0">hvm</type>
    <smbios mode="sysinfo"></smbios>
    <bios useserial="yes"></bios>
  </os>
  <metadata>
    <ovirt-tune:qos></ovirt-tune:qos>
    <ovirt-vm:vm>
      <ovirt-vm:minGuaranteedMemoryMb type="int">16384</ovirt-vm:minGuaranteedMemoryMb>
      <ovirt-vm:clusterVersion>4.7</ovirt-vm:clusterVersion>
      <ovirt-vm:custom></ovirt-vm:custom>"#,
        );
        for d in 0..self.devices {
            device_metadata(&mut x, d);
        }
        x.push_str(
            r"
      <ovirt-vm:launchPaused>false</ovirt-vm:launchPaused>
      <ovirt-vm:resumeBehavior>auto_resume</ovirt-vm:resumeBehavior>
    </ovirt-vm:vm>
  </metadata>
</domain>
",
        );
        x
    }
}

fn uuid(n: u32) -> String {
    format!(
        "6f1c2b8e-4d3a-4c1e-9a57-{:012x}",
        0x2b0e4c7d9f10_u64 + u64::from(n)
    )
}

/// Disks and NICs in turn, each with the alias and PCI address the engine
/// gives; about 300 bytes a device, metadata included.
fn device(x: &mut String, d: u32) {
    let id = uuid(d + 1);
    let (bus, slot) = (d / 32 + 1, d % 32);
    let address =
        format!(r#"<address bus="0x{bus:02x}" slot="0x{slot:02x}" type="pci"></address>"#);
    if d.is_multiple_of(2) {
        let _ = write!(
            x,
            r#"
    <disk type="file" device="disk" snapshot="no">
      <target dev="vd{d}" bus="virtio"></target>
      <source file="/rhev/data-center/5a3b/images/{d:08x}"></source>
      <alias name="ua-{id}"></alias>
      {address}
    </disk>"#
        );
    } else {
        let _ = write!(
            x,
            r#"
    <interface type="bridge">
      <model type="virtio"></model>
      <source bridge="ovirtmgmt"></source>
      <alias name="ua-{id}"></alias>
      {address}
      <mac address="56:6f:{:02x}:{:02x}:00:01"></mac>
    </interface>"#,
            d >> 8 & 0xff,
            d & 0xff
        );
    }
}

/// The engine keeps storage ids of the disks in the metadata.
fn device_metadata(x: &mut String, d: u32) {
    if d.is_multiple_of(4) {
        let _ = write!(
            x,
            r#"
      <ovirt-vm:device devtype="disk" name="vd{d}">
        <ovirt-vm:imageID>{d:08x}</ovirt-vm:imageID>
      </ovirt-vm:device>"#
        );
    }
}
