#!/usr/bin/env bash
# Every test the project has, in one command: the README's test command and
# what CI runs. Installs what the suites need (libvirt's clients, rpmbuild,
# QEMU) with the distribution's package manager; the end-to-end and RPM
# suites need root.
set -uo pipefail
cd "$(dirname "$0")/.."

failed=()
skipped=()
passed=0
# A suite that cannot run here exits 77 (automake's "skipped"): it is listed
# as skipped, never counted as passed.
step() {
    local name=$1
    shift
    echo "=== $name: $*"
    local start=$SECONDS status=0
    "$@" || status=$?
    if [ "$status" -eq 0 ]; then
        echo "=== $name: ok ($((SECONDS - start)) s)"
        passed=$((passed + 1))
    elif [ "$status" -eq 77 ]; then
        echo "=== $name: SKIPPED ($((SECONDS - start)) s)"
        skipped+=("$name")
    else
        echo "=== $name: FAILED ($((SECONDS - start)) s)"
        failed+=("$name")
    fi
}

# unittest exits 0 when tests were skipped; a skipped test ran nothing.
unittests() {
    local out status=0
    out=$(python3 -m unittest discover -s "$1" 2>&1) || status=$?
    printf '%s\n' "$out"
    [ "$status" -ne 0 ] && return "$status"
    if grep -q 'skipped=' <<<"$out"; then return 77; fi
    return 0
}

# virt-xml-validate and virsh let the tests check every rewritten document
# against libvirt's schema and parser (virt-xml-validate needs xmllint to
# tell which schema a file uses); visudo checks the sudoers drop-in;
# promtool (Prometheus's own checker) lints verify's metrics; java and node
# run the engine's regexes as the engine's backend and VM dialog do.
step deps packaging/install-deps.sh \
    virt-xml-validate:libvirt-client:libvirt-clients \
    virsh:libvirt-client:libvirt-clients \
    xmllint:libxml2:libxml2-utils \
    visudo:sudo:sudo \
    promtool:golang-github-prometheus:prometheus \
    java:java-17-openjdk-headless:openjdk-17-jdk-headless \
    node:nodejs:nodejs
# --include-ignored: the tests marked #[ignore] need root (they switch the
# running kernel's KSM, or would reach the real host through sudo) or the
# tools installed above; a run without root lists them as ignored.
step cargo-test cargo test --locked -- --include-ignored
# The benchmarks, one short round each: they check every run's outcome
# (exit status, the document, KSM switched once, no lock left), so a
# benchmark that no longer runs shows here; their times are for
# BENCHMARKS.md, never judged here.
step bench-smoke bash -c 'cargo bench --locked --bench whole_process -- --pairs 2 --no-scaling &&
    cargo bench --locked --bench mass_start -- --rounds 1'
# The engine-config regexes where the engine runs them: java.util.regex on a
# fresh JVM (no stack overflow on any value up to the engine's 4,000
# characters, BENCHMARKS.md) and the VM dialog's JavaScript in node, each
# agreeing with the parser on every value the tests use.
step engine-regex bash tests/engine-regex/run.sh
step mom-model unittests tests/mom
step vdsm-runner unittests tests/runner
step rpm bash tests/rpm/run.sh
# The Ansible role that applies prepare's files, on a fake host.
step ansible-prepare bash tests/ansible/prepare-role.sh
# The fleet report across hosts, on fake hosts of recorded guests.
step ansible-fleet bash tests/ansible/fleet-report.sh
step e2e bash tests/e2e/run.sh
# About 30 s per fuzz target, from the committed corpus: a failure here is
# a new finding (see docs/testing.md), not noise.
step fuzz-smoke bash fuzz/smoke.sh

[ ${#skipped[@]} -gt 0 ] && echo "skipped suites (they did not run): ${skipped[*]}"
[ ${#failed[@]} -gt 0 ] && echo "failed suites: ${failed[*]}"
echo "suites: $passed passed, ${#skipped[@]} skipped, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
