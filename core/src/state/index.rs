//! The id -> slot index of shipments and vehicles: open addressing, linear probing, a
//! power-of-two table of 8-byte entries.
//!
//! An entry packs a 32-bit tag (the high half of the id's hash) and `slot + 1` (0 marks an empty
//! entry), so a lookup usually reads one cache line of the table and then the record itself,
//! where the full id is confirmed. The table keeps no ids: it grows (doubling, at a load of
//! 7/8, as hashbrown does) by rehashing the ids read back from the records.
//!
//! The hash is a fixed, unseeded mix of the u64 id. It only places entries: the table is never
//! iterated, so it cannot influence iteration order, views, digests or any ordering decision.
//! Being unseeded, ids crafted to collide could lengthen probes (a cost, never a wrong answer).

/// Most entries one index holds (slots are `u32`, and `slot + 1` must fit in one).
use super::fixed::FixedVec;

pub(crate) const MAX_LEN: usize = u32::MAX as usize - 1;

/// The load at which the table doubles: `len * LOAD_DEN > capacity * LOAD_NUM`.
const LOAD_NUM: usize = 7;
const LOAD_DEN: usize = 8;
/// Smallest non-empty table.
const MIN_CAPACITY: usize = 16;

/// The fixed mix of an id (the SplitMix64 finalizer): every output bit depends on every input
/// bit, so sequential and strided ids spread evenly.
#[inline]
pub(crate) fn hash(id: u64) -> u64 {
    let mut x = id;
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[inline]
fn tag_of(h: u64) -> u32 {
    (h >> 32) as u32
}

#[inline]
fn entry(tag: u32, slot: u32) -> u64 {
    debug_assert!((slot as usize) < MAX_LEN);
    (u64::from(slot + 1) << 32) | u64::from(tag)
}

/// `slot + 1` of an entry, 0 when empty.
#[inline]
fn slot1(e: u64) -> u32 {
    (e >> 32) as u32
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Index {
    /// Power-of-two length (or empty); see the module docs for the entry layout.
    /// Huge-page backed once large (see `fixed`): lookups land anywhere in it.
    entries: FixedVec<u64>,
    len: usize,
}

impl Index {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    fn mask(&self) -> usize {
        self.entries.capacity().wrapping_sub(1)
    }

    /// The slot of `id`, confirming a tag match with `id_of(slot) == id`.
    #[inline]
    pub(crate) fn find(&self, id: u64, id_of: impl Fn(u32) -> u64) -> Option<u32> {
        self.find_by(id, |slot| id_of(slot) == id)
    }

    /// The slot whose key is `key` and for which `is(slot)` holds (for keys that are hashes
    /// of longer values: `is` compares the values themselves).
    #[inline]
    pub(crate) fn find_by(&self, key: u64, is: impl Fn(u32) -> bool) -> Option<u32> {
        if self.entries.capacity() == 0 {
            return None;
        }
        let h = hash(key);
        let (tag, mask) = (tag_of(h), self.mask());
        let mut i = h as usize & mask;
        loop {
            let e = self.entries.as_slice()[i];
            let s1 = slot1(e);
            if s1 == 0 {
                return None;
            }
            if e as u32 == tag && is(s1 - 1) {
                return Some(s1 - 1);
            }
            i = (i + 1) & mask;
        }
    }

    /// Indexes `slot` under `key` (the caller has checked that it is not indexed yet);
    /// `key_of(slot)` gives back the key of any indexed slot, for growth.
    pub(crate) fn insert(&mut self, id: u64, slot: u32, id_of: impl Fn(u32) -> u64) {
        assert!(self.len < MAX_LEN, "index full: at most {MAX_LEN} entries");
        if (self.len + 1) * LOAD_DEN > self.entries.capacity() * LOAD_NUM {
            self.rebuild(self.len + 1, &id_of);
        }
        self.place(id, slot);
        self.len += 1;
    }

    /// Makes room for `additional` more entries without growing during inserts.
    pub(crate) fn reserve(&mut self, additional: usize, id_of: impl Fn(u32) -> u64) {
        let want = self.len.saturating_add(additional).min(MAX_LEN);
        if want * LOAD_DEN > self.entries.capacity() * LOAD_NUM {
            self.rebuild(want, &id_of);
        }
    }

    /// Bytes held: the table, by capacity.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<u64>()
    }

    #[inline]
    fn place(&mut self, id: u64, slot: u32) {
        let h = hash(id);
        let mask = self.mask();
        let mut i = h as usize & mask;
        while slot1(self.entries.as_slice()[i]) != 0 {
            i = (i + 1) & mask;
        }
        self.entries.as_mut_slice()[i] = entry(tag_of(h), slot);
    }

    /// A table sized for `n` entries, refilled from the ids of slots `0..self.len` (the slots of
    /// an index are always `0..len`: records are only ever appended).
    #[cold]
    fn rebuild(&mut self, n: usize, id_of: &impl Fn(u32) -> u64) {
        let mut cap = MIN_CAPACITY;
        while n * LOAD_DEN > cap * LOAD_NUM {
            cap *= 2;
        }
        self.entries = zeroed(cap);
        for slot in 0..self.len as u32 {
            self.place(id_of(slot), slot);
        }
    }
}

/// A table of `cap` empty entries.
fn zeroed(cap: usize) -> FixedVec<u64> {
    let mut t = FixedVec::with_capacity(cap);
    for _ in 0..cap {
        t.push(0);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids as a record store would hold them: slot `i` holds `ids[i]`.
    fn build(ids: &[u64]) -> Index {
        let mut index = Index::default();
        for (slot, &id) in ids.iter().enumerate() {
            index.insert(id, slot as u32, |s| ids[s as usize]);
        }
        index
    }

    #[test]
    fn finds_what_was_inserted_and_nothing_else() {
        let cases: &[(&str, Vec<u64>, Vec<u64>)] = &[
            ("empty", vec![], vec![0, 1, u64::MAX]),
            ("extremes", vec![0, u64::MAX], vec![1, u64::MAX - 1]),
            (
                "sequential",
                (0..10_000).collect(),
                (10_000..10_100).collect(),
            ),
            (
                "strided (low bits equal)",
                (0..5_000).map(|i| i << 32).collect(),
                (0..100).map(|i| (i << 32) | 1).collect(),
            ),
            (
                "high bits only",
                (0..4_000).map(|i| u64::MAX - (i << 40)).collect(),
                vec![u64::MAX - 1, 1 << 40],
            ),
        ];
        for (name, ids, absent) in cases {
            let index = build(ids);
            assert_eq!(index.len(), ids.len(), "{name}");
            for (slot, &id) in ids.iter().enumerate() {
                let got = index.find(id, |s| ids[s as usize]);
                assert_eq!(got, Some(slot as u32), "{name}: id {id}");
            }
            for &id in absent {
                assert_eq!(
                    index.find(id, |s| ids[s as usize]),
                    None,
                    "{name}: absent {id}"
                );
            }
            // The load bound holds after every growth.
            assert!(
                index.len() * LOAD_DEN <= index.entries.capacity() * LOAD_NUM,
                "{name}"
            );
            assert!(index.entries.capacity() == 0 || index.entries.capacity().is_power_of_two());
        }
    }

    #[test]
    fn colliding_tags_are_confirmed_against_the_records() {
        // Force every entry into one probe run with one tag: a table with entries placed by
        // hand, then lookups that must walk past equal tags and confirm ids.
        let ids = [7u64, 8, 9, 10];
        let mut index = Index {
            entries: zeroed(16),
            len: ids.len(),
        };
        let tag = tag_of(hash(9));
        let home = hash(9) as usize & 15;
        for (slot, _) in ids.iter().enumerate() {
            index.entries.as_mut_slice()[(home + slot) & 15] = entry(tag, slot as u32);
        }
        assert_eq!(index.find(9, |s| ids[s as usize]), Some(2));
        // Absent ids whose tag differs stop at the first empty entry.
        assert_eq!(index.find(11, |s| ids[s as usize]), None);
    }

    #[test]
    fn reserve_sizes_once_and_keeps_entries() {
        let ids: Vec<u64> = (0..1_000).map(|i| i * 7919).collect();
        let mut index = build(&ids[..10]);
        index.reserve(990, |s| ids[s as usize]);
        let cap = index.entries.capacity();
        assert!(990_usize.saturating_add(10) * LOAD_DEN <= cap * LOAD_NUM);
        for (slot, &id) in ids.iter().enumerate().skip(10) {
            index.insert(id, slot as u32, |s| ids[s as usize]);
        }
        assert_eq!(index.entries.capacity(), cap, "no growth after reserve");
        for (slot, &id) in ids.iter().enumerate() {
            assert_eq!(index.find(id, |s| ids[s as usize]), Some(slot as u32));
        }
        assert_eq!(index.heap_bytes(), cap * 8);
    }
}
