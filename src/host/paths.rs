//! Where the hook finds the host: the kernel's trees, libvirt's run folder,
//! numad, MoM's configuration. One value, made once by `commands` and
//! handed down, so nothing below reads the environment.
//!
//! Tests move these into fake trees with the `LARGEGUEST_*` variables. VDSM
//! puts every custom property into a hook's environment, and the engine
//! lets an administrator declare a property of any name made of letters,
//! digits and `_`, so a VM could carry one of these names. `commands`
//! therefore honours them only where the program's own folder allows it
//! (see `commands::environment`); an installed hook never reads them.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Replaces `/sys`, so tests can run the hook against fake trees.
pub const SYSFS_ROOT_VARIABLE: &str = "LARGEGUEST_SYSFS_ROOT";
/// Replaces `/proc`, for the same reason.
pub const PROCFS_ROOT_VARIABLE: &str = "LARGEGUEST_PROCFS_ROOT";
/// Replaces `/run`, where libvirt keeps its running guests' status files.
pub const RUN_ROOT_VARIABLE: &str = "LARGEGUEST_RUN_ROOT";
/// Replaces `/etc`, where libvirt keeps its persistent domains' definitions.
pub const ETC_ROOT_VARIABLE: &str = "LARGEGUEST_ETC_ROOT";
/// Replaces `/usr/bin/numad`, where libvirt runs numad from (a path fixed
/// when libvirt is built); the hook only looks whether it is there.
pub const NUMAD_VARIABLE: &str = "LARGEGUEST_NUMAD";
/// Replaces MoM's configuration; its `policy-dir` and `rpc-port` then point
/// into the test's own tree.
pub const MOM_CONF_VARIABLE: &str = "LARGEGUEST_MOM_CONF";

/// Every variable that moves a path, for the README's table and the tests.
pub const VARIABLES: [&str; 6] = [
    SYSFS_ROOT_VARIABLE,
    PROCFS_ROOT_VARIABLE,
    RUN_ROOT_VARIABLE,
    ETC_ROOT_VARIABLE,
    NUMAD_VARIABLE,
    MOM_CONF_VARIABLE,
];

/// MoM's configuration as VDSM installs it (`mom-vdsm.service` runs
/// `momd -c /etc/vdsm/mom.conf`).
pub const REAL_MOM_CONF: &str = "/etc/vdsm/mom.conf";

/// The kernel's two trees, the part of `HostPaths` the plan reads when a VM
/// needs it (huge pages, PCI devices, isolated CPUs): a host's limits carry
/// it down, so the plan never sees libvirt's, numad's or MoM's paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelTrees {
    pub sysfs: PathBuf,
    pub procfs: PathBuf,
}

/// Every place the program finds the host, resolved once from the
/// environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPaths {
    pub sysfs: PathBuf,
    pub procfs: PathBuf,
    pub run: PathBuf,
    pub numad: PathBuf,
    pub mom_conf: PathBuf,
    /// Where the running guests' QEMU processes are read, if anywhere: a
    /// fake sysfs describes another host, whose guests the real `/proc`
    /// does not show, so with sysfs moved they are read only from a procfs
    /// moved beside it.
    pub guests_procfs: Option<PathBuf>,
    /// Where libvirt's persistent definitions are read, if anywhere: with
    /// the run folder moved, the running domains are a test's, whose
    /// definitions the real `/etc` does not hold, so only an `/etc` moved
    /// beside it is read.
    pub etc: Option<PathBuf>,
}

impl HostPaths {
    /// The running host's own files.
    pub fn real() -> HostPaths {
        HostPaths {
            sysfs: "/sys".into(),
            procfs: "/proc".into(),
            run: "/run".into(),
            numad: "/usr/bin/numad".into(),
            mom_conf: REAL_MOM_CONF.into(),
            guests_procfs: Some("/proc".into()),
            etc: Some("/etc".into()),
        }
    }

    /// The real paths, each moved where `lookup` gives its variable a
    /// value that is not empty.
    pub fn overridden(lookup: impl Fn(&str) -> Option<OsString>) -> HostPaths {
        let set = |variable: &str| lookup(variable).filter(|value| !value.is_empty());
        let real = HostPaths::real();
        let moved = |variable: &str, real: PathBuf| set(variable).map_or(real, PathBuf::from);
        let procfs = moved(PROCFS_ROOT_VARIABLE, real.procfs);
        let guests_procfs =
            match set(SYSFS_ROOT_VARIABLE).is_some() && set(PROCFS_ROOT_VARIABLE).is_none() {
                true => None,
                false => Some(procfs.clone()),
            };
        let etc = match set(RUN_ROOT_VARIABLE).is_some() && set(ETC_ROOT_VARIABLE).is_none() {
            true => None,
            false => Some(moved(ETC_ROOT_VARIABLE, "/etc".into())),
        };
        HostPaths {
            sysfs: moved(SYSFS_ROOT_VARIABLE, real.sysfs),
            procfs,
            run: moved(RUN_ROOT_VARIABLE, real.run),
            numad: moved(NUMAD_VARIABLE, real.numad),
            mom_conf: moved(MOM_CONF_VARIABLE, real.mom_conf),
            guests_procfs,
            etc,
        }
    }

    pub fn kernel_trees(&self) -> KernelTrees {
        KernelTrees {
            sysfs: self.sysfs.clone(),
            procfs: self.procfs.clone(),
        }
    }

    /// Whether these are the running host's own kernel trees.
    pub fn is_real_sysfs(&self) -> bool {
        self.sysfs == Path::new("/sys")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<OsString> {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.into())
        }
    }

    #[test]
    fn each_variable_moves_its_own_path() {
        let paths = HostPaths::overridden(lookup(&[
            (SYSFS_ROOT_VARIABLE, "/t/sys"),
            (RUN_ROOT_VARIABLE, ""),
            (MOM_CONF_VARIABLE, "/t/mom.conf"),
        ]));
        assert_eq!(paths.sysfs, Path::new("/t/sys"));
        assert_eq!(paths.run, Path::new("/run"), "an empty value moves nothing");
        assert_eq!(paths.etc.as_deref(), Some(Path::new("/etc")));
        assert_eq!(paths.mom_conf, Path::new("/t/mom.conf"));
        assert_eq!(paths.procfs, Path::new("/proc"));
        assert_eq!(
            paths.guests_procfs, None,
            "a fake sysfs with the real /proc"
        );
        let both = HostPaths::overridden(lookup(&[
            (SYSFS_ROOT_VARIABLE, "/t/sys"),
            (PROCFS_ROOT_VARIABLE, "/t/proc"),
        ]));
        assert_eq!(both.guests_procfs.as_deref(), Some(Path::new("/t/proc")));
        assert_eq!(HostPaths::overridden(|_| None), HostPaths::real());
    }
}
