//! `prepare` on fake hosts: what it prints and refuses, the files it
//! writes under a root, the units' script run against a fake sysfs, and
//! `--check` on hosts prepared and not.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use crate::support::{copy_tree, program, sysfs_tree, Outcome, TempDir};

const EL9: &str = "5.14.0-427.13.1.el9_4.x86_64";
const UPSTREAM: &str = "6.8.0-45-generic";

/// irqbalance's own sysconfig file as EL9 installs it, shortened.
const IRQBALANCE_STOCK: &str = "\
# irqbalance is a daemon process that distributes interrupts across
# CPUs on SMP systems.
#
#IRQBALANCE_ONESHOT=
#IRQBALANCE_BANNED_CPULIST=
IRQBALANCE_ARGS=\"\"
";

/// A fake host: sysfs copied from a recorded tree, a procfs with the
/// kernel's release and command line, and a root for /etc.
struct Host {
    dir: TempDir,
}

impl Host {
    fn new(tree: &str, release: &str) -> Host {
        let dir = TempDir::new(&format!("prepare-{tree}"));
        copy_tree(&sysfs_tree(tree), &dir.join("sys"));
        fs::create_dir_all(dir.join("proc/sys/kernel")).unwrap();
        fs::write(
            dir.join("proc/sys/kernel/osrelease"),
            format!("{release}\n"),
        )
        .unwrap();
        fs::write(
            dir.join("proc/cmdline"),
            "BOOT_IMAGE=(hd0,gpt2)/vmlinuz root=/dev/mapper/rhel-root ro\n",
        )
        .unwrap();
        fs::create_dir_all(dir.join("root/etc/sysconfig")).unwrap();
        fs::write(dir.join("root/etc/sysconfig/irqbalance"), IRQBALANCE_STOCK).unwrap();
        Host { dir }
    }

    fn root(&self) -> PathBuf {
        self.dir.join("root")
    }

    fn sys(&self, path: &str) -> PathBuf {
        self.dir.join("sys").join(path)
    }

    fn run(&self, args: &[&str]) -> Outcome {
        self.run_with_stdin(args, "")
    }

    fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Outcome {
        let output = program()
            .env("LARGEGUEST_SYSFS_ROOT", self.dir.join("sys"))
            .env("LARGEGUEST_PROCFS_ROOT", self.dir.join("proc"))
            .arg("prepare")
            .args(args)
            .write_stdin(stdin)
            .output()
            .unwrap();
        Outcome::from(output)
    }

    /// A plan as `suggest --json` prints it on this host.
    fn plan(&self, name: &str, suggest: &str) -> PathBuf {
        let output = program()
            .env("LARGEGUEST_SYSFS_ROOT", self.dir.join("sys"))
            .arg("suggest")
            .args(suggest.split_whitespace())
            .arg("--json")
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let path = self.dir.join(name);
        fs::write(&path, output.stdout).unwrap();
        path
    }

    /// Runs every enabled unit under the root as systemd would: its
    /// Environment= and ExecStart=, with the script's path under the root
    /// and the fake sysfs in place of /sys.
    fn boot(&self) -> Vec<Outcome> {
        let wants = self.root().join("etc/systemd/system/sysinit.target.wants");
        let mut names: Vec<String> = fs::read_dir(&wants)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
            .iter()
            .map(|name| {
                let target = fs::read_link(wants.join(name)).unwrap();
                let unit = fs::read_to_string(under(&self.root(), &target)).unwrap();
                let mut process = Process::new("/bin/sh");
                process
                    .env_clear()
                    .env("PATH", "/usr/bin:/bin")
                    .env("LARGEGUEST_SYSFS_ROOT", self.dir.join("sys"));
                for line in unit.lines() {
                    if let Some(pairs) = line.strip_prefix("Environment=") {
                        for pair in pairs.split_whitespace() {
                            let (name, value) = pair.split_once('=').unwrap();
                            process.env(name, value);
                        }
                    }
                    if let Some(command) = line.strip_prefix("ExecStart=") {
                        let words: Vec<&str> = command.split_whitespace().collect();
                        assert_eq!(words[0], "/bin/sh", "{command}");
                        process.arg(under(&self.root(), Path::new(words[1])));
                    }
                }
                let output = process.output().unwrap();
                Outcome::from(output)
            })
            .collect()
    }

