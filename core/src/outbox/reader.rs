//! [`LogReader`]: reads the effect log from a seq on, across segments, up to the last complete
//! valid frame, with one bounded buffer. It takes no lock and never writes: it runs beside the
//! writer, in the writer's process or another.
//!
//! A reader never consumes a frame whose cause LSN is above the bound it is given (the journal's
//! durable LSN), so its position never passes an effect that recovery could still cut.

use super::OutboxError;
use super::frame::FrameHead;
use super::segment::{self, End, SegmentReader, Step, segment_file_name};
use crate::effect::EffectOut;
use std::path::{Path, PathBuf};

/// A reader of the effect log from a seq on, across segments, with one bounded buffer.
#[doc(hidden)]
pub struct LogReader {
    dir: PathBuf,
    seg: Option<SegmentReader>,
    /// Seq of the frame the reader yields next.
    next_seq: u64,
    /// The last read found nothing (more): check the segment is still the file at its path
    /// before reading on.
    paused: bool,
}

impl LogReader {
    /// A reader of the log in `effects_dir` positioned at `from_seq` (which need not exist
    /// yet). Reads nothing until asked.
    pub fn open(effects_dir: &Path, from_seq: u64) -> LogReader {
        assert!(from_seq >= 1, "effect seqs start at 1");
        LogReader {
            dir: effects_dir.to_owned(),
            seg: None,
            next_seq: from_seq,
            paused: false,
        }
    }

    /// A reader at the first effect the log still holds (seq 1 unless retention deleted
    /// segments).
    pub fn open_first(effects_dir: &Path) -> Result<LogReader, OutboxError> {
        let first = segment::list(effects_dir)?.first().map_or(1, |(f, _)| *f);
        Ok(LogReader::open(effects_dir, first.max(1)))
    }

    /// Seq of the next frame.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The next frame if it is there, complete and valid, and its cause LSN is at most
    /// `max_cause_lsn`; `None` otherwise (for now). Does not consume it.
    pub fn peek(&mut self, max_cause_lsn: u64) -> Result<Option<FrameHead>, OutboxError> {
        if std::mem::take(&mut self.paused) && self.seg.as_ref().is_some_and(|s| s.replaced()) {
            self.seg = None;
        }
        loop {
            if self.seg.is_none() && !self.locate()? {
                return Ok(None);
            }
            let seg = self.seg.as_mut().expect("located");
            match seg.peek()? {
                Step::Frame(h) if h.seq < self.next_seq => seg.consume(),
                Step::Frame(h) => {
                    debug_assert_eq!(h.seq, self.next_seq);
                    if h.cause_lsn > max_cause_lsn {
                        self.not_yet();
                        return Ok(None);
                    }
                    return Ok(Some(h));
                }
                Step::End(end) => {
                    if !self.next_segment(end)? {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// At the end of the current segment: moves to the next one when it exists (`true`).
    fn next_segment(&mut self, end: End) -> Result<bool, OutboxError> {
        let seg = self.seg.as_mut().expect("located");
        let next_first = seg.next_seq();
        let next = self.dir.join(segment_file_name(next_first));
        if next_first == seg.first_seq() || !next.exists() {
            self.not_yet();
            return Ok(false);
        }
        if let End::Invalid(what) = end {
            return Err(OutboxError::corrupt(seg.path(), seg.offset(), what));
        }
        if end == End::Incomplete {
            return Err(OutboxError::corrupt(
                seg.path(),
                seg.offset(),
                "an incomplete frame ends a segment that has a successor",
            ));
        }
        self.seg = Some(SegmentReader::open(&next, next_first)?);
        Ok(true)
    }

    /// Nothing (more) to read for now: the next read reads the file again, and finds the
    /// segment again if it was deleted or replaced meanwhile (retention, or a writer that cut
    /// effects of records the journal lost when it reopened). A frame this reader did not
    /// consume was above the durable LSN, so it can only be read on once the durable LSN has
    /// risen past it, which a reopened writer does only after any such cut: the check at the
    /// next read, after the caller read the durable LSN, sees the cut.
    fn not_yet(&mut self) {
        self.seg.as_mut().expect("located").forget();
        self.paused = true;
    }

    /// Opens the segment that holds (or will hold) `next_seq`; `false` when the log has none.
    fn locate(&mut self) -> Result<bool, OutboxError> {
        let listed = segment::list(&self.dir)?;
        let Some((first, _)) = listed.first() else {
            return Ok(false);
        };
        if *first > self.next_seq {
            return Err(OutboxError::Gone {
                dir: self.dir.clone(),
                seq: self.next_seq,
                first: *first,
            });
        }
        let (first, path) = listed
            .iter()
            .rev()
            .find(|(f, _)| *f <= self.next_seq)
            .expect("the first segment qualifies");
        self.seg = Some(SegmentReader::open(path, *first)?);
        Ok(true)
    }

    /// The JSON of the frame [`Self::peek`] returned.
    pub fn json(&mut self) -> Result<&[u8], OutboxError> {
        self.seg.as_mut().expect("json() after a peek").json()
    }

    /// Moves past the frame [`Self::peek`] returned.
    pub fn consume(&mut self) {
        let seg = self.seg.as_mut().expect("consume() after a peek");
        seg.consume();
        self.next_seq += 1;
        debug_assert_eq!(seg.next_seq(), self.next_seq);
    }

    /// The next effect (see [`Self::peek`]), consumed.
    pub fn next_effect(&mut self, max_cause_lsn: u64) -> Result<Option<EffectOut>, OutboxError> {
        let Some(h) = self.peek(max_cause_lsn)? else {
            return Ok(None);
        };
        let e = h.to_effect(self.json()?);
        self.consume();
        Ok(Some(e))
    }
}
