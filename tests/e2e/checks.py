"""What a running guest must show, and the checks that compare.

Each check returns a list of Result rows; a check that cannot read what it
needs fails rather than passes.
"""

from dataclasses import dataclass, field

import guest as g

MIB = 1 << 20

# What QEMU's memory backend and the kernel's numa_maps call each libvirt mode.
# 'restrictive' leaves the policy to cgroup cpuset.mems: no mempolicy at all.
QEMU_POLICY = {"strict": "bind", "interleave": "interleave", "preferred": "preferred",
               "restrictive": "default"}
KERNEL_POLICY = {"strict": "bind", "interleave": "interleave", "preferred": "prefer",
                 "restrictive": "default"}


@dataclass
class Result:
    what: str
    ok: bool
    detail: str = ""


@dataclass
class Expect:
    """What the running guest must have. None means: not checked."""

    # cell -> (online vCPUs, MiB incl. DIMMs on that cell), as `info numa` shows them
    cells: dict | None = None
    # after `setvcpus --live` to this count, the cells must show `cells_hotplugged`
    hotplug_to: int | None = None
    cells_hotplugged: dict | None = None
    # vCPU -> host CPUs
    pins: dict | None = None
    # (mode, nodeset) of <numatune><memory>; the guest RAM must carry its policy
    numatune: tuple | None = None
    # cell -> (mode, nodeset) of <memnode>: that cell's backend carries its own policy
    memnodes: dict | None = None
    # every cell's RAM is shared memory (memAccess='shared')
    shared: bool = False
    # <cputune><shares> value libvirt must keep in the live definition
    shares: int | None = None
    # (node, MiB) of each DIMM
    dimms: list = field(default_factory=list)
    # host CPUs of the emulator threads
    emulatorpin: set | None = None
    # I/O thread id -> host CPUs
    iothreadpins: dict | None = None


def fmt_set(cpus):
    return ",".join(str(c) for c in sorted(cpus)) or "-"


def fmt_cells(cells):
    return " ".join(f"{n}:[{fmt_set(c)}]/{m}M" for n, (c, m) in sorted(cells.items()))


def check_cells(guest, want, label="info numa"):
    got = g.numa_cells(guest)
    return [Result(f"{label}: {len(want)} cells {fmt_cells(want)}", got == want,
                   f"got {fmt_cells(got)}")]


def check_pins(guest, pins):
    """libvirt's view of every pinned vCPU, then the kernel's for each online one."""
    results = []
    live = g.libvirt_pins(guest)
    for vcpu, cpus in sorted(pins.items()):
        got = live.get(vcpu)
        results.append(Result(f"vcpupin {vcpu}->{fmt_set(cpus)}", got == cpus,
                              f"virsh vcpupin says {fmt_set(got or set())}"))
    threads = g.vcpu_threads(guest)
    for vcpu, tid in sorted(threads.items()):
        if vcpu not in pins:
            continue
        got = g.kernel_affinity(tid)
        results.append(Result(f"taskset vCPU {vcpu} (tid {tid})", got == pins[vcpu],
                              f"kernel affinity {fmt_set(got)}, want {fmt_set(pins[vcpu])}"))
    if not threads:
        results.append(Result("vCPU threads from info cpus", False, "info cpus lists none"))
    return results


def cell_backends(guest):
    """{cell: backend} for the RAM backends libvirt names ram-nodeN."""
    return {int(name[len("ram-node"):]): info
            for name, info in g.memory_backends(guest).items()
            if name.startswith("ram-node")}


def check_mapping_policy(pid, size, mode, label):
    maps = g.ram_mappings(pid, size)
    want = KERNEL_POLICY[mode]
    got = sorted({policy for _, policy, _ in maps})
    return Result(f"numa_maps {label}: {want}", bool(maps) and got == [want],
                  f"{len(maps)} mappings of {size // MIB} MiB with policy {got}")


def check_numatune(guest, mode, nodeset):
    """libvirt's mode and nodeset; QEMU's backends and the kernel's mappings agree."""
    got_mode, got_nodes = g.libvirt_numatune(guest)
    results = [Result(f"numatune {mode} {nodeset}", (got_mode, got_nodes) == (mode, nodeset),
                      f"virsh numatune says {got_mode} {got_nodes}")]
    backends = cell_backends(guest)
    for cell, info in sorted(backends.items()):
        results.append(Result(f"ram-node{cell} policy {QEMU_POLICY[mode]}",
                              info.get("policy") == QEMU_POLICY[mode],
                              f"info memdev says {info.get('policy')}"))
    sizes = {int(info["size"]) for info in backends.values() if "size" in info}
    if not sizes:
        results.append(Result("guest RAM backends", False, "info memdev lists no ram-node"))
    pid = guest.pid()
    for size in sorted(sizes):
        results.append(check_mapping_policy(pid, size, mode, f"{size // MIB} MiB guest RAM"))
    return results


