//! The receiving side of a host in a cluster, and its announcements: one task that keeps a
//! queue subscription per local address (`reconcile`), hears publishes and other hosts'
//! announcements, and announces what this host runs.

use std::collections::BTreeSet;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use airssys_contract::{CapabilityKind, Payload};
use async_nats::{Message as NatsMessage, Subscriber};
use futures_core::Stream;
use tokio::sync::{OwnedSemaphorePermit, broadcast, mpsc};

use super::broker::{Core, MAX_INFLIGHT};
use super::envelope::{Envelope, Kind, Reply, unframe};
use super::presence::{Announcement, HEARTBEAT};
use crate::broker::{Broker, Deadline};
use crate::mail::Message;
use crate::{Error, Event, Result};

/// The longest a receiving host keeps of the sender's remaining time for itself: it answers
/// with its own typed error (mailbox full, timeout) just before the sender would give up.
const REPLY_MARGIN: Duration = Duration::from_millis(20);

/// Runs until aborted: subscribes to publishes and announcements, then reconciles and
/// announces at every lifecycle event, subscription change and heartbeat.
pub(super) async fn run(core: Arc<Core>, mut events: broadcast::Receiver<Event>) {
    let (topics, presences) = loop {
        match subscribe_shared(&core).await {
            Ok(subscribers) => break subscribers,
            Err(err) => {
                tracing::warn!(target: "airssys::host", %err, "cannot subscribe to the cluster's subjects; retrying");
                tokio::time::sleep(HEARTBEAT).await;
            }
        }
    };
    // One task for all three, so aborting it ends them together.
    let keep_up = async {
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        loop {
            tokio::select! {
                _ = heartbeat.tick() => {}
                () = core.changed.notified() => {}
                event = events.recv() => if let Err(broadcast::error::RecvError::Closed) = event {
                    return;
                },
            }
            reconcile(&core).await;
            announce(&core).await;
        }
    };
    tokio::join!(
        keep_up,
        hear_publishes(core.clone(), topics),
        hear_presences(core.clone(), presences)
    );
}

async fn subscribe_shared(
    core: &Core,
) -> Result<(Subscriber, Subscriber), async_nats::SubscribeError> {
    let topics = core.client.subscribe(core.subjects.topics()).await?;
    let presences = core.client.subscribe(core.subjects.presences()).await?;
    Ok((topics, presences))
}

/// Subscribes each address this host serves (in the queue group named after it) and
/// unsubscribes those it no longer serves.
async fn reconcile(core: &Arc<Core>) {
    let wanted: BTreeSet<String> = core
        .registry
        .list()
        .iter()
        .filter(|entry| !entry.state().is_final())
        .map(|entry| entry.address().to_owned())
        .collect();
    let missing: Vec<String> = {
        let mut serving = core.serving.lock().unwrap_or_else(|p| p.into_inner());
        serving.retain(|address, task| {
            let keep = wanted.contains(address);
            if !keep {
                task.abort();
            }
            keep
        });
        wanted
            .into_iter()
            .filter(|address| !serving.contains_key(address))
            .collect()
    };
    for address in missing {
        let subject = core.subjects.address(&address);
        match core.client.queue_subscribe(subject, address.clone()).await {
            Ok(subscriber) => {
                let task = tokio::spawn(serve_address(core.clone(), address.clone(), subscriber));
                let mut serving = core.serving.lock().unwrap_or_else(|p| p.into_inner());
                serving.insert(address, task.abort_handle());
            }
            Err(err) => {
                tracing::warn!(target: "airssys::host", address, %err, "cannot serve the address to the cluster; retrying at the next heartbeat");
            }
        }
    }
}

/// Tells the other hosts what this one runs.
async fn announce(core: &Core) {
    let announcement = Announcement::of(&core.host, &core.registry);
    let Ok(body) = serde_json::to_vec(&announcement) else {
        return;
    };
    if let Err(err) = core
        .client
        .publish(core.subjects.presence(&core.host), body.into())
        .await
    {
        tracing::debug!(target: "airssys::host", %err, "announcement not sent");
    }
}

async fn next(subscriber: &mut Subscriber) -> Option<NatsMessage> {
    std::future::poll_fn(|cx| Pin::new(&mut *subscriber).poll_next(cx)).await
}

