//! The unprivileged hook goes through `sudo -n` with one fixed command line,
//! and the sudoers drop-in allows exactly that. A fake `sudo` on PATH records
//! what it was asked and answers as the real one would.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

use crate::support::ksm::{as_nobody, give_to_nobody, FakeHost};
use crate::support::{manifest_dir, stderr_of, TempDir, BIN};

const INSTALLED: &str = "/usr/libexec/vdsm-hook-largeguest/vdsm-hook-largeguest";

struct Setup {
    host: FakeHost,
    bin_dir: TempDir,
    entry: PathBuf,
}

/// A fake tree with merge_across_nodes=1 and a hook entry symlink, all
/// owned by nobody; `sudo_script` (if any) becomes `sudo` on PATH.
fn setup(sudo_script: Option<&str>) -> Setup {
    let host = FakeHost::new(1, 1, 10, 30);
    let bin_dir = TempDir::new("sudo");
    if let Some(body) = sudo_script {
        let sudo = bin_dir.0.join("sudo");
        let log = bin_dir.0.join("argv");
        fs::write(
            &sudo,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$@\" > {}\n{body}\n",
                log.display()
            ),
        )
        .unwrap();
        fs::set_permissions(&sudo, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let entry = bin_dir.0.join("60_largeguest_ksm");
    crate::support::allow_test_variables();
    std::os::unix::fs::symlink(BIN, &entry).unwrap();
    give_to_nobody(&host.dir.0);
    give_to_nobody(&bin_dir.0);
    Setup {
        host,
        bin_dir,
        entry,
    }
}

/// The hook entry as `nobody` (as user vdsm would run it), property `value`.
fn run_hook(setup: &Setup, value: &str) -> std::process::Output {
    as_nobody(&setup.entry)
        .env("PATH", &setup.bin_dir.0)
        .envs(setup.host.overrides())
        .env("ksm_merge_across_nodes", value)
        .output()
        .unwrap()
}

fn sudo_argv(setup: &Setup) -> Option<String> {
    fs::read_to_string(setup.bin_dir.0.join("argv")).ok()
}

fn real_binary() -> String {
    fs::canonicalize(BIN).unwrap().display().to_string()
}

#[test]
fn sudo_gets_the_real_binary_and_one_fixed_command() {
    let summary = "vdsm-hook-largeguest: KSM merge_across_nodes switched 1 -> 0 in 0.01 s \
                   (10 shared pages unmerged, run back to 1)";
    let setup = setup(Some(&format!("echo '{summary}' >&2")));
    let out = run_hook(&setup, "false");
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(stderr_of(&out), format!("{summary}\n"));
    // The symlink is resolved: sudoers names the installed binary, not the entry.
    assert_eq!(
        sudo_argv(&setup).unwrap(),
        format!("-n\n{}\nksm-switch\n0\n", real_binary())
    );
}

#[test]
fn sudo_refusal_says_how_to_fix_it() {
    let setup = setup(Some("echo 'sudo: a password is required' >&2; exit 1"));
    let out = run_hook(&setup, "0");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr_of(&out),
        format!(
            "vdsm-hook-largeguest: sudo refused 'sudo -n {} ksm-switch 0' (sudo: a password is required); \
             install the drop-in /etc/sudoers.d/50_vdsm_hook_largeguest from the vdsm-hook-largeguest package \
             (mode 0440, it allows exactly this command line to user vdsm), or run the hook as root\n",
            real_binary()
        )
    );
    assert_eq!(setup.host.get("merge_across_nodes"), 1);
}

#[test]
fn privileged_failure_is_passed_on() {
    let setup = setup(Some(
        "echo 'vdsm-hook-largeguest: KSM still shared 9 pages after waiting 120 s' >&2; exit 2",
    ));
    let out = run_hook(&setup, "0");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr_of(&out),
        "vdsm-hook-largeguest: as root: KSM still shared 9 pages after waiting 120 s\n"
    );
}

#[test]
fn missing_sudo_says_how_to_fix_it() {
    let setup = setup(None);
    let out = run_hook(&setup, "1");
    // Already 1: no sudo needed, so its absence does not matter.
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let out = run_hook(&setup, "0");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr_of(&out),
        "vdsm-hook-largeguest: cannot run sudo (No such file or directory (os error 2)) to switch KSM as root; \
         install sudo and the sudoers drop-in /etc/sudoers.d/50_vdsm_hook_largeguest shipped with vdsm-hook-largeguest\n"
    );
}

#[test]
fn no_sudo_when_the_value_is_already_right() {
    let setup = setup(Some("exit 1"));
    let out = run_hook(&setup, "true");
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(sudo_argv(&setup), None, "sudo was called for nothing");
}

fn drop_in() -> String {
    let path = manifest_dir().join("packaging/sudoers/50_vdsm_hook_largeguest");
    fs::read_to_string(path).unwrap()
}

/// The rule names the installed binary with each allowed argument list in
/// full: sudo then refuses any other argument, so `ksm-switch 0 1` or
/// `ksm set` cannot be run as root.
#[test]
fn sudoers_rule_allows_exactly_the_two_command_lines() {
    let text = drop_in();
    let rules: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("\\\n", " ");
    let rules: Vec<String> = rules
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(
        rules,
        [
            format!(
                "Cmnd_Alias VDSM_HOOK_LARGEGUEST_KSM = {INSTALLED} ksm-switch 0, {INSTALLED} ksm-switch 1"
            ),
            "Defaults:vdsm !requiretty".to_string(),
            "vdsm ALL = (root) NOPASSWD: VDSM_HOOK_LARGEGUEST_KSM".to_string(),
        ]
    );
}

#[test]
#[ignore = "needs visudo (package sudo)"]
fn sudoers_rule_parses() {
    let out = Command::new("visudo")
        .arg("-cf")
        .arg(manifest_dir().join("packaging/sudoers/50_vdsm_hook_largeguest"))
        .output()
        .expect("visudo (package sudo) runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr_of(&out)
    );
}
