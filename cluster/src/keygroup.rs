//! Stage two, one key group: its journal, state, snapshots and effects (a `waybill-core`
//! `Core` and the outbox's `Delivery`, on a thread of their own), fed from the key group's
//! stream in order.
//!
//! Every message of the key group's stream becomes exactly one journal record, after the
//! key-group notice at LSN 1, so the journal says where to resume: stream sequence `lsn`
//! (LSN - 1 messages journaled). A new owner opens the same directory (the newest snapshot and
//! the journal after it) and reads the stream from there; on a machine without the directory
//! it rebuilds the key group from the stream's start. Before each batch is journaled the claim
//! is renewed (the fence); a core that lost its claim writes nothing more.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{DeliverPolicy, pull::OrderedConfig};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch};
use waybill_core::decode::{decode, decode_truncated};
use waybill_core::event::{Entry, GapNotice, KeyGroup, Notice};
use waybill_core::outbox::{Delivery, durable_from_atomic};
use waybill_core::{Durability, Error as CoreError, Options, SinksConfig, SnapshotPolicy};

use crate::connect::Cluster;
use crate::error::{ClusterError, Result};
use crate::names::{self, KIND_HEADER, Kind, LEN_HEADER};
use crate::owners::{self, Held, RENEW_EVERY};
use crate::sequencer::header_u64;

/// Most stream messages journaled as one batch (one renewal, one commit).
pub const GROUP_BATCH_MAX: usize = 1024;
/// Commands queued to a key group's core thread.
const COMMANDS_MAX: usize = 2;
/// How often a key group writes its progress record while busy.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);
/// How long opening a journal that another process still holds is retried (a fenced core
/// closes it at its next renewal).
const OPEN_RETRY_FOR: Duration = Duration::from_secs(15);

/// How a core runs its key groups.
#[derive(Clone, Debug)]
pub struct GroupOptions {
    /// Where the key groups' journals live: `<data_dir>/kg-<k>`.
    pub data_dir: PathBuf,
    /// The sinks effects are delivered to (a `file` sink writes one file per key group).
    pub sinks: SinksConfig,
    /// When a batch is durable.
    pub durability: Durability,
    /// When snapshots are taken.
    pub snapshots: SnapshotPolicy,
    /// Size of each new segment file of a key group's journal ([`SEGMENT_BYTES_DEFAULT`]).
    pub segment_bytes: u64,
}

/// Default segment size of a key group's journal: a key group holds a share of the traffic,
/// and 64 journals of a single core's 64 MiB segments would preallocate 4 GiB.
pub const SEGMENT_BYTES_DEFAULT: u64 = 4 << 20;

/// What a key group has journaled (its progress record in the bucket).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupProgress {
    /// The key group.
    pub group: u32,
    /// The core that wrote this, and under which epoch.
    pub core: String,
    /// The epoch of its claim.
    pub epoch: u64,
    /// Stream messages journaled (the key group's stream sequence reached).
    pub position: u64,
    /// The journal's LSN.
    pub lsn: u64,
    /// Events journaled.
    pub received: u64,
    /// Of those, applied.
    pub applied: u64,
    /// Of those, duplicates (none while the sequencer and the resume point are right).
    pub duplicates: u64,
    /// Of those, dead letters.
    pub dead_lettered: u64,
    /// Dead letters per reason, in the order of `DeadLetterReason::ALL`.
    pub dead_letter_reasons: Vec<u64>,
    /// The key group's state digest (64 hex digits): the cluster's is their composition.
    pub digest: String,
    /// Effects derived.
    pub effect_seq: u64,
}

/// Why a key group stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupExit {
    /// Asked to: its journal closed and its claim released.
    Released,
    /// Another core took it over: nothing more was written.
    Fenced,
}

enum Command {
    Ingest(Vec<Entry>, oneshot::Sender<Result<(), CoreError>>),
    Progress(oneshot::Sender<GroupProgress>),
    Close(oneshot::Sender<Result<(), CoreError>>),
}

/// Runs key group `held.group` until `stop` says so or the claim is lost. Whatever ends it,
/// its journal is closed first; a group that was asked to stop then releases its claim.
pub async fn run_group(
    cluster: Cluster,
    mut held: Held,
    opts: Arc<GroupOptions>,
    stop: watch::Receiver<bool>,
) -> Result<GroupExit> {
    let group = held.group;
    let (commands, position) = start_core(&opts, group, cluster.shape.key_groups).await?;
    let fed = feed(&cluster, &mut held, &commands, position, stop).await;
    close(&commands).await?;
    if fed.as_ref().is_ok_and(|exit| *exit == GroupExit::Released) {
        owners::release(&cluster.kv, &held).await?;
    }
    fed
}

