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
