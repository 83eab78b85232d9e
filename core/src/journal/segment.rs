//! Segment files: naming, the 64-byte header, creation (real allocation, mapping, pre-faulting)
//! and directory listing.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::JournalError;
use super::chain::{LINK_BYTES, Link};
use super::recovery::{After, Start};
use super::resume::Resume;
use super::storage::Storage;

/// Magic bytes at the start of every segment.
pub const SEGMENT_MAGIC: [u8; 8] = *b"WAYBILL\0";
/// Version of the on-disk format: segments, frames, and the layout of the entry payloads the
/// core writes in them (the journal reads payloads as opaque bytes, but a reader would misread
/// another version's). 5: the frames of version 4 (the frame header stores the payload's
/// CRC32C under a CRC of its own, and the XXH3-128 chain link covers the payload through its
/// XXH3-128 digest), with the archived entry shrunk from 160 to 88 bytes (the bulky fields of
/// `order.created` and `order.amended` and an event's optional strings out of line); see the
/// module docs of `journal`. 6: the frames and entries of version 5, plus the durable marker
/// file (`DURABLE`) beside the segments, without which a journal with segments is refused.
/// 7: the frames of `journal`'s module docs (32-byte headers, a stored chain link every
/// [`super::LINK_EVERY`] records). 8: the frames of version 7; most events journaled as
/// compact records of kind 2. 9: the frames of version 8; a `vehicle.position` may carry a
/// heading and an accuracy (schema version 2), in the archived entry and as compact code 6.
pub const FORMAT_VERSION: u32 = 9;
/// Bytes of the segment header; the first frame starts here.
pub const SEGMENT_HEADER_BYTES: usize = 64;
/// Page size assumed for pre-faulting and segment sizes.
pub const PAGE_BYTES: usize = 4096;
/// Smallest segment size.
pub const SEGMENT_BYTES_MIN: u64 = 64 * 1024;
/// Default segment size.
pub const SEGMENT_BYTES_DEFAULT: u64 = 64 * 1024 * 1024;
/// Largest segment size.
pub const SEGMENT_BYTES_MAX: u64 = 1024 * 1024 * 1024;
/// Digits of the segment index in a file name.
pub const SEGMENT_NAME_DIGITS: usize = 20;
/// Suffix of segment files.
pub const SEGMENT_SUFFIX: &str = ".seg";
/// Suffix of a segment being created (removed by the next writer if a crash left it).
pub const SEGMENT_TMP_SUFFIX: &str = ".seg.tmp";
/// Most segments a journal can have (segment numbers are u32 in [`super::RecordRef`]).
pub const SEGMENT_COUNT_MAX: u64 = u32::MAX as u64;

const OFF_VERSION: usize = 8;
const OFF_RESERVED_A: usize = 12;
const OFF_INDEX: usize = 16;
const OFF_FIRST_LSN: usize = 24;
const OFF_SEGMENT_BYTES: usize = 32;
const OFF_PREV_LINK: usize = 40;
const OFF_RESERVED_B: usize = 56;
const OFF_CRC: usize = 60;

const _: () = assert!(OFF_PREV_LINK + LINK_BYTES == OFF_RESERVED_B);
const _: () = assert!(OFF_CRC + 4 == SEGMENT_HEADER_BYTES);
const _: () = assert!(SEGMENT_HEADER_BYTES.is_multiple_of(super::frame::FRAME_ALIGN_BYTES));

/// The file name of segment `index`: 20 digits and `.seg`.
pub fn segment_file_name(index: u64) -> String {
    format!(
        "{index:0width$}{SEGMENT_SUFFIX}",
        width = SEGMENT_NAME_DIGITS
    )
}

/// The index of a segment file name, if it is one.
pub fn parse_segment_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SEGMENT_SUFFIX)?;
    if digits.len() != SEGMENT_NAME_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The decoded segment header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentHeader {
    pub index: u64,
    pub first_lsn: u64,
    pub segment_bytes: u64,
    pub prev_link: Link,
}

impl SegmentHeader {
    pub fn encode(&self) -> [u8; SEGMENT_HEADER_BYTES] {
        let mut h = [0u8; SEGMENT_HEADER_BYTES];
        h[..8].copy_from_slice(&SEGMENT_MAGIC);
        h[OFF_VERSION..OFF_VERSION + 4].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        h[OFF_INDEX..OFF_INDEX + 8].copy_from_slice(&self.index.to_le_bytes());
        h[OFF_FIRST_LSN..OFF_FIRST_LSN + 8].copy_from_slice(&self.first_lsn.to_le_bytes());
        h[OFF_SEGMENT_BYTES..OFF_SEGMENT_BYTES + 8]
            .copy_from_slice(&self.segment_bytes.to_le_bytes());
        h[OFF_PREV_LINK..OFF_PREV_LINK + LINK_BYTES].copy_from_slice(&self.prev_link);
        let crc = crc32c::crc32c(&h[..OFF_CRC]);
        h[OFF_CRC..].copy_from_slice(&crc.to_le_bytes());
        h
    }