/// Feeds the key group's stream, from the message after `position`, to its core.
async fn feed(
    cluster: &Cluster,
    held: &mut Held,
    commands: &mpsc::Sender<Command>,
    mut position: u64,
    mut stop: watch::Receiver<bool>,
) -> Result<GroupExit> {
    let group = held.group;
    let what = || format!("the stream of key group {group}");
    let stream = cluster
        .js
        .get_stream(names::kg_stream(group))
        .await
        .map_err(|e| ClusterError::nats(what(), e))?;
    let consumer = stream
        .create_consumer(OrderedConfig {
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: position + 1,
            },
            ..Default::default()
        })
        .await
        .map_err(|e| ClusterError::nats(what(), e))?;
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| ClusterError::nats(what(), e))?;
    let mut progressed_at = Instant::now();
    let mut published = false;
    loop {
        let next = tokio::select! {
            _ = stop.changed() => return Ok(GroupExit::Released),
            () = tokio::time::sleep(RENEW_EVERY) => None,
            m = messages.next() => Some(m),
        };
        let Some(next) = next else {
            // Idle: renew the claim (the heartbeat), and say once where the group is.
            if !owners::renew(&cluster.kv, held).await? {
                return Ok(GroupExit::Fenced);
            }
            if !published {
                publish_progress(cluster, commands, held).await?;
                published = true;
            }
            continue;
        };
        let first = next
            .ok_or_else(|| ClusterError::Protocol(format!("{} ended", what())))?
            .map_err(|e| ClusterError::nats(what(), e))?;
        let mut batch = vec![first];
        while batch.len() < GROUP_BATCH_MAX && batch.last().is_some_and(pending) {
            match messages.next().await {
                Some(Ok(m)) => batch.push(m),
                Some(Err(e)) => return Err(ClusterError::nats(what(), e)),
                None => break,
            }
        }
        let entries = to_entries(&batch, position)?;
        // The fence: nothing is journaled under a claim another core took over.
        if !owners::renew(&cluster.kv, held).await? {
            return Ok(GroupExit::Fenced);
        }
        let n = entries.len() as u64;
        call(commands, |reply| Command::Ingest(entries, reply))
            .await?
            .map_err(|source| ClusterError::Core { group, source })?;
        position += n;
        published = false;
        if progressed_at.elapsed() >= PROGRESS_EVERY || !batch.last().is_some_and(pending) {
            publish_progress(cluster, commands, held).await?;
            progressed_at = Instant::now();
            published = true;
        }
    }
}

/// Whether the server holds more messages after `m` for this consumer.
fn pending(m: &async_nats::jetstream::Message) -> bool {
    m.info().is_ok_and(|i| i.pending > 0)
}

/// The journal entries of a batch of stream messages that must start at `position + 1`.
fn to_entries(batch: &[async_nats::jetstream::Message], position: u64) -> Result<Vec<Entry>> {
    let mut entries = Vec::with_capacity(batch.len());
    for (i, m) in batch.iter().enumerate() {
        let info = m.info().map_err(|e| {
            ClusterError::Protocol(format!("a key-group message without its position: {e}"))
        })?;
        let expected = position + 1 + i as u64;
        if info.stream_sequence != expected {
            return Err(ClusterError::Protocol(format!(
                "key-group stream {} gave message {} where {expected} was next",
                info.stream, info.stream_sequence
            )));
        }
        entries.push(entry_of(m)?);
    }
    Ok(entries)
}

/// The journal entry a key-group message carries.
fn entry_of(m: &async_nats::jetstream::Message) -> Result<Entry> {
    let kind = m
        .headers
        .as_ref()
        .and_then(|h| h.get(KIND_HEADER))
        .and_then(|v| Kind::parse(v.as_str()))
        .ok_or_else(|| {
            ClusterError::Protocol(format!("a key-group message without a valid {KIND_HEADER}"))
        })?;
    Ok(match kind {
        Kind::Gap => {
            let gap: GapJson = serde_json::from_slice(&m.payload)
                .map_err(|e| ClusterError::Protocol(format!("an unreadable gap notice: {e}")))?;
            Entry::Notice(Notice::Gap(GapNotice {
                source: gap.source,
                first: gap.first,
                last: gap.last,
            }))
        }
        Kind::Event | Kind::Dead => match header_u64(&m.headers, LEN_HEADER)? {
            Some(len) => decode_truncated(&m.payload, len),
            None => decode(&m.payload),
        },
    })
}

#[derive(Deserialize)]
struct GapJson {
    source: String,
    first: u64,
    last: u64,
}

/// Sends a command to the core thread and waits for its answer.
async fn call<T>(
    commands: &mpsc::Sender<Command>,
    command: impl FnOnce(oneshot::Sender<T>) -> Command,
) -> Result<T> {
    let (tx, rx) = oneshot::channel();
    let gone = || ClusterError::Protocol("a key group's core thread stopped".to_owned());
    commands.send(command(tx)).await.map_err(|_| gone())?;
    rx.await.map_err(|_| gone())
}

async fn close(commands: &mpsc::Sender<Command>) -> Result<()> {
    call(commands, Command::Close)
        .await?
        .map_err(|e| ClusterError::Protocol(format!("closing a key group's journal: {e}")))
}

async fn publish_progress(
    cluster: &Cluster,
    commands: &mpsc::Sender<Command>,
    held: &Held,
) -> Result<()> {
    let mut p = call(commands, Command::Progress).await?;
    p.core = held.owner.core.clone();
    p.epoch = held.owner.epoch;
    cluster
        .put_json(
            names::group_progress_key(p.group),
            &p,
            "a key group's progress",
        )
        .await
}

