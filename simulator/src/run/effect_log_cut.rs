//! What a power cut does to the effect log (`<journal>/effects/log-*.efx`).
//!
//! The log's appends reach the page cache at once and the disk when the log is synced: a
//! segment when the next one starts, the last one only when the core closes. So at a cut the
//! last segment keeps its header and a prefix of its frames (its unsynced tail written back in
//! order), the length drawn from the crash's seed, possibly ending in the middle of a frame:
//! effects of durable records may go too. The reopened core cuts the torn frame and derives
//! again, from the journal it recovered, every effect the log lacks; the check that every
//! effect reached its sink, with the same key, proves it.

use super::SimError;
use crate::rng::Rng;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use waybill_core::outbox::{SEGMENT_HEADER_BYTES, effects_dir, segment_file_name};

/// What a power cut did to the effect log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Cut {
    /// Bytes of frames of the last segment (none synced).
    pub bytes_unsynced: u64,
    /// Of those, bytes the cut took.
    pub bytes_lost: u64,
}

/// The log's segments, by first seq.
fn segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, SimError> {
    let io = |e: std::io::Error| SimError::Io(format!("{}: {e}", dir.display()));
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(io)? {
        let name = e.map_err(io)?.file_name();
        let name = name.to_string_lossy();
        let first = name
            .strip_prefix("log-")
            .and_then(|n| n.strip_suffix(".efx"))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(first) = first.filter(|f| segment_file_name(*f) == name) {
            out.push((first, dir.join(segment_file_name(first))));
        }
    }
    out.sort();
    Ok(out)
}

/// Cuts the last segment of the effect log of the journal in `journal_dir` after a power
/// loss: its header stays, of its frames a prefix drawn from `seed`.
pub(super) fn cut(journal_dir: &Path, seed: u64) -> Result<Cut, SimError> {
    let dir = effects_dir(journal_dir);
    let Some((_, path)) = segments(&dir)?.pop() else {
        return Ok(Cut::default());
    };
    let io = |e: std::io::Error| SimError::Io(format!("{}: {e}", path.display()));
    let len = std::fs::metadata(&path).map_err(io)?.len();
    let floor = (SEGMENT_HEADER_BYTES as u64).min(len);
    let mut rng = Rng::stream(seed, "fault/crash/effects");
    let keep = floor + rng.below(len - floor + 1);
    OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_len(keep))
        .map_err(io)?;
    Ok(Cut {
        bytes_unsynced: len - floor,
        bytes_lost: len - keep,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use waybill_core::effect::{EffectKey, EffectOut, EffectType};
    use waybill_core::outbox::{EffectLog, FRAME_HEADER_BYTES};

    const JSON_BYTES: usize = 200;

    fn log_of(dir: &Path, n: u64) {
        let mut log = EffectLog::open(dir).unwrap();
        for seq in 1..=n {
            log.append(&EffectOut {
                seq,
                cause_lsn: seq,
                time_us: 0,
                effect_type: EffectType::AlertGap,
                key: EffectKey([seq as u8; 16]),
                json: vec![b'x'; JSON_BYTES],
            })
            .unwrap();
        }
    }

    /// Each seed keeps a prefix of the frames, possibly tearing one, and the log opens again
    /// with the whole frames kept: the reopened core derives the rest again.
    #[test]
    fn a_cut_keeps_the_header_and_a_prefix_the_log_recovers_from() {
        let frame = (FRAME_HEADER_BYTES + JSON_BYTES) as u64;
        let mut lost_some = false;
        for seed in 0..12 {
            let tmp = tempfile::tempdir().unwrap();
            log_of(tmp.path(), 10);
            let cut = cut(tmp.path(), seed).unwrap();
            assert_eq!(cut.bytes_unsynced, 10 * frame, "seed {seed}");
            assert!(cut.bytes_lost <= cut.bytes_unsynced);
            lost_some |= cut.bytes_lost > 0;
            let kept = (cut.bytes_unsynced - cut.bytes_lost) / frame;
            let log = EffectLog::open(tmp.path()).unwrap();
            assert_eq!(log.last_seq(), kept, "seed {seed}");
            let torn = !(cut.bytes_unsynced - cut.bytes_lost).is_multiple_of(frame);
            assert_eq!(log.torn_tail().is_some(), torn, "seed {seed}");
        }
        assert!(lost_some);
        // No effect log: nothing to cut.
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(effects_dir(tmp.path())).unwrap();
        assert_eq!(cut(tmp.path(), 1).unwrap(), Cut::default());
    }
}