    /// Decodes and checks magic, version, reserved bytes and CRC.
    pub fn decode(bytes: &[u8]) -> Result<SegmentHeader, String> {
        if bytes.len() < SEGMENT_HEADER_BYTES {
            return Err(format!(
                "segment header: file has only {} bytes",
                bytes.len()
            ));
        }
        let h = &bytes[..SEGMENT_HEADER_BYTES];
        let u32_at = |at: usize| u32::from_le_bytes(h[at..at + 4].try_into().expect("4 bytes"));
        let u64_at = |at: usize| u64::from_le_bytes(h[at..at + 8].try_into().expect("8 bytes"));
        if h[..8] != SEGMENT_MAGIC {
            return Err("segment header: bad magic".to_owned());
        }
        if crc32c::crc32c(&h[..OFF_CRC]) != u32_at(OFF_CRC) {
            return Err("segment header: crc mismatch".to_owned());
        }
        let version = u32_at(OFF_VERSION);
        if version != FORMAT_VERSION {
            return Err(format!(
                "segment header: unsupported format version {version}"
            ));
        }
        if u32_at(OFF_RESERVED_A) != 0 || u32_at(OFF_RESERVED_B) != 0 {
            return Err("segment header: reserved bytes are not zero".to_owned());
        }
        let mut prev_link = [0u8; LINK_BYTES];
        prev_link.copy_from_slice(&h[OFF_PREV_LINK..OFF_PREV_LINK + LINK_BYTES]);
        Ok(SegmentHeader {
            index: u64_at(OFF_INDEX),
            first_lsn: u64_at(OFF_FIRST_LSN),
            segment_bytes: u64_at(OFF_SEGMENT_BYTES),
            prev_link,
        })
    }
}

/// Checks a segment size option.
pub(crate) fn check_segment_bytes(segment_bytes: u64) -> Result<(), String> {
    if !(SEGMENT_BYTES_MIN..=SEGMENT_BYTES_MAX).contains(&segment_bytes) {
        return Err(format!(
            "segment_bytes {segment_bytes} outside {SEGMENT_BYTES_MIN}..={SEGMENT_BYTES_MAX}"
        ));
    }
    if !segment_bytes.is_multiple_of(PAGE_BYTES as u64) {
        return Err(format!(
            "segment_bytes {segment_bytes} is not a multiple of {PAGE_BYTES}"
        ));
    }
    Ok(())
}

/// The segment files of `dir`, sorted by index. Other files are ignored.
pub(crate) fn list(dir: &Path) -> Result<Vec<(u64, PathBuf)>, JournalError> {
    let mut out = Vec::new();
    let entries = fs::read_dir(dir).map_err(|e| JournalError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| JournalError::io(dir, e))?;
        let name = entry.file_name();
        if let Some(index) = name.to_str().and_then(parse_segment_file_name) {
            out.push((index, entry.path()));
        }
    }
    out.sort_unstable_by_key(|&(index, _)| index);
    Ok(out)
}

/// Where a scan starts, as a position in `listed`, when not at the first segment's start: just
/// past the record `resume` names (checked beforehand by `resume::check_resume`), in its
/// segment; or, for a journal whose first segments were archived (the first listed is not
/// segment 0), at the first one listed. `None`: at the start of the first segment.
pub(crate) fn start_for(
    listed: &[(u64, PathBuf)],
    resume: Option<&Resume>,
) -> Result<Option<(usize, Start)>, JournalError> {
    if let Some(r) = resume {
        let Some(k) = listed.iter().position(|(index, _)| *index == r.pos.segment) else {
            return Err(JournalError::Corrupt {
                segment: segment_file_name(r.pos.segment),
                offset: 0,
                lsn: r.lsn + 1,
                what: "segment file missing (the snapshot resumes in it)".to_owned(),
            });
        };
        let after = After {
            lsn: r.lsn,
            link: r.link,
            ingest_us: r.ingest_us,
            anchor: r.pos.anchor_offset as usize,
            offset: r.pos.end_offset as usize,
        };
        let header = read_header(&listed[k].1)?;
        return Ok(Some((
            k,
            Start {
                header,
                after: Some(after),
            },
        )));
    }
    match listed.first() {
        Some((index, path)) if *index > 0 => Ok(Some((
            0,
            Start {
                header: read_header(path)?,
                after: None,
            },
        ))),
        _ => Ok(None),
    }
}

