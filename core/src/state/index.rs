//! The id -> slot index of shipments and vehicles: open addressing, linear probing, a
//! power-of-two table of 8-byte entries.
//!
//! An entry packs a 32-bit tag (the high half of the id's hash) and `slot + 1` (0 marks an empty
//! entry), so a lookup usually reads one cache line of the table and then the record itself,
//! where the full id is confirmed. The table keeps no ids: it grows (doubling, at a load of
//! 7/8, as hashbrown does) by rehashing the ids read back from the records.
//!
//! Growth is incremental, so no insert pays for rehashing the whole table (at a million
//! shipments that was a stall of tens of milliseconds on the writer): the doubled table starts
//! empty, every insert moves the next [`MOVE_PER_INSERT`] slots of the previous table into it,
//! and lookups that miss in the new table also look in the previous one until it is drained.
//! The previous table is never written while draining, so it answers for exactly the slots it
//! held; the new table holds the slots moved so far and every slot inserted since.
//!
//! The hash is a fixed, unseeded mix of the u64 id. It only places entries: the table is never
//! iterated, so it cannot influence iteration order, views, digests or any ordering decision.
//! Being unseeded, ids crafted to collide could lengthen probes (a cost, never a wrong answer).

/// Most entries one index holds (slots are `u32`, and `slot + 1` must fit in one).
use super::StoreBytes;
use super::fixed::FixedVec;
use super::spare::Spare;

pub(crate) const MAX_LEN: usize = u32::MAX as usize - 1;

/// The load at which the table doubles: `len * LOAD_DEN > capacity * LOAD_NUM`.
const LOAD_NUM: usize = 7;
const LOAD_DEN: usize = 8;
/// Smallest non-empty table.
const MIN_CAPACITY: usize = 16;
/// Slots moved from the previous table per insert while growing. The previous table held
/// `7/8 * C` slots and the doubled one grows again after another `7/8 * C` inserts, so 1 would
/// do; 2 drains it in half that time.
pub(crate) const MOVE_PER_INSERT: usize = 2;

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
    /// The previous table while it is being drained into `entries`.
    draining: Option<Draining>,
    /// The next table, prepared off the writer thread (see `spare`), asked for when `len`
    /// reaches `spare_at`: three quarters of the way from the last growth to the next.
    spare: Spare<FixedVec<u64>>,
    spare_at: usize,
}

/// A previous table being moved into the current one, slot by slot.
#[derive(Debug, Clone)]
struct Draining {
    /// Holds slots `0..held`, unchanged since the growth began.
    entries: FixedVec<u64>,
    held: u32,
    /// Slots `0..next` are in the current table too.
    next: u32,
}

