//! One pass over a JSON object, collecting the raw values of a fixed set of keys.
//!
//! Each known key gets its `&RawValue` (borrowed from the input, never copied), so the caller
//! can tell "missing" from "of the wrong type" from "malformed". Unknown keys are skipped (but
//! still validated as JSON); in the event object, the first that breaks the rules of an
//! extension attribute is kept. A key that occurs twice is reported, not silently overwritten.

use super::{Json, envelope};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// The known keys of one object, in the caller's order.
pub(crate) struct Fields<'a, const N: usize> {
    /// The value of each known key; `None` when the key is absent or its value is `null`.
    pub values: [Option<Json<'a>>; N],
    /// The first key that occurred more than once, if any.
    pub duplicate: Option<Cow<'a, str>>,
    /// Whether each known key occurred, its value `null` or not.
    pub present: [bool; N],
    /// Only from [`collect_event`]: the first unknown key, in document order, whose name or
    /// value breaks the rules of an extension attribute ([`envelope::extension`]), with its
    /// value.
    pub broken_extension: Option<(Cow<'a, str>, Json<'a>)>,
}

/// Collects `names` from the JSON object read by `de`. Fails (with the deserializer's error)
/// only when the input is not valid JSON or not an object.
pub(crate) fn collect<'de, const N: usize, D: Deserializer<'de>>(
    de: D,
    names: &[&'static str; N],
) -> Result<Fields<'de, N>, D::Error> {
    Seed {
        names,
        extensions: false,
    }
    .deserialize(de)
}

/// [`collect`] for the event object: also finds the first unknown key that breaks the rules
/// of an extension attribute ([`Fields::broken_extension`]).
pub(crate) fn collect_event<'de, const N: usize, D: Deserializer<'de>>(
    de: D,
    names: &[&'static str; N],
) -> Result<Fields<'de, N>, D::Error> {
    Seed {
        names,
        extensions: true,
    }
    .deserialize(de)
}

/// Collects `names` from `raw`, which the caller knows to be a JSON object (its first byte is
/// `{`). `None` when it is not (cannot happen for text that came out of the parser as a
/// `RawValue` starting with `{`).
pub(crate) fn collect_raw<'a, const N: usize>(
    raw: Json<'a>,
    names: &[&'static str; N],
) -> Option<Fields<'a, N>> {
    let mut de = serde_json::Deserializer::from_str(raw.get());
    collect(&mut de, names).ok()
}

/// A key, borrowed from the input unless it had escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// Unknown keys seen so far, to detect duplicates among them without allocating in the
/// common case of a few unknown keys.
struct Unknown<'a> {
    inline: [&'a str; 8],
    len: usize,
    spill: Vec<Cow<'a, str>>,
}

impl<'a> Unknown<'a> {
    fn new() -> Self {
        Unknown {
            inline: [""; 8],
            len: 0,
            spill: Vec::new(),
        }
    }

    /// Records `key`; gives it back when it was already there.
    fn insert(&mut self, key: Cow<'a, str>) -> Result<(), Cow<'a, str>> {
        let k: &str = &key;
        if self.inline[..self.len].contains(&k) || self.spill.iter().any(|s| s == k) {
            return Err(key);
        }
        match key {
            Cow::Borrowed(b) if self.len < self.inline.len() => {
                self.inline[self.len] = b;
                self.len += 1;
            }
            key => self.spill.push(key),
        }
        Ok(())
    }
}

struct Seed<'n, const N: usize> {
    names: &'n [&'static str; N],
    /// Unknown keys are extension attributes (the event object), checked for
    /// [`Fields::broken_extension`].
    extensions: bool,
}

impl<'de, const N: usize> DeserializeSeed<'de> for Seed<'_, N> {
    type Value = Fields<'de, N>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, const N: usize> Visitor<'de> for Seed<'_, N> {
    type Value = Fields<'de, N>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut values: [Option<Json<'de>>; N] = [None; N];
        let mut seen = [false; N];
        let mut duplicate: Option<Cow<'de, str>> = None;
        let mut broken_extension = None;
        let mut unknown = Unknown::new();
        // Producers mostly write keys in one fixed order: try the one after the last match
        // first.
        let mut hint = 0;
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            // Every value, known or not, goes through the raw-value path: it is validated
            // without building anything.
            let value: &'de RawValue = map.next_value()?;
            let index = match self.names.get(hint) {
                Some(n) if *n == key => Some(hint),
                _ => self.names.iter().position(|n| *n == key),
            };
            if let Some(i) = index {
                hint = i + 1;
            }
            match index {
                Some(i) => {
                    if seen[i] {
                        duplicate.get_or_insert(key);
                    } else {
                        seen[i] = true;
                        if value.get() != "null" {
                            values[i] = Some(Json::general(value.get()));
                        }
                    }
                }
                None => {
                    let value = Json::general(value.get());
                    if self.extensions
                        && broken_extension.is_none()
                        && envelope::extension(&key, value).is_err()
                    {
                        // Copies the key only when it had escapes.
                        broken_extension = Some((key.clone(), value));
                    }
                    if let Err(key) = unknown.insert(key) {
                        duplicate.get_or_insert(key);
                    }
                }
            }
        }
        Ok(Fields {
            values,
            duplicate,
            present: seen,
            broken_extension,
        })
    }
}
