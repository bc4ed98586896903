#!/usr/bin/python3
"""End-to-end scenarios: the hook's output, defined and started in libvirt + QEMU.

usage: scenarios.py --stage DIR [--direct] [SCENARIO...]

Each scenario takes an engine-style guest from guests/, runs the staged
before_vm_start hooks on it through tests/vdsm-runner with custom properties,
defines and starts what comes out, applies VDSM's CPU step to the running
guest (the pins VDSM sets live once a VM runs, by its CPU pinning policy, as
the runner's --pins-after-start computes them), and checks what the running
guest got.

--direct skips the hook and starts expected/SCENARIO.xml instead: the
hand-written result the hook should produce. It proves the checks and this
host's libvirt + QEMU, so that a failure without --direct points at the hook.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

import checks
import guest as g
import ksm
from checks import Expect, Result

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, "..", "vdsm-runner")
HOOKS = "usr/libexec/vdsm/hooks/before_vm_start"


@dataclass
class Scenario:
    name: str
    template: str
    props: dict
    expect: Expect | None = None
    # "guest": start and check; "refused": the hook must exit 2; "ksm": see run_ksm
    kind: str = "guest"
    notes: list = field(default_factory=list)
    # <ovirt-vm:cpuPolicy> instead of the template's (manual)
    policy: str | None = None
    # VDSM's shared pool of host CPUs (default: the online CPUs)
    shared_pool: str | None = None
    # what the refusal must say, when not the property's name and value
    says: str | None = None
    # the engine's CPU Pinning topology, as the <vcpupin>s it writes: {vCPU: cpuset}
    engine_pins: dict | None = None


SCENARIOS = [
    Scenario("all-three", "two-vcpus",
             {"cputune": "0#0,1#1", "numatune": "interleave#0", "guestnuma": "0#512M,1#512M"},
             Expect(cells={0: ({0}, 512), 1: ({1}, 512)}, pins={0: {0}, 1: {1}},
                    numatune=("interleave", "0"))),
    Scenario("cputune-alone", "two-vcpus", {"cputune": "0#1,1#0"},
             Expect(cells={0: ({0, 1}, 1024)}, pins={0: {1}, 1: {0}})),
    Scenario("numatune-strict", "two-vcpus", {"numatune": "strict#0"},
             Expect(cells={0: ({0, 1}, 1024)}, numatune=("strict", "0"))),
    Scenario("numatune-preferred", "two-vcpus", {"numatune": "preferred#0"},
             Expect(numatune=("preferred", "0"))),
    Scenario("numatune-restrictive", "two-vcpus", {"numatune": "restrictive#0"},
             Expect(numatune=("restrictive", "0")),
             notes=["restrictive is cpuset.mems only: no mempolicy on guest RAM"]),
    Scenario("guestnuma-alone", "two-vcpus", {"guestnuma": "0#256M,1#768M"},
             Expect(cells={0: ({0}, 256), 1: ({1}, 768)})),
    Scenario("memnode", "two-vcpus", {"numatune": "strict#0", "guestnuma": "0#768M#0,1#256M#0"},
             Expect(cells={0: ({0}, 768), 1: ({1}, 256)}, numatune=("strict", "0"),
                    memnodes={0: ("strict", "0"), 1: ("strict", "0")})),
    Scenario("guestnuma-cpu-hotplug", "cpu-hotplug",
             {"guestnuma": "2", "cputune": "0#0,1#1,2#0,3#1"},
             Expect(cells={0: ({0}, 512), 1: (set(), 512)}, pins={0: {0}, 1: {1}, 2: {0}, 3: {1}},
                    hotplug_to=4, cells_hotplugged={0: ({0, 1}, 512), 1: ({2, 3}, 512)})),
    Scenario("shares-kept", "shares", {"cputune": "0#0,1#1"},
             Expect(pins={0: {0}, 1: {1}}, shares=2048)),
    Scenario("shared-cells-kept", "shared-cells", {"cputune": "0#1,1#0", "numatune": "strict#0"},
             Expect(cells={0: ({0}, 512), 1: ({1}, 512)}, pins={0: {1}, 1: {0}},
                    numatune=("strict", "0"), shared=True)),
    Scenario("shared-cells-memnode", "shared-cells",
             {"numatune": "interleave#0", "guestnuma": "0#512M#0,1#512M#0"},
             Expect(cells={0: ({0}, 512), 1: ({1}, 512)}, numatune=("interleave", "0"),
                    memnodes={0: ("interleave", "0"), 1: ("interleave", "0")}, shared=True),
             notes=["new cells keep memAccess='shared'"]),
    Scenario("dimm", "dimm", {"guestnuma": "0#512M,1#512M"},
             Expect(cells={0: ({0}, 1024), 1: ({1}, 512)}, dimms=[(0, 512)]),
             notes=["cell 0 holds the 512 MiB DIMM"]),
    # Under manual, VDSM keeps the pins of the XML it starts (the hook's too)
    # and moves the other vCPUs to its shared pool, here CPU 0.
    Scenario("manual-keeps-pins", "two-vcpus", {"cputune": "0#1"},
             Expect(pins={0: {1}, 1: {0}}), shared_pool="0",
             notes=["VDSM's step keeps vCPU 0's pin and moves vCPU 1 to the shared pool"]),
    # Under none, VDSM would move every vCPU to its shared pool: the hook refuses.
    Scenario("policy-none-refused", "two-vcpus", {"cputune": "0#0,1#1"}, kind="refused",
             policy="none", says="cputune: the engine starts this VM with CPU pinning policy none"),
    # ...but numatune binds memory, which VDSM leaves alone.
    Scenario("policy-none-numatune", "two-vcpus", {"numatune": "strict#0"},
             Expect(pins={0: {0}, 1: {0}}, numatune=("strict", "0")), policy="none",
             shared_pool="0", notes=["VDSM's step moves both vCPUs to the shared pool"]),
    Scenario("emulator-iothreads", "iothreads",
             {"cputune": "0#0", "emulatorpin": "1", "iothreadpin": "1#0_2#1"},
             Expect(pins={0: {0}}, emulatorpin={1}, iothreadpins={1: {0}, 2: {1}}),
             notes=["emulator on CPU 1 beside vCPU 0; I/O thread 1 shares CPU 0 with it "
                    "(the hook warns, the start goes on)"]),
    Scenario("guestnuma-topology", "two-vcpus", {"guestnuma": "2", "emulatorpin": "0-1"},
             Expect(cells={0: ({0}, 512), 1: ({1}, 512)}, emulatorpin={0, 1}),
             notes=["<topology sockets='2' cores='1' threads='1'>: one socket per cell"]),
    # A restore from hibernation rebuilds the pins from the engine's string:
    # pins that agree with it (vCPU 0 as the engine has it, vCPU 1 past its
    # last entry) come back after a real save and restore with VDSM's XML...
    Scenario("restore-keeps-pins", "two-vcpus", {"cputune": "0#0,1#1"},
             Expect(pins={0: {0}, 1: {1}}), kind="restore", engine_pins={0: "0"},
             shared_pool="0", notes=["virsh save, then virsh restore --xml with the XML "
                                     "VDSM's restore gives libvirt"]),
    # ...and a cputune the engine's string contradicts is refused at the first start.
    Scenario("restore-contradicted-refused", "two-vcpus", {"cputune": "0#1,1#0"},
             kind="refused", engine_pins={0: "0"},
             says="vCPU 0 is pinned to CPU 1 here, but the engine's CPU Pinning topology "
                  "pins it to CPU 0"),
    Scenario("refused-value", "two-vcpus", {"numatune": "sometimes#0"}, kind="refused"),
    Scenario("refused-iothread", "iothreads", {"iothreadpin": "0#0"}, kind="refused"),
    Scenario("ksm-flip", "ksm", {}, kind="ksm"),
]


def template_path(scenario):
    return os.path.join(HERE, "guests", scenario.template + ".xml")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def run_hooks(hook_dir, xml_path, props, keep=None, pins=None, pool=None, flow="start"):
    """tests/vdsm-runner on a before_vm_start folder; with PINS, the pins
    VDSM's CPU step leaves once the VM runs, written there as JSON."""
    argv = [RUNNER, "--flow", flow]
    if keep:
        argv += ["--keep", keep]
    if pins:
        argv += ["--pins-after-start", pins]
    if pool:
        argv += ["--shared-pool", pool]
    argv += [hook_dir, xml_path]
    argv += [f"{k}={v}" for k, v in props.items()]
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def with_policy(path, policy, folder):
    """PATH with POLICY as its <ovirt-vm:cpuPolicy>, as a file in FOLDER."""
    if policy is None:
        return path
    text = read(path)
    if f"<ovirt-vm:cpuPolicy>{policy}</ovirt-vm:cpuPolicy>" in text:
        # An expected/ document already carries the scenario's policy.
        return path
    element = "<ovirt-vm:cpuPolicy>manual</ovirt-vm:cpuPolicy>"
    if element not in text:
        raise ValueError(f"{path} has no {element} to replace")
    out = os.path.join(folder, os.path.basename(path))
    with open(out, "w", encoding="utf-8") as f:
        f.write(text.replace(element, f"<ovirt-vm:cpuPolicy>{policy}</ovirt-vm:cpuPolicy>"))
    # The hooks run as vdsm and read it.
    os.chmod(folder, 0o755)
    os.chmod(out, 0o644)
    return out


