#!/bin/bash
# Stage an install tree the way the package lays it out, so that the hook
# entries (relative symlinks) resolve to the binary as they do on a host:
#   DIR/usr/libexec/vdsm/hooks/<hook point>/NN_name -> ../../../vdsm-hook-largeguest/vdsm-hook-largeguest
#   DIR/usr/libexec/vdsm-hook-largeguest/vdsm-hook-largeguest
# usage: tests/e2e/stage.sh BINARY DIR
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 BINARY DIR" >&2
    exit 64
fi
binary=$1
dir=$2
repo=$(cd "$(dirname "$0")/../.." && pwd)

[ -x "$binary" ] || { echo "$0: $binary is not an executable" >&2; exit 1; }
mkdir -p "$dir/usr/libexec/vdsm" "$dir/usr/libexec/vdsm-hook-largeguest"
rm -rf "$dir/usr/libexec/vdsm/hooks"
cp -a "$repo/hooks" "$dir/usr/libexec/vdsm/hooks"
install -m 0755 "$binary" "$dir/usr/libexec/vdsm-hook-largeguest/vdsm-hook-largeguest"
# The scenarios point the hook at fake trees with LARGEGUEST_SYSFS_ROOT, which
# the program honours only beside this marker; a package never installs it.
echo "lets the LARGEGUEST_* test variables move the host's paths for the program here" \
    >"$dir/usr/libexec/vdsm-hook-largeguest/largeguest-test-overrides"

# A dangling entry would be skipped silently by VDSM (not a regular file): fail here instead.
while IFS= read -r -d '' entry; do
    [ -f "$entry" ] || { echo "$0: $entry does not resolve" >&2; exit 1; }
done < <(find "$dir/usr/libexec/vdsm/hooks" -type l -print0)
