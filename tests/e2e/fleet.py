"""End-to-end: `verify --all` over several real guests, its Prometheus
metrics, and the live re-pin of a domain started without properties.

Run by verify.py (tests/e2e/run.sh verify [SCENARIO...]):

verify-fleet: two guests placed by the hook run side by side; the second's
  hook warns that its vCPUs go where the first's are pinned. `verify --all`
  holds for both, its metrics pass `promtool check metrics`; `virsh vcpupin
  --live` on one makes verify --all exit 1 and that guest's metrics change,
  not the other's.
verify-defined: the hook's output without <ovirt-vm:custom> (a domain started
  from `apply`'s output, outside oVirt), defined and started; verify asks
  from its persistent definition and finds `virsh emulatorpin --live` and
  `virsh vcpupin --live`, which the live XML follows.
"""

import os
import re
import shutil
import subprocess

import guest as g
import scenarios
from checks import Result

BINARY = "usr/libexec/vdsm-hook-largeguest/vdsm-hook-largeguest"


def run_verify(stage, *args):
    return subprocess.run([os.path.join(stage, BINARY), "verify", *args],
                          capture_output=True, text=True, check=False)


def hooked(args, template, name, uuid, props):
    """The template renamed, with its properties in <ovirt-vm:custom>, through
    the staged hooks: (the domain XML the hook wrote, its stderr)."""
    text = scenarios.read(os.path.join(scenarios.HERE, "guests", template + ".xml"))
    text = re.sub(r"<name>[^<]*</name>", f"<name>{name}</name>", text, count=1)
    # The template's UUID is in <sysinfo> too, which libvirt checks against <uuid>.
    text = text.replace(re.search(r"<uuid>([^<]*)</uuid>", text).group(1), uuid)
    custom = "".join(f"<ovirt-vm:{k}>{v}</ovirt-vm:{k}>" for k, v in props.items())
    text = text.replace("<ovirt-vm:vm>", f"<ovirt-vm:vm><ovirt-vm:custom>{custom}</ovirt-vm:custom>", 1)
    path = os.path.join(args.work, name + ".xml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    proc = scenarios.run_hooks(os.path.join(args.stage, scenarios.HOOKS), path, props)
    if proc.returncode != 0:
        raise g.CommandError(f"the hook refused {name}: {proc.stderr.strip()}")
    return proc.stdout, proc.stderr


def samples(path):
    """`name{labels}` -> value of each sample in a metrics file."""
    with open(path, encoding="utf-8") as f:
        lines = [line for line in f.read().splitlines() if line and not line.startswith("#")]
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in lines}


def promtool(path):
    if not shutil.which("promtool"):
        return Result("promtool check metrics", False, "promtool is not installed")
    with open(path, encoding="utf-8") as f:
        proc = subprocess.run(["promtool", "check", "metrics"], stdin=f,
                              capture_output=True, text=True, check=False)
    said = (proc.stdout + proc.stderr).strip()
    return Result("promtool check metrics passes", proc.returncode == 0 and not said,
                  f"exit {proc.returncode}: {said or '(nothing)'}")


def rows(stdout):
    """The summary rows: domain (as printed, quoted) -> the row's last word."""
    found = {}
    for line in stdout.splitlines():
        if line.startswith("'"):
            found[line.split()[0].strip("'")] = line.split()[-1]
    return found


def run_fleet(_scenario, args):
    a, b = g.NAME_PREFIX + "fleet-a", g.NAME_PREFIX + "fleet-b"
    xml_a, _ = hooked(args, "two-vcpus", a, "6c0e2e00-0000-4000-8000-0000000000fa",
                      {"cputune": "0#0,1#1", "numatune": "strict#0"})
    prom = os.path.join(args.work, "largeguest.prom")
    results = []
    with g.Guest(xml_a):
        # Started while A runs: B's vCPU 0 goes on CPU 1, where A's vCPU 1 is pinned.
        xml_b, said = hooked(args, "two-vcpus", b, "6c0e2e00-0000-4000-8000-0000000000fb",
                             {"cputune": "0#1,1#0", "numatune": "interleave#0"})
        warned = f"which vCPUs of running guests are pinned to as well: '{a}'"
        results.append(Result("the hook warns that B's pins share A's CPUs", warned in said,
                              said.strip() or "(nothing on stderr)"))
        with g.Guest(xml_b):
            results += fleet_checks(args, a, b, prom)
    return results


