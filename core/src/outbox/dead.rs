//! Dead letters and redrive, per lane.
//!
//! An effect a lane gives up on (its last attempt failed, or the sink refused it for good) is
//! appended to `dead-<sink>-<class>.efd` with its last error, its attempts and its own copy of
//! the JSON (so retention can delete the log segment it came from), synced before the lane's
//! cursor moves past it.
//!
//! Redrive renames that file to `redrive-<sink>-<class>-<generation>.efd`: an atomic step that
//! makes every dead letter in it pending again. The lane delivers the generations in order,
//! each from the start, before it continues with the log (after the batch it has in flight);
//! a generation is deleted once done. A dead letter that fails again is appended to the dead
//! file anew, marked with the generation and offset it came from.
//!
//! Crash safety: the lane's persisted position (`cursor.rs`) may lag. Opening therefore moves it
//! up to what the dead letters prove: a letter that came from the log at seq `s` means every
//! effect of the lane up to `s` was done (a lane gives up on its effects in seq order), and a
//! letter that came from generation `g` at offset `o` means that generation was done up to
//! `o` and every earlier one wholly. So no dead letter is ever listed twice or lost.
//!
//! # Frame (integers little endian)
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 4 | bytes after offset 8 (`n`) |
//! | 4 | 4 | CRC32C of bytes 0..4 and 8..8+n |
//! | 8 | 8 | effect seq |
//! | 16 | 8 | cause LSN |
//! | 24 | 8 | effect time (µs) |
//! | 32 | 8 | when it was dead-lettered (µs) |
//! | 40 | 8 | origin generation (0: from the log) |
//! | 48 | 8 | origin: offset after it in that generation's file |
//! | 56 | 4 | attempts |
//! | 60 | 1 | effect type code |
//! | 61 | 1 | reserved, zero |
//! | 62 | 2 | error bytes `k` (at most [`MAX_ERROR_BYTES`]) |
//! | 64 | 16 | idempotency key |
//! | 80 | k | last error (UTF-8) |
//! | 80+k | n-72-k | the CloudEvents JSON |

use super::chunk::Chunked;
use super::frame::MAX_EFFECT_JSON_BYTES;
use super::lock;
use super::{LaneId, LanePosition, OutboxError};
use crate::effect::{EffectKey, EffectOut, EffectType};
use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

const HEAD_BYTES: usize = 80;
/// Longest last error kept with a dead letter (longer ones are cut at a character boundary).
pub const MAX_ERROR_BYTES: usize = 1024;
const MAX_FRAME_BYTES: usize = HEAD_BYTES + MAX_ERROR_BYTES + MAX_EFFECT_JSON_BYTES;

/// Where a dead letter was delivered from when it failed for the last time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The effect log.
    Log,
    /// A redrive generation; `next_offset` is where the next dead letter of its file starts.
    Redrive {
        /// The redrive generation (its file is `redrive-<sink>-<class>-<generation>.efd`).
        generation: u64,
        /// The byte offset in that file just after this dead letter.
        next_offset: u64,
    },
}

/// An effect a lane gave up on: its last attempt failed, or its sink refused it for good
/// (docs/effects.md, dead letters and redrive).
///
/// It keeps its own copy of the effect, so it outlives the log segment it came from. The
/// effect's fields are those of [`EffectOut`] ([`DeadLetter::effect`] gives it back).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadLetter {
    /// The effect's `effect_seq`.
    pub seq: u64,
    /// The LSN of the journal record that derived the effect.
    pub cause_lsn: u64,
    /// The effect's time: the ingest time of its record, µs since the Unix epoch.
    pub time_us: i64,
    /// The effect type.
    pub effect_type: EffectType,
    /// The effect's idempotency key.
    pub key: EffectKey,
    /// The effect's CloudEvents JSON object.
    pub json: Vec<u8>,
    /// Delivery attempts it used (calls made while the breaker was closed).
    pub attempts: u32,
    /// The last error; at most 1,024 bytes are stored (a longer one is cut at a character
    /// boundary).
    pub error: String,
    /// When it was dead-lettered (the delivery clock, µs).
    pub dead_us: i64,
    /// Where it was delivered from when it failed for the last time.
    pub origin: Origin,
}

