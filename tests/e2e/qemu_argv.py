#!/usr/bin/python3
"""libvirt's QEMU driver as judge: what QEMU gets before and after the hook.

usage: qemu_argv.py --stage DIR [--keep DIR] [--generated DIR] [--list] [CASE...]

For each case (a sample and properties) the staged hook runs `apply
--dry-run` on a fake host; the input and the output are each defined with
the QEMU driver, read back with `dumpxml --inactive`, and turned into the
QEMU command line libvirt would run (`domxml-to-native qemu-argv`). From
those two readings this builds the guest as QEMU gets it:

- each region of guest memory: every `-numa node`'s memory backend, the
  machine's memory backend of a guest without cells, every memory device's
  backend, with its size, its backing (backend type, page size, prealloc,
  share, discard, reserve) and its host binding (policy and host nodes;
  restrictive, which libvirt enforces through cgroups, from dumpxml);
- the NUMA nodes (vCPUs, size), distances and HMAT entries, `-smp`, the I/O
  thread objects, memory and PCI passthrough devices;
- the vCPU, emulator and I/O thread pins (from dumpxml).

The two must differ only as the properties asked: the guest's total memory
never changes; memory per backing (the KiB on each kind of backing) never
changes; the binding changes only with numatune or guestnuma's host nodes;
the NUMA nodes only with guestnuma, and distances or HMAT never vanish
unless the hook refused; pins change only for the vCPUs and threads named.

Cases with a `host` also judge the hook's host checks against the command
line: every region QEMU preallocates from huge pages on bound nodes must
find free pages there (every set of host nodes is checked, no cap), a
region bound to nodes must fit in their memory, a cell whose vCPUs are
pinned off its memory's nodes is warned about, and a passthrough device off
the bound nodes is refused with pci_numa_affinity=required. The hook's
start entry must refuse exactly when QEMU would fail, and the migration
entry must give the same verdict on the document libvirt would hand over.

With `--generated DIR`, the documents tests/it/qemu_generated.rs draws from
a fixed seed (cases.tsv: number, properties, what the document holds) are
judged the same way on the generous host. The hook may refuse one, on one
line naming a property given, but must apply at least half of them.

A case marked `known` is a wrong answer the project knows of: it is reported
XFAIL and does not fail the run; if it passes, XPASS fails the run, so the
mark goes when the fix lands.
"""

import argparse
import itertools
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field

import qemu_define as qd
from qemu_define import CommandError, fmt, id_set, run, virsh

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
GIB = 1024 * 1024


@dataclass
class Host:
    """A fake host: nodes of `cpus_per_node` CPUs each, their memory and free
    huge pages ({node: {page KiB: count}}), PCI devices {address: node}."""

    nodes: int = 8
    cpus_per_node: int = 16
    total_kib: int = 4096 * GIB
    free_kib: int | None = None
    free_pages: dict | None = None
    pci: dict = field(default_factory=dict)

    def node_cpus(self, node):
        return set(range(node * self.cpus_per_node, (node + 1) * self.cpus_per_node))

    def free(self, node, page_kib):
        if self.free_pages is None:
            return 1 << 40
        return self.free_pages.get(node, {}).get(page_kib, 0)


GENEROUS = Host()


@dataclass
class Case:
    sample: str
    properties: str
    # "ok": the hook must apply it; "refused": it must refuse, saying `says`;
    # "either" (a generated case): applied, or refused naming a property given
    expect: str = "ok"
    says: str | None = None
    host: Host | None = None
    # the wrong answer known today, and why (the issue it belongs to)
    known: str | None = None
    # what the properties meant, as qemu_define.Case says it
    cells: list | None = None
    pins: dict | None = None
    numatune: tuple | None = None
    memnodes: dict | None = None
    # the document, where it is not testdata/SAMPLE.xml
    file: str | None = None

    @property
    def path(self):
        return self.file or os.path.join(REPO, "testdata", self.sample + ".xml")

    @property
    def label(self):
        where = f" on {self.host_label()}" if self.host else ""
        return f"{self.sample} {self.properties}{where}"

    def host_label(self):
        h = self.host
        parts = [f"{h.nodes}x{h.cpus_per_node} CPUs"]
        if h.total_kib != GENEROUS.total_kib:
            parts.append(f"{h.total_kib // GIB}G/node")
        if h.free_pages is not None:
            parts.append("pages " + ";".join(
                f"{n}:" + "+".join(f"{c}x{k}k" for k, c in sorted(p.items()))
                for n, p in sorted(h.free_pages.items())))
        if h.pci:
            parts.append("pci " + ",".join(f"{a}@{n}" for a, n in sorted(h.pci.items())))
        return " ".join(parts)


