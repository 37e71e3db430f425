//! One write on JetStream as an optimistic transaction, so the contract's write rules
//! ([`Mutation`]) run unchanged: read what the write touches (its keys and the namespace's
//! usage), apply the rules to that snapshot, then publish every change in one atomic batch
//! (ADR-50) in which each message expects its key's last sequence to be the one read. If
//! another writer (on this host or another) changed any of them in between, the server refuses
//! the whole batch and the write runs again on fresh reads; a refusal by the rules themselves
//! (quota, compare-and-swap, integer) is the answer.

use std::collections::HashMap;
use std::time::Duration;

use async_nats::jetstream::ErrorCode;
use async_nats::jetstream::kv;
use async_nats::jetstream::publish::PublishAck;
use async_nats::jetstream::response::Response;
use async_nats::{HeaderMap, HeaderValue, header};
use bytes::Bytes;

use airssys_contract::storage::{Entry, Result, StorageError, Table, Usage, entry_size};

use super::names::{USAGE_KEY, encode_key};

/// What the header of a message may take, besides its value, within the stream's
/// `max_message_size`.
pub(super) const HEADER_ALLOWANCE: usize = 512;

/// What a key held when the write read it: its entry (`None`: absent or deleted) and the
/// sequence of the last message on its subject (0: none), which the commit expects.
#[derive(Debug, Clone)]
pub(super) struct Read {
    pub(super) entry: Option<Entry>,
    pub(super) sequence: u64,
}

impl Read {
    pub(super) fn from_kv(entry: Option<kv::Entry>) -> Self {
        match entry {
            None => Self {
                entry: None,
                sequence: 0,
            },
            Some(entry) => Self {
                sequence: entry.revision,
                entry: matches!(entry.operation, kv::Operation::Put).then(|| Entry {
                    value: entry.value,
                    revision: airssys_contract::storage::Revision::new(entry.revision),
                }),
            },
        }
    }
}

/// A namespace as one write sees it: the keys it read, and what it changed (each key's final
/// state, in the order first written).
pub(super) struct Snapshot {
    reads: HashMap<Vec<u8>, Read>,
    writes: Vec<(Vec<u8>, Option<Entry>)>,
    written: HashMap<Vec<u8>, usize>,
    backend: String,
}

impl Snapshot {
    pub(super) fn new(backend: String, reads: HashMap<Vec<u8>, Read>) -> Self {
        Self {
            reads,
            writes: Vec::new(),
            written: HashMap::new(),
            backend,
        }
    }

    fn current(&self, key: &[u8]) -> Result<Option<Entry>> {
        if let Some(&at) = self.written.get(key) {
            return Ok(self.writes[at].1.clone());
        }
        match self.reads.get(key) {
            Some(read) => Ok(read.entry.clone()),
            None => Err(StorageError::Unavailable {
                backend: self.backend.clone(),
                reason: "a write touched a key it did not read first (a bug in airssys)".into(),
            }),
        }
    }

    fn note(&mut self, key: Vec<u8>, state: Option<Entry>) {
        match self.written.get(&key) {
            Some(&at) => self.writes[at].1 = state,
            None => {
                self.written.insert(key.clone(), self.writes.len());
                self.writes.push((key, state));
            }
        }
    }

    /// The messages that make the changes: a value or a delete marker per changed key, each
    /// expecting the last sequence read on its subject; keys deleted that were already absent
    /// need none.
    pub(super) fn messages(&self, prefix: &str) -> Vec<Outbound> {
        self.writes
            .iter()
            .filter_map(|(key, state)| {
                let read = self.reads.get(key)?;
                let subject = format!("{prefix}{}", encode_key(key));
                match state {
                    Some(entry) => Some(Outbound::put(
                        subject,
                        read.sequence,
                        entry.value.clone(),
                        Some(key.clone()),
                    )),
                    None if read.entry.is_some() => {
                        Some(Outbound::delete(subject, read.sequence, key.clone()))
                    }
                    None => None,
                }
            })
            .collect()
    }
}

impl Table for Snapshot {
    fn get(&self, key: &[u8]) -> Result<Option<Entry>> {
        self.current(key)
    }

    fn size(&self, key: &[u8]) -> Result<Option<u64>> {
        Ok(self
            .current(key)?
            .map(|entry| entry_size(key, &entry.value)))
    }

    fn insert(&mut self, key: Vec<u8>, entry: Entry) -> Result<()> {
        self.note(key, Some(entry));
        Ok(())
    }

    fn remove(&mut self, key: &[u8]) -> Result<()> {
        self.note(key.to_vec(), None);
        Ok(())
    }
}

