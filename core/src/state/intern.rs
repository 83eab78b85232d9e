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
use crate::snapshot::format::{SectionReader, SectionWriter, SnapshotDefect, defect};
use std::io;
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

impl Interner {
    /// Writes the values by their bytes, in symbol order, as sections `<name>.refs`,
    /// `<name>.lens` and `<name>.text` (the index is rebuilt on load).
    pub(crate) fn write_image(&self, name: &str, w: &mut SectionWriter) -> io::Result<()> {
        w.section(&format!("{name}.refs"), &self.refs)?;
        let lens: Vec<u32> = self.text.chunk_bytes().map(|c| c.len() as u32).collect();
        w.section(&format!("{name}.lens"), &lens)?;
        w.parts(&format!("{name}.text"), self.text.chunk_bytes())
    }

    /// The interner [`Self::write_image`] wrote: the same symbols for the same values.
    pub(crate) fn read_image(
        name: &str,
        r: &mut SectionReader<'_>,
    ) -> Result<Self, SnapshotDefect> {
        let refs = r.section::<u32>(&format!("{name}.refs"))?.to_vec();
        let lens = r.section::<u32>(&format!("{name}.lens"))?;
        let text = r.section::<u8>(&format!("{name}.text"))?;
        let text = Text::from_chunks(lens, text).map_err(|e| defect(0, format!("{name}: {e}")))?;
        if refs.len() > MAX_SYMBOLS
            || !refs
                .iter()
                .all(|&r| text.holds(r) && std::str::from_utf8(text.bytes(r)).is_ok())
        {
            return Err(defect(
                0,
                format!("{name}: a symbol points outside its text"),
            ));
        }
        let index = Index::rebuilt(refs.len(), |sym| xxh3_64(text.bytes(refs[sym as usize])));
        Ok(Interner { refs, text, index })
    }
}

/// A [`DetentionTerms`] as a snapshot holds it (no padding).
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C, packed(4))]
struct TermsImage {
    free_min: u32,
    cents_per_hour: i64,
}

impl TermsInterner {
    /// Writes the terms in symbol order (the index is rebuilt on load).
    pub(crate) fn write_image(&self, w: &mut SectionWriter) -> io::Result<()> {
        let terms: Vec<TermsImage> = self
            .terms
            .iter()
            .map(|t| TermsImage {
                free_min: t.free_min,
                cents_per_hour: t.cents_per_hour,
            })
            .collect();
        w.section("terms", &terms)
    }

    pub(crate) fn read_image(r: &mut SectionReader<'_>) -> Result<Self, SnapshotDefect> {
        let terms: Vec<DetentionTerms> = r
            .section::<TermsImage>("terms")?
            .iter()
            .map(|t| DetentionTerms {
                free_min: t.free_min,
                cents_per_hour: t.cents_per_hour,
            })
            .collect();
        if terms.len() > MAX_SYMBOLS {
            return Err(defect(0, "terms: too many symbols"));
        }
        let index = Index::rebuilt(terms.len(), |sym| terms[sym as usize].hash());
        Ok(TermsInterner { terms, index })
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
