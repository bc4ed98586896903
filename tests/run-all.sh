#!/usr/bin/env bash
# Every test the project has, in one command: the README's test command and
# what CI runs. Installs what the suites need (libvirt's clients, rpmbuild,
# QEMU) with the distribution's package manager; the end-to-end and RPM
# suites need root.
set -uo pipefail
cd "$(dirname "$0")/.."

failed=()
passed=0
step() {
    local name=$1
    shift
    echo "=== $name: $*"
    local start=$SECONDS
    if "$@"; then
        echo "=== $name: ok ($((SECONDS - start)) s)"
        passed=$((passed + 1))
    else
        echo "=== $name: FAILED ($((SECONDS - start)) s)"
        failed+=("$name")
    fi
}

# virt-xml-validate and virsh let the tests check every rewritten document
# against libvirt's schema and parser (virt-xml-validate needs xmllint to
# tell which schema a file uses); visudo checks the sudoers drop-in;
# promtool (Prometheus's own checker) lints verify's metrics.
step deps packaging/install-deps.sh \
    virt-xml-validate:libvirt-client:libvirt-clients \
    virsh:libvirt-client:libvirt-clients \
    xmllint:libxml2:libxml2-utils \
    visudo:sudo:sudo \
    promtool:golang-github-prometheus:prometheus
step cargo-test cargo test --locked
step promtool cargo test --locked --test verify_fleet -- --ignored promtool
# The engine-config regexes on a fresh engine's java.util.regex: no stack
# overflow on any value up to the engine's 4,000 characters (BENCHMARKS.md).
step engine-regex bash tests/engine-regex/run.sh
step mom-model python3 -m unittest discover -s tests/mom
step vdsm-runner python3 -m unittest discover -s tests/runner
step rpm bash tests/rpm/run.sh
# The Ansible role that applies prepare's files, on a fake host.
step ansible-prepare bash tests/ansible/prepare-role.sh
step e2e bash tests/e2e/run.sh
# About 30 s per fuzz target, from the committed corpus: a failure here is
# a new finding (see TESTING.md), not noise.
step fuzz-smoke bash fuzz/smoke.sh

[ ${#failed[@]} -gt 0 ] && echo "failed suites: ${failed[*]}"
echo "suites: $passed passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
