"""A libvirt guest under test, and what the running guest really got.

Every reading here comes from the running guest: QEMU's monitor, libvirt's
live state, the kernel's view of the QEMU process. None of it re-reads the XML
that was defined, so a setting libvirt dropped or QEMU ignored shows up.
"""

import json
import os
import re
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET

URI = "qemu:///system"
# Guests this suite defines carry this prefix, so a trap can clean up only them.
NAME_PREFIX = "largeguest-e2e-"


class CommandError(Exception):
    """A command failed; the message is its one-line stderr."""


def run(argv, check=True):
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        err = " ".join(proc.stderr.split()) or f"exit {proc.returncode}"
        raise CommandError(f"{' '.join(argv)}: {err}")
    return proc


def virsh(*args, check=True):
    return run(["virsh", "-c", URI, *args], check=check).stdout


def is_defined(name):
    """Asks for the whole list, so that an unreachable libvirtd fails instead of saying no."""
    return name in virsh("list", "--all", "--name").split()


def domain_name(xml_text):
    return (ET.fromstring(xml_text).findtext("name") or "").strip()


class Guest:
    """Defines and starts a domain; always destroys and undefines it on exit."""

    def __init__(self, xml_text):
        self.xml_text = xml_text
        self.name = domain_name(xml_text)
        if not self.name.startswith(NAME_PREFIX):
            raise ValueError(f"guest name {self.name!r} lacks the prefix {NAME_PREFIX!r}")

    def __enter__(self):
        with tempfile.NamedTemporaryFile("w", suffix=".xml", encoding="utf-8") as f:
            f.write(self.xml_text)
            f.flush()
            virsh("define", f.name)
        try:
            virsh("start", self.name)
        except CommandError:
            self.remove()
            raise
        return self

    def __exit__(self, *exc):
        self.remove()

    def remove(self):
        virsh("destroy", self.name, check=False)
        virsh("undefine", self.name, check=False)

    def hmp(self, command):
        return virsh("qemu-monitor-command", self.name, "--hmp", command)

    def pid(self):
        with open(f"/run/libvirt/qemu/{self.name}.pid", encoding="ascii") as f:
            return int(f.read().strip())

    def state(self):
        return virsh("domstate", self.name).strip()

    def live_xml(self):
        return ET.fromstring(virsh("dumpxml", self.name))

    def set_vcpus(self, count):
        virsh("setvcpus", self.name, str(count), "--live")
        # Until QEMU's monitor lists every new vCPU, however long a busy host
        # takes: the checks that follow then judge what QEMU has, not how fast
        # it got there. The number of looks only stops a hang.
        for _ in range(2400):
            if len(vcpu_threads(self)) >= count:
                return
            time.sleep(0.05)


def parse_cpulist(text):
    """'0-2,5' or '0 1 2 5' (QEMU) -> {0, 1, 2, 5}."""
    cpus = set()
    for term in re.split(r"[,\s]+", text.strip()):
        if not term:
            continue
        lo, _, hi = term.partition("-")
        cpus.update(range(int(lo), int(hi or lo) + 1))
    return cpus


def numa_cells(guest):
    """QEMU's `info numa`: {cell: (vCPUs, MiB)}; vCPUs are the online ones only."""
    cells = {}
    for line in guest.hmp("info numa").splitlines():
        m = re.match(r"node (\d+) cpus:(.*)$", line.strip())
        if m:
            cells[int(m.group(1))] = (parse_cpulist(m.group(2)), None)
        m = re.match(r"node (\d+) size: (\d+) MB$", line.strip())
        if m:
            node = int(m.group(1))
            cells[node] = (cells[node][0], int(m.group(2)))
    return cells


def vcpu_threads(guest):
    """QEMU's `info cpus`: {vCPU index: host thread id} for the online vCPUs."""
    threads = {}
    for line in guest.hmp("info cpus").splitlines():
        m = re.search(r"CPU #(\d+):.*thread_id=(\d+)", line)
        if m:
            threads[int(m.group(1))] = int(m.group(2))
    return threads


