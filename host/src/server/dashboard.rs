//! The dashboard: `GET /` is one page embedded in the binary (`dashboard.html`), which reads
//! `GET /api/state` once and then follows `GET /api/events`, a stream of server-sent events,
//! each a fresh snapshot of the host: components with their versions, states, health and
//! counters, and the recent lifecycle and audit events.
//!
//! Reading needs nothing; changing (deploy, promote, abort, roll back, retire) goes through
//! the admin API (`/v1`, `admin.rs`) like the CLI's, with the token the operator pastes into
//! the page, sent as a bearer header: the page holds no power of its own. It may not be
//! framed by another site (`frame-ancestors 'none'`), so its buttons cannot be clicked
//! through a disguise.
//!
//! One task per server ([`Board::run`]) makes the snapshots: at least every second, within
//! [`SETTLE`] of a lifecycle event, and asks each component for its health every
//! [`HEALTH_EVERY`]. Every page shares them through a `watch` channel, so ten open
//! dashboards cost what one does.

use std::collections::{BTreeMap, VecDeque};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Frame;
use hyper::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, HeaderValue, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use hyper::{Response, StatusCode};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{mpsc, watch};

use super::State;
use super::body::{Body, BoxError, full};
use crate::{AuditEvent, Event, EventKind, Health, Host};

/// The page, with its style and script inline.
const PAGE: &str = include_str!("dashboard.html");
/// Lifecycle and audit events kept for the page, each.
const RECENT: usize = 40;
/// The longest a snapshot waits after a change.
const SETTLE: Duration = Duration::from_millis(200);
/// A snapshot at least this often, for counters and memory.
const TICK: Duration = Duration::from_secs(1);
/// How often each component is asked for its health, and how long it may take to answer.
const HEALTH_EVERY: Duration = Duration::from_secs(5);
const HEALTH_WITHIN: Duration = Duration::from_secs(1);

/// The latest snapshot and what goes into the next.
pub(crate) struct Board {
    latest: watch::Sender<Bytes>,
    lifecycle: Mutex<VecDeque<Value>>,
    audit: Mutex<VecDeque<Value>>,
    health: Mutex<BTreeMap<String, Value>>,
}

impl Board {
    pub(crate) fn new() -> Self {
        Self {
            latest: watch::channel(Bytes::from_static(b"{}")).0,
            lifecycle: Mutex::default(),
            audit: Mutex::default(),
            health: Mutex::default(),
        }
    }

    /// Makes snapshots until the server stops.
    pub(crate) async fn run(state: Arc<State>) {
        let board = &state.board;
        let host = &state.host;
        let mut events = host.events();
        let mut audit = host.audit_events();
        let mut closing = state.closing.clone();
        let mut tick = tokio::time::interval(TICK);
        let mut health = tokio::time::interval(HEALTH_EVERY);
        let mut dirty = true;
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Ok(event) => {
                        keep(&board.lifecycle, lifecycle(&event));
                        dirty = true;
                    }
                    Err(RecvError::Lagged(_)) => dirty = true,
                    Err(RecvError::Closed) => return,
                },
                decision = audit.recv() => match decision {
                    Ok(decision) => keep(&board.audit, audited(&decision)),
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return,
                },
                _ = health.tick() => {
                    board.check_health(host).await;
                    dirty = true;
                }
                _ = tick.tick() => dirty = true,
                _ = closing.changed() => return,
            }
            if dirty {
                // Let a burst of events (a deploy's) settle into one snapshot.
                tokio::time::sleep(SETTLE).await;
                board.latest.send_replace(board.snapshot(&state));
                dirty = false;
            }
        }
    }

    /// Asks every running component for its health, all at once, each within
    /// [`HEALTH_WITHIN`].
    async fn check_health(&self, host: &Host) {
        let mut asked = tokio::task::JoinSet::new();
        for info in host
            .components()
            .into_iter()
            .filter(|c| !c.state.is_final())
        {
            let Some(component) = host.component(&info.identity.address) else {
                continue;
            };
            asked.spawn(async move {
                let health = match tokio::time::timeout(HEALTH_WITHIN, component.health()).await {
                    Ok(Ok(Health::Healthy)) => json!({"status": "healthy"}),
                    Ok(Ok(Health::Degraded(why))) => json!({"status": "degraded", "detail": why}),
                    Ok(Ok(Health::Unhealthy(why))) => {
                        json!({"status": "unhealthy", "detail": why})
                    }
                    Ok(Err(err)) => json!({"status": "unknown", "detail": err.to_string()}),
                    Err(_) => json!({"status": "unknown", "detail": "no answer within 1s (busy?)"}),
                };
                (info.identity.address, health)
            });
        }
        let mut checked = BTreeMap::new();
        while let Some(Ok((address, health))) = asked.join_next().await {
            checked.insert(address, health);
        }
        *lock(&self.health) = checked;
    }

    /// The host now, as the page reads it.
    fn snapshot(&self, state: &State) -> Bytes {
        let host = &state.host;
        let health = lock(&self.health).clone();
        let components: Vec<Value> = host
            .components()
            .into_iter()
            .map(|c| {
                let address = &c.identity.address;
                let versions: Vec<Value> = host
                    .versions(address)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|v| {
                        json!({
                            "id": v.id,
                            "version": v.identity.version,
                            "name": v.identity.name,
                            "hash": v.identity.hash,
                            "state": v.state,
                            "instances": v.instances,
                            "source": v.source,
                            "signature": v.signature.to_string(),
                            "loaded_ms": millis(v.loaded_at),
                            "requests": v.stats.requests,
                            "errors": v.stats.errors,
                        })
                    })
                    .collect();
                json!({
                    "address": address,
                    "name": c.identity.name,
                    "version": c.identity.version,
                    "hash": c.identity.hash,
                    "state": c.state.to_string(),
                    "health": health.get(address).cloned().unwrap_or(Value::Null),
                    "uptime_ms": c.uptime.as_millis() as u64,
                    "instances": c.instances,
                    "queued": c.queued,
                    "memory": c.memory.current,
                    "memory_peak": c.memory.peak,
                    "requests": c.stats.requests,
                    "messages": c.stats.messages,
                    "errors": c.stats.errors,
                    "traps": c.stats.traps,
                    "restarts": c.stats.restarts,
                    "denials": c.stats.denials,
                    "deploying": c.deploying,
                    "versions": versions,
                })
            })
            .collect();
        let usage = host.usage();
        let snapshot = json!({
            "time_ms": millis(SystemTime::now()),
            "admin": state.settings.admin.is_some(),
            "host": { "instances": usage.instances, "memory": usage.memory },
            "components": components,
            "lifecycle": Vec::from(lock(&self.lifecycle).clone()),
            "audit": Vec::from(lock(&self.audit).clone()),
        });
        Bytes::from(snapshot.to_string())
    }
}

