//! Splitting an input stream (JSONL or a CloudEvents batch array) into raw events.
//!
//! [`InputReader`] reads any [`Read`] through a fixed 1 MiB buffer and fills a reusable
//! [`RawBatch`]. JSONL lines longer than [`MAX_EVENT_BYTES`] keep only their first
//! `MAX_EVENT_BYTES` bytes plus their true length (the rest is read and dropped), so memory
//! stays bounded whatever the input. If the first non-whitespace byte is `[`, the whole input
//! is one `application/cloudevents-batch+json` array (bounded at [`MAX_ARRAY_BYTES`]).
//!
//! A live stream (a producer piping events and keeping the pipe open) is read through a
//! [`PausingReader`]: it reads on a thread of its own and reports a pause in the input as
//! [`io::ErrorKind::WouldBlock`], on which [`InputReader::read_batch`] closes the batch it is
//! filling. Where a batch closes never changes the events or their order, only when they are
//! handed on.

use crate::decode::{decode, decode_truncated};
use crate::event::{Entry, MAX_EVENT_BYTES};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded};
use serde::Deserialize;
use serde::de::{Deserializer, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;
use std::io::{self, Read};
use std::thread;
use std::time::Duration;

/// Size of the reader's fixed read buffer.
pub const READ_BUFFER_BYTES: usize = 1 << 20;
/// Upper bound on a CloudEvents batch array read as a whole.
pub const MAX_ARRAY_BYTES: u64 = 1 << 30;

/// A batch of raw events stored in one reusable buffer (no allocation per event once warm).
#[derive(Debug, Default, Clone)]
pub struct RawBatch {
    bytes: Vec<u8>,
    events: Vec<Span>,
}

#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    original_len_bytes: u64,
}

/// One raw event of a [`RawBatch`]: its kept bytes and its length in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawEvent<'a> {
    /// The event's bytes, at most [`MAX_EVENT_BYTES`] when it came from an [`InputReader`].
    pub bytes: &'a [u8],
    /// Its full length in the input (larger than `bytes.len()` when the reader cut it).
    pub original_len_bytes: u64,
}

impl RawEvent<'_> {
    /// Decodes the event: a `too_large` dead letter when it was cut, else [`decode`].
    pub fn decode(&self) -> Entry {
        if self.original_len_bytes > self.bytes.len() as u64 {
            decode_truncated(self.bytes, self.original_len_bytes)
        } else {
            decode(self.bytes)
        }
    }
}

impl RawBatch {
    pub fn new() -> Self {
        Self::default()
    }

    /// Empties the batch, keeping its memory.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.events.clear();
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The `i`-th event.
    ///
    /// # Panics
    /// When `i >= self.len()`.
    pub fn get(&self, i: usize) -> RawEvent<'_> {
        self.event(self.events[i])
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = RawEvent<'_>> + '_ {
        self.events.iter().map(|&span| self.event(span))
    }

    /// Appends an event (for callers that build batches themselves). `original_len_bytes` is
    /// its length in the input; pass `bytes.len()` unless the bytes were cut.
    pub fn push(&mut self, bytes: &[u8], original_len_bytes: u64) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(bytes);
        self.events.push(Span {
            start,
            end: self.bytes.len(),
            original_len_bytes,
        });
    }

    fn event(&self, span: Span) -> RawEvent<'_> {
        RawEvent {
            bytes: &self.bytes[span.start..span.end],
            original_len_bytes: span.original_len_bytes,
        }
    }
}

/// Reads JSONL or a CloudEvents batch array from any reader, in batches.
pub struct InputReader<R: Read> {
    reader: R,
    buf: Box<[u8]>,
    /// Unconsumed input is `buf[pos..filled]`.
    pos: usize,
    filled: usize,
    /// How many bytes from `pos` are already scanned (see `detect` and `read_lines`).
    scanned: usize,
    eof: bool,
    mode: Mode,
    /// A JSONL line longer than `MAX_EVENT_BYTES` being skipped through.
    long: Option<LongLine>,
    /// Reused for the kept prefix of long lines.
    long_prefix: Vec<u8>,
    events_read: u64,
    /// An I/O error met after some events of a batch were read: reported on the next call.
    pending_error: Option<io::Error>,
    max_array_bytes: u64,
}