impl DeadLetter {
    /// The effect, as the log held it.
    pub fn effect(&self) -> EffectOut {
        EffectOut {
            seq: self.seq,
            cause_lsn: self.cause_lsn,
            time_us: self.time_us,
            effect_type: self.effect_type,
            key: self.key,
            json: self.json.clone(),
        }
    }
}

pub(crate) fn dead_file_name(lane: LaneId) -> String {
    format!("dead-{}.efd", lane.file_stem())
}

pub(crate) fn redrive_file_name(lane: LaneId, generation: u64) -> String {
    format!("redrive-{}-{generation:020}.efd", lane.file_stem())
}

/// Cuts `s` to at most `max` bytes at a character boundary.
pub(crate) fn cut_str(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn encode(d: &DeadLetter, out: &mut Vec<u8>) {
    let error = cut_str(&d.error, MAX_ERROR_BYTES).as_bytes();
    assert!(d.json.len() <= MAX_EFFECT_JSON_BYTES);
    let (generation, next) = match d.origin {
        Origin::Log => (0, 0),
        Origin::Redrive {
            generation,
            next_offset,
        } => (generation, next_offset),
    };
    let start = out.len();
    let n = HEAD_BYTES - 8 + error.len() + d.json.len();
    out.extend_from_slice(&(n as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    for v in [
        d.seq,
        d.cause_lsn,
        d.time_us as u64,
        d.dead_us as u64,
        generation,
        next,
    ] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&d.attempts.to_le_bytes());
    out.push(d.effect_type.code());
    out.push(0);
    out.extend_from_slice(&(error.len() as u16).to_le_bytes());
    out.extend_from_slice(&d.key.0);
    out.extend_from_slice(error);
    out.extend_from_slice(&d.json);
    let f = &out[start..];
    let crc = crc32c::crc32c_append(crc32c::crc32c(&f[..4]), &f[8..]);
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

fn decode(f: &[u8]) -> Result<DeadLetter, String> {
    let u64_at = |at: usize| u64::from_le_bytes(f[at..at + 8].try_into().expect("8 bytes"));
    let crc = u32::from_le_bytes(f[4..8].try_into().expect("4 bytes"));
    if crc32c::crc32c_append(crc32c::crc32c(&f[..4]), &f[8..]) != crc {
        return Err("dead letter checksum mismatch".into());
    }
    let k = u16::from_le_bytes([f[62], f[63]]) as usize;
    if k > MAX_ERROR_BYTES || HEAD_BYTES + k > f.len() || f[61] != 0 {
        return Err("dead letter head out of range".into());
    }
    let effect_type = EffectType::from_code(f[60])
        .ok_or_else(|| format!("unknown effect type code {}", f[60]))?;
    let error = std::str::from_utf8(&f[HEAD_BYTES..HEAD_BYTES + k])
        .map_err(|_| "dead letter error is not UTF-8".to_owned())?;
    let mut key = [0u8; 16];
    key.copy_from_slice(&f[64..80]);
    let generation = u64_at(40);
    Ok(DeadLetter {
        seq: u64_at(8),
        cause_lsn: u64_at(16),
        time_us: u64_at(24) as i64,
        dead_us: u64_at(32) as i64,
        origin: match generation {
            0 => Origin::Log,
            generation => Origin::Redrive {
                generation,
                next_offset: u64_at(48),
            },
        },
        attempts: u32::from_le_bytes(f[56..60].try_into().expect("4 bytes")),
        effect_type,
        key: EffectKey(key),
        error: error.to_owned(),
        json: f[HEAD_BYTES + k..].to_vec(),
    })
}

/// What a dead-letter file holds at a reader's offset.
pub(crate) enum DeadStep {
    /// A dead letter and the offset after it.
    Letter(Box<DeadLetter>, u64),
    /// The end of the file, on a frame boundary.
    End,
    /// Bytes that are not (yet) a valid frame, and whether they run to the end of the file
    /// (an append cut short) or are all zero.
    Bad { what: String, torn: bool },
}

/// Reads a dead-letter file front to back with a bounded buffer.
pub(crate) struct DeadReader {
    chunk: Chunked,
    offset: u64,
}

impl DeadReader {
    pub fn open(path: &Path, offset: u64) -> Result<DeadReader, OutboxError> {
        Ok(DeadReader {
            chunk: Chunked::open(path, MAX_FRAME_BYTES)?,
            offset,
        })
    }

    pub fn path(&self) -> &Path {
        self.chunk.path()
    }

    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next dead letter, consumed.
    pub fn next(&mut self) -> Result<DeadStep, OutboxError> {
        let head = self.chunk.get(self.offset, HEAD_BYTES)?;
        if head.is_empty() {
            return Ok(DeadStep::End);
        }
        if head.len() < HEAD_BYTES {
            return self.bad("incomplete dead letter", true);
        }
        let n = u32::from_le_bytes(head[..4].try_into().expect("4 bytes")) as usize;
        if !(HEAD_BYTES - 8..=MAX_FRAME_BYTES - 8).contains(&n) {
            return self.bad(&format!("dead letter announces {n} bytes"), false);
        }
        let f = self.chunk.get(self.offset, n + 8)?;
        if f.len() < n + 8 {
            return self.bad("incomplete dead letter", true);
        }
        match decode(f) {
            Ok(d) => {
                self.offset += (n + 8) as u64;
                Ok(DeadStep::Letter(Box::new(d), self.offset))
            }
            Err(what) => {
                let len = self.file_len()?;
                self.bad(&what, self.offset + (n + 8) as u64 >= len)
            }
        }
    }

    fn bad(&mut self, what: &str, reaches_end: bool) -> Result<DeadStep, OutboxError> {
        let torn = reaches_end || self.chunk.zero_from(self.offset)?;
        self.chunk.forget();
        Ok(DeadStep::Bad {
            what: what.to_owned(),
            torn,
        })
    }

    fn file_len(&self) -> Result<u64, OutboxError> {
        self.chunk
            .file()
            .metadata()
            .map(|m| m.len())
            .map_err(|e| OutboxError::io(self.chunk.path(), e))
    }
}

/// The redrive generations of `lane` in `dir`, sorted.
pub(crate) fn list_gens(dir: &Path, lane: LaneId) -> Result<Vec<u64>, OutboxError> {
    let prefix = format!("redrive-{}-", lane.file_stem());
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(OutboxError::io(dir, e)),
    };
    let mut gens = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| OutboxError::io(dir, e))?;
        let name = entry.file_name();
        let Some(digits) = name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|n| n.strip_suffix(".efd"))
        else {
            continue;
        };
        if let Some(g) = (digits.len() == 20)
            .then(|| digits.parse::<u64>().ok())
            .flatten()
            && g > 0
        {
            gens.push(g);
        }
    }
    gens.sort_unstable();
    Ok(gens)
}

