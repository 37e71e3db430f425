//! Ed25519 signatures on components: who built this binary, and has it changed since?
//!
//! A signature lives in a custom section of the component, `airssys:signature`, placed right
//! after the header. It signs the SHA-256 of the component with every `airssys:signature`
//! section left out, so signing again (or by a second signer) does not change what earlier
//! signatures cover. The WebAssembly tool conventions' format (as `wasmsign2` implements it)
//! is defined for core modules only: its parser refuses a component's header, and it hashes
//! sections in parts that a component's nested modules do not fit. docs/security.md says why
//! this format instead, and what a signature proves.
//!
//! The section holds a format version (1) and a list of entries, one per signer: its public
//! key (32 bytes), its name (a byte of length, then UTF-8) and the signature (64 bytes) over
//! `airssys:signature:v1\0 || sha256 || name length || name`, so the name is signed too.

use std::fmt;
use std::path::Path;

use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::Serialize;
use sha2::{Digest, Sha256};
use wasmparser::BinaryReader;

use crate::{Error, Result};

/// The custom section a signature is kept in.
pub const SIGNATURE_SECTION: &str = "airssys:signature";
const FORMAT: u8 = 1;
const DOMAIN: &[u8] = b"airssys:signature:v1\0";
const SECRET_TAG: &str = "airssys-ed25519-secret";
const PUBLIC_TAG: &str = "airssys-ed25519";
/// Longest signer name, in bytes.
const MAX_NAME: usize = 64;

/// Why a signature could not be made, read or accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The host requires signatures and the component has none.
    #[error(
        "it is not signed, and this host requires signatures; sign it with `airssys sign --key KEY FILE` using a key listed in `[signatures] trusted`"
    )]
    Unsigned,
    /// A signature does not match the bytes: they changed after signing, or it was forged.
    #[error(
        "the signature by {signer} does not match its bytes: the component was changed after it was signed; rebuild and sign it again"
    )]
    Mismatch {
        /// The name and key the entry claims.
        signer: String,
    },
    /// Every signature is valid, but no signer is trusted.
    #[error(
        "it is signed by {}, and none of these keys is trusted; add the signer's public key to `[signatures] trusted` (HostBuilder::trust_key), or sign with a trusted key",
        signers.join(", ")
    )]
    Untrusted {
        /// The signers, by name and key.
        signers: Vec<String>,
    },
    /// The signature section is not in this format.
    #[error("its `{SIGNATURE_SECTION}` section is malformed: {0}")]
    Malformed(String),
    /// A key file or key text could not be read.
    #[error("{0}")]
    Key(String),
}

/// A secret signing key with the name its signatures carry. Made by `airssys keygen`.
pub struct SecretKey {
    name: String,
    key: SigningKey,
}

/// A public key that verifies signatures, with its signer's name.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    name: String,
    key: VerifyingKey,
}

/// One signature found on a component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Signer {
    /// The name signed with it (the key's name at `airssys keygen`).
    pub name: String,
    /// The public key, as 64 hex digits.
    pub key: String,
    /// Whether the host trusts the key (always false from [`signers`], which knows no trust).
    pub trusted: bool,
}

impl fmt::Display for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (ed25519 {}…)", self.name, &self.key[..16])
    }
}

/// What a host found when it checked a component's signatures.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SignatureStatus {
    /// No signature (allowed: the host does not require them).
    #[default]
    Unsigned,
    /// Valid signatures, at least one by a trusted key.
    Trusted {
        /// Every signer; the trusted ones are marked.
        signers: Vec<Signer>,
    },
    /// Valid signatures, none by a trusted key (allowed: the host does not require them).
    Untrusted {
        /// Every signer.
        signers: Vec<Signer>,
    },
}

impl fmt::Display for SignatureStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |signers: &[Signer]| {
            signers
                .iter()
                .map(Signer::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Self::Unsigned => f.write_str("unsigned"),
            Self::Trusted { signers } => write!(f, "signed by {} (trusted)", list(signers)),
            Self::Untrusted { signers } => write!(f, "signed by {} (not trusted)", list(signers)),
        }
    }
}

