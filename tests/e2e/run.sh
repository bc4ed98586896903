#!/bin/bash
# End-to-end tests: the hook's output started as real libvirt + QEMU guests.
#
# usage: tests/e2e/run.sh [--direct] [SCENARIO...]   (arguments go to scenarios.py)
#        tests/e2e/run.sh verify [--record DIR] [SCENARIO...]   (verify.py alone)
#        tests/e2e/run.sh qemu-argv [CASE...]        (qemu_argv.py alone)
#
# Needs root: it installs libvirt and QEMU if missing, starts virtlogd and
# libvirtd unless they already run, and writes KSM settings in sysfs (put back
# afterwards). It stops only the daemons it started, by pid, and removes every
# guest it defined, on success and on failure. Where it cannot run it says
# why: a failure when CI=true, otherwise a SKIP with exit status 77, which
# tests/run-all.sh reports as skipped, never as passed.
set -uo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
packages=(libvirt-daemon libvirt-daemon-driver-qemu qemu-system-x86 libvirt-clients)
uri=qemu:///system
qemu_conf=/etc/libvirt/qemu.conf
started_pids=()
qemu_conf_backup=
qemu_conf_created=
sudoers_dropin=
hugetlbfs_mounts=()
work=

say() { echo "e2e: $*"; }

cannot_run() {
    if [ "${CI:-}" = true ]; then
        say "cannot run: $*" >&2
        exit 1
    fi
    say "SKIP: $*"
    exit 77
}