enum Mode {
    /// Before the first non-whitespace byte.
    Detect,
    Jsonl,
    /// Reading a batch array whole.
    ArrayReading(Vec<u8>),
    /// Handing out the elements of a valid batch array; `next` is the offset just after the
    /// `[` or the last element.
    Array {
        text: String,
        next: usize,
    },
    /// An input that starts with `[` but is not a valid JSON array: one raw event.
    Invalid(Vec<u8>),
    Done,
}

struct LongLine {
    /// Bytes of the line seen so far (its `\n` excluded).
    len: u64,
    /// Whether every byte so far is whitespace.
    blank: bool,
    /// The last byte seen (a final `\r` is not part of the event).
    last: u8,
}

/// JSON's insignificant whitespace (without `\n`, which ends a line).
fn is_blank_byte(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r')
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|&b| is_blank_byte(b))
}

impl<R: Read> InputReader<R> {
    pub fn new(reader: R) -> Self {
        InputReader {
            reader,
            buf: vec![0; READ_BUFFER_BYTES].into_boxed_slice(),
            pos: 0,
            filled: 0,
            scanned: 0,
            eof: false,
            mode: Mode::Detect,
            long: None,
            long_prefix: Vec::new(),
            events_read: 0,
            pending_error: None,
            max_array_bytes: MAX_ARRAY_BYTES,
        }
    }

    /// Lowers the bound on a batch array (default [`MAX_ARRAY_BYTES`]).
    pub fn with_max_array_bytes(mut self, max: u64) -> Self {
        self.max_array_bytes = max.min(MAX_ARRAY_BYTES);
        self
    }

    /// Input lines (or array elements) consumed so far, blank lines not counted.
    pub fn events_read(&self) -> u64 {
        self.events_read
    }

    /// Clears `batch` and fills it with up to `max_events` raw events; returns how many
    /// (0 = end of input, or `max_events` is 0).
    ///
    /// An I/O error after some events were read returns those events first and the error on
    /// the next call. A batch array larger than the bound is an `InvalidData` error.
    ///
    /// A read that fails with [`io::ErrorKind::WouldBlock`] means the input paused: the batch
    /// is returned as it is if it holds an event, else reading goes on. The reader must then
    /// block on its next read (as [`PausingReader`] does); a non-blocking reader that keeps
    /// answering `WouldBlock` would make this spin.
    pub fn read_batch(&mut self, batch: &mut RawBatch, max_events: usize) -> io::Result<usize> {
        batch.clear();
        if let Some(e) = self.pending_error.take() {
            return Err(e);
        }
        loop {
            return match self.fill_batch(batch, max_events) {
                Ok(()) => Ok(batch.len()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if batch.is_empty() {
                        continue; // nothing whole to hand on yet: wait for more input
                    }
                    Ok(batch.len())
                }
                Err(e) if !batch.is_empty() => {
                    self.pending_error = Some(e);
                    Ok(batch.len())
                }
                Err(e) => Err(e),
            };
        }
    }

    fn fill_batch(&mut self, batch: &mut RawBatch, max_events: usize) -> io::Result<()> {
        loop {
            if batch.len() >= max_events {
                return Ok(());
            }
            match self.mode {
                Mode::Detect => self.detect()?,
                Mode::Jsonl => return self.read_lines(batch, max_events),
                Mode::ArrayReading(_) => self.read_array()?,
                Mode::Array { .. } | Mode::Invalid(_) => {
                    self.array_elements(batch, max_events);
                    return Ok(());
                }
                Mode::Done => return Ok(()),
            }
        }
    }

