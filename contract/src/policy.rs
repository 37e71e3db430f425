//! What a component may use, and what it is told when it may not: one implementation for the
//! host's gate and for the SDK's test host, so a refusal reads the same under both.
//!
//! ```
//! use airssys_contract::{Capabilities, CapabilityKind::Net, EffectiveCapabilities, Mode};
//!
//! let mut declared = Capabilities::default();
//! declared.add(Net, "*.example.com:443").unwrap();
//! let mut granted = Capabilities::default();
//! granted.add(Net, "api.example.com:443").unwrap();
//! let caps = EffectiveCapabilities::decide(&declared, &granted, Mode::Permissive).unwrap();
//! assert!(caps.check(Net, "api.example.com:443", None, "greeter@0.1.0").is_ok());
//! let denied = caps.check(Net, "cdn.example.com:443", None, "greeter@0.1.0").unwrap_err();
//! assert!(denied.to_string().starts_with("net `cdn.example.com:443` is not allowed for greeter@0.1.0"));
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::text::escape_controls;
use crate::{Capabilities, CapabilityKind};

/// How the host treats declared capabilities the operator did not grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Refuse to start a component that declares anything not granted, listing what is
    /// missing. The default.
    #[default]
    Strict,
    /// Start it; calls that need an ungranted capability are denied.
    Permissive,
    /// Grant whatever the component declares. For development only.
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

/// Strict mode refused a component: these declared patterns are covered by no grant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("it declares capabilities that are not granted: {}", list(&self.missing))]
pub struct NotGranted {
    /// The declared `(kind, pattern)` pairs no single grant covers.
    pub missing: Vec<(CapabilityKind, String)>,
}

fn list(missing: &[(CapabilityKind, String)]) -> String {
    missing
        .iter()
        .map(|(kind, pattern)| format!("{kind} `{pattern}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A refusal: what the guest is told, naming the capability, the resource and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Denial {
    /// The text the guest's `denied` error carries.
    pub message: String,
}

impl Denial {
    /// The refusal of `kind` on `resource` (asked for as `asked`, when the guest spelled it
    /// otherwise) for `component` (as the host displays it: `name@version`): the one wording
    /// of "not declared and granted". Guest text in it is escaped (see [`escape_controls`]).
    pub fn not_allowed(
        kind: CapabilityKind,
        resource: &str,
        asked: Option<&str>,
        component: impl fmt::Display,
    ) -> Self {
        let spelled = asked.map_or_else(String::new, |asked| {
            format!(" (asked as `{}`)", escape_controls(asked))
        });
        Self {
            message: format!(
                "{kind} `{}`{spelled} is not allowed for {component}: it must be declared in capabilities(...) and granted by the operator",
                escape_controls(resource),
            ),
        }
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
    /// Decides what `declared` may use under `mode` with `granted`: in strict mode, refuses
    /// when a declared pattern is not covered by a grant; in development mode, grants what is
    /// declared (the host warns about it).
    pub fn decide(
        declared: &Capabilities,
        granted: &Capabilities,
        mode: Mode,
    ) -> Result<Self, NotGranted> {
        let granted = match mode {
            Mode::Development => declared.clone(),
            Mode::Strict => {
                let missing = declared.uncovered_by(granted);
                if !missing.is_empty() {
                    return Err(NotGranted { missing });
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

    /// [`allows`](Self::allows), or the [`Denial`] the guest is told: `resource` (in canonical
    /// form, asked for as `asked` when that differs) for `component`, which is formatted only
    /// for a refusal.
    pub fn check(
        &self,
        kind: CapabilityKind,
        resource: &str,
        asked: Option<&str>,
        component: impl fmt::Display,
    ) -> Result<(), Denial> {
        if self.allows(kind, resource) {
            return Ok(());
        }
        Err(Denial::not_allowed(kind, resource, asked, component))
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
                effective.push_valid(kind, pattern);
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
    use CapabilityKind::{FsRead, FsWrite, Net};

    fn set(pairs: &[(CapabilityKind, &str)]) -> Capabilities {
        let mut set = Capabilities::default();
        for (kind, pattern) in pairs {
            set.add(*kind, pattern).unwrap();
        }
        set
    }

    fn caps(
        declared: &[(CapabilityKind, &str)],
        granted: &[(CapabilityKind, &str)],
    ) -> EffectiveCapabilities {
        EffectiveCapabilities::decide(&set(declared), &set(granted), Mode::Permissive).unwrap()
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

    #[test]
    fn modes_decide_what_is_granted() {
        let declared = set(&[(Net, "a.example.com:443"), (FsRead, "/data/**")]);
        let granted = set(&[(Net, "*.example.com:443")]);
        let err = EffectiveCapabilities::decide(&declared, &granted, Mode::Strict).unwrap_err();
        assert_eq!(err.missing, vec![(FsRead, "/data/**".to_owned())]);
        assert_eq!(
            err.to_string(),
            "it declares capabilities that are not granted: fs_read `/data/**`"
        );
        let dev = EffectiveCapabilities::decide(&declared, &granted, Mode::Development).unwrap();
        assert!(dev.allows(FsRead, "/data/x"));
        let permissive =
            EffectiveCapabilities::decide(&declared, &granted, Mode::Permissive).unwrap();
        assert!(!permissive.allows(FsRead, "/data/x"));
        assert!(permissive.allows(Net, "a.example.com:443"));
    }

    #[test]
    fn denials_name_the_resource_the_spelling_and_the_fix() {
        let c = caps(&[], &[]);
        let denied = c
            .check(Net, "127.0.0.1:80", Some("0x7f000001:80\n"), "x@1.0.0")
            .unwrap_err();
        assert_eq!(
            denied.message,
            "net `127.0.0.1:80` (asked as `0x7f000001:80\\n`) is not allowed for x@1.0.0: it must be declared in capabilities(...) and granted by the operator"
        );
    }
}
