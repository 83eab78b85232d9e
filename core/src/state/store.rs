//! Append-only record stores addressed by a `u32` slot.
//!
//! [`Chunked`] keeps records in chunks of [`Chunked::PER_CHUNK`] records (as many as fit in one
//! 2 MiB huge page), allocated as needed, so growing never copies the records of full chunks
//! and the capacity overhead is at most one chunk. The first chunk starts small and doubles
//! (moving its records while it is the only one) so small states stay small; every later
//! chunk is a [`FixedVec`] on its own huge-page-advised mapping (see `fixed`), which keeps
//! random access to a large state from missing the TLB.

use super::fixed::{FixedVec, HUGE_PAGE_BYTES};

/// Most records one [`Chunked`] store holds (slots are `u32`; a reference is `slot + 1`).
pub(crate) const MAX_RECORDS: usize = u32::MAX as usize;

/// The first chunk starts this small and doubles up to [`Chunked::PER_CHUNK`].
const FIRST_CAPACITY: usize = 8;

#[derive(Debug, Clone)]
pub(crate) struct Chunked<T> {
    /// Every chunk but the last is full; every chunk but the first has capacity `PER_CHUNK`.
    chunks: Vec<FixedVec<T>>,
    len: usize,
}

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Chunked {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Chunked<T> {
    /// Records per chunk: as many as fit in a huge page (at least one).
    pub(crate) const PER_CHUNK: usize = {
        match HUGE_PAGE_BYTES.checked_div(std::mem::size_of::<T>()) {
            Some(0) | None => 1,
            Some(n) => n,
        }
    };

    #[inline]
    fn place(slot: u32) -> (usize, usize) {
        let i = slot as usize;
        (i / Self::PER_CHUNK, i % Self::PER_CHUNK)
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub(crate) fn get(&self, slot: u32) -> &T {
        let (c, o) = Self::place(slot);
        &self.chunks[c].as_slice()[o]
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, slot: u32) -> &mut T {
        let (c, o) = Self::place(slot);
        &mut self.chunks[c].as_mut_slice()[o]
    }

    /// The record at `slot` when it exists.
    #[cfg(test)]
    pub(crate) fn try_get(&self, slot: u32) -> Option<&T> {
        let (c, o) = Self::place(slot);
        self.chunks.get(c)?.as_slice().get(o)
    }

    /// Appends `value` and returns its slot. Panics past `u32::MAX` records.
    pub(crate) fn push(&mut self, value: T) -> u32 {
        assert!(self.len < MAX_RECORDS, "record store full");
        let (c, _) = Self::place(self.len as u32);
        if c == self.chunks.len() {
            let cap = if c == 0 {
                FIRST_CAPACITY.min(Self::PER_CHUNK)
            } else {
                Self::PER_CHUNK
            };
            self.chunks.push(FixedVec::with_capacity(cap));
        }
        let chunk = &mut self.chunks[c];
        if chunk.len() == chunk.capacity() {
            // Only the first chunk is ever short of PER_CHUNK capacity.
            debug_assert_eq!(c, 0);
            let cap = (chunk.capacity() * 2).clamp(FIRST_CAPACITY, Self::PER_CHUNK);
            Self::regrow(chunk, cap);
        }
        chunk.push(value);
        self.len += 1;
        (self.len - 1) as u32
    }

    /// Moves the first chunk's records into a chunk of capacity `cap`.
    #[cold]
    fn regrow(chunk: &mut FixedVec<T>, cap: usize) {
        debug_assert!(cap >= chunk.len());
        let old = std::mem::replace(chunk, FixedVec::with_capacity(cap));
        for v in old.into_vec() {
            chunk.push(v);
        }
    }

    /// Allocates room for `additional` more records now (whole chunks past the first).
    pub(crate) fn reserve(&mut self, additional: usize) {
        let want = self.len.saturating_add(additional).min(u32::MAX as usize);
        if want == 0 {
            return;
        }
        if self.chunks.is_empty() {
            self.chunks.push(FixedVec::with_capacity(0));
        }
        let first_want = want.min(Self::PER_CHUNK);
        if self.chunks[0].capacity() < first_want {
            Self::regrow(&mut self.chunks[0], first_want);
        }
        let chunks = want.div_ceil(Self::PER_CHUNK);
        self.chunks
            .reserve_exact(chunks.saturating_sub(self.chunks.len()));
        while self.chunks.len() < chunks {
            self.chunks.push(FixedVec::with_capacity(Self::PER_CHUNK));
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.chunks.iter().flat_map(FixedVec::as_slice)
    }

    /// Bytes held by the store itself: every chunk by capacity, and the chunk table.
    pub(crate) fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.chunks.capacity() * size_of::<FixedVec<T>>()
            + self
                .chunks
                .iter()
                .map(|c| c.capacity() * size_of::<T>())
                .sum::<usize>()
    }
}

/// Bytes per chunk of a [`Text`] store (a power of two).
const TEXT_CHUNK_SHIFT: u32 = 17;
pub(crate) const TEXT_CHUNK: usize = 1 << TEXT_CHUNK_SHIFT;
/// Most chunks of a [`Text`] store: a reference is (chunk, offset) packed in a `u32`.
const MAX_TEXT_CHUNKS: usize = 1 << (32 - TEXT_CHUNK_SHIFT);
/// Most bytes of a [`Text`] store (4 GiB).
pub(crate) const MAX_TEXT_STORE_BYTES: usize = MAX_TEXT_CHUNKS * TEXT_CHUNK;
/// Longest string a [`Text`] store holds (an event is at most 64 KiB, so no payload string is
/// longer).
pub(crate) const MAX_TEXT: usize = u16::MAX as usize;

/// Append-only strings addressed by a `u32` reference: each stored as a 2-byte length and its
/// bytes, never across a chunk boundary. Strings are never removed (a replaced one stays
/// behind), so only strings that are rarely replaced go here: interned values, charge and
/// invoice ids, pods. At most 2^15 chunks of 128 KiB.
#[derive(Debug, Clone, Default)]
pub(crate) struct Text {
    chunks: Vec<Vec<u8>>,
}

impl Text {
    /// Stores `s` and returns its reference.
    pub(crate) fn push(&mut self, s: &str) -> u32 {
        self.push_parts(&[s.as_bytes()])
    }

    /// Stores the concatenation of `parts` as one string and returns its reference (read it
    /// back with [`Text::bytes`]).
    pub(crate) fn push_parts(&mut self, parts: &[&[u8]]) -> u32 {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        assert!(len <= MAX_TEXT, "string of {len} bytes: at most {MAX_TEXT}");
        let need = 2 + len;
        if !self.fill().fits(need) {
            assert!(self.chunks.len() < MAX_TEXT_CHUNKS, "text store full");
            // The first chunk starts small and doubles; later chunks are allocated whole.
            let cap = if self.chunks.is_empty() {
                256
            } else {
                TEXT_CHUNK
            };
            self.chunks.push(Vec::with_capacity(cap));
        }
        let c = self.chunks.len() - 1;
        let chunk = &mut self.chunks[c];
        if chunk.capacity() - chunk.len() < need {
            let cap = (chunk.capacity() * 2)
                .max(chunk.len() + need)
                .min(TEXT_CHUNK);
            chunk.reserve_exact(cap - chunk.len());
        }
        let at = chunk.len();
        chunk.extend_from_slice(&(len as u16).to_le_bytes());
        for p in parts {
            chunk.extend_from_slice(p);
        }
        // A string takes at least 2 bytes of its chunk, so no reference is u32::MAX and
        // reference + 1 never overflows.
        debug_assert!(at + need <= TEXT_CHUNK);
        ((c as u32) << TEXT_CHUNK_SHIFT) | at as u32
    }

    /// How full the store is: where the next string goes.
    pub(crate) fn fill(&self) -> TextFill {
        TextFill {
            chunks: self.chunks.len() as u64,
            last_len: self.chunks.last().map_or(0, |c| c.len() as u64),
        }
    }

    /// True when the string behind `r` is the concatenation of `parts`.
    pub(crate) fn eq_parts(&self, r: u32, parts: &[&[u8]]) -> bool {
        let mut rest = self.bytes(r);
        for p in parts {
            match rest.strip_prefix(*p) {
                Some(r) => rest = r,
                None => return false,
            }
        }
        rest.is_empty()
    }

    /// The bytes of the string behind `r`.
    #[inline]
    pub(crate) fn bytes(&self, r: u32) -> &[u8] {
        let chunk = &self.chunks[(r >> TEXT_CHUNK_SHIFT) as usize];
        let at = (r as usize) & (TEXT_CHUNK - 1);
        let len = u16::from_le_bytes([chunk[at], chunk[at + 1]]) as usize;
        &chunk[at + 2..at + 2 + len]
    }

    /// The string behind `r`.
    pub(crate) fn get(&self, r: u32) -> &str {
        std::str::from_utf8(self.bytes(r)).expect("stored from a str")
    }

    /// Bytes held: every chunk by capacity, and the chunk table.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.chunks.capacity() * std::mem::size_of::<Vec<u8>>()
            + self.chunks.iter().map(Vec::capacity).sum::<usize>()
    }
}

/// How full a [`Text`] store is: its chunks and the bytes used in the last one. The placement
/// rule of [`Text::push_parts`] is [`TextFill::fits`], so [`TextFill::place`] follows a push
/// exactly and admission can simulate a batch's strings before any is stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TextFill {
    pub chunks: u64,
    pub last_len: u64,
}