    fn pages(&self, node: u32, size_kib: u64) -> u64 {
        let path = self.sys(&format!(
            "devices/system/node/node{node}/hugepages/hugepages-{size_kib}kB/nr_hugepages"
        ));
        fs::read_to_string(path).unwrap().trim().parse().unwrap()
    }

    /// What the kernel and tuned show once the profile is active and the
    /// host rebooted.
    fn isolate(&self, cpus: &str) {
        fs::write(self.sys("devices/system/cpu/isolated"), "\n").unwrap();
        fs::write(
            self.sys("devices/system/cpu/nohz_full"),
            format!("{cpus}\n"),
        )
        .unwrap();
        fs::write(
            self.root().join("etc/tuned/active_profile"),
            "virtual-host cpu-partitioning\n",
        )
        .unwrap();
    }
}

fn under(root: &Path, path: &Path) -> PathBuf {
    root.join(path.strip_prefix("/").unwrap())
}

/// A 1G-page guest on node 0 of the `tuned` tree, as suggest places it.
const HUGE_GUEST: &str = "--vcpus 4 --memory 6G --hugepages 1G";

#[test]
fn a_plan_on_el9_is_printed_with_units_and_no_kernel_argument_for_pages() {
    let host = Host::new("tuned", EL9);
    let plan = host.plan("plan.json", HUGE_GUEST);
    let out = host.run(&[plan.to_str().unwrap(), "--hugepages", "1G"]);
    let text = out.transcript().replace(plan.to_str().unwrap(), "PLAN");
    insta::assert_snapshot!("prepare-el9-one-plan", text);
}

