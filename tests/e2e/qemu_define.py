#!/usr/bin/python3
"""What libvirt's QEMU driver makes of the hook's output: define, read back, undefine.

usage: qemu_define.py --stage DIR [--corpus DIR] [--keep DIR]

libvirt's test driver (tests/it/libvirt_validate.rs) never touches <memory>; the
QEMU driver, at define, replaces it with the cells' sum plus the memory
devices. So a document can pass the test driver and still give the guest
other memory than it says. For each sample and property set below, and for
each corpus file with the standard properties, this runs the staged hook
(`apply --dry-run`, on a fake 1024-CPU, 8-node sysfs), defines the input and
then the output with the QEMU driver, reads each back with
`dumpxml --inactive` and undefines it. An output must define whenever its
input did, and libvirt must have kept what the hook wrote: <memory>, every
cell (id, vCPUs, memory, memAccess, discard, distances), the numatune
<memory> and memnodes, and the vcpupins. What the hook must carry over is
checked against libvirt's reading of the input: with the same cell count,
each cell keeps the memAccess, discard and distances of the input's cell
with its id, and no memnode of a cell that stays is dropped. Where the case
names what the properties meant (cells, pins, numatune), that is checked too.

Guests are renamed largeguest-e2e-define-N, get a fresh UUID, this host's
emulator and the plain q35 or pc machine, so that engine and corpus documents
written for other hosts can be defined here; the same change is made to the
input and the output, and none of it touches what the hook edits.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
BINARY = "usr/libexec/vdsm-hook-largeguest/vdsm-hook-largeguest"
URI = "qemu:///system"
NAME_PREFIX = "largeguest-e2e-define-"


@dataclass
class Case:
    sample: str
    properties: str
    # What the properties meant, where a case says it: cells as
    # [(vCPU set text, MiB)], pins as {vCPU: CPU set text}.
    cells: list | None = None
    pins: dict | None = None
    numatune: tuple | None = None
    memnodes: dict | None = None


# Property sets the hook accepts today and handles right: each writes at least
# one of the elements the QEMU driver reads back differently from the test driver.
CASES = [
    Case("engine-4.4", "guestnuma=0-7#2G,8-15#2G",
         cells=[("0-7", 2048), ("8-15", 2048)]),
    Case("engine-4.4", "cputune=0-7#0-7,8-15#8-15 numatune=strict#0-1 guestnuma=0-7#2G,8-15#2G",
         cells=[("0-7", 2048), ("8-15", 2048)], numatune=("strict", "0-1"),
         pins={v: ("0-7" if v < 8 else "8-15") for v in range(16)}),
    Case("engine-4.4", "guestnuma=4"),
    Case("engine-4.4", "guestnuma=0-7#2G#0,8-15#2G#1",
         cells=[("0-7", 2048), ("8-15", 2048)], memnodes={0: ("strict", "0"), 1: ("strict", "1")}),
    Case("engine-small", "cputune=0#0_1#1 numatune=interleave#0 guestnuma=0#1G,1#1G",
         cells=[("0", 1024), ("1", 1024)], pins={0: "0", 1: "1"}, numatune=("interleave", "0")),
    Case("engine-small", "guestnuma=2", cells=[("0", 1024), ("1", 1024)]),
    Case("dumpxml-shares", "cputune=0#8,4#12", pins={0: "8", 4: "12"}),
    Case("dumpxml-shares", "numatune=preferred#1", numatune=("preferred", "1")),
    Case("dumpxml-shares", "guestnuma=0-3#4G,4-7#4G", cells=[("0-3", 4096), ("4-7", 4096)]),
    Case("dumpxml-shares", "guestnuma=4"),
    Case("dumpxml-shares", "cputune=0-7#2-9 numatune=interleave#0-1 guestnuma=0-3#4G#0,4-7#4G#1",
         cells=[("0-3", 4096), ("4-7", 4096)], numatune=("interleave", "0-1"),
         memnodes={0: ("interleave", "0"), 1: ("interleave", "1")}),
    Case("minidom-3.x", "guestnuma=0-1#1G,2-3#1G", cells=[("0-1", 1024), ("2-3", 1024)]),
    Case("minidom-3.x", "guestnuma=0-1#1G#0,2-3#1G#1",
         memnodes={0: ("strict", "0"), 1: ("strict", "1")}),
    Case("one-line", "cputune=0-3#0-3 numatune=interleave#0-1 guestnuma=0-1#1G#0,2-3#1G#1",
         cells=[("0-1", 1024), ("2-3", 1024)], numatune=("interleave", "0-1")),
    Case("one-line", "guestnuma=2"),
    Case("crlf", "cputune=0#0,1#1,2#2,3#3 numatune=strict#0-1 guestnuma=0-1#4G#0,2-3#4G#1",
         cells=[("0-1", 4096), ("2-3", 4096)]),
    Case("crlf", "guestnuma=2"),
    Case("comments-cdata", "cputune=0-3#0-3 numatune=strict#0 guestnuma=0-1#2G,2-3#2G",
         cells=[("0-1", 2048), ("2-3", 2048)]),
    Case("memaccess-shared", "guestnuma=0-3#4G#0,4-7#4G#1",
         cells=[("0-3", 4096), ("4-7", 4096)]),
    Case("memaccess-shared", "guestnuma=4"),
    Case("memaccess-shared", "cputune=0-7#2-9 numatune=strict#0-1 guestnuma=1",
         cells=[("0-7", 8192)]),
    Case("dimm-hotplug", "guestnuma=0-1#512M,2-3#1536M", cells=[("0-1", 512), ("2-3", 1536)]),
    Case("dimm-hotplug", "guestnuma=2"),
    # The sample's memnodes stand for the engine's NUMA pinning: numatune
    # beside them is refused unless every cell is bound anew.
    Case("numatune-memnodes", "numatune=interleave#0-1 guestnuma=0-3#4G#0,4-7#4G#1",
         numatune=("interleave", "0-1")),
    Case("numatune-memnodes", "guestnuma=0-3#4G#1,4-7#4G",
         cells=[("0-3", 4096), ("4-7", 4096)]),
    Case("numatune-memnodes", "guestnuma=2", cells=[("0-3", 4096), ("4-7", 4096)]),
    Case("numatune-memnodes", "guestnuma=0-7#8G#0", cells=[("0-7", 8192)],
         memnodes={0: ("strict", "0")}),
    Case("placement-auto", "guestnuma=2"),
    Case("placement-auto", "numatune=interleave#0-1", numatune=("interleave", "0-1")),
    Case("no-cpu-gib", "cputune=0#0,1#1,2#2,3#3 numatune=interleave#0-1 guestnuma=0-1#4G,2-3#4G",
         cells=[("0-1", 4096), ("2-3", 4096)]),
    Case("large-384", "guestnuma=0-95#96G#0,96-191#96G#1,192-287#96G#2,288-383#96G#3"),
    Case("large-384", "numatune=interleave#0-7 guestnuma=0-47#48G#0,48-95#48G#1,96-143#48G#2,144-191#48G#3,192-239#48G#4,240-287#48G#5,288-335#48G#6,336-383#48G#7",
         numatune=("interleave", "0-7")),
]


class CommandError(Exception):
    """A command failed; the message is its stderr on one line."""


def run(argv, **kwargs):
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)
    if proc.returncode != 0:
        said = " ".join((proc.stderr or proc.stdout).split()) or f"exit {proc.returncode}"
        raise CommandError(said)
    return proc.stdout


def virsh(*args):
    return run(["virsh", "-q", "-c", URI, *args])


# ---- reading a document the way libvirt reads it -------------------------

def text_of(element):
    """XPath string(): every text node below, comments and PIs contributing nothing."""
    return "".join(element.itertext())


def number(text):
    """g_ascii_strtoull as libvirt's virStrToLong_*p use it: leading ASCII
    whitespace and one '+' skipped, decimal digits, nothing after them."""
    m = re.fullmatch(r"[ \t\n\v\f\r]*\+?([0-9]+)", text or "")
    if not m:
        raise ValueError(f"libvirt reads no number in {text!r}")
    return int(m.group(1))


def kib(value, unit):
    """virScaleInteger, then bytes rounded up to KiB (virDomainParseMemory)."""
    unit = (unit or "").lower()
    if unit in ("", "k", "kib"):
        scale = 1024
    elif unit in ("b", "byte", "bytes"):
        scale = 1
    else:
        base = {"": 1024, "ib": 1024, "b": 1000}.get(unit[1:])
        power = "kmgtpe".find(unit[0]) + 1
        if base is None or power == 0:
            raise ValueError(f"unknown unit {unit!r}")
        scale = base ** power
    return -(-number(value) * scale // 1024)


def id_set(text):
    """virBitmapParse: N, N-M, ^N separated by ',', spaces allowed around them."""
    ids = set()
    if not (text or "").strip():
        return frozenset()
    for term in text.split(","):
        term = term.strip()
        if term.startswith("^"):
            ids.discard(int(term[1:]))
            continue
        lo, _, hi = term.partition("-")
        ids.update(range(int(lo), int(hi.strip() or lo) + 1))
    return frozenset(ids)


def first(parent, name):
    return parent.find(name) if parent is not None else None


@dataclass
class Guest:
    """The parts of a domain the hook edits, as libvirt reads them."""

    memory_kib: int | None = None
    device_kib: int = 0
    vcpus: int = 1
    # id -> (vCPUs, KiB, memAccess, discard, {sibling id: distance})
    cells: dict = field(default_factory=dict)
    numatune: tuple | None = None
    # cellid -> (mode, nodes)
    memnodes: dict = field(default_factory=dict)
    # vCPU -> CPUs
    pins: dict = field(default_factory=dict)


def read_guest(text):
    root = ET.fromstring(text)
    guest = Guest()
    memory = first(root, "memory")
    if memory is not None:
        guest.memory_kib = kib(text_of(memory), memory.get("unit"))
    vcpu = first(root, "vcpu")
    if vcpu is not None:
        guest.vcpus = number(text_of(vcpu))
    for device in root.findall("devices/memory"):
        size = device.find("target/size")
        if size is not None:
            guest.device_kib += kib(text_of(size), size.get("unit"))
    for position, cell in enumerate(root.findall("cpu/numa[1]/cell")):
        cell_id = number(cell.get("id")) if cell.get("id") is not None else position
        distances = {number(s.get("id")): number(s.get("value"))
                     for s in cell.findall("distances[1]/sibling")}
        guest.cells[cell_id] = (id_set(cell.get("cpus")), kib(cell.get("memory"), cell.get("unit")),
                                cell.get("memAccess"), cell.get("discard"), distances)
    tune = first(root, "numatune")
    if tune is not None:
        memory = first(tune, "memory")
        if memory is not None:
            nodes = memory.get("nodeset")
            guest.numatune = (memory.get("mode", "strict"), memory.get("placement"),
                              id_set(nodes) if nodes else None)
        for memnode in tune.findall("memnode"):
            guest.memnodes[number(memnode.get("cellid"))] = (memnode.get("mode", "strict"),
                                                            id_set(memnode.get("nodeset")))
    for pin in root.findall("cputune/vcpupin"):
        vcpu_id = number(pin.get("vcpu"))
        if vcpu_id < guest.vcpus:
            guest.pins[vcpu_id] = id_set(pin.get("cpuset"))
    return guest


# ---- making a document definable on this host ----------------------------

def for_this_host(text, name, emulator):
    """Renames the guest, gives it a new UUID, this host's emulator and the
    plain q35 or pc machine; the same bytes change in the input and the output."""
    root = ET.fromstring(text)
    old_uuid = (root.findtext("uuid") or "").strip()
    text = re.sub(r"<name>[^<]*</name>", f"<name>{name}</name>", text, count=1)
    if old_uuid:
        text = text.replace(old_uuid, str(uuid.uuid4()))
    text = re.sub(r"(<type\b[^>]*?\smachine=)(['\"])([^'\"]*)\2",
                  lambda m: f"{m[1]}{m[2]}{'q35' if 'q35' in m[3] else 'pc'}{m[2]}", text, count=1)
    text = re.sub(r"<emulator>[^<]*</emulator>", f"<emulator>{emulator}</emulator>", text)
    # TCG everywhere: the same on a host with or without /dev/kvm.
    return re.sub(r"(<domain\b[^>]*?\btype=)(['\"])kvm\2", r"\1\2qemu\2", text, count=1)


class Definer:
    """Defines documents one at a time and reads them back; never leaves one defined."""

    def __init__(self, work, keep):
        self.work = work
        self.keep = keep
        self.count = 0
        self.emulator = shutil.which("qemu-system-x86_64") or "/usr/bin/qemu-system-x86_64"

    def read_back(self, text, label):
        """(dumpxml --inactive, None) or (None, why libvirt refused)."""
        self.count += 1
        name = f"{NAME_PREFIX}{self.count}"
        path = os.path.join(self.work, f"{self.count}.xml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(for_this_host(text, name, self.emulator))
        if self.keep:
            safe = re.sub(r"[^A-Za-z0-9._=#,-]+", "_", label)
            shutil.copy(path, os.path.join(self.keep, f"{self.count:03d}-{safe}.xml"))
        try:
            # libvirt 9.0 aborts in the error path of a bad <distances> row
            # (free(): invalid pointer): try each document in the test
            # driver's own virsh process before the daemon others use.
            run(["virsh", "-q", "-c", "test:///default", "define", path])
        except CommandError as err:
            return None, f"libvirt's test driver refuses it: {err}"
        try:
            virsh("define", path)
        except CommandError as err:
            return None, str(err)
        try:
            return virsh("dumpxml", name, "--inactive"), None
        finally:
            run(["virsh", "-q", "-c", URI, "undefine", name])


# ---- the checks -----------------------------------------------------------

def fmt(ids):
    if ids is None:
        return "-"
    ids = sorted(ids)
    runs, start = [], None
    for i, n in enumerate(ids):
        if start is None:
            start = n
        if i + 1 == len(ids) or ids[i + 1] != n + 1:
            runs.append(f"{start}" if start == n else f"{start}-{n}")
            start = None
    return ",".join(runs)


def fmt_cell(cell):
    cpus, mem, access, discard, distances = cell
    extra = "".join(f" {k}={v}" for k, v in (("memAccess", access), ("discard", discard)) if v)
    dist = f" distances={dict(sorted(distances.items()))}" if distances else ""
    return f"cpus={fmt(cpus)} memory={mem}KiB{extra}{dist}"


def compare_written(before, wrote, kept_before, kept):
    """What libvirt kept against what the hook wrote: one line per difference.

    libvirt sizes a guest with cells from the cells and memory devices and
    ignores <memory> (some corpus inputs do not add up and libvirt resizes
    them). Where the hook left <memory> as it was, the guest must keep the
    memory libvirt gave the input; where the hook wrote a new <memory>, the
    cells and memory devices must add up to it.
    """
    problems = []
    if wrote.memory_kib == before.memory_kib:
        meant = kept_before.memory_kib
    elif wrote.cells:
        meant = sum(c[1] for c in wrote.cells.values()) + wrote.device_kib
        if wrote.memory_kib is not None and meant != wrote.memory_kib:
            problems.append(f"<memory> says {wrote.memory_kib} KiB but the cells and memory "
                            f"devices add up to {meant} KiB")
    else:
        meant = wrote.memory_kib
    if meant is not None and kept.memory_kib != meant:
        problems.append(f"libvirt gives the guest {kept.memory_kib} KiB, the hook meant {meant} KiB")
    for cell_id in sorted(set(wrote.cells) | set(kept.cells)):
        want, got = wrote.cells.get(cell_id), kept.cells.get(cell_id)
        if want is None or got is None:
            problems.append(f"cell {cell_id}: hook wrote {want and fmt_cell(want)}, "
                            f"libvirt has {got and fmt_cell(got)}")
            continue
        # libvirt completes distances symmetrically: compare the ones written.
        got_distances = {k: v for k, v in got[4].items() if k in want[4]}
        if want[:4] != got[:4] or want[4] != got_distances:
            problems.append(f"cell {cell_id}: hook wrote {fmt_cell(want)}, "
                            f"libvirt has {fmt_cell(got)}")
    mode_and_nodes = lambda tune: tune and (tune[0], tune[2])
    if wrote.numatune is not None and mode_and_nodes(wrote.numatune) != mode_and_nodes(kept.numatune):
        problems.append(f"numatune <memory>: hook wrote {wrote.numatune}, libvirt has {kept.numatune}")
    if wrote.memnodes != kept.memnodes:
        problems.append(f"memnodes: hook wrote {show_memnodes(wrote.memnodes)}, "
                        f"libvirt has {show_memnodes(kept.memnodes)}")
    if wrote.pins != kept.pins:
        problems.append(f"vcpupins: hook wrote {show_pins(wrote.pins)}, libvirt has {show_pins(kept.pins)}")
    return problems


def show_memnodes(memnodes):
    return " ".join(f"{c}:{m}@{fmt(n)}" for c, (m, n) in sorted(memnodes.items())) or "none"


def show_pins(pins):
    return " ".join(f"{v}:{fmt(c)}" for v, c in sorted(pins.items())) or "none"


def compare_kept(kept_before, kept):
    """What the hook must carry over from the input, as libvirt read both:
    with the same number of cells, each keeps the memAccess, discard and
    distances of the input's cell with its id; a memnode of a cell that
    stays is never dropped (it may be rebound)."""
    problems = []
    if len(kept.cells) == len(kept_before.cells):
        for cell_id, old in sorted(kept_before.cells.items()):
            new = kept.cells.get(cell_id)
            if new is not None and old[2:] != new[2:]:
                problems.append(f"cell {cell_id} had {fmt_cell(old)}, now {fmt_cell(new)}")
    for cell_id in sorted(kept_before.memnodes):
        if cell_id < len(kept.cells) and cell_id not in kept.memnodes:
            problems.append(f"the memnode of cell {cell_id} is gone: "
                            f"{show_memnodes(kept_before.memnodes)} became {show_memnodes(kept.memnodes)}")
    return problems


def compare_meant(case, kept):
    """What the properties asked for against what libvirt has."""
    problems = []
    if case.cells is not None:
        want = [(id_set(cpus), mib * 1024) for cpus, mib in case.cells]
        got = [kept.cells[i][:2] for i in sorted(kept.cells)]
        if got != want:
            problems.append("cells: asked " + " ".join(f"{fmt(c)}/{m}KiB" for c, m in want)
                            + ", libvirt has " + " ".join(f"{fmt(c)}/{m}KiB" for c, m in got))
    for vcpu, cpus in (case.pins or {}).items():
        if kept.pins.get(vcpu) != id_set(cpus):
            problems.append(f"vCPU {vcpu}: asked CPUs {cpus}, libvirt has {fmt(kept.pins.get(vcpu))}")
    if case.numatune is not None:
        mode, nodes = case.numatune
        got = kept.numatune and (kept.numatune[0], kept.numatune[2])
        if got != (mode, id_set(nodes)):
            problems.append(f"numatune: asked {mode} {nodes}, libvirt has {kept.numatune}")
    for cell, (mode, nodes) in (case.memnodes or {}).items():
        if kept.memnodes.get(cell) != (mode, id_set(nodes)):
            problems.append(f"memnode {cell}: asked {mode} {nodes}, "
                            f"libvirt has {kept.memnodes.get(cell)}")
    return problems


# ---- running the hook -----------------------------------------------------

def fake_sysfs(work):
    """A host with room for every sample: 1024 CPUs, 8 nodes, and huge pages
    of both sizes free on every node (the hook checks free pages for cells
    bound strict; this step judges libvirt's reading, not the host)."""
    root = os.path.join(work, "sys")
    files = [("devices/system/cpu/online", "0-1023\n"),
             ("devices/system/node/online", "0-7\n"),
             ("devices/system/node/has_memory", "0-7\n")]
    for node in range(8):
        for size, count in (("2048kB", 1048576), ("1048576kB", 4096)):
            folder = f"devices/system/node/node{node}/hugepages/hugepages-{size}"
            files += [(f"{folder}/nr_hugepages", f"{count}\n"),
                      (f"{folder}/free_hugepages", f"{count}\n")]
    for path, text in files:
        os.makedirs(os.path.dirname(os.path.join(root, path)), exist_ok=True)
        with open(os.path.join(root, path), "w", encoding="ascii") as f:
            f.write(text)
    return root


def apply(hook, sysfs, path, properties):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LARGEGUEST_SYSFS_ROOT": sysfs}
    argv = [hook, "apply", "--domxml", path, *properties.split(), "--dry-run"]
    return run(argv, env=env)


def standard_properties(text):
    """The corpus runs with every vCPU pinned, memory interleaved on node 0,
    and two cells when the vCPUs split evenly, else one (as tests/it/support/samples.rs does)."""
    vcpu = ET.fromstring(text).find("vcpu")
    vcpus = number(text_of(vcpu)) if vcpu is not None else 1
    pins = f"cputune=0-{vcpus - 1}#0-3"
    return [f"{pins} numatune=interleave#0 guestnuma={n}" for n in (2, 1)] + [pins]


@dataclass
class Outcome:
    label: str
    status: str  # PASS, FAIL or SKIP
    lines: list


def check_one(definer, label, input_text, output_text, case=None):
    try:
        return compare_defined(definer, label, input_text, output_text, case)
    except (CommandError, ValueError, ET.ParseError) as err:
        return Outcome(label, "FAIL", [f"{type(err).__name__}: {err}"])


def compare_defined(definer, label, input_text, output_text, case):
    dumped_input, refused = definer.read_back(input_text, f"{label}.input")
    if refused:
        return Outcome(label, "SKIP", [f"the input does not define here: {refused}"])
    dumped, refused = definer.read_back(output_text, f"{label}.output")
    if refused:
        return Outcome(label, "FAIL", [f"the input defines but the output does not: {refused}"])
    kept = read_guest(dumped)
    kept_before = read_guest(dumped_input)
    problems = compare_written(read_guest(input_text), read_guest(output_text), kept_before, kept)
    problems += compare_kept(kept_before, kept)
    if case is not None:
        problems += compare_meant(case, kept)
    return Outcome(label, "FAIL" if problems else "PASS", problems)


def corpus_files(corpus):
    for folder in ("vdsm", "libvirt"):
        path = os.path.join(corpus, folder)
        if os.path.isdir(path):
            for name in sorted(os.listdir(path)):
                if name.endswith(".xml"):
                    yield folder, os.path.join(path, name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True, help="staged install root (tests/e2e/stage.sh)")
    parser.add_argument("--corpus", default=os.path.join(REPO, "..", "shared", "corpus"),
                        help="folder of vdsm/ and libvirt/ domain XMLs; skipped when missing")
    parser.add_argument("--keep", help="copy every document defined into this folder")
    args = parser.parse_args()
    hook = os.path.join(args.stage, BINARY)
    outcomes = []
    with tempfile.TemporaryDirectory() as work:
        sysfs = fake_sysfs(work)
        definer = Definer(work, args.keep)
        for case in CASES:
            label = f"{case.sample} {case.properties}"
            path = os.path.join(REPO, "testdata", case.sample + ".xml")
            with open(path, encoding="utf-8") as f:
                text = f.read()
            try:
                output = apply(hook, sysfs, path, case.properties)
            except CommandError as err:
                outcomes.append(Outcome(label, "FAIL", [f"the hook refused: {err}"]))
                continue
            outcomes.append(check_one(definer, label, text, output, case))
        for folder, path in corpus_files(args.corpus):
            with open(path, encoding="utf-8") as f:
                text = f.read()
            label = f"corpus {folder}/{os.path.basename(path)}"
            for properties in standard_properties(text):
                try:
                    output = apply(hook, sysfs, path, properties)
                except CommandError:
                    continue
                outcomes.append(check_one(definer, f"{label} {properties}", text, output))
                break
            else:
                outcomes.append(Outcome(label, "FAIL", ["the hook refused every standard property set"]))
    print("\n=== QEMU driver: define, dumpxml --inactive, undefine ===")
    for outcome in outcomes:
        print(f"{outcome.status}  {outcome.label}")
        for line in outcome.lines:
            print(f"        {line}")
    counts = {s: sum(o.status == s for o in outcomes) for s in ("PASS", "FAIL", "SKIP")}
    print(f"\nqemu-define: {counts['PASS']} passed, {counts['FAIL']} failed, "
          f"{counts['SKIP']} skipped (input does not define with the QEMU driver)")
    if counts["PASS"] < len(CASES) // 2:
        print("qemu-define: fewer than half the samples' cases were checked", file=sys.stderr)
        return 1
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
