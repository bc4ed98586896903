#!/usr/bin/python3
"""A model of MoM's KSM policy cycle on an oVirt host, on a fake sysfs tree.

Written from VDSM's MoM policies (static/etc/vdsm/mom.d/00-defines.policy,
03-ksm.policy), MoM's KSM controller (mom/Controllers/KSM.py), its HostKSM
and HostMemory collectors and VDSM's supervdsm ksmTune. One cycle:

1. collect: every KSM file (run, merge_across_nodes, pages_shared, ...);
   mem_available = MemTotal and mem_free = MemFree + Buffers + Cached from
   meminfo; ksm_shareable = the qemu processes' VSZ in KiB (given here).
   mem_free is averaged over the last 10 samples (sample-history-length).
2. the policy, with M the cluster's ksmMergeAcrossNodes and E its ksmEnabled
   (the engine's "KSM control" settings; VDSM's defaults are 1 and 1):
   - no page shared: control merge_across_nodes = M;
   - action = 2 (unmerge all) when pages are shared and either the kernel's
     merge_across_nodes differs from M or KSM is disabled, else 0;
   - when memory is not under pressure (threshold = 20% of mem_available,
     threshold + shareable < mem_available and mean mem_free > threshold),
     or KSM is disabled, or action is 2: control run = action (so 0 stops
     ksmd, 2 unmerges); otherwise run = 1, sleep_millisecs =
     max(10, 10 * 16777216 / mem_available), pages_to_scan moved by +300
     (mean mem_free below the threshold) or -50, kept within 64..1250.
3. the controller writes, through supervdsm, each control whose value
   differs from what was collected, in this order: run, pages_to_scan,
   sleep_millisecs, merge_across_nodes. The first write that fails ends
   the cycle's writes (supervdsm raises).

A fake tree is plain files, so the writes follow the kernel's rules here
(mm/ksm.c): merge_across_nodes takes 0 or 1 (EINVAL), and refuses a change
while any page is shared (EBUSY); run=2 unmerges every page before it
returns (pages_shared and pages_sharing become 0).

usage: mom_ksm_model.py --sysfs ROOT --procfs ROOT --cluster-merge 0|1
                        [--ksm-enabled 0|1] [--shareable KIB] [--cycles N]
                        [--interval SECONDS] [--rpc-socket PATH] [--step]
Prints one JSON object per cycle: the writes and their results. With
--rpc-socket it also answers MoM's RPC calls that a hook may make
(ping, getNamedPolicies, getStatistics) on that unix socket, as XML-RPC,
until it ends. MoM's own interval is 15 s (policy-engine-interval).
With --step it prints {"ready": true} once the socket is up, then runs one
cycle for each line read on stdin, until stdin ends: a test runs the hook
between two cycles, as it would run between two of MoM's.
"""

import argparse
import errno
import json
import os
import socketserver
import sys
import threading
import time
from xmlrpc.server import SimpleXMLRPCDispatcher, SimpleXMLRPCRequestHandler

KSM_FILES = ("full_scans", "pages_sharing", "pages_unshared", "run", "pages_shared",
             "pages_to_scan", "pages_volatile", "sleep_millisecs", "merge_across_nodes")
# The controller's keys, in the order it hands them to supervdsm.
CONTROLLED = ("run", "pages_to_scan", "sleep_millisecs", "merge_across_nodes")
# supervdsm ksmTune's bounds: a value must be >= 0 and below these.
LIMITS = {"run": 3, "merge_across_nodes": 3, "sleep_millisecs": 2**32, "pages_to_scan": 2**32}
HISTORY = 10
FREE_PERCENT = 0.20
SLEEP_BASELINE_MS = 10
NPAGES_BOOST, NPAGES_DECAY, NPAGES_MIN, NPAGES_MAX = 300, -50, 64, 1250


class KernelRefused(OSError):
    pass


