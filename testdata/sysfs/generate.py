#!/usr/bin/env python3
"""Writes the fake sysfs trees the topology, suggest and hook tests read.

Each tree holds only the files the hook reads, in the kernel's own formats
(cpulists as ranges, per-node meminfo, distance rows, hugepage counters,
isolated CPUs, PCI devices' numa_node), modelled on real machines. A machine
with a default huge page size also gets a procfs tree beside the sysfs ones
(`../procfs/NAME/meminfo`). Run it from anywhere after changing a machine
below; the trees are committed so tests need no Python.
"""

import shutil
from pathlib import Path

GIB = 1024 * 1024  # in kB, the unit of meminfo
HUGE_2M = 2048
HUGE_1G = 1048576


def cpulist(ids):
    """The kernel's %*pbl format: sorted ranges, empty line for no ids."""
    ids = sorted(ids)
    parts, start = [], None
    for i, cpu in enumerate(ids):
        if start is None:
            start = cpu
        if i + 1 == len(ids) or ids[i + 1] != cpu + 1:
            parts.append(f"{start}" if start == cpu else f"{start}-{cpu}")
            start = None
    return ",".join(parts)


def ht_cores(first, count, sibling_offset, threads=2):
    """Cores numbered like Intel and AMD do: thread t of core c is c + t*offset."""
    return [[first + c + t * sibling_offset for t in range(threads)] for c in range(count)]


def node(socket, cores, total_gib, free_gib, huge=None):
    return dict(socket=socket, cores=cores, total=total_gib * GIB, free=int(free_gib * GIB),
                huge=huge or {HUGE_2M: (0, 0), HUGE_1G: (0, 0)})


