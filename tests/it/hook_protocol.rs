//! The executable as VDSM runs it: a hook entry named `50_largeguest` (a
//! symlink to the binary), a cleared environment, `_hook_domxml` and the
//! properties. Every refusal must exit 2 with one line and leave the file
//! exactly as it was.

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::PathBuf;

use crate::support::scene::Scene;
use crate::support::{backdate, copy_executable, is_root, program};
use assert_cmd::Command;
use vdsm_hook_largeguest::wording::is_clean_message;

const DOMAIN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<domain type="kvm" xmlns:ovirt-vm="http://ovirt.org/vm/1.0">
  <name>db01</name>
  <uuid>6f1c2b8e-4d3a-4c1e-9a57-2b0e4c7d9f10</uuid>
  <!-- engine-generated -->
  <memory unit="KiB">4194304</memory>
  <vcpu current="2">4</vcpu>
  <cputune></cputune>
  <cpu match="exact">
    <model>Nehalem</model>
    <numa>
      <cell id="0" cpus="0-3" memory="4194304" unit="KiB"/>
    </numa>
  </cpu>
  <devices/>
  <metadata><ovirt-vm:vm><ovirt-vm:custom/></ovirt-vm:vm></metadata>
</domain>
"#;

const NO_POLICY: &str = "vdsm-hook-largeguest: CPU pinning policy: not given (engine 4.4 \
    or older; VDSM takes manual when the VM has pins, else none)";

