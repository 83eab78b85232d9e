//! The snapshot file: a checksummed header, then sections of records laid out as they are in
//! memory, each aligned so that it can be read in place from a mapping.
//!
//! # Format (integers little endian; the machine's own layout for record arrays, which a
//! header field pins, so a snapshot is only read where it was written or on a machine of the
//! same byte order)
//!
//! Header, [`HEADER_BYTES`] = 128 bytes at offset 0:
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 8 | magic `b"WBSNAPSH"` |
//! | 8 | 4 | snapshot format version ([`SNAPSHOT_FORMAT_VERSION`]) |
//! | 12 | 4 | journal format version (the segments' `FORMAT_VERSION`) |
//! | 16 | 8 | LSN: the state is that after the record at this LSN (0: before any) |
//! | 24 | 8 | ingest time of the record at the LSN, microseconds (`i64::MIN` at LSN 0) |
//! | 32 | 16 | chain link of the record at the LSN (the genesis link at 0) |
//! | 48 | 4 | sections that follow |
//! | 52 | 4 | byte-order tag `0x01020304` as written by the machine |
//! | 56 | 8 | file length in bytes |
//! | 64 | 8 | the segment holding the record at the LSN (0 at LSN 0) |
//! | 72 | 8 | the offset in it of the last frame at or before that record that stores its chain link (0: none, the segment header's link) |
//! | 80 | 8 | the offset just past that record's frame |
//! | 88 | 8 | effects derived up to the LSN (the machine's `effect_seq`) |
//! | 96 | 28 | reserved, zero |
//! | 124 | 4 | CRC32C of bytes 0..124 |
//!
//! Then each section: a [`SECTION_HEADER_BYTES`] = 64-byte header, then its payload, then
//! zeros up to the next multiple of [`SECTION_ALIGN_BYTES`] (so every payload starts 64-byte
//! aligned in the file, and in a mapping of it):
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 16 | tag: the section's name, zero padded |
//! | 16 | 4 | bytes per element |
//! | 20 | 4 | reserved, zero |
//! | 24 | 8 | elements |
//! | 32 | 4 | CRC32C of the payload |
//! | 36 | 24 | reserved, zero |
//! | 60 | 4 | CRC32C of bytes 0..60 |
//!
//! Sections come in the fixed order the image writes them (`super::image`); the reader asks
//! for each by tag and element size, so a file from another layout is refused, never misread.

use std::fs::File;
use std::io::{self, BufWriter, Seek, Write};
use std::os::unix::fs::FileExt;

use bytemuck::Pod;

use crate::journal::chain::{LINK_BYTES, Link};
use crate::journal::{RecordPos, Resume};

/// Magic bytes at the start of a snapshot file.
pub const SNAPSHOT_MAGIC: [u8; 8] = *b"WBSNAPSH";
/// Version of the snapshot format (the header and the sections the image writes). Any change
/// to a record's layout or to the list of sections changes it. Version 2 added the `machine`
/// section (the effect count, settings records and SLA targets); 3 the notice count and the
/// key group in it; 4 a vehicle's heading and accuracy (48-byte vehicle records).
pub const SNAPSHOT_FORMAT_VERSION: u32 = 4;
/// Bytes of the file header.
pub const HEADER_BYTES: usize = 128;
/// Bytes of a section header.
pub const SECTION_HEADER_BYTES: usize = 64;
/// Every section header and payload starts at a multiple of this.
pub const SECTION_ALIGN_BYTES: usize = 64;
/// Longest section tag.
pub const TAG_BYTES: usize = 16;
/// Written in the machine's own byte order: a reader of the other order sees `0x04030201`.
const BYTE_ORDER_TAG: u32 = 0x0102_0304;