class FakeKsm:
    """The files of a fake /sys/kernel/mm/ksm, written by the kernel's rules."""

    def __init__(self, sysfs):
        self.dir = os.path.join(sysfs, "kernel", "mm", "ksm")

    def read(self, name):
        with open(os.path.join(self.dir, name), encoding="ascii") as f:
            return int(f.read().split()[0])

    def _set(self, name, value):
        path = os.path.join(self.dir, name)
        tmp = os.path.join(self.dir, f".{name}.mom")
        with open(tmp, "w", encoding="ascii") as f:
            f.write(f"{value}\n")
        os.rename(tmp, path)

    def write(self, name, value):
        if name == "merge_across_nodes":
            if value not in (0, 1):
                raise KernelRefused(errno.EINVAL, "merge_across_nodes takes 0 or 1")
            if value != self.read(name) and self.read("pages_shared") > 0:
                raise KernelRefused(errno.EBUSY, "pages are shared")
        if name == "run" and value == 2:
            self._set("pages_shared", 0)
            self._set("pages_sharing", 0)
        self._set(name, value)


def read_meminfo(procfs):
    fields = {}
    with open(os.path.join(procfs, "meminfo"), encoding="ascii") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if rest.split():
                fields[name] = int(rest.split()[0])
    return fields


class MomKsm:
    """MoM's host monitor, KSM policy and KSM controller, one cycle at a time."""

    def __init__(self, sysfs, procfs, cluster_merge, ksm_enabled=True, shareable_kib=0):
        self.ksm = FakeKsm(sysfs)
        self.procfs = procfs
        self.cluster_merge = int(cluster_merge)
        self.ksm_enabled = bool(ksm_enabled)
        self.shareable_kib = shareable_kib
        self.history = []
        self.cycles = 0

    def collect(self):
        host = {f"ksm_{name}": self.ksm.read(name) for name in KSM_FILES}
        mem = read_meminfo(self.procfs)
        host["mem_available"] = mem["MemTotal"]
        host["mem_free"] = mem.get("MemFree", 0) + mem.get("Buffers", 0) + mem.get("Cached", 0)
        host["ksm_shareable"] = self.shareable_kib
        self.history = (self.history + [host])[-HISTORY:]
        return host

    def policy(self, host):
        """03-ksm.policy's decisions: the controls it sets, by name."""
        controls = {}
        mean_free = sum(h["mem_free"] for h in self.history) / len(self.history)
        threshold = host["mem_available"] * FREE_PERCENT
        if host["ksm_pages_shared"] == 0:
            controls["merge_across_nodes"] = self.cluster_merge
        disagrees = host["ksm_merge_across_nodes"] != self.cluster_merge
        action = 2 if host["ksm_pages_shared"] > 0 and (disagrees or not self.ksm_enabled) else 0
        relaxed = (threshold + host["ksm_shareable"] < host["mem_available"]
                   and mean_free > threshold)
        if relaxed or not self.ksm_enabled or action != 0:
            controls["run"] = action
        else:
            controls["run"] = 1
            controls["sleep_millisecs"] = max(
                10, SLEEP_BASELINE_MS * 16777216 / host["mem_available"])
            delta = NPAGES_BOOST if mean_free < threshold else NPAGES_DECAY
            npages = host["ksm_pages_to_scan"] + delta
            controls["pages_to_scan"] = min(max(npages, NPAGES_MIN), NPAGES_MAX)
        return controls

    def control(self, host, controls):
        """KSM.process + supervdsm ksmTune: write what changed, stop at the first error."""
        writes = []
        for key in CONTROLLED:
            if key not in controls:
                continue
            value = int(controls[key])
            if value == host[f"ksm_{key}"]:
                continue
            if not 0 <= value < LIMITS[key]:
                writes.append({"file": key, "value": value, "result": "refused by supervdsm"})
                break
            shared = self.ksm.read("pages_shared")
            try:
                self.ksm.write(key, value)
            except KernelRefused as err:
                writes.append({"file": key, "value": value,
                               "result": errno.errorcode.get(err.errno, str(err.errno))})
                break
            entry = {"file": key, "value": value, "result": "ok"}
            if key == "run" and value == 2:
                entry["unmerged_pages"] = shared
            writes.append(entry)
        return writes

    def cycle(self):
        self.cycles += 1
        host = self.collect()
        controls = self.policy(host)
        return {"cycle": self.cycles, "pages_shared": host["ksm_pages_shared"],
                "merge_across_nodes": host["ksm_merge_across_nodes"],
                "writes": self.control(host, controls)}