/// What the dead letters of a lane prove about its position (see the module docs).
#[derive(Default)]
struct Proof {
    max_log_seq: u64,
    max_origin: (u64, u64),
    letters: u64,
}

impl Proof {
    fn note(&mut self, d: &DeadLetter) {
        self.letters += 1;
        match d.origin {
            Origin::Log => self.max_log_seq = self.max_log_seq.max(d.seq),
            Origin::Redrive {
                generation,
                next_offset,
            } => {
                self.max_origin = self.max_origin.max((generation, next_offset));
            }
        }
    }
}

/// Reads every letter of `path` into `proof`; `cut`: a torn tail is cut (the dead file, by its
/// owner), else it is damage. Returns the valid length.
fn scan(path: &Path, proof: &mut Proof, cut: bool) -> Result<u64, OutboxError> {
    let mut r = DeadReader::open(path, 0)?;
    loop {
        match r.next()? {
            DeadStep::Letter(d, _) => proof.note(&d),
            DeadStep::End => return Ok(r.offset()),
            DeadStep::Bad { torn: true, .. } if cut => {
                let f = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| OutboxError::io(path, e))?;
                f.set_len(r.offset())
                    .and_then(|()| f.sync_all())
                    .map_err(|e| OutboxError::io(path, e))?;
                return Ok(r.offset());
            }
            DeadStep::Bad { what, .. } => {
                return Err(OutboxError::corrupt(path, r.offset(), what));
            }
        }
    }
}

