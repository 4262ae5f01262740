//! Reading the policy from TOML. Errors carry the file, line and dotted key, because a
//! policy typo found at deploy time has to be fixable without reading serde internals.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::config::Policy;

/// The whole policy file. Only `[policy]` is allowed, so a misspelt table is an error
/// rather than a silently ignored section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConfigFile {
    /// The `[policy]` table; omitted means every default.
    pub policy: Policy,
}

/// Why a policy file was refused.
#[derive(Debug)]
pub enum ConfigError {
    /// The file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The TOML is malformed, has an unknown key, or a value of the wrong type or variant.
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the offending text, when known.
        line: Option<usize>,
        /// Dotted key, such as `policy.rules.vpn`, when it can be located.
        key: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// The values parse but are out of range (the message names the key).
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the key.
        message: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read { path, source } => {
                write!(f, "cannot read policy file {}: {source}", path.display())
            }
            ConfigError::Parse {
                path,
                line,
                key,
                message,
            } => {
                write!(f, "{}", path.display())?;
                if let Some(line) = line {
                    write!(f, ":{line}")?;
                }
                if let Some(key) = key {
                    write!(f, ": {key}")?;
                }
                write!(f, ": {message}")
            }
            ConfigError::Invalid { path, message } => write!(f, "{}: {message}", path.display()),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Read { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Reads, parses and validates a policy file, and the domains file it names.
pub fn load_file(path: &Path) -> Result<Policy, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut policy = parse_str(&text, path)?;
    if !policy.disposable_domains_file.trim().is_empty() {
        let name = policy.disposable_domains_file.trim().to_owned();
        let file = path.parent().unwrap_or(Path::new(".")).join(&name);
        let list = std::fs::read_to_string(&file).map_err(|source| ConfigError::Read {
            path: file.clone(),
            source,
        })?;
        for (n, line) in list.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let domain = crate::lists::normalise(crate::lists::ListKind::EmailDomain, line)
                .map_err(|why| ConfigError::Invalid {
                    path: file.clone(),
                    message: format!("policy.disposable_domains_file line {}: {why}", n + 1),
                })?;
            policy.disposable_domains.push(domain);
        }
    }
    Ok(policy)
}

/// Parses and validates policy TOML; `path` is only used to label errors.
pub fn parse_str(text: &str, path: &Path) -> Result<Policy, ConfigError> {
    let file: ConfigFile = toml::from_str(text).map_err(|e| {
        let start = e.span().map(|s| s.start);
        ConfigError::Parse {
            path: path.to_path_buf(),
            line: start.map(|s| text[..s.min(text.len())].matches('\n').count() + 1),
            key: start.and_then(|s| key_at(text, s)),
            message: e.message().trim().to_string(),
        }
    })?;
    file.policy
        .validate()
        .map_err(|message| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        })?;
    Ok(file.policy)
}

/// The dotted key at a byte offset: the innermost table header above it plus the key on the
/// offending line. serde's messages say "unknown variant `maybe`" without saying where.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = text[line_start..line_end].trim();
    let header = |l: &str| {
        let l = l.trim();
        (l.starts_with('[') && l.contains(']')).then(|| {
            l.trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
    };
    if let Some(table) = header(line) {
        return Some(table);
    }
    let key = line.split('=').next()?.trim().trim_matches('"');
    if key.is_empty() || !line.contains('=') {
        return None;
    }
    let table = text[..line_start].lines().rev().find_map(header);
    Some(match table {
        Some(t) if !t.is_empty() => format!("{t}.{key}"),
        _ => key.to_string(),
    })
}
