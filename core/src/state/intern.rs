//! Interners for strings that repeat across shipments (customer ids, route ids), so a shipment
//! holds a 4-byte symbol instead of its own copy.
//!
//! Symbols depend on arrival order: they never reach a view, a digest or an ordering decision;
//! those always resolve the symbol back to its value first.

use rustc_hash::FxHashMap;
use std::hash::Hash;

/// Upper bound on distinct values in one interner (symbols are `u32`).
pub(crate) const MAX_SYMBOLS: usize = u32::MAX as usize;

#[derive(Debug, Default, Clone)]
pub(crate) struct Interner<T: Eq + Hash + Clone> {
    values: Vec<T>,
    index: FxHashMap<T, u32>,
}

impl<T: Eq + Hash + Clone> Interner<T> {
    pub(crate) fn get(&self, sym: u32) -> &T {
        &self.values[sym as usize]
    }

    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    fn insert(&mut self, value: T) -> u32 {
        assert!(self.values.len() < MAX_SYMBOLS, "interner full");
        let sym = self.values.len() as u32;
        self.values.push(value.clone());
        self.index.insert(value, sym);
        sym
    }

    fn table_bytes(&self) -> usize {
        self.values.capacity() * std::mem::size_of::<T>() + map_bytes(&self.index)
    }
}

impl Interner<Box<str>> {
    pub(crate) fn intern_str(&mut self, s: &str) -> u32 {
        match self.index.get(s) {
            Some(&sym) => sym,
            None => self.insert(s.into()),
        }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        // Each string is held twice: once in `values`, once as the map key.
        self.table_bytes() + 2 * self.values.iter().map(|s| s.len()).sum::<usize>()
    }
}

/// Estimated heap held by a hash map: its buckets (7/8 load, power of two) with one control
/// byte each.
pub(crate) fn map_bytes<K, V>(map: &FxHashMap<K, V>) -> usize {
    let cap = map.capacity();
    if cap == 0 {
        return 0;
    }
    let buckets = (cap * 8 / 7).next_power_of_two();
    buckets * (std::mem::size_of::<(K, V)>() + 1)
}
