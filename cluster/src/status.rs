//! `waybill cluster status`: who owns what, how far each stage is, and the cluster's summary
//! (the composed digest, the counters and the gaps), comparable field for field with a single
//! core's `waybill summary`.

use serde::Serialize;
use waybill_core::event::DeadLetterReason;
use waybill_core::state::Digest;

use crate::connect::Cluster;
use crate::error::{ClusterError, Result};
use crate::keygroup::GroupProgress;
use crate::names;
use crate::owners;
use crate::sequencer;
use waybill_core::machine::GapView;

/// One key group's line.
#[derive(Debug, Clone, Serialize)]
pub struct GroupLine {
    /// The key group.
    pub group: u32,
    /// Its owner (empty: none) and the owner's epoch.
    pub owner: String,
    /// The owner's epoch.
    pub epoch: u64,
    /// Messages in its stream.
    pub stream_last: u64,
    /// Messages journaled, as its owner last said (under its current epoch).
    pub position: u64,
    /// Messages not yet journaled.
    pub lag: u64,
    /// Its state digest.
    pub digest: String,
}

/// One sequencer's line.
#[derive(Debug, Clone, Serialize)]
pub struct SequencerLine {
    /// The source range.
    pub range: u32,
    /// Messages of its range in the input stream (the last one's stream sequence).
    pub in_last: u64,
    /// The last input message republished.
    pub in_sequence: u64,
    /// Whether it has republished all of its input.
    pub caught_up: bool,
}

/// The cluster's summary: the same fields as a single core's `waybill summary`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClusterSummary {
    /// The composition of the key groups' digests.
    pub digest: String,
    /// Events received (journaled by a key group, or stopped as duplicates by a sequencer).
    pub received: u64,
    /// Events applied.
    pub applied: u64,
    /// Duplicates.
    pub duplicates: u64,
    /// Dead letters.
    pub dead_lettered: u64,
    /// Dead letters per reason.
    pub dead_letter_reasons: std::collections::BTreeMap<&'static str, u64>,
    /// Missing sequences over every source.
    pub missing: u128,
    /// Sources with missing sequences, by name.
    pub gaps: Vec<GapView>,
}

/// Everything `waybill cluster status` prints.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterStatus {
    /// Key groups and source ranges.
    pub shape: names::Shape,
    /// Whether every stage has handled everything its input holds.
    pub caught_up: bool,
    /// Per source range.
    pub sequencers: Vec<SequencerLine>,
    /// Per key group.
    pub groups: Vec<GroupLine>,
    /// The whole cluster's summary.
    pub summary: ClusterSummary,
}

/// Reads the status from the bucket and the streams.
pub async fn status(cluster: &Cluster) -> Result<ClusterStatus> {
    let mut summary = ClusterSummary::default();
    let mut reasons = vec![0u64; DeadLetterReason::ALL.len()];
    let mut caught_up = true;
    let mut sequencers = Vec::new();
    for range in 0..cluster.shape.source_ranges {
        let in_last = cluster.last_in_sequence(range).await?;
        let p = sequencer::read_progress(cluster, range)
            .await?
            .unwrap_or_default();
        caught_up &= p.in_sequence >= in_last;
        summary.received += p.duplicates;
        summary.duplicates += p.duplicates;
        summary.missing += p.gaps.iter().map(|g| u128::from(g.missing)).sum::<u128>();
        summary.gaps.extend(p.gaps);
        sequencers.push(SequencerLine {
            range,
            in_last,
            in_sequence: p.in_sequence,
            caught_up: p.in_sequence >= in_last,
        });
    }
    summary.gaps.sort_by(|a, b| a.source.cmp(&b.source));
    let mut groups = Vec::new();
    let mut digest = Digest::ZERO;
    for g in 0..cluster.shape.key_groups {
        let owner = owners::read(&cluster.kv, g)
            .await?
            .map(|(o, _)| o)
            .unwrap_or(owners::Owner {
                core: String::new(),
                epoch: 0,
            });
        let stream_last = cluster.last_sequence(&names::kg_stream(g)).await?;
        let p = read_group_progress(cluster, g).await?.unwrap_or_default();
        caught_up &= p.position >= stream_last;
        summary.received += p.received;
        summary.applied += p.applied;
        summary.duplicates += p.duplicates;
        summary.dead_lettered += p.dead_lettered;
        for (r, n) in reasons.iter_mut().zip(&p.dead_letter_reasons) {
            *r += n;
        }
        let d = if p.digest.is_empty() {
            Some(Digest::ZERO)
        } else {
            Digest::from_hex(&p.digest)
        };
        let d = d.ok_or_else(|| {
            ClusterError::Protocol(format!("key group {g}'s digest is unreadable"))
        })?;
        digest = Digest::combine(digest, d);
        groups.push(GroupLine {
            group: g,
            owner: owner.core,
            epoch: owner.epoch,
            stream_last,
            position: p.position,
            lag: stream_last.saturating_sub(p.position),
            digest: d.to_hex(),
        });
    }
    summary.digest = digest.to_hex();
    summary.dead_letter_reasons = DeadLetterReason::ALL
        .iter()
        .zip(&reasons)
        .map(|(r, &n)| (r.as_str(), n))
        .collect();
    Ok(ClusterStatus {
        shape: cluster.shape,
        caught_up,
        sequencers,
        groups,
        summary,
    })
}

/// The progress record of key group `group`, if one was written.
pub async fn read_group_progress(cluster: &Cluster, group: u32) -> Result<Option<GroupProgress>> {
    cluster
        .get_json(names::group_progress_key(group), "a key group's progress")
        .await
}