const OFF_VERSION: usize = 8;
const OFF_JOURNAL_VERSION: usize = 12;
const OFF_LSN: usize = 16;
const OFF_INGEST: usize = 24;
const OFF_LINK: usize = 32;
const OFF_SECTIONS: usize = 48;
const OFF_ORDER: usize = 52;
const OFF_FILE_BYTES: usize = 56;
const OFF_SEGMENT: usize = 64;
const OFF_ANCHOR: usize = 72;
const OFF_END: usize = 80;
const OFF_EFFECT_SEQ: usize = 88;
const OFF_RESERVED: usize = 96;
const OFF_CRC: usize = 124;

const _: () = assert!(OFF_LINK + LINK_BYTES == OFF_SECTIONS);
const _: () = assert!(OFF_CRC + 4 == HEADER_BYTES);
const _: () = assert!(HEADER_BYTES.is_multiple_of(SECTION_ALIGN_BYTES));

/// Where a snapshot stands in its journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotHeader {
    /// The state is that after the record at this LSN.
    pub lsn: u64,
    /// Ingest time of that record (`i64::MIN` at LSN 0).
    pub ingest_us: i64,
    /// Its chain link: a snapshot belongs to a journal whose record at `lsn` has this link.
    pub link: Link,
    /// Sections in the file.
    pub sections: u32,
    /// File length.
    pub file_bytes: u64,
    /// Where the record at `lsn` lies in the journal, so that opening resumes right after it.
    pub pos: RecordPos,
    /// The effects derived up to `lsn` (the `effect_seq` of the last one).
    pub effect_seq: u64,
}

impl SnapshotHeader {
    pub(crate) fn encode(&self, journal_version: u32) -> [u8; HEADER_BYTES] {
        let mut h = [0u8; HEADER_BYTES];
        h[..8].copy_from_slice(&SNAPSHOT_MAGIC);
        h[OFF_VERSION..OFF_VERSION + 4].copy_from_slice(&SNAPSHOT_FORMAT_VERSION.to_le_bytes());
        h[OFF_JOURNAL_VERSION..OFF_JOURNAL_VERSION + 4]
            .copy_from_slice(&journal_version.to_le_bytes());
        h[OFF_LSN..OFF_LSN + 8].copy_from_slice(&self.lsn.to_le_bytes());
        h[OFF_INGEST..OFF_INGEST + 8].copy_from_slice(&self.ingest_us.to_le_bytes());
        h[OFF_LINK..OFF_LINK + LINK_BYTES].copy_from_slice(&self.link);
        h[OFF_SECTIONS..OFF_SECTIONS + 4].copy_from_slice(&self.sections.to_le_bytes());
        h[OFF_ORDER..OFF_ORDER + 4].copy_from_slice(&BYTE_ORDER_TAG.to_ne_bytes());
        h[OFF_FILE_BYTES..OFF_FILE_BYTES + 8].copy_from_slice(&self.file_bytes.to_le_bytes());
        h[OFF_SEGMENT..OFF_SEGMENT + 8].copy_from_slice(&self.pos.segment.to_le_bytes());
        h[OFF_ANCHOR..OFF_ANCHOR + 8].copy_from_slice(&self.pos.anchor_offset.to_le_bytes());
        h[OFF_END..OFF_END + 8].copy_from_slice(&self.pos.end_offset.to_le_bytes());
        h[OFF_EFFECT_SEQ..OFF_EFFECT_SEQ + 8].copy_from_slice(&self.effect_seq.to_le_bytes());
        let crc = crc32c::crc32c(&h[..OFF_CRC]);
        h[OFF_CRC..].copy_from_slice(&crc.to_le_bytes());
        h
    }

