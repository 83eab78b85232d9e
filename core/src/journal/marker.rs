//! The durable marker: a small checksummed file, `DURABLE`, that records how far the journal
//! is durable (the LSN and the chain link of that record). It is raised after every flush,
//! once the flushed bytes are on disk, and recovery trusts it: records at or below it were
//! acknowledged, so damage there is an error, never a torn tail to cut.
//!
//! The marker lives beside the segments, not in them, because how often it is raised depends
//! on flush timing, and segment files must not (the same records give byte-identical segments
//! whatever the batching).
//!
//! # Format (all integers little endian)
//!
//! Two slots of [`SLOT_BYTES`] = 64 bytes at offsets 0 and 64; write number `n` goes to slot
//! `n % 2`, so a write torn by a crash leaves the other slot, one step older, intact. The valid
//! slot with the greater write number is the marker.
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 8 | magic `b"WBDURABL"` |
//! | 8 | 4 | format version (u32, the segments' [`FORMAT_VERSION`]) |
//! | 12 | 4 | reserved, zero |
//! | 16 | 8 | write number (u64) |
//! | 24 | 8 | durable LSN (u64; 0 when nothing is durable) |
//! | 32 | 16 | chain link of the record at the durable LSN (the genesis link at 0) |
//! | 48 | 12 | reserved, zero |
//! | 60 | 4 | CRC32C of bytes 0..60 |

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::JournalError;
use super::chain::{GENESIS_LINK, LINK_BYTES, Link};
use super::error::Damage;
use super::segment::{FORMAT_VERSION, fsync_dir};
use super::storage::Storage;

/// File name of the durable marker.
pub const MARKER_FILE_NAME: &str = "DURABLE";
/// Bytes of one marker slot.
pub const SLOT_BYTES: usize = 64;
/// Magic bytes of a marker slot.
pub const MARKER_MAGIC: [u8; 8] = *b"WBDURABL";

const OFF_VERSION: usize = 8;
const OFF_RESERVED_A: usize = 12;
const OFF_WRITE: usize = 16;
const OFF_LSN: usize = 24;
const OFF_LINK: usize = 32;
const OFF_RESERVED_B: usize = 48;
const OFF_CRC: usize = 60;

const _: () = assert!(OFF_LINK + LINK_BYTES == OFF_RESERVED_B);
const _: () = assert!(OFF_CRC + 4 == SLOT_BYTES);

/// How far the journal is durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Durable {
    /// Every record up to this LSN is durable (0: none).
    pub lsn: u64,
    /// The chain link of the record at `lsn`.
    pub link: Link,
}

impl Durable {
    /// Nothing durable yet.
    pub const NONE: Durable = Durable {
        lsn: 0,
        link: GENESIS_LINK,
    };
}

fn encode(write: u64, d: &Durable) -> [u8; SLOT_BYTES] {
    let mut s = [0u8; SLOT_BYTES];
    s[..8].copy_from_slice(&MARKER_MAGIC);
    s[OFF_VERSION..OFF_VERSION + 4].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    s[OFF_WRITE..OFF_WRITE + 8].copy_from_slice(&write.to_le_bytes());
    s[OFF_LSN..OFF_LSN + 8].copy_from_slice(&d.lsn.to_le_bytes());
    s[OFF_LINK..OFF_LINK + LINK_BYTES].copy_from_slice(&d.link);
    let crc = crc32c::crc32c(&s[..OFF_CRC]);
    s[OFF_CRC..].copy_from_slice(&crc.to_le_bytes());
    s
}