#[test]
fn on_a_kernel_that_reads_per_node_counts_the_engine_gets_them() {
    let host = Host::new("two-socket-ht", UPSTREAM);
    let out = host.run(&[
        "--guest",
        "cputune=0-7@2-5:50-53",
        "guestnuma=0-3#16G#0,4-7#8G#1",
        "hugepages=1048576",
        "emulatorpin=0,48",
        "--guest",
        "cputune=0-3@60-63",
        "guestnuma=0-3#512M#1",
        "numatune=strict#1",
        "hugepages=2048",
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    insta::assert_snapshot!("prepare-upstream-two-guests", out.transcript());
    assert!(out
        .stdout
        .contains("\nhugepagesz=2M hugepages=1:256 hugepagesz=1G hugepages=0:16,1:8\n"));
}

#[test]
fn json_holds_the_same_configuration() {
    let host = Host::new("two-socket-ht", UPSTREAM);
    let args = [
        "--guest",
        "cputune=0-7@2-5:50-53",
        "guestnuma=0-3#16G#0,4-7#8G#1",
        "hugepages=1048576",
        "--guest",
        "cputune=0-3@60-63",
    ];
    let text = host.run(&args);
    let mut with_json = args.to_vec();
    with_json.push("--json");
    let out = host.run(&with_json);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (Some(0), text.stderr.as_str())
    );
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["guests"], serde_json::json!(["guest 1", "guest 2"]));
    assert_eq!(json["isolated"], "2-5,50-53,60-63");
    assert_eq!(
        json["pages"],
        serde_json::json!([
            {"node": 0, "size_kib": 1048576, "count": 16},
            {"node": 1, "size_kib": 1048576, "count": 8}
        ])
    );
    assert_eq!(
        json["kernel_arguments"],
        serde_json::json!(["hugepagesz=1G", "hugepages=0:16,1:8"])
    );
    assert_eq!(json["warnings"].as_array().unwrap().len(), 1);
    let files = json["files"].as_array().unwrap();
    let kinds: Vec<(&str, &str)> = files
        .iter()
        .map(|f| (f["kind"].as_str().unwrap(), f["path"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds.len(), 7, "{kinds:?}");
    assert_eq!(
        kinds[0],
        ("whole", "/etc/vdsm-hook-largeguest/reserve-hugepages")
    );
    assert_eq!(files[0]["mode"], "0755");
    // Every whole file's text is the one printed.
    for file in files.iter().filter(|f| f["kind"] == "whole") {
        assert!(text.stdout.contains(file["text"].as_str().unwrap()));
    }
    let irqbalance = files
        .iter()
        .find(|f| f["path"] == "/etc/sysconfig/irqbalance")
        .unwrap();
    assert_eq!(
        (&irqbalance["variable"], &irqbalance["value"]),
        (
            &serde_json::json!("IRQBALANCE_BANNED_CPULIST"),
            &serde_json::json!("2-5,50-53,60-63")
        )
    );
}

#[test]
fn plans_come_from_files_and_stdin_and_mix_with_properties() {
    let host = Host::new("tuned", EL9);
    let plan = host.plan("plan.json", HUGE_GUEST);
    let json = fs::read_to_string(&plan).unwrap();
    let out = host.run_with_stdin(
        &[
            "-",
            "--hugepages",
            "1G",
            "--guest",
            "cputune=0#12",
            "emulatorpin=8",
        ],
        &json,
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out
        .stdout
        .starts_with("# host configuration for plan 1 (-), guest 1\n# isolated CPUs, for vCPUs only: 1-2,12,17-18\n"));
}

#[test]
fn what_the_host_cannot_hold_is_refused_in_one_line_naming_where() {
    let host = Host::new("tuned", EL9);
    let cases = [
        (
            vec!["--guest", "guestnuma=0-3#80G#1", "hugepages=1G", "cputune=0-3#9-12"],
            "vdsm-hook-largeguest: node 1 cannot hold 80G of huge pages (80 of 1G) with 64.0 GiB of memory\n",
        ),
        (
            vec!["--guest", "cputune=0-1#30-33"],
            "vdsm-hook-largeguest: guest 1: cputune pins vCPUs to host CPUs 32-33, which this host does not have online (its online CPUs: 0-31)\n",
        ),
        (
            vec!["--guest", "guestnuma=0#1G#3", "hugepages=1G"],
            "vdsm-hook-largeguest: guest 1: guestnuma cell 0 is on host node 3, which this host does not have (its nodes: 0-1)\n",
        ),
        (
            vec!["--guest", "cputune=0-31@0-31"],
            "vdsm-hook-largeguest: the guests' vCPUs take every online host CPU (0-31); leave at least one core for the host, VDSM and the emulator threads\n",
        ),
        (
            vec!["--guest", "cputune=0-1#4-5", "--guest", "emulatorpin=5"],
            "vdsm-hook-largeguest: guest 2: its emulator and I/O threads are pinned to host CPUs 5, which guest 1 pins vCPUs to; those CPUs are isolated, so give the threads housekeeping CPUs\n",
        ),
        (
            vec!["--guest", "guestnuma=0#16G#0", "hugepages=16G"],
            "vdsm-hook-largeguest: node 0: the kernel offers no 16G huge pages there (no hugepages-16777216kB pool); use a size the host lists under /sys/kernel/mm/hugepages\n",
        ),
        (
            vec!["--guest", "guestnuma=2", "hugepages=2048"],
            "vdsm-hook-largeguest: guest 1: guestnuma=2 leaves the cells' sizes to the VM: give each cell its memory and host node (as suggest prints them), so the pages can be reserved per node\n",
        ),
        (
            vec!["--guest", "colour=blue"],
            "vdsm-hook-largeguest: guest 1: unknown property 'colour'; prepare reads cputune, numatune, guestnuma, emulatorpin, iothreadpin and hugepages\n",
        ),
    ];
    for (args, message) in cases {
        let out = host.run(&args);
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr.as_str()),
            (Some(2), "", message),
            "{args:?}"
        );
    }
    let missing = host.run(&["no-such-plan.json"]);
    assert_eq!(
        (missing.code, missing.stderr.as_str()),
        (
            Some(2),
            "vdsm-hook-largeguest: cannot read the plan 'no-such-plan.json': No such file or directory (os error 2)\n"
        )
    );
    let endless = host.run(&["/dev/zero"]);
    assert_eq!(
        endless.stderr,
        "vdsm-hook-largeguest: cannot read the plan '/dev/zero': longer than 4194304 bytes, so not a plan\n"
    );
    let binary = host.dir.join("binary.json");
    fs::write(&binary, b"{\"cputune\": \"\xff\"}").unwrap();
    let out = host.run(&[binary.to_str().unwrap()]);
    assert!(
        out.stderr.ends_with(": not UTF-8 text, so not a plan\n"),
        "{}",
        out.stderr
    );
    let folder = host.run(&[host.dir.to_str().unwrap()]);
    assert_eq!((folder.code, folder.stderr.lines().count()), (Some(2), 1));
    let not_json = host.run_with_stdin(&["-"], "cputune=0#1\n");
    assert!(not_json.stderr.starts_with(
        "vdsm-hook-largeguest: plan 1 (-): not a plan as 'suggest --json' prints it: "
    ));
}

