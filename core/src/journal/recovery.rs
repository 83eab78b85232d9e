//! The validating scan shared by [`super::Journal::open`], [`super::JournalReader`] and
//! [`super::verify`]: frames, CRCs, LSN continuity, segment headers, and the decision between
//! a torn tail (cut or skipped) and damage (an error naming segment, offset and LSN).

use super::chain::{GENESIS_LINK, Link, next_link};
use super::error::Damage;
use super::frame::{self, Bad, FRAME_ALIGN_BYTES, Frame, MAX_PAYLOAD_BYTES};
use super::marker::Durable;
use super::segment::{SEGMENT_HEADER_BYTES, SegmentHeader, segment_file_name};

/// A segment file's bytes, with the index from its file name.
pub(crate) struct SegView<'a> {
    pub index: u64,
    pub bytes: &'a [u8],
}

/// Views of mapped segments (`(index, mapping)` pairs), for [`scan`].
pub(crate) fn views<M: std::ops::Deref<Target = [u8]>>(maps: &[(u64, M)]) -> Vec<SegView<'_>> {
    maps.iter()
        .map(|(index, map)| SegView {
            index: *index,
            bytes: &map[..],
        })
        .collect()
}

/// The valid part of one scanned segment.
#[derive(Clone, Debug)]
pub(crate) struct SegScan {
    pub index: u64,
    /// Offset of the first record scanned (the end of the header, unless the scan resumed
    /// inside this segment).
    pub start: usize,
    /// Offset just past the last valid record.
    pub end: usize,
    /// Valid records in the segment.
    pub records: u64,
    /// The part of them whose chain is confirmed by a stored link in the segment (the records
    /// up to its last one that stores a link), and where that part ends.
    pub checked_records: u64,
    pub checked_end: usize,
}

/// Where a scan starts when not at the first segment's start.
#[derive(Clone, Debug)]
pub(crate) struct Start {
    /// The first segment scanned.
    pub header: SegmentHeader,
    /// Resume inside it, just past this known record.
    pub after: Option<After>,
}

/// A known record to resume after: its LSN, chain link and ingest time, and the offset just
/// past its frame in the first segment scanned.
#[derive(Clone, Copy, Debug)]
pub(crate) struct After {
    pub lsn: u64,
    pub link: Link,
    pub ingest_us: i64,
    /// The offset of the last frame at or before it that stores its link (0: none).
    pub anchor: usize,
    pub offset: usize,
}

/// A torn tail: `views[view]` from `offset` to `nonzero_end` is to be cut.
#[derive(Clone, Debug)]
pub(crate) struct TornAt {
    pub view: usize,
    pub offset: usize,
    pub nonzero_end: usize,
    pub lsn: u64,
}

/// Outcome of a scan. With `damage`, `segments` holds the valid records before the damage.
#[derive(Debug)]
pub(crate) struct Scan {
    pub segments: Vec<SegScan>,
    pub records: u64,
    pub last_lsn: u64,
    /// The stored link of the last valid record (the genesis link when there is none).
    pub last_link: Link,
    /// Ingest time of the last valid record (`i64::MIN` when there is none).
    pub last_ingest_us: i64,
    pub torn: Option<TornAt>,
    /// Number of segment files after the kept ones that hold no records and go with the tail.
    pub dropped: usize,
    pub damage: Option<Damage>,
    /// Index of the first segment scanned (0 unless the scan started later).
    pub first_index: u64,
    /// LSN of the first record scanned (1 unless the scan started later).
    pub first_lsn: u64,
    /// The scan resumed inside its first segment (whose header then continues nothing).
    pub resumed: bool,
    /// Where the last valid record lies: its segment, the offset of the last frame at or
    /// before it in that segment that stores its link (0: none), and the end of its frame.
    pub last_segment: u64,
    pub last_anchor: usize,
    pub last_end: usize,
}