SMALL = dict(nodes=2, cpus_per_node=8)
ELEVEN_SETS = ("guestnuma=0#2G#0-1,1#2G#1-2,2#1G#3,3#1G#4,4#1G#5,5#1G#6,6#1G#7,"
               "7#1G#3-4,8#1G#5-6,9#1G#6-7,10#1G#4-5")

CASES = [
    # Memory backing changed without being asked.
    Case("model/nonuma-page-nodeset0", "guestnuma=2"),
    Case("model/nonuma-page-nodeset0", "guestnuma=0-1#2G,2-3#2G"),
    Case("hugepages-split", "guestnuma=8"),
    Case("hugepages-split", "guestnuma=2"),
    # The cells' memory bound to two nodes, one new cell over both.
    Case("numatune-memnodes", "guestnuma=1", expect="refused", says="guestnuma"),
    # The engine's memnodes decide where their cells' memory goes.
    Case("numatune-memnodes", "numatune=interleave#0-1", expect="refused", says="numatune"),
    Case("model/nonuma-page-nodeset0", "guestnuma=0-1#1G,2-3#3G"),
    Case("model/page-nodeset-spaced", "guestnuma=2"),
    Case("model/page-nodeset-excluded", "guestnuma=2", expect="refused", says="guestnuma"),
    Case("model/hmat", "guestnuma=4", expect="refused", says="guestnuma=4 splits the guest"),
    Case("model/hmat", "guestnuma=0-1#1G,2-3#3G", cells=[("0-1", 1024), ("2-3", 3072)]),
    Case("model/hmat", "cputune=0-3#0-3"),
    Case("model/cells-sum-differs", "guestnuma=2", cells=[("0-1", 2048), ("2-3", 2048)]),
    Case("model/cells-sum-differs", "guestnuma=0-1#4G,2-3#4G", expect="refused", says="guestnuma"),
    Case("memaccess-shared", "guestnuma=1"),
    Case("dimm-hotplug", "guestnuma=2"),
    # The engine's memnodes of cells whose vCPUs change are refused.
    Case("hugepages-cells", "guestnuma=2", expect="refused", says="guestnuma"),
    # Reading differently from libvirt.
    Case("model/two-cputune-emulatorpin", "emulatorpin=2"),
    Case("model/two-cputune-emulatorpin", "iothreadpin=1#2"),
    Case("model/two-cputune-emulatorpin", "cputune=0#1,1#1"),
    Case("model/iothread-big-id", "iothreadpin=4000000000#1"),
    # VDSM reads the engine's metadata child by child: the last cpuPolicy counts.
    Case("model/cpupolicy-twice", "cputune=0-3#4-7", pins={v: "4-7" for v in range(4)}),
    Case("model/topology-clusters", "guestnuma=2", expect="refused", says="clusters"),
    Case("model/pci-address-bases", "pci_numa_affinity=required",
         host=Host(**SMALL, pci={"0000:08:02.1": 1, "0000:3b:00.0": 0}),
         expect="refused", says="0000:08:02.1"),
    Case("model/pci-address-bases", "pci_numa_affinity=required",
         host=Host(**SMALL, pci={"0000:0a:02.1": 1, "0000:3b:00.0": 0, "0000:08:02.1": 0})),
    Case("model/pci-address-bases", "numatune=restrictive#0 pci_numa_affinity=required",
         host=Host(**SMALL, pci={"0000:08:02.1": 1, "0000:3b:00.0": 0}),
         expect="refused", says="0000:08:02.1"),
    # Promises of the grammar: the one-to-one form gives each vCPU a CPU of its own.
    Case("model/hmat", "cputune=0-3@0-1:2-3", pins={0: "0", 1: "2", 2: "1", 3: "3"}),
    Case("model/hmat", "cputune=0-3@0-1:1-2", expect="refused", says="cputune"),
    # Host checks that count only what the hook writes.
    Case("model/memory-devices-hugepages", "cputune=0-3#0-3",
         host=Host(**SMALL, free_pages={0: {GIB: 2}, 1: {GIB: 2}}), expect="refused", says="1G"),
    Case("model/memory-devices-hugepages", "cputune=0-3#0-3",
         host=Host(**SMALL, free_pages={0: {GIB: 2}, 1: {GIB: 4}})),
    Case("model/nonuma-hugepages-strict", "cputune=0-3#0-3",
         host=Host(**SMALL, free_pages={0: {GIB: 2}, 1: {GIB: 8}}), expect="refused", says="1G"),
    Case("model/nonuma-hugepages-strict", "numatune=restrictive#1",
         host=Host(**SMALL, free_pages={0: {GIB: 8}, 1: {GIB: 2}}), expect="refused", says="1G"),
    Case("model/nonuma-hugepages-strict", "numatune=restrictive#0",
         host=Host(**SMALL, free_pages={0: {GIB: 8}, 1: {GIB: 2}})),
    # Eleven distinct node sets, each of which fits alone; two of them
    # together need 4 pages of 1G from nodes 0-2, which have 3.
    Case("model/eleven-node-sets", ELEVEN_SETS,
         host=Host(nodes=8, cpus_per_node=2,
                   free_pages={n: {GIB: 1 if n < 3 else 4} for n in range(8)}),
         expect="refused", says="1G"),
    Case("model/eleven-node-sets", ELEVEN_SETS,
         host=Host(nodes=8, cpus_per_node=2,
                   free_pages={n: {GIB: 2 if n < 3 else 4} for n in range(8)})),
    Case("model/big-guest", "numatune=strict#0",
         host=Host(**SMALL, total_kib=192 * GIB), expect="refused", says="numatune"),
    Case("model/big-guest", "numatune=strict#0-1",
         host=Host(**SMALL, total_kib=192 * GIB)),
    Case("model/big-guest", "guestnuma=0-3#160G#0,4-7#160G#1 cputune=0-3#8-15,4-7#0-7",
         host=Host(**SMALL, total_kib=192 * GIB)),
]


