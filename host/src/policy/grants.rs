//! What a component may use: declared in its manifest, granted by the operator, decided by
//! the host's mode.

use std::fmt;

use airssys_contract::{Capabilities, CapabilityKind};
use serde::Serialize;

use crate::{Error, Result};

/// How the host treats declared capabilities the operator did not grant.
///
/// ```
/// let host = airssys_host::Host::builder().mode(airssys_host::Mode::Permissive).build()?;
/// # Ok::<(), airssys_host::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Refuse to start a component that declares anything not granted, listing what is
    /// missing. The default.
    #[default]
    Strict,
    /// Start it; calls that need an ungranted capability are denied.
    Permissive,
    /// Grant whatever the component declares, with a loud warning. For development only.
    Development,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Strict => "strict",
            Self::Permissive => "permissive",
            Self::Development => "development",
        })
    }
}

/// The capabilities an instance may use: a resource is allowed when it matches both a
/// declared and a granted pattern of the same kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EffectiveCapabilities {
    mode: Mode,
    declared: Capabilities,
    granted: Capabilities,
}

impl EffectiveCapabilities {
    /// Decides what `declared` may use under `mode` with `granted`; in strict mode, refuses
    /// when a declared pattern is not covered by a grant.
    pub(crate) fn decide(
        component: &str,
        declared: &Capabilities,
        granted: &Capabilities,
        mode: Mode,
    ) -> Result<Self> {
        let granted = match mode {
            Mode::Development => {
                if !declared.is_empty() {
                    tracing::warn!(
                        target: "airssys::audit",
                        component,
                        "DEVELOPMENT MODE: granting every capability {component} declares; never use this mode in production"
                    );
                }
                declared.clone()
            }
            Mode::Strict => {
                let missing = declared.uncovered_by(granted);
                if !missing.is_empty() {
                    return Err(Error::NotGranted {
                        component: component.to_owned(),
                        missing,
                    });
                }
                granted.clone()
            }
            Mode::Permissive => granted.clone(),
        };
        Ok(Self {
            mode,
            declared: declared.clone(),
            granted,
        })
    }

    /// True when `resource` matches a declared and a granted pattern of `kind`.
    pub fn allows(&self, kind: CapabilityKind, resource: &str) -> bool {
        self.declared.allows(kind, resource) && self.granted.allows(kind, resource)
    }

    /// True when `program` with `args` matches a declared and a granted process pattern.
    pub fn allows_process(&self, program: &str, args: &[&str]) -> bool {
        self.declared.allows_process(program, args) && self.granted.allows_process(program, args)
    }

    /// True when every path of the tree at `dir` (an absolute, normalized path: `dir` itself
    /// and everything below it) is allowed for `kind`: a declared and a granted pattern each
    /// cover `dir/**`. A tree covered only by several patterns together counts as not
    /// allowed, which errs on the side of refusing; so does a directory whose name the
    /// grammar reads as a wildcard (`*`), which stands for every name there. Moving a
    /// directory and preopening one for WASI need the whole tree.
    pub fn allows_tree(&self, kind: CapabilityKind, dir: &str) -> bool {
        let tree = format!("{}/**", dir.trim_end_matches('/'));
        let covered = |set: &Capabilities| set.get(kind).iter().any(|p| kind.covers(p, &tree));
        covered(&self.declared) && covered(&self.granted)
    }

    /// What the component can actually use, as patterns: for each declared pattern, itself
    /// when a grant covers it, otherwise the grants it covers (the narrower side). Partial
    /// overlaps that neither side covers are still decided per resource by
    /// [`allows`](Self::allows).
    pub fn effective(&self) -> Capabilities {
        let mut effective = Capabilities::default();
        for (kind, declared) in self.declared.iter() {
            let grants = self.granted.get(kind);
            let narrower: Vec<&str> = if grants.iter().any(|g| kind.covers(g, declared)) {
                vec![declared]
            } else {
                grants
                    .iter()
                    .filter(|g| kind.covers(declared, g))
                    .map(String::as_str)
                    .collect()
            };
            for pattern in narrower {
                // Already present when two declared patterns cover the same grant.
                let _ = effective.add(kind, pattern);
            }
        }
        effective
    }

    /// What the component declared.
    pub fn declared(&self) -> &Capabilities {
        &self.declared
    }

    /// What the operator granted (in development mode: the declared set).
    pub fn granted(&self) -> &Capabilities {
        &self.granted
    }

    /// The mode the decision was made in.
    pub fn mode(&self) -> Mode {
        self.mode
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CapabilityKind::{FsRead, FsWrite};

    fn caps(
        declared: &[(CapabilityKind, &str)],
        granted: &[(CapabilityKind, &str)],
    ) -> EffectiveCapabilities {
        let set = |pairs: &[(CapabilityKind, &str)]| {
            let mut set = Capabilities::default();
            for (kind, pattern) in pairs {
                set.add(*kind, pattern).unwrap();
            }
            set
        };
        EffectiveCapabilities::decide("t", &set(declared), &set(granted), Mode::Permissive).unwrap()
    }

    #[test]
    fn a_tree_is_allowed_only_whole() {
        let c = caps(
            &[(FsRead, "/**")],
            &[(FsRead, "/srv/*/app/**"), (FsWrite, "/srv/**")],
        );
        assert!(c.allows_tree(FsRead, "/srv/a/app"));
        assert!(c.allows_tree(FsRead, "/srv/a/app/logs"));
        assert!(!c.allows_tree(FsRead, "/srv/a"), "only `app` below it");
        assert!(!c.allows_tree(FsRead, "/"));
        assert!(!c.allows_tree(FsWrite, "/srv"), "granted, not declared");
        // Declared narrower than granted: the declaration bounds the tree.
        let c = caps(&[(FsRead, "/srv/a/**")], &[(FsRead, "/**")]);
        assert!(c.allows_tree(FsRead, "/srv/a/x"));
        assert!(!c.allows_tree(FsRead, "/srv"));
        // A directory really named `*` is read as the wider pattern, never the narrower.
        assert!(c.allows_tree(FsRead, "/srv/a/*"));
        assert!(!c.allows_tree(FsRead, "/srv/*"));
    }
}
