#!/usr/bin/python3
"""End-to-end: `verify` reads back real guests the hook placed.

usage: verify.py --stage DIR [--record DIR] [SCENARIO...]

Each scenario puts its custom properties in the template's <ovirt-vm:custom>
(where the engine writes them) and in the environment (as VDSM passes them),
runs the staged before_vm_start hooks, starts the result, and runs the staged
`vdsm-hook-largeguest verify` on the running guest: every check must hold.
Then it moves the guest behind the hook's back, as happens on real hosts:
`virsh vcpupin --live` re-pins a vCPU through libvirt and `taskset` moves
another outside libvirt; verify must name each vCPU, say what was asked and
what is, and exit 1. A domain that is not running must give exit 2.

--record DIR also saves what verify read of each guest state under DIR (see
testdata/verify/README.md). fleet.py adds `verify --all` over two guests and
a domain without properties; SCENARIO names run only those.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import fleet
import guest as g
import scenarios
from checks import Result
from scenarios import Scenario

HERE = os.path.dirname(os.path.abspath(__file__))
RECORD = os.path.join(HERE, "..", "..", "testdata", "verify", "record.sh")
BINARY = "usr/libexec/vdsm-hook-largeguest/vdsm-hook-largeguest"


class VerifyScenario(Scenario):
    """A Scenario with the count of checks verify must find holding."""

    def __init__(self, name, template, props, checks, moves=True, notes=()):
        super().__init__(name, template, props, kind="verify", notes=list(notes))
        self.checks = checks
        # Move the vCPUs afterwards (the scenario pins both).
        self.moves = moves


SCENARIOS = [
    # 2 vCPUs + per cell: its shape, its policy, its placement.
    VerifyScenario("verify-two-cells", "two-vcpus",
                   {"cputune": "0#0,1#1", "numatune": "strict#0",
                    "guestnuma": "0#256M#0,1#768M#0"}, checks=8),
    # 2 vCPUs + the template's one cell: its policy and its placement.
    VerifyScenario("verify-interleave", "two-vcpus",
                   {"cputune": "0#1,1#0", "numatune": "interleave#0"}, checks=4,
                   notes=["no guestnuma: the template's one cell, numatune on it"]),
    # Shared (memAccess) cells: 2 vCPUs + per cell its policy and placement.
    VerifyScenario("verify-shared-cells", "shared-cells",
                   {"cputune": "0#1,1#0", "numatune": "interleave#0"}, checks=6),
    # Three 512 MiB backends, a DIMM on cell 0: per cell shape, policy, placement.
    VerifyScenario("verify-dimm", "dimm",
                   {"numatune": "strict#0", "guestnuma": "0#512M#0,1#512M#0"}, checks=6,
                   moves=False, notes=["a 512 MiB DIMM beside two 512 MiB cells"]),
]


def with_custom_properties(xml_text, props):
    """The template with <ovirt-vm:custom> holding the properties, as the engine writes it."""
    custom = "".join(f"<ovirt-vm:{k}>{v}</ovirt-vm:{k}>" for k, v in props.items())
    custom = f"<ovirt-vm:custom>{custom}</ovirt-vm:custom>"
    if "<ovirt-vm:custom>" in xml_text or "<ovirt-vm:vm>" not in xml_text:
        raise ValueError("the template needs an <ovirt-vm:vm> without <ovirt-vm:custom>")
    return xml_text.replace("<ovirt-vm:vm>", "<ovirt-vm:vm>" + custom, 1)


def run_verify(stage, *args):
    return subprocess.run([os.path.join(stage, BINARY), "verify", *args],
                          capture_output=True, text=True, check=False)


def differences(stdout):
    """The lines between the last blank line and the count."""
    lines = stdout.splitlines()
    start = max((i for i, line in enumerate(lines) if not line), default=-1) + 1
    return lines[start:-1]


def count_line(holding, differing):
    holds = "1 check holds" if holding == 1 else f"{holding} checks hold"
    differs = "1 differs" if differing == 1 else f"{differing} differ"
    return f"verify: {holds}, {differs}"


def expect(label, proc, code, holding, lines):
    """verify's exit, its last line and its difference lines (regexes, in order)."""
    got = differences(proc.stdout)
    last = proc.stdout.splitlines()[-1] if proc.stdout else ""
    said = " | ".join(proc.stdout.splitlines()[-4:] + proc.stderr.splitlines()) or "(nothing)"
    return [
        Result(f"{label}: exit {code}", proc.returncode == code, f"exit {proc.returncode}: {said}"),
        Result(f"{label}: {count_line(holding, len(lines))}",
               last == count_line(holding, len(lines)), f"last line {last!r}"),
        Result(f"{label}: the differences named", len(got) == len(lines) and
               all(re.fullmatch(want, line) for want, line in zip(lines, got)),
               f"got {got}"),
    ]


def vcpu_tids(guest):
    """libvirt's thread id of each online vCPU, from its status XML."""
    with open(f"/run/libvirt/qemu/{guest.name}.xml", encoding="utf-8") as f:
        return {int(v): int(t) for v, t in re.findall(r"<vcpu id='(\d+)' pid='(\d+)'/>", f.read())}