# The snapshot samples' cases of the QEMU-define step, judged here too.
CASES += [Case(c.sample, c.properties, cells=c.cells, pins=c.pins) for c in qd.CASES]


def generated_cases(folder):
    """The cases tests/it/qemu_generated.rs wrote: NNN.xml and cases.tsv."""
    cases = []
    listing = os.path.join(folder, "cases.tsv")
    if not os.path.isfile(listing):
        raise SystemExit(f"qemu-argv: no {listing}: the generated cases were not written")
    with open(listing, encoding="utf-8") as f:
        for line in f:
            number, properties, features = line.rstrip("\n").split("\t")
            cases.append(Case(f"generated/{number} ({features})", properties, expect="either",
                              file=os.path.join(folder, f"{number}.xml")))
    if not cases:
        raise SystemExit(f"qemu-argv: no generated case in {folder}")
    return cases


# ---- the QEMU command line ----------------------------------------------

def options(value):
    """A -object/-device/-numa value: JSON, or QEMU's key=value list."""
    if value.startswith("{"):
        return json.loads(value)
    out = {}
    for i, part in enumerate(value.split(",")):
        key, eq, val = part.partition("=")
        if not eq:
            out["type" if i == 0 else key] = key if i == 0 else True
        else:
            out[key] = val
    return out


def size_kib(value):
    if isinstance(value, int):
        return value // 1024
    m = re.fullmatch(r"(\d+)([kKmMgGtT]?)", str(value))
    power = " kmgt".index((m.group(2) or " ").lower())
    return int(m.group(1)) * 1024 ** power // 1024


BACKING_KEYS = ("qom-type", "page", "prealloc", "share", "discard-data", "reserve",
                "merge", "dump", "pmem", "readonly", "hugetlb", "hugetlbsize")


def page_kib(backend):
    path = backend.get("mem-path") or ""
    m = re.search(r"hugetlbfs-(\d+)kB", path)
    if m:
        return int(m.group(1))
    if "/qemu/ram/" in path:
        # memAccess='shared' without huge pages: a file per region in
        # libvirt's memory_backing_dir, named after the domain and the
        # region (ram-node0, ...): one kind of backing whatever the name.
        return "file in memory_backing_dir"
    if path:
        return f"file {path}"
    if backend.get("hugetlb") in (True, "on", "yes"):
        return size_kib(backend.get("hugetlbsize", 0)) or "default"
    return 4


@dataclass
class Region:
    name: str
    kib: int
    backing: tuple
    binding: tuple


@dataclass
class Qemu:
    """What QEMU gets, as libvirt's command line and dumpxml say."""

    memory_kib: int = 0
    smp: str = ""
    regions: dict = field(default_factory=dict)
    # nodeid -> (vCPUs, KiB)
    nodes: dict = field(default_factory=dict)
    distances: dict = field(default_factory=dict)
    hmat: list = field(default_factory=list)
    iothreads: list = field(default_factory=list)
    devices: list = field(default_factory=list)
    pci: list = field(default_factory=list)
    pins: dict = field(default_factory=dict)
    emulatorpin: frozenset | None = None
    iothreadpins: dict = field(default_factory=dict)
    numatune: tuple | None = None


