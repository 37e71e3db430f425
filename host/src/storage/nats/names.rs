//! Where a namespace and its keys live in NATS: bucket names and key encoding, both injective,
//! so no two namespaces share a bucket and no two keys share a subject, whatever their bytes.

use sha2::{Digest, Sha256};

/// Every bucket of airssys starts with this.
const PREFIX: &str = "airssys-";

/// The longest bucket name: the stream is `KV_<bucket>`, and stream names (which name a
/// folder on the server) stay within 255 bytes.
const MAX_BUCKET_LEN: usize = 255 - "KV_".len();

/// The key that holds a namespace's usage (keys and bytes). Data keys are lowercase hex, so
/// a name with other letters can never be a data key.
pub(super) const USAGE_KEY: &str = "usage";

/// The longest key, in bytes: hex doubles it, and a subject must fit NATS's 4 KiB control line
/// with the bucket's name and the publish's headers.
pub(super) const MAX_KEY_LEN: usize = 1_536;

/// The bucket of `namespace` in application `app`: `airssys-<app>-<namespace>`, with `_`
/// written `_u`, `-` written `_h` and the namespace's dots written `-`, so the name decodes
/// back (the first `-` after the prefix ends the application). A name too long for NATS
/// becomes `airssys-<app>-_x<sha-256 of the namespace>`, which no readable name can be.
pub(super) fn bucket(app: &str, namespace: &str) -> String {
    let readable = format!("{PREFIX}{}-{}", escape(app), escape(namespace));
    if readable.len() <= MAX_BUCKET_LEN {
        return readable;
    }
    let digest = hex::encode(Sha256::digest(namespace.as_bytes()));
    format!("{PREFIX}{}-_x{digest}", escape(app))
}

/// The start of every bucket name of `app`.
pub(super) fn app_prefix(app: &str) -> String {
    format!("{PREFIX}{}-", escape(app))
}

fn escape(name: &str) -> String {
    let mut escaped = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '_' => escaped.push_str("_u"),
            '-' => escaped.push_str("_h"),
            '.' => escaped.push('-'),
            c => escaped.push(c),
        }
    }
    escaped
}

/// A key as its NATS key: lowercase hex. Hex keeps the byte order (`00` < `0a` < `ff`, and a
/// prefix stays a prefix), so sorting encoded keys sorts the keys.
pub(super) fn encode_key(key: &[u8]) -> String {
    hex::encode(key)
}

/// The key of a NATS key, or `None` for one airssys did not write (the usage key, or a key
/// written by another NATS client).
pub(super) fn decode_key(key: &str) -> Option<Vec<u8>> {
    let is_lower_hex = key
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    is_lower_hex.then(|| hex::decode(key).ok()).flatten()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn bucket_names_never_collide() {
        let pairs = [
            ("a", "b.c"),
            ("a", "b-c"),
            ("a", "b_c"),
            ("a", "b_hc"),
            ("a", "b_uc"),
            ("a-b", "c"),
            ("a_b", "c"),
            ("a", "b-c.d"),
            ("a", "b.c-d"),
            ("a_h", "b"),
        ];
        let names: HashSet<String> = pairs.iter().map(|(a, n)| bucket(a, n)).collect();
        assert_eq!(names.len(), pairs.len(), "{names:?}");
        for name in &names {
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
                "{name}"
            );
        }
        assert_eq!(bucket("shop", "app.cart"), "airssys-shop-app-cart");
        assert!(bucket("shop", "a.b").starts_with(&app_prefix("shop")));
        assert!(!bucket("shop-x", "a").starts_with(&app_prefix("shop")));
    }

    #[test]
    fn long_namespaces_are_hashed_within_the_limit() {
        let long = "n_".repeat(127);
        let name = bucket("shop", &long);
        assert!(name.len() <= MAX_BUCKET_LEN, "{}", name.len());
        assert!(name.starts_with("airssys-shop-_x"), "{name}");
        assert_ne!(name, bucket("shop", &"n-".repeat(127)));
    }

    #[test]
    fn keys_keep_their_byte_order() {
        let mut keys: Vec<Vec<u8>> = vec![
            vec![0xff],
            vec![0],
            vec![0, 0],
            b"a".to_vec(),
            b"a.b".to_vec(),
            b"a\0".to_vec(),
            vec![0x0a],
            vec![0xa0],
        ];
        let mut encoded: Vec<String> = keys.iter().map(|k| encode_key(k)).collect();
        keys.sort();
        encoded.sort();
        let decoded: Vec<Vec<u8>> = encoded.iter().map(|k| decode_key(k).unwrap()).collect();
        assert_eq!(decoded, keys);
        assert_eq!(decode_key(USAGE_KEY), None);
        assert_eq!(decode_key("ABCD"), None);
    }
}