cleanup() {
    local name pid
    if command -v virsh >/dev/null && [ -S /run/libvirt/libvirt-sock ]; then
        for name in $(virsh -c "$uri" list --all --name 2>/dev/null | grep '^largeguest-e2e-'); do
            virsh -c "$uri" destroy "$name" >/dev/null 2>&1
            virsh -c "$uri" undefine "$name" >/dev/null 2>&1
        done
    fi
    # Newest first: libvirtd before the virtlogd it logs through.
    for ((i = ${#started_pids[@]} - 1; i >= 0; i--)); do
        pid=${started_pids[i]}
        kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    if [ -n "$qemu_conf_backup" ]; then
        mv -f "$qemu_conf_backup" "$qemu_conf"
    elif [ -n "$qemu_conf_created" ]; then
        rm -f "$qemu_conf"
    fi
    [ -n "$sudoers_dropin" ] && rm -f "$sudoers_dropin"
    for name in "${hugetlbfs_mounts[@]}"; do
        umount "$name" 2>/dev/null
    done
    [ -n "$work" ] && rm -rf "$work"
}

install_packages() {
    local missing=() pkg
    for pkg in "${packages[@]}"; do
        dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || cannot_run "missing ${missing[*]} and no apt-get to install them"
    say "installing ${missing[*]}"
    # Another apt may hold the lock on a shared machine: wait for it.
    local apt=(apt-get -q -o DPkg::Lock::Timeout=600)
    if ! DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y --no-install-recommends \
        "${missing[@]}" >"$work/apt.log" 2>&1; then
        "${apt[@]}" update >>"$work/apt.log" 2>&1
        DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y --no-install-recommends \
            "${missing[@]}" >>"$work/apt.log" 2>&1 ||
            cannot_run "apt-get could not install ${missing[*]}: $(tail -n 1 "$work/apt.log")"
    fi
}

# The QEMU driver builds a huge page guest's command line only where
# qemu.conf's hugetlbfs_mount names a hugetlbfs of that page size: one of
# each size the kernel offers, in the run's temporary folder, unmounted by
# cleanup. No page is reserved: domxml-to-native and define need none.
mount_hugetlbfs() {
    local size dir
    for size in /sys/kernel/mm/hugepages/hugepages-*kB; do
        [ -d "$size" ] || continue
        size=${size##*hugepages-}
        dir="$work/hugetlbfs-$size"
        mkdir -p "$dir"
        mount -t hugetlbfs -o "pagesize=${size%kB}K" none "$dir" 2>>"$work/mount.log" || continue
        hugetlbfs_mounts+=("$dir")
    done
}

hugetlbfs_conf() {
    local list="" dir
    for dir in "${hugetlbfs_mounts[@]}"; do
        list+="${list:+, }\"$dir\""
    done
    [ -n "$list" ] && echo "hugetlbfs_mount = [ $list ]"
}

# What the QEMU driver needs in a container without systemd: its user and
# groups, its directories, and a config without a security driver or cgroups.
prepare_libvirt() {
    getent group kvm >/dev/null || groupadd -r kvm
    getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
    getent passwd libvirt-qemu >/dev/null ||
        useradd -r -g libvirt-qemu -G kvm -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
    mkdir -p /var/log/libvirt/qemu /run/libvirt /var/lib/libvirt/qemu /etc/libvirt
    local conf="$work/qemu.conf"
    cat >"$conf" <<'EOF'
user = "root"
group = "root"
security_driver = "none"
cgroup_controllers = [ ]
EOF
    hugetlbfs_conf >>"$conf"
    if [ -e "$qemu_conf" ]; then
        cmp -s "$conf" "$qemu_conf" && return 0
        qemu_conf_backup="$qemu_conf.e2e-saved"
        cp -p "$qemu_conf" "$qemu_conf_backup"
    else
        qemu_conf_created=1
    fi
    cp "$conf" "$qemu_conf"
}

# A socket file can outlive its daemon: only a connect tells.
socket_alive() {
    python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' "$1" 2>/dev/null
}

start_daemon() {
    local name=$1
    "$name" >"$work/$name.log" 2>&1 &
    started_pids+=($!)
}

# tests/vdsm-runner runs the hooks as user vdsm, as VDSM does, so the KSM
# entry switches through sudo like on a host: allow the staged binary what
# the package's drop-in allows the installed one, until the run ends.
allow_ksm_switch() {
    local exe=$1 rule
    command -v sudo >/dev/null || cannot_run "needs sudo (the KSM entry switches through it)"
    rule="$work/sudoers"
    sed "s#/usr/libexec/vdsm-hook-largeguest/vdsm-hook-largeguest#$exe#g" \
        "$repo/packaging/sudoers/50_vdsm_hook_largeguest" >"$rule"
    visudo -cqf "$rule" || { say "the staged sudoers rule does not parse" >&2; exit 1; }
    sudoers_dropin=/etc/sudoers.d/50_vdsm_hook_largeguest_e2e
    install -m 0440 "$rule" "$sudoers_dropin"
}

start_libvirt() {
    if virsh -c "$uri" version >/dev/null 2>&1; then
        say "using the libvirtd that already runs"
        return 0
    fi
    prepare_libvirt
    socket_alive /run/libvirt/virtlogd-sock || start_daemon virtlogd
    start_daemon libvirtd
    local i
    for ((i = 0; i < 100; i++)); do
        virsh -c "$uri" version >/dev/null 2>&1 && return 0
        kill -0 "${started_pids[-1]}" 2>/dev/null || break
        sleep 0.2
    done
    tail -n 5 "$work/libvirtd.log" >&2
    say "libvirtd did not come up" >&2
    exit 1
}

# The documents tests/it/qemu_generated.rs draws from its fixed seed, for
# qemu_argv.py to judge beside the samples (the test binary is the one
# `cargo test` built, so after tests/run-all.sh's cargo step this only runs it).
generate_cases() {
    say "writing the generated documents"
    (cd "$repo" && LARGEGUEST_GENERATED_CASES="$work/generated" \
        cargo test --locked --quiet --test it qemu_generated:: >"$work/generated.log" 2>&1) || {
        tail -n 20 "$work/generated.log" >&2
        say "the generated documents could not be written" >&2
        return 1
    }
}

main() {
    [ "$(id -u)" -eq 0 ] || cannot_run "needs root (starts libvirtd, writes KSM settings)"
    command -v python3 >/dev/null || cannot_run "needs python3"
    work=$(mktemp -d)
    # The hooks run as user vdsm, who must reach the staged tree.
    chmod 755 "$work"
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    install_packages
    [ -e /sys/kernel/mm/ksm/run ] || say "no KSM in this kernel: the KSM scenario will fail"

    say "building the release binary"
    (cd "$repo" && cargo build --release --quiet) || exit 1
    "$repo/tests/e2e/stage.sh" "$repo/target/release/vdsm-hook-largeguest" "$work/stage" || exit 1
    mount_hugetlbfs
    if [ "${1:-}" = qemu-argv ]; then
        shift
        start_libvirt
        generate_cases || return 1
        python3 "$repo/tests/e2e/qemu_argv.py" --stage "$work/stage" \
            --generated "$work/generated" "$@"
        return
    fi
    allow_ksm_switch "$work/stage/usr/libexec/vdsm-hook-largeguest/vdsm-hook-largeguest"

    # promtool lints verify --all's metrics.
    "$repo/packaging/install-deps.sh" promtool:golang-github-prometheus:prometheus >"$work/promtool.log" 2>&1 ||
        say "promtool could not be installed: $(tail -n 1 "$work/promtool.log")"
    start_libvirt
    if [ "${1:-}" = verify ]; then
        shift
        python3 "$repo/tests/e2e/verify.py" --stage "$work/stage" "$@"
        return
    fi
    local status=0
    python3 "$repo/tests/e2e/qemu_define.py" --stage "$work/stage" || status=1
    generate_cases || status=1
    python3 "$repo/tests/e2e/qemu_argv.py" --stage "$work/stage" \
        --generated "$work/generated" || status=1
    python3 "$repo/tests/e2e/scenarios.py" --stage "$work/stage" "$@" || status=1
    # verify reads guests back; run with every scenario, or alone: run.sh verify [--record DIR]
    if [ $# -eq 0 ]; then
        python3 "$repo/tests/e2e/verify.py" --stage "$work/stage" || status=1
    fi
    return $status
}

main "$@"
