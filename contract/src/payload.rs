//! Message bodies: bytes with a content type, and serde helpers over them.

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::Error;

/// Content type of JSON payloads.
pub const CONTENT_TYPE_JSON: &str = "application/json";
/// Content type of UTF-8 text payloads.
pub const CONTENT_TYPE_TEXT: &str = "text/plain; charset=utf-8";
/// Content type of opaque bytes.
pub const CONTENT_TYPE_BYTES: &str = "application/octet-stream";

/// A message body: bytes, and the media type that says how to read them.
///
/// Guest and host use this same type, so a value encoded on one side decodes on the other:
///
/// ```
/// use airssys_contract::Payload;
/// #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
/// struct Greet { name: String }
///
/// let payload = Payload::json(&Greet { name: "Ada".into() }).unwrap();
/// assert_eq!(payload.content_type(), "application/json");
/// assert_eq!(payload.decode_json::<Greet>().unwrap(), Greet { name: "Ada".into() });
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    content_type: String,
    body: Vec<u8>,
}

impl Payload {
    /// A payload of `body` read as `content_type`.
    pub fn new(content_type: impl Into<String>, body: impl Into<Vec<u8>>) -> Self {
        Self {
            content_type: content_type.into(),
            body: body.into(),
        }
    }

    /// `value` serialized as JSON (`application/json`).
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Self, Error> {
        serde_json::to_vec(value)
            .map(|body| Self::new(CONTENT_TYPE_JSON, body))
            .map_err(|err| Error::internal(format!("cannot encode JSON: {err}")))
    }

    /// UTF-8 text (`text/plain; charset=utf-8`).
    pub fn text(text: impl Into<String>) -> Self {
        Self::new(CONTENT_TYPE_TEXT, text.into())
    }

    /// Opaque bytes (`application/octet-stream`).
    pub fn bytes(body: impl Into<Vec<u8>>) -> Self {
        Self::new(CONTENT_TYPE_BYTES, body)
    }

    /// The media type.
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// The raw body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Content type and body, by value.
    pub fn into_parts(self) -> (String, Vec<u8>) {
        (self.content_type, self.body)
    }

    /// True for `application/json`, any `+json` type, and a missing content type.
    pub fn is_json(&self) -> bool {
        let essence = self.content_type.split(';').next().unwrap_or("").trim();
        essence.is_empty()
            || essence.eq_ignore_ascii_case(CONTENT_TYPE_JSON)
            || essence.to_ascii_lowercase().ends_with("+json")
    }

    /// Decodes a JSON body into `T`.
    ///
    /// Fails with [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the content
    /// type is not JSON or the body does not decode, naming what was expected.
    pub fn decode_json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        if !self.is_json() {
            return Err(Error::invalid_input(format!(
                "expected a JSON payload (application/json), got `{}`",
                self.content_type
            )));
        }
        serde_json::from_slice(&self.body).map_err(|err| {
            Error::invalid_input(format!(
                "payload is not a valid {}: {err}",
                std::any::type_name::<T>()
            ))
        })
    }

    /// The body as UTF-8 text.
    pub fn as_text(&self) -> Result<&str, Error> {
        Ok(std::str::from_utf8(&self.body)?)
    }
}
