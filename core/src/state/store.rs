//! Append-only record stores addressed by a `u32` slot.
//!
//! [`Chunked`] keeps records in chunks that are allocated as the store grows and never move,
//! so growing never copies a record and a reference (a slot) stays valid for the life of the
//! store. Chunk sizes are geometric up to one huge page, then constant:
//!
//! - the first [`Chunked::PER_CHUNK`] slots (as many records as fit in a 2 MiB huge page) lie
//!   in *small* chunks from the global allocator, in classes of [`CLASS_CHUNKS`] chunks each:
//!   class `k`'s chunks hold `FIRST_CHUNK << k` records (the last one cut at `PER_CHUNK`). A
//!   new chunk is therefore at most about `1 / CLASS_CHUNKS` of what the store holds, so a
//!   small store holds little more than its records;
//! - every later chunk holds `PER_CHUNK` records on its own huge-page-advised mapping (see
//!   `fixed`), which keeps random access to a large state from missing the TLB. The next one is
//!   prepared off the writer thread (`spare`) once the current one is three quarters full, so
//!   the kernel clears its pages there, not on the writer; when it is not ready in time the
//!   chunk is allocated inline (the writer never waits).
//!
//! A slot's chunk is computed, never searched: past the small chunks a division by the
//! constant `PER_CHUNK`; below, the class is the position of the highest bit of
//! `slot + CLASS_CHUNKS * FIRST_CHUNK` (see [`Chunked::place_small`]).

use super::StoreBytes;
use super::fixed::{FixedVec, HUGE_PAGE_BYTES};
use super::spare::Spare;

/// Most records one [`Chunked`] store holds (slots are `u32`; a reference is `slot + 1`).
pub(crate) const MAX_RECORDS: usize = u32::MAX as usize;

/// Records of the first small chunk (a power of two).
const FIRST_CHUNK_SHIFT: u32 = 3;
/// Small chunks per size class (a power of two): a new chunk is at most about
/// `1 / CLASS_CHUNKS` of the store's capacity.
const CLASS_CHUNKS_SHIFT: u32 = 3;
pub(crate) const CLASS_CHUNKS: usize = 1 << CLASS_CHUNKS_SHIFT;
/// The fill of a large chunk (in records, out of `PER_CHUNK`) at which the next one is asked
/// for: three quarters.
const SPARE_AT_NUM: usize = 3;
const SPARE_AT_DEN: usize = 4;

#[derive(Debug, Clone)]
pub(crate) struct Chunked<T> {
    /// The small chunks (`SMALL_CHUNKS` of them once the store has `PER_CHUNK` records), then
    /// the large ones. Every chunk but the last is full.
    chunks: Vec<FixedVec<T>>,
    len: usize,
    /// The next large chunk, being prepared off the writer thread (a clone asks for none).
    spare: Spare<FixedVec<T>>,
}

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Chunked {
            chunks: Vec::new(),
            len: 0,
            spare: Spare::default(),
        }
    }
}

impl<T> Chunked<T> {
    /// Records per large chunk: as many as fit in a huge page (at least one). The small chunks
    /// hold the first `PER_CHUNK` slots.
    pub(crate) const PER_CHUNK: usize = {
        match HUGE_PAGE_BYTES.checked_div(std::mem::size_of::<T>()) {
            Some(0) | None => 1,
            Some(n) => n,
        }
    };

    /// The slot (modulo `PER_CHUNK`) whose push asks for the next large chunk.
    const SPARE_AT: usize = Self::PER_CHUNK / SPARE_AT_DEN * SPARE_AT_NUM;

    /// How many small chunks hold the first `PER_CHUNK` slots.
    const SMALL_CHUNKS: usize = {
        let mut c = 0;
        while Self::small_start(c) < Self::PER_CHUNK {
            c += 1;
        }
        c
    };