# --- MoM's RPC, for hooks that ask it -----------------------------------------

class MomRpc:
    """The calls of MoM's RPC server (mom/MOMFuncs.py) that tell what MoM enforces."""

    def __init__(self, mom):
        self.mom = mom

    def ping(self):
        return True

    def getNamedPolicies(self):
        # Stand-ins for the policy texts, with the forms that matter: the
        # defaults, what VDSM's momIF writes for the engine's parameters
        # ("(set NAME %r)" of a Python bool), and the KSM policy's control.
        merge = "True" if self.mom.cluster_merge else "False"
        enabled = "True" if self.mom.ksm_enabled else "False"
        return {
            "00-defines": "(defvar ksmMergeAcrossNodes 1)\n(defvar ksmEnabled 1)\n",
            "01-parameters": f"(set ksmMergeAcrossNodes {merge})\n(set ksmEnabled {enabled})",
            "03-ksm": '(Host.Control "ksm_merge_across_nodes" ksmMergeAcrossNodes)\n',
        }

    def getStatistics(self):
        host = self.mom.history[-1] if self.mom.history else self.mom.collect()
        return {"host": host, "guests": {}}


class UnixRpcServer(socketserver.UnixStreamServer, SimpleXMLRPCDispatcher):
    """XML-RPC over a unix socket, as MoM's rpc-port: PATH serves it."""

    logRequests = False

    def __init__(self, path):
        if os.path.exists(path):
            os.unlink(path)
        SimpleXMLRPCDispatcher.__init__(self, allow_none=True, encoding=None)
        socketserver.UnixStreamServer.__init__(self, path, RpcHandler)


class RpcHandler(SimpleXMLRPCRequestHandler):
    rpc_paths = ("/RPC2",)
    # TCP_NODELAY does not exist on a unix socket.
    disable_nagle_algorithm = False

    def address_string(self):
        return "unix"

    def log_message(self, *args):
        pass


def serve_rpc(mom, path):
    server = UnixRpcServer(path)
    server.register_instance(MomRpc(mom))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sysfs", required=True)
    parser.add_argument("--procfs", required=True)
    parser.add_argument("--cluster-merge", required=True, choices=("0", "1"))
    parser.add_argument("--ksm-enabled", default="1", choices=("0", "1"))
    parser.add_argument("--shareable", type=int, default=0, help="qemu VSZ in KiB")
    parser.add_argument("--cycles", type=int, default=1)
    parser.add_argument("--interval", type=float, default=0.0)
    parser.add_argument("--rpc-socket")
    parser.add_argument("--step", action="store_true")
    args = parser.parse_args(argv[1:])
    mom = MomKsm(args.sysfs, args.procfs, args.cluster_merge, args.ksm_enabled == "1",
                 args.shareable)
    server = serve_rpc(mom, args.rpc_socket) if args.rpc_socket else None
    try:
        if args.step:
            print(json.dumps({"ready": True}), flush=True)
            for _ in sys.stdin:
                print(json.dumps(mom.cycle()), flush=True)
            return 0
        for n in range(args.cycles):
            if n:
                time.sleep(args.interval)
            print(json.dumps(mom.cycle()), flush=True)
    finally:
        if server:
            server.shutdown()
            server.server_close()
            os.unlink(args.rpc_socket)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