/// Runs a refused case and checks the whole contract of a refusal.
fn refused(scene: &Scene, properties: &[(&str, &str)], message: &str) {
    let before = fs::read(scene.domxml()).ok();
    let out = scene.run(properties).assert().code(2).get_output().clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("vdsm-hook-largeguest: "), "{stderr}");
    assert!(is_clean_message(stderr.trim_end()), "{stderr}");
    assert!(stderr.contains(message), "expected {message:?} in {stderr}");
    assert_eq!(
        fs::read(scene.domxml()).ok(),
        before,
        "the file must be untouched"
    );
    assert!(
        scene.files_in_vm() == ["domxml"],
        "no temporary file may remain"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn no_property_leaves_the_file_alone_without_opening_it() {
    let scene = Scene::new(DOMAIN.as_bytes());
    backdate(&scene.domxml());
    let before = fs::metadata(scene.domxml()).unwrap().modified().unwrap();
    scene.run(&[("unrelated", "x")]).assert().code(0).stderr("");
    assert_eq!(fs::read_to_string(scene.domxml()).unwrap(), DOMAIN);
    assert_eq!(
        fs::metadata(scene.domxml()).unwrap().modified().unwrap(),
        before
    );
    // Not opened at all: even a missing file is fine when nothing is asked.
    fs::remove_file(scene.domxml()).unwrap();
    scene.run(&[]).assert().code(0).stderr("");
}

/// Run as root (an administrator's `apply`, a hook run by hand), the new
/// file would be root's: the original's owner and group are given back, so
/// VDSM, which reads the file as `vdsm`, still can.
#[test]
#[ignore = "needs root"]
fn success_keeps_the_owner_of_the_file() {
    crate::support::needs_root();
    let scene = Scene::new(DOMAIN.as_bytes());
    let nobody = 65534;
    std::os::unix::fs::chown(scene.domxml(), Some(nobody), Some(nobody)).unwrap();
    fs::set_permissions(scene.domxml(), fs::Permissions::from_mode(0o600)).unwrap();
    scene.run(&[("cputune", "0#0")]).assert().code(0);
    let after = fs::read_to_string(scene.domxml()).unwrap();
    assert!(
        after.contains(r#"<vcpupin vcpu="0" cpuset="0"/>"#),
        "{after}"
    );
    let meta = fs::metadata(scene.domxml()).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (nobody, nobody));
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert!(scene.files_in_vm() == ["domxml"]);
}

#[test]
fn success_rewrites_in_place_with_one_summary_line() {
    let scene = Scene::new(DOMAIN.as_bytes());
    fs::set_permissions(scene.domxml(), fs::Permissions::from_mode(0o640)).unwrap();
    let properties = [
        ("cputune", "0#0,1#1,2-3#2-3"),
        ("numatune", "interleave#0-1"),
        ("guestnuma", "0-1#2G#0,2-3#2G#1"),
    ];
    // The engine's metadata here has no cpuPolicy, as engine 4.4 sends it.
    scene.run(&properties).assert().code(0).stdout("").stderr(format!(
        "{NO_POLICY}\n\
         vdsm-hook-largeguest: pinned 4 vCPUs, memory interleave on nodes 0-1, 2 guest NUMA cells\n",
    ));
    let after = fs::read_to_string(scene.domxml()).unwrap();
    let expected = DOMAIN
        .replace(
            "  <cputune></cputune>\n",
            "  <cputune>\n    <vcpupin vcpu=\"0\" cpuset=\"0\"/>\n    <vcpupin vcpu=\"1\" cpuset=\"1\"/>\n    \
             <vcpupin vcpu=\"2\" cpuset=\"2-3\"/>\n    <vcpupin vcpu=\"3\" cpuset=\"2-3\"/>\n  </cputune>\n  \
             <numatune>\n    <memory mode=\"interleave\" nodeset=\"0-1\"/>\n    \
             <memnode cellid=\"0\" mode=\"interleave\" nodeset=\"0\"/>\n    \
             <memnode cellid=\"1\" mode=\"interleave\" nodeset=\"1\"/>\n  </numatune>\n",
        )
        .replace(
            "      <cell id=\"0\" cpus=\"0-3\" memory=\"4194304\" unit=\"KiB\"/>\n",
            "      <cell id=\"0\" cpus=\"0-1\" memory=\"2097152\" unit=\"KiB\"/>\n      \
             <cell id=\"1\" cpus=\"2-3\" memory=\"2097152\" unit=\"KiB\"/>\n",
        );
    assert_eq!(after, expected);
    let mode = fs::metadata(scene.domxml()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "the original's permissions are kept");
    assert!(scene.files_in_vm() == ["domxml"]);
    // A second run changes nothing.
    scene.run(&properties).assert().code(0);
    assert_eq!(fs::read_to_string(scene.domxml()).unwrap(), expected);
}

#[test]
fn a_bad_property_value_is_refused_with_its_column() {
    let scene = Scene::new(DOMAIN.as_bytes());
    refused(
        &scene,
        &[("cputune", "0#1-")],
        "cputune: expected a CPU number after '-' at column 5 in '0#1-'",
    );
    refused(
        &scene,
        &[("numatune", "fast#0")],
        "numatune: expected a mode",
    );
    refused(
        &scene,
        &[("guestnuma", "0-1#2G,2-3#2X")],
        "guestnuma: expected a unit",
    );
    // A good value does not save a bad one beside it.
    refused(
        &scene,
        &[("cputune", "0#0"), ("guestnuma", "0#<x/>")],
        "guestnuma: expected",
    );
}

#[test]
fn values_that_do_not_fit_the_vm_are_refused() {
    let scene = Scene::new(DOMAIN.as_bytes());
    refused(
        &scene,
        &[("cputune", "4#0")],
        "cputune: vCPU 4 is pinned but <vcpu> gives the VM 4 vCPUs (0-3)",
    );
    refused(
        &scene,
        &[("guestnuma", "0-1#2G")],
        "guestnuma: no cell holds vCPUs 2-3",
    );
    refused(
        &scene,
        &[("guestnuma", "0-1#2G,2-3#1G")],
        "the cells add up to 3145728 KiB but the guest has 4194304 KiB",
    );
    refused(
        &scene,
        &[("guestnuma", "3")],
        "guestnuma: 4 vCPUs cannot be split into 3 equal cells",
    );
}

#[test]
fn values_the_host_cannot_honour_are_refused() {
    let scene = Scene::new(DOMAIN.as_bytes());
    refused(
        &scene,
        &[("cputune", "0#6-7")],
        "cputune: this host does not have CPUs 6-7 online (online: 0-3)",
    );
    refused(
        &scene,
        &[("numatune", "strict#2")],
        "numatune: this host has no memory on node 2",
    );
    refused(
        &scene,
        &[("guestnuma", "0-1#2G#0,2-3#2G#3")],
        "guestnuma: this host has no memory on node 3",
    );
}

#[test]
fn unreadable_sysfs_skips_host_checks_with_a_warning() {
    let scene = Scene::new(DOMAIN.as_bytes());
    fs::remove_dir_all(scene.dir.join("sys")).unwrap();
    let out = scene
        .run(&[("cputune", "0#100")])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("warning: host checks skipped"), "{stderr}");
    assert!(stderr.ends_with("pinned 1 vCPU\n"), "{stderr}");
    assert!(fs::read_to_string(scene.domxml())
        .unwrap()
        .contains(r#"<vcpupin vcpu="0" cpuset="100"/>"#));
}

#[test]
fn broken_or_missing_documents_are_refused() {
    let pin = [("cputune", "0#0")];
    let scene = Scene::new(b"<domain><vcpu>2</vcpu>\n<cputune>\n</domain>");
    refused(&scene, &pin, "the domain XML is not well-formed at line 3, column 1: expected 'cputune' tag, not 'domain'");
    let scene = Scene::new(b"<domain>\xff</domain>");
    refused(&scene, &pin, "is not UTF-8 text (bad byte at offset 8)");
    let scene = Scene::new(b"");
    refused(&scene, &pin, "not well-formed");
    let scene =
        Scene::new(b"<!DOCTYPE d [<!ENTITY x SYSTEM \"file:///etc/shadow\">]><domain>&x;</domain>");
    refused(&scene, &pin, "it has a DOCTYPE");
    let scene = Scene::new(b"<network/>");
    refused(&scene, &pin, "root element is <network>, expected <domain>");
    let scene = Scene::new(DOMAIN.as_bytes());
    fs::remove_file(scene.domxml()).unwrap();
    fs::create_dir(scene.domxml()).unwrap();
    scene
        .run(&pin)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("cannot read the domain XML"));
}

#[test]
fn a_missing_hook_domxml_is_explained() {
    let scene = Scene::new(DOMAIN.as_bytes());
    scene
        .run(&[("cputune", "0#0")])
        .env_remove("_hook_domxml")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("_hook_domxml is not set"));
}

