//! Interners for values that repeat across shipments (customer ids, route ids, detention
//! terms), so a shipment holds a 4-byte symbol instead of its own copy.
//!
//! Each value is held once (strings in a [`Text`] store, detention terms in a table); the
//! index maps a fixed (unseeded) XXH3-64 hash of the value to its symbol and confirms a match
//! against the stored value, so equal hashes of different values never merge them.
//!
//! Symbols depend on arrival order: they never reach a view, a digest or an ordering decision;
//! those always resolve the symbol back to its value first. The index is never iterated.

use super::StoreBytes;
use super::index::Index;
use super::store::{Text, TextFill};
use xxhash_rust::xxh3::xxh3_64;

/// Upper bound on distinct values in one interner (symbols are `u32`).
pub(crate) const MAX_SYMBOLS: usize = super::index::MAX_LEN;

#[derive(Debug, Default, Clone)]
pub(crate) struct Interner {
    /// Symbol -> reference into `text`.
    refs: Vec<u32>,
    text: Text,
    index: Index,
}

impl Interner {
    pub(crate) fn get(&self, sym: u32) -> &str {
        self.text.get(self.refs[sym as usize])
    }

    pub(crate) fn len(&self) -> usize {
        self.refs.len()
    }

    /// How full the text store of the values is.
    pub(crate) fn text_fill(&self) -> TextFill {
        self.text.fill()
    }

    /// The symbol of `s`, adding it on first sight.
    pub(crate) fn intern_str(&mut self, s: &str) -> u32 {
        let key = xxh3_64(s.as_bytes());
        let Interner { refs, text, index } = self;
        if let Some(sym) = index.find_by(key, |sym| text.bytes(refs[sym as usize]) == s.as_bytes())
        {
            return sym;
        }
        assert!(refs.len() < MAX_SYMBOLS, "interner full");
        let sym = refs.len() as u32;
        refs.push(text.push(s));
        index.insert(key, sym, |sym| xxh3_64(text.bytes(refs[sym as usize])));
        sym
    }

    /// What the interner holds (as `heap_bytes`) and uses (symbols, strings, index entries).
    pub(crate) fn store_bytes(&self, store: &'static str) -> StoreBytes {
        StoreBytes {
            store,
            held_bytes: self.heap_bytes(),
            used_bytes: self.refs.len() * std::mem::size_of::<u32>()
                + self.text.used_bytes()
                + self.index.store_bytes(store).used_bytes,
        }
    }

    /// Bytes held: the symbol table and the index by capacity, the text store's chunks.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.refs.capacity() * std::mem::size_of::<u32>()
            + self.text.heap_bytes()
            + self.index.heap_bytes()
    }
}

/// The detention terms of a contract: a customer's orders share them (the base price is the
/// order's own).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct DetentionTerms {
    pub free_min: u32,
    pub cents_per_hour: i64,
}

impl DetentionTerms {
    fn hash(self) -> u64 {
        let mut b = [0u8; 12];
        b[..4].copy_from_slice(&self.free_min.to_le_bytes());
        b[4..].copy_from_slice(&self.cents_per_hour.to_le_bytes());
        xxh3_64(&b)
    }
}

/// Interned [`DetentionTerms`].
#[derive(Debug, Default, Clone)]
pub(crate) struct TermsInterner {
    /// Symbol -> terms.
    terms: Vec<DetentionTerms>,
    index: Index,
}

impl TermsInterner {
    #[inline]
    pub(crate) fn get(&self, sym: u32) -> DetentionTerms {
        self.terms[sym as usize]
    }

    pub(crate) fn len(&self) -> usize {
        self.terms.len()
    }

    /// The symbol of `t`, adding it on first sight.
    pub(crate) fn intern(&mut self, t: DetentionTerms) -> u32 {
        let TermsInterner { terms, index } = self;
        if let Some(sym) = index.find_by(t.hash(), |sym| terms[sym as usize] == t) {
            return sym;
        }
        assert!(terms.len() < MAX_SYMBOLS, "interner full");
        let sym = terms.len() as u32;
        terms.push(t);
        index.insert(t.hash(), sym, |sym| terms[sym as usize].hash());
        sym
    }

    /// What the interner holds (as `heap_bytes`) and uses (terms, index entries).
    pub(crate) fn store_bytes(&self, store: &'static str) -> StoreBytes {
        StoreBytes {
            store,
            held_bytes: self.heap_bytes(),
            used_bytes: self.terms.len() * std::mem::size_of::<DetentionTerms>()
                + self.index.store_bytes(store).used_bytes,
        }
    }

    /// Bytes held: the table and the index, by capacity.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.terms.capacity() * std::mem::size_of::<DetentionTerms>() + self.index.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_each_string_once_and_resolves_it() {
        let mut i = Interner::default();
        let names: Vec<String> = (0..20_000)
            .map(|n| format!("CUST-{:05}", n % 7_000))
            .chain(["".to_string(), "ü".to_string(), "x".repeat(300)])
            .collect();
        let syms: Vec<u32> = names.iter().map(|n| i.intern_str(n)).collect();
        assert_eq!(i.len(), 7_003);
        for (n, &s) in names.iter().zip(&syms) {
            assert_eq!(i.get(s), n);
            assert_eq!(i.intern_str(n), s, "{n}");
        }
        // First sight order gives the symbols.
        assert_eq!(syms[..3], [0, 1, 2]);
        assert_eq!(syms[7_000], 0);
    }

    #[test]
    fn interns_each_detention_terms_once() {
        let mut i = TermsInterner::default();
        let terms: Vec<DetentionTerms> = (0..5_000u32)
            .map(|n| DetentionTerms {
                free_min: n % 7,
                cents_per_hour: i64::from(n % 11) * 250 - 1_000,
            })
            .chain([
                DetentionTerms::default(),
                DetentionTerms {
                    free_min: u32::MAX,
                    cents_per_hour: i64::MIN,
                },
            ])
            .collect();
        let syms: Vec<u32> = terms.iter().map(|&t| i.intern(t)).collect();
        assert_eq!(i.len(), 7 * 11 + 1);
        for (&t, &s) in terms.iter().zip(&syms) {
            assert_eq!(i.get(s), t);
            assert_eq!(i.intern(t), s);
        }
        assert_eq!(syms[..2], [0, 1]);
    }
}