    /// Decodes and checks a header against the file's length and the journal's format.
    pub(crate) fn decode(
        bytes: &[u8],
        journal_version: u32,
    ) -> Result<SnapshotHeader, SnapshotDefect> {
        let h = bytes
            .get(..HEADER_BYTES)
            .ok_or_else(|| defect(0, format!("{} bytes: shorter than a header", bytes.len())))?;
        let u32_at = |at: usize| u32::from_le_bytes(h[at..at + 4].try_into().expect("4 bytes"));
        let u64_at = |at: usize| u64::from_le_bytes(h[at..at + 8].try_into().expect("8 bytes"));
        if h[..8] != SNAPSHOT_MAGIC {
            return Err(defect(0, "not a snapshot (bad magic)"));
        }
        if crc32c::crc32c(&h[..OFF_CRC]) != u32_at(OFF_CRC) {
            return Err(defect(0, "header checksum mismatch"));
        }
        let version = u32_at(OFF_VERSION);
        if version != SNAPSHOT_FORMAT_VERSION {
            return Err(defect(
                0,
                format!("snapshot format {version}, this build reads {SNAPSHOT_FORMAT_VERSION}"),
            ));
        }
        if u32_at(OFF_JOURNAL_VERSION) != journal_version {
            return Err(defect(0, "written for another journal format"));
        }
        if u32::from_ne_bytes(h[OFF_ORDER..OFF_ORDER + 4].try_into().expect("4 bytes"))
            != BYTE_ORDER_TAG
        {
            return Err(defect(0, "written on a machine of the other byte order"));
        }
        if h[OFF_RESERVED..OFF_CRC].iter().any(|&b| b != 0) {
            return Err(defect(0, "reserved header bytes are not zero"));
        }
        let file_bytes = u64_at(OFF_FILE_BYTES);
        if file_bytes != bytes.len() as u64 {
            return Err(defect(
                0,
                format!(
                    "the header says {file_bytes} bytes, the file has {} (truncated or extended)",
                    bytes.len()
                ),
            ));
        }
        let mut link = [0u8; LINK_BYTES];
        link.copy_from_slice(&h[OFF_LINK..OFF_LINK + LINK_BYTES]);
        Ok(SnapshotHeader {
            lsn: u64_at(OFF_LSN),
            ingest_us: u64_at(OFF_INGEST) as i64,
            link,
            sections: u32_at(OFF_SECTIONS),
            file_bytes,
            pos: RecordPos {
                segment: u64_at(OFF_SEGMENT),
                anchor_offset: u64_at(OFF_ANCHOR),
                end_offset: u64_at(OFF_END),
            },
            effect_seq: u64_at(OFF_EFFECT_SEQ),
        })
    }
}

/// Why a snapshot file cannot be used: where in the file, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotDefect {
    pub offset: u64,
    pub what: String,
}

pub(crate) fn defect(offset: usize, what: impl Into<String>) -> SnapshotDefect {
    SnapshotDefect {
        offset: offset as u64,
        what: what.into(),
    }
}

fn tag_bytes(tag: &str) -> [u8; TAG_BYTES] {
    assert!(
        tag.len() <= TAG_BYTES && !tag.is_empty(),
        "section tag {tag:?}"
    );
    let mut t = [0u8; TAG_BYTES];
    t[..tag.len()].copy_from_slice(tag.as_bytes());
    t
}

fn section_header(tag: &str, elem_bytes: usize, count: usize, crc: u32) -> [u8; 64] {
    let mut h = [0u8; SECTION_HEADER_BYTES];
    h[..TAG_BYTES].copy_from_slice(&tag_bytes(tag));
    h[16..20].copy_from_slice(&(elem_bytes as u32).to_le_bytes());
    h[24..32].copy_from_slice(&(count as u64).to_le_bytes());
    h[32..36].copy_from_slice(&crc.to_le_bytes());
    let hcrc = crc32c::crc32c(&h[..60]);
    h[60..].copy_from_slice(&hcrc.to_le_bytes());
    h
}

/// Where a [`SectionWriter`] writes: a file, or a comparison with a snapshot's bytes.
pub(crate) trait Sink: Write {}
impl<W: Write> Sink for W {}

/// Writes sections after a header-sized hole; [`Self::finish`] fills the header.
pub(crate) struct SectionWriter<'w> {
    out: Box<dyn Sink + 'w>,
    at_bytes: usize,
    sections: u32,
}

/// Buffer of the snapshot writer.
const WRITE_BUFFER_BYTES: usize = 1 << 20;
const ZEROS: [u8; SECTION_ALIGN_BYTES] = [0; SECTION_ALIGN_BYTES];