#[test]
fn a_planted_temporary_name_is_never_followed() {
    let scene = Scene::new(DOMAIN.as_bytes());
    // Symlinks at the names a counter would give: the hook's are random.
    let victim = scene.dir.join("victim");
    fs::write(&victim, "keep me").unwrap();
    let planted: Vec<PathBuf> = (0..3)
        .map(|n| scene.dir.join("vm").join(format!(".domxml.largeguest-{n}")))
        .collect();
    for path in &planted {
        symlink(&victim, path).unwrap();
    }
    scene.run(&[("cputune", "0#0")]).assert().code(0);
    assert_eq!(fs::read_to_string(&victim).unwrap(), "keep me");
    assert!(fs::read_to_string(scene.domxml())
        .unwrap()
        .contains("vcpupin"));
    for path in &planted {
        assert!(
            fs::symlink_metadata(path).unwrap().file_type().is_symlink(),
            "left as found"
        );
    }
}

/// The hook as [`Scene::run`] starts it, as a std command to spawn or
/// change before exec.
fn spawnable(scene: &Scene, properties: &[(&str, &str)]) -> std::process::Command {
    let _link = scene.run(&[]);
    let mut cmd = std::process::Command::new(scene.dir.join("50_largeguest"));
    cmd.env_clear()
        .env("_hook_domxml", scene.domxml())
        .env("LARGEGUEST_SYSFS_ROOT", scene.dir.join("sys"))
        .envs(properties.iter().copied());
    cmd
}

