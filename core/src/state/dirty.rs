//! Which shipments and vehicles changed since a running summary last counted them
//! ([`super::running::Running`]).
//!
//! A [`DirtySet`] tracks the slots below a watermark, `tracked`: those a running summary has
//! counted. Marking a tracked slot sets its bit and, the first time, appends it to a list, so
//! a refresh visits each changed slot once, in O(changed), without scanning the state. Slots
//! at or above the watermark are new to the running summary (it counts them in slot order
//! when it gets to them), so marking them does nothing. While no running summary is attached
//! the watermark is 0 and marking is one comparison.
//!
//! Bounds: the list holds distinct tracked slots, so at most `tracked` of them; its capacity
//! is raised with the watermark (by [`DirtySet::track`], off the apply path), so marking never
//! allocates. The bits take `tracked / 8` bytes, the list 4 bytes per tracked slot.

/// The dirty slots of one kind of entity (shipments, or vehicles).
#[derive(Debug, Default)]
pub(crate) struct DirtySet {
    /// Slots below this are tracked.
    tracked: u32,
    /// One bit per tracked slot: set while the slot is in `list`. `tracked.div_ceil(64)` words.
    bits: Vec<u64>,
    /// The marked slots, each once, in marking order. Capacity at least `tracked`.
    list: Vec<u32>,
}

impl DirtySet {
    /// Records that `slot` changed. O(1); never allocates.
    #[inline]
    pub(crate) fn mark(&mut self, slot: u32) {
        if slot < self.tracked {
            self.mark_tracked(slot);
        }
    }

    #[inline]
    fn mark_tracked(&mut self, slot: u32) {
        debug_assert!(slot < self.tracked);
        let bit = 1u64 << (slot & 63);
        let word = &mut self.bits[(slot >> 6) as usize];
        if *word & bit == 0 {
            *word |= bit;
            // Distinct tracked slots: below `tracked`, hence below the capacity.
            debug_assert!(self.list.len() < self.tracked as usize);
            debug_assert!(self.list.len() < self.list.capacity(), "marking allocates");
            self.list.push(slot);
        }
    }

    /// Slots below this are tracked.
    pub(crate) fn tracked(&self) -> u32 {
        self.tracked
    }

    /// How many slots are marked.
    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    /// Takes a marked slot (the last marked), clearing its mark.
    pub(crate) fn pop(&mut self) -> Option<u32> {
        let slot = self.list.pop()?;
        let bit = 1u64 << (slot & 63);
        let word = &mut self.bits[(slot >> 6) as usize];
        debug_assert!(*word & bit != 0, "a listed slot has its bit");
        *word &= !bit;
        Some(slot)
    }

    /// Takes up to `n` marked slots into `out` (cleared first), clearing their marks; `out` is
    /// empty when nothing is marked.
    pub(crate) fn pop_into(&mut self, n: usize, out: &mut Vec<u32>) {
        out.clear();
        while out.len() < n {
            match self.pop() {
                Some(slot) => out.push(slot),
                None => break,
            }
        }
        debug_assert!(out.len() <= n);
    }

    /// Raises the watermark to `tracked` (never lowers it): slots below it are marked from
    /// now on. Grows the bits and reserves the list so that marking never allocates.
    pub(crate) fn track(&mut self, tracked: u32) {
        debug_assert!(tracked >= self.tracked, "the watermark only rises");
        if tracked <= self.tracked {
            return;
        }
        self.tracked = tracked;
        self.bits.resize((tracked as usize).div_ceil(64), 0);
        // Vec::reserve grows geometrically: raising the watermark slot by slot copies the list
        // O(log) times, never per slot.
        self.list.reserve(tracked as usize - self.list.len());
        debug_assert!(self.list.capacity() >= tracked as usize);
    }

    /// Forgets every mark and the watermark (nothing is tracked), keeping the memory.
    pub(crate) fn reset(&mut self) {
        self.tracked = 0;
        self.bits.clear();
        self.list.clear();
    }

    /// Bytes held on the heap, by capacity.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.bits.capacity() * 8 + self.list.capacity() * 4
    }

    /// The invariants: one bit per listed slot and no other, every listed slot tracked.
    /// O(tracked): for checks in debug builds and tests.
    pub(crate) fn debug_check(&self) {
        assert_eq!(self.bits.len(), (self.tracked as usize).div_ceil(64));
        assert!(self.list.len() <= self.tracked as usize);
        assert!(self.list.capacity() >= self.tracked as usize);
        let set: u32 = self.bits.iter().map(|w| w.count_ones()).sum();
        assert_eq!(set as usize, self.list.len());
        for &slot in &self.list {
            assert!(slot < self.tracked);
            assert!(self.bits[(slot >> 6) as usize] & (1 << (slot & 63)) != 0);
        }
    }
}

/// The changed shipments and vehicles of a [`super::State`], for the running summary that
/// `owner` names (0: none attached, nothing tracked).
///
/// Cloning a state does not clone this: the clone is a different state, which no running
/// summary has counted, so its tracker starts unattached.
#[derive(Debug, Default)]
pub(crate) struct Touched {
    /// The [`super::running::Running`] these marks are for (its id), 0 when none.
    pub owner: u64,
    pub shipments: DirtySet,
    pub vehicles: DirtySet,
}

impl Clone for Touched {
    fn clone(&self) -> Self {
        Touched::default()
    }
}

impl Touched {
    /// Attaches the running summary `owner`: nothing tracked, nothing marked.
    pub(crate) fn attach(&mut self, owner: u64) {
        self.owner = owner;
        self.shipments.reset();
        self.vehicles.reset();
    }

    /// Bytes held on the heap, by capacity.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.shipments.heap_bytes() + self.vehicles.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_tracked_slots_once() {
        let mut d = DirtySet::default();
        d.mark(3); // nothing tracked yet
        assert_eq!(d.len(), 0);
        d.track(130);
        for slot in [3, 64, 129, 3, 64, 200] {
            d.mark(slot);
        }
        d.debug_check();
        assert_eq!(d.len(), 3, "each tracked slot once; 200 is untracked");
        let mut popped = Vec::new();
        while let Some(s) = d.pop() {
            popped.push(s);
        }
        popped.sort_unstable();
        assert_eq!(popped, [3, 64, 129]);
        d.debug_check();
        d.mark(129);
        assert_eq!(d.len(), 1);
        d.reset();
        d.debug_check();
        assert_eq!((d.len(), d.tracked()), (0, 0));
    }

    #[test]
    fn marking_never_allocates_once_tracked() {
        let mut d = DirtySet::default();
        d.track(1000);
        let cap = d.list.capacity();
        for slot in (0..1000).rev() {
            d.mark(slot);
        }
        assert_eq!(d.list.capacity(), cap);
        assert_eq!(d.len(), 1000);
        d.debug_check();
    }
}
