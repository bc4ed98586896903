#!/bin/bash
# Runs packaging/ansible/prepare-largeguest.yml (the largeguest_prepare role)
# on this machine against a fake host: sysfs copied from testdata, a procfs
# with an EL9 kernel's release, and a root for /etc. First in check mode
# (nothing may be written, the report must show the differences), then for
# real (the files must be there, the units' pages reserved once run), then
# again (nothing may change), then with largeguest_require_holding on a host
# that holds it all. Needs no root.
# Ends with "N passed, N failed" and exits non-zero when anything failed.
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"

host="$work/host"
mkdir -p "$host/proc/sys/kernel" "$host/root/etc/sysconfig" "$host/root/etc/tuned"
cp -r "$repo/testdata/sysfs/tuned" "$host/sys"
echo 5.14.0-427.13.1.el9_4.x86_64 >"$host/proc/sys/kernel/osrelease"
echo "BOOT_IMAGE=/vmlinuz root=/dev/mapper/rhel-root ro" >"$host/proc/cmdline"
printf '#IRQBALANCE_BANNED_CPULIST=\nIRQBALANCE_ARGS=""\n' >"$host/root/etc/sysconfig/irqbalance"
echo virtual-host >"$host/root/etc/tuned/active_profile"
pool="$host/sys/devices/system/node/node0/hugepages/hugepages-1048576kB/nr_hugepages"
echo 0 >"$pool"

LARGEGUEST_SYSFS_ROOT="$host/sys" "$exe" suggest --vcpus 4 --memory 6G --hugepages 1G --json >"$work/plan.json" ||
    { fail "suggest --json makes the plan"; finish; }
python3 - "$work/vars.json" "$work/plan.json" "$exe" "$host" <<'EOF'
import json, sys
out, plan, exe, host = sys.argv[1:]
json.dump({
    "largeguest_hosts": "localhost",
    "largeguest_plans": [plan],
    "largeguest_hugepages": "1G",
    "largeguest_guests": [["cputune=0#12", "emulatorpin=8"]],
    "largeguest_exe": exe,
    "largeguest_root": host + "/root",
    "largeguest_environment": {
        "LARGEGUEST_SYSFS_ROOT": host + "/sys",
        "LARGEGUEST_PROCFS_ROOT": host + "/proc",
    },
}, open(out, "w"))
EOF

# play [ARGS...]: the playbook on this machine, its output in run.log.
play() {
    ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_LOCALHOST_WARNING=0 \
        ANSIBLE_INVENTORY_UNPARSED_WARNING=0 ANSIBLE_BECOME=0 \
        ansible-playbook -i localhost, -c local -e ansible_become=false -e "@$work/vars.json" \
        "$repo/packaging/ansible/prepare-largeguest.yml" "$@" >"$work/run.log" 2>&1
}
files_under_root() { (cd "$host/root" && find . -type f -o -type l | sort); }
files_under_root >"$work/before"

check "the playbook passes ansible-playbook --syntax-check" \
    ansible-playbook --syntax-check -i "$repo/packaging/ansible/inventory.example" \
    "$repo/packaging/ansible/prepare-largeguest.yml"

check "in check mode the playbook runs" play --check
same_files() { diff "$work/before" <(files_under_root); }
fails() { ! "$@"; }
check "in check mode nothing is written" same_files
check "in check mode the report says nothing was written, and what differs" \
    grep -q 'localhost: check mode: nothing written; 8 of 9 checks differ' "$work/run.log"
check "the report names the missing unit" \
    grep -q 'DIFFERS file .*vdsm-hook-largeguest-hugepages-node0-1048576kB.service' "$work/run.log"

check "for real the playbook runs" play
check "it reports the host as written, with what still differs" \
    grep -q 'localhost: written; 3 of 9 checks differ, reboot the host' "$work/run.log"
check "the unit is written" \
    test -f "$host/root/etc/systemd/system/vdsm-hook-largeguest-hugepages-node0-1048576kB.service"
check "irqbalance's banned CPUs are the vCPUs' of both guests" \
    grep -qx 'IRQBALANCE_BANNED_CPULIST=1-2,12,17-18' "$host/root/etc/sysconfig/irqbalance"
check "tuned's isolated cores are the same" \
    grep -qx 'isolated_cores=1-2,12,17-18' "$host/root/etc/tuned/cpu-partitioning-variables.conf"
check "the copied plans are removed" bash -c '! ls -d /tmp/*.largeguest 2>/dev/null | grep -q .'

check "again, the playbook changes nothing" play
check "the second run reports changed=0" grep -Eq 'localhost +: ok=[0-9]+ +changed=0 ' "$work/run.log"

# The reboot: the unit runs, tuned isolates the CPUs.
(
    cd "$host/root" || exit 1
    env -i PATH=/usr/bin:/bin LARGEGUEST_SYSFS_ROOT="$host/sys" NODE=0 SIZE_KB=1048576 PAGES=6 \
        sh etc/vdsm-hook-largeguest/reserve-hugepages
) >"$work/unit.log" 2>&1
check "the unit's script reserves node 0's pages" test "$(cat "$pool")" = 6
echo 1-2,12,17-18 >"$host/sys/devices/system/cpu/nohz_full"
echo >"$host/sys/devices/system/cpu/isolated"
echo "virtual-host cpu-partitioning" >"$host/root/etc/tuned/active_profile"
check "after the reboot the host holds it, and largeguest_require_holding passes" \
    play -e largeguest_require_holding=true
check "the report says the host holds the configuration" \
    grep -q 'localhost: the host holds the configuration' "$work/run.log"
echo 2 >"$pool"
check "a host that lost pages fails with largeguest_require_holding" \
    fails play -e largeguest_require_holding=true
check "and says which check differs" grep -q 'DIFFERS hugepages' "$work/run.log"

finish
