//! The last-writer-wins key as stored in state: an [`EventKey`] packed into 20 bytes.
//!
//! Every comparison goes through [`EventKey::beats`], so sources compare by their bytes and
//! never by their interned number (which depends on arrival order).

use crate::source::{EventKey, SourceId, Sources};

/// A stored winning key: (`time_us`, `source`, `sequence`). Packed to 4-byte alignment so the
/// registers of a shipment take 20 bytes each instead of 24.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C, packed(4))]
pub(crate) struct Key {
    time_us: i64,
    sequence: u64,
    source: u32,
}

impl Key {
    /// The all-zero key (what an unset register holds).
    pub(crate) const ZERO: Key = Key {
        time_us: 0,
        sequence: 0,
        source: 0,
    };

    #[inline]
    pub(crate) fn new(key: EventKey) -> Key {
        Key {
            time_us: key.time_us,
            sequence: key.sequence,
            source: key.source.0,
        }
    }

    #[inline]
    pub(crate) fn event_key(self) -> EventKey {
        EventKey {
            time_us: self.time_us,
            source: SourceId(self.source),
            sequence: self.sequence,
        }
    }

    #[inline]
    pub(crate) fn time_us(self) -> i64 {
        self.time_us
    }

    #[inline]
    pub(crate) fn sequence(self) -> u64 {
        self.sequence
    }

    #[inline]
    pub(crate) fn source(self) -> SourceId {
        SourceId(self.source)
    }

    /// True when `self` is strictly greater than `other` (the key order of docs/state.md, merge
    /// rules).
    #[inline]
    pub(crate) fn beats(self, other: Key, sources: &Sources) -> bool {
        self.event_key().beats(&other.event_key(), sources)
    }
}

/// True when (`version`, `key`) beats (`other_version`, `other_key`): order versions first,
/// then the event key (docs/state.md, merge rules: order fields).
#[inline]
pub(crate) fn version_beats(
    version: u32,
    key: Key,
    other_version: u32,
    other_key: Key,
    sources: &Sources,
) -> bool {
    version > other_version || (version == other_version && key.beats(other_key, sources))
}

/// Sentinel for "no time" in the inline milestone slots. Valid event times lie within years
/// 0000..=9999 (about ±2.6e17 µs), so `i64::MIN` never collides with one.
pub(crate) const NO_TIME: i64 = i64::MIN;

#[inline]
pub(crate) fn time_opt(us: i64) -> Option<i64> {
    (us != NO_TIME).then_some(us)
}
