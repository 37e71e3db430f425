//! Types shared by both halves of airssys: the guest SDK (`airssys`), its attribute macro
//! (`airssys-macros`) and the host (`airssys-host`).
//!
//! Keeping them in one crate gives each rule a single owner: the macro validates a capability
//! pattern with exactly the code the host uses to read it back, and a [`Payload`] built by a
//! guest decodes the same way on the host.
//!
//! ```
//! use airssys_contract::{Capabilities, CapabilityKind, Manifest};
//!
//! let mut caps = Capabilities::default();
//! caps.add(CapabilityKind::FsRead, "/data/**").unwrap();
//! let manifest = Manifest::new("greeter", "0.1.0", caps).unwrap();
//! let bytes = manifest.to_bytes();
//! assert_eq!(Manifest::from_bytes(&bytes).unwrap(), manifest);
//! ```

#![deny(missing_docs)]

mod address;
mod capability;
mod error;
mod health;
mod manifest;
mod matching;
mod name;
mod payload;
mod policy;
pub mod storage;
mod text;
mod topic;

pub use address::{is_global, non_global_block, parse_address};
pub use capability::{Capabilities, CapabilityKind, PatternError};
pub use error::{Error, ErrorKind};
pub use health::Health;
pub use manifest::{CONTRACT_VERSION, MANIFEST_SECTION, Manifest, ManifestError};
pub use matching::matches_process;
pub use name::{MAX_NAME_LEN, NameError, validate_name};
pub use payload::{CONTENT_TYPE_BYTES, CONTENT_TYPE_JSON, CONTENT_TYPE_TEXT, Payload};
pub use policy::{Denial, EffectiveCapabilities, Mode, NotGranted, command_line};
pub use text::{escape_controls, normalize_path};
pub use topic::{MAX_TOPIC_LEN, TopicError, validate_topic};