    /// Reads into `buf[filled..]` once; sets `eof` on a zero-length read. Every caller leaves
    /// the reader's state consistent before calling, so an error (`WouldBlock` above all) can
    /// be returned at once and the same step taken again later.
    fn fill(&mut self) -> io::Result<()> {
        debug_assert!(self.filled < self.buf.len());
        loop {
            match self.reader.read(&mut self.buf[self.filled..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.filled += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Moves the unconsumed bytes to the front of the buffer.
    fn compact(&mut self) {
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.filled, 0);
            self.filled -= self.pos;
            self.pos = 0;
        }
    }

    /// Finds the first non-whitespace byte: `[` starts a batch array, anything else JSONL.
    fn detect(&mut self) -> io::Result<()> {
        loop {
            // `buf[pos..pos + scanned]` is known to be whitespace without a newline.
            let pending = &self.buf[self.pos..self.filled];
            let fresh = &pending[self.scanned..];
            if let Some(i) = fresh
                .iter()
                .position(|&b| !(is_blank_byte(b) || b == b'\n'))
            {
                let i = self.scanned + i;
                self.scanned = 0;
                if pending[i] == b'[' {
                    let mut data = Vec::new();
                    data.extend_from_slice(&pending[i..]);
                    self.pos = self.filled;
                    self.mode = Mode::ArrayReading(data);
                    self.check_array_len()?;
                } else {
                    self.mode = Mode::Jsonl;
                }
                return Ok(());
            }
            if self.eof {
                self.mode = Mode::Done;
                return Ok(());
            }
            // Only whitespace so far: complete lines of it are blank lines, drop them.
            if let Some(nl) = fresh.iter().rposition(|&b| b == b'\n') {
                self.pos += self.scanned + nl + 1;
            }
            self.scanned = self.filled - self.pos;
            self.compact();
            if self.filled == self.buf.len() {
                // A whole buffer of whitespace on one line: not an array start we can see;
                // read it as JSONL (a blank or an over-long line).
                self.mode = Mode::Jsonl;
                return Ok(());
            }
            self.fill()?;
        }
    }

    fn check_array_len(&mut self) -> io::Result<()> {
        if let Mode::ArrayReading(data) = &self.mode
            && data.len() as u64 > self.max_array_bytes
        {
            let limit = self.max_array_bytes;
            self.mode = Mode::Done;
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("CloudEvents batch array is larger than the limit of {limit} bytes"),
            ));
        }
        Ok(())
    }

    /// Reads the rest of a batch array and validates it as a whole.
    fn read_array(&mut self) -> io::Result<()> {
        while !self.eof {
            self.pos = 0;
            self.filled = 0;
            self.fill()?;
            if let Mode::ArrayReading(data) = &mut self.mode {
                data.extend_from_slice(&self.buf[..self.filled]);
            }
            self.check_array_len()?;
        }
        let Mode::ArrayReading(data) = std::mem::replace(&mut self.mode, Mode::Done) else {
            return Ok(());
        };
        self.mode = match String::from_utf8(data) {
            Ok(text) if is_json_array(&text) => Mode::Array { text, next: 1 },
            // Not a valid array: the whole input is one (malformed or too large) event.
            Ok(text) => Mode::Invalid(text.into_bytes()),
            Err(e) => Mode::Invalid(e.into_bytes()),
        };
        Ok(())
    }

