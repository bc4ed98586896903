#!/bin/bash
# Runs packaging/ansible/fleet-report.yml on this machine against two fake
# hosts made of the recorded guests of testdata/verify/: host-a runs three
# guests that hold, host-b one that holds and one re-pinned live. The table
# must list the five guests with their hosts and verdicts and count them,
# and the run must fail (a guest differs) unless largeguest_report_only.
# Needs no root. Ends with "N passed, N failed"; exits non-zero on a failure.
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"

# host NAME TREE...: a host running the recorded guests of these trees.
host() {
    local name=$1 tree; shift
    mkdir -p "$work/$name/run" "$work/$name/proc"
    for tree in "$@"; do
        cp -r "$repo/testdata/verify/$tree/run/." "$work/$name/run/"
        cp -r "$repo/testdata/verify/$tree/proc/." "$work/$name/proc/"
    done
}
host host-a engine-two-cells engine-dimm two-cells-strict
host host-b kvm-no-cells-interleave two-cells-strict-repinned

env_of() {
    printf '{"LARGEGUEST_RUN_ROOT": "%s", "LARGEGUEST_PROCFS_ROOT": "%s", "LARGEGUEST_SYSFS_ROOT": "%s"}' \
        "$work/$1/run" "$work/$1/proc" "$repo/testdata/sysfs/laptop"
}
cat >"$work/inventory.yml" <<EOF
ovirt_hosts:
  vars:
    ansible_connection: local
    ansible_python_interpreter: $(command -v python3)
    largeguest_command: $exe
  hosts:
    host-a:
      largeguest_environment: $(env_of host-a)
    host-b:
      largeguest_environment: $(env_of host-b)
EOF

play() {
    ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_BECOME=0 \
        ansible-playbook -i "$work/inventory.yml" -e ansible_become=false \
        -e "largeguest_report=$work/report.txt" "$repo/packaging/ansible/fleet-report.yml" "$@" \
        >"$work/run.log" 2>&1
}

check "the playbook passes ansible-playbook --syntax-check" \
    ansible-playbook --syntax-check -i "$repo/packaging/ansible/inventory.example" \
    "$repo/packaging/ansible/fleet-report.yml"
fails() { ! "$@"; }
check "with a guest that differs, the run fails" fails play
cat >"$work/expected" <<'EOF'
host    domain                       vCPUs ok  differ  MiB outside  checks differ
host-a  largeguest-e2e-dimm                 0       0            0              0  ok
host-a  largeguest-e2e-two-vcpus            2       0            0              0  ok
host-a  largeguest-verify-two-cells         2       0            0              0  ok
host-b  largeguest-verify-kvm               2       0            0              0  ok
host-b  largeguest-verify-two-cells         1       1            0              2  DIFFERS

5 guests on 2 hosts: 4 hold, 1 differ, 0 cannot be read
EOF
check "the table lists every guest of both hosts and counts them" diff -u "$work/expected" "$work/report.txt"
check "the run says why it failed" grep -q "a guest differs or cannot be read" "$work/run.log"
rm -f "$work/report.txt"
check "with largeguest_report_only the run reports and succeeds" play -e largeguest_report_only=true
check "and writes the same table" diff -u "$work/expected" "$work/report.txt"

# host-b's re-pinned guest gone: every guest holds, the run succeeds.
rm "$work/host-b/run/libvirt/qemu/largeguest-verify-two-cells."*
check "when every guest holds, the run succeeds" play
check "the table counts 4 guests holding" grep -qx "4 guests on 2 hosts: 4 hold, 0 differ, 0 cannot be read" "$work/report.txt"
finish
