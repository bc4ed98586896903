//! How long a switch may take: `unmerge_timeout` in a root-owned file.

use std::fs;
use std::io;
use std::path::Path;
use std::time::Duration;

use crate::host::files::FileError;
use crate::wording::quoted;

use super::KsmError;

/// How long the lock and the unmerging may take, unless configured.
pub(super) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
/// Root-owned, because the privileged side cannot trust its environment and
/// its sudo command line is fixed: this file is the only honest setting.
pub(super) const CONFIG_FILE: &str = "/etc/vdsm-hook-largeguest/ksm.conf";
pub(super) const TIMEOUT_KEY: &str = "unmerge_timeout";

/// The timeout from [`CONFIG_FILE`]; no file means the default.
pub(crate) fn configured_timeout() -> Result<Duration, KsmError> {
    let path = Path::new(CONFIG_FILE);
    match fs::read_to_string(path) {
        Ok(text) => parse_config(path, &text),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(DEFAULT_TIMEOUT),
        Err(source) => Err(FileError::Read {
            path: path.to_path_buf(),
            source,
        }
        .into()),
    }
}

/// `unmerge_timeout = SECONDS`, `#` comments, blank lines; nothing else.
fn parse_config(path: &Path, text: &str) -> Result<Duration, KsmError> {
    let mut timeout = DEFAULT_TIMEOUT;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let problem = |problem: String| KsmError::Config {
            path: path.to_path_buf(),
            line: index + 1,
            problem,
        };
        let Some((key, value)) = line.split_once('=') else {
            return Err(problem(format!("{} is not KEY = VALUE", quoted(line))));
        };
        if key.trim() != TIMEOUT_KEY {
            return Err(problem(format!(
                "unknown setting {}; the only one is {TIMEOUT_KEY}",
                quoted(key.trim())
            )));
        }
        timeout = parse_timeout(value.trim()).map_err(problem)?;
    }
    Ok(timeout)
}

/// Whole seconds, at least one.
pub(crate) fn parse_timeout(text: &str) -> Result<Duration, String> {
    match text.parse::<u64>() {
        Ok(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
        _ => Err(format!(
            "timeout {} is not a whole number of seconds above 0",
            quoted(text)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_packaged_config_file_parses_to_the_default() {
        let text = include_str!("../../../packaging/ksm.conf");
        let parsed = parse_config(Path::new(CONFIG_FILE), text).unwrap();
        assert_eq!(parsed, DEFAULT_TIMEOUT);
        let uncommented = text.replace("# unmerge_timeout = 120", "unmerge_timeout = 30");
        let parsed = parse_config(Path::new(CONFIG_FILE), &uncommented).unwrap();
        assert_eq!(parsed, Duration::from_secs(30));
    }

    #[test]
    fn config_sets_the_timeout_and_rejects_the_rest() {
        let path = Path::new("ksm.conf");
        let ok = parse_config(path, "# wait longer\n\nunmerge_timeout = 300 # s\n");
        assert_eq!(ok.unwrap(), Duration::from_secs(300));
        assert_eq!(parse_config(path, "").unwrap(), DEFAULT_TIMEOUT);
        let err = parse_config(path, "\ntimeout = 3\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "ksm.conf, line 2: unknown setting 'timeout'; the only one is unmerge_timeout"
        );
        let err = parse_config(path, "unmerge_timeout = 0")
            .unwrap_err()
            .to_string();
        assert!(err.contains("timeout '0' is not a whole number"), "{err}");
    }
}
