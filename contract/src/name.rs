//! Component names.

use thiserror::Error;

/// The longest component name accepted, in bytes.
pub const MAX_NAME_LEN: usize = 64;

/// Why a component name was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NameError {
    /// The name is empty.
    #[error("the component name is empty; use a kebab-case name such as \"greeter\"")]
    Empty,
    /// The name is longer than [`MAX_NAME_LEN`].
    #[error("the component name is {0} bytes long; use at most {MAX_NAME_LEN}")]
    TooLong(usize),
    /// The name has a character other than `a-z`, `0-9` and `-`, or does not start with a letter.
    #[error(
        "the component name `{0}` is not kebab-case; use lowercase letters, digits and `-`, starting with a letter (e.g. \"order-service\")"
    )]
    NotKebabCase(String),
}

/// Checks that `name` is a kebab-case component name (`order-service`, `greeter2`).
///
/// ```
/// assert!(airssys_contract::validate_name("order-service").is_ok());
/// assert!(airssys_contract::validate_name("Order_Service").is_err());
/// ```
pub fn validate_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong(name.len()));
    }
    let starts_with_letter = name.starts_with(|c: char| c.is_ascii_lowercase());
    let kebab = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !starts_with_letter || !kebab || name.ends_with('-') || name.contains("--") {
        return Err(NameError::NotKebabCase(name.to_owned()));
    }
    Ok(())
}