/// Opens key group `group`'s journal on a thread of its own; returns its command queue and
/// the stream messages its journal holds.
async fn start_core(
    opts: &Arc<GroupOptions>,
    group: u32,
    groups: u32,
) -> Result<(mpsc::Sender<Command>, u64)> {
    let (tx, rx) = mpsc::channel(COMMANDS_MAX);
    let (opened_tx, opened_rx) = oneshot::channel();
    let opts = Arc::clone(opts);
    std::thread::Builder::new()
        .name(format!("kg-{group}"))
        .spawn(move || match open_core(&opts, group, groups) {
            Ok(thread) => {
                let position = thread.core.machine().lsn() - 1;
                if opened_tx.send(Ok(position)).is_ok() {
                    thread.serve(rx);
                }
            }
            Err(e) => {
                let _ = opened_tx.send(Err(e));
            }
        })
        .map_err(ClusterError::Input)?;
    let position = opened_rx
        .await
        .map_err(|_| ClusterError::Protocol("a key group's core thread died opening".to_owned()))?
        .map_err(|source| ClusterError::Core { group, source })?;
    Ok((tx, position))
}

struct GroupThread {
    group: u32,
    core: waybill_core::engine::Core,
    delivery: Option<Delivery>,
}

/// Opens (or creates: the key-group notice first) the journal of `group`, retrying while
/// another process still holds it.
fn open_core(opts: &GroupOptions, group: u32, groups: u32) -> Result<GroupThread, CoreError> {
    let dir = opts.data_dir.join(format!("kg-{group}"));
    let options = Options::new()
        .durability(opts.durability)
        .segment_bytes(opts.segment_bytes)
        .snapshots(opts.snapshots.clone());
    let start = Instant::now();
    let mut core = loop {
        match options.open_core(&dir) {
            Ok(core) => break core,
            Err(e)
                if e.kind() == waybill_core::ErrorKind::Environment
                    && start.elapsed() < OPEN_RETRY_FOR =>
            {
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(e),
        }
    };
    if core.machine().lsn() == 0 {
        let notice = Entry::Notice(Notice::KeyGroup(KeyGroup { group, groups }));
        core.submit(&notice, waybill_core::system_clock_us())?;
        core.commit()?;
    }
    if core.machine().key_group() != Some((group, groups)) {
        return Err(CoreError::Refused(format!(
            "{} holds {:?}, not key group {group} of {groups}",
            dir.display(),
            core.machine().key_group()
        )));
    }
    let sinks = per_group_sinks(&opts.sinks, group);
    let delivery = if sinks.any_configured() {
        let lsn = durable_from_atomic(core.journal().durable_handle());
        Some(Delivery::start(&dir, &sinks, lsn)?)
    } else {
        None
    };
    Ok(GroupThread {
        group,
        core,
        delivery,
    })
}

/// The sinks of one key group: a `file` sink's path gets `-kg<k>` before its extension, so
/// no two key groups append to one file.
fn per_group_sinks(sinks: &SinksConfig, group: u32) -> SinksConfig {
    let mut sinks = sinks.clone();
    for d in waybill_core::Downstream::ALL {
        if let Some(path) = sinks.slot_mut(d).as_mut().and_then(|s| s.path.as_mut()) {
            let stem = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let name = match path.extension() {
                Some(ext) => format!("{stem}-kg{group}.{}", ext.to_string_lossy()),
                None => format!("{stem}-kg{group}"),
            };
            path.set_file_name(name);
        }
    }
    sinks
}

impl GroupThread {
    fn serve(mut self, mut commands: mpsc::Receiver<Command>) {
        while let Some(command) = commands.blocking_recv() {
            match command {
                Command::Ingest(entries, reply) => {
                    let done = self.core.ingest(&entries, waybill_core::system_clock_us());
                    if let Some(d) = &self.delivery {
                        d.wake();
                    }
                    let _ = reply.send(done.map(|_| ()));
                }
                Command::Progress(reply) => {
                    let _ = reply.send(self.progress());
                }
                Command::Close(reply) => {
                    let _ = reply.send(self.close());
                    return;
                }
            }
        }
    }

    fn progress(&mut self) -> GroupProgress {
        while !self.core.refresh_summary(1 << 16) {}
        let summary = self.core.summary_cached().expect("caught up");
        let m = self.core.machine();
        let c = m.counters();
        GroupProgress {
            group: self.group,
            core: String::new(),
            epoch: 0,
            position: m.lsn() - 1,
            lsn: m.lsn(),
            received: c.received,
            applied: c.applied,
            duplicates: c.duplicates,
            dead_lettered: c.dead_lettered,
            dead_letter_reasons: c.dead_letter_reasons.to_vec(),
            digest: summary.digest,
            effect_seq: m.effect_seq(),
        }
    }

    fn close(self) -> Result<(), CoreError> {
        let GroupThread { core, delivery, .. } = self;
        let mut core = core;
        core.flush()?;
        if let Some(d) = delivery {
            d.stop();
        }
        core.close().map(|_| ())
    }
}