def check_memnodes(guest, memnodes):
    results = []
    backends = cell_backends(guest)
    pid = guest.pid()
    for cell, (mode, nodeset) in sorted(memnodes.items()):
        info = backends.get(cell, {})
        want = (QEMU_POLICY[mode], nodeset)
        got = (info.get("policy"), info.get("host nodes"))
        results.append(Result(f"memnode {cell}: ram-node{cell} {want[0]} {nodeset}", got == want,
                              f"info memdev says {got}"))
        if "size" in info:
            results.append(check_mapping_policy(pid, int(info["size"]), mode, f"cell {cell}"))
    return results


def check_shared(guest):
    results = []
    backends = cell_backends(guest)
    pid = guest.pid()
    for cell, info in sorted(backends.items()):
        results.append(Result(f"ram-node{cell} share", info.get("share") == "true",
                              f"info memdev says share: {info.get('share')}"))
        flags = {f for f, _, _ in g.ram_mappings(pid, int(info.get("size", 0)))}
        results.append(Result(f"cell {cell} mapped shared", bool(flags) and
                              all(f.endswith("s") for f in flags), f"mapping flags {flags}"))
    if not backends:
        results.append(Result("shared cells", False, "info memdev lists no ram-node"))
    return results


def check_shares(guest, shares):
    got = guest.live_xml().findtext("cputune/shares")
    return [Result(f"live cputune shares {shares}", got == str(shares), f"live XML has {got}")]


def check_dimms(guest, dimms):
    got = sorted((int(d.get("node", -1)), int(d.get("size", 0)) // MIB)
                 for d in g.memory_devices(guest) if d["type"] == "dimm")
    return [Result(f"DIMMs (node, MiB) {sorted(dimms)}", got == sorted(dimms), f"QEMU has {got}")]


def check_emulatorpin(guest, cpus):
    """libvirt's view, then the kernel's affinity of QEMU's main thread."""
    got = g.libvirt_emulatorpin(guest)
    results = [Result(f"emulatorpin {fmt_set(cpus)}", got == cpus,
                      f"virsh emulatorpin says {fmt_set(got or set())}")]
    pid = guest.pid()
    got = g.kernel_affinity(pid)
    results.append(Result(f"taskset emulator (pid {pid})", got == cpus,
                          f"kernel affinity {fmt_set(got)}, want {fmt_set(cpus)}"))
    return results


def check_iothreadpins(guest, pins):
    """`virsh iothreadinfo`, then each I/O thread's kernel affinity by its QMP thread id."""
    results = []
    live = g.libvirt_iothreads(guest)
    for iothread, cpus in sorted(pins.items()):
        got = live.get(iothread)
        results.append(Result(f"iothreadinfo {iothread}->{fmt_set(cpus)}", got == cpus,
                              f"virsh iothreadinfo says {fmt_set(got or set())}"))
    threads = g.iothread_threads(guest)
    for iothread, cpus in sorted(pins.items()):
        tid = threads.get(iothread)
        if tid is None:
            results.append(Result(f"I/O thread {iothread} in query-iothreads", False,
                                  f"QEMU lists {sorted(threads)}"))
            continue
        got = g.kernel_affinity(tid)
        results.append(Result(f"taskset I/O thread {iothread} (tid {tid})", got == cpus,
                              f"kernel affinity {fmt_set(got)}, want {fmt_set(cpus)}"))
    return results


def check_guest(guest, expect):
    results = []
    if expect.cells is not None:
        results += check_cells(guest, expect.cells)
    if expect.pins is not None:
        results += check_pins(guest, expect.pins)
    if expect.numatune is not None:
        results += check_numatune(guest, *expect.numatune)
    if expect.memnodes is not None:
        results += check_memnodes(guest, expect.memnodes)
    if expect.shared:
        results += check_shared(guest)
    if expect.shares is not None:
        results += check_shares(guest, expect.shares)
    if expect.dimms:
        results += check_dimms(guest, expect.dimms)
    if expect.emulatorpin is not None:
        results += check_emulatorpin(guest, expect.emulatorpin)
    if expect.iothreadpins is not None:
        results += check_iothreadpins(guest, expect.iothreadpins)
    if expect.hotplug_to is not None:
        guest.set_vcpus(expect.hotplug_to)
        results += check_cells(guest, expect.cells_hotplugged, "after hotplug, info numa")
        if expect.pins is not None:
            results += check_pins(guest, expect.pins)
    return results
