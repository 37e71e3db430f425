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
        let mut denial = Denial::not_allowed(kind, resource, asked, component);
        // A variable name the grammar refuses (`LD_PRELOAD`) can never be granted: say why.
        if let (CapabilityKind::Env, Err(never)) = (kind, kind.validate(resource)) {
            denial.message = format!("{}; {}", denial.message, never.reason());
        }
        Err(denial)
    }

    /// [`allows_process`](Self::allows_process), or the [`Denial`] the guest is told, naming
    /// the command line.
    pub fn check_process(
        &self,
        program: &str,
        args: &[&str],
        component: impl fmt::Display,
    ) -> Result<(), Denial> {
        if self.allows_process(program, args) {
            return Ok(());
        }
        let line = command_line(program, args);
        Err(Denial::not_allowed(
            CapabilityKind::Process,
            &line,
            None,
            component,
        ))
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

    /// Why `path` (absolute, normalized) may not be `verb`-ed ("removed", "renamed", ...):
    /// it is `/` or the directory an operator granted for `kind` (the literal part of a
    /// wildcard pattern, such as `/srv` of `/srv/**`), which WASI preopens and the operator's
    /// layout rely on. `None` when it may.
    pub fn root_refusal(&self, kind: CapabilityKind, path: &str, verb: &str) -> Option<String> {
        let is_root = path == "/"
            || self
                .granted
                .get(kind)
                .iter()
                .filter_map(|pattern| literal_root(pattern))
                .any(|root| root == path);
        is_root.then(|| format!("`{path}` is the root of a grant and cannot be {verb}"))
    }

    /// Why renaming `source` to `to` (both absolute, normalized, both writable) would give
    /// something rights it did not have, if it would. A file (or link) may go where it
    /// becomes readable only from where it was readable. A directory carries a whole tree, so
    /// it may move only when every path of the tree is writable at both ends and readable
    /// where it leaves: then nothing in it becomes readable or writable that was not.
    pub fn rename_refusal(&self, source: &str, to: &str, is_dir: bool) -> Option<String> {
        use CapabilityKind::{FsRead, FsWrite};
        if is_dir {
            let whole = |kind, path| self.allows_tree(kind, path);
            let keeps = whole(FsWrite, source) && whole(FsWrite, to) && whole(FsRead, source);
            (!keeps).then(|| format!(
                "renaming the directory `{source}` to `{to}` needs fs_write over the whole tree at both ends and fs_read over the whole tree it leaves, so that nothing in it becomes readable or writable that was not"
            ))
        } else {
            let gains = self.allows(FsRead, to) && !self.allows(FsRead, source);
            gains.then(|| format!(
                "`{source}` could not be read where it is and `{to}` can be: renaming it there would make it readable"
            ))
        }
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

/// `program` and its arguments, space-separated: how a command is audited and refused.
pub fn command_line(program: &str, args: &[&str]) -> String {
    std::iter::once(program)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The literal directory of a pattern with a wildcard: its segments before the first one
/// (`/srv` for `/srv/**` and `/srv/*/app/**`). A pattern without one names an entry, not a
/// tree.
fn literal_root(pattern: &str) -> Option<String> {
    let wild = pattern.split('/').position(|s| s.contains('*'))?;
    let root: Vec<&str> = pattern.split('/').take(wild).collect();
    Some(if root.len() <= 1 {
        "/".to_owned()
    } else {
        root.join("/")
    })
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
    fn roots_stop_at_the_first_wildcard() {
        assert_eq!(literal_root("/data/**").as_deref(), Some("/data"));
        assert_eq!(literal_root("/data/*/logs/**").as_deref(), Some("/data"));
        assert_eq!(literal_root("/**").as_deref(), Some("/"));
        assert_eq!(literal_root("/etc/app.toml"), None);
        let c = caps(&[(FsWrite, "/**")], &[(FsWrite, "/srv/*/app/**")]);
        assert!(c.root_refusal(FsWrite, "/srv", "removed").is_some());
        assert!(c.root_refusal(FsWrite, "/", "removed").is_some());
        assert_eq!(c.root_refusal(FsWrite, "/srv/a", "removed"), None);
    }

    #[test]
    fn renames_never_widen_rights() {
        let c = caps(
            &[(FsRead, "/**"), (FsWrite, "/**")],
            &[(FsRead, "/pub/**"), (FsWrite, "/**")],
        );
        assert!(c.rename_refusal("/secret/x", "/pub/x", false).is_some());
        assert_eq!(c.rename_refusal("/pub/x", "/secret/x", false), None);
        assert!(c.rename_refusal("/secret", "/pub/s", true).is_some());
        assert_eq!(c.rename_refusal("/pub/a", "/pub/b", true), None);
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
    fn loader_variables_say_why_they_can_never_be_granted() {
        let c = caps(
            &[(CapabilityKind::Env, "TZ")],
            &[(CapabilityKind::Env, "TZ")],
        );
        assert!(c.check(CapabilityKind::Env, "TZ", None, "x@1.0.0").is_ok());
        let plain = c
            .check(CapabilityKind::Env, "HOME", None, "x@1.0.0")
            .unwrap_err();
        assert!(
            plain.message.ends_with("granted by the operator"),
            "{plain}"
        );
        let never = c.check(CapabilityKind::Env, "LD_PRELOAD", None, "x@1.0.0");
        assert!(
            never
                .unwrap_err()
                .message
                .contains("; `LD_PRELOAD` would make the dynamic loader")
        );
        let git = c
            .check_process("git", &["log", "-n", "5"], "x@1.0.0")
            .unwrap_err();
        assert!(
            git.message
                .starts_with("process `git log -n 5` is not allowed"),
            "{git}"
        );
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
