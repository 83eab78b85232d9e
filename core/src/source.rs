//! Sources (`<system>/<name>`) interned to small ids, and the last-writer-wins key of docs/state.md
//! (merge rules).
//!
//! Interned ids depend on arrival order, so they never reach output, a digest or an ordering
//! decision by themselves: [`EventKey::cmp`] compares sources by their bytes.
//!
//! The interner is on the hot path (once per event), so its index is a small open-addressing
//! table (at most half full) of 32-byte slots: three words that hold a name of up to 24 bytes
//! whole, the id and the length. A lookup loads those words from the name, hashes them (two
//! multiplies; a loop only past 24 bytes), probes linearly and compares within the slot, so a
//! hit on a typical source (`fleet/truck-12345`) touches one cache line of the table and never
//! the name's heap copy. Hash values only place ids in the table: they never reach an id, an
//! ordering or output, and the table is never iterated in an order that matters (growth
//! re-places every slot).

use crate::snapshot::format::{SectionReader, SectionWriter, SnapshotDefect, defect};
use std::cmp::Ordering;

/// Upper bound on distinct sources one core tracks (one per vehicle, ERP instance, ...).
pub const MAX_SOURCES: usize = 1 << 24;

/// A source's index in [`Sources`]. Only meaningful together with the `Sources` that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId(pub u32);

/// One slot of the index. `len == u32::MAX` marks an empty slot.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(32))]
struct Slot {
    /// The name's [`words`].
    words: [u64; 3],
    id: u32,
    len: u32,
}

const _: () = assert!(std::mem::size_of::<Slot>() == 32);

const EMPTY: Slot = Slot {
    words: [0; 3],
    id: 0,
    len: u32::MAX,
};

/// Names up to this long are held whole by their [`words`]; longer ones compare the rest
/// against their copy in `names`.
const WORDS_BYTES: usize = 24;

#[inline]
fn first8(b: &[u8]) -> u64 {
    u64::from_le_bytes(*b.first_chunk::<8>().expect("8 bytes"))
}

#[inline]
fn last8(b: &[u8]) -> u64 {
    u64::from_le_bytes(*b.last_chunk::<8>().expect("8 bytes"))
}

#[inline]
fn first4(b: &[u8]) -> u64 {
    u64::from(u32::from_le_bytes(*b.first_chunk::<4>().expect("4 bytes")))
}

#[inline]
fn last4(b: &[u8]) -> u64 {
    u64::from(u32::from_le_bytes(*b.last_chunk::<4>().expect("4 bytes")))
}

/// Three words that, together with the length, determine a name of up to [`WORDS_BYTES`]
/// bytes exactly (overlapping loads), and the first 24 bytes of a longer one.
#[inline]
fn words(b: &[u8]) -> [u64; 3] {
    let n = b.len();
    if n > WORDS_BYTES {
        [first8(b), first8(&b[8..]), first8(&b[16..])]
    } else if n > 16 {
        [first8(b), first8(&b[8..]), last8(b)]
    } else if n >= 8 {
        [first8(b), last8(b), 0]
    } else if n >= 4 {
        [first4(b), last4(b), 0]
    } else if n > 0 {
        [
            u64::from(b[0]) | (u64::from(b[n / 2]) << 8) | (u64::from(b[n - 1]) << 16),
            0,
            0,
        ]
    } else {
        [0, 0, 0]
    }
}

#[inline]
fn mix(a: u64, b: u64) -> u64 {
    let p = u128::from(a).wrapping_mul(u128::from(b));
    (p as u64) ^ ((p >> 64) as u64)
}

/// A fast, fixed (unseeded) 64-bit hash of a name from its words (wyhash-style folded
/// multiplies). Fixed so that runs are reproducible; it only places ids in the table.
#[inline]
fn hash_name(b: &[u8], w: [u64; 3]) -> u64 {
    const K0: u64 = 0xa076_1d64_78bd_642f;
    const K1: u64 = 0xe703_7ed1_a0b4_28db;
    const K3: u64 = 0x5899_65cc_7537_4cc3;
    let n = b.len() as u64;
    let mut h = mix(w[0] ^ K0, w[1] ^ K1 ^ n.rotate_left(32));
    h = mix(h ^ K3, w[2] ^ K0);
    if b.len() > WORDS_BYTES {
        h = hash_tail(&b[WORDS_BYTES..], h);
    }
    h
}

