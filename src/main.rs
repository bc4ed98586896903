//! `no_main`: std's runtime start (a SIGSEGV handler on an alternate stack
//! and a read of /proc/self/maps to find the main thread's stack guard) is a
//! tenth of the cost of a run that has nothing to do, and VDSM runs the hook
//! on every VM start. What of it the program relies on is done here. The
//! unit-test build keeps the test harness's own `main`.
#![cfg_attr(not(test), no_main)]

#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    use std::io::Write;
    // As std does: a closed pipe is an EPIPE error to handle, not a signal.
    // SAFETY: setting a signal's disposition to SIG_IGN has no preconditions.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let code = vdsm_hook_largeguest::commands::cli::main(std::env::args_os().collect());
    // std flushes stdout at exit only when it started the program itself.
    let _ = std::io::stdout().flush();
    code.code()
}