def read_dumpxml(text, qemu):
    root = ET.fromstring(text)
    for tune in root.findall("cputune"):
        for pin in tune.findall("vcpupin"):
            qemu.pins[int(pin.get("vcpu"))] = id_set(pin.get("cpuset"))
        for pin in tune.findall("emulatorpin"):
            qemu.emulatorpin = id_set(pin.get("cpuset"))
        for pin in tune.findall("iothreadpin"):
            qemu.iothreadpins[int(pin.get("iothread"))] = id_set(pin.get("cpuset"))
    memory = root.find("numatune/memory")
    memnodes = {int(m.get("cellid")): (m.get("mode", "strict"), id_set(m.get("nodeset")))
                for m in root.findall("numatune/memnode")}
    if memory is not None:
        qemu.numatune = (memory.get("mode", "strict"), memory.get("placement"),
                         id_set(memory.get("nodeset")) if memory.get("nodeset") else None)
    for source in root.findall("devices/hostdev/source/address") + \
            root.findall("devices/interface/source/address"):
        if source.get("bus") is not None:
            qemu.pci.append("{:04x}:{:02x}:{:02x}.{:x}".format(
                *(int(source.get(k), 16) for k in ("domain", "bus", "slot", "function"))))
    devices = {}
    for index, dev in enumerate(root.findall("devices/memory")):
        nodemask = dev.findtext("source/nodemask")
        node = dev.findtext("target/node")
        devices[index] = (nodemask, int(node) if node is not None else -1)
    return memnodes, devices


def binding(qemu, memnodes, cell, nodemask=None):
    """libvirt's binding of a region, from dumpxml: a memory device's
    <source><nodemask>, else the cell's memnode, else <numatune><memory>
    (qemuBuildMemoryBackendProps). QEMU gets strict, interleave and
    preferred as the backend's policy; restrictive only through cgroups."""
    mode, nodes = memnodes.get(cell, (None, None))
    if mode is None and qemu.numatune:
        mode, nodes = qemu.numatune[0], qemu.numatune[2]
    if nodemask:
        return (mode or "strict", frozenset(id_set(nodemask)))
    if mode and nodes:
        return (mode, frozenset(nodes))
    return ("none", frozenset())


def read_qemu(argv_text, dumpxml):
    qemu = Qemu()
    memnodes, memory_devices = read_dumpxml(dumpxml, qemu)
    device_index = 0
    argv = shlex.split(argv_text)
    backends, machine = {}, {}
    pairs = [(argv[i], argv[i + 1]) for i in range(len(argv) - 1) if argv[i].startswith("-")]
    for flag, value in pairs:
        if flag == "-object":
            obj = options(value)
            kind = obj.get("qom-type", obj.get("type"))
            obj["qom-type"] = kind
            if kind.startswith("memory-backend"):
                backends[obj["id"]] = obj
            elif kind == "iothread":
                qemu.iothreads.append(obj["id"])
        elif flag == "-machine":
            machine = options(value)
        elif flag == "-m":
            # QEMU reads a bare number as MiB.
            m = options(value)
            size = m.get("size", m.get("type"))
            qemu.memory_kib = size_kib(size + "M" if size.isdigit() else size)
        elif flag == "-smp":
            qemu.smp = value
    for flag, value in pairs:
        if flag == "-numa":
            numa = options(value)
            kind = numa.get("type")
            if kind == "node":
                node = int(numa["nodeid"])
                cpus = set()
                for part in [v for k, v in re.findall(r"(cpus)=([0-9-]+)", value)]:
                    cpus |= id_set(part)
                backend = backends.get(numa.get("memdev"), {})
                kib = size_kib(backend.get("size", 0))
                qemu.nodes[node] = (frozenset(cpus), kib)
                qemu.regions[f"cell {node}"] = region(f"cell {node}", backend,
                                                     binding(qemu, memnodes, node))
            elif kind == "dist":
                qemu.distances[(int(numa["src"]), int(numa["dst"]))] = int(numa["val"])
            elif kind in ("hmat-lb", "hmat-cache"):
                qemu.hmat.append(value)
        elif flag == "-device":
            dev = options(value)
            driver = dev.get("driver", dev.get("type"))
            if "memdev" in dev:
                rest = tuple(sorted((k, str(v)) for k, v in dev.items() if k not in ("memdev",)))
                qemu.devices.append(rest)
                name = f"memory device {dev.get('id')}"
                nodemask, node = memory_devices.get(device_index, (None, -1))
                device_index += 1
                qemu.regions[name] = region(name, backends.get(dev["memdev"], {}),
                                            binding(qemu, memnodes, node, nodemask))
    if not qemu.nodes:
        backend = backends.get(machine.get("memory-backend"))
        if backend is None:
            backend = {"qom-type": "memory-backend-ram", "size": qemu.memory_kib * 1024}
        qemu.regions["the guest"] = region("the guest", backend, binding(qemu, memnodes, -1))
    return qemu


def region(name, backend, bound):
    props = dict(backend)
    props["page"] = page_kib(backend)
    backing = tuple((k, str(props[k])) for k in BACKING_KEYS if k in props)
    return Region(name, size_kib(backend.get("size", 0)), backing, bound)


