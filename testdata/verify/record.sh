#!/bin/bash
# Copies what `vdsm-hook-largeguest verify` reads of one running libvirt
# domain into a tree the tests can point LARGEGUEST_RUN_ROOT and
# LARGEGUEST_PROCFS_ROOT at:
#   DIR/run/libvirt/qemu/NAME.xml, NAME.pid      libvirt's status XML and pid file
#   DIR/proc/PID/{maps,numa_maps,status,comm,cmdline}  the QEMU process
#   DIR/proc/PID/task/TID/{comm,stat,status}     each of its threads
# usage: testdata/verify/record.sh NAME DIR    (as root, on the host running NAME)
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 NAME DIR" >&2
    exit 64
fi
name=$1
dir=$2
run=/run/libvirt/qemu
pid=$(cat "$run/$name.pid")

mkdir -p "$dir/run/libvirt/qemu" "$dir/proc/$pid/task"
cp "$run/$name.xml" "$run/$name.pid" "$dir/run/libvirt/qemu/"
for file in maps numa_maps status comm cmdline; do
    cat "/proc/$pid/$file" >"$dir/proc/$pid/$file"
done
for task in /proc/"$pid"/task/*; do
    tid=${task##*/}
    mkdir -p "$dir/proc/$pid/task/$tid"
    for file in comm stat status; do
        # A thread may end between the listing and the read.
        cat "$task/$file" >"$dir/proc/$pid/task/$tid/$file" 2>/dev/null || true
    done
done
