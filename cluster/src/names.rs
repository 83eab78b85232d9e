//! The names a cluster shares: streams, subjects, the key-value bucket and its keys, headers,
//! and the shape every process must agree on (docs/cluster.md). The names on the wire
//! (streams, subjects, headers, message ids) are `waybill_contract::nats`'s, re-exported here,
//! so the cluster and its AsyncAPI document cannot disagree.

use serde::{Deserialize, Serialize};

pub use waybill_contract::nats::{
    IN_STREAM, KIND_HEADER, Kind, LEN_HEADER, ORIGIN_HEADER, in_subject, kg_stream, kg_subject,
};

/// The key-value bucket of ownership, progress and the cluster's shape.
pub const BUCKET: &str = "WAYBILL_CLUSTER";
/// The key of the cluster's shape ([`Shape`]).
pub const SHAPE_KEY: &str = "shape";

/// Default key groups: enough to spread over a few dozen cores, few enough that each holds a
/// useful share.
pub const KEY_GROUPS_DEFAULT: u32 = 64;
/// Most source ranges (sequencers).
pub const SOURCE_RANGES_MAX: u32 = 64;

/// How a cluster splits its work, fixed when it is first set up: key groups (of shipments and
/// vehicles) and source ranges (one sequencer each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    /// Key groups, 1 to [`waybill_core::event::MAX_KEY_GROUPS`].
    pub key_groups: u32,
    /// Source ranges, 1 to [`SOURCE_RANGES_MAX`].
    pub source_ranges: u32,
}

impl Default for Shape {
    fn default() -> Self {
        Shape {
            key_groups: KEY_GROUPS_DEFAULT,
            source_ranges: 1,
        }
    }
}

impl Shape {
    /// Why this shape cannot be used, if it cannot.
    pub fn check(&self) -> Result<(), String> {
        let max = waybill_core::event::MAX_KEY_GROUPS;
        if !(1..=max).contains(&self.key_groups) {
            return Err(format!(
                "key groups must be 1 to {max}, got {}",
                self.key_groups
            ));
        }
        if !(1..=SOURCE_RANGES_MAX).contains(&self.source_ranges) {
            return Err(format!(
                "source ranges must be 1 to {SOURCE_RANGES_MAX}, got {}",
                self.source_ranges
            ));
        }
        Ok(())
    }
}

/// The ownership key of key group `group` ([`crate::owners::Owner`]).
pub fn owner_key(group: u32) -> String {
    format!("kg.{group}")
}

/// The progress key of key group `group` ([`crate::status::GroupProgress`]).
pub fn group_progress_key(group: u32) -> String {
    format!("progress.kg.{group}")
}

/// The progress key of the sequencer of source range `range`.
pub fn sequencer_progress_key(range: u32) -> String {
    format!("progress.seq.{range}")
}

/// The liveness key of core `id` (a core renews it while it runs).
pub fn core_key(id: &str) -> String {
    format!("core.{id}")
}

/// A core id: what names its liveness key and its ownership records.
pub fn check_core_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "core id {id:?} must be 1 to 64 of [A-Za-z0-9_-] (it names a key)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_core_ids_are_checked() {
        assert!(Shape::default().check().is_ok());
        for bad in [(0, 1), (64, 0), (5000, 1), (64, 65)] {
            let s = Shape {
                key_groups: bad.0,
                source_ranges: bad.1,
            };
            assert!(s.check().is_err(), "{bad:?}");
        }
        assert!(check_core_id("core-a").is_ok());
        for bad in ["", "a.b", "a b", &"x".repeat(65)] {
            assert!(check_core_id(bad).is_err(), "{bad:?}");
        }
    }
}
