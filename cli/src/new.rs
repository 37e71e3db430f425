//! `airssys new`: create a component crate from the project template.
//!
//! The template is `templates/component/` in this repository, embedded in the binary with
//! `include_str!` so an installed `airssys` needs no files beside it. Placeholders are plain
//! `{{name}}`, `{{crate_name}}` and `{{airssys_dep}}` substitutions: the template stays
//! readable (its `src/lib.rs` is valid Rust) and no template engine is needed.

use std::path::{Path, PathBuf};

use airssys_contract::{NameError, validate_name};
use thiserror::Error;

/// Arguments of `airssys new`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The component's name, in kebab-case (e.g. `order-service`); also the crate's name.
    pub name: String,
    /// The directory to create the crate in (default: `./NAME`).
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,
    /// Depend on the airssys SDK at this path instead of the default (this checkout's `sdk/`
    /// when it exists, else the published version).
    #[arg(long, value_name = "PATH")]
    pub sdk_path: Option<PathBuf>,
}

/// Runs `airssys new`: renders the template and prints what to do next.
pub fn run(args: Args) -> anyhow::Result<()> {
    let dir = args.path.unwrap_or_else(|| PathBuf::from(&args.name));
    create_component(&args.name, &dir, args.sdk_path.as_deref())?;
    crate::ui::status(
        "Created",
        &format!("component `{}` in {}", args.name, dir.display()),
    );
    println!(
        "\nNext steps:\n  cd {}\n  airssys build\n  airssys run . --request '{{\"word\": \"apple\"}}'",
        dir.display()
    );
    Ok(())
}

/// Why `airssys new` created nothing. Each message names the fix.
#[derive(Debug, Error)]
pub enum NewError {
    /// The name is not a valid component name (the cause says why).
    #[error("cannot create a component named `{name}`")]
    InvalidName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        source: NameError,
    },
    /// The target exists and holds files, which `new` never overwrites.
    #[error(
        "{} already exists and is not an empty directory; choose another name, pass --path with a new directory, or remove it",
        .0.display()
    )]
    DirNotEmpty(PathBuf),
    /// `--sdk-path` does not point at a crate.
    #[error(
        "--sdk-path {} has no Cargo.toml; point it at the sdk/ folder of an airssys checkout",
        .0.display()
    )]
    BadSdkPath(PathBuf),
    /// Writing a file failed.
    #[error("could not write {}", path.display())]
    Io {
        /// The file or directory being written.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
}

/// The template's files: where each goes in the new crate, and its text.
const FILES: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../../templates/component/Cargo.toml.tmpl"),
    ),
    (
        "src/lib.rs",
        include_str!("../../templates/component/src/lib.rs"),
    ),
    (
        "rust-toolchain.toml",
        include_str!("../../templates/component/rust-toolchain.toml"),
    ),
    (
        ".gitignore",
        include_str!("../../templates/component/.gitignore"),
    ),
    (
        "README.md",
        include_str!("../../templates/component/README.md"),
    ),
];

/// This checkout's SDK, fixed when the CLI is compiled. It exists at run time for a CLI run
/// from the repository (development, tests), not for one installed from crates.io.
const LOCAL_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../sdk");

/// Creates the component crate `name` in `dir` (made if missing; must be empty if present).
///
/// The crate depends on the SDK at `sdk_path` when given, else on this checkout's `sdk/` when
/// it exists, else on the airssys version matching this CLI.
pub fn create_component(name: &str, dir: &Path, sdk_path: Option<&Path>) -> Result<(), NewError> {
    validate_name(name).map_err(|source| NewError::InvalidName {
        name: name.to_owned(),
        source,
    })?;
    let is_empty_dir = |d: &Path| d.read_dir().is_ok_and(|mut e| e.next().is_none());
    if dir.exists() && !is_empty_dir(dir) {
        return Err(NewError::DirNotEmpty(dir.to_path_buf()));
    }
    let airssys_dep = airssys_dependency(sdk_path)?;
    let crate_name = name.replace('-', "_");

    for (rel, template) in FILES {
        let path = dir.join(rel);
        let text = template
            .replace("{{name}}", name)
            .replace("{{crate_name}}", &crate_name)
            .replace("{{airssys_dep}}", &airssys_dep);
        let io = |source| NewError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(path.parent().unwrap_or(dir)).map_err(io)?;
        std::fs::write(&path, text).map_err(io)?;
    }
    Ok(())
}

/// The value of the `airssys = ...` line in the new Cargo.toml.
fn airssys_dependency(sdk_path: Option<&Path>) -> Result<String, NewError> {
    let sdk = match sdk_path {
        Some(path) if path.join("Cargo.toml").is_file() => Some(path),
        Some(path) => return Err(NewError::BadSdkPath(path.to_path_buf())),
        None => Some(Path::new(LOCAL_SDK)).filter(|p| p.join("Cargo.toml").is_file()),
    };
    Ok(match sdk {
        // Absolute, because a relative path in Cargo.toml is read from the new crate's folder.
        Some(path) => {
            let path = path.canonicalize().map_err(|source| NewError::Io {
                path: path.to_path_buf(),
                source,
            })?;
            format!("{{ path = {} }}", toml_string(&path.to_string_lossy()))
        }
        None => toml_string(env!("CARGO_PKG_VERSION")),
    })
}

/// `s` as a TOML basic string (quotes and backslashes escaped, as Windows paths need).
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_placeholder() {
        let dir = tempfile::tempdir().unwrap();
        let app = dir.path().join("word-tally");
        create_component("word-tally", &app, None).unwrap();
        for (rel, _) in FILES {
            let text = std::fs::read_to_string(app.join(rel)).unwrap();
            assert!(
                !text.contains("{{"),
                "{rel} has a placeholder left:\n{text}"
            );
        }
        let lib = std::fs::read_to_string(app.join("src/lib.rs")).unwrap();
        assert!(lib.contains(r#"#[airssys::component(name = "word-tally", version = "0.1.0")]"#));
        let readme = std::fs::read_to_string(app.join("README.md")).unwrap();
        assert!(readme.contains("release/word_tally.wasm"));
    }

    #[test]
    fn depends_on_this_checkouts_sdk() {
        let dep = airssys_dependency(None).unwrap();
        assert!(
            dep.starts_with("{ path = \"") && dep.ends_with("sdk\" }"),
            "{dep}"
        );
    }

    #[test]
    fn escapes_toml_strings() {
        assert_eq!(toml_string(r#"C:\a "b""#), r#""C:\\a \"b\"""#);
    }
}