# ---- judging ---------------------------------------------------------------

def show_backing(backing):
    return ",".join(f"{k}={v}" for k, v in backing if k != "qom-type") or "-"


def show_binding(binding):
    return f"{binding[0]}@{fmt(binding[1])}" if binding[1] else binding[0]


def per(qemu, key):
    total = Counter()
    for r in qemu.regions.values():
        total[key(r)] += r.kib
    return total


def asked(properties):
    return {p.split("=", 1)[0] for p in properties.split()}


def named_ids(properties, name):
    """The ids a cputune/iothreadpin value names (ranges included; `@` opens
    cputune's one-to-one form, VCPUS@SET:SET...)."""
    for p in properties.split():
        key, _, value = p.partition("=")
        if key == name:
            ids = set()
            for entry in re.findall(r"(?:^|[_,])(\d+(?:-\d+)?)[#@]", value):
                ids |= id_set(entry)
            return ids
    return set()


def compare(case, before, after, summary):
    """Every difference between the two readings the properties did not ask for."""
    props = asked(case.properties)
    problems = []
    if after.memory_kib != before.memory_kib:
        problems.append(f"the guest's memory went from {before.memory_kib} KiB to "
                        f"{after.memory_kib} KiB (-m)")
    b, a = per(before, lambda r: r.backing), per(after, lambda r: r.backing)
    if a != b:
        for backing in sorted(set(a) | set(b)):
            if a[backing] != b[backing]:
                problems.append(f"memory on {show_backing(backing)}: {b[backing]} KiB before, "
                                f"{a[backing]} KiB after")
    guestnuma = next((p[len("guestnuma="):] for p in case.properties.split()
                      if p.startswith("guestnuma=")), "")
    # guestnuma's CPUS#MEMORY#HOSTNODES binds cells: a memory then another '#'.
    binds_cells = re.search(r"#[0-9]+(?:KiB|MiB|GiB|TiB|K|M|G|T)?#", guestnuma) is not None
    binding_asked = "numatune" in props or binds_cells
    if not binding_asked:
        b, a = per(before, lambda r: r.binding), per(after, lambda r: r.binding)
        if a != b:
            problems.append("host binding changed: " + show_counter(b, show_binding) + " before, "
                            + show_counter(a, show_binding) + " after")
        if before.numatune != after.numatune:
            problems.append(f"numatune <memory> was {before.numatune}, now {after.numatune}")
    if "guestnuma" not in props and after.nodes != before.nodes:
        problems.append(f"NUMA nodes changed without guestnuma: {before.nodes} -> {after.nodes}")
    if len(after.nodes) == len(before.nodes):
        if after.distances != before.distances:
            problems.append(f"distances changed: {before.distances} -> {after.distances}")
        if sorted(after.hmat) != sorted(before.hmat):
            problems.append(f"HMAT changed: {before.hmat} -> {after.hmat}")
    else:
        if (before.distances and not after.distances and len(after.nodes) > 1
                and "distances" not in summary):
            problems.append("the cells' distances vanished and the summary does not say so")
        if before.hmat:
            problems.append("HMAT entries " + "; ".join(before.hmat) + " vanished")
    for what in ("smp", "iothreads", "devices", "pci"):
        if getattr(before, what) != getattr(after, what):
            problems.append(f"{what} changed: {getattr(before, what)} -> {getattr(after, what)}")
    pinned = named_ids(case.properties, "cputune")
    for vcpu in sorted(set(before.pins) | set(after.pins)):
        if vcpu not in pinned and before.pins.get(vcpu) != after.pins.get(vcpu):
            problems.append(f"vCPU {vcpu}'s pin went from {fmt(before.pins.get(vcpu))} to "
                            f"{fmt(after.pins.get(vcpu))} without cputune naming it")
    if "emulatorpin" not in props and before.emulatorpin != after.emulatorpin:
        problems.append(f"emulatorpin went from {fmt(before.emulatorpin)} to {fmt(after.emulatorpin)}")
    threads = named_ids(case.properties, "iothreadpin")
    for t in sorted(set(before.iothreadpins) | set(after.iothreadpins)):
        if t not in threads and before.iothreadpins.get(t) != after.iothreadpins.get(t):
            problems.append(f"I/O thread {t}'s pin changed without iothreadpin naming it")
    problems += meant(case, after)
    return problems