def with_engine_pins(path, pins, folder):
    """PATH with the engine's <vcpupin>s in its empty <cputune>, as a file in FOLDER."""
    if not pins:
        return path
    text = read(path)
    if "<cputune></cputune>" not in text:
        raise ValueError(f"{path} has no empty <cputune> for the engine's pins")
    written = "".join(f'<vcpupin vcpu="{v}" cpuset="{c}"/>' for v, c in sorted(pins.items()))
    out = os.path.join(folder, "engine-" + os.path.basename(path))
    with open(out, "w", encoding="utf-8") as f:
        f.write(text.replace("<cputune></cputune>", f"<cputune>{written}</cputune>"))
    os.chmod(folder, 0o755)
    os.chmod(out, 0o644)
    return out


def vdsm_cpu_step(guest, state):
    """What VDSM's cpumanagement does once the VM runs: pin, live, each vCPU
    it does not leave alone, as the runner computed from the started XML."""
    for vcpu in state["repinned"]:
        g.virsh("vcpupin", guest.name, str(vcpu), state["pins"][str(vcpu)], "--live")
    kept = sorted(set(range(state["vcpus"])) - set(state["repinned"]))
    return [Result(f"VDSM's CPU step, policy {state['policy']} ({state['policy_from']}): "
                   f"pins of vCPUs {kept or '-'} kept, vCPUs {state['repinned'] or '-'} "
                   "to the shared pool", True)]


