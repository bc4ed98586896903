#!/usr/bin/python3
"""Self-test of tests/vdsm-runner's model of VDSM: python3 -m unittest discover -s tests/runner"""

import importlib.machinery
import importlib.util
import os
import unittest
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
_loader = importlib.machinery.SourceFileLoader("vdsm_runner", os.path.join(HERE, "..", "vdsm-runner"))
_spec = importlib.util.spec_from_loader("vdsm_runner", _loader)
runner = importlib.util.module_from_spec(_spec)
_loader.exec_module(runner)

ENGINE = """<?xml version="1.0" encoding="UTF-8"?>
<domain type="kvm" xmlns:ovirt-vm="http://ovirt.org/vm/1.0" xmlns:q="urn:other">
  <!-- dropped -->
  <uuid>u-1</uuid><vcpu current="{current}">4</vcpu>
  <on_reboot>destroy</on_reboot>
  <cputune>{pins}</cputune><q:x><![CDATA[a<b]]></q:x>
  <metadata><ovirt-vm:vm>{policy}<ovirt-vm:custom><ovirt-vm:cputune>0#0</ovirt-vm:cputune><ovirt-vm:empty/></ovirt-vm:custom></ovirt-vm:vm></metadata>
</domain>"""


def engine(policy=None, pins="", current=4):
    tag = f"<ovirt-vm:cpuPolicy>{policy}</ovirt-vm:cpuPolicy>" if policy else ""
    return ENGINE.format(policy=tag, pins=pins, current=current).encode()


def after_start(policy, pins, current=4, pool="0-7"):
    root = ET.fromstring(engine(policy, pins, current))
    return runner.after_start(root, root, runner.cpulist_parse(pool))


PINS = '<vcpupin vcpu="0" cpuset="2"/><vcpupin vcpu="1" cpuset="3-4"/>'


class CpuStep(unittest.TestCase):
    def test_none_moves_every_vcpu_to_the_shared_pool(self):
        state = after_start("none", PINS)
        self.assertEqual(state["pins"], {str(v): "0-7" for v in range(4)})
        self.assertEqual(state["repinned"], [0, 1, 2, 3])

    def test_manual_keeps_the_pinned_vcpus(self):
        state = after_start("manual", PINS)
        self.assertEqual(state["pins"], {"0": "2", "1": "3-4", "2": "0-7", "3": "0-7"})

    def test_no_policy_with_pins_is_inferred_manual(self):
        state = after_start(None, PINS)
        self.assertEqual((state["policy"], state["policy_from"]), ("manual", "inferred"))
        self.assertEqual(state["repinned"], [2, 3])

    def test_no_policy_without_pins_is_inferred_none(self):
        self.assertEqual(after_start(None, "")["policy"], "none")

    def test_exclusive_policies_are_left_alone(self):
        for policy in ("dedicated", "isolate-threads", "siblings"):
            self.assertEqual(after_start(policy, PINS)["pins"], {"0": "2", "1": "3-4"})

    def test_only_current_vcpus_are_repinned(self):
        self.assertEqual(after_start("none", "", current=2)["repinned"], [0, 1])

    def test_cpusets_vdsm_cannot_parse_raise(self):
        self.assertEqual(runner.cpulist_parse("0-3,^2"), {0, 1, 3})
        with self.assertRaises(ValueError):
            runner.cpulist_parse("0-7,^2-3")


def pins_of(root):
    return {p.get("vcpu"): p.get("cpuset") for p in root.iter("vcpupin")}


def cputune(pins):
    return "".join(f'<vcpupin vcpu="{v}" cpuset="{c}"/>' for v, c in pins.items())


class ReplaceCpuPinning(unittest.TestCase):
    """cpumanagement.replace_cpu_pinning, as restore and migration call it."""

    def live(self, pins):
        return ET.fromstring(f"<domain><cputune>{cputune(pins)}</cputune></domain>")

    def test_none_drops_every_pin_then_sets_the_target(self):
        root = runner.replace_cpu_pinning(self.live({0: "5", 1: "6"}), "none", set(), {1: "9"})
        self.assertEqual(pins_of(root), {"1": "9"})

    def test_manual_keeps_manual_vcpus_and_gives_them_the_engine_cpuset(self):
        root = runner.replace_cpu_pinning(self.live({0: "5", 1: "6", 2: "0-7"}), "manual",
                                          {0, 1}, {0: "0"})
        # vCPU 0: the engine's string wins; vCPU 1 lies past it and keeps its pin.
        self.assertEqual(pins_of(root), {"0": "0", "1": "6"})

    def test_a_manual_vcpu_the_engine_skips_below_its_last_gets_none(self):
        root = runner.replace_cpu_pinning(self.live({0: "5", 1: "6"}), "manual", {0, 1},
                                          {0: "5", 2: "7"})
        self.assertEqual(pins_of(root), {"0": "5", "1": "None", "2": "7"})
        with self.assertRaises(runner.Refused):
            runner.check_cpusets(root)

    def test_no_target_keeps_only_manual_pins(self):
        root = runner.replace_cpu_pinning(self.live({0: "5", 3: "6"}), "manual", {3}, None)
        self.assertEqual(pins_of(root), {"3": "6"})


