//! Topics and topic patterns: the subjects of NATS.
//!
//! A topic is `.`-separated tokens (`orders.eu`); a pattern may also use `*` for one token and
//! `>` for one or more, as the last token only (`orders.>` matches `orders.eu` and
//! `orders.eu.de`, never `orders`). This module is the one implementation of that grammar: the
//! `storage`, `publish` and `subscribe` capability patterns use it with wildcards, a published
//! topic (and a concrete storage namespace) without.
//!
//! Tokens are restricted to ASCII letters, digits, `_` and `-`: the characters NATS recommends
//! for subjects, so every topic is a valid NATS subject with no escaping, and none can reach
//! NATS's reserved `$` subjects or its `_INBOX.` reply subjects by accident (`_INBOX` is a
//! valid token, but only a publish grant naming it lets a component use it).

use thiserror::Error;

use crate::capability::check_no_control;

/// The longest topic a component may publish on, in bytes.
pub const MAX_TOPIC_LEN: usize = 255;

/// A topic that cannot be published on: malformed, too long, or a pattern.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid topic `{topic}`: {reason}")]
pub struct TopicError {
    topic: String,
    reason: String,
}

impl TopicError {
    /// The topic given.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// What is wrong and how to fix it, without the topic itself.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// Checks that `topic` names one subject: tokens without wildcards, at most
/// [`MAX_TOPIC_LEN`] bytes.
///
/// ```
/// use airssys_contract::validate_topic;
/// assert!(validate_topic("orders.eu").is_ok());
/// let err = validate_topic("orders.*").unwrap_err();
/// assert!(err.reason().contains("subscriptions"));
/// assert!(validate_topic("orders..eu").unwrap_err().reason().contains("empty token"));
/// ```
pub fn validate_topic(topic: &str) -> Result<(), TopicError> {
    let reason = if topic.len() > MAX_TOPIC_LEN {
        Err(format!(
            "it is {} bytes long; use at most {MAX_TOPIC_LEN}",
            topic.len()
        ))
    } else {
        check_tokens(topic, Wildcards::Refused)
    };
    reason.map_err(|reason| TopicError {
        topic: topic.to_owned(),
        reason,
    })
}

/// Whether a token sequence may hold `*` and `>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wildcards {
    /// A pattern: `*` as any token, `>` as the last.
    Allowed,
    /// One subject.
    Refused,
}

/// Dot-separated tokens; with wildcards, `*` matches one token and `>` (last only) the rest.
pub(crate) fn check_tokens(text: &str, wildcards: Wildcards) -> Result<(), String> {
    check_no_control(text)?;
    let tokens: Vec<&str> = text.split('.').collect();
    for (i, token) in tokens.iter().enumerate() {
        match *token {
            "" => {
                return Err(
                    "it has an empty token; write dot-separated names like `app.cache`".into(),
                );
            }
            "*" | ">" if wildcards == Wildcards::Refused => {
                return Err(format!(
                    "`{token}` is a wildcard, for subscriptions and grants; a published topic names one subject (`orders.eu`)"
                ));
            }
            "*" => {}
            ">" if i + 1 == tokens.len() => {}
            ">" => {
                return Err(
                    "`>` matches the rest, so it must be the last token (`events.>`)".into(),
                );
            }
            t if t
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') => {}
            t => {
                return Err(format!(
                    "`{t}` is not a valid token; use letters, digits, `_` and `-`, or the wildcards `*` and `>` as whole tokens"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(topic: &str) -> String {
        validate_topic(topic).unwrap_err().reason().to_owned()
    }

    #[test]
    fn topics_are_subjects_without_wildcards() {
        for ok in ["orders", "orders.eu", "a-b.c_d.E1", "_INBOX"] {
            validate_topic(ok).unwrap();
        }
        for wildcard in ["orders.*", ">", "a.>", "*.a"] {
            assert!(reason(wildcard).contains("a wildcard"), "{wildcard}");
        }
        for empty in [".", "a.", ".a", "a..b"] {
            assert!(reason(empty).contains("empty token"), "{empty}");
        }
        for bad in ["a b", "a*", "a>", "$SYS.x", "a/b", "ä"] {
            assert!(reason(bad).contains("not a valid token"), "{bad}");
        }
        assert!(reason("").contains("empty"));
        assert!(reason("a\nb").contains("control"));
        validate_topic(&"a".repeat(MAX_TOPIC_LEN)).unwrap();
        assert!(reason(&"a".repeat(MAX_TOPIC_LEN + 1)).contains("at most 255"));
        assert_eq!(
            validate_topic("a.*").unwrap_err().to_string(),
            "invalid topic `a.*`: `*` is a wildcard, for subscriptions and grants; a published topic names one subject (`orders.eu`)"
        );
    }
}
