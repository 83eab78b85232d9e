//! Who owns which key group, fenced by an epoch (as Kafka fences a zombie producer with its
//! `transactional.id` epoch).
//!
//! Key group `k`'s owner is the value of `kg.<k>` in the bucket: the core's id and an epoch
//! that every new owner raises by one. Every change is a compare-and-set on the key's
//! revision, so of two cores that claim one group, one wins. The owner renews its claim (the
//! same value, compare-and-set) before each batch it journals and at least every
//! [`RENEW_EVERY`] while idle: a renewal that fails means another core took the group over,
//! and the batch is not written. A group whose key did not change for [`LEASE`] is presumed
//! dead and may be taken over.

use std::time::Duration;

use async_nats::jetstream::kv::{self, UpdateErrorKind};
use serde::{Deserialize, Serialize};

use crate::error::{ClusterError, Result};
use crate::names::owner_key;

/// How often an owner renews its claims while idle.
pub const RENEW_EVERY: Duration = Duration::from_millis(500);
/// How long a claim (or a core's liveness key) may go unrenewed before its owner is presumed
/// dead. Must exceed the longest time from a renewal to the end of the batch it guards.
pub const LEASE: Duration = Duration::from_secs(3);

/// An ownership record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// The owning core's id; empty when the group was released.
    pub core: String,
    /// Raised by one with every change of owner.
    pub epoch: u64,
}

/// A claim this core holds: the record and the revision it last wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The key group.
    pub group: u32,
    /// The record as written.
    pub owner: Owner,
    /// Its revision in the bucket.
    pub revision: u64,
}

/// The ownership record of `group` and its revision, if any was written.
pub async fn read(kv: &kv::Store, group: u32) -> Result<Option<(Owner, u64)>> {
    let entry = kv
        .entry(owner_key(group))
        .await
        .map_err(|e| ClusterError::nats(format!("reading the owner of key group {group}"), e))?;
    let Some(entry) = entry.filter(|e| e.operation == kv::Operation::Put) else {
        return Ok(None);
    };
    let owner = serde_json::from_slice(&entry.value).map_err(|e| {
        ClusterError::Protocol(format!(
            "the owner record of key group {group} is unreadable: {e}"
        ))
    })?;
    Ok(Some((owner, entry.revision)))
}

fn value(owner: &Owner) -> bytes::Bytes {
    serde_json::to_vec(owner)
        .expect("an owner serializes")
        .into()
}

/// Claims `group` for `core` over what was read (`seen`: the record and its revision, or
/// `None` when there was none). `None` back: another core changed it first.
pub async fn claim(
    kv: &kv::Store,
    group: u32,
    core: &str,
    seen: Option<&(Owner, u64)>,
) -> Result<Option<Held>> {
    let owner = Owner {
        core: core.to_owned(),
        epoch: seen.map_or(1, |(o, _)| o.epoch + 1),
    };
    let written = match seen {
        None => match kv.create(owner_key(group), value(&owner)).await {
            Ok(r) => Ok(r),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Err(LOST.to_owned()),
            Err(e) => Err(e.to_string()),
        },
        Some((_, revision)) => cas(kv, group, &owner, *revision).await,
    };
    match written {
        Ok(revision) => Ok(Some(Held {
            group,
            owner,
            revision,
        })),
        Err(e) if e == LOST => Ok(None),
        Err(e) => Err(ClusterError::nats(format!("claiming key group {group}"), e)),
    }
}

const LOST: &str = "lost";

/// Compare-and-set of `group`'s record: the new revision, or [`LOST`] when the revision moved.
async fn cas(kv: &kv::Store, group: u32, owner: &Owner, revision: u64) -> Result<u64, String> {
    match kv.update(owner_key(group), value(owner), revision).await {
        Ok(r) => Ok(r),
        Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => Err(LOST.to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

/// Renews a claim (the fence before a write): `false` when another core took the group over,
/// after which this core must not write to it.
pub async fn renew(kv: &kv::Store, held: &mut Held) -> Result<bool> {
    match cas(kv, held.group, &held.owner, held.revision).await {
        Ok(revision) => {
            debug_assert!(revision > held.revision);
            held.revision = revision;
            Ok(true)
        }
        Err(e) if e == LOST => Ok(false),
        Err(e) => Err(ClusterError::nats(
            format!("renewing key group {}", held.group),
            e,
        )),
    }
}

/// Gives a claim up (the group's journal closed): the record says no core, and the next owner
/// raises the epoch. `false` when it was no longer this core's.
pub async fn release(kv: &kv::Store, held: &Held) -> Result<bool> {
    let free = Owner {
        core: String::new(),
        epoch: held.owner.epoch,
    };
    match cas(kv, held.group, &free, held.revision).await {
        Ok(_) => Ok(true),
        Err(e) if e == LOST => Ok(false),
        Err(e) => Err(ClusterError::nats(
            format!("releasing key group {}", held.group),
            e,
        )),
    }
}
