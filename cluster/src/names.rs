//! The names a cluster shares: streams, subjects, the key-value bucket and its keys, headers,
//! and the shape every process must agree on (docs/cluster.md).

use serde::{Deserialize, Serialize};

/// The stream of accepted events by source range (stage one's input).
pub const IN_STREAM: &str = "WAYBILL_IN";
/// The key-value bucket of ownership, progress and the cluster's shape.
pub const BUCKET: &str = "WAYBILL_CLUSTER";
/// The header that says what a key-group message is ([`Kind`]).
pub const KIND_HEADER: &str = "Waybill-Kind";
/// The header with an event's full length when ingress cut it ([`waybill_core::input`]).
pub const LEN_HEADER: &str = "Waybill-Len";
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

/// The subject of source range `range` in [`IN_STREAM`].
pub fn in_subject(range: u32) -> String {
    format!("wb.in.{range}")
}

/// The stream of key group `group` (stage two's input): one stream per key group, so that a
/// message's stream sequence is its position in the key group (the journal's resume point).
pub fn kg_stream(group: u32) -> String {
    format!("WAYBILL_KG_{group}")
}

/// The subject of key group `group`.
pub fn kg_subject(group: u32) -> String {
    format!("wb.kg.{group}")
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

/// What a key-group message carries ([`KIND_HEADER`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An event the sequencer found new, as received (JSON).
    Event,
    /// An event that failed acceptance, as received (the core dead-letters it the same way).
    Dead,
    /// Missing sequences of a source ([`waybill_core::event::GapNotice`] as JSON).
    Gap,
}

impl Kind {
    /// The header's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Event => "event",
            Kind::Dead => "dead",
            Kind::Gap => "gap",
        }
    }

    /// The kind a header names.
    pub fn parse(s: &str) -> Option<Kind> {
        [Kind::Event, Kind::Dead, Kind::Gap]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
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
    fn kinds_parse_back_and_shapes_are_checked() {
        for k in [Kind::Event, Kind::Dead, Kind::Gap] {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
        }
        assert_eq!(Kind::parse("settings"), None);
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
