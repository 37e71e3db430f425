//! The manifest a component carries in its `airssys:manifest` custom section.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::{Capabilities, NameError, PatternError, validate_name};

/// Name of the custom section that holds the JSON manifest.
pub const MANIFEST_SECTION: &str = "airssys:manifest";

/// Version of the `airssys:core` WIT package this crate implements.
pub const CONTRACT_VERSION: &str = "1.0.0";

/// Why a manifest could not be built or read.
#[derive(Debug, Error)]
pub enum ManifestError {
    /// The bytes are not the JSON of a manifest.
    #[error("manifest is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The component name is malformed.
    #[error(transparent)]
    Name(#[from] NameError),
    /// The version is not semantic versioning.
    #[error("version `{version}` is not a semantic version (e.g. \"1.2.3\"): {source}")]
    Version {
        /// The text given.
        version: String,
        /// What the parser said.
        source: semver::Error,
    },
    /// A capability pattern is malformed.
    #[error(transparent)]
    Pattern(#[from] PatternError),
    /// The manifest is of another contract version, whose fields may differ from this one's.
    #[error("the manifest is for airssys:core@{found}, not @{CONTRACT_VERSION}")]
    ContractVersion {
        /// The version the manifest names.
        found: String,
    },
}

/// Identity and declared capabilities of a component, embedded by `#[airssys::component]`.
///
/// Reading is strict: an unknown field, or a key given twice anywhere, is an error naming it,
/// so what a host reads is exactly what the author's tools wrote and nothing a reader would
/// settle differently. A new field therefore needs a new contract version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    name: String,
    version: semver::Version,
    #[serde(default)]
    capabilities: Capabilities,
    sdk_version: String,
    contract_version: String,
}

impl Manifest {
    /// A manifest for this SDK and contract version, after validating name and version.
    pub fn new(
        name: &str,
        version: &str,
        capabilities: Capabilities,
    ) -> Result<Self, ManifestError> {
        validate_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            version: parse_version(version)?,
            capabilities,
            sdk_version: env!("CARGO_PKG_VERSION").to_owned(),
            contract_version: CONTRACT_VERSION.to_owned(),
        })
    }

    /// Reads a manifest from its custom-section bytes, validating every field.
    ///
    /// The contract version is read first: a manifest of another version fails with
    /// [`ManifestError::ContractVersion`] whatever else it holds, since a newer contract may
    /// add fields this one refuses as unknown.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ManifestError> {
        /// Only the version, ignoring every other field.
        #[derive(Deserialize)]
        struct Version {
            contract_version: String,
        }
        if let Ok(Version { contract_version }) = serde_json::from_slice(bytes)
            && contract_version != CONTRACT_VERSION
        {
            return Err(ManifestError::ContractVersion {
                found: contract_version,
            });
        }
        let manifest: Self = serde_json::from_slice(bytes)?;
        validate_name(&manifest.name)?;
        Ok(manifest)
    }

    /// The custom-section bytes (compact JSON).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a manifest always serializes")
    }

    /// The component's kebab-case name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The component's version.
    pub fn version(&self) -> &semver::Version {
        &self.version
    }

    /// The capabilities the component declared.
    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// Version of the `airssys` SDK that built the component.
    pub fn sdk_version(&self) -> &str {
        &self.sdk_version
    }

    /// Version of the `airssys:core` contract the component was built against.
    pub fn contract_version(&self) -> &str {
        &self.contract_version
    }
}

/// Parses a semantic version, naming the input on failure.
pub(crate) fn parse_version(version: &str) -> Result<semver::Version, ManifestError> {
    semver::Version::parse(version).map_err(|source| ManifestError::Version {
        version: version.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Result<Manifest, ManifestError> {
        Manifest::from_bytes(json.as_bytes())
    }

    const FIELDS: &str =
        r#""name":"a","version":"1.0.0","sdk_version":"0.1.0","contract_version":"1.0.0""#;

    #[test]
    fn strict_fields() {
        let manifest = read(&format!(r#"{{{FIELDS},"capabilities":{{"env":["TZ"]}}}}"#)).unwrap();
        assert_eq!(
            read(std::str::from_utf8(&manifest.to_bytes()).unwrap()).unwrap(),
            manifest
        );
        read(&format!("{{{FIELDS}}}")).unwrap();

        let err = read(&format!(r#"{{{FIELDS},"extra":1}}"#)).unwrap_err();
        assert!(err.to_string().contains("unknown field `extra`"), "{err}");
        let err = read(&format!(r#"{{{FIELDS},"name":"b"}}"#)).unwrap_err();
        assert!(err.to_string().contains("duplicate field `name`"), "{err}");
        let twice =
            format!(r#"{{{FIELDS},"capabilities":{{"net":["a.com:1"],"net":["b.com:1"]}}}}"#);
        let err = read(&twice).unwrap_err();
        assert!(err.to_string().contains("`net` is listed twice"), "{err}");
        let err = read(r#"{"name":"a","version":"1.0.0"}"#).unwrap_err();
        assert!(
            err.to_string().contains("missing field `sdk_version`"),
            "{err}"
        );
        let err = read(&FIELDS.replace(r#""a""#, r#""A""#)).unwrap_err();
        assert!(
            matches!(err, ManifestError::Json(_)),
            "not an object: {err}"
        );
        let err = read(&format!("{{{}}}", FIELDS.replace(r#""a""#, r#""A""#))).unwrap_err();
        assert!(matches!(err, ManifestError::Name(_)), "{err}");
    }

    #[test]
    fn another_contract_is_named_before_its_fields_are_judged() {
        let future = FIELDS.replace(
            r#""contract_version":"1.0.0""#,
            r#""contract_version":"1.1.0""#,
        );
        let err = read(&format!(r#"{{{future},"sandbox":{{"cpu":2}}}}"#)).unwrap_err();
        assert!(
            matches!(&err, ManifestError::ContractVersion { found } if found == "1.1.0"),
            "{err}"
        );
        // This version's manifests are still judged strictly.
        let err = read(&format!(r#"{{{FIELDS},"sandbox":1}}"#)).unwrap_err();
        assert!(err.to_string().contains("unknown field `sandbox`"), "{err}");
    }
}
