#!/usr/bin/python3
"""Self-test of the MoM KSM model: python3 -m unittest discover -s tests/mom"""

import http.client
import os
import socket
import subprocess
import sys
import tempfile
import unittest
import xmlrpc.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mom_ksm_model as model  # noqa: E402

GIB_KIB = 1024 * 1024


class FakeHost:
    """sys/kernel/mm/ksm and proc/meminfo under a temporary folder."""

    def __init__(self, merge, run, shared, total_kib=16 * GIB_KIB, free_kib=12 * GIB_KIB):
        self.tmp = tempfile.TemporaryDirectory()
        self._cleanup = self.tmp.cleanup
        self.sysfs = os.path.join(self.tmp.name, "sys")
        self.procfs = os.path.join(self.tmp.name, "proc")
        os.makedirs(os.path.join(self.sysfs, "kernel", "mm", "ksm"))
        os.makedirs(self.procfs)
        values = {"merge_across_nodes": merge, "run": run, "pages_shared": shared,
                  "pages_sharing": 3 * shared, "pages_unshared": 7, "pages_to_scan": 100,
                  "pages_volatile": 0, "sleep_millisecs": 20, "full_scans": 3}
        for name, value in values.items():
            self.set(name, value)
        self.set_memory(total_kib, free_kib)

    def __del__(self):
        self._cleanup()

    def set(self, name, value):
        with open(os.path.join(self.sysfs, "kernel", "mm", "ksm", name), "w") as f:
            f.write(f"{value}\n")

    def get(self, name):
        return model.FakeKsm(self.sysfs).read(name)

    def set_memory(self, total_kib, free_kib):
        with open(os.path.join(self.procfs, "meminfo"), "w") as f:
            f.write(f"MemTotal: {total_kib} kB\nMemFree: {free_kib} kB\n"
                    f"Buffers: 0 kB\nCached: 0 kB\n")

    def mom(self, cluster_merge, enabled=True, shareable=0):
        return model.MomKsm(self.sysfs, self.procfs, cluster_merge, enabled, shareable)


def files_written(report):
    return [(w["file"], w["value"], w["result"]) for w in report["writes"]]


class PolicyCycle(unittest.TestCase):
    def test_disagreement_with_pages_shared_unmerges_then_writes_the_cluster_value(self):
        host = FakeHost(merge=0, run=1, shared=500)
        mom = host.mom(cluster_merge=1)
        first = mom.cycle()
        self.assertEqual(files_written(first), [("run", 2, "ok")])
        self.assertEqual(first["writes"][0]["unmerged_pages"], 500)
        self.assertEqual((host.get("pages_shared"), host.get("pages_sharing")), (0, 0))
        second = mom.cycle()
        # No memory pressure: run goes to 0 (ksmd stopped), then the value.
        self.assertEqual(files_written(second), [("run", 0, "ok"), ("merge_across_nodes", 1, "ok")])
        self.assertEqual(files_written(mom.cycle()), [])
        self.assertEqual(host.get("merge_across_nodes"), 1)

    def test_agreement_keeps_shared_pages(self):
        host = FakeHost(merge=0, run=0, shared=500)
        mom = host.mom(cluster_merge=0)
        for _ in range(3):
            self.assertEqual(files_written(mom.cycle()), [])
        self.assertEqual(host.get("pages_shared"), 500)

    def test_value_flipped_behind_moms_back_is_flipped_back_every_time(self):
        """A per-VM switch against the cluster: each flip costs an unmerge."""
        host = FakeHost(merge=1, run=1, shared=0, free_kib=GIB_KIB)  # under pressure: run=1
        mom = host.mom(cluster_merge=1)
        mom.cycle()
        unmerges = flips = 0
        for _ in range(5):
            host.set("merge_across_nodes", 0)  # the other writer
            host.set("pages_shared", 200)      # ksmd merges again meanwhile
            for _ in range(2):
                report = mom.cycle()
                unmerges += sum(1 for w in report["writes"] if w.get("unmerged_pages"))
                flips += sum(1 for w in report["writes"] if w["file"] == "merge_across_nodes")
        self.assertEqual((unmerges, flips), (5, 5))
        self.assertEqual(host.get("merge_across_nodes"), 1)

    def test_ksm_disabled_unmerges_and_still_writes_the_cluster_value(self):
        host = FakeHost(merge=0, run=1, shared=50)
        mom = host.mom(cluster_merge=1, enabled=False)
        self.assertEqual(files_written(mom.cycle()), [("run", 2, "ok")])
        self.assertEqual(files_written(mom.cycle()),
                         [("run", 0, "ok"), ("merge_across_nodes", 1, "ok")])

    def test_memory_pressure_runs_ksmd_with_boosted_scanning(self):
        host = FakeHost(merge=1, run=0, shared=0, total_kib=16 * GIB_KIB, free_kib=GIB_KIB)
        mom = host.mom(cluster_merge=1)
        report = mom.cycle()
        # 10 ms * 16 GiB / 16 GiB in KiB units: max(10, 10.0) = 10.
        self.assertEqual(files_written(report), [("run", 1, "ok"), ("pages_to_scan", 400, "ok"),
                                                 ("sleep_millisecs", 10, "ok")])

    def test_committed_shareable_memory_counts_as_pressure(self):
        host = FakeHost(merge=1, run=0, shared=0)
        mom = host.mom(cluster_merge=1, shareable=14 * GIB_KIB)
        self.assertEqual(files_written(mom.cycle())[0], ("run", 1, "ok"))

    def test_kernel_refuses_a_change_while_pages_are_shared(self):
        host = FakeHost(merge=1, run=1, shared=5)
        with self.assertRaises(model.KernelRefused):
            model.FakeKsm(host.sysfs).write("merge_across_nodes", 0)
        model.FakeKsm(host.sysfs).write("merge_across_nodes", 1)  # same value: accepted
        with self.assertRaises(model.KernelRefused):
            model.FakeKsm(host.sysfs).write("merge_across_nodes", 2)


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


class UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path):
        super().__init__()
        self.path = path

    def make_connection(self, host):
        return UnixHTTPConnection(self.path)


class Rpc(unittest.TestCase):
    def test_named_policies_say_what_the_cluster_wants(self):
        host = FakeHost(merge=1, run=0, shared=0)
        path = os.path.join(host.tmp.name, "mom-vdsm.sock")
        server = model.serve_rpc(host.mom(cluster_merge=0), path)
        try:
            mom = xmlrpc.client.ServerProxy("http://localhost/RPC2", transport=UnixTransport(path))
            self.assertTrue(mom.ping())
            policies = mom.getNamedPolicies()
            self.assertIn("(set ksmMergeAcrossNodes False)", policies["01-parameters"])
            self.assertEqual(mom.getStatistics()["host"]["ksm_merge_across_nodes"], 1)
        finally:
            server.shutdown()
            server.server_close()

    def test_command_line_prints_one_report_per_cycle(self):
        host = FakeHost(merge=0, run=1, shared=9)
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mom_ksm_model.py")
        out = subprocess.run([sys.executable, script, "--sysfs", host.sysfs, "--procfs",
                              host.procfs, "--cluster-merge", "1", "--cycles", "2"],
                             capture_output=True, text=True, check=True).stdout
        lines = out.splitlines()
        self.assertEqual(len(lines), 2)
        self.assertIn('"unmerged_pages": 9', lines[0])
        self.assertIn('"merge_across_nodes", "value": 1', lines[1].replace('"file": ', ''))

    def test_step_mode_runs_one_cycle_per_line_and_serves_rpc_meanwhile(self):
        host = FakeHost(merge=0, run=1, shared=9)
        path = os.path.join(host.tmp.name, "mom.sock")
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mom_ksm_model.py")
        proc = subprocess.Popen([sys.executable, script, "--sysfs", host.sysfs, "--procfs",
                                 host.procfs, "--cluster-merge", "1", "--rpc-socket", path,
                                 "--step"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True)
        try:
            self.assertEqual(proc.stdout.readline().strip(), '{"ready": true}')
            mom = xmlrpc.client.ServerProxy("http://localhost/RPC2", transport=UnixTransport(path))
            self.assertIn("(set ksmMergeAcrossNodes True)", mom.getNamedPolicies()["01-parameters"])
            self.assertEqual(host.get("pages_shared"), 9, "no cycle before a line")
            proc.stdin.write("cycle\n")
            proc.stdin.flush()
            self.assertIn('"unmerged_pages": 9', proc.stdout.readline())
        finally:
            proc.stdin.close()
            self.assertEqual(proc.wait(timeout=10), 0)
            proc.stdout.close()
        self.assertFalse(os.path.exists(path))


if __name__ == "__main__":
    unittest.main()