/// Decodes one slot: `(write number, marker)`, or why it is not valid.
fn decode(s: &[u8]) -> Result<(u64, Durable), &'static str> {
    debug_assert_eq!(s.len(), SLOT_BYTES);
    let u32_at = |at: usize| u32::from_le_bytes(s[at..at + 4].try_into().expect("4 bytes"));
    let u64_at = |at: usize| u64::from_le_bytes(s[at..at + 8].try_into().expect("8 bytes"));
    if s[..8] != MARKER_MAGIC {
        return Err("bad magic");
    }
    if crc32c::crc32c(&s[..OFF_CRC]) != u32_at(OFF_CRC) {
        return Err("crc mismatch");
    }
    if u32_at(OFF_VERSION) != FORMAT_VERSION {
        return Err("unsupported format version");
    }
    if u32_at(OFF_RESERVED_A) != 0 || s[OFF_RESERVED_B..OFF_CRC].iter().any(|&b| b != 0) {
        return Err("reserved bytes are not zero");
    }
    let mut link = [0u8; LINK_BYTES];
    link.copy_from_slice(&s[OFF_LINK..OFF_LINK + LINK_BYTES]);
    Ok((
        u64_at(OFF_WRITE),
        Durable {
            lsn: u64_at(OFF_LSN),
            link,
        },
    ))
}

fn marker_damage(what: impl Into<String>) -> Damage {
    Damage {
        segment: MARKER_FILE_NAME.to_owned(),
        offset: 0,
        lsn: 0,
        what: what.into(),
    }
}

/// Reads the marker of the journal in `dir`. A journal that has segments always has one, so a
/// missing or unreadable marker is damage (named as file `DURABLE`).
pub(crate) fn read(dir: &Path) -> Result<Result<Durable, Damage>, JournalError> {
    let path = dir.join(MARKER_FILE_NAME);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(Err(marker_damage("the durable marker file is missing")));
        }
        Err(e) => return Err(JournalError::io(&path, e)),
    };
    if bytes.len() != 2 * SLOT_BYTES {
        return Ok(Err(marker_damage(format!(
            "the durable marker file has {} bytes, expected {}",
            bytes.len(),
            2 * SLOT_BYTES
        ))));
    }
    let slots = [decode(&bytes[..SLOT_BYTES]), decode(&bytes[SLOT_BYTES..])];
    let best = slots
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.ok().filter(|(write, _)| *write % 2 == i as u64))
        .max_by_key(|(write, _)| *write);
    Ok(match best {
        Some((_, d)) => Ok(d),
        None => Err(marker_damage(format!(
            "no valid slot in the durable marker ({}; {})",
            slots[0].err().unwrap_or("wrong slot"),
            slots[1].err().unwrap_or("wrong slot"),
        ))),
    })
}

/// The writer's handle on the marker file.
#[derive(Debug)]
pub(crate) struct Marker {
    file: File,
    path: PathBuf,
    storage: Arc<dyn Storage>,
    /// Number of the last write (its slot is `write % 2`).
    write: u64,
    current: Durable,
}