/// The document grows past the file size limit half-way through the
/// write (EFBIG, as on a full disk): refused, the file as it was, and the
/// half-written temporary file removed.
#[test]
fn a_write_failing_half_way_keeps_the_file_and_no_temporary_one() {
    use std::os::unix::process::CommandExt;
    let scene = Scene::new(DOMAIN.as_bytes());
    let before = fs::read(scene.domxml()).unwrap();
    let mut cmd = spawnable(&scene, &[("cputune", "0#0")]);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 100,
                rlim_max: 100,
            };
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            match libc::setrlimit(libc::RLIMIT_FSIZE, &raw const limit) {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        });
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("vdsm-hook-largeguest: cannot write the domain XML")
            && stderr.contains("it was left unchanged"),
        "{stderr}"
    );
    assert_eq!(fs::read(scene.domxml()).unwrap(), before);
    assert_eq!(scene.files_in_vm(), ["domxml"]);
}

/// Killed at any instant, the hook leaves the old document or the new one
/// whole, never a mix. Only its temporary file may remain, as after any
/// SIGKILL; VDSM never reads it. The instants are spread over one run's
/// length, but what is checked is only what each kill left; and until one
/// kill has landed before the end of a run, kills come ever earlier (a busy
/// machine may stretch or shrink a run), so the test always sees both.
#[test]
fn a_hook_killed_half_way_leaves_the_old_document_or_the_new() {
    let devices: String = (0..4000)
        .map(|n| format!("    <interface type=\"bridge\"><alias name=\"net{n}\"/></interface>\n"))
        .collect();
    let old = DOMAIN.replace(
        "  <devices/>\n",
        &format!("  <devices>\n{devices}  </devices>\n"),
    );
    let scene = Scene::new(old.as_bytes());
    let properties = [("cputune", "0#0_1#1_2#2_3#3")];
    let started = std::time::Instant::now();
    scene.run(&properties).assert().code(0);
    let whole_run = started.elapsed();
    let new = fs::read_to_string(scene.domxml()).unwrap();
    assert!(new.contains("<vcpupin") && new.len() > old.len());
    // One run killed `delay` after it started: whether the kill landed
    // before the end, once what it left is checked.
    let killed_run = |delay: std::time::Duration| -> bool {
        fs::write(scene.domxml(), &old).unwrap();
        let mut child = spawnable(&scene, &properties)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let killed = match child.wait().unwrap().code() {
            Some(0) => false,
            None => true,
            Some(code) => panic!("exit {code}"),
        };
        let left = fs::read_to_string(scene.domxml()).unwrap();
        assert!(
            left == old || left == new,
            "a mix after a kill {delay:?} into a run"
        );
        for name in scene.files_in_vm() {
            if name != "domxml" {
                fs::remove_file(scene.dir.join("vm").join(name)).unwrap();
            }
        }
        killed
    };
    let (mut killed, mut finished) = (0, 0);
    for step in 0..24u32 {
        match killed_run(whole_run * step / 20) {
            true => killed += 1,
            false => finished += 1,
        }
    }
    // A busy machine may have made the first run slow and these fast: then
    // kill at once after the start until one kill lands before the end.
    while killed == 0 && finished < 200 {
        match killed_run(std::time::Duration::ZERO) {
            true => killed += 1,
            false => finished += 1,
        }
    }
    assert!(
        killed > 0,
        "no run was killed before it ended ({finished} finished)"
    );
}