def hook_input(xml_path):
    """The document VDSM hands the hooks: ElementTree's re-serialisation."""
    return subprocess.run([RUNNER, "--hook-input", xml_path], capture_output=True, text=True,
                          check=True).stdout


def hook_lines(stderr):
    """The hooks' own stderr, without the runner's log lines."""
    return [l for l in stderr.splitlines() if l and not l.startswith("vdsm-runner:")]


def hook_failure(proc):
    said = " | ".join(hook_lines(proc.stderr)) or "(nothing on stderr)"
    return Result("hook exits 0", False, f"exit {proc.returncode}: {said}")


def run_guest(scenario, args):
    """The hook's output (or with --direct the expected XML, through no hook
    at all) started, then VDSM's CPU step, then the checks."""
    with tempfile.TemporaryDirectory() as tmp:
        pins = os.path.join(tmp, "pins.json")
        if args.direct:
            hook_dir = os.path.join(tmp, "no-hooks")
            os.mkdir(hook_dir)
            source, props = os.path.join(HERE, "expected", scenario.name + ".xml"), {}
        else:
            hook_dir = os.path.join(args.stage, HOOKS)
            source, props = template_path(scenario), scenario.props
        source = with_policy(source, scenario.policy, tmp)
        if not args.direct:
            source = with_engine_pins(source, scenario.engine_pins, tmp)
        proc = run_hooks(hook_dir, source, props, pins=pins, pool=scenario.shared_pool)
        if proc.returncode != 0:
            return [hook_failure(proc)]
        with open(pins, encoding="utf-8") as f:
            state = json.load(f)
    with g.Guest(proc.stdout) as guest:
        return vdsm_cpu_step(guest, state) + checks.check_guest(guest, scenario.expect)