impl SecretKey {
    /// A fresh key from the operating system's random source. `name` is kebab-case, at most
    /// 64 bytes; signatures carry it.
    pub fn generate(name: &str) -> Result<Self, SignatureError> {
        check_name(name)?;
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)
            .map_err(|err| SignatureError::Key(format!("no random source: {err}")))?;
        Ok(Self {
            name: name.to_owned(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its public half.
    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            name: self.name.clone(),
            key: self.key.verifying_key(),
        }
    }

    /// The key as one line of text: `airssys-ed25519-secret NAME HEX`.
    pub fn to_text(&self) -> String {
        format!(
            "{SECRET_TAG} {} {}\n",
            self.name,
            hex::encode(self.key.to_bytes())
        )
    }

    /// Reads [`to_text`](Self::to_text)'s form.
    pub fn from_text(text: &str) -> Result<Self, SignatureError> {
        let (name, bytes) = parse_key_line(text, SECRET_TAG)?;
        Ok(Self {
            name,
            key: SigningKey::from_bytes(&bytes),
        })
    }

    /// Reads a key file written by `airssys keygen`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        Self::from_text(&read_key_file(path)?).map_err(|problem| Error::Signature {
            origin: path.display().to_string(),
            problem,
        })
    }

    /// `component` with this key's signature added (replacing an earlier one by the same
    /// key; other signers' are kept).
    pub fn sign(&self, component: &[u8]) -> Result<Vec<u8>, SignatureError> {
        let parts = Parts::split(component)?;
        let digest = parts.digest();
        let mut entries: Vec<Entry> = parts
            .entries()?
            .into_iter()
            .filter(|entry| entry.key != self.key.verifying_key())
            .collect();
        let signature = self.key.sign(&message(&digest, &self.name));
        entries.push(Entry {
            key: self.key.verifying_key(),
            name: self.name.clone(),
            signature,
        });
        Ok(parts.assemble(&entries))
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl PublicKey {
    /// The signer's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key as 64 hex digits.
    pub fn hex(&self) -> String {
        hex::encode(self.key.as_bytes())
    }

    /// The key as one line of text: `airssys-ed25519 NAME HEX`, what `airssys keygen` writes
    /// to `NAME.pub` and `[signatures] trusted` accepts inline.
    pub fn to_text(&self) -> String {
        format!("{PUBLIC_TAG} {} {}\n", self.name, self.hex())
    }

    /// Reads [`to_text`](Self::to_text)'s form.
    pub fn from_text(text: &str) -> Result<Self, SignatureError> {
        let (name, bytes) = parse_key_line(text, PUBLIC_TAG)?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|err| SignatureError::Key(format!("not an Ed25519 public key: {err}")))?;
        Ok(Self { name, key })
    }

    /// Reads a `.pub` file written by `airssys keygen`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        Self::from_text(&read_key_file(path)?).map_err(|problem| Error::Signature {
            origin: path.display().to_string(),
            problem,
        })
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({} {})", self.name, self.hex())
    }
}

/// The signatures on `component`, each verified against its bytes: empty when it is
/// unsigned; an error when a signature does not match or the section is malformed.
pub fn signers(component: &[u8]) -> Result<Vec<Signer>, SignatureError> {
    let parts = Parts::split(component)?;
    if parts.signatures.is_empty() {
        // Unsigned: nothing to hash (a load hashes the bytes once, for its cache).
        return Ok(Vec::new());
    }
    let entries = parts.entries()?;
    let digest = parts.digest();
    entries
        .into_iter()
        .map(|entry| {
            let signer = Signer {
                name: entry.name.clone(),
                key: hex::encode(entry.key.as_bytes()),
                trusted: false,
            };
            entry
                .key
                .verify(&message(&digest, &entry.name), &entry.signature)
                .map_err(|_| SignatureError::Mismatch {
                    signer: signer.to_string(),
                })?;
            Ok(signer)
        })
        .collect()
}

/// Which keys a host trusts, and whether it refuses what they did not sign.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Trust {
    pub(crate) keys: Vec<PublicKey>,
    pub(crate) required: bool,
}

impl Trust {
    /// Checks `component`'s signatures against the trusted keys: what it found, or why the
    /// component is refused. A signature that does not match its bytes always refuses it.
    ///
    /// Bytes whose sections cannot even be told apart carry no signature it could read: they
    /// pass as unsigned here, and validation, which runs before anything compiles, refuses
    /// them with the precise reason.
    pub(crate) fn check(&self, component: &[u8]) -> Result<SignatureStatus, SignatureError> {
        if Parts::split(component).is_err() {
            return Ok(SignatureStatus::Unsigned);
        }
        let mut signers = signers(component)?;
        if signers.is_empty() {
            return if self.required {
                Err(SignatureError::Unsigned)
            } else {
                Ok(SignatureStatus::Unsigned)
            };
        }
        for signer in &mut signers {
            signer.trusted = self.keys.iter().any(|key| key.hex() == signer.key);
        }
        if signers.iter().any(|s| s.trusted) {
            Ok(SignatureStatus::Trusted { signers })
        } else if self.required {
            Err(SignatureError::Untrusted {
                signers: signers.iter().map(Signer::to_string).collect(),
            })
        } else {
            Ok(SignatureStatus::Untrusted { signers })
        }
    }
}