impl Marker {
    /// Creates the marker of a new journal (nothing durable), both slots written, file and
    /// directory synced. Called before the first segment exists.
    pub fn create(dir: &Path, storage: Arc<dyn Storage>) -> Result<Marker, JournalError> {
        let path = dir.join(MARKER_FILE_NAME);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| JournalError::io(&path, e))?;
        let mut both = [0u8; 2 * SLOT_BYTES];
        both[..SLOT_BYTES].copy_from_slice(&encode(0, &Durable::NONE));
        both[SLOT_BYTES..].copy_from_slice(&encode(1, &Durable::NONE));
        file.write_all_at(&both, 0)
            .and_then(|()| storage.sync_marker(&file))
            .map_err(|e| JournalError::io(&path, e))?;
        fsync_dir(dir)?;
        Ok(Marker {
            file,
            path,
            storage,
            write: 1,
            current: Durable::NONE,
        })
    }

    /// Opens the marker of an existing journal, whose content `read` returned as `current`.
    pub fn open(
        dir: &Path,
        storage: Arc<dyn Storage>,
        current: Durable,
    ) -> Result<Marker, JournalError> {
        let path = dir.join(MARKER_FILE_NAME);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| JournalError::io(&path, e))?;
        let mut both = [0u8; 2 * SLOT_BYTES];
        file.read_exact_at(&mut both, 0)
            .map_err(|e| JournalError::io(&path, e))?;
        let write = [&both[..SLOT_BYTES], &both[SLOT_BYTES..]]
            .iter()
            .filter_map(|s| decode(s).ok())
            .map(|(w, _)| w)
            .max()
            .unwrap_or(1);
        Ok(Marker {
            file,
            path,
            storage,
            write,
            current,
        })
    }

    /// The marker as last written.
    pub fn current(&self) -> Durable {
        self.current
    }

    /// Records that every record up to `to.lsn` is durable (their bytes were synced before
    /// this call). Monotonic: a marker never goes back; setting it lower is a no-op. The new
    /// slot is synced before this returns, so an acknowledgement based on it survives a crash.
    pub fn raise(&mut self, to: Durable) -> Result<(), JournalError> {
        if to.lsn <= self.current.lsn {
            return Ok(());
        }
        self.set(to)
    }

    /// Writes `to` whatever the current value (recovery may lower the marker only when it
    /// found the journal shorter than the marker and refused to open, so in practice this is
    /// used to raise it, and by [`Self::raise`]).
    fn set(&mut self, to: Durable) -> Result<(), JournalError> {
        let write = self.write + 1;
        let slot = (write % 2) as usize;
        self.file
            .write_all_at(&encode(write, &to), (slot * SLOT_BYTES) as u64)
            .and_then(|()| self.storage.sync_marker(&self.file))
            .map_err(|e| JournalError::io(&self.path, e))?;
        self.write = write;
        self.current = to;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::storage::OsStorage;

    fn storage() -> Arc<dyn Storage> {
        Arc::new(OsStorage)
    }

    fn at(lsn: u64) -> Durable {
        Durable {
            lsn,
            link: [lsn as u8; 16],
        }
    }

    #[test]
    fn raises_survive_reopen_and_never_go_back() {
        let tmp = tempfile::tempdir().unwrap();
        let mut m = Marker::create(tmp.path(), storage()).unwrap();
        assert_eq!(read(tmp.path()).unwrap(), Ok(Durable::NONE));
        for lsn in [3, 7, 7, 5, 12] {
            m.raise(at(lsn)).unwrap();
        }
        assert_eq!(read(tmp.path()).unwrap(), Ok(at(12)));
        let mut m = Marker::open(tmp.path(), storage(), at(12)).unwrap();
        m.raise(at(13)).unwrap();
        assert_eq!(read(tmp.path()).unwrap(), Ok(at(13)));
    }

    /// A torn write of one slot leaves the previous marker; damage to both is reported.
    #[test]
    fn one_damaged_slot_falls_back_to_the_other() {
        let tmp = tempfile::tempdir().unwrap();
        let mut m = Marker::create(tmp.path(), storage()).unwrap();
        m.raise(at(4)).unwrap(); // write 2, slot 0
        m.raise(at(9)).unwrap(); // write 3, slot 1
        let path = tmp.path().join(MARKER_FILE_NAME);
        let good = std::fs::read(&path).unwrap();
        for at_byte in 0..2 * SLOT_BYTES {
            let mut bad = good.clone();
            bad[at_byte] ^= 0x10;
            std::fs::write(&path, &bad).unwrap();
            let expect = if at_byte < SLOT_BYTES { at(9) } else { at(4) };
            assert_eq!(read(tmp.path()).unwrap(), Ok(expect), "flip at {at_byte}");
        }
        let mut bad = good.clone();
        bad[3] ^= 1;
        bad[SLOT_BYTES + 3] ^= 1;
        std::fs::write(&path, &bad).unwrap();
        assert!(read(tmp.path()).unwrap().is_err());
        std::fs::write(&path, &good[..100]).unwrap();
        assert!(read(tmp.path()).unwrap().is_err());
        std::fs::remove_file(&path).unwrap();
        let e = read(tmp.path()).unwrap().unwrap_err();
        assert!(e.what.contains("missing"), "{e:?}");
    }
}