def run_refused(scenario, args):
    """The hook refuses: exit 2, one line on stderr, the XML untouched, no guest."""
    name = g.domain_name(read(template_path(scenario)))
    with tempfile.TemporaryDirectory() as tmp:
        template = with_policy(template_path(scenario), scenario.policy, tmp)
        template = with_engine_pins(template, scenario.engine_pins, tmp)
        kept = os.path.join(tmp, "domxml")
        proc = run_hooks(os.path.join(args.stage, HOOKS), template, scenario.props, keep=kept)
        said = hook_lines(proc.stderr)
        # A refusal for any other reason (a hook that refuses everything) must not pass.
        if scenario.says:
            reason = Result(f"it says: {scenario.says}", any(scenario.says in l for l in said),
                            " | ".join(said) or "(nothing)")
        else:
            reason = Result("it names the property and the value",
                            all(any(k in l and v in l for l in said)
                                for k, v in scenario.props.items()),
                            " | ".join(said) or "(nothing)")
        results = [
            Result("hook exits 2", proc.returncode == 2, f"exit {proc.returncode}"),
            Result("one line on stderr", len(said) == 1, " | ".join(said) or "(nothing)"),
            reason,
            Result("nothing on stdout", proc.stdout == "", f"{len(proc.stdout)} bytes"),
            Result("_hook_domxml unchanged",
                   os.path.exists(kept) and read(kept) == hook_input(template),
                   "the hook rewrote the file it refused"),
        ]
    if proc.returncode != 0:
        # VDSM does not start a VM whose hooks failed: nothing may be defined.
        results.append(Result("no guest defined", not g.is_defined(name), f"{name} exists"))
    return results


def run_restore(scenario, args):
    """The hook's output started, hibernated (virsh save) and restored with the
    XML VDSM's restore gives libvirt (the runner's --flow restore: the pins
    rebuilt from the engine's string), then VDSM's CPU step, then the checks."""
    with tempfile.TemporaryDirectory() as tmp:
        hook_dir = os.path.join(args.stage, HOOKS)
        source = with_policy(template_path(scenario), scenario.policy, tmp)
        source = with_engine_pins(source, scenario.engine_pins, tmp)
        started = run_hooks(hook_dir, source, scenario.props, pool=scenario.shared_pool)
        if started.returncode != 0:
            return [hook_failure(started)]
        pins = os.path.join(tmp, "pins.json")
        restored = run_hooks(hook_dir, source, scenario.props, pins=pins,
                             pool=scenario.shared_pool, flow="restore")
        if restored.returncode != 0:
            return [hook_failure(restored)]
        with open(pins, encoding="utf-8") as f:
            state = json.load(f)
        restored_xml = os.path.join(tmp, "restored.xml")
        with open(restored_xml, "w", encoding="utf-8") as f:
            f.write(restored.stdout)
        image = os.path.join(tmp, "saved.img")
        os.chmod(tmp, 0o777)
        with g.Guest(started.stdout) as guest:
            g.virsh("save", guest.name, image)
            g.virsh("restore", image, "--xml", restored_xml)
            results = [Result("saved and restored with VDSM's XML", guest.state() == "running",
                              guest.state())]
            return results + vdsm_cpu_step(guest, state) + checks.check_guest(guest, scenario.expect)