/// `GET /`: the page, which only its own origin may frame, fetch from or post to.
pub(crate) fn page() -> Response<Body> {
    let mut response = full(StatusCode::OK, "text/html; charset=utf-8", PAGE);
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
             img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /api/state`: the latest snapshot.
pub(crate) fn state(server: &State) -> Response<Body> {
    let latest = server.board.latest.borrow().clone();
    full(StatusCode::OK, "application/json", latest)
}

/// `GET /api/events`: each snapshot as it is made, as server-sent events, until the client
/// goes or the server stops.
pub(crate) fn events(server: &State) -> Response<Body> {
    let mut snapshots = server.board.latest.subscribe();
    let mut closing = server.closing.clone();
    let (sender, receiver) = mpsc::channel::<Bytes>(4);
    tokio::spawn(async move {
        loop {
            let event = {
                let snapshot = snapshots.borrow_and_update();
                let mut event = Vec::with_capacity(snapshot.len() + 16);
                event.extend_from_slice(b"data: ");
                event.extend_from_slice(&snapshot);
                event.extend_from_slice(b"\n\n");
                Bytes::from(event)
            };
            if sender.send(event).await.is_err() {
                return;
            }
            tokio::select! {
                changed = snapshots.changed() => if changed.is_err() { return },
                _ = closing.changed() => return,
                () = sender.closed() => return,
            }
        }
    });
    let mut response = Response::new(Stream(receiver).boxed_unsync());
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A body of the chunks a channel receives, ending when its sender does.
struct Stream(mpsc::Receiver<Bytes>);

impl hyper::body::Body for Stream {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|c| Ok(Frame::data(c))))
    }
}

fn keep(recent: &Mutex<VecDeque<Value>>, value: Value) {
    let mut recent = lock(recent);
    recent.push_front(value);
    recent.truncate(RECENT);
}

/// A lifecycle event as the page lists it.
fn lifecycle(event: &Event) -> Value {
    let (kind, detail) = match &event.kind {
        EventKind::Starting => ("starting", String::new()),
        EventKind::Started => ("started", String::new()),
        EventKind::Trapped(trap) => ("trapped", trap.to_string()),
        EventKind::Restarted { restarts } => ("restarted", format!("restart {restarts}")),
        EventKind::Stopping => ("stopping", String::new()),
        EventKind::Stopped { reason } => ("stopped", reason.clone()),
        EventKind::Escalated(trap) => ("escalated", trap.to_string()),
        EventKind::Version { id, state, detail } => (
            "version",
            match detail {
                Some(detail) => format!("version {id} {state}: {detail}"),
                None => format!("version {id} {state}"),
            },
        ),
    };
    json!({
        "time_ms": millis(SystemTime::now()),
        "address": event.component.address,
        "component": event.component.label(),
        "state": event.state.to_string(),
        "kind": kind,
        "detail": detail,
    })
}

/// An audit decision as the page lists it.
fn audited(decision: &AuditEvent) -> Value {
    json!({
        "time_ms": decision.time_ms,
        "address": decision.address,
        "component": format!("{}@{}", decision.component, decision.version),
        "capability": decision.capability.key(),
        "resource": decision.resource,
        "outcome": decision.outcome,
    })
}

fn millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // What the board keeps stays consistent even if a holder panicked.
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
