//! The error every command can end with. Each variant prints as one line an
//! administrator can act on; `cli` prefixes it with the program name.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    /// The command line does not parse (an unknown option, a missing
    /// value); the dispatch adds where to read the usage.
    #[error("{0}")]
    Arguments(String),
    /// The command line parses, but a value in it is wrong.
    #[error("{0}")]
    Usage(String),
    /// A custom property value the grammar refuses.
    #[error(transparent)]
    Property(#[from] crate::properties::problem::PropertyError),
    /// The domain XML, or what the properties ask of it, cannot be honoured.
    #[error(transparent)]
    Rewrite(#[from] crate::commands::rewrite::RewriteError),
    /// The migration destination cannot honour the VM's pins.
    #[error(transparent)]
    Migration(#[from] crate::plan::migration::MigrationError),
    /// The VDSM protocol: `_hook_domxml` is missing.
    #[error("{} is not set: this job runs as a VDSM hook; to try it by hand use '{} apply --domxml FILE'", crate::commands::rewrite::DOMXML_VARIABLE, crate::wording::PROGRAM)]
    NoDomxml,
    /// The host's sysfs could not be read as expected.
    #[error(transparent)]
    Topology(#[from] crate::host::topology::TopologyError),
    /// `suggest` found no placement, or was asked for an impossible one.
    #[error(transparent)]
    Suggest(#[from] crate::suggest::SuggestError),
    /// The KSM switch failed or was refused; `run` is back as it was.
    #[error(transparent)]
    Ksm(#[from] crate::host::ksm::KsmError),
    /// `prepare` was given values it cannot use, or a host that cannot hold them.
    #[error(transparent)]
    Prepare(#[from] crate::prepare::PrepareError),
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
