//! A core process: it keeps itself known as alive, claims a fair share of the key groups
//! (free ones, and those whose owner stopped renewing), runs each one it holds
//! ([`crate::keygroup`]), and hands groups back when more cores join.
//!
//! Liveness is judged only by what this core observes (a key whose revision did not move for
//! [`LEASE`] by this core's own clock), so no two machines' clocks are compared.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::connect::Cluster;
use crate::error::{ClusterError, Result};
use crate::keygroup::{GroupExit, GroupOptions, run_group};
use crate::names;
use crate::owners::{self, Held, LEASE, Owner, RENEW_EVERY};

/// How long a new core only announces itself before it claims anything, so that cores
/// started together see each other and split the groups at once.
pub const SETTLE: Duration = Duration::from_millis(1500);

/// A key's last revision, and since when this core has seen it unchanged.
#[derive(Clone, Copy)]
struct Seen {
    revision: u64,
    since: Instant,
}

/// What this core knows of the others' keys.
#[derive(Default)]
struct Observed {
    keys: BTreeMap<String, Seen>,
}

impl Observed {
    /// Records a key's revision; returns whether it moved within the lease.
    fn alive(&mut self, key: &str, revision: u64, now: Instant) -> bool {
        let seen = self.keys.entry(key.to_owned()).or_insert(Seen {
            revision,
            since: now,
        });
        if seen.revision != revision {
            *seen = Seen {
                revision,
                since: now,
            };
        }
        now.duration_since(seen.since) < LEASE
    }
}

struct Running {
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<GroupExit>>,
}

/// Runs core `id` until `stop` resolves; then closes every key group it holds and releases it.
pub async fn run_core(
    cluster: Cluster,
    id: String,
    opts: GroupOptions,
    stop: impl std::future::Future<Output = ()>,
) -> Result<()> {
    names::check_core_id(&id).map_err(ClusterError::Protocol)?;
    let opts = Arc::new(opts);
    let mut observed = Observed::default();
    let mut running: BTreeMap<u32, Running> = BTreeMap::new();
    let started = Instant::now();
    tokio::pin!(stop);
    let outcome = loop {
        match tick(&cluster, &id, &opts, &mut observed, &mut running, started).await {
            Ok(()) => {}
            // The server is away: try again next round (the client reconnects by itself).
            Err(e @ ClusterError::Nats { .. }) => eprintln!("waybill cluster core {id}: {e}"),
            Err(e) => break Err(e),
        }
        tokio::select! {
            () = &mut stop => break Ok(()),
            () = tokio::time::sleep(RENEW_EVERY) => {}
        }
    };
    for r in running.values() {
        let _ = r.stop.send(true);
    }
    for (group, r) in running {
        match r.task.await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => eprintln!("waybill cluster core {id}: key group {group}: {e}"),
            Err(e) => eprintln!("waybill cluster core {id}: key group {group}: {e}"),
        }
    }
    let _ = cluster.kv.delete(names::core_key(&id)).await;
    outcome
}

/// One round: announce, reap finished groups, look at the owners, claim or release.
async fn tick(
    cluster: &Cluster,
    id: &str,
    opts: &Arc<GroupOptions>,
    observed: &mut Observed,
    running: &mut BTreeMap<u32, Running>,
    started: Instant,
) -> Result<()> {
    cluster
        .kv
        .put(names::core_key(id), bytes::Bytes::from_static(b"{}"))
        .await
        .map_err(|e| ClusterError::nats("announcing this core", e))?;
    reap(id, running).await?;
    let now = Instant::now();
    let live = live_cores(cluster, id, observed, now).await?;
    if now.duration_since(started) < SETTLE {
        return Ok(());
    }
    let groups = cluster.shape.key_groups;
    let target = groups.div_ceil(live);
    let mut owners = Vec::with_capacity(groups as usize);
    for g in 0..groups {
        owners.push(owners::read(&cluster.kv, g).await?);
    }
    if running.len() as u32 > target {
        release_extra(running, target);
        return Ok(());
    }
    for (g, seen) in owners.iter().enumerate() {
        if running.len() as u32 >= target {
            break;
        }
        let g = g as u32;
        if running.contains_key(&g) || !claimable(seen.as_ref(), id, g, observed, now) {
            continue;
        }
        if let Some(held) = owners::claim(&cluster.kv, g, id, seen.as_ref()).await? {
            eprintln!(
                "waybill cluster core {id}: took key group {g} (epoch {})",
                held.owner.epoch
            );
            running.insert(g, start(cluster, held, opts));
        }
    }
    Ok(())
}

/// Whether key group `g` (not running here) may be claimed: no owner, released, this core's
/// own from before a restart, or another core's that stopped renewing.
fn claimable(
    seen: Option<&(Owner, u64)>,
    id: &str,
    g: u32,
    observed: &mut Observed,
    now: Instant,
) -> bool {
    match seen {
        None => true,
        Some((owner, _)) if owner.core.is_empty() || owner.core == id => true,
        Some((_, revision)) => !observed.alive(&names::owner_key(g), *revision, now),
    }
}

/// The number of live cores (this one included).
async fn live_cores(
    cluster: &Cluster,
    id: &str,
    observed: &mut Observed,
    now: Instant,
) -> Result<u32> {
    let mut keys = cluster
        .kv
        .keys()
        .await
        .map_err(|e| ClusterError::nats("listing the cores", e))?;
    let mut live = 1;
    while let Some(key) = keys.next().await {
        let key = key.map_err(|e| ClusterError::nats("listing the cores", e))?;
        if !key.starts_with("core.") || key == names::core_key(id) {
            continue;
        }
        let Some(entry) = cluster
            .kv
            .entry(key.clone())
            .await
            .map_err(|e| ClusterError::nats("reading a core's liveness", e))?
        else {
            continue;
        };
        if observed.alive(&key, entry.revision, now) {
            live += 1;
        }
    }
    Ok(live)
}

fn start(cluster: &Cluster, held: Held, opts: &Arc<GroupOptions>) -> Running {
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(run_group(cluster.clone(), held, Arc::clone(opts), stopped));
    Running { stop, task }
}

/// Asks the highest-numbered groups above `target` to close and release.
fn release_extra(running: &BTreeMap<u32, Running>, target: u32) {
    for r in running.values().rev().take(running.len() - target as usize) {
        let _ = r.stop.send(true);
    }
}

/// Removes the groups whose task ended, saying why; a group that failed fails the core.
async fn reap(id: &str, running: &mut BTreeMap<u32, Running>) -> Result<()> {
    let done: Vec<u32> = running
        .iter()
        .filter(|(_, r)| r.task.is_finished())
        .map(|(&g, _)| g)
        .collect();
    for g in done {
        let r = running.remove(&g).expect("listed");
        match r.task.await {
            Ok(Ok(GroupExit::Released)) => {
                eprintln!("waybill cluster core {id}: released key group {g}")
            }
            Ok(Ok(GroupExit::Fenced)) => {
                eprintln!(
                    "waybill cluster core {id}: key group {g}: fenced out (another core took it over); nothing more written"
                )
            }
            // A key group's core failed (its journal, its limits): the core stops.
            Ok(Err(e @ ClusterError::Core { .. })) => return Err(e),
            // The server went away, or a message was out of place: the group was closed; its
            // claim is still this core's, so the next round opens it again and resumes.
            Ok(Err(e)) => eprintln!("waybill cluster core {id}: key group {g}: {e}; reopening"),
            Err(e) => return Err(ClusterError::Protocol(format!("key group {g}: {e}"))),
        }
    }
    Ok(())
}