#[cold]
fn hash_tail(mut b: &[u8], mut h: u64) -> u64 {
    const K2: u64 = 0x8ebc_6af0_9c88_c6e3;
    while let Some((chunk, rest)) = b.split_first_chunk::<8>() {
        h = mix(u64::from_le_bytes(*chunk) ^ K2, h ^ K2.rotate_left(17));
        b = rest;
    }
    for &byte in b {
        h = mix(u64::from(byte) ^ K2, h);
    }
    h
}

/// The interner: source name <-> [`SourceId`].
#[derive(Debug, Clone)]
pub struct Sources {
    names: Vec<Box<str>>,
    /// Open addressing with linear probing; a power of two long, at most 7/8 full.
    slots: Vec<Slot>,
}

impl Default for Sources {
    fn default() -> Self {
        Sources {
            names: Vec::new(),
            slots: vec![EMPTY; 16],
        }
    }
}

impl Sources {
    pub fn new() -> Self {
        Self::default()
    }

    /// The table position of `name` (its slot, or the empty slot where it would go).
    #[inline]
    fn find(&self, name: &[u8], hash: u64, w: [u64; 3]) -> (usize, bool) {
        let mask = self.slots.len() - 1;
        let mut i = (hash as usize) & mask;
        loop {
            let s = &self.slots[i];
            if s.len == u32::MAX {
                return (i, false);
            }
            if s.words == w
                && s.len as usize == name.len()
                && (name.len() <= WORDS_BYTES
                    || self.names[s.id as usize].as_bytes()[WORDS_BYTES..] == name[WORDS_BYTES..])
            {
                return (i, true);
            }
            i = (i + 1) & mask;
        }
    }

    /// The id of `name`, adding it on first sight.
    ///
    /// # Panics
    /// When more than [`MAX_SOURCES`] distinct sources are seen (a limit, not a state to recover).
    #[inline]
    pub fn intern(&mut self, name: &str) -> SourceId {
        let bytes = name.as_bytes();
        let w = words(bytes);
        let hash = hash_name(bytes, w);
        let (i, found) = self.find(bytes, hash, w);
        if found {
            return SourceId(self.slots[i].id);
        }
        self.insert_new(name, hash, w, i)
    }

    #[cold]
    #[inline(never)]
    fn insert_new(&mut self, name: &str, hash: u64, w: [u64; 3], mut i: usize) -> SourceId {
        assert!(
            self.names.len() < MAX_SOURCES,
            "more than {MAX_SOURCES} sources"
        );
        // At most half full: short probe sequences on hits and misses.
        if (self.names.len() + 1) * 2 > self.slots.len() {
            self.grow();
            i = self.find(name.as_bytes(), hash, w).0;
        }
        let id = SourceId(self.names.len() as u32);
        self.names.push(name.into());
        self.slots[i] = Slot {
            words: w,
            id: id.0,
            len: name.len() as u32,
        };
        id
    }

    fn grow(&mut self) {
        let len = self.slots.len() * 2;
        let old = std::mem::replace(&mut self.slots, vec![EMPTY; len]);
        let mask = len - 1;
        for s in old.into_iter().filter(|s| s.len != u32::MAX) {
            let name = self.names[s.id as usize].as_bytes();
            let mut i = (hash_name(name, s.words) as usize) & mask;
            while self.slots[i].len != u32::MAX {
                i = (i + 1) & mask;
            }
            self.slots[i] = s;
        }
    }

    /// Writes the names in id order by their bytes (sections `sources.lens`, `sources.names`).
    pub(crate) fn write_image(&self, w: &mut SectionWriter) -> std::io::Result<()> {
        let lens: Vec<u32> = self.names.iter().map(|n| n.len() as u32).collect();
        w.section("sources.lens", &lens)?;
        w.parts("sources.names", self.names.iter().map(|n| n.as_bytes()))
    }

    /// The sources [`Self::write_image`] wrote, interned again in id order: each name gets
    /// the id it had.
    pub(crate) fn read_image(r: &mut SectionReader<'_>) -> Result<Sources, SnapshotDefect> {
        let lens = r.section::<u32>("sources.lens")?;
        let mut bytes = r.section::<u8>("sources.names")?;
        if lens.len() > MAX_SOURCES {
            return Err(defect(
                0,
                format!("{} sources, at most {MAX_SOURCES}", lens.len()),
            ));
        }
        let mut sources = Sources::new();
        for (i, &len) in lens.iter().enumerate() {
            let Some((name, rest)) = bytes.split_at_checked(len as usize) else {
                return Err(defect(0, format!("source {i} is cut off")));
            };
            let name = std::str::from_utf8(name)
                .map_err(|_| defect(0, format!("source {i} is not UTF-8")))?;
            if sources.intern(name) != SourceId(i as u32) {
                return Err(defect(0, format!("source {name:?} is listed twice")));
            }
            bytes = rest;
        }
        if !bytes.is_empty() {
            return Err(defect(0, "bytes after the last source name"));
        }
        Ok(sources)
    }

