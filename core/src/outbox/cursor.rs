//! A lane's position, persisted in `cursor-<sink>-<class>.cur`: two checksummed slots written
//! in turn (as the journal's durable marker), so a write torn by a crash leaves the other slot,
//! one step older, intact. Never in the journal: how far delivery got depends on timing.
//!
//! The lane writes it at most once per persist interval (and when it stops), so a crash can
//! make it deliver again what it had delivered since (at least once), never skip an effect:
//! the position only ever names effects that were acknowledged or dead-lettered.
//!
//! # Slot (64 bytes, integers little endian)
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 8 | magic `b"WBEFCURS"` |
//! | 8 | 4 | format version (1) |
//! | 12 | 4 | reserved, zero |
//! | 16 | 8 | write number |
//! | 24 | 8 | cursor seq |
//! | 32 | 8 | redrive generation being delivered (0: none yet) |
//! | 40 | 8 | offset reached in that generation's file |
//! | 48 | 8 | effects delivered by this lane, in total |
//! | 56 | 4 | reserved, zero |
//! | 60 | 4 | CRC32C of bytes 0..60 |

use super::lock;
use super::{LaneId, OutboxError};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

const SLOT_BYTES: usize = 64;
const MAGIC: [u8; 8] = *b"WBEFCURS";
const VERSION: u32 = 1;

/// Where a lane stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LanePosition {
    /// Every effect of the lane at or below this seq is acknowledged or dead-lettered.
    pub cursor_seq: u64,
    /// The redrive generation being delivered: every earlier one is done.
    pub redrive_gen: u64,
    /// In that generation's file, every dead letter before this offset is done.
    pub redrive_offset: u64,
    /// Acknowledgements of this lane in total (redeliveries after a crash count again).
    pub delivered: u64,
}

pub(crate) fn file_name(lane: LaneId) -> String {
    format!("cursor-{}.cur", lane.file_stem())
}

