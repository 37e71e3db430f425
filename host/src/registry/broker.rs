//! The in-process broker: the registry delivers by address through each entry's route, and
//! by topic through its subscription table.

use std::sync::Arc;

use airssys_contract::Payload;
use async_trait::async_trait;
use tokio::sync::oneshot;

use super::{Entry, Registry};
use crate::broker::{Broker, Deadline, Published, Refused, Sink, SubscriptionId};
use crate::mail::{Call, Message, next_correlation};
use crate::{Error, Result};

#[async_trait]
impl Broker for Registry {
    async fn send(&self, to: &str, message: Message, deadline: &mut Deadline) -> Result<()> {
        self.addressed(to)?
            .deliver(Call::Message(message), Some(deadline))
            .await
    }

    async fn request(
        &self,
        to: &str,
        message: Message,
        deadline: &mut Deadline,
    ) -> Result<Payload> {
        let entry = self.addressed(to)?;
        let (reply, answer) = oneshot::channel();
        let call = Call::Request {
            message,
            correlation: next_correlation(),
            reply,
        };
        entry.deliver(call, Some(&mut *deadline)).await?;
        match deadline.bound(answer).await {
            Some(Ok(reply)) => reply,
            // The actor answers every request it takes; a dropped reply means it ended.
            Some(Err(_)) => Err(entry.stopped()),
            None => Err(Error::Timeout {
                component: entry.identity().to_string(),
                waited: deadline.allowed(),
            }),
        }
    }

    async fn publish(&self, message: Message, deadline: &mut Deadline) -> Result<Published> {
        let topic = message.topic().unwrap_or_default();
        let sinks = self.topics.matching(topic);
        let mut published = Published::default();
        // Everyone with room first, so one full sink never delays the others; then the full
        // ones, each until the shared deadline.
        let mut full: Vec<(&Sink, Message)> = Vec::new();
        for sink in &sinks {
            match sink.try_offer(message.clone()) {
                Ok(()) => published.delivered += 1,
                Err(Refused::Full(message)) => full.push((sink, message)),
                Err(Refused::Never) => published.missed += 1,
            }
        }
        for (sink, message) in full {
            if sink.offer(message, &mut *deadline).await {
                published.delivered += 1;
            } else {
                published.missed += 1;
            }
        }
        if published.missed > 0 {
            tracing::debug!(target: "airssys::host", topic, missed = published.missed, "publish missed subscribers: full until the deadline, stopped, or body too large");
        }
        Ok(published)
    }

    fn subscribe(&self, pattern: &str, group: Option<&str>, sink: Sink) -> SubscriptionId {
        self.topics.insert(pattern, group, sink)
    }

    fn unsubscribe(&self, id: SubscriptionId) {
        self.topics.remove(id);
    }
}

impl Registry {
    /// The entry at `to`, running or not; an address nobody took is an error.
    fn addressed(&self, to: &str) -> Result<Arc<Entry>> {
        self.get(to).ok_or_else(|| Error::UnknownAddress {
            address: to.to_owned(),
        })
    }
}