impl<'w> SectionWriter<'w> {
    /// Sections written into `out`, after a hole for the header.
    pub(crate) fn new(mut out: Box<dyn Sink + 'w>) -> io::Result<SectionWriter<'w>> {
        out.write_all(&[0u8; HEADER_BYTES])?;
        Ok(SectionWriter {
            out,
            at_bytes: HEADER_BYTES,
            sections: 0,
        })
    }

    /// A section of `count` elements of `T`, given as consecutive slices (the chunks of a
    /// store): checksummed in a first pass, written in a second.
    pub(crate) fn parts<'a, T: Pod>(
        &mut self,
        tag: &str,
        parts: impl Iterator<Item = &'a [T]> + Clone,
    ) -> io::Result<()> {
        let mut count = 0usize;
        let mut crc = 0u32;
        for p in parts.clone() {
            count += p.len();
            crc = crc32c::crc32c_append(crc, bytemuck::cast_slice(p));
        }
        debug_assert!(self.at_bytes.is_multiple_of(SECTION_ALIGN_BYTES));
        let elem = std::mem::size_of::<T>();
        self.out.write_all(&section_header(tag, elem, count, crc))?;
        for p in parts {
            self.out.write_all(bytemuck::cast_slice(p))?;
        }
        let payload = count * elem;
        let pad = payload.next_multiple_of(SECTION_ALIGN_BYTES) - payload;
        self.out.write_all(&ZEROS[..pad])?;
        self.at_bytes += SECTION_HEADER_BYTES + payload + pad;
        self.sections += 1;
        Ok(())
    }

    /// A section of one slice.
    pub(crate) fn section<T: Pod>(&mut self, tag: &str, items: &[T]) -> io::Result<()> {
        self.parts(tag, std::iter::once(items))
    }

    /// Ends the body: the header that goes at offset 0 of what was written.
    pub(crate) fn finish(mut self, at: &Resume, effect_seq: u64) -> io::Result<SnapshotHeader> {
        self.out.flush()?;
        Ok(SnapshotHeader {
            lsn: at.lsn,
            ingest_us: at.ingest_us,
            link: at.link,
            sections: self.sections,
            file_bytes: self.at_bytes as u64,
            pos: at.pos,
            effect_seq,
        })
    }
}

/// Writes a snapshot file: `body` writes the sections, then the header goes at offset 0.
/// Written, not synced.
pub(crate) fn write_file(
    file: &File,
    journal_version: u32,
    at: &Resume,
    effect_seq: u64,
    body: impl FnOnce(&mut SectionWriter<'_>) -> io::Result<()>,
) -> io::Result<SnapshotHeader> {
    let out = BufWriter::with_capacity(WRITE_BUFFER_BYTES, file);
    let mut w = SectionWriter::new(Box::new(out))?;
    body(&mut w)?;
    let header = w.finish(at, effect_seq)?;
    let mut f = file;
    debug_assert_eq!(f.stream_position()?, header.file_bytes);
    file.write_all_at(&header.encode(journal_version), 0)?;
    Ok(header)
}

/// A sink that compares what is written with `expected` from its start (past the header,
/// which the writer leaves as a hole), remembering the first offset that differs or where
/// `expected` ended early.
pub(crate) struct Compare<'a> {
    pub expected: &'a [u8],
    pub at: usize,
    pub first_diff: Option<usize>,
}

impl Write for Compare<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.first_diff.is_none() {
            let have = self.expected.get(self.at..).unwrap_or(&[]);
            let n = have.len().min(buf.len());
            let from = HEADER_BYTES.saturating_sub(self.at).min(n);
            if let Some(i) = (from..n).find(|&i| have[i] != buf[i]) {
                self.first_diff = Some(self.at + i);
            } else if n < buf.len() {
                self.first_diff = Some(self.at + n);
            }
        }
        self.at += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Reads the sections of a snapshot's bytes in order, checking each.
