//! The next release of `web` (1.1.0): the same source, built with this crate's version, so the
//! dashboard can deploy it over `web@1.0.0` and roll it back.

include!("../../web/src/lib.rs");
