#!/bin/bash
# Builds the source RPM and the binary RPM with the documented one command,
# rebuilds the source RPM with the network cut off as mock, COPR or Koji
# would, and checks what the packages hold and how the binary RPM installs:
# the sources and BuildRequires, the file list, modes, requirements and
# licenses, the static executable (in an empty root and through sudo), the
# sudoers drop-in, the man page, the Ansible playbook, the installed
# before_vm_start folder run as VDSM runs it, and the engine-config regexes.
# Needs root (rpm --root, unshare -n, chroot, a sudoers rule).
# Ends with "N passed, N failed" and exits non-zero when anything failed.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here="$repo/tests/rpm"
name=vdsm-hook-largeguest
work=$(mktemp -d)
# A sudoers rule of the sudo check below, removed whatever happens.
sudo_rule=/etc/sudoers.d/zz_largeguest_rpm_test_$$
trap 'rm -f "$sudo_rule"; rm -rf "$work"' EXIT
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

[ "$(id -u)" -eq 0 ] || { fail "run as root: rpm --root, unshare -n and chroot need it"; finish; }
"$repo/packaging/install-deps.sh" rpmbuild:rpm-build:rpm visudo:sudo:sudo \
    ansible-playbook:ansible-core:ansible-core groff:groff-base:groff-base python3:python3:python3 \
    cpio:cpio:cpio unshare:util-linux:util-linux setpriv:util-linux:util-linux readelf:binutils:binutils ||
    { fail "install the test's tools"; finish; }

