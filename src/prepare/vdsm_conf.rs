//! VDSM's own huge page switch, `[performance] use_dynamic_hugepages`, as
//! VDSM reads it: /etc/vdsm/vdsm.conf, then the files of vdsm.conf.d in
//! name order, the last value winning (Python's configparser).
//!
//! On a prepared host it must stay off, its default: when on, VDSM
//! allocates each guest's pages system-wide on top of the reserved ones
//! and frees them when the guest stops, and on the way it reads the
//! kernel's `hugepages=` as one integer (hugepages.py,
//! `_preallocated_hugepages`), which a per-node `0:16,1:8` is not.

use std::path::Path;

use crate::host::files::{read_text, FileError};

pub(crate) const VDSM_CONF: &str = "/etc/vdsm/vdsm.conf";
pub(crate) const VDSM_CONF_DIR: &str = "/etc/vdsm/vdsm.conf.d";
pub(crate) const SECTION: &str = "performance";
pub(crate) const DYNAMIC_HUGEPAGES: &str = "use_dynamic_hugepages";

/// The value VDSM would read and the file it came from; `None` when no
/// file sets it (VDSM's default, off).
pub(crate) fn dynamic_hugepages(root: &Path) -> Result<Option<(bool, String)>, FileError> {
    let mut files = vec![VDSM_CONF.to_string()];
    let dir = root.join(VDSM_CONF_DIR.trim_start_matches('/'));
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut names: Vec<String> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".conf"))
            .collect();
        names.sort();
        files.extend(
            names
                .into_iter()
                .map(|name| format!("{VDSM_CONF_DIR}/{name}")),
        );
    }
    let mut found = None;
    for file in files {
        let path = root.join(file.trim_start_matches('/'));
        if !path.is_file() {
            continue;
        }
        if let Some(value) = setting(&read_text(&path)?) {
            found = Some((value, file));
        }
    }
    Ok(found)
}

/// The last `use_dynamic_hugepages` of the `[performance]` sections of an
/// INI text, as configparser's getboolean reads it.
fn setting(text: &str) -> Option<bool> {
    let mut section = "";
    let mut value = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with(['#', ';']) || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim();
            continue;
        }
        let Some((key, raw)) = line.split_once(['=', ':']) else {
            continue;
        };
        if section == SECTION && key.trim().eq_ignore_ascii_case(DYNAMIC_HUGEPAGES) {
            value = match raw.trim().to_ascii_lowercase().as_str() {
                "1" | "yes" | "true" | "on" => Some(true),
                "0" | "no" | "false" | "off" => Some(false),
                _ => value,
            };
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_performance_sections_last_value_counts() {
        let text = "[vars]\nuse_dynamic_hugepages = true\n[performance]\n# use_dynamic_hugepages = true\nuse_dynamic_hugepages = yes\nuse_dynamic_hugepages: Off\n";
        assert_eq!(setting(text), Some(false));
        assert_eq!(
            setting("[performance]\nUSE_DYNAMIC_HUGEPAGES=on\n"),
            Some(true)
        );
        assert_eq!(
            setting("[performance]\nreserved_hugepage_count = 4\n"),
            None
        );
    }

    #[test]
    fn a_drop_in_overrides_vdsm_conf_in_name_order() {
        let root = std::env::temp_dir().join(format!("largeguest-vdsmconf-{}", std::process::id()));
        let dir = root.join("etc/vdsm/vdsm.conf.d");
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(dynamic_hugepages(&root).unwrap(), None);
        std::fs::write(
            root.join("etc/vdsm/vdsm.conf"),
            "[performance]\nuse_dynamic_hugepages = true\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("50-off.conf"),
            "[performance]\nuse_dynamic_hugepages = false\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("10-on.conf"),
            "[performance]\nuse_dynamic_hugepages = true\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("99-notes.txt"),
            "[performance]\nuse_dynamic_hugepages = true\n",
        )
        .unwrap();
        assert_eq!(
            dynamic_hugepages(&root).unwrap(),
            Some((false, "/etc/vdsm/vdsm.conf.d/50-off.conf".to_string()))
        );
        let _ = std::fs::remove_dir_all(&root);
    }
}