def record(args, guest, label):
    if args.record:
        g.run([RECORD, guest.name, os.path.join(args.record, label)])


def check_running(scenario, args, guest):
    stage = args.stage
    results = []
    holds = run_verify(stage, guest.name)
    results += expect("as started", holds, 0, scenario.checks, [])
    record(args, guest, scenario.name)
    uuid = ET.fromstring(guest.xml_text).findtext("uuid")
    by_uuid = run_verify(stage, uuid, "--json")
    try:
        report = json.loads(by_uuid.stdout)
        held = [c["holds"] for c in report["checks"]]
        results.append(Result("by UUID, --json: every check holds",
                              by_uuid.returncode == 0 and held == [True] * scenario.checks,
                              f"exit {by_uuid.returncode}, holds {held}"))
    except (ValueError, KeyError, TypeError) as err:
        results.append(Result("by UUID, --json", False, f"{err}: {by_uuid.stdout[:200]}"))
    if scenario.moves:
        results += move_vcpus(scenario, args, guest)
    return results


def move_vcpus(scenario, args, guest):
    """Moves vCPU 1 through libvirt and vCPU 0 behind its back; verify names each."""
    stage = args.stage
    results = []
    # Each vCPU is pinned to one of the host's CPUs 0 and 1; move it to the other.
    pins = dict(map(int, entry.split("#")) for entry in scenario.props["cputune"].split(","))
    moved_to = {vcpu: 1 - cpu for vcpu, cpu in pins.items()}
    # Re-pin vCPU 1 through libvirt, as virsh or VDSM's CPU management do.
    g.virsh("vcpupin", guest.name, "1", str(moved_to[1]), "--live")
    repinned = run_verify(stage, guest.name)
    results += expect("after virsh vcpupin 1", repinned, 1, scenario.checks - 1, [
        rf"vCPU 1: cputune asks host CPU {pins[1]}, but its thread \(tid \d+\) may run on "
        rf"CPU {moved_to[1]}; the live XML pins it to CPU {moved_to[1]}: re-pinned after start .*"])
    # Move vCPU 0 outside libvirt: libvirt still records the asked pin.
    g.run(["taskset", "-pc", str(moved_to[0]), str(vcpu_tids(guest)[0])])
    moved = run_verify(stage, guest.name)
    results += expect("after taskset on vCPU 0", moved, 1, scenario.checks - 2, [
        rf"vCPU 0: cputune asks host CPU {pins[0]}, but its thread \(tid \d+\) may run on "
        rf"CPU {moved_to[0]}; libvirt still records CPU {pins[0]}, so the affinity was changed "
        r"outside libvirt .*",
        r"vCPU 1: .*"])
    record(args, guest, scenario.name + "-moved")
    return results


def run_scenario(scenario, args):
    template = scenarios.read(scenarios.template_path(scenario))
    with_props = os.path.join(args.work, scenario.name + ".xml")
    with open(with_props, "w", encoding="utf-8") as f:
        f.write(with_custom_properties(template, scenario.props))
    proc = scenarios.run_hooks(os.path.join(args.stage, scenarios.HOOKS), with_props, scenario.props)
    if proc.returncode != 0:
        return [scenarios.hook_failure(proc)]
    if "<ovirt-vm:custom>" not in proc.stdout:
        return [Result("the hook keeps <ovirt-vm:custom>", False, "not in its output")]
    with g.Guest(proc.stdout) as guest:
        return check_running(scenario, args, guest)


def check_not_running(args):
    proc = run_verify(args.stage, g.NAME_PREFIX + "not-running")
    return [
        Result("a domain not running: exit 2", proc.returncode == 2, f"exit {proc.returncode}"),
        Result("one line on stderr, nothing on stdout",
               len(proc.stderr.splitlines()) == 1 and proc.stdout == "",
               proc.stderr.strip() or "(nothing)"),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True, help="staged install root (tests/e2e/stage.sh)")
    parser.add_argument("--record", help="save what verify read of each guest state here")
    parser.add_argument("names", nargs="*", help="only these scenarios")
    args = parser.parse_args()
    args.work = os.path.join(args.stage, "verify-work")
    os.makedirs(args.work, exist_ok=True)
    scenarios.RUNNERS["verify"] = lambda scenario, args: run_scenario(scenario, args)
    scenarios.RUNNERS["verify-absent"] = lambda scenario, args: check_not_running(args)
    scenarios.RUNNERS.update(fleet.RUNNERS)
    absent = Scenario("verify-not-running", "two-vcpus", {}, kind="verify-absent")
    chosen = SCENARIOS + [absent] + fleet.SCENARIOS
    unknown = set(args.names) - {s.name for s in chosen}
    if unknown:
        parser.error(f"no such scenario: {', '.join(sorted(unknown))}")
    outcomes = []
    for scenario in [s for s in chosen if not args.names or s.name in args.names]:
        print(f"--- {scenario.name}", flush=True)
        results, took = scenarios.run_scenario(scenario, args)
        outcomes.append((scenario, results, took))
    return 1 if scenarios.print_summary(outcomes, False) else 0


if __name__ == "__main__":
    sys.exit(main())