    /// The first slot of small chunk `c` (where it would start, past `PER_CHUNK` too).
    const fn small_start(c: usize) -> usize {
        let k = (c >> CLASS_CHUNKS_SHIFT) as u32;
        let class_start = ((1 << k) - 1) << (CLASS_CHUNKS_SHIFT + FIRST_CHUNK_SHIFT);
        class_start + ((c & (CLASS_CHUNKS - 1)) << (FIRST_CHUNK_SHIFT + k))
    }

    /// Records chunk `c` holds.
    fn chunk_capacity(c: usize) -> usize {
        if c < Self::SMALL_CHUNKS {
            let size = 1 << (FIRST_CHUNK_SHIFT + (c >> CLASS_CHUNKS_SHIFT) as u32);
            size.min(Self::PER_CHUNK - Self::small_start(c))
        } else {
            Self::PER_CHUNK
        }
    }

    /// (chunk, offset) of `slot`.
    #[inline]
    fn place(slot: u32) -> (usize, usize) {
        let s = slot as usize;
        if s >= Self::PER_CHUNK {
            (
                Self::SMALL_CHUNKS - 1 + s / Self::PER_CHUNK,
                s % Self::PER_CHUNK,
            )
        } else {
            Self::place_small(s)
        }
    }

    /// (chunk, offset) of a slot below `PER_CHUNK`. With `u = slot + CLASS_CHUNKS *
    /// FIRST_CHUNK` and `b` its highest bit, the class is `b - log2(CLASS_CHUNKS *
    /// FIRST_CHUNK)`, and `u` without that bit counts the slots before it in its class.
    #[inline]
    fn place_small(s: usize) -> (usize, usize) {
        debug_assert!(s < Self::PER_CHUNK);
        let u = s + (1 << (CLASS_CHUNKS_SHIFT + FIRST_CHUNK_SHIFT));
        let b = usize::BITS - 1 - u.leading_zeros();
        let k = (b - CLASS_CHUNKS_SHIFT - FIRST_CHUNK_SHIFT) as usize;
        let in_class = u - (1 << b);
        let size_shift = b - CLASS_CHUNKS_SHIFT;
        let c = (k << CLASS_CHUNKS_SHIFT) + (in_class >> size_shift);
        (c, in_class & ((1 << size_shift) - 1))
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

    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.chunks.iter().flat_map(FixedVec::as_slice)
    }

    /// The records, chunk by chunk, in slot order (what a snapshot writes).
    pub(crate) fn parts(&self) -> impl Iterator<Item = &[T]> + Clone + '_ {
        self.chunks.iter().map(FixedVec::as_slice)
    }

    /// What the store holds (as `heap_bytes`) and uses (its records).
    pub(crate) fn store_bytes(&self, store: &'static str) -> StoreBytes {
        StoreBytes {
            store,
            held_bytes: self.heap_bytes(),
            used_bytes: self.len * std::mem::size_of::<T>(),
        }
    }

    /// Bytes held by the store itself: every chunk by capacity, and the chunk table (not a
    /// spare chunk being prepared: see [`Chunked::spare_bytes`]).
    pub(crate) fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.chunks.capacity() * size_of::<FixedVec<T>>()
            + self
                .chunks
                .iter()
                .map(|c| c.capacity() * size_of::<T>())
                .sum::<usize>()
    }

    /// Bytes of the spare chunk asked for and not taken yet (prepared or being prepared).
    pub(crate) fn spare_bytes(&self) -> usize {
        self.spare.pending_bytes()
    }
}