/// Takes sends and requests for `address` from other hosts, each under a permit; without
/// one, the sender is told at once that this host is full.
async fn serve_address(core: Arc<Core>, address: String, mut subscriber: Subscriber) {
    while let Some(delivery) = next(&mut subscriber).await {
        let Some(reply_to) = delivery.reply.clone() else {
            continue;
        };
        match core.inflight.clone().try_acquire_owned() {
            Ok(permit) => {
                let core = core.clone();
                let address = address.clone();
                tokio::spawn(async move {
                    let reply = match deliver(&core, &address, &delivery.payload).await {
                        Ok(payload) => Reply::encode(Ok(payload)),
                        Err(err) => Reply::encode(Err(&err)),
                    };
                    if let Err(err) = core.client.publish(reply_to, reply).await {
                        tracing::debug!(target: "airssys::host", address, %err, "reply not sent");
                    }
                    drop(permit);
                });
            }
            Err(_) => {
                let full = Error::MailboxFull {
                    component: address.clone(),
                    capacity: MAX_INFLIGHT,
                    waited: Duration::ZERO,
                };
                let _ = core
                    .client
                    .publish(reply_to, Reply::encode(Err(&full)))
                    .await;
            }
        }
    }
}

/// The deadline a delivery from another host runs under: the sender's, a little earlier.
fn deadline_of(head: &Envelope) -> Deadline {
    let timeout = Duration::from_micros(head.timeout);
    let margin = (timeout / 8).min(REPLY_MARGIN);
    Deadline::after(timeout - margin, None)
}

fn message_of(head: Envelope, topic: Option<&str>, body: &[u8]) -> Message {
    let sent = head.sent_at();
    Message::new(
        head.source.map(Arc::from),
        topic.map(Arc::from),
        Payload::new(head.content_type, body),
        sent,
    )
}

/// Delivers a send or request from another host to the local component at `address`, once
/// this host's `[cluster] remote` lets its sender reach it.
async fn deliver(core: &Core, address: &str, bytes: &bytes::Bytes) -> Result<Option<Payload>> {
    let (head, body) = unframe::<Envelope>(bytes).map_err(|reason| Error::Unavailable {
        address: address.to_owned(),
        reason: format!("the delivery does not decode ({reason})"),
    })?;
    core.admission.check(
        head.source.as_deref(),
        &head.host,
        CapabilityKind::Message,
        address,
    )?;
    let mut deadline = deadline_of(&head);
    let kind = head.kind;
    let message = message_of(head, None, &body);
    match kind {
        Kind::Send => core
            .registry
            .send(address, message, &mut deadline)
            .await
            .map(|()| None),
        Kind::Request => core
            .registry
            .request(address, message, &mut deadline)
            .await
            .map(Some),
        Kind::Publish => Err(Error::Unavailable {
            address: address.to_owned(),
            reason: "a publish came on an address's subject".into(),
        }),
    }
}

/// Offers publishes from other hosts to this host's subscribers, in the order NATS brought
/// them (so one sender's publishes keep their order). A publish from this host (delivered
/// here already), one its sender may not make here, or one that finds every permit taken is
/// skipped: publishes are at most once.
async fn hear_publishes(core: Arc<Core>, mut subscriber: Subscriber) {
    let (queue, mut queued) =
        mpsc::unbounded_channel::<(Message, Deadline, OwnedSemaphorePermit)>();
    let admit = async {
        let queue = queue; // dropped when NATS ends the subscription, which ends `deliver`
        while let Some(delivery) = next(&mut subscriber).await {
            let Some(topic) = core.subjects.topic_of(&delivery.subject) else {
                continue;
            };
            let Ok((head, body)) = unframe::<Envelope>(&delivery.payload) else {
                continue;
            };
            if head.host == core.host {
                continue;
            }
            if let Err(err) = core.admission.check(
                head.source.as_deref(),
                &head.host,
                CapabilityKind::Publish,
                topic,
            ) {
                tracing::debug!(target: "airssys::host", topic, %err, "publish from another host refused");
                continue;
            }
            // The permit bounds the queue: at most MAX_INFLIGHT deliveries wait in it.
            let Ok(permit) = core.inflight.clone().try_acquire_owned() else {
                tracing::debug!(target: "airssys::host", topic, "publish from another host skipped: too many deliveries under way");
                continue;
            };
            let deadline = deadline_of(&head);
            let _ = queue.send((message_of(head, Some(topic), &body), deadline, permit));
        }
    };
    // One at a time: a subscriber with room takes it at once; a full one holds the next
    // publishes for at most this one's deadline, and those whose deadlines passed meanwhile
    // skip it at once.
    let deliver = async {
        while let Some((message, mut deadline, permit)) = queued.recv().await {
            let _ = core.registry.publish(message, &mut deadline).await;
            drop(permit);
        }
    };
    tokio::join!(admit, deliver);
}

/// Keeps the table of other hosts.
async fn hear_presences(core: Arc<Core>, mut subscriber: Subscriber) {
    while let Some(delivery) = next(&mut subscriber).await {
        match serde_json::from_slice::<Announcement>(&delivery.payload) {
            Ok(announcement) if announcement.host != core.host => core.peers.heard(announcement),
            Ok(_) => {}
            Err(err) => {
                tracing::debug!(target: "airssys::host", %err, "an announcement that does not decode");
            }
        }
    }
}
