#!/bin/bash
# Builds the RPM from this checkout and checks what it ships and how it
# installs: the file list, modes and requirements, the sudoers drop-in, the
# man page, the Ansible playbook, the installed before_vm_start folder run as
# VDSM runs it, and the engine-config regexes. Needs root (rpm --root).
# Ends with "N passed, N failed" and exits non-zero when anything failed.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here="$repo/tests/rpm"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# tests/vdsm-runner runs the installed hooks as user vdsm, who must reach them.
chmod 755 "$work"

passed=0 failed=0
pass() { echo "ok: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1"; failed=$((failed + 1)); }
# check NAME COMMAND...: passes when COMMAND exits 0, else shows its output.
check() {
    local name=$1; shift
    if "$@" >"$work/out" 2>&1; then pass "$name"; else fail "$name"; sed 's/^/    /' "$work/out"; fi
}
finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

[ "$(id -u)" -eq 0 ] || { fail "run as root: installing into a scratch root with rpm --root needs it"; finish; }
"$repo/packaging/install-deps.sh" rpmbuild:rpm-build:rpm visudo:sudo:sudo \
    ansible-playbook:ansible-core:ansible-core groff:groff-base:groff-base python3:python3:python3 ||
    { fail "install the test's tools"; finish; }

if ! rpm_path=$("$repo/packaging/build-rpm.sh" 2>"$work/build.log" | tail -n 1) || [ ! -f "$rpm_path" ]; then
    fail "packaging/build-rpm.sh builds the RPM"; tail -n 30 "$work/build.log" | sed 's/^/    /'
    finish
fi
pass "packaging/build-rpm.sh builds $(basename "$rpm_path")"

version=$(sed -n '/^\[package\]/,/^\[/s/^version *= *"\([^"]*\)".*/\1/p' "$repo/Cargo.toml")
arch=$(rpm --eval '%{_arch}')
check "the RPM is named after Cargo.toml's version" \
    test "$(basename "$rpm_path")" = "vdsm-hook-largeguest-${version//-/\~}-1.$arch.rpm"

# The file list, and each file's mode, owner and link target.
grep -v '^#' "$here/expected-files" >"$work/expected"
strip_man_suffix() { sed -E 's#^(/usr/share/man/[^ ]*)\.(gz|bz2|xz|zst)( |$)#\1\3#'; }
rpm -qlp "$rpm_path" | strip_man_suffix >"$work/paths"
check "rpm -qlp lists exactly the expected paths" diff -u <(cut -d' ' -f1 "$work/expected") "$work/paths"
rpm -qp --qf '[%{FILENAMES} %{FILEMODES:octal} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILELINKTOS}\n]' "$rpm_path" |
    sed 's/ $//' | strip_man_suffix >"$work/modes"
check "rpm --qf shows the expected modes (0440 sudoers, 0755 executable) and link targets" \
    diff -u "$work/expected" "$work/modes"
rpm -qp --requires "$rpm_path" >"$work/requires"
check "the RPM requires vdsm" grep -qx 'vdsm' "$work/requires"
check "the RPM requires sudo" grep -qx 'sudo' "$work/requires"
check "the RPM owns no VDSM hook folder" \
    bash -c "! rpm -qlp '$rpm_path' | grep -Ex '/usr/libexec/vdsm(/hooks(/[^/]+)?)?'"
check "every entry of hooks/ is packaged" bash -c "cd '$repo/hooks' && for e in */*; do
    grep -qx \"/usr/libexec/vdsm/hooks/\$e\" '$work/paths' || { echo \"missing \$e\"; exit 1; }; done"

# Install into a scratch root, as on a host but without VDSM and scriptlets.
root="$work/root"
mkdir -p "$root"
if rpm --root "$root" --initdb && rpm -i --root "$root" --nodeps --noscripts "$rpm_path" >"$work/out" 2>&1; then
    pass "the RPM installs into a scratch root"
else
    fail "the RPM installs into a scratch root"; sed 's/^/    /' "$work/out"; finish
fi
exe="$root/usr/libexec/vdsm-hook-largeguest/vdsm-hook-largeguest"
check "the installed sudoers drop-in passes visudo -cf" visudo -cf "$root/etc/sudoers.d/50_vdsm_hook_largeguest"
check "the sudoers drop-in allows only the packaged executable" bash -c "
    grep -o '/[^ ,]*' '$root/etc/sudoers.d/50_vdsm_hook_largeguest' | sort -u | grep -v '^/usr/libexec/vdsm-hook-largeguest/vdsm-hook-largeguest\$' |
        grep -v '^/etc/sudoers.d/50_vdsm_hook_largeguest\$' | (! grep .)"
