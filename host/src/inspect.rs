//! Checking bytes before anything compiles them: is this an airssys component, of our
//! contract version, with the lifecycle exports and a readable manifest, or a component of
//! the standard `wasi:http/proxy` world, which the server runs on a route?
//!
//! Everything here only parses the binary format; untrusted bytes are never read as WAT text.

use airssys_contract::{CONTRACT_VERSION, Capabilities, MANIFEST_SECTION, Manifest, ManifestError};
use serde::Serialize;
use wasmparser::component_types::ComponentEntityType;
use wasmparser::{Parser, Payload, Validator, WasmFeatures};

use crate::{Error, Result};

/// The functions `airssys:core/lifecycle` must export.
const LIFECYCLE_FUNCTIONS: [&str; 7] = [
    "init",
    "handle-message",
    "handle-request",
    "health",
    "shutdown",
    "snapshot",
    "restore",
];

/// The export prefix of the `wasi:http/proxy` world's handler (any 0.2 release).
const INCOMING_HANDLER: &str = "wasi:http/incoming-handler@0.2.";

/// Which world a component implements, and so how the host calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ComponentKind {
    /// `airssys:core/component`: `init`, then requests and messages through the lifecycle
    /// exports.
    Airssys,
    /// `wasi:http/proxy`, from any toolchain: HTTP requests on the route the operator gives
    /// it (`route` in `airssys.toml`), through `wasi:http/incoming-handler`.
    HttpProxy,
}

/// What a component is, read from its bytes without compiling it.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// The embedded manifest: identity and declared capabilities. A `wasi:http` component
    /// without one gets a manifest named after its file (`hello_http.wasm` is `hello-http`),
    /// at version 0.0.0, declaring nothing (see [`declared`](Self::declared)).
    pub manifest: Manifest,
    /// Which world it implements.
    pub kind: ComponentKind,
    /// Whether the bytes carry an `airssys:manifest` section. When a `wasi:http` component
    /// carries none, what the operator grants it is what it may use.
    pub declared: bool,
    /// The world it implements (`airssys:core/component@1.0.0`, `wasi:http/proxy@0.2.3`).
    pub world: String,
    /// Names of its top-level exports.
    pub exports: Vec<String>,
    /// Names of its top-level imports.
    pub imports: Vec<String>,
    /// Size of the binary in bytes.
    pub size: usize,
}

/// Reads and checks a component's bytes without compiling them.
///
/// This is what `airssys inspect` shows, and the first step of every load.
///
/// ```no_run
/// let bytes = std::fs::read("greeter.wasm")?;
/// let info = airssys_host::inspect(&bytes)?;
/// println!("{} {}", info.manifest.name(), info.manifest.version());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn inspect(bytes: &[u8]) -> Result<Inspection> {
    inspect_named("<bytes>", bytes)
}

/// Reads and checks a component file without compiling it; errors name the file.
///
/// Files over [`DEFAULT_MAX_COMPONENT_SIZE`](crate::DEFAULT_MAX_COMPONENT_SIZE) are refused
/// before reading.
pub fn inspect_file(path: impl AsRef<std::path::Path>) -> Result<Inspection> {
    let path = path.as_ref();
    let bytes = crate::source::read_limited(path, crate::DEFAULT_MAX_COMPONENT_SIZE)?;
    inspect_named(&path.display().to_string(), &bytes)
}

/// [`inspect`], naming `origin` (a path or label) in errors.
pub(crate) fn inspect_named(origin: &str, bytes: &[u8]) -> Result<Inspection> {
    let origin = || origin.to_owned();
    check_header(bytes).map_err(|kind| match kind {
        Header::NotWasm => Error::NotWasm { origin: origin() },
        Header::CoreModule => Error::CoreModule { origin: origin() },
        Header::Truncated => Error::Malformed {
            origin: origin(),
            reason: "the file ends inside the 8-byte header (truncated?)".into(),
        },
    })?;
    let types = Validator::new_with_features(WasmFeatures::default())
        .validate_all(bytes)
        .map_err(|err| Error::Malformed {
            origin: origin(),
            reason: err.to_string(),
        })?;
    let sections = Sections::read(bytes).map_err(|err| Error::Malformed {
        origin: origin(),
        reason: err.to_string(),
    })?;

    let lifecycle = format!("airssys:core/lifecycle@{CONTRACT_VERSION}");
    if let Some(handler) = sections
        .exports
        .iter()
        .find(|e| e.starts_with(INCOMING_HANDLER))
        .filter(|_| !sections.exports.contains(&lifecycle))
    {
        let world = handler.replace("incoming-handler", "proxy");
        let (manifest, declared) = match sections.manifests.as_slice() {
            [] => (unnamed(origin()), false),
            _ => (manifest(&origin(), &sections.manifests)?, true),
        };
        return Ok(Inspection {
            manifest,
            kind: ComponentKind::HttpProxy,
            declared,
            world,
            exports: sections.exports,
            imports: sections.imports,
            size: bytes.len(),
        });
    }
    if !sections.exports.contains(&lifecycle) {
        let other_version = sections
            .exports
            .iter()
            .find_map(|e| e.strip_prefix("airssys:core/lifecycle@"));
        return Err(match other_version {
            Some(found) => Error::ContractVersion {
                origin: origin(),
                found: found.to_owned(),
            },
            None => Error::WrongWorld {
                origin: origin(),
                exports: sections.exports,
            },
        });
    }
    let item = types.component_item_for_export(&lifecycle);
    let Some(ComponentEntityType::Instance(instance)) = item.map(|item| item.ty) else {
        return Err(Error::MissingExport {
            origin: origin(),
            problem: format!("`{lifecycle}` is not an instance"),
        });
    };
    let functions = &types[instance].exports;
    for name in LIFECYCLE_FUNCTIONS {
        match functions.get(name).map(|item| &item.ty) {
            Some(ComponentEntityType::Func(_)) => {}
            Some(_) => {
                return Err(Error::MissingExport {
                    origin: origin(),
                    problem: format!("its `{name}` is not a function"),
                });
            }
            None => {
                return Err(Error::MissingExport {
                    origin: origin(),
                    problem: format!("the function `{name}` is missing"),
                });
            }
        }
    }

    let manifest = manifest(&origin(), &sections.manifests)?;
    Ok(Inspection {
        manifest,
        kind: ComponentKind::Airssys,
        declared: true,
        world: format!("airssys:core/component@{CONTRACT_VERSION}"),
        exports: sections.exports,
        imports: sections.imports,
        size: bytes.len(),
    })
}

