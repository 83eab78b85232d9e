//! Re-deriving effects from the journal, read-only: what an effect log misses after a crash
//! (effects are derived again exactly as they were, since derivation is deterministic).

use super::EffectBuf;
use crate::engine::{CoreError, Until, access_record, archived, with_newest_snapshot};
use crate::journal::{JournalError, JournalReader, RecordRef};
use crate::machine::Machine;
use crate::source::Sources;
use std::path::Path;

/// Derives again, read-only, the effects after `after_seq` of the journal in `dir`, up to the
/// record at `until_lsn`: from the newest usable snapshot whose effects all lie at or below
/// `after_seq` (or from the first record), stepping each record with effects collected.
/// `emit` gets the effects of each record that derived any (some may lie at or below
/// `after_seq`: the caller skips them) with the sources to render them. Returns the machine's
/// `effect_seq` at `until_lsn`.
#[doc(hidden)]
pub fn rederive_effects(
    dir: &Path,
    after_seq: u64,
    until_lsn: u64,
    mut emit: impl FnMut(&EffectBuf, &Sources) -> Result<(), CoreError>,
) -> Result<u64, CoreError> {
    let (reader, loaded, _skipped) = with_newest_snapshot(
        dir,
        |h| h.lsn <= until_lsn && h.effect_seq <= after_seq,
        |resume| Ok(JournalReader::open_after(dir, resume)?),
    )?;
    let mut machine = match loaded {
        Some((m, _, _)) => m,
        None if reader.first_lsn() > 1 => {
            return Err(archived(dir, reader.first_lsn(), Until::Lsn(until_lsn)));
        }
        None => Machine::new(),
    };
    assert!(machine.effect_seq() <= after_seq);
    machine.collect_effects(true);
    type Recs<'r> = Box<dyn Iterator<Item = Result<RecordRef<'r>, JournalError>> + 'r>;
    let records: Recs<'_> = match machine.lsn() {
        0 => Box::new(reader.records()),
        from => Box::new(
            reader
                .records_after(from)
                .expect("a snapshot is only loaded at a record the journal holds"),
        ),
    };
    let mut buf = EffectBuf::new();
    for rec in records {
        let rec = rec?;
        if rec.lsn > until_lsn {
            break;
        }
        let entry = access_record(rec.lsn, rec.kind, rec.payload)?;
        machine.step(rec.lsn, rec.ingest_us, entry);
        machine.take_effects(&mut buf);
        if buf.effects().last().is_some_and(|e| e.seq > after_seq) {
            emit(&buf, machine.sources())?;
        }
    }
    if machine.lsn() != until_lsn {
        return Err(CoreError::BadRecord {
            lsn: machine.lsn() + 1,
            what: format!(
                "effects are re-derived up to lsn {until_lsn}, the journal ends at lsn {}",
                machine.lsn()
            ),
        });
    }
    Ok(machine.effect_seq())
}