    /// Hands out the elements of a validated array one by one (nothing is kept per element).
    fn array_elements(&mut self, batch: &mut RawBatch, max_events: usize) {
        match &mut self.mode {
            Mode::Invalid(data) => {
                batch.push(&data[..data.len().min(MAX_EVENT_BYTES)], data.len() as u64);
                self.events_read += 1;
                self.mode = Mode::Done;
            }
            Mode::Array { text, next } => {
                while batch.len() < max_events {
                    match next_element(text, *next) {
                        Some(Ok((element, after))) => {
                            let kept = &element[..element.len().min(MAX_EVENT_BYTES)];
                            batch.push(kept.as_bytes(), element.len() as u64);
                            self.events_read += 1;
                            *next = after;
                        }
                        Some(Err(rest)) => {
                            // Cannot happen for a validated array; never drop input anyway.
                            let rest = rest.as_bytes();
                            batch.push(&rest[..rest.len().min(MAX_EVENT_BYTES)], rest.len() as u64);
                            self.events_read += 1;
                            self.mode = Mode::Done;
                            return;
                        }
                        None => {
                            self.mode = Mode::Done;
                            return;
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn read_lines(&mut self, batch: &mut RawBatch, max_events: usize) -> io::Result<()> {
        while batch.len() < max_events {
            if self.long.is_some() {
                self.skip_long_line(batch)?;
                continue;
            }
            // `buf[pos..pos + scanned]` is known to hold no newline.
            let pending = &self.buf[self.pos..self.filled];
            if let Some(nl) = find_newline(&pending[self.scanned..]) {
                let line = &pending[..self.scanned + nl];
                self.pos += line.len() + 1;
                self.scanned = 0;
                push_line(batch, line, &mut self.events_read);
                continue;
            }
            if self.eof {
                // The last line, without a newline.
                let line = &self.buf[self.pos..self.filled];
                self.pos = self.filled;
                self.scanned = 0;
                push_line(batch, line, &mut self.events_read);
                self.mode = Mode::Done;
                return Ok(());
            }
            if pending.len() > MAX_EVENT_BYTES {
                // Too long to keep: remember its start and skip through the rest.
                self.long_prefix.clear();
                self.long_prefix
                    .extend_from_slice(&pending[..MAX_EVENT_BYTES]);
                self.long = Some(LongLine {
                    len: pending.len() as u64,
                    blank: is_blank(pending),
                    last: *pending.last().unwrap_or(&b'\n'),
                });
                self.pos = 0;
                self.filled = 0;
                self.scanned = 0;
            } else {
                self.scanned = pending.len();
                self.compact();
            }
            self.fill()?;
        }
        Ok(())
    }

    /// Consumes an over-long line up to its newline (or the end of input), then emits it.
    fn skip_long_line(&mut self, batch: &mut RawBatch) -> io::Result<()> {
        if self.pos == self.filled && !self.eof {
            self.pos = 0;
            self.filled = 0;
            self.fill()?;
            return Ok(());
        }
        let pending = &self.buf[self.pos..self.filled];
        let (chunk, done) = match find_newline(pending) {
            Some(nl) => (&pending[..nl], true),
            None => (pending, self.eof),
        };
        let Some(long) = self.long.as_mut() else {
            return Ok(());
        };
        if let Some(&last) = chunk.last() {
            long.len += chunk.len() as u64;
            long.blank &= is_blank(chunk);
            long.last = last;
        }
        self.pos += chunk.len() + usize::from(done && self.pos + chunk.len() < self.filled);
        if !done {
            return Ok(());
        }
        let long = self.long.take().unwrap_or(LongLine {
            len: 0,
            blank: true,
            last: b'\n',
        });
        let len = long.len - u64::from(long.last == b'\r');
        if !long.blank {
            let kept = self.long_prefix.len().min(len as usize);
            batch.push(&self.long_prefix[..kept], len);
            self.events_read += 1;
        }
        if self.eof && self.pos == self.filled {
            self.mode = Mode::Done;
        }
        Ok(())
    }
}

/// Bytes read at a time by a [`PausingReader`]'s thread.
pub const CHUNK_BYTES: usize = 256 << 10;
/// Chunks a [`PausingReader`]'s thread may read ahead of its consumer (memory stays bounded
/// at `(CHUNK_QUEUE + 2) * CHUNK_BYTES`).
pub const CHUNK_QUEUE: usize = 4;

/// A chunk read by the thread: the buffer and how many of its bytes were read (0: the end of
/// the input).
type Chunk = io::Result<(Vec<u8>, usize)>;

/// A reader that notices when its input pauses: a thread reads the input in chunks of up to
/// [`CHUNK_BYTES`] over a bounded queue, and once bytes were handed out, a read that finds no
/// new input within `pause` fails with [`io::ErrorKind::WouldBlock`] (once; the next read
/// waits as long as it takes). [`InputReader`] closes its batch there, so a producer that
/// writes a few events and keeps its pipe open sees them applied without waiting for a full
/// batch or the end of the input.
///
/// The bytes, and so the events, are exactly those of the input, whatever the pauses.
/// Dropping the reader before the end of the input leaves its thread blocked in `read` until
/// the input ends or the process exits (a blocking read cannot be interrupted).
pub struct PausingReader {
    chunks: Receiver<Chunk>,
    recycle: Sender<Vec<u8>>,
    /// The chunk being handed out: `current[at..len]` is unread.
    current: Vec<u8>,
    at: usize,
    len: usize,
    pause: Duration,
    /// Bytes were handed out since the last pause was reported.
    fresh: bool,
    ended: bool,
}

impl PausingReader {
    /// Starts reading `input` on a thread of its own. A `pause` of zero reports a pause
    /// whenever no chunk is waiting.
    pub fn new<R: Read + Send + 'static>(input: R, pause: Duration) -> PausingReader {
        let (tx, chunks) = bounded::<Chunk>(CHUNK_QUEUE);
        let (recycle, recycled) = bounded::<Vec<u8>>(CHUNK_QUEUE + 2);
        thread::Builder::new()
            .name("waybill-read".to_owned())
            .spawn(move || read_chunks(input, &tx, &recycled))
            .expect("spawn the input reader thread");
        PausingReader {
            chunks,
            recycle,
            current: Vec::new(),
            at: 0,
            len: 0,
            pause,
            fresh: false,
            ended: false,
        }
    }

    /// The next chunk: at most `pause` of waiting after bytes were handed out, else without
    /// limit. `Ok(false)` at the end of the input.
    fn next_chunk(&mut self) -> io::Result<bool> {
        let next = if self.fresh {
            match self.chunks.recv_timeout(self.pause) {
                Ok(c) => Ok(c),
                Err(RecvTimeoutError::Timeout) => {
                    self.fresh = false;
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                Err(RecvTimeoutError::Disconnected) => Err(()),
            }
        } else {
            self.chunks.recv().map_err(|_| ())
        };
        let Ok(chunk) = next else {
            self.ended = true;
            return Err(io::Error::other("the input reader thread stopped"));
        };
        match chunk {
            Ok((_, 0)) => {
                self.ended = true;
                Ok(false)
            }
            Ok((buf, n)) => {
                let done = std::mem::replace(&mut self.current, buf);
                let _ = self.recycle.try_send(done);
                self.at = 0;
                self.len = n;
                Ok(true)
            }
            Err(e) => {
                self.ended = true;
                Err(e)
            }
        }
    }
}

impl Read for PausingReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        while self.at == self.len {
            if self.ended || !self.next_chunk()? {
                return Ok(0);
            }
        }
        let n = out.len().min(self.len - self.at);
        out[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        self.fresh = true;
        Ok(n)
    }
}

/// The thread of a [`PausingReader`]: reads chunks until the end of the input, an error, or
/// the reader is dropped.
fn read_chunks<R: Read>(mut input: R, tx: &Sender<Chunk>, recycled: &Receiver<Vec<u8>>) {
    loop {
        let mut buf = recycled.try_recv().unwrap_or_default();
        buf.resize(CHUNK_BYTES, 0);
        let read = loop {
            match input.read(&mut buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => break other,
            }
        };
        let last = !matches!(read, Ok(n) if n > 0);
        if tx.send(read.map(|n| (buf, n))).is_err() || last {
            return;
        }
    }
}

/// Whether `text` is one valid JSON array (checked without keeping anything per element;
/// elements are skipped without a nesting limit, as [`decode`] does).
fn is_json_array(text: &str) -> bool {
    struct Skip;
    impl<'de> Visitor<'de> for Skip {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON array")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element::<&RawValue>()?.is_some() {}
            Ok(())
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    de.deserialize_seq(Skip).and_then(|()| de.end()).is_ok()
}

/// The element of a valid JSON array starting at or after `at` (just after `[` or the previous
/// element), with the offset just after it; `None` at the closing `]`. `Err` with the rest of
/// the text if it does not parse (not expected after [`is_json_array`]).
fn next_element(text: &str, at: usize) -> Option<Result<(&str, usize), &str>> {
    let bytes = text.as_bytes();
    let skip_ws = |mut i: usize| {
        while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b'\r' | b'\n') {
            i += 1;
        }
        i
    };
    let mut i = skip_ws(at);
    match bytes.get(i) {
        Some(b']') | None => return None,
        Some(b',') => i = skip_ws(i + 1),
        Some(_) => {}
    }
    let rest = text.get(i..)?;
    let mut de = serde_json::Deserializer::from_str(rest);
    match <&RawValue>::deserialize(&mut de) {
        Ok(raw) => {
            let element = raw.get();
            let start = element.as_ptr() as usize - text.as_ptr() as usize;
            Some(Ok((element, start + element.len())))
        }
        Err(_) => Some(Err(rest)),
    }
}

/// Adds a JSONL line (without its `\n`) unless it is blank; strips one trailing `\r`. Keeps
/// at most `MAX_EVENT_BYTES` of it, with its true length.
fn push_line(batch: &mut RawBatch, line: &[u8], events_read: &mut u64) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if is_blank(line) {
        return;
    }
    batch.push(&line[..line.len().min(MAX_EVENT_BYTES)], line.len() as u64);
    *events_read += 1;
}

/// The index of the first `\n`, eight bytes at a time.
fn find_newline(haystack: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const NL: u64 = LO * b'\n' as u64;
    let mut chunks = haystack.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ NL;
        // The lowest flagged byte is always a real zero byte (borrows only move upward).
        let found = x.wrapping_sub(LO) & !x & HI;
        if found != 0 {
            return Some(offset + (found.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| offset + i)
}

#[cfg(test)]
mod tests {
    use super::find_newline;

    #[test]
    fn finds_newlines() {
        for len in 0..40 {
            for at in 0..len {
                let mut v = vec![b'x'; len];
                v[at] = b'\n';
                if at + 3 < len {
                    v[at + 3] = b'\n';
                }
                assert_eq!(find_newline(&v), Some(at));
            }
            assert_eq!(find_newline(&vec![0x8a; len]), None);
            assert_eq!(find_newline(&vec![0x0b; len]), None);
        }
    }
}
