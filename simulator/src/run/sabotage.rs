//! Ways to make the core misbehave on purpose, so tests can prove each check can fail.

use waybill_core::machine::Summary;
use waybill_core::state::ShipmentView;

/// Ways to make the core misbehave on purpose, so tests can prove each check can fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sabotage {
    #[default]
    None,
    /// Every n-th delivery never reaches the core (silent loss).
    DropEvery(u64),
    /// The live digest is reported with one bit flipped.
    LieAboutDigest,
    /// The duplicate counter is reported `k` too high.
    MiscountDuplicates(u64),
    /// One shipment's `billed_cents` is reported one cent too high.
    CorruptShipment,
    /// One dead letter is reported under the wrong reason.
    MislabelDeadLetter,
}

impl Sabotage {
    /// True when delivery `index` (0-based, in arrival order) must silently not reach the core.
    pub(super) fn skips(self, index: u32) -> bool {
        matches!(self, Sabotage::DropEvery(n) if (index as u64 + 1).is_multiple_of(n))
    }

    /// Falsifies what was read from the core, as a lying core would report it.
    pub(super) fn falsify(self, summary: &mut Summary, views: &mut [ShipmentView]) {
        match self {
            Sabotage::LieAboutDigest => {
                let flipped = if summary.digest.starts_with('0') {
                    "1"
                } else {
                    "0"
                };
                summary.digest.replace_range(0..1, flipped);
            }
            Sabotage::MiscountDuplicates(k) => summary.duplicates += k,
            Sabotage::CorruptShipment => {
                if let Some(v) = views.first_mut() {
                    v.billed_cents += 1;
                }
            }
            Sabotage::MislabelDeadLetter => {
                let reasons = &mut summary.dead_letter_reasons.0;
                if let Some(i) = reasons.iter().position(|(_, n)| *n > 0) {
                    reasons[i].1 -= 1;
                    let j = (i + 1) % reasons.len();
                    reasons[j].1 += 1;
                }
            }
            Sabotage::None | Sabotage::DropEvery(_) => {}
        }
    }
}