package_field() { sed -n "/^\[package\]/,/^\[/s/^$1 *= *\"\([^\"]*\)\".*/\1/p" "$repo/Cargo.toml"; }
version=$(package_field version)
rpm_version=${version//-/\~}
rust_version=$(package_field rust-version)
arch=$(rpm --eval '%{_arch}')
dist=$(rpm --eval '%{?dist}')

# The administrator guide's one build command: the source RPM, then the binary RPM.
if ! "$repo/packaging/build-rpm.sh" >"$work/built" 2>"$work/build.log"; then
    fail "packaging/build-rpm.sh builds the source and binary RPMs"; tail -n 30 "$work/build.log" | sed 's/^/    /'
    finish
fi
srpm=$(sed -n 1p "$work/built")
built_rpm=$(sed -n 2p "$work/built")
check "packaging/build-rpm.sh prints the source RPM's path, then the binary RPM's" \
    bash -c 'test "$(wc -l <"$1")" -eq 2 && test -f "$2" && test -f "$3"' _ "$work/built" "$srpm" "$built_rpm"
check "the source RPM is named after Cargo.toml's version, with the build host's dist tag" \
    test "$(basename "$srpm")" = "$name-$rpm_version-1$dist.src.rpm"
check "the binary RPM is named after Cargo.toml's version" \
    test "$(basename "$built_rpm")" = "$name-$rpm_version-1$dist.$arch.rpm"

# The source RPM: the spec and two tarballs, nothing built beforehand.
mkdir -p "$work/srpm"
(cd "$work/srpm" && rpm2cpio "$srpm" | cpio -idm --quiet)
check "the source RPM holds the spec, the project's tarball and the vendored crates, nothing else" \
    diff -u <(printf '%s\n' "$name-$rpm_version.tar.gz" "$name-$rpm_version-vendor.tar.xz" "$name.spec" | LC_ALL=C sort) \
    <(LC_ALL=C ls "$work/srpm")
spec="$work/srpm/$name.spec"
check "Source0 is the project's tarball, Source1 the vendored crates" \
    grep -Pzq '\nSource0: +%\{name\}-%\{version\}\.tar\.gz\nSource1: +%\{name\}-%\{version\}-vendor\.tar\.xz\n' "$spec"
check "Release carries %{?dist}" grep -Eq '^Release: +[0-9]+%\{\?dist\}$' "$spec"
# The spec with its macros expanded; each cargo command appears once, in
# %build or %check (rpmspec -P does not print every section's name).
rpmspec -P "$spec" >"$work/parsed"
check "%build runs cargo build --profile rpm --offline --frozen" \
    grep -Eq '^cargo build --profile rpm --offline --frozen ' "$work/parsed"
check "%check runs the unit tests offline" \
    grep -Eq '^cargo test --profile rpm --offline --frozen .*--lib --bins$' "$work/parsed"
check "the default build links glibc statically, for the executable's crates only (--target)" \
    bash -c 'grep -Eq "^export .*RUSTFLAGS=\".*-C target-feature=\+crt-static\"$" "$1" &&
        grep -Eq "^cargo build .*--target " "$1"' _ "$work/parsed"
check "--without static builds a dynamic executable" \
    bash -c '! rpmspec -P --without static "$1" | grep -F crt-static' _ "$spec"
rpm -qp --requires "$srpm" >"$work/buildrequires"
for needed in "cargo >= $rust_version" "rust >= $rust_version" gcc glibc-static; do
    check "the source RPM BuildRequires $needed" grep -qx "$needed" "$work/buildrequires"
done
check "on RHEL and its rebuilds the source RPM BuildRequires rust-toolset >= $rust_version" \
    grep -qx "rust-toolset >= $rust_version" <(rpmspec -q --buildrequires --define 'rhel 8' "$spec")
check "--without static needs no glibc-static" \
    bash -c '! rpmspec -q --buildrequires --without static "$1" | grep -qx glibc-static' _ "$spec"
mkdir -p "$work/tarball"
tar -C "$work/tarball" -xzf "$work/srpm/$name-$rpm_version.tar.gz"
check "the project's tarball holds the checkout's Cargo.toml, Cargo.lock and src/" bash -c '
    cmp "$1/Cargo.toml" "$2/Cargo.toml" && cmp "$1/Cargo.lock" "$2/Cargo.lock" && diff -r "$1/src" "$2/src"' \
    _ "$repo" "$work/tarball/$name-$rpm_version"
awk -F'"' '/^\[\[package\]\]/ { n = v = "" } /^name = / { n = $2 } /^version = / { v = $2 }
    /^source = "registry/ { print n "-" v }' "$repo/Cargo.lock" | sort >"$work/locked"
tar -tJf "$work/srpm/$name-$rpm_version-vendor.tar.xz" | awk -F/ 'NF > 2 { print $2 }' | sort -u >"$work/vendored"
check "the vendored crates are exactly Cargo.lock's" diff -u "$work/locked" "$work/vendored"

# Rebuilt as a builder does, with no network: unshare -n leaves only the
# loopback interface, and cargo cannot reach a registry.
check "unshare -n leaves only the loopback interface" \
    bash -c "unshare -n cat /proc/net/dev | awk 'NR > 2 { print \$1 }' | grep -vx 'lo:' | (! grep .)"
if unshare -n rpmbuild --rebuild --nodeps --define "_topdir $work/offline" "$srpm" >"$work/offline.log" 2>&1; then
    pass "the source RPM rebuilds with the network cut off"
else
    fail "the source RPM rebuilds with the network cut off"; tail -n 30 "$work/offline.log" | sed 's/^/    /'
    finish
fi
rpm_path="$work/offline/RPMS/$arch/$(basename "$built_rpm")"
check "the offline rebuild writes $(basename "$rpm_path")" test -f "$rpm_path"
check "its %check ran the unit tests and they passed" bash -c '
    grep -Eq "^test result: ok\. [1-9][0-9]* passed" "$1" && ! grep -q "^test result: FAILED" "$1"' _ "$work/offline.log"
check "it packages the same files as packaging/build-rpm.sh's RPM" \
    diff -u <(rpm -qlp "$built_rpm") <(rpm -qlp "$rpm_path")

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
check "the RPM needs no glibc newer than EL8's 2.28" \
    bash -c '! grep -E "GLIBC_2\.(29|[3-9][0-9])|GLIBC_[3-9]" "$1"' _ "$work/requires"
check "the RPM requires no shared library at all (static executable)" \
    bash -c '! grep -F ".so" "$1"' _ "$work/requires"
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
# verify --all's timer: the installed units parse, and neither is enabled
# (no symlink in a .wants folder); the package leaves that to the administrator.
units="$root/usr/lib/systemd/system"
if command -v systemd-analyze >/dev/null; then
    check "the installed verify service and timer pass systemd-analyze verify" bash -c '
        sed "s#/usr/bin/vdsm-hook-largeguest#$2#" "$1/vdsm-hook-largeguest-verify.service" >"$3/vdsm-hook-largeguest-verify.service" &&
        cp "$1/vdsm-hook-largeguest-verify.timer" "$3/" &&
        ! SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$3/vdsm-hook-largeguest-verify.service" \
            "$3/vdsm-hook-largeguest-verify.timer" 2>&1 | grep .' _ "$units" "$exe" "$work"
fi
check "the package enables neither the verify service nor its timer" \
    bash -c '! find "$1/etc/systemd" "$1/usr/lib/systemd" -path "*.wants/*" -name "vdsm-hook-largeguest-verify*" 2>/dev/null | grep .' _ "$root"
check "every installed entry resolves to the 0755 executable inside the root" bash -c "
    for e in '$root'/usr/libexec/vdsm/hooks/*/*; do
        [ \"\$(readlink -f \"\$e\")\" = '$exe' ] || { echo \"\$e -> \$(readlink -f \"\$e\")\"; exit 1; }
        [ \"\$(stat -L -c %a \"\$e\")\" = 755 ] || { echo \"\$e: mode \$(stat -L -c %a \"\$e\")\"; exit 1; }
    done"
check "vdsm-hook-largeguest on PATH reaches the executable and reports Cargo.toml's version" \
    bash -c "'$root/usr/bin/vdsm-hook-largeguest' --version | grep -qx 'vdsm-hook-largeguest $version'"

# The bundled crates and the licenses, against what the build itself listed.
licenses="$root/usr/share/licenses/$name"
rpm -qp --provides "$rpm_path" | sed -n 's/^bundled(crate(\(.*\))) = \(.*\)$/\1 v\2/p' | tr '~' '-' |
    LC_ALL=C sort >"$work/bundled"
check "the RPM provides bundled(crate(...)) for exactly the crates of its cargo-vendor.txt" \
    diff -u <(LC_ALL=C sort "$licenses/cargo-vendor.txt") "$work/bundled"
license=$(rpm -qp --qf '%{LICENSE}' "$rpm_path")
check "the License tag names every license of LICENSE.dependencies, and glibc's" bash -c '
    license=" $1 "
    case $license in *" AND LGPL-2.1-or-later "*) ;; *) echo "no LGPL-2.1-or-later for libc.a in: $1"; exit 1 ;; esac
    test -s "$2" || { echo "LICENSE.dependencies is empty"; exit 1; }
    cut -d: -f1 "$2" | sort -u | while read -r expr; do
        case $license in *" $expr "*|*"($expr)"*) ;; *) echo "missing: $expr"; exit 1 ;; esac
    done' _ "$license" "$licenses/LICENSE.dependencies"

# The static executable: no program interpreter, so no glibc of the host's
# is asked for; it runs in a root holding nothing else, and through sudo from
# an unprivileged user (as the KSM entry runs its switch).
check "the executable has no program interpreter (statically linked)" \
    bash -c '! readelf -lW "$1" | grep -F "program interpreter"' _ "$exe"
mkdir -p "$work/bare"
cp "$exe" "$work/bare/"
check "the executable runs in an empty root, with no library at all" \
    bash -c 'chroot "$1" /vdsm-hook-largeguest --version | grep -qx "vdsm-hook-largeguest $2"' _ "$work/bare" "$version"
echo "nobody ALL = (root) NOPASSWD: $exe --version" >"$work/sudo-rule"
chmod 0440 "$work/sudo-rule"
if visudo -cqf "$work/sudo-rule" && cp -p "$work/sudo-rule" "$sudo_rule"; then
    check "the executable runs as root through sudo, called by an unprivileged user" bash -c '
        setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups -- sudo -n "$1" --version |
            grep -qx "vdsm-hook-largeguest $2"' _ "$exe" "$version"
    rm -f "$sudo_rule"
else
    fail "a sudoers rule for the sudo check installs"
fi

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
# Which RPM the playbook gives a host: its tasks tagged "select" run against
# this machine, with the facts of the host played overridden.
# playbook_choice MAJOR ARCH RPM...: prints the chosen file name, or "refused".
playbook_choice() {
    local major=$1 arch=$2; shift 2
    python3 -c 'import json, sys; print(json.dumps({"largeguest_hosts": "localhost",
        "ansible_os_family": "RedHat", "ansible_distribution": "CentOS",
        "ansible_distribution_major_version": sys.argv[1], "ansible_architecture": sys.argv[2],
        "largeguest_rpm": sys.argv[3:]}))' "$major" "$arch" "$@" >"$work/choice.json"
    if ansible-playbook -i localhost, -c local --tags select -e "@$work/choice.json" \
        "$repo/packaging/ansible/install-largeguest.yml" >"$work/choice.log" 2>&1; then
        sed -n 's/.*"largeguest: localhost gets \([^"]*\)".*/\1/p' "$work/choice.log"
    else
        echo refused
    fi
}
r=vdsm-hook-largeguest-0.1.0-1
check "the playbook gives an EL8 host the RPM without dist tag" \
    test "$(playbook_choice 8 x86_64 "a/$r.el9.x86_64.rpm" "b/$r.x86_64.rpm")" = "$r.x86_64.rpm"