fn encode(write: u64, p: &LanePosition) -> [u8; SLOT_BYTES] {
    let mut s = [0u8; SLOT_BYTES];
    s[..8].copy_from_slice(&MAGIC);
    s[8..12].copy_from_slice(&VERSION.to_le_bytes());
    for (at, v) in [
        (16, write),
        (24, p.cursor_seq),
        (32, p.redrive_gen),
        (40, p.redrive_offset),
        (48, p.delivered),
    ] {
        s[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }
    let crc = crc32c::crc32c(&s[..60]);
    s[60..].copy_from_slice(&crc.to_le_bytes());
    s
}

fn decode(s: &[u8]) -> Option<(u64, LanePosition)> {
    let u64_at = |at: usize| u64::from_le_bytes(s[at..at + 8].try_into().expect("8 bytes"));
    let crc = u32::from_le_bytes(s[60..64].try_into().expect("4 bytes"));
    let reserved_zero = s[12..16].iter().chain(&s[56..60]).all(|&b| b == 0);
    let ok = s[..8] == MAGIC
        && crc32c::crc32c(&s[..60]) == crc
        && u32::from_le_bytes(s[8..12].try_into().expect("4 bytes")) == VERSION
        && reserved_zero;
    ok.then(|| {
        let p = LanePosition {
            cursor_seq: u64_at(24),
            redrive_gen: u64_at(32),
            redrive_offset: u64_at(40),
            delivered: u64_at(48),
        };
        (u64_at(16), p)
    })
}

/// The newest valid slot of `bytes` (the file's content): `(write number, position)`.
fn newest(path: &Path, bytes: &[u8]) -> Result<(u64, LanePosition), OutboxError> {
    if bytes.len() != 2 * SLOT_BYTES {
        return Err(OutboxError::corrupt(
            path,
            0,
            format!(
                "cursor file has {} bytes, expected {}",
                bytes.len(),
                2 * SLOT_BYTES
            ),
        ));
    }
    [&bytes[..SLOT_BYTES], &bytes[SLOT_BYTES..]]
        .iter()
        .enumerate()
        .filter_map(|(i, s)| decode(s).filter(|(w, _)| *w % 2 == i as u64))
        .max_by_key(|(w, _)| *w)
        .ok_or_else(|| OutboxError::corrupt(path, 0, "no valid slot in the cursor file"))
}

/// The persisted position of `lane` (all zero when the lane never persisted one). Read-only.
pub fn read_position(effects_dir: &Path, lane: LaneId) -> Result<LanePosition, OutboxError> {
    let path = effects_dir.join(file_name(lane));
    match std::fs::read(&path) {
        Ok(bytes) => newest(&path, &bytes).map(|(_, p)| p),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(LanePosition::default()),
        Err(e) => Err(OutboxError::io(&path, e)),
    }
}

/// Writes a new cursor file at `path`: both slots at position zero.
fn create(effects_dir: &Path, path: &Path) -> Result<(), OutboxError> {
    let tmp = path.with_extension("cur.tmp");
    let zero = LanePosition::default();
    let mut both = [0u8; 2 * SLOT_BYTES];
    both[..SLOT_BYTES].copy_from_slice(&encode(0, &zero));
    both[SLOT_BYTES..].copy_from_slice(&encode(1, &zero));
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(|e| OutboxError::io(&tmp, e))?;
    f.write_all_at(&both, 0)
        .and_then(|()| f.sync_all())
        .map_err(|e| OutboxError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| OutboxError::io(path, e))?;
    lock::fsync_dir(effects_dir)
}

/// A lane's cursor file, open for writing.
#[derive(Debug)]
pub(crate) struct CursorFile {
    path: PathBuf,
    file: File,
    write: u64,
    current: LanePosition,
}

impl CursorFile {
    /// Opens the cursor file of `lane`, creating it (both slots, synced, then renamed into
    /// place, so it is never there half written) when missing.
    pub fn open(effects_dir: &Path, lane: LaneId) -> Result<CursorFile, OutboxError> {
        let path = effects_dir.join(file_name(lane));
        if !path.exists() {
            create(effects_dir, &path)?;
        }
        let io = |e| OutboxError::io(&path, e);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io)?;
        let bytes = std::fs::read(&path).map_err(io)?;
        let (write, current) = newest(&path, &bytes)?;
        Ok(CursorFile {
            path,
            file,
            write,
            current,
        })
    }

    /// The position as last written.
    pub fn current(&self) -> LanePosition {
        self.current
    }

    /// Writes `p` into the older slot and syncs it. The cursor never goes back.
    pub fn write(&mut self, p: LanePosition) -> Result<(), OutboxError> {
        assert!(
            p.cursor_seq >= self.current.cursor_seq,
            "a cursor never goes back ({} -> {})",
            self.current.cursor_seq,
            p.cursor_seq
        );
        let write = self.write + 1;
        let slot = (write % 2) as usize;
        self.file
            .write_all_at(&encode(write, &p), (slot * SLOT_BYTES) as u64)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| OutboxError::io(&self.path, e))?;
        self.write = write;
        self.current = p;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::effect::{Class, Downstream};

    #[test]
    fn the_newest_slot_wins_and_a_torn_one_falls_back() {
        let dir = tempfile::tempdir().unwrap();
        let lane = LaneId::new(Downstream::Billing, Class::Financial);
        let mut c = CursorFile::open(dir.path(), lane).unwrap();
        for seq in 1..=5 {
            c.write(LanePosition {
                cursor_seq: seq,
                delivered: seq * 10,
                ..LanePosition::default()
            })
            .unwrap();
        }
        assert_eq!(read_position(dir.path(), lane).unwrap().cursor_seq, 5);
        // Tear the slot of the last write (write number 6, slot 0): the previous survives.
        let path = dir.path().join(file_name(lane));
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[30] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(read_position(dir.path(), lane).unwrap().cursor_seq, 4);
        bytes[SLOT_BYTES + 30] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        assert!(read_position(dir.path(), lane).is_err());
        let other = LaneId::new(Downstream::Ops, Class::Urgent);
        assert_eq!(
            read_position(dir.path(), other).unwrap(),
            LanePosition::default()
        );
    }
}
