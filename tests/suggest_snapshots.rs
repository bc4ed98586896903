//! `suggest` on every fake sysfs tree: a guest that fits, one that needs
//! several nodes or sibling pairs, and one refused, per machine.

#[path = "support/overrides.rs"]
mod overrides;
use assert_cmd::Command;

fn suggest(tree: &str, args: &str) -> String {
    overrides::allow();
    let root = format!("{}/testdata/sysfs/{tree}", env!("CARGO_MANIFEST_DIR"));
    let output = Command::cargo_bin("vdsm-hook-largeguest")
        .unwrap()
        .env("LARGEGUEST_SYSFS_ROOT", root)
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

const CASES: [(&str, &[&str]); 7] = [
    (
        "laptop",
        &[
            "--vcpus 4 --memory 8G",
            "--vcpus 4 --memory 8G --threads-per-core 2 --reserve 0",
            "--vcpus 8 --memory 4G",
        ],
    ),
    (
        "two-socket-ht",
        &[
            "--vcpus 48 --memory 64G --threads-per-core 2",
            "--vcpus 64 --memory 256G --threads-per-core 2 --mode interleave",
            "--vcpus 8 --memory 200G --mode preferred",
        ],
    ),
    (
        "epyc-nps4",
        &[
            "--vcpus 32 --memory 96G --threads-per-core 2",
            "--vcpus 16 --memory 32G --nodes 2",
            "--vcpus 128 --memory 64G",
        ],
    ),
    (
        "asymmetric",
        &[
            "--vcpus 40 --memory 250G",
            "--vcpus 8 --memory 32G --json",
            "--vcpus 8 --memory 300G",
        ],
    ),
    (
        "cxl",
        &["--vcpus 16 --memory 60G", "--vcpus 8 --memory 120G"],
    ),
    (
        "offline-cpus",
        &[
            "--vcpus 26 --memory 16G --threads-per-core 2",
            "--vcpus 28 --memory 16G --threads-per-core 2",
            "--vcpus 4 --memory 1G --reserve 0-40",
        ],
    ),
    (
        "tuned",
        &[
            "--vcpus 8 --memory 8G --iothreads 2 --threads-per-core 2",
            "--vcpus 4 --memory 6G --hugepages 1G",
            "--vcpus 4 --memory 2G --hugepages 1G --device 0000:af:00.0 --json",
            "--vcpus 4 --memory 8G --hugepages 1G --device af:00.0",
            "--vcpus 4 --memory 1536M --hugepages 1G",
            "--vcpus 4 --memory 10G --hugepages 1G",
        ],
    ),
];

#[test]
fn snapshots() {
    for (tree, cases) in CASES {
        let text: Vec<String> = cases.iter().map(|args| suggest(tree, args)).collect();
        insta::assert_snapshot!(format!("suggest-{tree}"), text.join("\n"));
    }
}
