//! Every exit status the executable can return, in one place.
//!
//! VDSM reads 0 as success, 1 as "failed, run the next hook anyway" and 2 as
//! "failed, stop here". A refusal must stop the VM start, so it is always 2.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// The job was done, or there was nothing to do.
    Success,
    /// The hook refused: bad value, bad document, host mismatch, internal error.
    /// For `verify`: the running domain could not be read.
    Refused,
    /// `verify` read the running guest, or `prepare --check` the host, and
    /// something differs from what was asked. Never a hook's status: to VDSM
    /// 1 would mean "failed, go on".
    Differs,
}

impl ExitCode {
    pub fn code(self) -> i32 {
        match self {
            ExitCode::Success => 0,
            ExitCode::Refused => 2,
            ExitCode::Differs => 1,
        }
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code.code() as u8)
    }
}