check "the installed sudoers drop-in has mode 0440" test "$(stat -c %a "$root/etc/sudoers.d/50_vdsm_hook_largeguest")" = 440
check "every installed entry resolves to the 0755 executable inside the root" bash -c "
    for e in '$root'/usr/libexec/vdsm/hooks/*/*; do
        [ \"\$(readlink -f \"\$e\")\" = '$exe' ] || { echo \"\$e -> \$(readlink -f \"\$e\")\"; exit 1; }
        [ \"\$(stat -L -c %a \"\$e\")\" = 755 ] || { echo \"\$e: mode \$(stat -L -c %a \"\$e\")\"; exit 1; }
    done"
check "vdsm-hook-largeguest on PATH reaches the executable and reports Cargo.toml's version" \
    bash -c "'$root/usr/bin/vdsm-hook-largeguest' --version | grep -qx 'vdsm-hook-largeguest $version'"

# The man page renders without warnings and covers every command and entry.
man_src="$repo/packaging/vdsm-hook-largeguest.8"
# Rendered on one line, so that a wrapped line does not hide a phrase.
groff -man -ww -Tascii -P-cbou "$man_src" 2>"$work/man.warnings" | tr -s ' \n' '  ' >"$work/man.txt"
check "the man page renders without groff warnings" bash -c "cat '$work/man.warnings'; [ ! -s '$work/man.warnings' ]"
# Each USAGE line names a command: its leading words before the first
# argument (uppercase, option, choice or bracket).
"$exe" --help | sed -n 's/^  \([a-z]\)/\1/p' |
    awk '{ cmd = $1; if ($2 ~ /^[a-z][a-z-]*$/) cmd = cmd " " $2; print cmd }' >"$work/commands"
check "--help lists commands" test -s "$work/commands"
while read -r command; do
    check "the man page documents '$command'" grep -qF "vdsm-hook-largeguest $command" "$work/man.txt"
done <"$work/commands"
for entry in "$repo"/hooks/*/*; do
    name="$(basename "$(dirname "$entry")")/$(basename "$entry")"
    check "the man page documents the entry $name" grep -qF "$name" "$work/man.txt"
done
for word in cputune numatune guestnuma ksm_merge_across_nodes "EXIT STATUS" ENVIRONMENT FILES \
    LARGEGUEST_SYSFS_ROOT LARGEGUEST_PROCFS_ROOT LARGEGUEST_MOM_CONF _hook_domxml vmId 50_vdsm_hook_largeguest; do
    check "the man page covers $word" grep -qF "$word" "$work/man.txt"
done

check "the Ansible playbook passes ansible-playbook --syntax-check" \
    ansible-playbook --syntax-check -i "$repo/packaging/ansible/inventory.example" \
    "$repo/packaging/ansible/install-largeguest.yml"

# The installed before_vm_start folder, run as VDSM runs it, gives what
# `apply --dry-run` gives on the document VDSM hands the hooks (ElementTree's
# re-serialisation of the engine's XML), and it did rewrite the document.
sample="$repo/testdata/engine-small.xml"
props=("cputune=0#0_1#1" "numatune=strict#0" "guestnuma=0-1#2G#0")
runner="$repo/tests/vdsm-runner"
# run_to FILE COMMAND...: runs COMMAND with its standard output in FILE.
run_to() { local out=$1; shift; "$@" >"$out"; }
if [ -x "$runner" ]; then
    hookdir="$root/usr/libexec/vdsm/hooks/before_vm_start"
    cp "$sample" "$work/runner-in.xml"
    check "tests/vdsm-runner runs the installed before_vm_start folder" \
        run_to "$work/hooked.xml" "$runner" "$hookdir" "$work/runner-in.xml" "${props[@]}"
    check "tests/vdsm-runner --hook-input gives the document VDSM hands the hooks" \
        run_to "$work/apply-in.xml" "$runner" --hook-input "$sample"
    check "apply --dry-run rewrites the sample" \
        run_to "$work/applied.xml" "$exe" apply --domxml "$work/apply-in.xml" "${props[@]}" --dry-run
    check "the installed hook folder's result equals apply --dry-run" \
        bash -c 'test -s "$1" && cmp "$1" "$2"' _ "$work/hooked.xml" "$work/applied.xml"
    check "the result pins the vCPUs" grep -q '<vcpupin' "$work/hooked.xml"
    check "a refused value fails the run as VDSM would" \
        bash -c '! "$@" >/dev/null 2>&1' _ "$runner" "$hookdir" "$work/runner-in.xml" 'cputune=0#zz'
else
    fail "tests/vdsm-runner exists (run the installed before_vm_start folder as VDSM does)"
fi

# The engine's regexes accept the README's examples and refuse broken ones.
if "$exe" engine-config --cver 4.8 >"$work/engine-config" 2>&1; then
    pass "engine-config --cver 4.8 prints the command"
    check "the engine-config regexes accept the README's examples and refuse broken ones" \
        python3 "$here/engine_regex.py" "$repo/README.md" <"$work/engine-config"
    # ksm_merge_across_nodes belongs to the KSM hook, not to `check`'s grammars.
    python3 "$here/engine_regex.py" --examples | grep -v '^ksm_merge_across_nodes=' >"$work/examples"
    while read -r example; do
        check "check accepts the README's $example" "$exe" check "$example"
    done <"$work/examples"
else
    fail "engine-config --cver 4.8 prints the command"; sed 's/^/    /' "$work/engine-config"
fi

finish
