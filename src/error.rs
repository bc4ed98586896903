//! The error every command can end with. Each variant prints as one line an
//! administrator can act on; `cli` prefixes it with the program name.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    /// The command line itself is wrong.
    #[error("{0}")]
    Usage(String),
    /// A custom property value the grammar refuses.
    #[error(transparent)]
    Property(#[from] crate::property::PropertyError),
    /// The domain XML, or what the properties ask of it, cannot be honoured.
    #[error(transparent)]
    Domain(#[from] crate::domain::DomainError),
    /// The VDSM protocol: the environment or the domain XML file.
    #[error(transparent)]
    Hook(#[from] crate::hook::HookError),
    /// The host's sysfs could not be read as expected.
    #[error(transparent)]
    Topology(#[from] crate::topology::TopologyError),
    /// `suggest` found no placement, or was asked for an impossible one.
    #[error(transparent)]
    Plan(#[from] crate::planner::PlanError),
    /// The KSM switch failed or was refused; `run` is back as it was.
    #[error(transparent)]
    Ksm(#[from] crate::ksm::KsmError),
    /// `verify` could not read the running domain.
    #[error(transparent)]
    Verify(#[from] crate::verify::VerifyError),
    /// Writing the output failed (a full disk; a closed pipe is not an error).
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
    /// A bug: a panic caught at the top. The VM must not start on a half-done job.
    #[error("internal error: {0}; the domain XML was left unchanged, please report this")]
    Internal(String),
}
