//! The writer's staging buffer: frames are built here, at the offsets mod 16 they will have in
//! the segment, applied from here (zero-copy, 16-byte aligned), and written to the segment file
//! in one `pwrite` per commit (or when the buffer is full). No page of a mapping is ever
//! written, so making the file durable never has to clean mapped pages.

use rkyv::util::AlignedVec;

use super::frame::FRAME_ALIGN_BYTES;

/// Bytes the buffer holds at most before it is written out (a bound on what one `pwrite`
/// copies; commits normally write it out long before).
pub const STAGE_BYTES_MAX: usize = 4 << 20;

/// Frames not yet written to the active segment, for offsets `base..base + len()`.
pub(crate) struct Stage {
    buf: AlignedVec<{ FRAME_ALIGN_BYTES }>,
    /// Segment offset of the buffer's first byte (frame aligned).
    base: usize,
}

impl Stage {
    pub fn new() -> Stage {
        Stage {
            buf: AlignedVec::with_capacity(STAGE_BYTES_MAX),
            base: 0,
        }
    }

    /// Segment offset of the first staged byte.
    pub fn base(&self) -> usize {
        self.base
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Whether `bytes` more fit without growing past the bound.
    pub fn fits(&self, bytes: usize) -> bool {
        self.buf.len() + bytes <= STAGE_BYTES_MAX
    }

    /// Empties the buffer; what comes next starts at segment offset `base`.
    pub fn restart(&mut self, base: usize) {
        debug_assert_eq!(base % FRAME_ALIGN_BYTES, 0);
        self.buf.clear();
        self.base = base;
    }

    /// Takes the staged bytes' buffer (the stage holds no buffer until [`Self::install`]).
    pub fn take(&mut self) -> AlignedVec<{ FRAME_ALIGN_BYTES }> {
        std::mem::take(&mut self.buf)
    }

    /// Installs an empty buffer after [`Self::take`]; what comes next starts at segment offset
    /// `base`.
    pub fn install(&mut self, mut fresh: AlignedVec<{ FRAME_ALIGN_BYTES }>, base: usize) {
        debug_assert!(
            self.buf.is_empty() && self.buf.capacity() == 0,
            "taken first"
        );
        debug_assert_eq!(base % FRAME_ALIGN_BYTES, 0);
        fresh.clear();
        if fresh.capacity() < STAGE_BYTES_MAX {
            fresh.reserve(STAGE_BYTES_MAX);
        }
        self.buf = fresh;
        self.base = base;
    }

    /// The staged bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Appends `len` zero bytes and returns them, for a frame to be written into.
    pub fn grow(&mut self, len: usize) -> &mut [u8] {
        debug_assert_eq!(len % FRAME_ALIGN_BYTES, 0);
        let at = self.buf.len();
        self.buf.resize(at + len, 0);
        &mut self.buf[at..]
    }

    /// The staged bytes at segment offsets `from..from + len`.
    pub fn at(&self, from: usize, len: usize) -> &[u8] {
        debug_assert!(from >= self.base && from + len <= self.base + self.buf.len());
        &self.buf[from - self.base..from - self.base + len]
    }
}
