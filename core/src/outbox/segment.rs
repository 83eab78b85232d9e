//! Effect log segments: `log-<first seq, 20 digits>.efx`, a 32-byte header, then frames
//! (`frame.rs`) with contiguous seqs from the first. Segments are listed by their names, so
//! finding the segment that holds a seq needs no index.
//!
//! # Header (integers little endian)
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 8 | magic `b"WBEFFLOG"` |
//! | 8 | 4 | format version (1) |
//! | 12 | 4 | reserved, zero |
//! | 16 | 8 | seq of the first frame (also in the file name) |
//! | 24 | 4 | reserved, zero |
//! | 28 | 4 | CRC32C of bytes 0..28 |

use super::OutboxError;
use super::chunk::Chunked;
use super::frame::{self, FRAME_HEADER_BYTES, FrameHead, MAX_FRAME_BYTES};
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Bytes of a segment's header.
#[doc(hidden)]
pub const SEGMENT_HEADER_BYTES: usize = 32;
/// Default size at which the writer starts a new segment (64 MiB).
pub const SEGMENT_BYTES_DEFAULT: u64 = 64 << 20;
/// Least segment size an effect log accepts, in bytes (4 KiB).
pub const SEGMENT_BYTES_MIN: u64 = 4096;
/// Greatest segment size an effect log accepts, in bytes (1 GiB).
pub const SEGMENT_BYTES_MAX: u64 = 1 << 30;
const MAGIC: [u8; 8] = *b"WBEFFLOG";
const VERSION: u32 = 1;

/// `log-00000000000000000001.efx` for first seq 1.
#[doc(hidden)]
pub fn segment_file_name(first_seq: u64) -> String {
    format!("log-{first_seq:020}.efx")
}

fn parse_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("log-")?.strip_suffix(".efx")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

pub(crate) fn header(first_seq: u64) -> [u8; SEGMENT_HEADER_BYTES] {
    let mut h = [0u8; SEGMENT_HEADER_BYTES];
    h[..8].copy_from_slice(&MAGIC);
    h[8..12].copy_from_slice(&VERSION.to_le_bytes());
    h[16..24].copy_from_slice(&first_seq.to_le_bytes());
    let crc = crc32c::crc32c(&h[..28]);
    h[28..].copy_from_slice(&crc.to_le_bytes());
    h
}

/// The first seq a header holds, or why it is not a valid header.
pub(crate) fn parse_header(h: &[u8]) -> Result<u64, String> {
    if h.len() < SEGMENT_HEADER_BYTES {
        return Err(format!(
            "segment header has {} of {SEGMENT_HEADER_BYTES} bytes",
            h.len()
        ));
    }
    if h[..8] != MAGIC {
        return Err("bad segment magic".into());
    }
    let crc = u32::from_le_bytes(h[28..32].try_into().expect("4 bytes"));
    if crc32c::crc32c(&h[..28]) != crc {
        return Err("segment header checksum mismatch".into());
    }
    let version = u32::from_le_bytes(h[8..12].try_into().expect("4 bytes"));
    if version != VERSION {
        return Err(format!("unsupported segment format version {version}"));
    }
    Ok(u64::from_le_bytes(h[16..24].try_into().expect("8 bytes")))
}

/// The segments in `dir`, sorted by first seq. A missing directory holds none.
pub(crate) fn list(dir: &Path) -> Result<Vec<(u64, PathBuf)>, OutboxError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(OutboxError::io(dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| OutboxError::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(first) = parse_name(name) {
            out.push((first, entry.path()));
        }
    }
    out.sort_unstable_by_key(|(first, _)| *first);
    Ok(out)
}

/// How a segment's frames end at the reader's offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// At the end of the file, on a frame boundary.
    Clean,
    /// A frame started but is not all there (being written, or torn).
    Incomplete,
    /// Bytes that are not a valid next frame.
    Invalid(String),
}

/// What a segment holds at the reader's offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    Frame(FrameHead),
    End(End),
}

/// Reads one segment's frames in order, checking each (checksum, contiguous seq, cause LSNs
/// that never go back).
pub(crate) struct SegmentReader {
    chunk: Chunked,
    /// The file's identity (device, inode) when opened.
    identity: (u64, u64),
    first_seq: u64,
    offset: u64,
    next_seq: u64,
    last_cause_lsn: u64,
    peeked: Option<FrameHead>,
}

impl SegmentReader {
    /// Opens the segment at `path`, named for `first_seq`; its header must be valid and agree.
    pub fn open(path: &Path, first_seq: u64) -> Result<SegmentReader, OutboxError> {
        let mut chunk = Chunked::open(path, MAX_FRAME_BYTES)?;
        let identity = chunk
            .file()
            .metadata()
            .map(|m| (m.dev(), m.ino()))
            .map_err(|e| OutboxError::io(path, e))?;
        let h = chunk.get(0, SEGMENT_HEADER_BYTES)?;
        match parse_header(h) {
            Ok(f) if f == first_seq => {}
            Ok(f) => {
                return Err(OutboxError::corrupt(
                    path,
                    16,
                    format!("header says first seq {f}, the name {first_seq}"),
                ));
            }
            Err(what) => return Err(OutboxError::corrupt(path, 0, what)),
        }
        Ok(SegmentReader {
            chunk,
            identity,
            first_seq,
            offset: SEGMENT_HEADER_BYTES as u64,
            next_seq: first_seq,
            last_cause_lsn: 0,
            peeked: None,
        })
    }