/// A component cut into its header, its signature sections and everything else.
struct Parts<'a> {
    header: &'a [u8],
    /// Every top-level section except signatures, as raw bytes, in order.
    rest: Vec<&'a [u8]>,
    /// The payloads of the signature sections.
    signatures: Vec<&'a [u8]>,
}

struct Entry {
    key: VerifyingKey,
    name: String,
    signature: Signature,
}

impl<'a> Parts<'a> {
    fn split(bytes: &'a [u8]) -> Result<Self, SignatureError> {
        let malformed = |what: &str| SignatureError::Malformed(what.to_owned());
        if bytes.len() < 8 || !bytes.starts_with(b"\0asm") {
            return Err(malformed("not a WebAssembly binary"));
        }
        let (header, body) = bytes.split_at(8);
        let mut parts = Self {
            header,
            rest: Vec::new(),
            signatures: Vec::new(),
        };
        let mut reader = BinaryReader::new(body, 8);
        let truncated = |_| malformed("a section runs past the end of the file");
        while !reader.eof() {
            let start = reader.current_position();
            let id = reader.read_u8().map_err(truncated)?;
            let size = reader.read_var_u32().map_err(truncated)? as usize;
            let payload_at = reader.current_position();
            let payload = reader.read_bytes(size).map_err(truncated)?;
            let whole = &body[start..payload_at + size];
            if id == 0 {
                let mut custom = BinaryReader::new(payload, 0);
                if custom.read_string().ok() == Some(SIGNATURE_SECTION) {
                    parts.signatures.push(&payload[custom.current_position()..]);
                    continue;
                }
            }
            parts.rest.push(whole);
        }
        Ok(parts)
    }

    /// SHA-256 of the component without its signature sections.
    fn digest(&self) -> [u8; 32] {
        let mut hash = Sha256::new();
        hash.update(self.header);
        for section in &self.rest {
            hash.update(section);
        }
        hash.finalize().into()
    }

    fn entries(&self) -> Result<Vec<Entry>, SignatureError> {
        let malformed = |what: &str| SignatureError::Malformed(what.to_owned());
        let mut entries = Vec::new();
        for section in &self.signatures {
            let (&format, mut rest) = section
                .split_first()
                .ok_or_else(|| malformed("it is empty"))?;
            if format != FORMAT {
                return Err(malformed(&format!(
                    "format {format} is not the one this host reads ({FORMAT}); sign it again with this airssys"
                )));
            }
            while !rest.is_empty() {
                let (key, tail) = rest
                    .split_first_chunk::<32>()
                    .ok_or_else(|| malformed("an entry is cut short"))?;
                let (&len, tail) = tail
                    .split_first()
                    .ok_or_else(|| malformed("an entry is cut short"))?;
                let (name, tail) = tail
                    .split_at_checked(usize::from(len))
                    .ok_or_else(|| malformed("an entry is cut short"))?;
                let (signature, tail) = tail
                    .split_first_chunk::<64>()
                    .ok_or_else(|| malformed("an entry is cut short"))?;
                let name = std::str::from_utf8(name)
                    .map_err(|_| malformed("a signer's name is not UTF-8"))?;
                entries.push(Entry {
                    key: VerifyingKey::from_bytes(key)
                        .map_err(|_| malformed("a key is not an Ed25519 public key"))?,
                    name: name.to_owned(),
                    signature: Signature::from_bytes(signature),
                });
                rest = tail;
            }
        }
        Ok(entries)
    }

    /// The header, one signature section with `entries`, then every other section.
    fn assemble(&self, entries: &[Entry]) -> Vec<u8> {
        let mut payload = vec![FORMAT];
        for entry in entries {
            payload.extend_from_slice(entry.key.as_bytes());
            // Names are checked to fit a byte when keys are made or read.
            payload.push(entry.name.len() as u8);
            payload.extend_from_slice(entry.name.as_bytes());
            payload.extend_from_slice(&entry.signature.to_bytes());
        }
        let mut section = Vec::new();
        leb128(&mut section, SIGNATURE_SECTION.len());
        section.extend_from_slice(SIGNATURE_SECTION.as_bytes());
        section.extend_from_slice(&payload);
        let mut out = self.header.to_vec();
        out.push(0);
        leb128(&mut out, section.len());
        out.extend_from_slice(&section);
        for part in &self.rest {
            out.extend_from_slice(part);
        }
        out
    }
}

fn message(digest: &[u8; 32], name: &str) -> Vec<u8> {
    let mut message = DOMAIN.to_vec();
    message.extend_from_slice(digest);
    message.push(name.len() as u8);
    message.extend_from_slice(name.as_bytes());
    message
}

