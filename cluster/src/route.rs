//! Where an event goes: its source range (stage one) and its key group (stage two), and the
//! message ids that make every republish idempotent.

use waybill_core::event::{Entry, EventType};
use xxhash_rust::xxh3::xxh3_64;

/// The source range of `source` among `ranges`: a fixed hash of its bytes.
pub fn source_range(source: &str, ranges: u32) -> u32 {
    debug_assert!(ranges >= 1);
    (xxh3_64(source.as_bytes()) % u64::from(ranges)) as u32
}

/// The key group of an event: its shipment's, or its vehicle's for `vehicle.position` (the
/// same hash a partitioned replay uses, [`waybill_core::partition::group_of`]).
pub fn key_group_of_event(subject: u64, event_type: EventType, groups: u32) -> u32 {
    let vehicle = event_type == EventType::VehiclePosition;
    let g = waybill_core::partition::group_of(subject, vehicle, groups as usize) as u32;
    debug_assert!(g < groups);
    g
}

/// The key group of a dead letter: spread by its position in the input stream (it changes no
/// state, so any group will do, as long as a republish picks the same one).
pub fn key_group_of_dead(in_sequence: u64, groups: u32) -> u32 {
    (in_sequence % u64::from(groups)) as u32
}

pub use waybill_contract::nats::{dead_id, event_id, gap_id, raw_id};

/// The source and sequence of an entry that decoded as an event.
pub fn event_key(entry: &Entry) -> Option<(&str, u64)> {
    match entry {
        Entry::Event(ev) => Some((ev.source.as_str(), ev.sequence)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_fixed_and_in_range() {
        for ranges in [1, 2, 7, 64] {
            for s in ["erp/sap", "fleet/truck-1", "billing/x"] {
                let r = source_range(s, ranges);
                assert!(r < ranges);
                assert_eq!(r, source_range(s, ranges));
            }
        }
        let a = key_group_of_event(42, EventType::OrderCreated, 64);
        let b = key_group_of_event(42, EventType::VehiclePosition, 64);
        assert!(a < 64 && b < 64);
        assert_eq!(a, key_group_of_event(42, EventType::ShipmentDelivered, 64));
        assert_eq!(key_group_of_dead(130, 64), 2);
        assert_eq!(event_id("erp/a", 7), "erp/a#7");
    }
}