/// root writes into any folder, so as root the hook runs as `nobody`, the
/// way VDSM runs it as its own unprivileged user.
#[test]
fn a_read_only_folder_refuses_and_keeps_the_file() {
    // Under the system's temporary folder, with its own copy of the
    // executable, so `nobody` can reach both wherever the checkout lives.
    let scene = Scene::new(DOMAIN.as_bytes());
    let own_copy = scene.dir.join("own/50_largeguest");
    fs::create_dir_all(own_copy.parent().unwrap()).unwrap();
    copy_executable(&own_copy);
    let folder = scene.dir.join("vm");
    fs::set_permissions(&folder, fs::Permissions::from_mode(0o555)).unwrap();
    let mut cmd = scene.run(&[("cputune", "0#0")]);
    if is_root() {
        let mut inner = std::process::Command::new("setpriv");
        inner.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]);
        inner.arg(&own_copy);
        inner
            .env_clear()
            .env("_hook_domxml", scene.domxml())
            .env("cputune", "0#0");
        inner.env("LARGEGUEST_SYSFS_ROOT", scene.dir.join("sys"));
        cmd = Command::from_std(inner);
    }
    let before = fs::read(scene.domxml()).unwrap();
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("vdsm-hook-largeguest: cannot write the domain XML"),
        "{stderr}"
    );
    assert!(stderr.contains("it was left unchanged"), "{stderr}");
    assert_eq!(fs::read(scene.domxml()).unwrap(), before);
    fs::set_permissions(&folder, fs::Permissions::from_mode(0o755)).unwrap();
    fs::remove_dir_all(&scene.dir).unwrap();
}