def run_ksm(scenario, args):
    """merge_across_nodes flips while a running guest's pages are shared.

    The guest preallocates its RAM, QEMU marks it mergeable and KSM, scanning
    fast, shares it; a second VM start asks for the other merge_across_nodes.
    """
    if not ksm.available():
        return [Result("KSM in sysfs", False, f"{ksm.KSM} is not writable")]
    saved = ksm.settings()
    results = []
    try:
        proc = run_hooks(os.path.join(args.stage, HOOKS), template_path(scenario), {})
        if proc.returncode != 0:
            return [hook_failure(proc)]
        with g.Guest(proc.stdout) as guest:
            ksm.write("pages_to_scan", 20000)
            ksm.write("sleep_millisecs", 10)
            ksm.write("run", 1)
            shared = ksm.wait_for_sharing()
            results.append(Result("guest pages shared", shared,
                                  f"pages_shared={ksm.read('pages_shared')} "
                                  f"pages_sharing={ksm.read('pages_sharing')}"))
            want = "0" if ksm.read("merge_across_nodes") == "1" else "1"
            scenario.props = {"ksm_merge_across_nodes": want}
            started = time.monotonic()
            proc = run_hooks(os.path.join(args.stage, HOOKS), template_path(scenario),
                             scenario.props)
            took = time.monotonic() - started
            results.append(Result("hook exits 0", proc.returncode == 0,
                                  f"exit {proc.returncode} in {took:.1f} s: "
                                  + " | ".join(hook_lines(proc.stderr))))
            got = ksm.read("merge_across_nodes")
            results.append(Result(f"merge_across_nodes={want}", got == want, f"sysfs has {got}"))
            results.append(Result("ksm run back to 1", ksm.read("run") == "1",
                                  f"run={ksm.read('run')}"))
            status = guest.hmp("info status").strip()
            results.append(Result("guest still running", guest.state() == "running"
                                  and "running" in status, f"{guest.state()}; {status}"))
    finally:
        try:
            ksm.restore(saved)
            results.append(Result("KSM settings restored", True))
        except (OSError, RuntimeError) as err:
            results.append(Result("KSM settings restored", False, str(err)))
    return results


RUNNERS = {"guest": run_guest, "refused": run_refused, "ksm": run_ksm, "restore": run_restore}


def run_scenario(scenario, args):
    started = time.monotonic()
    try:
        results = RUNNERS[scenario.kind](scenario, args)
    except (g.CommandError, OSError, ValueError, KeyError) as err:
        results = [Result("scenario ran", False, f"{type(err).__name__}: {err}")]
    if not results:
        results = [Result("anything checked", False, "no check ran")]
    return results, time.monotonic() - started


def print_summary(outcomes, direct):
    mode = "hand-written expected XML (--direct)" if direct else "hook output via vdsm-runner"
    print(f"\n=== end-to-end summary: {mode} ===")
    width = max(len(s.name) for s, _, _ in outcomes)
    for scenario, results, took in outcomes:
        verdict = "PASS" if all(r.ok for r in results) else "FAIL"
        props = " ".join(f"{k}={v}" for k, v in scenario.props.items()) or "(no properties)"
        if scenario.policy:
            props += f" (cpuPolicy {scenario.policy})"
        passed = sum(r.ok for r in results)
        print(f"{verdict}  {scenario.name:<{width}}  {props}  [{passed}/{len(results)} checks, "
              f"{took:.1f} s]")
        for r in results:
            mark = "ok  " if r.ok else "FAIL"
            detail = f"  ({r.detail})" if r.detail and not r.ok else ""
            print(f"        {mark} {r.what}{detail}")
        for note in scenario.notes:
            print(f"        note: {note}")
    failed = sum(1 for _, results, _ in outcomes if not all(r.ok for r in results))
    print(f"\ne2e: {len(outcomes) - failed} passed, {failed} failed")
    return failed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True, help="staged install root (tests/e2e/stage.sh)")
    parser.add_argument("--direct", action="store_true",
                        help="start expected/SCENARIO.xml instead of the hook's output")
    parser.add_argument("only", nargs="*", help="scenario names (default: all)")
    args = parser.parse_args()
    known = {s.name for s in SCENARIOS}
    unknown = [n for n in args.only if n not in known]
    if unknown:
        parser.error(f"unknown scenarios {unknown}; known: {sorted(known)}")
    outcomes = []
    for scenario in SCENARIOS:
        if args.only and scenario.name not in args.only:
            continue
        if args.direct and scenario.kind != "guest":
            print(f"--- {scenario.name}: needs the hook, not run with --direct")
            continue
        print(f"--- {scenario.name}", flush=True)
        results, took = run_scenario(scenario, args)
        outcomes.append((scenario, results, took))
    return 1 if print_summary(outcomes, args.direct) else 0


if __name__ == "__main__":
    sys.exit(main())
