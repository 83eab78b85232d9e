//! Ways to make the core misbehave on purpose, so tests can prove each check can fail.

use super::SimError;
use std::path::{Path, PathBuf};
use waybill_core::machine::Summary;
use waybill_core::state::ShipmentView;

/// The journal's files as they were at one moment (the writer's `LOCK` and segments still
/// being prepared aside).
pub(super) struct JournalFiles(Vec<(PathBuf, Vec<u8>)>);

/// The files of `dir` that make up the journal's content.
fn content_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name();
        let name = name.to_string_lossy();
        if e.file_type()?.is_file() && name != "LOCK" && !name.ends_with(".tmp") {
            out.push(e.path());
        }
    }
    out.sort();
    Ok(out)
}

fn io_error(dir: &Path, e: std::io::Error) -> SimError {
    SimError::Io(format!("{}: {e}", dir.display()))
}

impl JournalFiles {
    /// Copies the journal's files as they are now (between batches: the writer is idle).
    pub fn take(dir: &Path) -> Result<JournalFiles, SimError> {
        let read = || -> std::io::Result<JournalFiles> {
            let mut files = Vec::new();
            for p in content_files(dir)? {
                let bytes = std::fs::read(&p)?;
                files.push((p, bytes));
            }
            Ok(JournalFiles(files))
        };
        read().map_err(|e| io_error(dir, e))
    }

    /// Puts the journal back as it was (the writer is dead): files it did not hold then are
    /// removed.
    pub fn restore(self, dir: &Path) -> Result<(), SimError> {
        let write = || -> std::io::Result<()> {
            for p in content_files(dir)? {
                std::fs::remove_file(p)?;
            }
            for (p, bytes) in self.0 {
                std::fs::write(p, bytes)?;
            }
            Ok(())
        };
        write().map_err(|e| io_error(dir, e))
    }
}

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
    /// The summary's leakage of one currency is reported one cent too high.
    MiscountLeakage,
    /// The disk acknowledges flushes it never made (a volatile write cache that ignores
    /// flushes): at the first crash the journal's files come back as they were at the first
    /// acknowledgement, a consistent journal that lacks acknowledged records.
    LyingDisk,
    /// The billing receiver acknowledges the first effect it gets, and every repeat of it,
    /// without keeping it: one effect lost downstream.
    LoseEffect,
    /// One key of what the live core derived is reported altered, as a derivation that does
    /// not follow the journal would give.
    AlterEffectKey,
    /// One effect is received a second time under another key.
    RepeatWithNewKey,
    /// The outbox holds every urgent effect back while a financial lane's breaker is open, so
    /// a financial sink that is down holds the urgent effects of every sink back with it.
    FinancialBlocksUrgent,
    /// The lanes have no working breaker: it never opens (and effects are retried instead).
    NoBreaker,
    /// The last delivery confirmation billing received is reported one detention minute off.
    StaleConfirmation,
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
            Sabotage::MiscountLeakage => {
                if let Some(t) = summary.totals.values_mut().next() {
                    t.leakage_cents += 1;
                }
            }
            _ => {}
        }
    }
}

impl Sabotage {
    /// Falsifies what the live core is read to have derived.
    pub(super) fn falsify_derived(self, logged: &mut [super::derived::Derived]) {
        if self == Sabotage::AlterEffectKey
            && let Some(d) = logged.first_mut()
        {
            d.key = super::effect_checks::altered(d.key);
        }
    }

    /// Falsifies what the receivers are read to have received.
    pub(super) fn falsify_receipts(self, receivers: &mut [super::downstream::Receiver]) {
        use super::downstream::ReceivedData;
        use waybill_core::effect::EffectType;
        let all = receivers.iter_mut().flat_map(|r| r.receipts.iter_mut());
        match self {
            Sabotage::RepeatWithNewKey => {
                if let Some(r) = receivers.iter_mut().find(|r| !r.receipts.is_empty()) {
                    let mut again = r.receipts[0].clone();
                    again.key = super::effect_checks::altered(again.key);
                    r.receipts.push(again);
                }
            }
            Sabotage::StaleConfirmation => {
                let last = all
                    .filter(|rc| rc.effect_type == EffectType::BillingDeliveryConfirmed)
                    .max_by_key(|rc| rc.seq);
                if let Some(rc) = last
                    && let ReceivedData::DeliveryConfirmed {
                        detention_minutes, ..
                    } = &mut rc.data
                {
                    *detention_minutes += 1;
                }
            }
            _ => {}
        }
    }
}