def meant(case, after):
    """What the properties asked, in what QEMU gets."""
    problems = []
    for key, value in (p.split("=", 1) for p in case.properties.split()):
        if key == "emulatorpin" and after.emulatorpin != id_set(value):
            problems.append(f"emulatorpin asked {value}, libvirt has {fmt(after.emulatorpin)}")
        if key == "iothreadpin":
            for entry in value.replace(",", "_").split("_"):
                if "#" in entry:
                    t, cpus = entry.split("#", 1)
                    for tid in id_set(t):
                        if after.iothreadpins.get(tid) != id_set(cpus):
                            problems.append(f"I/O thread {tid}: asked {cpus}, libvirt has "
                                            f"{fmt(after.iothreadpins.get(tid))}")
    if case.cells is not None:
        want = [(id_set(c), mib * 1024) for c, mib in case.cells]
        got = [after.nodes[i] for i in sorted(after.nodes)]
        if got != want:
            problems.append(f"NUMA nodes: asked {want}, QEMU gets {got}")
    for vcpu, cpus in (case.pins or {}).items():
        if after.pins.get(vcpu) != id_set(cpus):
            problems.append(f"vCPU {vcpu}: asked {cpus}, libvirt has {fmt(after.pins.get(vcpu))}")
    return problems


def show_counter(counter, show):
    return " ".join(f"{show(k)}={v}KiB" for k, v in sorted(counter.items(), key=str)) or "none"


# ---- the host, as QEMU would meet it ---------------------------------------

def host_verdict(qemu, host, properties):
    """(must refuse: [why], must warn: [text the warning names])."""
    refuse, warn = [], []
    bound = [r for r in qemu.regions.values() if r.binding[0] in ("strict", "restrictive")]
    pages = Counter()
    for r in bound:
        backing = dict(r.backing)
        page = int(backing["page"]) if backing.get("page", "").isdigit() else 0
        if page > 4 and backing.get("prealloc") == "True":
            pages[(r.binding[1], page)] += -(-r.kib // page)
    for page in {p for _, p in pages}:
        demand = {nodes: n for (nodes, p), n in pages.items() if p == page}
        short = hall(demand, lambda node: host.free(node, page))
        if short:
            refuse.append(f"{short[1]} pages of {page} KiB on nodes {fmt(short[0])}, "
                          f"{short[2]} free")
    demand = Counter()
    for r in bound:
        demand[r.binding[1]] += r.kib
    short = hall(dict(demand), lambda node: host.total_kib)
    if short:
        refuse.append(f"{short[1]} KiB bound to nodes {fmt(short[0])}, which have {short[2]} KiB")
    for node, (cpus, _) in sorted(qemu.nodes.items()):
        r = qemu.regions[f"cell {node}"]
        if r.binding[0] not in ("strict", "restrictive", "preferred"):
            continue
        near = set().union(*(host.node_cpus(n) for n in r.binding[1]))
        if any(qemu.pins.get(v, near) - near for v in cpus):
            warn.append(f"cell {node}")
    if "pci_numa_affinity=required" in properties and bound and len(bound) == len(qemu.regions):
        nodes = set().union(*(r.binding[1] for r in bound))
        for address in qemu.pci:
            node = host.pci.get(address)
            if node is not None and node not in nodes:
                refuse.append(f"device {address} on node {node}")
    return refuse, warn


def hall(demand, capacity):
    """The first set of host nodes whose regions need more than it has:
    (nodes, need, have), or None. Every union of the regions' node sets is
    a candidate (the condition for a placement to exist)."""
    sets = list(demand)
    for k in range(1, len(sets) + 1):
        for combo in itertools.combinations(sets, k):
            nodes = frozenset().union(*combo)
            need = sum(n for s, n in demand.items() if s <= nodes)
            have = sum(capacity(node) for node in nodes)
            if need > have:
                return nodes, need, have
    return None


def fake_sysfs(root, host):
    files = [("devices/system/cpu/online", f"0-{host.nodes * host.cpus_per_node - 1}\n"),
             ("devices/system/node/online", f"0-{host.nodes - 1}\n"),
             ("devices/system/node/has_memory", f"0-{host.nodes - 1}\n")]
    for node in range(host.nodes):
        cpus = sorted(host.node_cpus(node))
        folder = f"devices/system/node/node{node}"
        files.append((f"{folder}/cpulist", f"{cpus[0]}-{cpus[-1]}\n"))
        free = host.free_kib if host.free_kib is not None else host.total_kib
        files.append((f"{folder}/meminfo", f"Node {node} MemTotal: {host.total_kib} kB\n"
                      f"Node {node} MemFree: {free} kB\n"))
        for cpu in cpus:
            files.append((f"devices/system/cpu/cpu{cpu}/topology/thread_siblings_list", f"{cpu}\n"))
        for size in (2048, GIB):
            count = host.free(node, size) if host.free_pages is not None else 1 << 20
            hp = f"{folder}/hugepages/hugepages-{size}kB"
            files += [(f"{hp}/nr_hugepages", f"{count}\n"), (f"{hp}/free_hugepages", f"{count}\n")]
    for address, node in host.pci.items():
        files.append((f"bus/pci/devices/{address}/numa_node", f"{node}\n"))
    for path, text in files:
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="ascii") as f:
            f.write(text)
    return root