pub(crate) struct SectionReader<'a> {
    bytes: &'a [u8],
    at_bytes: usize,
    left: u32,
}

impl<'a> SectionReader<'a> {
    /// Sections of `bytes` (a whole file whose `header` was decoded).
    pub(crate) fn new(bytes: &'a [u8], header: &SnapshotHeader) -> SectionReader<'a> {
        debug_assert_eq!(bytes.len() as u64, header.file_bytes);
        SectionReader {
            bytes,
            at_bytes: HEADER_BYTES,
            left: header.sections,
        }
    }

    /// The next section, which must be `tag` with elements of `T`, read in place: `bytes` must
    /// start 64-byte aligned (a mapping does).
    pub(crate) fn section<T: Pod>(&mut self, tag: &str) -> Result<&'a [T], SnapshotDefect> {
        let at = self.at_bytes;
        if self.left == 0 {
            return Err(defect(at, format!("section {tag} missing")));
        }
        let h = self
            .bytes
            .get(at..at + SECTION_HEADER_BYTES)
            .ok_or_else(|| defect(at, format!("section {tag} cut off")))?;
        let crc_at = |o: usize| u32::from_le_bytes(h[o..o + 4].try_into().expect("4 bytes"));
        if crc32c::crc32c(&h[..60]) != crc_at(60) {
            return Err(defect(at, "section header checksum mismatch"));
        }
        if h[..TAG_BYTES] != tag_bytes(tag) {
            let found = String::from_utf8_lossy(&h[..TAG_BYTES]);
            let found = found.trim_end_matches('\0');
            return Err(defect(at, format!("section {found} found, {tag} expected")));
        }
        let elem = crc_at(16) as usize;
        if elem != std::mem::size_of::<T>() {
            return Err(defect(
                at,
                format!(
                    "section {tag}: {elem}-byte elements, this build has {}",
                    std::mem::size_of::<T>()
                ),
            ));
        }
        let count = u64::from_le_bytes(h[24..32].try_into().expect("8 bytes"));
        let payload = usize::try_from(count)
            .ok()
            .and_then(|c| c.checked_mul(elem))
            .filter(|&p| p <= self.bytes.len())
            .ok_or_else(|| defect(at, format!("section {tag}: {count} elements do not fit")))?;
        let start = at + SECTION_HEADER_BYTES;
        let body = self
            .bytes
            .get(start..start + payload)
            .ok_or_else(|| defect(at, format!("section {tag} cut off")))?;
        if crc32c::crc32c(body) != crc_at(32) {
            return Err(defect(start, format!("section {tag}: checksum mismatch")));
        }
        let next = start + payload.next_multiple_of(SECTION_ALIGN_BYTES);
        match self.bytes.get(start + payload..next) {
            Some(pad) if pad.iter().all(|&b| b == 0) => {}
            Some(_) => {
                return Err(defect(
                    start + payload,
                    format!("section {tag}: padding is not zero"),
                ));
            }
            None => return Err(defect(start + payload, format!("section {tag} cut off"))),
        }
        self.at_bytes = next;
        self.left -= 1;
        bytemuck::try_cast_slice(body)
            .map_err(|e| defect(start, format!("section {tag} cannot be read in place: {e}")))
    }

    /// The next section holding exactly one `T`.
    pub(crate) fn one<T: Pod>(&mut self, tag: &str) -> Result<T, SnapshotDefect> {
        match self.section::<T>(tag)? {
            [one] => Ok(*one),
            many => Err(defect(
                self.at_bytes,
                format!("section {tag}: {} elements, 1 expected", many.len()),
            )),
        }
    }

    /// Checks that every section was read and nothing follows.
    pub(crate) fn end(&self) -> Result<(), SnapshotDefect> {
        if self.left != 0 || self.at_bytes != self.bytes.len() {
            return Err(defect(
                self.at_bytes,
                format!("{} sections more than this build reads", self.left),
            ));
        }
        Ok(())
    }
}
