#!/bin/bash
# Builds vdsm-hook-largeguest-<version>-1.<arch>.rpm from a clean checkout, on
# Fedora, RHEL, CentOS Stream (dnf) or Debian (apt-get, whose rpm package
# provides rpmbuild). Prints the RPM's path on its last line.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Debian's rpm package provides rpmbuild; Fedora's cargo is recent enough,
# elsewhere rustup gives the toolchain Cargo.toml's rust-version asks for.
"$repo/packaging/install-deps.sh" rpmbuild:rpm-build:rpm cargo:cargo:cargo

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