/// A lane's dead letters and redrive queue, owned by the lane.
pub(crate) struct DeadStore {
    dir: PathBuf,
    lane: LaneId,
    /// The dead file, open for appending, and its length.
    append: Option<(File, u64)>,
    dead: u64,
    redriving: u64,
    /// Redrive generations still to deliver, the current one first.
    gens: VecDeque<u64>,
    next_gen: u64,
    reader: Option<DeadReader>,
    /// A letter read but put back ([`DeadStore::unread`]).
    held: Option<(Box<DeadLetter>, u64)>,
    frame: Vec<u8>,
}

impl DeadStore {
    /// Opens the lane's dead letters (cutting a torn tail of its dead file) and moves `pos` up
    /// to what they prove.
    pub fn open(
        dir: &Path,
        lane: LaneId,
        pos: &mut LanePosition,
    ) -> Result<DeadStore, OutboxError> {
        let dead_path = dir.join(dead_file_name(lane));
        let mut dead_proof = Proof::default();
        let dead_len = match dead_path.exists() {
            true => Some(scan(&dead_path, &mut dead_proof, true)?),
            false => None,
        };
        let gens = list_gens(dir, lane)?;
        let mut proof = Proof::default();
        for &g in &gens {
            scan(&dir.join(redrive_file_name(lane, g)), &mut proof, false)?;
        }
        pos.cursor_seq = pos
            .cursor_seq
            .max(proof.max_log_seq)
            .max(dead_proof.max_log_seq);
        let at = (pos.redrive_gen, pos.redrive_offset)
            .max(proof.max_origin)
            .max(dead_proof.max_origin);
        (pos.redrive_gen, pos.redrive_offset) = at;
        let mut store = DeadStore {
            dir: dir.to_owned(),
            lane,
            append: None,
            dead: dead_proof.letters,
            redriving: 0,
            gens: VecDeque::new(),
            next_gen: gens.last().copied().unwrap_or(0).max(pos.redrive_gen) + 1,
            reader: None,
            held: None,
            frame: Vec::new(),
        };
        if let Some(len) = dead_len {
            store.append = Some((open_append(&dead_path)?, len));
        }
        store.load_gens(&gens, pos)?;
        Ok(store)
    }

    /// Deletes generations that are wholly done and counts what the others still hold.
    fn load_gens(&mut self, gens: &[u64], pos: &LanePosition) -> Result<(), OutboxError> {
        for &g in gens {
            let path = self.dir.join(redrive_file_name(self.lane, g));
            if g < pos.redrive_gen {
                fs::remove_file(&path).map_err(|e| OutboxError::io(&path, e))?;
                continue;
            }
            let from = if g == pos.redrive_gen {
                pos.redrive_offset
            } else {
                0
            };
            let mut r = DeadReader::open(&path, from)?;
            while let DeadStep::Letter(..) = r.next()? {
                self.redriving += 1;
            }
            self.gens.push_back(g);
        }
        Ok(())
    }

    pub fn dead(&self) -> u64 {
        self.dead
    }

    pub fn redriving(&self) -> u64 {
        self.redriving
    }

    /// Appends `d` to the dead file and syncs it.
    pub fn append(&mut self, d: &DeadLetter) -> Result<(), OutboxError> {
        let path = self.dir.join(dead_file_name(self.lane));
        if self.append.is_none() {
            let file = open_append(&path)?;
            lock::fsync_dir(&self.dir)?;
            let len = file
                .metadata()
                .map_err(|e| OutboxError::io(&path, e))?
                .len();
            self.append = Some((file, len));
        }
        let (file, len) = self.append.as_mut().expect("opened");
        self.frame.clear();
        encode(d, &mut self.frame);
        let written = file
            .write_all_at(&self.frame, *len)
            .and_then(|()| file.sync_data());
        if let Err(e) = written {
            let _ = file.set_len(*len);
            return Err(OutboxError::io(&path, e));
        }
        *len += self.frame.len() as u64;
        self.dead += 1;
        Ok(())
    }

