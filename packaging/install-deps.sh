#!/bin/bash
# Installs what a build or test needs, only where it is missing:
#   install-deps.sh COMMAND:DNF_PACKAGE:APT_PACKAGE ...
# Each package is installed when COMMAND is not on PATH, with dnf (Fedora,
# RHEL, CentOS Stream) or apt-get (Debian). An empty COMMAND installs the
# package in any case, for what is no command (a static library): the caller
# has looked for it.
set -euo pipefail

as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)

dnf_pkgs=() apt_pkgs=()
for spec in "$@"; do
    IFS=: read -r command dnf_pkg apt_pkg <<<"$spec"
    [ -n "$command" ] && command -v "$command" >/dev/null && continue
    dnf_pkgs+=("$dnf_pkg")
    apt_pkgs+=("$apt_pkg")
done
[ ${#dnf_pkgs[@]} -eq 0 ] && exit 0

if command -v dnf >/dev/null; then
    "${as_root[@]}" dnf install -y "${dnf_pkgs[@]}" >&2
elif command -v apt-get >/dev/null; then
    # The package lists may be missing on a fresh machine.
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${apt_pkgs[@]}" >&2 ||
        { "${as_root[@]}" apt-get update -q >&2 &&
          "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
              apt-get install -y -q --no-install-recommends "${apt_pkgs[@]}" >&2; }
else
    echo "install-deps.sh: neither dnf nor apt-get found; install ${dnf_pkgs[*]} by hand" >&2
    exit 1
fi