MACHINES = {
    # One node, 4 cores with hyperthreads, cpu N and N+4 siblings.
    "laptop": dict(
        nodes=[node(0, ht_cores(0, 4, 4), 16, 9.5)],
        distances=[[10]],
    ),
    # Two Xeon sockets of 24 cores with HT, 192 GiB each, some hugepages.
    "two-socket-ht": dict(
        nodes=[
            node(0, ht_cores(0, 24, 48), 192, 171.25, {HUGE_2M: (1024, 512), HUGE_1G: (16, 16)}),
            node(1, ht_cores(24, 24, 48), 192, 180.5, {HUGE_2M: (1024, 1024), HUGE_1G: (16, 8)}),
        ],
        distances=[[10, 21], [21, 10]],
    ),
    # EPYC with 32 cores per socket in NPS4: 8 nodes of 8 cores with SMT.
    "epyc-nps4": dict(
        nodes=[node(n // 4, ht_cores(8 * n, 8, 64), 64, 58 + (n % 3) * 1.5) for n in range(8)],
        distances=[[10 if a == b else 12 if a // 4 == b // 4 else 32 for b in range(8)]
                   for a in range(8)],
    ),
    # Same cores on both sockets, but node 1 got a fraction of the DIMMs.
    "asymmetric": dict(
        nodes=[
            node(0, ht_cores(0, 16, 32), 256, 240),
            node(1, ht_cores(16, 16, 32), 32, 20),
        ],
        distances=[[10, 21], [21, 10]],
    ),
    # Two sockets plus a CXL memory expander: node 2 has memory and no CPUs.
    "cxl": dict(
        nodes=[
            node(0, ht_cores(0, 8, 16), 64, 50),
            node(1, ht_cores(8, 8, 16), 64, 52),
            node(None, [], 128, 127),
        ],
        distances=[[10, 21, 14], [21, 10, 24], [14, 24, 10]],
    ),
    # Two sockets of 8 cores with HT; CPU 23 (sibling of 7) and the whole
    # core 12/28 taken offline, as an administrator or a failed core would.
    "offline-cpus": dict(
        nodes=[
            node(0, ht_cores(0, 8, 16), 32, 28),
            node(1, ht_cores(8, 8, 16), 32, 29),
        ],
        distances=[[10, 21], [21, 10]],
        offline={12, 23, 28},
    ),
    # A host tuned for pinned guests: two sockets of 8 cores with HT, every
    # CPU but the first core of each socket isolated and tickless, 1 GiB
    # pages reserved on both nodes (fewer free on node 1), a NIC on each
    # node (an SR-IOV VF on node 1) and a device the firmware gives no node.
    "tuned": dict(
        nodes=[
            node(0, ht_cores(0, 8, 16), 64, 40, {HUGE_2M: (1024, 1024), HUGE_1G: (8, 6)}),
            node(1, ht_cores(8, 8, 16), 64, 44, {HUGE_2M: (512, 100), HUGE_1G: (8, 2)}),
        ],
        distances=[[10, 21], [21, 10]],
        isolated=set(range(1, 8)) | set(range(9, 16)) | set(range(17, 24)) | set(range(25, 32)),
        pci={"0000:3b:00.0": 0, "0000:af:00.0": 1, "0000:af:02.1": 1, "0000:00:1f.6": -1},
        hugepagesize=HUGE_2M,
    ),
}


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


def meminfo(n, total, free, huge):
    used = total - free
    pages_2m = huge[HUGE_2M]
    rows = [
        ("MemTotal", total, "kB"), ("MemFree", free, "kB"), ("MemUsed", used, "kB"),
        ("Active", used // 2, "kB"), ("Inactive", used // 4, "kB"),
        ("FilePages", used // 4, "kB"), ("AnonPages", used // 2, "kB"),
        ("HugePages_Total", pages_2m[0], ""), ("HugePages_Free", pages_2m[1], ""),
        ("HugePages_Surp", 0, ""),
    ]
    lines = []
    for key, value, unit in rows:
        label = f"Node {n} {key}:"
        lines.append(f"{label:<22}{value:>9} {unit}".rstrip())
    return "\n".join(lines)


def generate(root, machine):
    offline = machine.get("offline", set())
    nodes = machine["nodes"]
    all_cpus = sorted(cpu for nd in nodes for core in nd["cores"] for cpu in core)
    online = [cpu for cpu in all_cpus if cpu not in offline]
    cpu_dir = root / "devices/system/cpu"
    node_dir = root / "devices/system/node"
    write(cpu_dir / "online", cpulist(online))
    write(cpu_dir / "offline", cpulist(offline))
    write(cpu_dir / "present", cpulist(all_cpus))
    write(cpu_dir / "possible", cpulist(all_cpus))
    for n, nd in enumerate(nodes):
        for core_id, core in enumerate(nd["cores"]):
            siblings = [cpu for cpu in core if cpu not in offline]
            for cpu in core:
                if cpu != 0:
                    write(cpu_dir / f"cpu{cpu}/online", "0" if cpu in offline else "1")
                if cpu in offline:
                    continue  # the kernel removes topology/ with the CPU
                topo = cpu_dir / f"cpu{cpu}/topology"
                write(topo / "thread_siblings_list", cpulist(siblings))
                write(topo / "core_id", str(core_id))
                write(topo / "physical_package_id", str(nd["socket"]))
        cpus = [cpu for core in nd["cores"] for cpu in core if cpu not in offline]
        this = node_dir / f"node{n}"
        write(this / "cpulist", cpulist(cpus))
        write(this / "distance", " ".join(str(d) for d in machine["distances"][n]))
        write(this / "meminfo", meminfo(n, nd["total"], nd["free"], nd["huge"]))
        for size, (total, free) in nd["huge"].items():
            pages = this / f"hugepages/hugepages-{size}kB"
            write(pages / "nr_hugepages", str(total))
            write(pages / "free_hugepages", str(free))
            write(pages / "surplus_hugepages", "0")
    ids = range(len(nodes))
    write(node_dir / "online", cpulist(ids))
    write(node_dir / "possible", cpulist(ids))
    write(node_dir / "has_cpu", cpulist(n for n in ids if nodes[n]["cores"]))
    write(node_dir / "has_memory", cpulist(n for n in ids if nodes[n]["total"]))
    write(node_dir / "has_normal_memory", cpulist(n for n in ids if nodes[n]["total"]))
    if "isolated" in machine:
        write(cpu_dir / "isolated", cpulist(machine["isolated"]))
        write(cpu_dir / "nohz_full", cpulist(machine["isolated"]))
    for address, numa_node in machine.get("pci", {}).items():
        write(root / "bus/pci/devices" / address / "numa_node", str(numa_node))


def generate_procfs(root, machine):
    total = sum(nd["total"] for nd in machine["nodes"])
    free = sum(nd["free"] for nd in machine["nodes"])
    write(root / "meminfo", "\n".join([
        f"MemTotal:       {total} kB",
        f"MemFree:        {free} kB",
        f"MemAvailable:   {free} kB",
        f"Hugepagesize:       {machine['hugepagesize']} kB",
    ]))


def main():
    here = Path(__file__).resolve().parent
    for name, machine in MACHINES.items():
        root = here / name
        shutil.rmtree(root, ignore_errors=True)
        generate(root, machine)
        if "hugepagesize" in machine:
            procfs = here.parent / "procfs" / name
            shutil.rmtree(procfs, ignore_errors=True)
            generate_procfs(procfs, machine)


if __name__ == "__main__":
    main()