/// The usage key's value: JSON, so `nats kv get` shows it.
pub(super) fn usage_from(read: &Read, backend: &str) -> Result<Usage> {
    let Some(entry) = &read.entry else {
        return Ok(Usage::default());
    };
    let parsed: Option<(u64, u64)> = serde_json::from_slice::<serde_json::Value>(&entry.value)
        .ok()
        .and_then(|doc| Some((doc["keys"].as_u64()?, doc["bytes"].as_u64()?)));
    let (keys, bytes) = parsed.ok_or_else(|| StorageError::Unavailable {
        backend: backend.to_owned(),
        reason: format!(
            "its `{USAGE_KEY}` key holds something airssys did not write; restore it or remove the bucket"
        ),
    })?;
    Ok(Usage { keys, bytes })
}

pub(super) fn usage_message(prefix: &str, read: &Read, usage: Usage) -> Outbound {
    let doc = serde_json::json!({"keys": usage.keys, "bytes": usage.bytes});
    Outbound::put(
        format!("{prefix}{USAGE_KEY}"),
        read.sequence,
        Bytes::from(doc.to_string()),
        None,
    )
}

/// One message of a commit.
pub(super) struct Outbound {
    subject: String,
    headers: HeaderMap,
    pub(super) payload: Bytes,
    /// The data key it writes (none for the usage key).
    key: Option<Vec<u8>>,
}

impl Outbound {
    fn put(subject: String, expect: u64, payload: Bytes, key: Option<Vec<u8>>) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::NATS_EXPECTED_LAST_SUBJECT_SEQUENCE,
            HeaderValue::from(expect),
        );
        Self {
            subject,
            headers,
            payload,
            key,
        }
    }

    fn delete(subject: String, expect: u64, key: Vec<u8>) -> Self {
        let mut message = Self::put(subject, expect, Bytes::new(), Some(key));
        message.headers.insert("KV-Operation", "DEL");
        message
    }
}

/// Why a commit did not happen.
pub(super) enum Failure {
    /// Another writer changed a key this write read: run it again.
    Raced,
    /// The server could not be reached or refused the batch.
    Failed(String),
}

/// The revision of each data key a commit wrote.
pub(super) type Revisions = HashMap<Vec<u8>, u64>;

/// Publishes `messages` all or none and returns the sequence each data key got. One message
/// is an ordinary publish; more are one atomic batch, whose messages the server stores with
/// consecutive sequences ending at the sequence of the commit's acknowledgement.
pub(super) async fn commit(
    client: &async_nats::Client,
    timeout: Duration,
    mut messages: Vec<Outbound>,
) -> Result<Revisions, Failure> {
    let count = messages.len() as u64;
    let Some(mut last) = messages.pop() else {
        return Ok(Revisions::new());
    };
    if !messages.is_empty() {
        let id = batch_id();
        for (at, message) in messages.iter_mut().enumerate() {
            message.headers.insert("Nats-Batch-Id", id.as_str());
            message
                .headers
                .insert("Nats-Batch-Sequence", HeaderValue::from(at as u64 + 1));
        }
        last.headers.insert("Nats-Batch-Id", id.as_str());
        last.headers
            .insert("Nats-Batch-Sequence", HeaderValue::from(count));
        last.headers.insert("Nats-Batch-Commit", "1");
        for message in &messages {
            client
                .publish_with_headers(
                    message.subject.clone(),
                    message.headers.clone(),
                    message.payload.clone(),
                )
                .await
                .map_err(|err| Failure::Failed(err.to_string()))?;
        }
    }
    let request = async_nats::Request::new()
        .headers(last.headers.clone())
        .payload(last.payload.clone())
        .timeout(Some(timeout));
    let reply = client
        .send_request(last.subject.clone(), request)
        .await
        .map_err(|err| Failure::Failed(err.to_string()))?;
    let ack: Response<PublishAck> = serde_json::from_slice(&reply.payload).map_err(|err| {
        Failure::Failed(format!("the server's acknowledgement is not JSON ({err})"))
    })?;
    let ack = match ack {
        Response::Ok(ack) => ack,
        Response::Err { error } if error.error_code() == ErrorCode::STREAM_WRONG_LAST_SEQUENCE => {
            return Err(Failure::Raced);
        }
        Response::Err { error } => return Err(Failure::Failed(error.to_string())),
    };
    let first = ack.sequence + 1 - count;
    messages.push(last);
    Ok(messages
        .into_iter()
        .zip(first..)
        .filter_map(|(message, sequence)| message.key.map(|key| (key, sequence)))
        .collect())
}

/// A batch id unique across hosts: 16 random bytes in hex.
fn batch_id() -> String {
    let mut bytes = [0u8; 16];
    // Without randomness a clock-based id still keeps this host's batches apart.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        bytes = nanos.to_le_bytes();
    }
    hex::encode(bytes)
}
