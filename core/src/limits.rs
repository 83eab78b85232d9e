//! Capacity limits: the most one core holds, checked before a batch is journaled.
//!
//! Every store that apply fills has a structural ceiling (ids and slots are `u32`, a text
//! store has 2^15 chunks of 128 KiB, sources are at most 2^24). Going past one would make
//! apply fail on a record that is already in the journal, and then the journal could never be
//! opened again. So a batch is *admitted* first: an upper bound of what it can add to each
//! store is compared with the [`Limits`] (at most the ceilings), and a batch that could go
//! past one is refused as a whole with [`CapacityExceeded`], before any of it is journaled.
//! Replay never checks limits: what was admitted once fits the ceilings, whatever limits the
//! process that reopens the journal uses.
//!
//! The bound a batch is charged (see `machine::admit`) is exact for sources, shipments and
//! vehicles (new ones, counted once per batch) and conservative for the rest: every id an
//! event carries is counted as new text, every `order.created` as a new customer and a new
//! contract's terms, every `route.planned` as a new route.

use crate::source::MAX_SOURCES;
use crate::state::MAX_SHIPMENTS;

/// What one core may hold. [`Limits::default`] is the structural ceiling of each store (the
/// most that is safe); an embedder may lower any of them (tests drive each one to its edge
/// with small numbers). Every count is a number of records, text is in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Distinct sources (`<system>/<name>`).
    pub sources: u64,
    /// Shipments (anything a shipment event names).
    pub shipments: u64,
    /// Vehicles (anything a `vehicle.position` names).
    pub vehicles: u64,
    /// Charge ids over every shipment (added, voided or listed by an invoice).
    pub charges: u64,
    /// Invoice ids over every shipment (issued or settled).
    pub invoices: u64,
    /// Charge slots listed by invoices (a listing that grows takes a new run).
    pub listed_charges: u64,
    /// Distinct customer ids.
    pub customers: u64,
    /// Distinct route ids.
    pub routes: u64,
    /// Distinct contract detention terms (free minutes, rate per hour).
    pub contract_terms: u64,
    /// Bytes of each text store (charge and invoice ids with pods; customer ids; route ids),
    /// counted in whole chunks of [`TEXT_CHUNK_BYTES`]: a string never spans two chunks.
    pub text_bytes: u64,
    /// `delivery.failed` events counted on one shipment.
    pub failed_attempts: u64,
}

/// The unit in which [`Limits::text_bytes`] is held.
pub const TEXT_CHUNK_BYTES: u64 = crate::state::TEXT_CHUNK_BYTES as u64;

impl Limits {
    /// The structural ceilings: the most each store can hold.
    pub const MAX: Limits = Limits {
        sources: MAX_SOURCES as u64,
        shipments: MAX_SHIPMENTS as u64,
        vehicles: MAX_SHIPMENTS as u64,
        charges: crate::state::MAX_RECORDS as u64,
        invoices: crate::state::MAX_RECORDS as u64,
        listed_charges: crate::state::MAX_RECORDS as u64,
        customers: crate::state::MAX_SYMBOLS as u64,
        routes: crate::state::MAX_SYMBOLS as u64,
        contract_terms: crate::state::MAX_SYMBOLS as u64,
        text_bytes: crate::state::MAX_TEXT_STORE_BYTES as u64,
        failed_attempts: u32::MAX as u64,
    };

    /// Every limit with its name, in a fixed order (the names errors and docs use).
    pub fn named(&self) -> [(&'static str, u64); 11] {
        [
            ("sources", self.sources),
            ("shipments", self.shipments),
            ("vehicles", self.vehicles),
            ("charges", self.charges),
            ("invoices", self.invoices),
            ("listed_charges", self.listed_charges),
            ("customers", self.customers),
            ("routes", self.routes),
            ("contract_terms", self.contract_terms),
            ("text_bytes", self.text_bytes),
            ("failed_attempts", self.failed_attempts),
        ]
    }

    /// Checks that no limit is above its structural ceiling.
    pub fn check(&self) -> Result<(), String> {
        for ((name, value), (_, max)) in self.named().into_iter().zip(Limits::MAX.named()) {
            if value > max {
                return Err(format!(
                    "limit `{name}` of {value} is above the most this core can hold ({max})"
                ));
            }
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::MAX
    }
}

/// A batch refused because it could take a store past its limit. Nothing of the batch was
/// journaled or applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "capacity limit `{limit}` reached: at most {max}, {held} held, the batch needs up to \
     {needed} more; nothing of the batch was journaled"
)]
pub struct CapacityExceeded {
    /// The limit's name (a field of [`Limits`]).
    pub limit: &'static str,
    /// Its value.
    pub max: u64,
    /// What the core holds now.
    pub held: u64,
    /// What the batch could add (an upper bound).
    pub needed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_ceilings_and_higher_values_are_refused() {
        assert_eq!(Limits::default(), Limits::MAX);
        assert_eq!(Limits::MAX.check(), Ok(()));
        assert_eq!(Limits::MAX.sources, 1 << 24);
        assert_eq!(Limits::MAX.text_bytes, 1 << 32);
        let names = Limits::MAX.named().map(|(n, _)| n);
        for (i, name) in names.iter().enumerate() {
            let mut values = Limits::MAX.named().map(|(_, v)| v);
            values[i] += 1;
            let l = Limits {
                sources: values[0],
                shipments: values[1],
                vehicles: values[2],
                charges: values[3],
                invoices: values[4],
                listed_charges: values[5],
                customers: values[6],
                routes: values[7],
                contract_terms: values[8],
                text_bytes: values[9],
                failed_attempts: values[10],
            };
            let err = l.check().unwrap_err();
            assert!(err.contains(&format!("`{name}`")), "{err}");
        }
    }
}
