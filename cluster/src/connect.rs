//! Connecting to the NATS server and setting up what every process expects to find: the
//! input stream, one stream per key group, the key-value bucket, and the cluster's shape.

use std::time::Duration;

use async_nats::jetstream::{self, kv, stream};

use crate::error::{ClusterError, Result};
use crate::names::{self, BUCKET, IN_STREAM, SHAPE_KEY, Shape};

/// How long a resent message is recognised as a repeat by its id. A republish after a crash
/// comes within seconds; a producer's retry within minutes.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(20 * 60);
/// How long one request to the server may take before it counts as failed (and is retried).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection and what the cluster keeps on it.
#[derive(Clone)]
pub struct Cluster {
    /// The JetStream context.
    pub js: jetstream::Context,
    /// The key-value bucket ([`BUCKET`]).
    pub kv: kv::Store,
    /// The shape every process agreed on.
    pub shape: Shape,
}

/// Connects to `url` (retrying until the server answers, so a process may start before it),
/// creates whatever is missing, and checks the cluster's shape: the first process to connect
/// sets it, every later one must ask for the same or for none (`None`).
pub async fn connect(url: &str, name: &str, shape: Option<Shape>) -> Result<Cluster> {
    let client = async_nats::ConnectOptions::new()
        .name(name)
        .retry_on_initial_connect()
        .connection_timeout(Duration::from_secs(2))
        .request_timeout(Some(REQUEST_TIMEOUT))
        .connect(url)
        .await
        .map_err(|e| ClusterError::nats(format!("connecting to {url}"), e))?;
    let js = jetstream::new(client);
    let kv = js
        .create_key_value(kv::Config {
            bucket: BUCKET.to_owned(),
            history: 1,
            ..Default::default()
        })
        .await
        .map_err(|e| ClusterError::nats("the cluster's key-value bucket", e))?;
    let shape = agree_shape(&kv, shape).await?;
    let cluster = Cluster { js, kv, shape };
    cluster.ensure_streams().await?;
    Ok(cluster)
}

/// The shape in the bucket, set to `wanted` (or the default) when there is none yet.
async fn agree_shape(kv: &kv::Store, wanted: Option<Shape>) -> Result<Shape> {
    if let Some(w) = wanted {
        w.check().map_err(ClusterError::Protocol)?;
    }
    let proposed = wanted.unwrap_or_default();
    let bytes = serde_json::to_vec(&proposed).expect("a shape serializes");
    // Only the first creation wins; everyone then reads what it set.
    let _ = kv.create(SHAPE_KEY, bytes.into()).await;
    let entry = kv
        .entry(SHAPE_KEY)
        .await
        .map_err(|e| ClusterError::nats("reading the cluster's shape", e))?
        .ok_or_else(|| ClusterError::Protocol("the cluster's shape was deleted".to_owned()))?;
    let shape: Shape = serde_json::from_slice(&entry.value)
        .map_err(|e| ClusterError::Protocol(format!("the cluster's shape is unreadable: {e}")))?;
    shape.check().map_err(ClusterError::Protocol)?;
    if let Some(w) = wanted
        && w != shape
    {
        return Err(ClusterError::Protocol(format!(
            "this cluster has {} key groups and {} source ranges; {} and {} were asked for",
            shape.key_groups, shape.source_ranges, w.key_groups, w.source_ranges
        )));
    }
    Ok(shape)
}

impl Cluster {
    /// Creates the input stream and every key group's stream, where missing.
    async fn ensure_streams(&self) -> Result<()> {
        self.ensure_stream(IN_STREAM, "wb.in.>".to_owned()).await?;
        for g in 0..self.shape.key_groups {
            self.ensure_stream(&names::kg_stream(g), names::kg_subject(g))
                .await?;
        }
        Ok(())
    }

    async fn ensure_stream(&self, name: &str, subject: String) -> Result<()> {
        self.js
            .get_or_create_stream(stream::Config {
                name: name.to_owned(),
                subjects: vec![subject],
                storage: stream::StorageType::File,
                duplicate_window: DUPLICATE_WINDOW,
                ..Default::default()
            })
            .await
            .map_err(|e| ClusterError::nats(format!("stream {name}"), e))?;
        Ok(())
    }

    /// Writes `value` as JSON under `key` of the bucket (`what` names it in an error).
    pub async fn put_json<T: serde::Serialize>(
        &self,
        key: String,
        value: &T,
        what: &str,
    ) -> Result<()> {
        let bytes = serde_json::to_vec(value).expect("a cluster record serializes");
        self.kv
            .put(key, bytes.into())
            .await
            .map_err(|e| ClusterError::nats(format!("recording {what}"), e))?;
        Ok(())
    }

    /// The JSON record under `key` of the bucket, if one was written.
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        key: String,
        what: &str,
    ) -> Result<Option<T>> {
        let entry = self
            .kv
            .entry(key)
            .await
            .map_err(|e| ClusterError::nats(format!("reading {what}"), e))?;
        entry
            .filter(|e| !e.value.is_empty())
            .map(|e| {
                serde_json::from_slice(&e.value)
                    .map_err(|e| ClusterError::Protocol(format!("{what} is unreadable: {e}")))
            })
            .transpose()
    }

    /// The last sequence stored in `stream` (0 when empty).
    pub async fn last_sequence(&self, stream: &str) -> Result<u64> {
        let mut s = self
            .js
            .get_stream(stream)
            .await
            .map_err(|e| ClusterError::nats(format!("stream {stream}"), e))?;
        let info = s
            .info()
            .await
            .map_err(|e| ClusterError::nats(format!("stream {stream}"), e))?;
        Ok(info.state.last_sequence)
    }

    /// The last sequence stored under `subject` of the input stream (0 when none).
    pub async fn last_in_sequence(&self, range: u32) -> Result<u64> {
        let s = self
            .js
            .get_stream(IN_STREAM)
            .await
            .map_err(|e| ClusterError::nats("the input stream", e))?;
        match s
            .get_last_raw_message_by_subject(&names::in_subject(range))
            .await
        {
            Ok(m) => Ok(m.sequence),
            Err(e) if e.kind() == stream::LastRawMessageErrorKind::NoMessageFound => Ok(0),
            Err(e) => Err(ClusterError::nats("the input stream", e)),
        }
    }
}