impl TextFill {
    /// True when a string taking `need` bytes (its 2-byte length included) goes into the last
    /// chunk; otherwise it starts a new one.
    #[inline]
    pub(crate) fn fits(&self, need: usize) -> bool {
        self.chunks > 0 && TEXT_CHUNK as u64 - self.last_len >= need as u64
    }

    /// Accounts for a string of `need` bytes (its length included) pushed now.
    pub(crate) fn place(&mut self, need: usize) {
        debug_assert!((2..=TEXT_CHUNK).contains(&need));
        if !self.fits(need) {
            self.chunks += 1;
            self.last_len = 0;
        }
        self.last_len += need as u64;
    }

    /// Bytes held in whole chunks (what the limit counts).
    pub(crate) fn chunk_bytes(&self) -> u64 {
        self.chunks * TEXT_CHUNK as u64
    }

    /// Where the last string ends, counting every chunk before the last as full.
    pub(crate) fn end_bytes(&self) -> u64 {
        self.chunks.saturating_sub(1) * TEXT_CHUNK as u64 + self.last_len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PER: usize = Chunked::<u64>::PER_CHUNK;

    #[test]
    fn push_get_and_capacity_overhead() {
        for n in [0usize, 1, 7, 8, 9, PER - 1, PER, PER + 1, 3 * PER + 5] {
            let mut s = Chunked::<u64>::default();
            for i in 0..n {
                assert_eq!(s.push(i as u64 * 3), i as u32);
            }
            assert_eq!(s.len(), n);
            for i in 0..n {
                assert_eq!(*s.get(i as u32), i as u64 * 3, "n {n} slot {i}");
            }
            assert_eq!(s.try_get(n as u32), None);
            assert!(s.iter().copied().eq((0..n as u64).map(|i| i * 3)), "n {n}");
            let held: usize = s.chunks.iter().map(FixedVec::capacity).sum();
            assert!(held >= n && held - n <= PER, "n {n}: {held} held");
            // Capacity overhead: at most one chunk, plus the chunk table.
            assert!(
                s.heap_bytes()
                    <= (n + PER) * 8 + s.chunks.capacity() * std::mem::size_of::<FixedVec<u64>>()
            );
            if n > 0 {
                *s.get_mut(0) = 99;
                assert_eq!(*s.get(0), 99);
            }
        }
    }

    #[test]
    fn records_never_move() {
        const CHUNK: usize = Chunked::<[u8; 40]>::PER_CHUNK;
        let mut s = Chunked::<[u8; 40]>::default();
        s.push([1; 40]);
        let first = s.get(0) as *const _;
        for _ in 0..2 * CHUNK {
            s.push([2; 40]);
        }
        let second_chunk = s.get(CHUNK as u32) as *const _;
        for _ in 0..CHUNK {
            s.push([3; 40]);
        }
        assert_eq!(s.get(CHUNK as u32) as *const _, second_chunk);
        // The first chunk grew by doubling (it may move while it is the only one); later
        // chunks sit on huge-page mappings.
        let _ = first;
        assert!(s.chunks[1..].iter().all(FixedVec::is_mapped));
    }

    #[test]
    fn reserve_allocates_ahead_and_pushes_do_not_reallocate() {
        for (have, more) in [(0usize, 5usize), (0, PER + 3), (3, 2 * PER), (PER + 1, 10)] {
            let mut s = Chunked::<u32>::default();
            for i in 0..have {
                s.push(i as u32);
            }
            s.reserve(more);
            let bytes = s.heap_bytes();
            for i in 0..more {
                s.push(i as u32);
            }
            assert_eq!(s.heap_bytes(), bytes, "have {have} more {more}");
            assert_eq!(s.len(), have + more);
        }
    }

    /// [`TextFill::place`] follows real pushes exactly, and its advance per string is at most
    /// twice the string's size (admission's fast bound relies on it).
    #[test]
    fn text_fill_simulates_pushes() {
        let mut t = Text::default();
        let mut sim = t.fill();
        assert_eq!(sim, TextFill::default());
        let lens = (0..3_000)
            .map(|i: usize| (i * 7919) % 700)
            .chain([MAX_TEXT, 0, MAX_TEXT, 5]);
        for len in lens {
            let before = sim.end_bytes();
            sim.place(len + 2);
            t.push(&"y".repeat(len));
            assert_eq!(t.fill(), sim);
            assert!(sim.end_bytes() - before <= 2 * (len as u64 + 2));
            assert!(sim.chunk_bytes() >= sim.end_bytes());
            assert_eq!(sim.chunk_bytes(), t.chunks.len() as u64 * TEXT_CHUNK as u64);
        }
    }

    #[test]
    fn text_round_trips_across_chunks() {
        let long = "x".repeat(MAX_TEXT);
        let strings: Vec<String> = ["", "a", "CH-1-1", "ü€", long.as_str(), "INV-7"]
            .iter()
            .map(|s| s.to_string())
            .chain((0..40_000).map(|i| format!("CH-{i}-{}", i % 7)))
            .chain(std::iter::once(long.clone()))
            .collect();
        let mut t = Text::default();
        let refs: Vec<u32> = strings.iter().map(|s| t.push(s)).collect();
        for (s, &r) in strings.iter().zip(&refs) {
            assert_eq!(t.get(r), s);
            assert_eq!(t.bytes(r), s.as_bytes());
        }
        let stored: usize = strings.iter().map(|s| s.len() + 2).sum();
        assert!(t.heap_bytes() >= stored);
        // Slack: the unused tail of each chunk is smaller than one string, plus the last chunk.
        assert!(t.heap_bytes() <= stored + TEXT_CHUNK * 2 + t.chunks.len() * (MAX_TEXT + 2));
    }
}