/// The migration entry's refusal on the scene, the file checked to be as it was.
fn migration_refusal(scene: &Scene, properties: &[(&str, &str)]) -> String {
    let before = fs::read(scene.domxml()).unwrap();
    let out = scene
        .hook("50_largeguest_validate", properties)
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert_eq!(fs::read(scene.domxml()).unwrap(), before);
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn the_migration_destination_refuses_pins_it_cannot_honour() {
    let pinned = DOMAIN.replace(
        "<cputune></cputune>",
        "<cputune><vcpupin vcpu='0' cpuset='8'/></cputune>\n  <numatune><memory mode='strict' nodeset='0'/></numatune>",
    );
    let scene = Scene::new(pinned.as_bytes());
    assert_eq!(
        migration_refusal(&scene, &[("cputune", "0#8")]),
        "vdsm-hook-largeguest: migration refused: the VM's <vcpupin> pins to host CPU 8, \
         which this host does not have online (online: 0-3)\n"
    );
    scene.sysfs("0-15", Some("0"));
    scene
        .hook("50_largeguest_validate", &[("cputune", "0#8")])
        .assert()
        .code(0);
    // Without any of the properties the VM is not this hook's business.
    scene.sysfs("0-3", Some("0"));
    scene
        .hook("50_largeguest_validate", &[] as &[(&str, &str)])
        .assert()
        .code(0)
        .stderr("");
}

/// libvirt gathers the pins of every `<cputune>` into one list
/// (`./cputune/vcpupin`, `emulatorpin`, `iothreadpin`), so a pin in a
/// second one binds the VM as firmly as one in the first: the migration
/// check reads them all.
#[test]
fn the_migration_destination_reads_pins_of_a_second_cputune() {
    for (pin, element) in [
        ("<vcpupin vcpu='1' cpuset='9'/>", "vcpupin"),
        ("<emulatorpin cpuset='9'/>", "emulatorpin"),
        ("<iothreadpin iothread='1' cpuset='9'/>", "iothreadpin"),
    ] {
        let xml = DOMAIN.replace(
            "<cputune></cputune>",
            &format!(
                "<iothreads>1</iothreads>\n  <cputune><vcpupin vcpu='0' cpuset='1'/></cputune>\n  \
                 <cputune>{pin}</cputune>"
            ),
        );
        let scene = Scene::new(xml.as_bytes());
        assert_eq!(
            migration_refusal(&scene, &[("cputune", "0#1")]),
            format!(
                "vdsm-hook-largeguest: migration refused: the VM's <{element}> pins to host \
                 CPU 9, which this host does not have online (online: 0-3)\n"
            ),
            "{pin}"
        );
        // A destination with CPU 9 takes it.
        scene.sysfs("0-15", Some("0"));
        scene
            .hook("50_largeguest_validate", &[("cputune", "0#1")])
            .assert()
            .code(0);
    }
}

#[test]
fn the_hook_subcommand_runs_the_same_job() {
    let scene = Scene::new(DOMAIN.as_bytes());
    program()
        .args(["hook", "before_vm_start"])
        .env_clear()
        .env("_hook_domxml", scene.domxml())
        .env("LARGEGUEST_SYSFS_ROOT", scene.dir.join("sys"))
        .env("numatune", "0")
        .assert()
        .code(0)
        .stderr(format!(
            "{NO_POLICY}\nvdsm-hook-largeguest: memory strict on node 0\n"
        ));
    assert!(fs::read_to_string(scene.domxml())
        .unwrap()
        .contains(r#"<memory mode="strict" nodeset="0"/>"#));
}

/// Every refusal the domain edit can make, through the executable, each
/// leaving the file exactly as it was.
#[test]
fn every_domain_refusal_leaves_the_file_as_it_was() {
    let with = |from: &str, to: &str| DOMAIN.replace(from, to);
    type Case = (String, Vec<(&'static str, &'static str)>, &'static str);
    let cases: Vec<Case> = vec![
        (
            with("<vcpu current=\"2\">4</vcpu>", "<vcpu>four</vcpu>"),
            vec![("cputune", "0#0")],
            "the domain XML's <vcpu> holds 'four', expected a number of vCPUs, 1 or more",
        ),
        (
            with("<vcpu current=\"2\">4</vcpu>", "<vcpu>0</vcpu>"),
            vec![("guestnuma", "1")],
            "the domain XML's <vcpu> holds '0', expected a number of vCPUs, 1 or more",
        ),
        (
            with("<vcpu current=\"2\">4</vcpu>", "<vcpu>1</vcpu>"),
            vec![("cputune", "1#0")],
            "cputune: vCPU 1 is pinned but <vcpu> gives the VM 1 vCPU (0), and libvirt would silently drop that pin; pin only vCPU 0",
        ),
        (
            with("<memory unit=\"KiB\">", "<memory unit=\"parsecs\">"),
            vec![("guestnuma", "2")],
            "the domain XML's <memory> holds '4194304', expected a whole number, with a unit attribute",
        ),
        (
            DOMAIN.to_string(),
            vec![("guestnuma", "0-1#2000000,2-3#2194304")],
            "guestnuma: cell 0 has 2000000 KiB, which QEMU rounds up to a whole MiB",
        ),
        (
            DOMAIN.to_string(),
            vec![("guestnuma", "0-4#4G")],
            "guestnuma: the cells name vCPU 4 but <vcpu> gives the VM 4 vCPUs (0-3)",
        ),
        (
            with("<cputune></cputune>", "<numatune><memnode cellid='3' mode='strict' nodeset='0'/></numatune>"),
            vec![("numatune", "strict#0")],
            "numatune: <memnode cellid='3'> names a guest cell the VM does not have (it has 1 cell)",
        ),
        (
            with("<cputune></cputune>", "<numatune><memnode cellid='0' mode='strict' nodeset='0'/></numatune>"),
            vec![("numatune", "restrictive#0")],
            "numatune: 'restrictive' cannot be mixed with other modes (restrictive, strict)",
        ),
        (
            DOMAIN.to_string(),
            vec![("numatune", "strict#auto"), ("guestnuma", "0-1#2G#0,2-3#2G#1")],
            "per-cell host nodes (guestnuma HOSTNODES or <memnode>) cannot be used with placement 'auto'",
        ),
        (
            with(
                "<devices/>",
                "<devices><memory model='dimm'><target><size unit='MiB'>1024</size><node>1</node></target></memory></devices>",
            ),
            vec![("guestnuma", "0-3#4G")],
            "guestnuma: the memory device <target><node>1</node> names a guest cell the VM would not have (it would get 1 cell)",
        ),
    ];
    for (xml, properties, message) in cases {
        let scene = Scene::new(xml.as_bytes());
        refused(&scene, &properties, message);
    }
}
