//! Which events go on the wire in schema version 2 (the scenario's `[schema]`): a decision per
//! world event, from a hash of its index and the seed, never from a shared random stream, so
//! that the other streams stay as they were and a redelivery is the same bytes.

use crate::scenario::SchemaSpec;
use waybill_core::event::{Event, System};

/// The wire's choice of schema versions for one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wire {
    /// An event goes in version 2 when its hash is below this (`u64::MAX`: every one).
    threshold: u64,
    /// The systems whose events may go in version 2, by [`System::index`] order.
    systems: [bool; 4],
    salt: u64,
}

impl Wire {
    /// Every event in the least version that carries it (version 1 for the world's events).
    pub const CANONICAL: Wire = Wire {
        threshold: 0,
        systems: [false; 4],
        salt: 0,
    };

    pub fn new(spec: &SchemaSpec, seed: u64) -> Wire {
        if spec.version2_share == 0.0 {
            return Wire::CANONICAL;
        }
        assert!((0.0..=1.0).contains(&spec.version2_share), "a share");
        let threshold = if spec.version2_share >= 1.0 {
            u64::MAX
        } else {
            // 2^64 exactly as an f64.
            (spec.version2_share * 18_446_744_073_709_551_616.0) as u64
        };
        Wire {
            threshold,
            systems: System::ALL.map(|s| spec.selects(Some(s))),
            salt: mix(seed ^ 0x5743_4845_4d41_5632),
        }
    }

    /// The schema version `event` (the `index`-th world event) is sent in.
    pub fn version(&self, event: &Event, index: u32) -> u32 {
        let least = waybill_core::encode::min_version(&event.body);
        let ty = event.event_type();
        let system_ok = System::ALL
            .iter()
            .position(|&s| s == ty.owner())
            .is_some_and(|i| self.systems[i]);
        let chosen = system_ok
            && ty.versions().contains(&2)
            && (self.threshold == u64::MAX || mix(u64::from(index) ^ self.salt) < self.threshold);
        if chosen { least.max(2) } else { least }
    }
}

/// splitmix64's finalizer: a well-mixed hash of `x`.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Default for Wire {
    fn default() -> Self {
        Wire::CANONICAL
    }
}