def libvirt_pins(guest):
    """`virsh vcpupin`: {vCPU: host CPUs} as libvirt reports the live affinity."""
    pins = {}
    for line in virsh("vcpupin", guest.name).splitlines():
        m = re.match(r"\s*(\d+)\s+([0-9,\-]+)\s*$", line)
        if m:
            pins[int(m.group(1))] = parse_cpulist(m.group(2))
    return pins


def libvirt_emulatorpin(guest):
    """`virsh emulatorpin`: the emulator threads' host CPUs, as libvirt reports them live."""
    for line in virsh("emulatorpin", guest.name).splitlines():
        m = re.match(r"\s*\*:\s*([0-9,\-]+)\s*$", line)
        if m:
            return parse_cpulist(m.group(1))
    return None


def libvirt_iothreads(guest):
    """`virsh iothreadinfo`: {I/O thread id: host CPUs}."""
    pins = {}
    for line in virsh("iothreadinfo", guest.name).splitlines():
        m = re.match(r"\s*(\d+)\s+([0-9,\-]+)\s*$", line)
        if m:
            pins[int(m.group(1))] = parse_cpulist(m.group(2))
    return pins


def iothread_threads(guest):
    """QEMU's `query-iothreads`: {I/O thread id: host thread id}; libvirt names them iothreadN."""
    reply = json.loads(virsh("qemu-monitor-command", guest.name, '{"execute":"query-iothreads"}'))
    threads = {}
    for thread in reply.get("return", []):
        m = re.match(r"iothread(\d+)$", thread.get("id", ""))
        if m:
            threads[int(m.group(1))] = thread["thread-id"]
    return threads


def kernel_affinity(tid):
    """`taskset -pc TID`: the CPUs the kernel lets the thread run on."""
    out = run(["taskset", "-pc", str(tid)]).stdout
    return parse_cpulist(out.rsplit(":", 1)[1])


def libvirt_numatune(guest):
    """`virsh numatune`: (mode, nodeset) of the running guest."""
    fields = {}
    for line in virsh("numatune", guest.name).splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields.get("numa_mode"), fields.get("numa_nodeset")


def memory_backends(guest):
    """QEMU's `info memdev`: {backend id: {size, policy, host nodes, share...}}."""
    backends = {}
    current = None
    for line in guest.hmp("info memdev").splitlines():
        m = re.match(r"memory backend: (\S+)", line.strip())
        if m:
            current = backends.setdefault(m.group(1), {})
            continue
        key, sep, value = line.partition(":")
        if current is not None and sep:
            current[key.strip()] = value.strip()
    return backends


def memory_devices(guest):
    """QEMU's `info memory-devices`: a list of {type, node, size, ...}."""
    devices = []
    for line in guest.hmp("info memory-devices").splitlines():
        m = re.match(r"Memory device \[(\w+)\]", line.strip())
        if m:
            devices.append({"type": m.group(1)})
            continue
        key, sep, value = line.partition(":")
        if devices and sep:
            devices[-1][key.strip()] = value.strip()
    return devices


def ram_mappings(pid, size):
    """The QEMU process's mappings of exactly SIZE bytes, as the kernel sees them.

    A memory backend is one mmap of its size, so its mappings are found by
    size. Returns [(flags, policy, numa_maps line)] where policy is the word
    before the ':' in numa_maps ('bind', 'interleave', 'prefer', 'default').
    """
    with open(f"/proc/{pid}/numa_maps", encoding="ascii", errors="replace") as f:
        numa = {line.split()[0]: line.strip() for line in f if line.strip()}
    found = []
    with open(f"/proc/{pid}/maps", encoding="ascii", errors="replace") as f:
        for line in f:
            fields = line.split()
            start, end = (int(x, 16) for x in fields[0].split("-"))
            if end - start != size:
                continue
            entry = numa.get(f"{start:x}", "")
            policy_field = entry.split(" ", 1)[1] if " " in entry else ""
            policy = re.split(r"[:\s(]", policy_field, maxsplit=1)[0]
            found.append((fields[1], policy, entry))
    return found