impl Scan {
    pub fn torn_tail(&self, views: &[SegView<'_>]) -> Option<super::TornTail> {
        self.torn.as_ref().map(|t| super::TornTail {
            segment: segment_file_name(views[t.view].index),
            offset: t.offset as u64,
            bytes_cut: (t.nonzero_end - t.offset) as u64,
            lsn: t.lsn,
        })
    }
}

/// Called for every valid record in order; an `Err` is damage at that record.
pub(crate) type OnRecord<'c> = &'c mut dyn FnMut(u64, usize, &Frame<'_>) -> Result<(), String>;

fn damage(index: u64, offset: usize, lsn: u64, what: impl Into<String>) -> Damage {
    Damage {
        segment: segment_file_name(index),
        offset: offset as u64,
        lsn,
        what: what.into(),
    }
}

/// Whether every byte is zero (word at a time).
pub(crate) fn is_zero(bytes: &[u8]) -> bool {
    let mut chunks = bytes.chunks_exact(64);
    let words_zero = chunks.all(|c| c.iter().fold(0u8, |acc, &b| acc | b) == 0);
    words_zero && chunks.remainder().iter().all(|&b| b == 0)
}

/// Offset just past the last non-zero byte (0 when all are zero).
fn nonzero_len(bytes: &[u8]) -> usize {
    const CHUNK: usize = 4096;
    let mut end = bytes.len();
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        if let Some(at) = bytes[start..end].iter().rposition(|&b| b != 0) {
            return start + at + 1;
        }
        end = start;
    }
    0
}

/// Decodes a segment header and checks it against the file name and length.
fn check_header(view: &SegView<'_>) -> Result<SegmentHeader, String> {
    let header = SegmentHeader::decode(view.bytes)?;
    if header.index != view.index {
        return Err(format!("segment header names segment {}", header.index));
    }
    if header.segment_bytes != view.bytes.len() as u64 {
        return Err(format!(
            "segment header says {} bytes, the file has {}",
            header.segment_bytes,
            view.bytes.len()
        ));
    }
    Ok(header)
}

/// Why a segment's header does not continue the records before it.
fn discontinuity(header: &SegmentHeader, expect_lsn: u64, prev: Option<&SegScan>) -> String {
    let mut what = if header.first_lsn != expect_lsn {
        format!(
            "segment starts at lsn {}, expected {expect_lsn} (a segment is missing or out of order)",
            header.first_lsn
        )
    } else {
        "segment header link does not match the previous record (a segment is missing or replaced)"
            .to_owned()
    };
    if let Some(prev) = prev {
        what.push_str(&format!(
            "; the previous segment's records end at offset {}",
            prev.end
        ));
    }
    what
}

/// What scanning the records of one segment on their own found: they are checked against the
/// segment's header (first LSN, the link before it) and each other; how the segment joins the
/// one before it is checked when the results are put together in order.
struct SegResult {
    /// Offset of the first record scanned.
    start: usize,
    /// Offset of its last frame that stores a link (0: none).
    last_anchor: usize,
    /// Offset just past the last valid record.
    end: usize,
    stop: Option<Stop>,
    records: u64,
    last_lsn: u64,
    last_link: Link,
    last_ingest_us: i64,
    /// Ingest time of its first valid record.
    first_ingest_us: Option<i64>,
    /// Records up to the last one that stores its link, and where they end.
    checked_records: u64,
    checked_end: usize,
}

/// Scans the records of one segment whose header is `header`.
///
/// With `after`, the scan resumes inside the segment, just past that known record.
fn scan_records(
    view: &SegView<'_>,
    header: &SegmentHeader,
    durable: Durable,
    on_record: &mut Option<OnRecord<'_>>,
    after: Option<&After>,
) -> SegResult {
    let (mut s, start) = match after {
        Some(a) => {
            let mut s = Scan::fresh(a.lsn, a.link);
            s.last_ingest_us = a.ingest_us;
            s.last_anchor = a.anchor;
            (s, a.offset)
        }
        None => (
            Scan::fresh(header.first_lsn - 1, header.prev_link),
            SEGMENT_HEADER_BYTES,
        ),
    };
    let mut first_ingest_us = None;
    let mut checked = Checkpoint::at(start, &s);
    let (end, stop) = scan_segment(
        view,
        durable,
        &mut s,
        on_record,
        &mut first_ingest_us,
        &mut checked,
    );
    debug_assert!(checked.records <= s.records && checked.end <= end);
    SegResult {
        start,
        last_anchor: s.last_anchor,
        end,
        stop,
        records: s.records,
        last_lsn: s.last_lsn,
        last_link: s.last_link,
        last_ingest_us: s.last_ingest_us,
        first_ingest_us,
        checked_records: checked.records,
        checked_end: checked.end,
    }
}

/// Scans the records of every segment whose header is sound, each on its own, on up to as
/// many threads as there are CPUs (segments are independent given their headers).
/// A resumed first segment (`skip_first`) is left to the caller.
fn scan_parallel(
    views: &[SegView<'_>],
    durable: Durable,
    skip_first: bool,
) -> Vec<Option<SegResult>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(views.len())
        .max(1);
    let one = |i: usize, view: &SegView<'_>| {
        if i == 0 && skip_first {
            return None;
        }
        let header = check_header(view).ok()?;
        Some(scan_records(view, &header, durable, &mut None, None))
    };
    let mut out: Vec<Option<SegResult>> = (0..views.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|w| {
                scope.spawn(move || {
                    (w..views.len())
                        .step_by(threads)
                        .map(|i| (i, one(i, &views[i])))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for worker in workers {
            let done = worker
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            for (i, r) in done {
                out[i] = r;
            }
        }
    });
    out
}

/// Below this many segments, or on one CPU, or with a per-record callback, segments are
/// scanned one after the other on the calling thread.
const PARALLEL_SCAN_MIN_SEGMENTS: usize = 2;

/// Scans `views` (all segment files, sorted by index) and validates every frame: both CRCs,
/// LSN continuity, ingest-time order and the hash chain (each stored link recomputed from the
/// previous one), then `on_record` when given (in LSN order, on the records that belong to the
/// journal only; without it, segments are scanned in parallel and joined in order, with the
/// same result).
///
/// `durable` is what the durable marker promises. The first position that does not hold the
/// valid next record ends the journal: at or below the durable LSN that is damage (those
/// records were acknowledged), past it a torn tail, whatever follows (after a power cut the
/// kernel may have written a later page and lost an earlier one), and every later segment goes
/// with it. A journal that ends, or whose chain disagrees with the marker, at or below the
/// durable LSN is damaged too.
///
/// `start` begins the scan at a segment other than the first (`views` then start there): the
/// records before it are neither read nor checked, the chain starts from its header's link;
/// or, with [`Start::after`], just past a known record inside it (checked by the caller, see
/// `resume`), the chain starting from that record's link.
pub(crate) fn scan(
    views: &[SegView<'_>],
    durable: Durable,
    start: Option<&Start>,
    mut on_record: Option<OnRecord<'_>>,
) -> Scan {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let parallel = on_record.is_none() && cpus > 1 && views.len() >= PARALLEL_SCAN_MIN_SEGMENTS;
    let after = start.and_then(|st| st.after.as_ref());
    let mut ahead = if parallel {
        scan_parallel(views, durable, after.is_some())
    } else {
        Vec::new()
    };
    let mut s = Scan::starting(start);
    debug_assert!(start.is_none_or(|st| views.first().is_some_and(|v| v.index == st.header.index)));
    for (i, view) in views.iter().enumerate() {
        let Some(header) = s.begin(i, view, durable, views.len()) else {
            return s;
        };
        let result = match ahead.get_mut(i).and_then(Option::take) {
            Some(r) => r,
            None => scan_records(
                view,
                &header,
                durable,
                &mut on_record,
                after.filter(|_| i == 0),
            ),
        };
        if !s.finish(i, view, result, durable, views.len()) {
            return s;
        }
    }
    if s.last_lsn < durable.lsn {
        let (index, end) = s.segments.last().map_or((0, 0), |l| (l.index, l.end));
        s.damage = Some(damage(
            index,
            end,
            s.last_lsn + 1,
            format!(
                "the journal ends at lsn {}, but the durable marker says records up to lsn {} are durable (records were removed or zeroed)",
                s.last_lsn, durable.lsn
            ),
        ));
        if let Some(last) = s.segments.len().checked_sub(1) {
            s.keep_confirmed(last);
        }
    }
    s
}

impl Scan {
    /// A scan about to begin at `start` (the journal's first record without one).
    fn starting(start: Option<&Start>) -> Scan {
        let Some(st) = start else {
            return Scan::fresh(0, GENESIS_LINK);
        };
        let h = &st.header;
        match &st.after {
            Some(a) => Scan {
                first_index: h.index,
                first_lsn: a.lsn + 1,
                last_ingest_us: a.ingest_us,
                resumed: true,
                last_segment: h.index,
                last_anchor: a.anchor,
                last_end: a.offset,
                ..Scan::fresh(a.lsn, a.link)
            },
            None => Scan {
                first_index: h.index,
                first_lsn: h.first_lsn,
                last_segment: h.index,
                ..Scan::fresh(h.first_lsn - 1, h.prev_link)
            },
        }
    }

    /// A scan before any record, continuing after `last_lsn` whose link is `last_link`.
    fn fresh(last_lsn: u64, last_link: Link) -> Scan {
        Scan {
            segments: Vec::new(),
            records: 0,
            last_lsn,
            last_link,
            last_ingest_us: i64::MIN,
            torn: None,
            dropped: 0,
            damage: None,
            first_index: 0,
            first_lsn: 1,
            resumed: false,
            last_segment: 0,
            last_anchor: 0,
            last_end: SEGMENT_HEADER_BYTES,
        }
    }

    /// Checks that segment `i` is there, has a sound header and continues the records before
    /// it; `None` when the scan ends here (damage, or records lost past the durable point).
    fn begin(
        &mut self,
        i: usize,
        view: &SegView<'_>,
        durable: Durable,
        views: usize,
    ) -> Option<SegmentHeader> {
        let expect_lsn = self.last_lsn + 1;
        // Past the durable point a segment may be missing, hold a torn header (a rollover
        // syncs neither its header nor its name: the next flush does) or not continue the
        // previous one (records lost at its end): none of it durable, a torn tail.
        let torn_from_here = i > 0 && expect_lsn > durable.lsn;
        let index = self.first_index + i as u64;
        if view.index != index {
            if torn_from_here {
                self.cut_after(i - 1, expect_lsn, views);
            } else {
                self.damage = Some(damage(index, 0, expect_lsn, "segment file missing"));
            }
            return None;
        }
        let header = match check_header(view) {
            Ok(h) => h,
            Err(_) if torn_from_here => {
                self.cut_after(i - 1, expect_lsn, views);
                return None;
            }
            Err(what) => {
                self.damage = Some(damage(view.index, 0, expect_lsn, what));
                return None;
            }
        };
        let resumed_here = i == 0 && self.resumed;
        if resumed_here || (header.first_lsn == expect_lsn && header.prev_link == self.last_link) {
            return Some(header);
        }
        if header.first_lsn == expect_lsn && i > 0 && self.unchecked_tail(i - 1) > 0 {
            self.refuse_unchecked_tail(i - 1, view.index);
            return None;
        }
        if torn_from_here {
            self.cut_after(i - 1, expect_lsn, views);
        } else {
            let what = discontinuity(&header, expect_lsn, self.segments.last());
            self.damage = Some(damage(view.index, 0, expect_lsn, what));
        }
        None
    }

    /// Joins segment `i`'s records to those before it; false when the scan ends here.
    fn finish(
        &mut self,
        i: usize,
        view: &SegView<'_>,
        r: SegResult,
        durable: Durable,
        views: usize,
    ) -> bool {
        let expect_lsn = self.last_lsn + 1;
        if let Some(first) = r.first_ingest_us.filter(|&t| t < self.last_ingest_us) {
            let what = format!("ingest time {first} goes back from {}", self.last_ingest_us);
            self.damage = Some(damage(view.index, SEGMENT_HEADER_BYTES, expect_lsn, what));
            return false;
        }
        if r.records > 0 {
            debug_assert_eq!(r.last_lsn, self.last_lsn + r.records);
            (self.last_lsn, self.last_link) = (r.last_lsn, r.last_link);
            self.last_ingest_us = r.last_ingest_us;
            self.records += r.records;
            (self.last_segment, self.last_anchor, self.last_end) =
                (view.index, r.last_anchor, r.end);
        }
        self.segments.push(SegScan {
            index: view.index,
            start: r.start,
            end: r.end,
            records: r.records,
            checked_records: r.checked_records,
            checked_end: r.checked_end,
        });
        self.stop_at(i, view, r.end, r.stop, durable, views)
    }

    /// Decides what a segment's early stop means; false when it ends the scan.
    fn stop_at(
        &mut self,
        i: usize,
        view: &SegView<'_>,
        end: usize,
        stop: Option<Stop>,
        durable: Durable,
        views: usize,
    ) -> bool {
        let expect = self.last_lsn + 1;
        let what = match stop {
            None => return true,
            Some(Stop::Misplaced(what)) => {
                self.damage = Some(damage(view.index, end, expect, what));
                self.keep_confirmed(i);
                return false;
            }
            Some(Stop::Unreadable(what)) => what,
        };
        if expect <= durable.lsn {
            self.damage = Some(damage(view.index, end, expect, what));
            self.keep_confirmed(i);
        } else {
            let nonzero_end = end + frame::align_up(nonzero_len(&view.bytes[end..]));
            self.cut_at(i, end, nonzero_end.min(view.bytes.len()), expect, views);
        }
        false
    }
}

/// Why the scan of a segment stopped before its clean end.
enum Stop {
    /// No intact frame here (a failed CRC, a bad length, garbage): what a torn write or a lost
    /// page leaves, so past the durable point it is a torn tail.
    Unreadable(String),
    /// An intact frame that does not belong here (wrong LSN, ingest time going back, a broken
    /// hash chain, a payload the caller rejects): no crash writes that, so it is damage
    /// wherever it is.
    Misplaced(String),
}

/// The scan's state just after the last record whose chain a stored link confirmed (or at the
/// segment's start): what an edit found at the next stored link rolls back to.
struct Checkpoint {
    end: usize,
    records: u64,
    lsn: u64,
    link: Link,
    ingest_us: i64,
}

impl Checkpoint {
    fn start(s: &Scan) -> Checkpoint {
        Checkpoint {
            end: SEGMENT_HEADER_BYTES,
            records: s.records,
            lsn: s.last_lsn,
            link: s.last_link,
            ingest_us: s.last_ingest_us,
        }
    }

    fn at(end: usize, s: &Scan) -> Checkpoint {
        Checkpoint {
            end,
            ..Checkpoint::start(s)
        }
    }

    /// Puts `s` back to this point.
    fn restore(&self, s: &mut Scan) {
        (s.records, s.last_lsn) = (self.records, self.lsn);
        (s.last_link, s.last_ingest_us) = (self.link, self.ingest_us);
    }
}

/// Walks the frames of one segment whose header was accepted, updating `s` for every valid
/// record. Returns the offset just past the last valid record, and why the scan stopped there
/// when it was not the clean end of the segment (zeros to the end). A stored link that does
/// not match the chain condemns every record since the last confirmed point (one of them was
/// changed), so the scan is put back there and the damage named at the first of them.
fn scan_segment(
    view: &SegView<'_>,
    durable: Durable,
    s: &mut Scan,
    on_record: &mut Option<OnRecord<'_>>,
    first_ingest_us: &mut Option<i64>,
    checked: &mut Checkpoint,
) -> (usize, Option<Stop>) {
    let bytes = view.bytes;
    let mut pos = checked.end;
    loop {
        debug_assert_eq!(pos % FRAME_ALIGN_BYTES, 0);
        let f = match frame::parse(bytes, pos, MAX_PAYLOAD_BYTES) {
            Ok(f) => f,
            Err(Bad::Empty) if is_zero(&bytes[pos..]) => return (pos, None),
            Err(bad) => return (pos, Some(Stop::Unreadable(bad.describe()))),
        };
        let link = match check_place(&f, s, durable) {
            Ok(link) => link,
            Err(what) => return (pos, Some(Stop::Misplaced(what))),
        };
        if f.link.is_some_and(|stored| stored != link) {
            let what = format!(
                "hash chain mismatch at the link stored with lsn {} (a record at lsn {} to {} was edited, removed or reordered)",
                f.lsn,
                checked.lsn + 1,
                f.lsn
            );
            checked.restore(s);
            return (checked.end, Some(Stop::Misplaced(what)));
        }
        if let Some(Err(what)) = on_record.as_mut().map(|f_rec| f_rec(view.index, pos, &f)) {
            return (pos, Some(Stop::Misplaced(what)));
        }
        first_ingest_us.get_or_insert(f.ingest_us);
        if f.link.is_some() {
            s.last_anchor = pos;
        }
        s.last_lsn = f.lsn;
        s.last_link = link;
        s.last_ingest_us = f.ingest_us;
        s.records += 1;
        pos += f.bytes();
        if f.link.is_some() || f.lsn == durable.lsn {
            *checked = Checkpoint::at(pos, s);
        }
    }
}

/// Checks that an intact frame is the next record: its LSN, its ingest time, and at the durable
/// LSN the marker's link. Returns the record's chain link, recomputed from the previous one
/// (the caller compares it with the stored one, where the frame stores one).
fn check_place(f: &Frame<'_>, s: &Scan, durable: Durable) -> Result<Link, String> {
    let expect = s.last_lsn + 1;
    if f.lsn != expect {
        return Err(format!("lsn {} found, expected {expect}", f.lsn));
    }
    if f.ingest_us < s.last_ingest_us {
        return Err(format!(
            "ingest time {} goes back from {}",
            f.ingest_us, s.last_ingest_us
        ));
    }
    debug_assert_eq!(f.link.is_some(), frame::carries_link(f.lsn));
    let link = next_link(&s.last_link, f.lsn, f.ingest_us, f.kind, f.payload);
    if f.lsn == durable.lsn && link != durable.link {
        return Err(
            "the chain link does not match the durable marker's (the records up to it were replaced)"
                .to_owned(),
        );
    }
    Ok(link)
}

impl Scan {
    /// A scan that could not start (the durable marker is damaged): no records.
    pub fn damaged(damage: Damage) -> Scan {
        Scan {
            damage: Some(damage),
            ..Scan::fresh(0, GENESIS_LINK)
        }
    }

    /// With damage found in segment `k`, keeps as valid only its records the chain confirmed
    /// (up to its last stored link or the durable marker's LSN): those after it may be the
    /// changed ones, so no reader is given them.
    fn keep_confirmed(&mut self, k: usize) {
        debug_assert!(self.damage.is_some());
        let unchecked = self.unchecked_tail(k);
        self.records -= unchecked;
        self.last_lsn -= unchecked;
        let seg = &mut self.segments[k];
        seg.records -= unchecked;
        seg.end = seg.checked_end;
    }

    /// Records of kept segment `k` past its last stored link: the chain has not confirmed them.
    fn unchecked_tail(&self, k: usize) -> u64 {
        let seg = &self.segments[k];
        seg.records - seg.checked_records
    }

    /// The header of segment `next` does not follow the records of segment `k`, while the LSNs
    /// do: one of the records after `k`'s last stored link was changed (or the header was).
    /// Damage at the first of them; the scan keeps the records before it.
    fn refuse_unchecked_tail(&mut self, k: usize, next: u64) {
        let unchecked = self.unchecked_tail(k);
        debug_assert!(unchecked > 0 && unchecked <= self.records);
        let (first, last) = (self.last_lsn - unchecked + 1, self.last_lsn);
        self.records -= unchecked;
        self.last_lsn -= unchecked;
        let seg = &mut self.segments[k];
        seg.records -= unchecked;
        seg.end = seg.checked_end;
        let what = format!(
            "hash chain mismatch at the link in the header of segment {} (a record at lsn {first} to {last}, or that header, was edited, removed or reordered)",
            segment_file_name(next)
        );
        self.damage = Some(damage(seg.index, seg.end, first, what));
    }

    /// Ends the scan with a torn tail in `views[view]` from `offset` to `nonzero_end`; every
    /// segment after it goes too.
    /// Keeps segment `view` whole and drops every segment after it.
    fn cut_after(&mut self, view: usize, lsn: u64, views: usize) {
        let end = self.segments[view].end;
        self.cut_at(view, end, end, lsn, views);
    }

    fn cut_at(&mut self, view: usize, offset: usize, nonzero_end: usize, lsn: u64, views: usize) {
        debug_assert!(offset <= nonzero_end && self.damage.is_none());
        self.torn = Some(TornAt {
            view,
            offset,
            nonzero_end,
            lsn,
        });
        self.dropped = views - (view + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_helpers() {
        let mut b = vec![0u8; 10_000];
        assert!(is_zero(&b));
        assert_eq!(nonzero_len(&b), 0);
        b[9_999] = 1;
        assert!(!is_zero(&b));
        assert_eq!(nonzero_len(&b), 10_000);
        b[9_999] = 0;
        b[17] = 3;
        assert!(!is_zero(&b));
        assert_eq!(nonzero_len(&b), 18);
    }
}