fn leb128(out: &mut Vec<u8>, mut value: usize) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn check_name(name: &str) -> Result<(), SignatureError> {
    airssys_contract::validate_name(name)
        .map_err(|err| SignatureError::Key(format!("`{name}` cannot name a key: {err}")))?;
    if name.len() > MAX_NAME {
        return Err(SignatureError::Key(format!(
            "`{name}` is {} bytes; a key's name is at most {MAX_NAME}",
            name.len()
        )));
    }
    Ok(())
}

/// `TAG NAME HEX` -> the name and the 32 key bytes.
fn parse_key_line(text: &str, tag: &str) -> Result<(String, [u8; 32]), SignatureError> {
    let bad = || {
        SignatureError::Key(format!(
            "expected one line `{tag} NAME HEX` (as `airssys keygen` writes it)"
        ))
    };
    let mut words = text.split_whitespace();
    if words.next() != Some(tag) {
        return Err(bad());
    }
    let (Some(name), Some(hex_key), None) = (words.next(), words.next(), words.next()) else {
        return Err(bad());
    };
    check_name(name)?;
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(hex_key, &mut bytes).map_err(|_| bad())?;
    Ok((name.to_owned(), bytes))
}

fn read_key_file(path: &Path) -> Result<String> {
    // Key files are one short line; anything large is not one.
    let bytes = crate::source::read_limited(path, 4096)?;
    String::from_utf8(bytes).map_err(|_| Error::Signature {
        origin: path.display().to_string(),
        problem: SignatureError::Key("a key file is text".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest component: the header alone, plus one custom section to carry.
    fn component() -> Vec<u8> {
        let mut bytes = b"\0asm\x0d\0\x01\0".to_vec();
        bytes.extend_from_slice(&[0, 4, 3, b'a', b'b', b'c']);
        bytes
    }

    #[test]
    fn a_signature_verifies_and_names_its_signer() {
        let key = SecretKey::generate("ops").unwrap();
        let signed = key.sign(&component()).unwrap();
        let found = signers(&signed).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "ops");
        assert_eq!(found[0].key, key.public_key().hex());
        assert_eq!(signers(&component()).unwrap(), []);
    }

    #[test]
    fn a_changed_byte_breaks_the_signature() {
        let key = SecretKey::generate("ops").unwrap();
        let mut signed = key.sign(&component()).unwrap();
        *signed.last_mut().unwrap() ^= 1;
        assert!(matches!(
            signers(&signed),
            Err(SignatureError::Mismatch { .. })
        ));
    }

    #[test]
    fn signers_add_up_and_resigning_replaces() {
        let (a, b) = (
            SecretKey::generate("a").unwrap(),
            SecretKey::generate("b").unwrap(),
        );
        let twice = b.sign(&a.sign(&component()).unwrap()).unwrap();
        let again = a.sign(&twice).unwrap();
        let names = |bytes: &[u8]| {
            let mut names: Vec<_> = signers(bytes)
                .unwrap()
                .into_iter()
                .map(|s| s.name)
                .collect();
            names.sort();
            names
        };
        assert_eq!(names(&twice), ["a", "b"]);
        assert_eq!(names(&again), ["a", "b"]);
    }

    #[test]
    fn trust_decides_by_key() {
        let (ops, other) = (
            SecretKey::generate("ops").unwrap(),
            SecretKey::generate("ops").unwrap(),
        );
        let trust = Trust {
            keys: vec![ops.public_key()],
            required: true,
        };
        let signed = ops.sign(&component()).unwrap();
        assert!(matches!(
            trust.check(&signed),
            Ok(SignatureStatus::Trusted { .. })
        ));
        let forged_name = other.sign(&component()).unwrap();
        assert!(matches!(
            trust.check(&forged_name),
            Err(SignatureError::Untrusted { .. })
        ));
        assert_eq!(trust.check(&component()), Err(SignatureError::Unsigned));
        let lax = Trust {
            required: false,
            ..trust
        };
        assert_eq!(lax.check(&component()), Ok(SignatureStatus::Unsigned));
    }

    #[test]
    fn keys_round_trip_through_text_and_refuse_junk() {
        let key = SecretKey::generate("release-bot").unwrap();
        let back = SecretKey::from_text(&key.to_text()).unwrap();
        assert_eq!(back.public_key(), key.public_key());
        let public = PublicKey::from_text(&key.public_key().to_text()).unwrap();
        assert_eq!(public, key.public_key());
        assert!(PublicKey::from_text(&key.to_text()).is_err());
        assert!(PublicKey::from_text("airssys-ed25519 ops zz").is_err());
        assert!(SecretKey::generate("Not A Name").is_err());
    }
}
