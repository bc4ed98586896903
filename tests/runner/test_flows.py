#!/usr/bin/python3
"""The hook through VDSM's flows around the start, as tests/vdsm-runner models
them: restore, migration of engine-pinned VMs, huge pages VDSM allocates
before the hooks, NIC hotplug. Runs the staged hook entries on the binary
cargo built (LARGEGUEST_BIN, else target/debug or target/release).

python3 -m unittest discover -s tests/runner
"""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
RUNNER = os.path.join(REPO, "tests", "vdsm-runner")
SAMPLE = os.path.join(REPO, "testdata", "engine-4.5.xml")
SYSFS = os.path.join(REPO, "testdata", "sysfs")


def binary():
    candidates = [os.environ.get("LARGEGUEST_BIN", "")] + [
        os.path.join(REPO, "target", profile, "vdsm-hook-largeguest")
        for profile in ("debug", "release")]
    found = [c for c in candidates if c and os.access(c, os.X_OK)]
    return max(found, key=os.path.getmtime) if found else None


class Flow(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        hook = binary()
        if hook is None:
            raise unittest.SkipTest("no built hook: run cargo build (or set LARGEGUEST_BIN)")
        cls.tmp = tempfile.mkdtemp(prefix="largeguest-flows-")
        # The hooks run as vdsm when the runner is root: everything readable.
        os.chmod(cls.tmp, 0o755)
        subprocess.run([os.path.join(REPO, "tests", "e2e", "stage.sh"), hook, cls.tmp],
                       check=True, capture_output=True)
        cls.hooks = os.path.join(cls.tmp, "usr/libexec/vdsm/hooks/before_vm_start")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def engine_xml(self, replace=()):
        with open(SAMPLE, encoding="utf-8") as f:
            text = f.read()
        for old, new in replace:
            self.assertIn(old, text)
            text = text.replace(old, new)
        fd, path = tempfile.mkstemp(suffix=".xml", dir=self.tmp)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(path, 0o644)
        self.addCleanup(os.unlink, path)
        return path

    def host(self, tree="tuned", free_1g=None):
        """A copy of a fake sysfs tree, free 1 GiB pages per node as given."""
        path = tempfile.mkdtemp(dir=self.tmp)
        shutil.copytree(os.path.join(SYSFS, tree), path, dirs_exist_ok=True)
        for node, free in enumerate(free_1g or []):
            folder = os.path.join(path, f"devices/system/node/node{node}/hugepages/hugepages-1048576kB")
            for name, value in (("free_hugepages", free), ("nr_hugepages", free)):
                with open(os.path.join(folder, name), "w", encoding="ascii") as f:
                    f.write(f"{value}\n")
        for root, dirs, files in os.walk(path):
            os.chmod(root, 0o755)
            for name in files:
                os.chmod(os.path.join(root, name), 0o666)
        return path

    def run_flow(self, flow, xml, props, *options):
        argv = [RUNNER, "--flow", flow, "--shared-pool", "0-31", *options, self.hooks, xml]
        argv += [f"{k}={v}" for k, v in props.items()]
        return subprocess.run(argv, capture_output=True, text=True, check=False)

    def said(self, proc):
        return [l for l in proc.stderr.splitlines() if l.startswith("vdsm-hook-largeguest:")]

    def pins(self, xml_text):
        return dict(re.findall(r'<vcpupin vcpu="(\d+)" cpuset="([^"]*)"', xml_text))


class Restore(Flow):
    """Hibernation and memory snapshots: VDSM restores the engine's pins."""

    def test_pins_that_agree_with_the_engine_string_survive_a_restore(self):
        host = self.host()
        for flow in ("restore", "snapshot-restore"):
            proc = self.run_flow(flow, self.engine_xml(), {"cputune": "0#0,1#5",
                                                          "LARGEGUEST_SYSFS_ROOT": host})
            self.assertEqual(proc.returncode, 0, proc.stderr)
            pins = self.pins(proc.stdout)
            self.assertEqual((pins["0"], pins["1"]), ("0", "5"), flow)

    def test_a_cputune_the_engine_string_contradicts_is_refused_at_first_start(self):
        proc = self.run_flow("start", self.engine_xml(), {"cputune": "0#1,1#5",
                                                         "LARGEGUEST_SYSFS_ROOT": self.host()})
        self.assertEqual(proc.returncode, 2)
        self.assertEqual(len(self.said(proc)), 1, proc.stderr)
        self.assertIn("vCPU 0 is pinned to CPU 1 here, but the engine's CPU Pinning topology "
                      "pins it to CPU 0", self.said(proc)[0])
        self.assertIn("CPU Pinning topology to the same pins, 0#1_1#5", self.said(proc)[0])

    def test_a_vcpu_the_engine_string_skips_is_refused_before_vdsm_writes_none(self):
        xml = self.engine_xml([('<vcpupin vcpu="0" cpuset="0" />',
                                '<vcpupin vcpu="0" cpuset="0" /><vcpupin vcpu="2" cpuset="2" />')])
        proc = self.run_flow("start", xml, {"cputune": "0#0,1#1,2#2",
                                           "LARGEGUEST_SYSFS_ROOT": self.host()})
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn('leaves it out while pinning vCPU 2, and VDSM then writes cpuset=\'None\'',
                      proc.stderr)


DEDICATED = [
    ("<ovirt-vm:cpuPolicy>manual</ovirt-vm:cpuPolicy>",
     "<ovirt-vm:cpuPolicy>dedicated</ovirt-vm:cpuPolicy>"),
    ('<vcpupin vcpu="0" cpuset="0" />',
     "".join(f'<vcpupin vcpu="{v}" cpuset="{16 + v}" />' for v in range(16))),
    ("</cputune>", '</cputune><numatune><memnode cellid="0" mode="strict" nodeset="1" /></numatune>'),
    ("<ovirt-vm:cputune>0#0,1#1</ovirt-vm:cputune>", ""),
]


class Migration(Flow):
    def test_the_engine_rebinds_memnodes_after_the_destination_hook(self):
        # The source pinned to node 1; the destination gets CPUs 0-15 and node 0.
        proc = self.run_flow("migrate", self.engine_xml(DEDICATED), {
            "emulatorpin": "31", "LARGEGUEST_SYSFS_ROOT": self.host()},
            "--cpusets", ",".join(str(c) for c in range(16)), "--nodesets", "0",
            "--at-destination", "LARGEGUEST_SYSFS_ROOT=" + self.host("laptop"))
        # The laptop has CPUs 0-7: the pins VDSM rewrote are checked, the memnode is not.
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("<vcpupin> pins to host CPU 8,", proc.stderr)
        # CPUs it has: the source's memnode (node 1) is not judged; libvirt gets node 0.
        proc = self.run_flow("migrate", self.engine_xml(DEDICATED), {
            "emulatorpin": "7", "LARGEGUEST_SYSFS_ROOT": self.host()},
            "--cpusets", ",".join(str(c % 8) for c in range(16)), "--nodesets", "0",
            "--at-destination", "LARGEGUEST_SYSFS_ROOT=" + self.host("laptop"))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn('<memnode cellid="0" mode="strict" nodeset="0" />', proc.stdout)
        self.assertEqual(self.pins(proc.stdout)["9"], "1")

    def test_a_memnode_of_a_manual_vm_travels_and_is_checked(self):
        manual = [(old, new) for old, new in DEDICATED if "cpuPolicy" not in old]
        # Pins the laptop has, a memnode on a node it lacks.
        manual[0] = (manual[0][0], '<vcpupin vcpu="0" cpuset="1" />')
        proc = self.run_flow("migrate", self.engine_xml(manual), {
            "emulatorpin": "7", "LARGEGUEST_SYSFS_ROOT": self.host()},
            "--at-destination", "LARGEGUEST_SYSFS_ROOT=" + self.host("laptop"))
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("<numatune><memnode> binds memory to host node 1", proc.stderr)


class IsolateThreads(Flow):
    """VDSM keeps the siblings of such a VM's CPUs out of every pool."""

    def xml(self, policy):
        return self.engine_xml([(old.replace("dedicated", policy), new.replace("dedicated", policy))
                                for old, new in DEDICATED[:2]]
                               + [DEDICATED[3]])

    def test_an_emulatorpin_on_the_vcpus_siblings_is_named(self):
        # vCPUs on CPUs 16-31; CPU 64 is CPU 16's sibling on this host.
        host = self.host("two-socket-ht")
        proc = self.run_flow("start", self.xml("isolate-threads"),
                             {"emulatorpin": "64", "LARGEGUEST_SYSFS_ROOT": host})
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("warning: emulatorpin: the emulator threads would run on CPU 64, sibling "
                      "threads of the CPUs the engine gave the vCPUs under CPU pinning policy "
                      "isolate-threads", proc.stderr)
        proc = self.run_flow("start", self.xml("dedicated"),
                             {"emulatorpin": "64", "LARGEGUEST_SYSFS_ROOT": host})
        self.assertNotIn("sibling threads", proc.stderr)
        proc = self.run_flow("start", self.xml("isolate-threads"),
                             {"emulatorpin": "0", "LARGEGUEST_SYSFS_ROOT": host})
        self.assertNotIn("sibling threads", proc.stderr)


SRIOV_NIC = """<hotplug><devices><interface type="hostdev" managed="no">
  <mac address="56:6f:4a:b0:00:09"/>
  <source><address type="pci" domain="0x0000" bus="0xaf" slot="0x02" function="0x1"/></source>
  <alias name="ua-9e8d7c6b-5a49-4837-9261-504f3e2d1c0b"/>
</interface></devices></hotplug>"""


class NicHotplug(Flow):
    """before_nic_hotplug gets the <interface> alone and the VM's properties."""

    def nic(self, text=SRIOV_NIC):
        fd, path = tempfile.mkstemp(suffix=".xml", dir=self.tmp)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(path, 0o644)
        return path

    def plug(self, props, nic=None):
        props = dict(props, LARGEGUEST_SYSFS_ROOT=self.host())
        return self.run_flow("nic-hotplug", self.engine_xml(), props, "--nic", nic or self.nic())

    def test_a_function_off_the_memory_nodes_is_refused_under_required(self):
        # 0000:af:02.1 sits on node 1; the memory is bound to node 0.
        proc = self.plug({"numatune": "strict#0", "pci_numa_affinity": "required"})
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("pci_numa_affinity: the host device 0000:af:02.1 (<interface>) sits on "
                      "host node 1, but the guest's memory is bound (strict) to node 0",
                      proc.stderr)
        self.assertIn("the engine shows: Hook Error", proc.stderr)

    def test_a_function_on_the_memory_nodes_passes_unchanged(self):
        proc = self.plug({"guestnuma": "0-7#2G#0,8-15#2G#1", "pci_numa_affinity": "required"})
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("sits on host node 1, where the guest's memory is", proc.stderr)
        self.assertIn('bus="0xaf" slot="0x02" function="0x1"', proc.stdout)

    def test_preferred_warns_and_plugs(self):
        proc = self.plug({"numatune": "strict#0"})
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("warning: pci_numa_affinity: the host device 0000:af:02.1", proc.stderr)

    def test_a_bridged_nic_is_not_judged(self):
        bridge = ('<interface type="bridge"><source bridge="ovirtmgmt"/>'
                  '<model type="virtio"/></interface>')
        proc = self.plug({"numatune": "strict#0", "pci_numa_affinity": "required"},
                         self.nic(bridge))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("takes no host PCI function", proc.stderr)


HUGE = [
    ("</currentMemory>", "</currentMemory><memoryBacking><hugepages><page size=\"1048576\" /></hugepages></memoryBacking>"),
    ("<ovirt-vm:cputune>0#0,1#1</ovirt-vm:cputune>",
     "<ovirt-vm:hugepages>1048576</ovirt-vm:hugepages>"),
]
CELLS = {"guestnuma": "0-7#2G#0,8-15#2G#1", "numatune": "strict#0-1"}


class HugePagesVdsmAllocates(Flow):
    """use_dynamic_hugepages: VDSM allocates before the hooks, at a start
    and at a migration destination alike; the kernel spreads the pages."""

    def test_the_destination_sees_what_vdsm_allocated_there(self):
        source, destination = self.host(free_1g=[0, 0]), self.host(free_1g=[0, 0])
        proc = self.run_flow("migrate", self.engine_xml(HUGE),
                             dict(CELLS, LARGEGUEST_SYSFS_ROOT=source),
                             "--dynamic-hugepages", source,
                             "--destination-hugepages", destination,
                             "--at-destination", "LARGEGUEST_SYSFS_ROOT=" + destination)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("VDSM allocated 4 huge pages", proc.stderr)

    def test_free_pages_on_the_wrong_node_refuse_the_destination(self):
        source = self.host(free_1g=[2, 2])
        # 4 free pages, all on node 1: VDSM allocates none, cell 0 finds none on node 0.
        destination = self.host(free_1g=[0, 4])
        proc = self.run_flow("migrate", self.engine_xml(HUGE),
                             dict(CELLS, LARGEGUEST_SYSFS_ROOT=source),
                             "--destination-hugepages", destination,
                             "--at-destination", "LARGEGUEST_SYSFS_ROOT=" + destination)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("migration refused: hugepages: cell 0 needs 2 pages of 1G on host node 0",
                      proc.stderr)


if __name__ == "__main__":
    unittest.main()