/// The slot in `table` whose entry has `key`'s tag and passes `is`.
#[inline]
fn probe(table: &FixedVec<u64>, key: u64, is: &impl Fn(u32) -> bool) -> Option<u32> {
    if table.capacity() == 0 {
        return None;
    }
    let h = hash(key);
    let (tag, mask) = (tag_of(h), table.capacity() - 1);
    let entries = table.as_slice();
    let mut i = h as usize & mask;
    loop {
        let e = entries[i];
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

/// Writes `slot`'s entry for `key` into the first empty entry of its probe run.
#[inline]
fn place(table: &mut FixedVec<u64>, key: u64, slot: u32) {
    let h = hash(key);
    let mask = table.capacity() - 1;
    let entries = table.as_mut_slice();
    let mut i = h as usize & mask;
    while slot1(entries[i]) != 0 {
        i = (i + 1) & mask;
    }
    entries[i] = entry(tag_of(h), slot);
}

/// The most entries a table of `cap` entries holds within the load bound.
fn grow_len(cap: usize) -> usize {
    cap * LOAD_NUM / LOAD_DEN
}

/// The smallest table that holds `n` entries within the load bound.
fn capacity_for(n: usize) -> usize {
    let mut cap = MIN_CAPACITY;
    while n * LOAD_DEN > cap * LOAD_NUM {
        cap *= 2;
    }
    cap
}

impl Index {
    pub(crate) fn len(&self) -> usize {
        self.len
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
        probe(&self.entries, key, &is).or_else(|| {
            self.draining
                .as_ref()
                .and_then(|d| probe(&d.entries, key, &is))
        })
    }

    /// Asks the CPU to start loading the entry where a lookup of `key` begins (in the current
    /// table), so a lookup a few events later finds it in cache. Changes nothing.
    #[inline]
    pub(crate) fn prefetch(&self, key: u64) {
        let entries = self.entries.as_slice();
        if entries.is_empty() {
            return;
        }
        crate::cache::prefetch(&entries[hash(key) as usize & (entries.len() - 1)]);
    }

    /// Indexes `slot` under `key` (the caller has checked that it is not indexed yet, and
    /// `slot` is the next one: `len`); `key_of(slot)` gives back the key of any indexed slot,
    /// for growth.
    pub(crate) fn insert(&mut self, id: u64, slot: u32, id_of: impl Fn(u32) -> u64) {
        assert!(self.len < MAX_LEN, "index full: at most {MAX_LEN} entries");
        debug_assert_eq!(slot as usize, self.len, "slots are appended");
        self.drain(MOVE_PER_INSERT, &id_of);
        if (self.len + 1) * LOAD_DEN > self.entries.capacity() * LOAD_NUM {
            self.grow(&id_of);
        }
        place(&mut self.entries, id, slot);
        self.len += 1;
        if self.len == self.spare_at {
            self.ask_spare();
        }
    }

    /// Asks for the table of the next growth to be prepared off this thread (when it would
    /// be mapped: a table from the allocator is cleared as it is written, a page at a time).
    #[cold]
    fn ask_spare(&mut self) {
        let cap = capacity_for(grow_len(self.entries.capacity()) + 1);
        if FixedVec::<u64>::would_map(cap) {
            let bytes = cap * std::mem::size_of::<u64>();
            self.spare
                .request(bytes, move || FixedVec::zeroed_prefaulted(cap));
        }
    }

    /// A zeroed table of `cap` entries: the spare when it is ready and of that size.
    fn new_table(&mut self, cap: usize) -> FixedVec<u64> {
        match self.spare.take() {
            Some(t) if t.capacity() == cap => t,
            _ => {
                self.spare.cancel();
                FixedVec::zeroed(cap)
            }
        }
    }

    /// An index of slots `0..len`, slot `s` under `id_of(s)`, sized as [`Self::reserve`] sizes
    /// it (what a snapshot's load builds: the table is not in the snapshot, only the records
    /// it points to).
    pub(crate) fn rebuilt(len: usize, id_of: impl Fn(u32) -> u64) -> Index {
        assert!(len <= MAX_LEN, "index full: at most {MAX_LEN} entries");
        let mut index = Index {
            len,
            ..Index::default()
        };
        index.reserve(0, &id_of);
        debug_assert!(len == 0 || index.find(id_of(0), &id_of) == Some(0));
        index
    }

    /// Makes room for `additional` more entries without growing during inserts (sizes the
    /// table at once: no draining afterwards).
    pub(crate) fn reserve(&mut self, additional: usize, id_of: impl Fn(u32) -> u64) {
        let want = self.len.saturating_add(additional).min(MAX_LEN);
        if want * LOAD_DEN > self.entries.capacity() * LOAD_NUM {
            self.drain(usize::MAX, &id_of);
            let cap = capacity_for(want);
            let mut table = self.new_table(cap);
            for slot in 0..self.len as u32 {
                place(&mut table, id_of(slot), slot);
            }
            self.entries = table;
            self.spare_at = want + (grow_len(cap) - want) / 4 * 3;
        }
    }

    /// Moves up to `n` more slots of the previous table into the current one; drops the
    /// previous table once every slot it held is moved.
    fn drain(&mut self, n: usize, id_of: &impl Fn(u32) -> u64) {
        let Some(d) = &mut self.draining else {
            return;
        };
        let end = (d.next as usize).saturating_add(n).min(d.held as usize) as u32;
        for slot in d.next..end {
            place(&mut self.entries, id_of(slot), slot);
        }
        d.next = end;
        if d.next == d.held {
            self.draining = None;
        }
    }

    /// Doubles the table; the current one becomes the previous table, drained by later inserts.
    #[cold]
    fn grow(&mut self, id_of: &impl Fn(u32) -> u64) {
        // A previous growth's table is drained long before the next growth (see
        // MOVE_PER_INSERT).
        debug_assert!(self.draining.is_none(), "growth while still draining");
        self.drain(usize::MAX, id_of);
        let cap = capacity_for(self.len + 1);
        debug_assert!(cap > self.entries.capacity());
        let table = self.new_table(cap);
        let previous = std::mem::replace(&mut self.entries, table);
        // Three quarters of the way to the next growth.
        let (from, to) = (self.len, grow_len(cap));
        self.spare_at = from + (to - from) / 4 * 3;
        if self.len > 0 {
            self.draining = Some(Draining {
                entries: previous,
                held: self.len as u32,
                next: 0,
            });
        }
    }

    /// What the index holds (as `heap_bytes`) and uses (one entry per slot indexed).
    pub(crate) fn store_bytes(&self, store: &'static str) -> StoreBytes {
        StoreBytes {
            store,
            held_bytes: self.heap_bytes(),
            used_bytes: self.len * std::mem::size_of::<u64>(),
        }
    }

    /// Bytes of the next table asked for and not taken yet (prepared or being prepared).
    pub(crate) fn spare_bytes(&self) -> usize {
        self.spare.pending_bytes()
    }

    /// Bytes held: the table (and a previous one still draining), by capacity.
    pub(crate) fn heap_bytes(&self) -> usize {
        let previous = self.draining.as_ref().map_or(0, |d| d.entries.capacity());
        (self.entries.capacity() + previous) * std::mem::size_of::<u64>()
    }
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

    /// Prefetching reads nothing that could be out of the table, empty or not, and changes
    /// nothing a lookup finds.
    #[test]
    fn prefetch_changes_nothing() {
        let empty = Index::default();
        empty.prefetch(7);
        let ids: Vec<u64> = (0..1000).map(|i| i * 31).collect();
        let index = build(&ids);
        for &id in ids.iter().chain(&[1, 2, u64::MAX]) {
            index.prefetch(id);
        }
        for (slot, &id) in ids.iter().enumerate() {
            assert_eq!(index.find(id, |s| ids[s as usize]), Some(slot as u32));
        }
    }

    /// Three quarters of the way to a growth into a mapped table, the next table is asked for
    /// off this thread; the growth takes it (zeroed, prefaulted) and every id stays found.
    #[test]
    fn the_next_table_is_prepared_ahead() {
        let ids: Vec<u64> = (0..300_000u64).map(|i| i * 7919 + 3).collect();
        let id_of = |s: u32| ids[s as usize];
        let mut index = Index::default();
        let mut asked = Vec::new();
        for (slot, &id) in ids.iter().enumerate() {
            let before = index.spare_bytes();
            index.insert(id, slot as u32, id_of);
            if before == 0 && index.spare_bytes() > 0 {
                asked.push((index.len(), index.spare_bytes()));
                // So the test does not depend on the preparing thread's speed.
                index.spare.wait_ready();
            }
        }
        // Tables of 2^18 and 2^19 entries are mapped (the smaller ones come from the
        // allocator, cleared as written): asked for at 3/4 from the growth before.
        let at = |from: usize, cap: usize| from + (grow_len(cap) - from) / 4 * 3;
        let from_2_17 = grow_len(1 << 16);
        let from_2_18 = grow_len(1 << 17);
        assert_eq!(
            asked,
            vec![
                (at(from_2_17, 1 << 17), (1 << 18) * 8),
                (at(from_2_18, 1 << 18), (1 << 19) * 8)
            ]
        );
        assert_eq!(index.spare.taken, 2, "both were taken");
        assert_eq!(index.entries.capacity(), 1 << 19);
        for (slot, &id) in ids.iter().enumerate() {
            assert_eq!(index.find(id, id_of), Some(slot as u32));
        }
        assert_eq!(index.find(1, id_of), None);
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
    fn lookups_hold_at_every_step_of_a_growth() {
        // Through several growths (16 -> 32 -> ... -> 8192 entries), after every insert: every
        // id inserted so far is found at its slot, the next ids are not, and the previous
        // table is drained before the table grows again.
        let ids: Vec<u64> = (0..6_000u64)
            .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .collect();
        let mut index = Index::default();
        let mut growths = 0;
        for (slot, &id) in ids.iter().enumerate() {
            let cap = index.entries.capacity();
            index.insert(id, slot as u32, |s| ids[s as usize]);
            if index.entries.capacity() != cap {
                growths += 1;
                assert!(cap == 0 || index.draining.is_some(), "slot {slot}");
            }
            let check = |s: usize| index.find(ids[s], |t| ids[t as usize]) == Some(s as u32);
            // Every slot on small tables; a spread sample (and the newest) on larger ones.
            let step = 1 + slot / 256;
            assert!((0..=slot).step_by(step).all(check), "slot {slot}");
            assert!(check(slot));
            if let Some(d) = &index.draining {
                assert!(d.next <= d.held && d.held as usize <= slot + 1);
            }
            for &absent in &ids[slot + 1..(slot + 4).min(ids.len())] {
                assert_eq!(index.find(absent, |t| ids[t as usize]), None);
            }
            assert!(index.len() * LOAD_DEN <= index.entries.capacity() * LOAD_NUM);
        }
        assert_eq!(growths, 10, "16, 32, ..., 8192");
        // Drained tables are released, and the bytes count both tables while draining.
        let mut index = build(&ids[..14]);
        assert!(index.draining.is_none());
        assert_eq!(index.heap_bytes(), 16 * 8);
        index.insert(ids[14], 14, |s| ids[s as usize]);
        assert_eq!(index.heap_bytes(), (32 + 16) * 8);
        for slot in 15..22 {
            index.insert(ids[slot], slot as u32, |s| ids[s as usize]);
        }
        assert!(index.draining.is_none());
        assert_eq!(index.heap_bytes(), 32 * 8);
    }

    #[test]
    fn colliding_tags_are_confirmed_against_the_records() {
        // Force every entry into one probe run with one tag: a table with entries placed by
        // hand, then lookups that must walk past equal tags and confirm ids.
        let ids = [7u64, 8, 9, 10];
        let mut index = Index {
            entries: FixedVec::zeroed(16),
            len: ids.len(),
            ..Index::default()
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
