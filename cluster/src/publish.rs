//! Publishing to JetStream in order, idempotently: a batch is sent pipelined (every message
//! before the first acknowledgement is awaited), and when anything fails, everything from the
//! first unacknowledged message on is sent again one by one, in order, until the server takes
//! it. Each message carries an id, so a resend of what the server already stored is only
//! acknowledged (`duplicate`), never stored twice, and the order of what is stored is the
//! order of the batch.

use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use async_nats::jetstream::{self, message::PublishMessage};
use bytes::Bytes;

use crate::error::{ClusterError, Result};

/// How long a message may keep failing before publishing gives up (the server is gone for
/// good, or refuses the message).
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(300);
/// Most messages of one batch ([`publish_all`]): what may be in flight at once.
pub const BATCH_MAX: usize = 4096;

/// One message to publish.
#[derive(Clone, Debug)]
pub struct Outgoing {
    /// Where to.
    pub subject: String,
    /// The message id (`Nats-Msg-Id`).
    pub id: String,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
    /// The payload.
    pub payload: Bytes,
}

/// What became of one message of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Published {
    /// Its sequence in the stream.
    pub sequence: u64,
    /// The stream already held a message with this id.
    pub duplicate: bool,
    /// It was sent more than once (a `duplicate` then may be this publisher's own earlier try).
    pub resent: bool,
}

fn message(o: &Outgoing) -> PublishMessage {
    let mut headers = HeaderMap::new();
    for (k, v) in &o.headers {
        headers.insert(*k, v.as_str());
    }
    PublishMessage::build()
        .payload(o.payload.clone())
        .headers(headers)
        .message_id(&o.id)
}

/// Publishes `batch` in order and waits until the server stored (or recognised) every message.
pub async fn publish_all(js: &jetstream::Context, batch: &[Outgoing]) -> Result<Vec<Published>> {
    assert!(batch.len() <= BATCH_MAX, "a batch of at most {BATCH_MAX}");
    let mut futures = Vec::with_capacity(batch.len());
    for o in batch {
        match js.send_publish(o.subject.clone(), message(o)).await {
            Ok(f) => futures.push(f),
            Err(_) => break, // resent below, in order
        }
    }
    let mut done = Vec::with_capacity(batch.len());
    for f in futures {
        match f.await {
            Ok(ack) => done.push(Published {
                sequence: ack.sequence,
                duplicate: ack.duplicate,
                resent: false,
            }),
            Err(_) => break,
        }
    }
    // Everything from the first failure on, one by one, in order.
    for o in &batch[done.len()..] {
        done.push(publish_until_stored(js, o).await?);
    }
    debug_assert_eq!(done.len(), batch.len());
    Ok(done)
}

/// Sends one message until the server acknowledges it, backing off between tries.
async fn publish_until_stored(js: &jetstream::Context, o: &Outgoing) -> Result<Published> {
    let start = Instant::now();
    let mut backoff = Duration::from_millis(50);
    loop {
        let tried = match js.send_publish(o.subject.clone(), message(o)).await {
            Ok(f) => f.await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match tried {
            Ok(ack) => {
                return Ok(Published {
                    sequence: ack.sequence,
                    duplicate: ack.duplicate,
                    resent: true,
                });
            }
            Err(e) if start.elapsed() >= GIVE_UP_AFTER => {
                return Err(ClusterError::nats(
                    format!(
                        "publishing {} to {} (for {GIVE_UP_AFTER:?})",
                        o.id, o.subject
                    ),
                    e,
                ));
            }
            Err(_) => {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}