#[test]
fn usage_errors_exit_2_and_write_nothing() {
    let host = Host::new("tuned", EL9);
    for args in [
        vec![],
        vec!["--guest", "cputune=0#1", "--write", "x", "--check"],
        vec!["--guest", "cputune=0#1", "--root", "/x"],
        vec!["--guest", "cputune=0#1", "--write", "/x", "--json"],
        vec!["--guest", "cputune=0#1", "--bogus"],
    ] {
        let out = host.run(&args);
        assert_eq!(out.code, Some(2), "{args:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
    }
    let not_a_folder = host.dir.join("proc/cmdline");
    let out = host.run(&[
        "--guest",
        "cputune=0#1",
        "--write",
        not_a_folder.to_str().unwrap(),
    ]);
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("not a folder"), "{}", out.stderr);
}

#[test]
fn written_files_are_the_printed_ones_and_other_lines_stay() {
    let host = Host::new("tuned", EL9);
    let plan = host.plan("plan.json", HUGE_GUEST);
    let root = host.root();
    let irqbalance = root.join("etc/sysconfig/irqbalance");
    fs::write(
        &irqbalance,
        format!("{IRQBALANCE_STOCK}IRQBALANCE_BANNED_CPUS=0000ff00\n"),
    )
    .unwrap();
    let args = [
        plan.to_str().unwrap(),
        "--hugepages",
        "1G",
        "--write",
        root.to_str().unwrap(),
    ];
    let out = host.run(&args);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    insta::assert_snapshot!("prepare-write-lines", out.stdout);
    let unit = "etc/systemd/system/vdsm-hook-largeguest-hugepages-node0-1048576kB.service";
    insta::assert_snapshot!(
        "prepare-write-unit",
        fs::read_to_string(root.join(unit)).unwrap()
    );
    assert_eq!(
        fs::read_link(root.join(
            "etc/systemd/system/sysinit.target.wants/vdsm-hook-largeguest-hugepages-node0-1048576kB.service"
        ))
        .unwrap(),
        Path::new("/").join(unit)
    );
    insta::assert_snapshot!(
        "prepare-write-irqbalance",
        fs::read_to_string(&irqbalance).unwrap()
    );
    assert_eq!(
        fs::read_to_string(root.join("etc/tuned/cpu-partitioning-variables.conf")).unwrap(),
        "isolated_cores=1-2,17-18\n"
    );
    use std::os::unix::fs::PermissionsExt;
    let script = root.join("etc/vdsm-hook-largeguest/reserve-hugepages");
    assert_eq!(
        fs::metadata(&script).unwrap().permissions().mode() & 0o777,
        0o755
    );

    // Written again, nothing changes, and it says so.
    let again = host.run(&args);
    assert_eq!(again.code, Some(0));
    assert_eq!(again.stdout, out.stdout.replace("wrote ", "unchanged "));

    // The same guest moved to node 1: node 0's unit and its link go.
    let out = host.run(&[
        "--guest",
        "guestnuma=0-3#2G#1",
        "hugepages=1G",
        "--write",
        root.to_str().unwrap(),
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.starts_with(
        "removed /etc/systemd/system/sysinit.target.wants/vdsm-hook-largeguest-hugepages-node0-1048576kB.service\nremoved /etc/systemd/system/vdsm-hook-largeguest-hugepages-node0-1048576kB.service\n"
    ), "{}", out.stdout);
    assert!(!root.join(unit).exists());
    assert!(root
        .join("etc/systemd/system/vdsm-hook-largeguest-hugepages-node1-1048576kB.service")
        .exists());
}

#[test]
fn the_units_reserve_each_nodes_pages_on_a_fake_sysfs() {
    let host = Host::new("two-socket-ht", EL9);
    let root = host.root();
    for node in 0..2 {
        for size in [1048576, 2048] {
            fs::write(
                host.sys(&format!(
                    "devices/system/node/node{node}/hugepages/hugepages-{size}kB/nr_hugepages"
                )),
                "0\n",
            )
            .unwrap();
        }
    }
    // Pages reserved by other means are kept: the units only raise a pool.
    fs::write(
        host.sys("devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages"),
        "3000\n",
    )
    .unwrap();
    let out = host.run(&[
        "--guest",
        "guestnuma=0-3#16G#0,4-7#8G#1",
        "hugepages=1G",
        "--guest",
        "guestnuma=0-1#1G#1,2-3#3G#1",
        "hugepages=2M",
        "--write",
        root.to_str().unwrap(),
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let runs = host.boot();
    let said: Vec<String> = runs
        .iter()
        .map(|run| format!("{:?} {}{}", run.code, run.stdout, run.stderr))
        .collect();
    assert_eq!(
        said,
        [
            "Some(0) node 0, 1048576 kB pages: 16 reserved (16 asked)\n",
            "Some(0) node 1, 1048576 kB pages: 8 reserved (8 asked)\n",
            "Some(0) node 1, 2048 kB pages: 3000 reserved (2048 asked)\n",
        ]
    );
    assert_eq!(
        (
            host.pages(0, 1048576),
            host.pages(1, 1048576),
            host.pages(0, 2048),
            host.pages(1, 2048)
        ),
        (16, 8, 0, 3000)
    );
}

#[test]
fn a_unit_whose_pool_is_missing_or_unreadable_fails_and_says_so() {
    let host = Host::new("tuned", EL9);
    let root = host.root();
    let out = host.run(&[
        "--guest",
        "guestnuma=0#1G#0,1#1G#1",
        "hugepages=1G",
        "--write",
        root.to_str().unwrap(),
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    // The node lost its 1G pool (another kernel); node 1's reads as garbage.
    fs::remove_dir_all(host.sys("devices/system/node/node0/hugepages/hugepages-1048576kB"))
        .unwrap();
    fs::write(
        host.sys("devices/system/node/node1/hugepages/hugepages-1048576kB/nr_hugepages"),
        "lots\n",
    )
    .unwrap();
    let runs = host.boot();
    assert_eq!(
        runs.iter().map(|r| r.code).collect::<Vec<_>>(),
        [Some(1), Some(1)]
    );
    assert!(runs[0]
        .stderr
        .starts_with("node 0, 1048576 kB pages: no such pool ("));
    assert!(runs[1]
        .stderr
        .starts_with("node 1, 1048576 kB pages: cannot read "));
    assert_eq!(runs.iter().map(|r| r.stdout.len()).sum::<usize>(), 0);
}

#[test]
fn check_on_an_unprepared_host_names_each_difference() {
    let host = Host::new("tuned", EL9);
    let plan = host.plan("plan.json", HUGE_GUEST);
    let root = host.root();
    let out = host.run(&[
        plan.to_str().unwrap(),
        "--hugepages",
        "1G",
        "--check",
        "--root",
        root.to_str().unwrap(),
    ]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    insta::assert_snapshot!("prepare-check-unprepared", out.stdout);
}

#[test]
fn check_on_a_prepared_and_rebooted_host_holds() {
    let host = Host::new("tuned", EL9);
    let plan = host.plan("plan.json", HUGE_GUEST);
    let root = host.root();
    let plan = plan.to_str().unwrap();
    let root_arg = root.to_str().unwrap();
    let check = |more: &[&str]| {
        let mut args = vec![plan, "--hugepages", "1G", "--check", "--root", root_arg];
        args.extend(more);
        host.run(&args)
    };
    let out = host.run(&[plan, "--hugepages", "1G", "--write", root_arg]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    // Written but not yet rebooted: the kernel still isolates other CPUs.
    let before = check(&[]);
    assert_eq!(before.code, Some(1));
    let differs: Vec<&str> = before
        .stdout
        .lines()
        .filter(|l| l.starts_with("DIFFERS"))
        .collect();
    assert_eq!(differs.len(), 2, "{}", before.stdout);
    assert!(differs[0].starts_with("DIFFERS isolated   CPUs the kernel isolates (nohz_full, isolcpus): expected 1-2,17-18, found 1-7,9-15,17-23,25-31;"));
    assert!(differs[1].starts_with("DIFFERS tuned      /etc/tuned/active_profile: expected a profile list with cpu-partitioning, found none;"));

    fs::create_dir_all(root.join("etc/tuned")).unwrap();
    host.isolate("1-2,17-18");
    for run in host.boot() {
        assert_eq!(run.code, Some(0), "{}", run.stderr);
    }
    let after = check(&[]);
    assert_eq!(
        (after.code, after.stderr.as_str()),
        (Some(0), ""),
        "{}",
        after.stdout
    );
    insta::assert_snapshot!("prepare-check-prepared", after.stdout);

    let json = check(&["--json"]);
    assert_eq!(json.code, Some(0));
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["holds"], true);
    let checks = report["checks"].as_array().unwrap();
    assert_eq!(checks.len(), after.stdout.lines().count() - 1);
    assert_eq!(checks[0]["what"], "hugepages");
    assert_eq!(checks[0]["subject"], "node 0, 1G pages");
    assert_eq!(checks[0]["found"], "8");
    assert!(checks
        .iter()
        .all(|c| c["holds"] == true && c.get("fix").is_some()));

    // A pool that shrank, VDSM allocating pages itself and a mask that came
    // back are differences again.
    fs::write(
        host.sys("devices/system/node/node0/hugepages/hugepages-1048576kB/nr_hugepages"),
        "5\n",
    )
    .unwrap();
    let irqbalance = root.join("etc/sysconfig/irqbalance");
    let text = fs::read_to_string(&irqbalance).unwrap();
    fs::write(&irqbalance, format!("{text}IRQBALANCE_BANNED_CPUS=ff\n")).unwrap();
    fs::create_dir_all(root.join("etc/vdsm")).unwrap();
    fs::write(
        root.join("etc/vdsm/vdsm.conf"),
        "[vars]\nssl = true\n\n[performance]\nuse_dynamic_hugepages = true\n",
    )
    .unwrap();
    let json = check(&["--json"]);
    assert_eq!(json.code, Some(1));
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let failed: Vec<(String, String)> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["holds"] == false)
        .map(|c| {
            (
                c["what"].as_str().unwrap().to_string(),
                c["found"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        failed,
        [
            ("hugepages".to_string(), "5".to_string()),
            (
                "vdsm".to_string(),
                "true in /etc/vdsm/vdsm.conf".to_string()
            ),
            (
                "irqbalance".to_string(),
                "IRQBALANCE_BANNED_CPUS=ff, which irqbalance uses instead of the list".to_string()
            )
        ]
    );
}

#[test]
fn check_on_a_kernel_that_reads_per_node_counts_looks_at_its_command_line() {
    let host = Host::new("two-socket-ht", UPSTREAM);
    let args = [
        "--guest",
        "guestnuma=0-3#16G#0,4-7#8G#1",
        "hugepages=1G",
        "--check",
        "--root",
    ];
    let root = host.root();
    let mut all: Vec<&str> = args.to_vec();
    all.push(root.to_str().unwrap());
    let out = host.run(&all);
    assert_eq!(out.code, Some(1));
    assert!(
        out.stdout.contains(
            "DIFFERS kernel     command line: expected hugepages=0:16,1:8, found missing;"
        ),
        "{}",
        out.stdout
    );
    fs::write(
        host.dir.join("proc/cmdline"),
        "BOOT_IMAGE=/vmlinuz ro hugepagesz=1G hugepages=0:16,1:8\n",
    )
    .unwrap();
    let out = host.run(&all);
    assert!(
        out.stdout.contains(
            "ok      kernel     command line: expected hugepages=0:16,1:8, found present\n"
        ),
        "{}",
        out.stdout
    );
}

/// systemd's own reading of the units: keys it knows, an ExecStart it can
/// run, and an order without a cycle (without DefaultDependencies=no a unit
/// ordered before sysinit.target would be after it too).
#[test]
fn systemd_reads_the_written_units_without_a_complaint() {
    let host = Host::new("two-socket-ht", EL9);
    let root = host.root();
    let out = host.run(&[
        "--guest",
        "guestnuma=0-3#16G#0,4-7#8G#1",
        "hugepages=1G",
        "--write",
        root.to_str().unwrap(),
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let units = root.join("etc/systemd/system");
    for node in [0, 1] {
        let unit = units.join(format!(
            "vdsm-hook-largeguest-hugepages-node{node}-1048576kB.service"
        ));
        let verified = Process::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(&unit)
            .output()
            .expect("systemd-analyze (systemd) is needed to check the units");
        assert_eq!(
            (
                verified.status.code(),
                String::from_utf8_lossy(&verified.stderr).into_owned()
            ),
            (Some(0), String::new()),
            "{}",
            unit.display()
        );
    }
}

/// Node 0's pool of 2M pages on the running kernel, put back on drop.
struct RealPool {
    path: PathBuf,
    was: String,
}

impl Drop for RealPool {
    fn drop(&mut self) {
        let _ = fs::write(&self.path, &self.was);
    }
}

/// The unit's script on the running kernel: it raises node 0's pool of 2M
/// pages by four (8 MiB) and reads back what the kernel gave, and
/// `--check` reads the real pool.
#[test]
#[ignore = "changes the running kernel's huge page pool (as root): cargo test --test it prepare:: -- --ignored"]
fn the_units_script_reserves_pages_on_the_running_kernel() {
    let pool = RealPool {
        path: PathBuf::from(
            "/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages",
        ),
        was: fs::read_to_string(
            "/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages",
        )
        .expect("a NUMA kernel with 2M pages"),
    };
    let want = pool.was.trim().parse::<u64>().unwrap() + 4;
    let root = TempDir::new("prepare-real");
    let memory = format!("guestnuma=0#{}M#0", want * 2);
    let run = |extra: &[&str]| {
        program()
            .args(["prepare", "--guest", &memory, "hugepages=2048"])
            .args(extra)
            .output()
            .unwrap()
    };
    assert!(run(&["--write", root.to_str().unwrap()]).status.success());
    let script = root.join("etc/vdsm-hook-largeguest/reserve-hugepages");
    let out = Process::new("/bin/sh")
        .arg(&script)
        .env_remove("LARGEGUEST_SYSFS_ROOT")
        .env("NODE", "0")
        .env("SIZE_KB", "2048")
        .env("PAGES", want.to_string())
        .output()
        .unwrap();
    assert_eq!(
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
        ),
        (
            Some(0),
            format!("node 0, 2048 kB pages: {want} reserved ({want} asked)\n")
        ),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let checked = run(&["--check", "--root", root.to_str().unwrap()]);
    let report = String::from_utf8(checked.stdout).unwrap();
    assert!(
        report.contains(&format!(
            "ok      hugepages  node 0, 2M pages: expected at least {want}, found {want}\n"
        )),
        "{report}"
    );
    let _ = fs::remove_dir_all(&root);
}