class LiveXml(unittest.TestCase):
    def test_the_cpu_step_and_its_metadata_land_in_the_live_xml(self):
        root = ET.fromstring(engine("manual", PINS))
        state = runner.after_start(root, root, runner.cpulist_parse("0-7"))
        live = runner.live_xml(root, state)
        self.assertEqual(pins_of(live), {"0": "2", "1": "3-4", "2": "0-7", "3": "0-7"})
        self.assertEqual(runner.cpu_state(live), ("manual", {0, 1}))


class DynamicHugepages(unittest.TestCase):
    def tree(self, free):
        import tempfile
        sysfs = tempfile.mkdtemp()
        self.addCleanup(__import__("shutil").rmtree, sysfs)
        for node, pages in enumerate(free):
            folder = os.path.join(sysfs, f"devices/system/node/node{node}/hugepages/hugepages-2048kB")
            os.makedirs(folder)
            for name in ("nr_hugepages", "free_hugepages"):
                with open(os.path.join(folder, name), "w") as f:
                    f.write(f"{pages}\n")
        return sysfs

    def free(self, sysfs, node):
        path = f"devices/system/node/node{node}/hugepages/hugepages-2048kB/free_hugepages"
        with open(os.path.join(sysfs, path)) as f:
            return int(f.read())

    def test_what_the_free_pages_lack_is_spread_over_the_nodes(self):
        sysfs = self.tree([1, 0])
        root = ET.fromstring("<domain><memory unit='KiB'>12288</memory></domain>")
        # 6 pages of 2 MiB, 1 free: 5 allocated, round-robin from node 0.
        self.assertEqual(runner.allocate_hugepages(sysfs, root, {"hugepages": "2048"}), 5)
        self.assertEqual((self.free(sysfs, 0), self.free(sysfs, 1)), (4, 2))

    def test_nothing_without_the_property(self):
        sysfs = self.tree([0, 0])
        root = ET.fromstring("<domain><memory unit='KiB'>12288</memory></domain>")
        self.assertEqual(runner.allocate_hugepages(sysfs, root, {}), 0)


class HookInput(unittest.TestCase):
    def test_elementtree_reserialisation(self):
        text = runner.hook_input(engine("none", PINS))
        self.assertTrue(text.startswith("<?xml version='1.0' encoding='utf-8'?>\n<domain "))
        self.assertIn('<vcpupin vcpu="0" cpuset="2" />', text)
        self.assertIn("\n    <uuid>u-1</uuid>\n", text)
        self.assertIn("<ovirt-vm:cpuPolicy>none</ovirt-vm:cpuPolicy>", text)
        self.assertIn("<ns0:x>a&lt;b</ns0:x>", text)
        self.assertNotIn("dropped", text)
        self.assertNotIn("on_reboot", text)

    def test_custom_properties_come_from_the_metadata(self):
        root = ET.fromstring(engine())
        self.assertEqual(runner.custom_properties(root), {"cputune": "0#0", "empty": ""})

    def test_environment_order(self):
        env = runner.hook_env("/tmp/f", "u-1", {"LC_ALL": "C", "PYTHONPATH": "/p"})
        self.assertEqual(env["LC_ALL"], "C")  # a property shadows vdsmd's variable
        self.assertEqual(env["PYTHONPATH"], "/p:" + runner.VDSM_HOOK_MODULE)
        self.assertEqual(list(env)[-1], "_hook_domxml")


class EngineMessage(unittest.TestCase):
    def test_bytes_repr(self):
        self.assertEqual(runner.engine_message(b"no quotes\n"), "Hook Error: (b'no quotes\\n',)")
        self.assertEqual(runner.engine_message(b"it's\n"), 'Hook Error: (b"it\'s\\n",)')
        self.assertEqual(runner.engine_message(b"it's \"x\""), "Hook Error: (b'it\\'s \"x\"',)")
        self.assertEqual(runner.engine_message("\u2026".encode()), "Hook Error: (b'\\xe2\\x80\\xa6',)")


if __name__ == "__main__":
    unittest.main()
