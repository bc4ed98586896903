#!/bin/bash
# Builds vdsm-hook-largeguest-<version>-1.<arch>.rpm from a clean checkout, on
# Fedora, RHEL, CentOS Stream (dnf) or Debian (apt-get, whose rpm package
# provides rpmbuild). Prints the RPM's path on its last line.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)

# Installs the named packages with whichever package manager the host has.
install_packages() {
    local dnf_pkg=$1 apt_pkg=$2
    if command -v dnf >/dev/null; then
        "${as_root[@]}" dnf install -y "$dnf_pkg" >&2
    elif command -v apt-get >/dev/null; then
        "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -q --no-install-recommends "$apt_pkg" >&2
    else
        echo "build-rpm.sh: neither dnf nor apt-get found; install $dnf_pkg (or $apt_pkg) by hand" >&2
        exit 1
    fi
}

command -v rpmbuild >/dev/null || install_packages rpm-build rpm
command -v cargo >/dev/null || install_packages cargo cargo

# The [package] version; RPM forbids '-' in Version, and '~' sorts a
# pre-release before its release as Cargo does.
version=$(sed -n '/^\[package\]/,/^\[/s/^version *= *"\([^"]*\)".*/\1/p' "$repo/Cargo.toml")
[ -n "$version" ] || { echo "build-rpm.sh: no version in Cargo.toml's [package]" >&2; exit 1; }
version=${version//-/\~}

(cd "$repo" && cargo build --release --locked >&2)

topdir="$repo/target/rpmbuild"
rm -rf "$topdir"
rpmbuild -bb \
    --define "_topdir $topdir" \
    --define "srcroot $repo" \
    --define "crate_version $version" \
    "$repo/packaging/vdsm-hook-largeguest.spec" >&2

arch=$(rpm --eval '%{_arch}')
rpm_path="$topdir/RPMS/$arch/vdsm-hook-largeguest-$version-1.$arch.rpm"
[ -f "$rpm_path" ] || { echo "build-rpm.sh: rpmbuild did not write $rpm_path" >&2; exit 1; }
echo "$rpm_path"
