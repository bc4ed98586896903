# Sourced by the Ansible suites: a scratch folder removed on exit, pass/fail
# counting, ansible-playbook installed, the hook built. Sets repo, work, exe.
# A suite ends with "N passed, N failed" and exits non-zero on a failure.

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

passed=0 failed=0
pass() { echo "ok: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1"; failed=$((failed + 1)); }
# check NAME COMMAND...: passes when COMMAND exits 0, else shows the last run.
check() {
    local name=$1; shift
    if "$@" >"$work/out" 2>&1; then pass "$name"; else fail "$name"; sed 's/^/    /' "$work/out" "$work/run.log" 2>/dev/null | tail -n 40; fi
}
finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

"$repo/packaging/install-deps.sh" ansible-playbook:ansible-core:ansible-core ||
    { fail "install ansible-playbook"; finish; }
(cd "$repo" && cargo build --quiet) || { fail "cargo build"; finish; }
exe="$repo/target/debug/vdsm-hook-largeguest"
