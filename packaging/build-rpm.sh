#!/bin/bash
# Builds the source RPM, then the binary RPM from it as mock, COPR or Koji
# would, from a git checkout on Fedora, RHEL, CentOS Stream (dnf) or Debian
# (apt-get, whose rpm package provides rpmbuild). Prints the source RPM's path,
# then the binary RPM's on the last line:
#   target/rpmbuild/SRPMS/vdsm-hook-largeguest-VERSION-RELEASE.src.rpm
#   target/rpmbuild/RPMS/ARCH/vdsm-hook-largeguest-VERSION-RELEASE.ARCH.rpm
#
# The source RPM holds the spec, the project's tarball (the files git tracks,
# with their uncommitted changes) and the vendored crates. Vendoring is the
# one step that needs the crate registry, or cargo's cache; the build itself
# runs offline.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
name=vdsm-hook-largeguest
die() { echo "build-rpm.sh: $*" >&2; exit 1; }

# Debian's rpm package provides rpmbuild; Fedora's cargo is recent enough,
# elsewhere rustup gives the toolchain Cargo.toml's rust-version asks for.
"$repo/packaging/install-deps.sh" rpmbuild:rpm-build:rpm cargo:cargo:cargo \
    gcc:gcc:gcc git:git:git xz:xz:xz-utils
# The static link needs glibc's libc.a, which is no command to look for.
[ "$(gcc -print-file-name=libc.a)" != libc.a ] ||
    "$repo/packaging/install-deps.sh" :glibc-static:libc6-dev

# The [package] version, in RPM's spelling: '-' is not allowed in Version,
# and '~' sorts a pre-release before its release as Cargo does.
package_field() { sed -n "/^\[package\]/,/^\[/s/^$1 *= *\"\([^\"]*\)\".*/\1/p" "$repo/Cargo.toml"; }
version=$(package_field version)
rust_version=$(package_field rust-version)
[ -n "$version" ] && [ -n "$rust_version" ] ||
    die "no version or rust-version in Cargo.toml's [package]"
version=${version//-/\~}

topdir="$repo/target/rpmbuild"
rm -rf "$topdir"
mkdir -p "$topdir/SOURCES" "$topdir/SPECS"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Source0: what git tracks, as the working tree has it (a stash commit holds
# the uncommitted changes; without any, HEAD). Symlinks stay symlinks.
git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
    die "$repo is not a git checkout; rebuild the source RPM instead"
snapshot=$(git -C "$repo" stash create)
git -C "$repo" -c tar.umask=0022 archive --format=tar.gz --prefix="$name-$version/" \
    -o "$topdir/SOURCES/$name-$version.tar.gz" "${snapshot:-HEAD}"

# Source1: every crate Cargo.lock names, test-only ones included so that
# %check builds offline too. Sorted, owned by root and dated from the last
# commit, so that the same Cargo.lock gives the same tarball.
(cd "$repo" && cargo vendor --locked --versioned-dirs "$scratch/vendor" >/dev/null)
epoch=$(git -C "$repo" log -1 --format=%ct)
tar -C "$scratch" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" -cf - vendor |
    xz -T0 >"$topdir/SOURCES/$name-$version-vendor.tar.xz"

# The bundled crates, found as the spec's %build finds them for cargo-vendor.txt.
(cd "$repo" && cargo tree --locked --offline --workspace --edges normal,build --no-dedupe \
    --all-features --prefix none --format '{p}') |
    grep -vF "($repo" | sed 's/ (proc-macro)$//' | LC_ALL=C sort -u |
    awk '{ v = substr($2, 2); gsub("-", "~", v); print "Provides:       bundled(crate(" $1 ")) = " v }' \
        >"$scratch/provides"
[ -s "$scratch/provides" ] || die "cargo tree listed no crate"
sed -e "s/@VERSION@/$version/" -e "s/@RUST_VERSION@/$rust_version/" \
    -e "/^@BUNDLED_PROVIDES@\$/{r $scratch/provides" -e 'd}' \
    "$repo/packaging/$name.spec.in" >"$topdir/SPECS/$name.spec"

# --nodeps: on Debian, and with rustup's toolchain, the BuildRequires are no
# RPM packages; what they name was installed above. mock, COPR and Koji
# install them in their build roots.
rpmbuild -bs --nodeps --define "_topdir $topdir" "$topdir/SPECS/$name.spec" >&2
evr=$(rpmspec -q --srpm --qf '%{version}-%{release}' --define "_topdir $topdir" "$topdir/SPECS/$name.spec")
srpm="$topdir/SRPMS/$name-$evr.src.rpm"
[ -f "$srpm" ] || die "rpmbuild did not write $srpm"
rpmbuild --rebuild --nodeps --define "_topdir $topdir" "$srpm" >&2

arch=$(rpm --eval '%{_arch}')
rpm_path="$topdir/RPMS/$arch/$name-$evr.$arch.rpm"
[ -f "$rpm_path" ] || die "rpmbuild did not write $rpm_path"
echo "$srpm"
echo "$rpm_path"
