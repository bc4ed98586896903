#!/bin/sh
# Runs a benchmark against exactly what the RPM ships: the executable built
# as the spec builds it (static-pie, the rpm profile, the normal crate
# features), copied aside because `cargo bench` builds its own executable
# at the same path with the dev-dependencies' features turned on.
#   benches/shipped.sh whole_process --pairs 200 --no-scaling
#   benches/shipped.sh mass_start --rounds 20
set -eu
bench=$1
shift
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-gnu
export RUSTFLAGS="-C target-feature=+crt-static"
cargo build --profile rpm --target "$target"
mkdir -p target/shipped
cp "target/$target/rpm/vdsm-hook-largeguest" target/shipped/
LARGEGUEST_BENCH_HOOK="$PWD/target/shipped/vdsm-hook-largeguest" \
    cargo bench --profile rpm --target "$target" --bench "$bench" -- "$@"
