//! `suggest` on every fake sysfs tree: a guest that fits, one that needs
//! several nodes or sibling pairs, and one refused, per machine.

use crate::support::{program, sysfs_tree};

fn suggest(tree: &str, args: &str) -> String {
    let output = program()
        .env("LARGEGUEST_SYSFS_ROOT", sysfs_tree(tree))
        .arg("suggest")
        .args(args.split_whitespace())
        .output()
        .unwrap();
    let code = output.status.code().unwrap_or(-1);
    format!(
        "$ suggest {args}\nexit {code}\n--- stdout\n{}--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// One test per tree, named after it; each runs its `suggest` calls in turn
/// into one snapshot: `it__suggest_snapshots__TREE.snap`.
macro_rules! snapshot_tests {
    ($($test:ident $tree:literal: [$($args:literal,)*])*) => {
        $(#[test]
        fn $test() {
            let runs: Vec<String> = [$($args),*].iter().map(|args| suggest($tree, args)).collect();
            let text = runs.join("\n");
            insta::assert_snapshot!(text);
        })*
    };
}

snapshot_tests! {
    laptop "laptop": [
        "--vcpus 4 --memory 8G",
        "--vcpus 4 --memory 8G --threads-per-core 2 --reserve 0",
        "--vcpus 8 --memory 4G",
    ]
    two_socket_ht "two-socket-ht": [
        "--vcpus 48 --memory 64G --threads-per-core 2",
        "--vcpus 64 --memory 256G --threads-per-core 2 --mode interleave",
        "--vcpus 8 --memory 200G --mode preferred",
    ]
    epyc_nps4 "epyc-nps4": [
        "--vcpus 32 --memory 96G --threads-per-core 2",
        "--vcpus 16 --memory 32G --nodes 2",
        "--vcpus 128 --memory 64G",
    ]
    asymmetric "asymmetric": [
        "--vcpus 40 --memory 250G",
        "--vcpus 8 --memory 32G --json",
        "--vcpus 8 --memory 300G",
    ]
    cxl "cxl": [
        "--vcpus 16 --memory 60G",
        "--vcpus 8 --memory 120G",
    ]
    offline_cpus "offline-cpus": [
        "--vcpus 26 --memory 16G --threads-per-core 2",
        "--vcpus 28 --memory 16G --threads-per-core 2",
        "--vcpus 4 --memory 1G --reserve 0-40",
    ]
    tuned "tuned": [
        "--vcpus 8 --memory 8G --iothreads 2 --threads-per-core 2",
        "--vcpus 4 --memory 6G --hugepages 1G",
        "--vcpus 4 --memory 2G --hugepages 1G --device 0000:af:00.0 --json",
        "--vcpus 4 --memory 8G --hugepages 1G --device af:00.0",
        "--vcpus 4 --memory 1536M --hugepages 1G",
        "--vcpus 4 --memory 10G --hugepages 1G",
    ]
}