/// The one manifest among `sections`, read and checked.
fn manifest(origin: &str, sections: &[&[u8]]) -> Result<Manifest> {
    let origin = || origin.to_owned();
    match sections {
        [] => Err(Error::MissingManifest { origin: origin() }),
        [one] => Manifest::from_bytes(one).map_err(|err| match err {
            ManifestError::ContractVersion { found } => Error::ContractVersion {
                origin: origin(),
                found,
            },
            err => Error::CorruptManifest {
                origin: origin(),
                reason: err.to_string(),
            },
        }),
        many => Err(Error::CorruptManifest {
            origin: origin(),
            reason: format!(
                "found {} `{MANIFEST_SECTION}` sections, expected one",
                many.len()
            ),
        }),
    }
}

/// The manifest of a `wasi:http` component that carries none: named after its file (its
/// stem in kebab-case; `http-component` when nothing usable is left), version 0.0.0,
/// declaring nothing.
fn unnamed(origin: String) -> Manifest {
    let stem = std::path::Path::new(&origin)
        .file_stem()
        .map(|stem| stem.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let kebab: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let kebab = kebab
        .split('-')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let name = match kebab.chars().next() {
        Some(c) if c.is_ascii_lowercase() => kebab,
        _ => "http-component".to_owned(),
    };
    Manifest::new(&name, "0.0.0", Capabilities::default())
        .or_else(|_| Manifest::new("http-component", "0.0.0", Capabilities::default()))
        .expect("`http-component` is a valid name")
}

enum Header {
    NotWasm,
    CoreModule,
    Truncated,
}

/// Tells modules from components by the header alone, for a precise error.
fn check_header(bytes: &[u8]) -> Result<(), Header> {
    if !bytes.starts_with(b"\0asm") {
        return Err(Header::NotWasm);
    }
    match bytes.get(4..8) {
        None => Err(Header::Truncated),
        // Bytes 6..8 are the layer: 0 for core modules, 1 for components.
        Some([_, _, 0, 0]) => Err(Header::CoreModule),
        Some(_) => Ok(()),
    }
}

/// The parts of the binary inspection needs, collected in one pass.
#[derive(Default)]
struct Sections<'a> {
    exports: Vec<String>,
    imports: Vec<String>,
    manifests: Vec<&'a [u8]>,
}

impl<'a> Sections<'a> {
    fn read(bytes: &'a [u8]) -> wasmparser::Result<Self> {
        let mut sections = Self::default();
        // Depth of nested modules and components; exports and imports count only at the top,
        // the manifest anywhere (the SDK's lands inside the embedded core module).
        let mut depth = 0usize;
        for payload in Parser::new(0).parse_all(bytes) {
            match payload? {
                Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
                Payload::End(_) => depth = depth.saturating_sub(1),
                Payload::ComponentExportSection(reader) if depth == 0 => {
                    for export in reader {
                        sections.exports.push(export?.name.name.to_owned());
                    }
                }
                Payload::ComponentImportSection(reader) if depth == 0 => {
                    for import in reader {
                        sections.imports.push(import?.name.name.to_owned());
                    }
                }
                Payload::CustomSection(reader) if reader.name() == MANIFEST_SECTION => {
                    sections.manifests.push(reader.data());
                }
                _ => {}
            }
        }
        Ok(sections)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The version the host checks must be the one `wit/` declares.
    #[test]
    fn contract_version_matches_the_wit_package() {
        let wit = include_str!("../../wit/types.wit");
        assert!(
            wit.contains(&format!("package airssys:core@{CONTRACT_VERSION};")),
            "wit/types.wit and CONTRACT_VERSION disagree"
        );
    }
}