impl<T: Send + 'static> Chunked<T> {
    /// Appends `value` and returns its slot. Panics past `u32::MAX` records.
    #[inline]
    pub(crate) fn push(&mut self, value: T) -> u32 {
        assert!(self.len < MAX_RECORDS, "record store full");
        let slot = self.len as u32;
        let (c, o) = Self::place(slot);
        if c == self.chunks.len() {
            debug_assert_eq!(o, 0, "a chunk is added for its first slot");
            self.add_chunk();
        }
        self.chunks[c].push(value);
        self.len += 1;
        // The small chunks hold the first PER_CHUNK slots, so this is the fill level of the
        // first large chunk's predecessor too.
        if slot as usize % Self::PER_CHUNK == Self::SPARE_AT {
            self.ask_spare();
        }
        slot
    }

    /// Adds the next chunk: the spare when it is ready, else a new one.
    #[cold]
    fn add_chunk(&mut self) {
        let c = self.chunks.len();
        let cap = Self::chunk_capacity(c);
        let spare = if c >= Self::SMALL_CHUNKS {
            self.spare.take()
        } else {
            None
        };
        let chunk = spare.unwrap_or_else(|| FixedVec::with_capacity(cap));
        debug_assert_eq!(chunk.capacity(), cap);
        self.chunks.push(chunk);
    }

    /// Asks for the next large chunk to be prepared off this thread (when it would be mapped:
    /// a chunk from the allocator takes no large clearing at once).
    #[cold]
    fn ask_spare(&mut self) {
        if FixedVec::<T>::would_map(Self::PER_CHUNK) {
            let bytes = Self::PER_CHUNK * std::mem::size_of::<T>();
            self.spare.request(bytes, || {
                FixedVec::with_capacity_prefaulted(Self::PER_CHUNK)
            });
        }
    }

    /// A store holding copies of `records` at slots `0..records.len()`, chunked exactly as
    /// pushing them one by one would chunk them (what a snapshot loads).
    pub(crate) fn from_records(records: &[T]) -> Chunked<T>
    where
        T: Copy,
    {
        assert!(records.len() <= MAX_RECORDS, "record store full");
        let mut store = Chunked::default();
        store.reserve(records.len());
        let mut rest = records;
        for chunk in &mut store.chunks {
            let (head, tail) = rest.split_at(rest.len().min(chunk.capacity()));
            chunk.extend_from_slice(head);
            rest = tail;
        }
        debug_assert!(rest.is_empty());
        store.len = records.len();
        debug_assert_eq!(store.iter().count(), records.len());
        store
    }

    /// Allocates room for `additional` more records now (every chunk up to there).
    pub(crate) fn reserve(&mut self, additional: usize) {
        let want = self.len.saturating_add(additional).min(MAX_RECORDS);
        if want == 0 {
            return;
        }
        let (last, _) = Self::place((want - 1) as u32);
        self.chunks
            .reserve_exact((last + 1).saturating_sub(self.chunks.len()));
        while self.chunks.len() <= last {
            self.add_chunk();
        }
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

    /// The bytes of each chunk, in order (with [`Self::from_chunks`], what a snapshot holds).
    pub(crate) fn chunk_bytes(&self) -> impl Iterator<Item = &[u8]> + Clone + '_ {
        self.chunks.iter().map(Vec::as_slice)
    }

    /// A store of chunks holding `bytes` cut at `lens` (as [`Self::chunk_bytes`] gave them).
    /// Every reference into the store it was taken from stays valid.
    pub(crate) fn from_chunks(lens: &[u32], bytes: &[u8]) -> Result<Text, String> {
        if lens.len() > MAX_TEXT_CHUNKS {
            return Err(format!(
                "{} text chunks, at most {MAX_TEXT_CHUNKS}",
                lens.len()
            ));
        }
        let mut chunks = Vec::with_capacity(lens.len());
        let mut rest = bytes;
        for (i, &len) in lens.iter().enumerate() {
            let len = len as usize;
            if len > TEXT_CHUNK || len > rest.len() || (len == 0 && i + 1 < lens.len()) {
                return Err(format!("text chunk {i} of {len} bytes does not fit"));
            }
            let (head, tail) = rest.split_at(len);
            // The last chunk keeps room to grow as a pushed one would; full ones hold no slack.
            let cap = if i + 1 == lens.len() {
                TEXT_CHUNK.min(len.max(256))
            } else {
                len
            };
            let mut chunk = Vec::with_capacity(cap);
            chunk.extend_from_slice(head);
            chunks.push(chunk);
            rest = tail;
        }
        if !rest.is_empty() {
            return Err(format!("{} text bytes past the last chunk", rest.len()));
        }
        Ok(Text { chunks })
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

    /// True when `r` is a string's reference that lies wholly inside the store (a check for
    /// references read from outside, such as a snapshot's).
    pub(crate) fn holds(&self, r: u32) -> bool {
        let Some(chunk) = self.chunks.get((r >> TEXT_CHUNK_SHIFT) as usize) else {
            return false;
        };
        let at = (r as usize) & (TEXT_CHUNK - 1);
        match chunk.get(at..at + 2) {
            Some(l) => at + 2 + u16::from_le_bytes([l[0], l[1]]) as usize <= chunk.len(),
            None => false,
        }
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

    /// Bytes of the strings stored, their lengths included.
    pub(crate) fn used_bytes(&self) -> usize {
        self.chunks.iter().map(Vec::len).sum()
    }

    /// What the store holds (as `heap_bytes`) and uses (its strings).
    pub(crate) fn store_bytes(&self, store: &'static str) -> StoreBytes {
        StoreBytes {
            store,
            held_bytes: self.heap_bytes(),
            used_bytes: self.used_bytes(),
        }
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

    /// The chunk schedule of `T`: small chunks tile the first `PER_CHUNK` slots exactly, each
    /// class has `CLASS_CHUNKS` chunks of twice the size of the class before, and `place`
    /// walks every chunk's offsets in order, for slots into the third large chunk.
    fn check_schedule<T>() {
        let per = Chunked::<T>::PER_CHUNK;
        let small = Chunked::<T>::SMALL_CHUNKS;
        let tiled: usize = (0..small).map(Chunked::<T>::chunk_capacity).sum();
        assert_eq!(tiled, per, "{}", std::any::type_name::<T>());
        for c in 0..small {
            let size = 1 << (FIRST_CHUNK_SHIFT + (c / CLASS_CHUNKS) as u32);
            let cap = Chunked::<T>::chunk_capacity(c);
            assert!(cap > 0 && cap <= size, "chunk {c}");
            assert!(
                cap == size || c == small - 1,
                "only the last small chunk is cut"
            );
        }
        let (mut chunk, mut offset) = (0, 0);
        for slot in 0..(3 * per + 7).min(u32::MAX as usize) {
            if offset == Chunked::<T>::chunk_capacity(chunk) {
                (chunk, offset) = (chunk + 1, 0);
            }
            assert_eq!(
                Chunked::<T>::place(slot as u32),
                (chunk, offset),
                "{} slot {slot}",
                std::any::type_name::<T>()
            );
            offset += 1;
        }
        assert_eq!(chunk, small - 1 + (3 * per + 6) / per);
    }

    #[test]
    fn chunks_tile_the_slots() {
        check_schedule::<u8>();
        check_schedule::<u32>();
        check_schedule::<u64>();
        check_schedule::<[u8; 40]>();
        check_schedule::<[u8; 92]>();
        check_schedule::<[u8; 128]>();
        check_schedule::<[u8; 100_000]>(); // 20 records per huge page: one small class
        check_schedule::<[u8; 3 << 20]>(); // larger than a huge page: one record per chunk
    }

    #[test]
    fn push_get_and_capacity_overhead() {
        for n in [
            0usize,
            1,
            7,
            8,
            9,
            65,
            1000,
            PER - 1,
            PER,
            PER + 1,
            3 * PER + 5,
        ] {
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
            // Slack: only the last chunk has room, and it is at most 2 / CLASS_CHUNKS of the
            // chunks before it (a first chunk, or a huge page's worth, when larger).
            let held: usize = s.chunks.iter().map(FixedVec::capacity).sum();
            let last = s.chunks.last().map_or(0, FixedVec::capacity);
            let room = (held - last) * 2 / CLASS_CHUNKS;
            assert!(held >= n, "n {n}");
            assert!(
                held - n < last
                    && last
                        <= room
                            .max(1 << FIRST_CHUNK_SHIFT)
                            .max(PER * (n > PER) as usize)
                    || n == 0,
                "n {n}: {held} held, last chunk {last}"
            );
            assert_eq!(
                s.heap_bytes(),
                held * 8 + s.chunks.capacity() * std::mem::size_of::<FixedVec<u64>>()
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
        let mut seen = Vec::new();
        for i in 0..3 * CHUNK {
            let slot = s.push([i as u8; 40]);
            if slot % 97 == 0 {
                seen.push((slot, s.get(slot) as *const [u8; 40]));
            }
        }
        for &(slot, at) in &seen {
            assert_eq!(s.get(slot) as *const _, at, "slot {slot}");
            assert_eq!(*s.get(slot), [slot as u8; 40]);
        }
        // Past the small chunks, chunks sit on huge-page mappings.
        let small = Chunked::<[u8; 40]>::SMALL_CHUNKS;
        assert!(s.chunks[..small].iter().all(|c| !c.is_mapped()));
        assert!(s.chunks[small..].iter().all(FixedVec::is_mapped));
    }

    /// Three quarters into a chunk, the next one is asked for off this thread; once it is ready
    /// it becomes the next chunk, with its pages already faulted in.
    #[test]
    fn the_next_large_chunk_is_prepared_ahead() {
        type R = [u8; 40];
        const PER: usize = Chunked::<R>::PER_CHUNK;
        const AT: usize = Chunked::<R>::SPARE_AT;
        let pages = (PER * 40).div_ceil(4096);
        let mut s = Chunked::<R>::default();
        for round in 0..3 {
            let base = round * PER;
            // Up to three quarters of the chunk (of the small chunks in round 0), nothing.
            while s.len() < base + AT {
                assert_eq!(s.spare_bytes(), 0, "slot {}", s.len());
                s.push([round as u8; 40]);
            }
            s.push([round as u8; 40]);
            assert_eq!(s.spare_bytes(), PER * 40, "asked for at slot {}", base + AT);
            // The test waits so it does not depend on the preparing thread's speed; the
            // writer never does (see `spare`).
            s.spare.wait_ready();
            while s.len() < base + PER + 1 {
                s.push([round as u8; 40]);
            }
            assert_eq!((s.spare_bytes(), s.spare.taken), (0, round + 1), "taken");
            let chunk = s.chunks.last().expect("a chunk");
            assert_eq!(chunk.as_slice().len(), 1);
            assert!(chunk.is_mapped());
            assert_eq!(
                chunk.resident_pages(),
                pages,
                "prefaulted, though one record is in"
            );
        }
        assert!(
            s.iter()
                .enumerate()
                .all(|(i, r)| r[0] as usize == i.saturating_sub(1) / PER)
        );
    }

    /// When the spare is not ready the chunk is made inline, and the request stays for the
    /// chunk after.
    #[test]
    fn a_spare_not_ready_is_not_waited_for() {
        type R = [u8; 40];
        const PER: usize = Chunked::<R>::PER_CHUNK;
        let mut s = Chunked::<R>::default();
        let (release, gate) = crossbeam_channel::bounded::<()>(0);
        // Hold the preparing thread at a gate, so the spare cannot be ready in time.
        let mut blocker = Spare::<()>::default();
        blocker.request(0, move || gate.recv().expect("released"));
        for i in 0..PER + 1 {
            s.push([i as u8; 40]);
        }
        assert!(
            s.spare.is_pending() && !s.spare.is_ready(),
            "still asked for"
        );
        let chunk = s.chunks.last().expect("a chunk");
        assert_eq!(chunk.as_slice().len(), 1, "made inline");
        release.send(()).expect("the gate is waited at");
        s.spare.wait_ready();
        for i in PER + 1..2 * PER + 1 {
            s.push([i as u8; 40]);
        }
        assert!(!s.spare.is_pending(), "taken by the next chunk");
        assert_eq!(s.spare.taken, 1);
        assert_eq!(s.len(), 2 * PER + 1);
        assert!(s.iter().enumerate().all(|(i, r)| r[0] == i as u8));
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