    pub fn path(&self) -> &Path {
        self.chunk.path()
    }

    pub fn first_seq(&self) -> u64 {
        self.first_seq
    }

    /// Offset of the next frame.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Seq the next frame must have.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Cause LSN of the last frame consumed (0 before the first, or the floor set).
    pub fn last_cause_lsn(&self) -> u64 {
        self.last_cause_lsn
    }

    /// The cause LSN the first frame may not go below (the previous segment's last).
    pub fn set_cause_floor(&mut self, lsn: u64) {
        assert_eq!(self.next_seq, self.first_seq, "before the first frame");
        self.last_cause_lsn = lsn;
    }

    /// The next frame, checked, without consuming it.
    pub fn peek(&mut self) -> Result<Step, OutboxError> {
        if let Some(h) = self.peeked {
            return Ok(Step::Frame(h));
        }
        let head = self.chunk.get(self.offset, FRAME_HEADER_BYTES)?;
        if head.is_empty() {
            return Ok(Step::End(End::Clean));
        }
        if head.len() < FRAME_HEADER_BYTES {
            return Ok(Step::End(End::Incomplete));
        }
        let json_bytes = match frame::announced_json_bytes(head) {
            Ok(n) => n,
            Err(what) => return Ok(Step::End(End::Invalid(what))),
        };
        let whole = FRAME_HEADER_BYTES + json_bytes;
        let bytes = self.chunk.get(self.offset, whole)?;
        if bytes.len() < whole {
            return Ok(Step::End(End::Incomplete));
        }
        let h = match frame::decode(bytes) {
            Ok(h) => h,
            Err(what) => return Ok(Step::End(End::Invalid(what))),
        };
        if let Some(what) = self.out_of_place(&h) {
            return Ok(Step::End(End::Invalid(what)));
        }
        self.peeked = Some(h);
        Ok(Step::Frame(h))
    }

    fn out_of_place(&self, h: &FrameHead) -> Option<String> {
        if h.seq != self.next_seq {
            return Some(format!(
                "frame holds seq {} where seq {} belongs",
                h.seq, self.next_seq
            ));
        }
        if h.cause_lsn < self.last_cause_lsn {
            return Some(format!(
                "seq {}: cause lsn {} below the previous frame's {}",
                h.seq, h.cause_lsn, self.last_cause_lsn
            ));
        }
        None
    }

    /// The JSON of the frame [`Self::peek`] returned.
    pub fn json(&mut self) -> Result<&[u8], OutboxError> {
        let h = self.peeked.expect("json() after a peek that found a frame");
        let bytes = self.chunk.get(self.offset, h.frame_bytes())?;
        debug_assert_eq!(bytes.len(), h.frame_bytes(), "peeked frames stay buffered");
        Ok(&bytes[FRAME_HEADER_BYTES..])
    }

    /// Moves past the frame [`Self::peek`] returned.
    pub fn consume(&mut self) {
        let h = self
            .peeked
            .take()
            .expect("consume() after a peek that found a frame");
        self.offset += h.frame_bytes() as u64;
        self.next_seq = h.seq + 1;
        self.last_cause_lsn = h.cause_lsn;
    }

    /// Drops buffered bytes and any peeked frame: the next peek reads the file again.
    pub fn forget(&mut self) {
        self.peeked = None;
        self.chunk.forget();
    }

    /// Whether the bytes from the reader's offset to the end of the file are all zero.
    pub fn zero_tail(&mut self) -> Result<bool, OutboxError> {
        self.chunk.zero_from(self.offset)
    }

    /// Whether the frame at the offset, as its length announces it, would reach the end of the
    /// file or past it (a frame cut by a crash, or the last frame torn).
    pub fn reaches_end(&mut self) -> Result<bool, OutboxError> {
        let len = self.file_len()?;
        let head = self.chunk.get(self.offset, FRAME_HEADER_BYTES)?;
        if head.len() < FRAME_HEADER_BYTES {
            return Ok(true);
        }
        Ok(match frame::announced_json_bytes(head) {
            Ok(n) => self.offset + (FRAME_HEADER_BYTES + n) as u64 >= len,
            Err(_) => false,
        })
    }

    /// Whether the file at the reader's path is no longer the one it reads (deleted, or
    /// replaced by a writer that cut the log and wrote it anew).
    pub fn replaced(&self) -> bool {
        match fs::metadata(self.chunk.path()) {
            Ok(m) => (m.dev(), m.ino()) != self.identity,
            Err(_) => true,
        }
    }

    pub fn file_len(&self) -> Result<u64, OutboxError> {
        self.chunk
            .file()
            .metadata()
            .map(|m| m.len())
            .map_err(|e| OutboxError::io(self.chunk.path(), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_headers_round_trip() {
        for seq in [1, 42, u64::MAX] {
            assert_eq!(parse_name(&segment_file_name(seq)), Some(seq));
            assert_eq!(parse_header(&header(seq)), Ok(seq));
        }
        assert_eq!(parse_name("log-1.efx"), None);
        assert_eq!(parse_name("log-0000000000000000000x.efx"), None);
        let mut h = header(5);
        h[17] ^= 1;
        assert!(parse_header(&h).is_err());
        assert!(parse_header(&h[..10]).is_err());
    }
}