check "the playbook gives an EL9 host its release's RPM before the untagged one" \
    test "$(playbook_choice 9 x86_64 "a/$r.el8.x86_64.rpm" "b/$r.x86_64.rpm" "c/$r.el9_4.x86_64.rpm")" = "$r.el9_4.x86_64.rpm"
check "the playbook refuses a host no RPM's architecture fits" \
    test "$(playbook_choice 9 aarch64 "a/$r.el9.x86_64.rpm" "b/$r.x86_64.rpm")" = refused
check "the playbook refuses a source RPM" \
    test "$(playbook_choice 9 x86_64 "a/$r.src.rpm")" = refused

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
if "$exe" engine-config --cver 4.8 --current '' >"$work/engine-config" 2>&1; then
    pass "engine-config --cver 4.8 prints the command"
    check "the engine-config regexes accept the README's examples and refuse broken ones" \
        python3 "$here/engine_regex.py" "$repo/README.md" $(ls "$repo"/docs/*.md 2>/dev/null) <"$work/engine-config"
    # ksm_merge_across_nodes belongs to the KSM hook, not to `check`'s grammars.
    python3 "$here/engine_regex.py" --examples | grep -v '^ksm_merge_across_nodes=' >"$work/examples"
    while read -r example; do
        check "check accepts the README's $example" "$exe" check "$example"
    done <"$work/examples"
else
    fail "engine-config --cver 4.8 prints the command"; sed 's/^/    /' "$work/engine-config"
fi

finish