/// Removes segment files a crash left half-created.
pub(crate) fn remove_temporaries(dir: &Path) -> Result<(), JournalError> {
    let entries = fs::read_dir(dir).map_err(|e| JournalError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| JournalError::io(dir, e))?;
        if entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.ends_with(SEGMENT_TMP_SUFFIX))
        {
            let path = entry.path();
            fs::remove_file(&path).map_err(|e| JournalError::io(&path, e))?;
        }
    }
    Ok(())
}

/// Fsyncs a directory so that created, renamed and removed entries are durable.
pub(crate) fn fsync_dir(dir: &Path) -> Result<(), JournalError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| JournalError::io(dir, e))
}

/// Bytes populated per `madvise(MADV_POPULATE_READ)` call.
const POPULATE_CHUNK_BYTES: usize = 16 << 20;

/// Brings the pages of the mapping from the first page boundary at or after `from` to the end
/// into the page cache (zero pages of the file's allocated, unwritten extents), so that the
/// writer's `pwrite`s find their pages there instead of allocating and clearing them on the
/// writer thread. The content does not change. On Linux it asks the kernel to populate the
/// range (`madvise(MADV_POPULATE_READ)`, Linux >= 5.14) in ranges of
/// [`POPULATE_CHUNK_BYTES`]; a kernel that refuses gets the rest read one byte per page.
pub(crate) fn populate(map: &Mmap, from: usize) {
    let mut at = from.div_ceil(PAGE_BYTES) * PAGE_BYTES;
    #[cfg(target_os = "linux")]
    while at < map.len() {
        let len = (map.len() - at).min(POPULATE_CHUNK_BYTES);
        if map
            .advise_range(memmap2::Advice::PopulateRead, at, len)
            .is_err()
        {
            break;
        }
        at += len;
    }
    let mut sum = 0u8;
    for page in (at..map.len()).step_by(PAGE_BYTES) {
        sum ^= map[page];
    }
    std::hint::black_box(sum);
}

/// Path of the temporary file segment `index` is prepared in.
pub(crate) fn temporary_path(dir: &Path, index: u64) -> PathBuf {
    dir.join(format!("{}.tmp", segment_file_name(index)))
}

/// An open segment file and its read-only shared mapping (which sees every `pwrite` to the
/// file at once: one page cache).
pub(crate) struct Opened {
    pub file: File,
    pub map: Mmap,
}

/// Maps an open segment file read-only.
pub(crate) fn map_read(file: File, path: &Path) -> Result<Opened, JournalError> {
    // SAFETY: segment files are never truncated while a journal exists (the writer only writes
    // into pre-allocated space and zeroes torn tails in place), so the mapping stays valid.
    let map = unsafe { Mmap::map(&file) }.map_err(|e| JournalError::io(path, e))?;
    Ok(Opened { file, map })
}

/// Prepares the file of segment `index` under its temporary name: allocated for real with
/// `posix_fallocate` (never sparse: a sparse file turns disk-full into SIGBUS), mapped
/// read-only and, when `populate` says so, its pages brought into the page cache
/// ([`populate`]: for a writer that writes on its applying thread, which would otherwise
/// allocate them there). All zero; [`install`] gives it its header.
pub(crate) fn allocate(
    dir: &Path,
    index: u64,
    segment_bytes: u64,
    populate: bool,
) -> Result<Opened, JournalError> {
    check_segment_bytes(segment_bytes).map_err(JournalError::InvalidOptions)?;
    let tmp = temporary_path(dir, index);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(|e| JournalError::io(&tmp, e))?;
    let len = libc::off_t::try_from(segment_bytes).expect("segment size fits off_t");
    // SAFETY: a valid open descriptor; posix_fallocate returns an errno value, not -1.
    let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len) };
    if rc != 0 {
        let _ = fs::remove_file(&tmp);
        return Err(JournalError::io(&tmp, io::Error::from_raw_os_error(rc)));
    }
    let opened = map_read(file, &tmp)?;
    debug_assert_eq!(opened.map.len() as u64, segment_bytes);
    if populate {
        self::populate(&opened.map, 0);
    }
    Ok(opened)
}

/// Writes `bytes` at `offset` of segment `index` through `storage`.
pub(crate) fn write(
    dir: &Path,
    storage: &dyn Storage,
    index: u64,
    file: &File,
    offset: usize,
    bytes: &[u8],
) -> Result<(), JournalError> {
    storage
        .write_segment(index, file, offset as u64, bytes)
        .map_err(|e| JournalError::io(dir.join(segment_file_name(index)), e))
}

/// Makes what was written to segment `index` up to offset `to` durable through `storage`.
pub(crate) fn sync(
    dir: &Path,
    storage: &dyn Storage,
    index: u64,
    file: &File,
    to: usize,
) -> Result<(), JournalError> {
    storage
        .sync_segment(index, file, to)
        .map_err(|e| JournalError::io(dir.join(segment_file_name(index)), e))
}

