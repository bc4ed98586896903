#!/usr/bin/env bash
# Builds every fuzz target and runs each one for a short while (SECONDS_EACH,
# 30 by default) from the committed corpus, printing how many inputs each
# one ran. New corpus entries go to a scratch folder, so the committed
# corpus stays small; a crash leaves its input under fuzz/artifacts/.
#
# cargo fuzz needs nightly compiler features; RUSTC_BOOTSTRAP=1 lets the
# stable toolchain provide them.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${SECONDS_EACH:-30}
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install --locked cargo-fuzz
fi
cargo fuzz build -O

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=()
for target in $(cargo fuzz list); do
    mkdir -p "$scratch/$target" "corpus/$target"
    log="$scratch/$target.log"
    if cargo fuzz run -O "$target" "$scratch/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 >"$log" 2>&1; then
        status=ok
    else
        status=FAILED
        failed+=("$target")
        tail -n 40 "$log"
    fi
    runs=$(grep -o 'Done [0-9]* runs' "$log" | tail -n 1 | grep -o '[0-9]*' || true)
    echo "fuzz $target: $status, ${runs:-?} executions in ${seconds} s"
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz targets that failed: ${failed[*]}"
    exit 1
fi