def last_line(text):
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


def hook(binary, sysfs, path, properties, entry=None):
    """(exit status, stdout, stderr) of `apply --dry-run`, or of a hook entry."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LARGEGUEST_SYSFS_ROOT": sysfs}
    if entry:
        env["_hook_domxml"] = path
        env.update(p.split("=", 1) for p in properties.split())
        argv = [binary, "hook", entry]
    else:
        argv = [binary, "apply", "--domxml", path, *properties.split(), "--dry-run"]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    return proc.returncode, proc.stdout, proc.stderr


# ---- libvirt -----------------------------------------------------------------

def for_native(dumped):
    """What domxml-to-native can build on this host: host nodes the host may
    lack (the binding is read from dumpxml instead), passthrough devices it
    has not (their addresses too), and host CPU models TCG cannot give are
    taken out; the same for the input and the output."""
    root = ET.fromstring(dumped)
    for tune in root.findall("numatune"):
        root.remove(tune)
    devices = root.find("devices")
    if devices is not None:
        for dev in list(devices):
            if dev.tag == "hostdev" or (dev.tag == "interface" and dev.get("type") == "hostdev"):
                devices.remove(dev)
    for element in [root.find("vcpu")] + root.findall("numatune/memory"):
        if element is not None and element.get("placement") == "auto":
            element.set("placement", "static")
    cpu = root.find("cpu")
    if cpu is not None and cpu.get("mode", "custom") != "custom":
        cpu.set("mode", "maximum")
        cpu.attrib.pop("check", None)
    return ET.tostring(root, encoding="unicode")


class Reader(qd.Definer):
    def qemu(self, text, label):
        """(Qemu, None) or (None, why libvirt refused)."""
        dumped, refused = self.read_back(text, label[:60])
        if refused:
            return None, refused
        path = os.path.join(self.work, f"{self.count}.native.xml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(for_native(dumped))
        try:
            argv = virsh("domxml-to-native", "--format", "qemu-argv", "--xml", path)
        except CommandError as err:
            return None, f"domxml-to-native: {err}"
        if self.keep:
            with open(os.path.join(self.keep, f"{self.count:03d}.argv"), "w") as f:
                f.write(argv)
        return read_qemu(argv, dumped), None


class Refused(Exception):
    """A generated case the hook refused: the problems with its refusal."""


class Skip(Exception):
    """An input this host's libvirt or QEMU cannot take (a machine limit, a
    parameter QEMU lacks): nothing to judge."""


@dataclass
class Outcome:
    label: str
    status: str
    lines: list


def judge(reader, binary, work, case):
    path = case.path
    with open(path, encoding="utf-8") as f:
        text = f.read()
    before, refused = reader.qemu(text, f"{case.label}.input")
    if refused:
        return judge_refused_input(binary, work, case, path, refused)
    status, output, err = hook(binary, fake_sysfs(os.path.join(work, "generous"), GENEROUS),
                               path, case.properties)
    problems = []
    if status not in (0, 2):
        return [f"the hook exited {status}: {last_line(err)}"]
    if status == 2:
        if case.expect == "either":
            if not any(name in err for name in asked(case.properties)):
                problems.append(f"the refusal names no property given: {last_line(err)}")
            raise Refused(problems or [f"refused: {last_line(err)}"], bool(problems))
        if case.expect == "refused" and case.host is None:
            if case.says and case.says not in err:
                problems.append(f"the refusal does not name {case.says!r}: {last_line(err)}")
            return problems
        if case.host is None or case.expect != "refused":
            return [f"the hook refused: {last_line(err)}"]
        # A host case the generous host refuses has no document to judge.
        return [f"the hook refused even on a generous host: {last_line(err)}"]
    after, refused = reader.qemu(output, f"{case.label}.output")
    if refused:
        return [f"the input reaches QEMU but the output does not: {refused}"]
    summary = err
    problems += compare(case, before, after, summary)
    if case.expect == "refused" and case.host is None:
        problems.insert(0, f"the hook applied it ({last_line(summary)}); it must refuse")
    if case.host is not None:
        problems += judge_host(reader, binary, work, case, after, output)
    return problems


def judge_refused_input(binary, work, case, path, refused):
    """An input this libvirt refuses, where another libvirt version reads
    it: the hook must refuse it in one line rather than guess."""
    if case.expect != "refused":
        raise Skip(f"the input does not reach QEMU here: {refused}")
    status, _, err = hook(binary, fake_sysfs(os.path.join(work, "generous"), GENEROUS),
                          path, case.properties)
    if status != 2:
        return [f"libvirt here refuses the input ({refused}), the hook applied it"]
    if case.says and case.says not in err:
        return [f"the refusal does not name {case.says!r}: {last_line(err)}"]
    return []


def judge_host(reader, binary, work, case, after, output):
    problems = []
    refuse, warn = host_verdict(after, case.host, case.properties)
    must = bool(refuse)
    if must != (case.expect == "refused"):
        problems.append(f"the case expects {case.expect}, QEMU's command line says "
                        f"{'refuse: ' + '; '.join(refuse) if refuse else 'it fits'}")
    sysfs = fake_sysfs(os.path.join(work, f"host-{reader.count}"), case.host)
    path = case.path
    status, _, err = hook(binary, sysfs, path, case.properties)
    said = last_line(err)
    if must and status != 2:
        problems.append(f"QEMU would fail ({'; '.join(refuse)}), the hook started it: {said}")
    if not must and status != 0:
        problems.append(f"it fits, the hook refused: {said}")
    if must and status == 2 and case.says and case.says not in err:
        problems.append(f"the refusal does not name {case.says!r}: {said}")
    for name in warn:
        if status == 0 and name not in err:
            problems.append(f"{name}'s vCPUs run off its memory's nodes, no warning names it")
    # The migration entry, on the document libvirt would hand over.
    dumped, _ = reader.read_back(output, f"{case.label[:50]}.migrating")
    if dumped:
        incoming = os.path.join(work, f"incoming-{reader.count}.xml")
        with open(incoming, "w", encoding="utf-8") as f:
            f.write(dumped)
        status, _, err = hook(binary, sysfs, incoming, case.properties,
                              entry="before_vm_migrate_destination")
        if must and status != 2:
            problems.append(f"the migration entry accepts a host the start entry must refuse "
                            f"({'; '.join(refuse)})")
        if not must and status != 0:
            problems.append(f"the migration entry refuses a host that fits: {last_line(err)}")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True, help="staged install root (tests/e2e/stage.sh)")
    parser.add_argument("--keep", help="copy every document and command line into this folder")
    parser.add_argument("--generated", help="also judge the generated cases in this folder "
                        "(tests/it/qemu_generated.rs writes them)")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("only", nargs="*", help="run the cases whose label holds one of these")
    args = parser.parse_args()
    every = CASES + (generated_cases(args.generated) if args.generated else [])
    cases = [c for c in every if not args.only or any(o in c.label for o in args.only)]
    if args.list:
        print("\n".join(c.label for c in cases))
        return 0
    binary = os.path.join(args.stage, qd.BINARY)
    outcomes = []
    with tempfile.TemporaryDirectory() as work:
        reader = Reader(work, args.keep)
        for case in cases:
            try:
                problems = judge(reader, binary, work, case)
            except Skip as why:
                outcomes.append(Outcome(case.label, "SKIP", [str(why)]))
                continue
            except Refused as refused:
                lines, wrong = refused.args
                outcomes.append(Outcome(case.label, "FAIL" if wrong else "REFUSED", lines))
                continue
            except (CommandError, ValueError, KeyError, ET.ParseError) as err:
                problems = [f"{type(err).__name__}: {err}"]
            if case.known:
                status = "XFAIL" if problems else "XPASS"
                problems = problems + ([] if problems else [f"known wrong ({case.known}) but passes: "
                                                             "remove the mark"])
            else:
                status = "FAIL" if problems else "PASS"
            outcomes.append(Outcome(case.label, status, problems))
    print("\n=== QEMU driver: the command line and dumpxml, before and after the hook ===")
    for outcome in outcomes:
        print(f"{outcome.status}  {outcome.label}")
        for line in outcome.lines:
            print(f"        {line}")
    counts = Counter(o.status for o in outcomes)
    print(f"\nqemu-argv: {counts['PASS']} passed, {counts['FAIL']} failed, "
          f"{counts['XFAIL']} known wrong, {counts['XPASS']} known wrong that pass, "
          f"{counts['REFUSED']} generated cases refused, "
          f"{counts['SKIP']} skipped (the input does not reach QEMU here)")
    if counts["SKIP"] > len(outcomes) // 4:
        print("qemu-argv: more than a quarter of the cases skipped", file=sys.stderr)
        return 1
    generated = sum(c.expect == "either" for c in cases)
    if counts["REFUSED"] * 2 > generated:
        print(f"qemu-argv: the hook refused {counts['REFUSED']} of {generated} generated cases, "
              "more than half", file=sys.stderr)
        return 1
    return 1 if counts["FAIL"] or counts["XPASS"] else 0


if __name__ == "__main__":
    sys.exit(main())