def fleet_checks(args, a, b, prom):
    results = []
    holds = run_verify(args.stage, "--all", "--prometheus", prom)
    found = rows(holds.stdout)
    results.append(Result("verify --all: exit 0, A and B hold",
                          holds.returncode == 0 and found.get(a) == "ok" and found.get(b) == "ok",
                          f"exit {holds.returncode}, rows {found}, {holds.stderr.strip()}"))
    others = sorted(set(found) - {a, b})
    results.append(Result("no other guest runs on the host", not others, f"also {others}"))
    results.append(promtool(prom))
    before = samples(prom)
    pin = lambda name, vcpu: f'largeguest_vcpu_pin_holds{{domain="{name}",vcpu="{vcpu}"}}'
    diff = lambda name: f'largeguest_verify_differences{{domain="{name}"}}'
    results.append(Result("metrics: every pin holds", all(before.get(pin(n, v)) == 1
                                                           for n in (a, b) for v in (0, 1)),
                          f"{ {k: v for k, v in before.items() if 'pin_holds' in k} }"))
    # A's vCPU 1 moves to CPU 0, through libvirt, as virsh or VDSM would.
    g.virsh("vcpupin", a, "1", "0", "--live")
    moved = run_verify(args.stage, "--all", "--prometheus", prom)
    after = samples(prom)
    found = rows(moved.stdout)
    last = moved.stdout.splitlines()[-1] if moved.stdout else ""
    results += [
        Result("after virsh vcpupin --live on A: exit 1, A differs, B holds",
               moved.returncode == 1 and found.get(a) == "DIFFERS" and found.get(b) == "ok",
               f"exit {moved.returncode}, rows {found}"),
        Result("the last line counts the domains",
               last == "verify --all: 2 domains, 1 hold, 1 differs, 0 cannot be read", last),
        Result("metrics: A's vCPU 1 no longer holds, its differences count 1, B's 0",
               after.get(pin(a, 1)) == 0 and after.get(pin(a, 0)) == 1
               and after.get(diff(a)) == 1 and after.get(diff(b)) == 0,
               f"vCPU 1 {after.get(pin(a, 1))}, A {after.get(diff(a))}, B {after.get(diff(b))}"),
        Result("metrics: the last run's time moved on or stayed",
               after["largeguest_verify_last_run_timestamp_seconds"]
               >= before["largeguest_verify_last_run_timestamp_seconds"], ""),
        promtool(prom),
    ]
    return results


def run_defined(_scenario, args):
    """A domain without properties: verify asks from its persistent definition."""
    name = g.NAME_PREFIX + "defined"
    xml, _ = hooked(args, "two-vcpus", name, "6c0e2e00-0000-4000-8000-0000000000fd",
                    {"cputune": "0#0,1#1", "emulatorpin": "1"})
    xml = re.sub(r"<ovirt-vm:custom>.*?</ovirt-vm:custom>", "", xml, flags=re.S)
    results = []
    with g.Guest(xml):
        holds = run_verify(args.stage, name)
        second = holds.stdout.splitlines()[1] if holds.stdout.count("\n") > 1 else ""
        results += [
            Result("as started: exit 0", holds.returncode == 0,
                   f"exit {holds.returncode}: {holds.stdout[-300:]}{holds.stderr}"),
            Result("asked from the persistent definition",
                   second.startswith(f"asked: the persistent definition /etc/libvirt/qemu/{name}.xml"),
                   second),
        ]
        g.virsh("emulatorpin", name, "0", "--live")
        moved = run_verify(args.stage, name)
        want = (r"emulator: defined <emulatorpin> asks host CPU 1, but the main QEMU thread "
                r"\(tid \d+\) may run on CPU 0; the live XML pins it to CPU 0: re-pinned after "
                r"start \(virsh emulatorpin\)")
        results.append(Result("after virsh emulatorpin --live: exit 1, the emulator named",
                              moved.returncode == 1 and any(re.fullmatch(want, line)
                                                            for line in moved.stdout.splitlines()),
                              f"exit {moved.returncode}: {moved.stdout.splitlines()[-3:]}"))
        g.virsh("vcpupin", name, "1", "0", "--live")
        repinned = run_verify(args.stage, name)
        want = r"vCPU 1: defined <vcpupin> asks host CPU 1, but its thread \(tid \d+\) may run on CPU 0; .*"
        results.append(Result("after virsh vcpupin --live: vCPU 1 named too",
                              repinned.returncode == 1 and any(re.fullmatch(want, line)
                                                               for line in repinned.stdout.splitlines()),
                              f"exit {repinned.returncode}: {repinned.stdout.splitlines()[-4:]}"))
    return results


SCENARIOS = [
    scenarios.Scenario("verify-fleet", "two-vcpus", {"cputune": "0#0,1#1 / 0#1,1#0"},
                       kind="verify-fleet", notes=["two guests, verify --all, metrics"]),
    scenarios.Scenario("verify-defined", "two-vcpus", {"cputune": "0#0,1#1", "emulatorpin": "1"},
                       kind="verify-defined", notes=["no <ovirt-vm:custom>: the definition asks"]),
]
RUNNERS = {"verify-fleet": run_fleet, "verify-defined": run_defined}