    /// Starts loading the table slot where the lookup of `name` begins (the whole probe, for
    /// a hit in a table at most half full, almost always). Changes nothing but what is in
    /// cache.
    #[inline]
    pub fn prefetch(&self, name: &str) {
        let bytes = name.as_bytes();
        let at = (hash_name(bytes, words(bytes)) as usize) & (self.slots.len() - 1);
        crate::cache::prefetch(&self.slots[at]);
    }

    pub fn get(&self, name: &str) -> Option<SourceId> {
        let bytes = name.as_bytes();
        let w = words(bytes);
        let (i, found) = self.find(bytes, hash_name(bytes, w), w);
        found.then(|| SourceId(self.slots[i].id))
    }

    pub fn name(&self, id: SourceId) -> &str {
        &self.names[id.0 as usize]
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Sources compare as byte strings (docs/state.md, merge rules).
    pub fn cmp(&self, a: SourceId, b: SourceId) -> Ordering {
        if a == b {
            Ordering::Equal
        } else {
            self.name(a).as_bytes().cmp(self.name(b).as_bytes())
        }
    }
}

/// The last-writer-wins key of an event: (`time`, `source`, `sequence`), compared in that
/// order, sources as byte strings, sequences as integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventKey {
    pub time_us: i64,
    pub source: SourceId,
    pub sequence: u64,
}

impl EventKey {
    pub fn cmp(&self, other: &EventKey, sources: &Sources) -> Ordering {
        self.time_us
            .cmp(&other.time_us)
            .then_with(|| sources.cmp(self.source, other.source))
            .then_with(|| self.sequence.cmp(&other.sequence))
    }

    /// True when `self` beats `other` (strictly greater key).
    pub fn beats(&self, other: &EventKey, sources: &Sources) -> bool {
        self.cmp(other, sources) == Ordering::Greater
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_order_by_time_then_source_bytes_then_sequence() {
        let mut s = Sources::new();
        // Interned in the opposite order of their bytes on purpose.
        let b = s.intern("fleet/b");
        let a = s.intern("fleet/a");
        let k = |time_us, source, sequence| EventKey {
            time_us,
            source,
            sequence,
        };
        assert!(k(2, a, 1).beats(&k(1, b, 9), &s));
        assert!(k(1, b, 1).beats(&k(1, a, 9), &s));
        assert!(k(1, a, 10).beats(&k(1, a, 9), &s));
        assert!(!k(1, a, 9).beats(&k(1, a, 9), &s));
        assert_eq!(s.intern("fleet/b"), b);
        assert_eq!(s.name(a), "fleet/a");
    }

    #[test]
    fn interns_names_of_every_length() {
        let mut s = Sources::new();
        let names: Vec<String> = (0..5_000)
            .map(|i| {
                let len = i % 41;
                let mut n = format!("{i}/");
                while n.len() < len {
                    n.push(char::from(b'a' + (i % 26) as u8));
                }
                n
            })
            .collect();
        // Names that differ only past the inline head, and the empty name.
        let long_a = "fleet/telematics-unit-0000000000-a".to_string();
        let long_b = "fleet/telematics-unit-0000000000-b".to_string();
        let all: Vec<&str> = names
            .iter()
            .map(String::as_str)
            .chain([long_a.as_str(), long_b.as_str(), ""])
            .collect();
        let mut ids = Vec::new();
        for n in &all {
            let id = s.intern(n);
            ids.push(id);
        }
        for (n, &id) in all.iter().zip(&ids) {
            assert_eq!(s.intern(n), id, "{n}");
            assert_eq!(s.get(n), Some(id));
            assert_eq!(s.name(id), *n);
        }
        assert_eq!(s.len(), all.len());
        assert_ne!(s.get(&long_a), s.get(&long_b));
        assert_eq!(s.get("not/there"), None);
    }
}
