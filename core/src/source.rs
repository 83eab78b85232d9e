//! Sources (`<system>/<name>`) interned to small ids, and the last-writer-wins key of SPEC §4.
//!
//! Interned ids depend on arrival order, so they never reach output, a digest or an ordering
//! decision by themselves: [`EventKey::cmp`] compares sources by their bytes.

use rustc_hash::FxHashMap;
use std::cmp::Ordering;

/// Upper bound on distinct sources one core tracks (one per vehicle, ERP instance, ...).
pub const MAX_SOURCES: usize = 1 << 24;

/// A source's index in [`Sources`]. Only meaningful together with the `Sources` that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId(pub u32);

/// The interner: source name <-> [`SourceId`].
#[derive(Debug, Default, Clone)]
pub struct Sources {
    names: Vec<Box<str>>,
    index: FxHashMap<Box<str>, SourceId>,
}

impl Sources {
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of `name`, adding it on first sight.
    ///
    /// # Panics
    /// When more than [`MAX_SOURCES`] distinct sources are seen (a limit, not a state to recover).
    pub fn intern(&mut self, name: &str) -> SourceId {
        if let Some(&id) = self.index.get(name) {
            return id;
        }
        assert!(
            self.names.len() < MAX_SOURCES,
            "more than {MAX_SOURCES} sources"
        );
        let id = SourceId(self.names.len() as u32);
        self.names.push(name.into());
        self.index.insert(name.into(), id);
        id
    }

    pub fn get(&self, name: &str) -> Option<SourceId> {
        self.index.get(name).copied()
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

    /// Sources compare as byte strings (SPEC §4).
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
}