/// Turns a prepared (all-zero) file into segment `header.index`: writes the header and
/// renames the file into place. Neither is durable yet: the writer's next flush syncs the
/// segment (header included) and the directory before the durable marker names a record in
/// it, so a rollover costs the writer no wait for the disk. After a power cut before that
/// flush the segment may be missing or hold a torn header; no durable record is in it, and
/// recovery cuts it as a torn tail.
pub(crate) fn install(
    dir: &Path,
    storage: &dyn Storage,
    header: &SegmentHeader,
    prepared: Opened,
) -> Result<Opened, JournalError> {
    debug_assert_eq!(prepared.map.len() as u64, header.segment_bytes);
    debug_assert!(prepared.map[..SEGMENT_HEADER_BYTES].iter().all(|&b| b == 0));
    let tmp = temporary_path(dir, header.index);
    let path = dir.join(segment_file_name(header.index));
    write(
        dir,
        storage,
        header.index,
        &prepared.file,
        0,
        &header.encode(),
    )?;
    fs::rename(&tmp, &path).map_err(|e| JournalError::io(&path, e))?;
    debug_assert_eq!(prepared.map[..8], SEGMENT_MAGIC);
    Ok(prepared)
}

/// Creates segment `header.index` in `dir` ([`allocate`] then [`install`]) and makes it
/// durable at once (header synced, directory fsynced): the first segment of a new journal.
pub(crate) fn create(
    dir: &Path,
    storage: &dyn Storage,
    header: &SegmentHeader,
) -> Result<Opened, JournalError> {
    let prepared = allocate(dir, header.index, header.segment_bytes, false)?;
    let opened = install(dir, storage, header, prepared)?;
    sync(
        dir,
        storage,
        header.index,
        &opened.file,
        SEGMENT_HEADER_BYTES,
    )?;
    fsync_dir(dir)?;
    Ok(opened)
}

/// The segment size of an existing journal: that of its newest segment whose header reads
/// (a power cut can leave the newest one with a torn header; `None` when `dir` holds no
/// segment). A writer that reopens a journal keeps this size unless told otherwise.
pub fn existing_segment_bytes(dir: &Path) -> Result<Option<u64>, JournalError> {
    let segments = list(dir)?;
    let mut first_error = None;
    for (_, path) in segments.iter().rev() {
        match read_header(path) {
            Ok(header) => return Ok(Some(header.segment_bytes)),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    first_error.map_or(Ok(None), Err)
}

pub(crate) fn read_header(path: &Path) -> Result<SegmentHeader, JournalError> {
    let mut header = [0u8; SEGMENT_HEADER_BYTES];
    let file = File::open(path).map_err(|e| JournalError::io(path, e))?;
    std::os::unix::fs::FileExt::read_exact_at(&file, &mut header, 0)
        .map_err(|e| JournalError::io(path, e))?;
    SegmentHeader::decode(&header).map_err(|what| JournalError::Corrupt {
        segment: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        offset: 0,
        lsn: 0,
        what,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(segment_file_name(0), "00000000000000000000.seg");
        assert_eq!(segment_file_name(42), "00000000000000000042.seg");
        assert_eq!(
            parse_segment_file_name("00000000000000000042.seg"),
            Some(42)
        );
        for bad in [
            "42.seg",
            "0000000000000000004x.seg",
            "00000000000000000042.seg.tmp",
            "LOCK",
        ] {
            assert_eq!(parse_segment_file_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn header_round_trips_and_rejects_flips() {
        let h = SegmentHeader {
            index: 3,
            first_lsn: 77,
            segment_bytes: 65536,
            prev_link: [5; 16],
        };
        let bytes = h.encode();
        assert_eq!(SegmentHeader::decode(&bytes), Ok(h));
        for at in 0..SEGMENT_HEADER_BYTES {
            let mut bad = bytes;
            bad[at] ^= 1;
            assert!(
                SegmentHeader::decode(&bad).is_err(),
                "flip at {at} accepted"
            );
        }
    }

    /// Populating the page cache leaves the content as it was.
    #[test]
    fn populate_keeps_the_content() {
        let dir = tempfile::tempdir().unwrap();
        let len = 3 * POPULATE_CHUNK_BYTES / 2 + 5 * PAGE_BYTES;
        let path = dir.path().join("f");
        let pattern = |i: usize| (i.wrapping_mul(2_654_435_761) >> 7) as u8;
        let bytes: Vec<u8> = (0..len)
            .map(|i| if i % 997 == 0 { pattern(i) } else { 0 })
            .collect();
        fs::write(&path, &bytes).unwrap();
        let opened = map_read(File::open(&path).unwrap(), &path).unwrap();
        populate(&opened.map, 100);
        populate(&opened.map, 0);
        assert!(opened.map[..] == bytes[..]);
    }
}
