//! [`EncodedBatch`]: entries encoded for the journal ahead of the core thread (on a producer
//! thread of the [`crate::pipeline`], or by [`crate::engine::Core`] itself), with their sums.

use rkyv::util::AlignedVec;

use crate::error::CoreError;
use crate::event::Entry;
use crate::journal::{FRAME_ALIGN_BYTES, PayloadSums, RecordKind};
use crate::record::{EntryView, encode_entry, read_own};

/// Entries encoded for the journal, back to back in one reusable 16-byte aligned buffer,
/// each with its record kind, its ingest time and its [`PayloadSums`] (CRC32C and XXH3-128,
/// computed here so the core thread does not hash payloads). Only [`EncodedBatch::push`]
/// fills it, so every payload is the journal form of a valid [`Entry`]
/// ([`crate::record::encode_entry`]: compact or rkyv-archived) and its sums are its own.
#[derive(Debug, Default)]
pub struct EncodedBatch {
    bytes: AlignedVec<16>,
    records: Vec<EncodedRecord>,
    /// The longest payload held.
    max_payload_bytes: usize,
}

#[derive(Debug, Clone, Copy)]
struct EncodedRecord {
    start: u32,
    len: u32,
    kind: RecordKind,
    ingest_us: i64,
    sums: PayloadSums,
}

/// Upper bound on the bytes of one [`EncodedBatch`] (offsets are u32).
pub const MAX_BATCH_BYTES: usize = 1 << 31;

impl EncodedBatch {
    pub fn new() -> Self {
        Self::default()
    }

    /// Empties the batch, keeping its memory.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.records.clear();
        self.max_payload_bytes = 0;
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Bytes of payload held (padding included).
    pub fn bytes_len(&self) -> usize {
        self.bytes.len()
    }

    /// The longest payload held, in bytes.
    pub fn max_payload_bytes(&self) -> usize {
        self.max_payload_bytes
    }

    /// Checks `entry` ([`crate::validate::entry`]: an invalid one is
    /// [`CoreError::Invalid`] and the batch is unchanged), serializes it (the same bytes
    /// [`crate::engine::Core::submit`] journals) and computes the payload's sums. `ingest_us`
    /// is the ingest time to journal it with.
    pub fn push(&mut self, entry: &Entry, ingest_us: i64) -> Result<(), CoreError> {
        crate::validate::entry(entry)
            .map_err(|invalid| CoreError::Invalid { index: 0, invalid })?;
        self.push_valid(entry, ingest_us)
    }

    /// [`Self::push`] for an entry the validator already passed: one that
    /// [`crate::decode::decode`] returned (it runs the validator on every event and only makes
    /// dead letters that pass it).
    pub fn push_decoded(&mut self, entry: &Entry, ingest_us: i64) -> Result<(), CoreError> {
        debug_assert_eq!(crate::validate::entry(entry), Ok(()));
        self.push_valid(entry, ingest_us)
    }

    fn push_valid(&mut self, entry: &Entry, ingest_us: i64) -> Result<(), CoreError> {
        let aligned = self.bytes.len().next_multiple_of(FRAME_ALIGN_BYTES);
        self.bytes.resize(aligned, 0);
        let start = self.bytes.len();
        // Encoded in place after the previous payloads (the bytes are those of a fresh buffer).
        let bytes = std::mem::take(&mut self.bytes);
        let (bytes, kind) =
            encode_entry(entry, bytes).map_err(|e| CoreError::Encode(e.to_string()))?;
        self.bytes = bytes;
        let end = self.bytes.len();
        if end > MAX_BATCH_BYTES {
            self.bytes.resize(start, 0);
            return Err(CoreError::Encode(format!(
                "encoded batch larger than {MAX_BATCH_BYTES} bytes"
            )));
        }
        let sums = PayloadSums::of(&self.bytes[start..end]);
        self.max_payload_bytes = self.max_payload_bytes.max(end - start);
        self.records.push(EncodedRecord {
            start: start as u32,
            len: (end - start) as u32,
            kind,
            ingest_us,
            sums,
        });
        Ok(())
    }

    /// The `i`-th payload, its record kind and its ingest time.
    pub(crate) fn record(&self, i: usize) -> (&[u8], RecordKind, i64) {
        let r = &self.records[i];
        let start = r.start as usize;
        (
            &self.bytes[start..start + r.len as usize],
            r.kind,
            r.ingest_us,
        )
    }

    /// The `i`-th entry, read in place.
    pub(crate) fn entry(&self, i: usize) -> EntryView<'_> {
        let (payload, kind, _) = self.record(i);
        // SAFETY: payloads are only ever written by `push_valid`, which encodes a valid `Entry`
        // with `encode_entry` at a 16-byte aligned offset of this 16-byte aligned buffer and
        // keeps the kind it returned; the slice is exactly those bytes and nothing else writes
        // there.
        unsafe { read_own(kind, payload) }
    }

    /// The sums of the `i`-th payload.
    pub(crate) fn sums(&self, i: usize) -> PayloadSums {
        self.records[i].sums
    }
}
