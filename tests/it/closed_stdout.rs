//! A reader that stops early (`vdsm-hook-largeguest check ... | head`) is not
//! a failure; before output.rs it ended in an "internal error" and exit 2.

use crate::support::std_program;

fn with_stdout_closed(args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    std_program().args(args).stdout(writer).output().unwrap()
}

#[test]
fn commands_end_quietly_when_the_reader_is_gone() {
    for args in [
        &["check", "cputune=0#0"][..],
        &["engine-config", "--current", ""],
        &["--help"],
    ] {
        let out = with_stdout_closed(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("internal error"), "{args:?}: {stderr}");
    }
}

#[test]
fn refusals_still_reach_stderr_and_exit_2() {
    let out = with_stdout_closed(&["check", "cputune=0#x"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("vdsm-hook-largeguest: cputune: expected"),
        "{stderr}"
    );
}
