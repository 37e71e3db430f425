//! Who a running component is, as operators read it in errors, events and audit lines.

use std::fmt;

use serde::Serialize;

/// A running component's identity: the address the operator runs it under, the name and
/// version its manifest declares, and the SHA-256 of its bytes.
///
/// The manifest's `name@version` is chosen by the component itself, so it alone cannot tell
/// two operator entries of one binary apart, or a plugin calling itself `billing` from the
/// real one. The address (unique within a [`Host`](crate::Host)) and the hash can.
///
/// It displays as `address (name@version)`, shortened to `name@version` when the address is
/// the manifest's name (the default). Addresses cannot contain `@`, so the two forms never
/// collide.
///
/// ```
/// # async fn run() -> airssys_host::Result<()> {
/// let host = airssys_host::Host::new()?;
/// let billing = host
///     .load_with("plugin.wasm", airssys_host::LoadOptions::new().address("billing-plugin"))
///     .await?;
/// let id = billing.identity();
/// println!("{id}: {} bytes hashed to {}", billing.manifest().name(), id.hash);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub struct Identity {
    /// The operator's name for the component: the key in `airssys.toml`, or
    /// [`LoadOptions::address`](crate::LoadOptions::address); by default the manifest's name.
    pub address: String,
    /// The name the component's manifest declares.
    pub name: String,
    /// The version the component's manifest declares.
    pub version: String,
    /// The SHA-256 of the component's bytes, as 64 lowercase hex digits.
    pub hash: String,
}

impl Identity {
    pub(crate) fn new(address: String, name: &str, version: &str, hash: String) -> Self {
        Self {
            address,
            name: name.to_owned(),
            version: version.to_owned(),
            hash,
        }
    }

    /// `name@version`, as the component's manifest declares it.
    pub fn label(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.address == self.name {
            write!(f, "{}@{}", self.name, self.version)
        } else {
            write!(f, "{} ({}@{})", self.address, self.name, self.version)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_address_when_it_differs() {
        let id = |address: &str| Identity::new(address.into(), "billing", "1.2.0", "ab".into());
        assert_eq!(id("billing").to_string(), "billing@1.2.0");
        assert_eq!(id("plugin-7").to_string(), "plugin-7 (billing@1.2.0)");
        assert_eq!(id("plugin-7").label(), "billing@1.2.0");
    }
}
