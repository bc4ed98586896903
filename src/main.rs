use std::process::ExitCode;

fn main() -> ExitCode {
    vdsm_hook_largeguest::cli::main(std::env::args_os().collect()).into()
}