    /// Makes every dead letter pending again (a new redrive generation). Returns how many.
    pub fn redrive(&mut self) -> Result<u64, OutboxError> {
        if self.dead == 0 {
            return Ok(0);
        }
        self.append = None;
        let from = self.dir.join(dead_file_name(self.lane));
        let to = self.dir.join(redrive_file_name(self.lane, self.next_gen));
        fs::rename(&from, &to).map_err(|e| OutboxError::io(&from, e))?;
        lock::fsync_dir(&self.dir)?;
        self.gens.push_back(self.next_gen);
        self.next_gen += 1;
        let moved = self.dead;
        self.redriving += moved;
        self.dead = 0;
        Ok(moved)
    }

    /// The next redriven letter and the offset after it, consumed; `None` at the end of the
    /// current generation (or when there is none). Starting a generation moves `pos` to it.
    pub fn next_redriven(
        &mut self,
        pos: &mut LanePosition,
    ) -> Result<Option<(Box<DeadLetter>, u64)>, OutboxError> {
        if let Some(held) = self.held.take() {
            return Ok(Some(held));
        }
        let Some(&g) = self.gens.front() else {
            return Ok(None);
        };
        if self.reader.is_none() {
            if g != pos.redrive_gen {
                debug_assert!(g > pos.redrive_gen);
                (pos.redrive_gen, pos.redrive_offset) = (g, 0);
            }
            let path = self.dir.join(redrive_file_name(self.lane, g));
            self.reader = Some(DeadReader::open(&path, pos.redrive_offset)?);
        }
        let r = self.reader.as_mut().expect("opened");
        match r.next()? {
            DeadStep::Letter(d, next) => Ok(Some((d, next))),
            DeadStep::End => Ok(None),
            DeadStep::Bad { what, .. } => Err(OutboxError::corrupt(r.path(), r.offset(), what)),
        }
    }

    /// Puts back the letter [`Self::next_redriven`] returned last.
    pub fn unread(&mut self, letter: Box<DeadLetter>, next: u64) {
        assert!(self.held.is_none(), "one letter is put back at a time");
        self.held = Some((letter, next));
    }

    /// Deletes the current generation, every letter of which is done.
    pub fn finish_generation(&mut self) -> Result<(), OutboxError> {
        assert!(self.held.is_none(), "no letter of it is held");
        let g = self.gens.pop_front().expect("a generation in progress");
        self.reader = None;
        let path = self.dir.join(redrive_file_name(self.lane, g));
        fs::remove_file(&path).map_err(|e| OutboxError::io(&path, e))
    }

    /// One redriven letter is done (delivered or dead-lettered again).
    pub fn redriven_done(&mut self) {
        self.redriving = self.redriving.checked_sub(1).expect("counted");
    }

    pub fn has_redrive(&self) -> bool {
        !self.gens.is_empty()
    }
}

fn open_append(path: &Path) -> Result<File, OutboxError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| OutboxError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_letter_round_trips_with_a_long_error_cut() {
        let d = DeadLetter {
            seq: 9,
            cause_lsn: 4,
            time_us: 123,
            effect_type: EffectType::ErpInvoiceReady,
            key: EffectKey([3; 16]),
            json: br#"{"id":"k"}"#.to_vec(),
            attempts: 7,
            error: "é".repeat(MAX_ERROR_BYTES),
            dead_us: 456,
            origin: Origin::Redrive {
                generation: 2,
                next_offset: 99,
            },
        };
        let mut buf = Vec::new();
        encode(&d, &mut buf);
        let back = decode(&buf).unwrap();
        assert_eq!(back.error.len(), MAX_ERROR_BYTES);
        assert_eq!(
            DeadLetter {
                error: d.error.clone(),
                ..back
            },
            d
        );
        buf[20] ^= 1;
        assert!(decode(&buf).is_err());
    }
}
