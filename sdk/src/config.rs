//! The operator's configuration for one instance.

use std::str::FromStr;

use crate::{Error, Result};

/// Configuration entries given by the operator (`airssys run --config k=v`, the host's
/// `LoadOptions::config`), passed to [`Component::init`](crate::Component::init).
///
/// ```
/// use airssys::Config;
/// let config = Config::new([("greeting", "Hi"), ("start", "10")]);
/// assert_eq!(config.get_or("greeting", "Hello"), "Hi");
/// assert_eq!(config.parse::<u64>("start").unwrap(), Some(10));
/// assert!(config.require("missing").is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    entries: Vec<(String, String)>,
}

impl Config {
    /// Configuration from `(key, value)` pairs; useful in native unit tests of a component.
    pub fn new<K: Into<String>, V: Into<String>>(
        entries: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            entries: entries
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// Reads the current configuration from the host; the same entries `init` received.
    pub fn from_host() -> Self {
        Self::new(crate::host::config_entries())
    }

    /// The value of `key`; the last one wins if the operator gave it twice.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `key`, or `default` when it is not set.
    pub fn get_or<'a>(&'a self, key: &str, default: &'a str) -> &'a str {
        self.get(key).unwrap_or(default)
    }

    /// The value of `key`, or an [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput)
    /// error naming the missing key.
    pub fn require(&self, key: &str) -> Result<&str> {
        self.get(key).ok_or_else(|| {
            Error::invalid_input(format!(
                "missing configuration `{key}`; set it with `--config {key}=...`"
            ))
        })
    }

    /// The value of `key` parsed as `T`; `Ok(None)` when unset, an error naming the key and
    /// the value when it does not parse.
    pub fn parse<T: FromStr>(&self, key: &str) -> Result<Option<T>>
    where
        T::Err: std::fmt::Display,
    {
        self.get(key)
            .map(|value| {
                value.parse().map_err(|err| {
                    Error::invalid_input(format!(
                        "configuration `{key}` = `{value}` is not a valid {}: {err}",
                        std::any::type_name::<T>()
                    ))
                })
            })
            .transpose()
    }

    /// Every entry, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no entry was given.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
