//! The fast path for the plain objects events are made of: one hand-written pass over a JSON
//! object that collects the raw text of a fixed set of keys, like [`super::object::collect`],
//! at a fraction of the cost.
//!
//! It only *accepts* what it can vouch for, and declines (`None`) everything else, so that
//! the caller falls back to the general parser, which then produces the same values or the
//! exact dead letter it always did (serde_json's messages included). It accepts an object only
//! when:
//!
//! - the whole text is one JSON object, with JSON's whitespace around it and nothing else;
//! - every value in it is valid JSON by the grammar serde_json applies (numbers without
//!   leading zeros, `true`/`false`/`null` spelled out, no trailing commas), nested at most
//!   [`MAX_DEPTH`] deep;
//! - no string, key or value, at any depth, holds a backslash escape or a control character
//!   (the text is already valid UTF-8: it is a `&str`);
//! - no key occurs twice, and at most [`MAX_UNKNOWN`] keys are not among the names.
//!
//! Under those conditions serde_json accepts the object, every key is its own text, and the
//! raw value of each known key is exactly the text serde_json's `RawValue` would borrow, so
//! the values returned are the ones the general parser returns.

use super::Json;
use super::data::Payload;
use crate::event::EventType;

/// Nesting deeper than this (counted from the object scanned) is left to the general parser.
const MAX_DEPTH: u32 = 32;
/// More unknown keys than this in one object are left to the general parser.
const MAX_UNKNOWN: usize = 8;

/// The raw values of `names` in the JSON object `text` (absent and `null` both give `None`),
/// or `None` when the object is not one this pass vouches for (see the module doc).
pub(crate) fn collect<'a, const N: usize>(
    text: &'a str,
    names: &[&'static str; N],
) -> Option<[Option<Json<'a>>; N]> {
    const { assert!(N <= 64, "the seen-set is a u64") };
    let mut values = [None; N];
    let mut s = Scanner {
        text,
        bytes: text.as_bytes(),
        pos: 0,
    };
    s.whitespace();
    s.object(names, &mut values, None)?;
    s.whitespace();
    (s.pos == s.bytes.len()).then_some(values)
}

/// Where `type` and `data` are among the names given to [`collect_event`].
pub(crate) struct EventKeys {
    pub type_index: usize,
    pub data_index: usize,
}

/// What [`collect_event`] finds in the event object besides the values of the names: which
/// names occurred, and the keys that are not among them (the extension attributes) with
/// their values, for the rules of [`super::envelope`].
#[derive(Debug, Default)]
pub(crate) struct EventRest {
    /// Bit `i` is set when `names[i]` occurred, its value `null` or not.
    pub present: u64,
    /// The byte ranges of each unknown key (without its quotes) and of its value, in document
    /// order: `[key_start, key_end, value_start, value_end]` (`u32`: the pass declines longer
    /// texts, so that this stays small to clear for every event).
    unknown: [[u32; 4]; MAX_UNKNOWN],
    unknown_len: usize,
}

impl EventRest {
    /// The unknown keys of the event object `text` (the one given to [`collect_event`]) and
    /// their values, in document order.
    pub(crate) fn unknown<'a>(&self, text: &'a str) -> impl Iterator<Item = (&'a str, Json<'a>)> {
        let at = |i: u32| i as usize;
        self.unknown[..self.unknown_len]
            .iter()
            .map(move |&[ks, ke, vs, ve]| {
                (&text[at(ks)..at(ke)], Json::plain(&text[at(vs)..at(ve)]))
            })
    }

    /// Whether the event object had no unknown key.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.unknown_len == 0
    }
}

/// [`collect`] for the event object. When `type` comes before `data` (as producers write
/// them) and names a known type whose `data` is an object, that object's fields for the type
/// are collected in the same pass, as [`collect`] on the `data` value would
/// give them.
///
/// The values go into `values`, `payload` and `rest` (all empty on entry); they mean
/// something only when the result is `Some`.
pub(crate) fn collect_event<'a, const N: usize>(
    text: &'a str,
    names: &[&'static str; N],
    keys: &EventKeys,
    values: &mut [Option<Json<'a>>; N],
    payload: &mut Option<Payload<'a>>,
    rest: &mut EventRest,
) -> Option<()> {
    const { assert!(N <= 64, "the seen-set is a u64") };
    debug_assert!(rest.present == 0 && rest.is_empty());
    if u32::try_from(text.len()).is_err() {
        return None;
    }
    let mut nested = Nested {
        keys,
        found: payload,
        rest,
    };
    let mut s = Scanner {
        text,
        bytes: text.as_bytes(),
        pos: 0,
    };
    s.whitespace();
    s.object(names, values, Some(&mut nested))?;
    s.whitespace();
    (s.pos == s.bytes.len()).then_some(())
}

/// What only the event object (not the objects inside it) collects.
struct Nested<'a, 'o> {
    keys: &'o EventKeys,
    found: &'o mut Option<Payload<'a>>,
    rest: &'o mut EventRest,
}

/// The event type named by a plain JSON string.
fn event_type(v: Json<'_>) -> Option<EventType> {
    let text = v.get();
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    EventType::parse(inner)
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// The high bit of every byte of `x` that is `"`, `\` or a control character; the lowest one
/// flagged is always a real one (borrows only move upward).
#[inline]
fn special_bytes(x: u64) -> u64 {
    let quote = x ^ (LO * u64::from(b'"'));
    let backslash = x ^ (LO * u64::from(b'\\'));
    ((quote.wrapping_sub(LO) & !quote)
        | (backslash.wrapping_sub(LO) & !backslash)
        | (x.wrapping_sub(LO * 0x20) & !x))
        & HI
}

/// `a == b` for the short keys of events, without a call to `memcmp`: overlapping loads of
/// the first and last bytes.
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    fn word<const W: usize>(s: &[u8], at: usize) -> [u8; W] {
        let mut w = [0; W];
        w.copy_from_slice(&s[at..at + W]);
        w
    }
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => word::<4>(a, 0) == word::<4>(b, 0) && word::<4>(a, n - 4) == word::<4>(b, n - 4),
        8..=16 => word::<8>(a, 0) == word::<8>(b, 0) && word::<8>(a, n - 8) == word::<8>(b, n - 8),
        _ => a == b,
    }
}

impl<'a> Scanner<'a> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    #[inline]
    fn whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// Consumes `byte` (after optional whitespace was skipped by the caller).
    #[inline]
    fn eat(&mut self, byte: u8) -> Option<()> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Some(())
        } else {
            None
        }
    }

    /// The object at `pos`, collecting `names` into `values` (as long as `names`, at most 64,
    /// all `None` on entry).
    fn object(
        &mut self,
        names: &[&'static str],
        values: &mut [Option<Json<'a>>],
        mut nested: Option<&mut Nested<'a, '_>>,
    ) -> Option<()> {
        self.eat(b'{')?;
        let mut seen: u64 = 0;
        let mut unknown = [(0usize, 0usize); MAX_UNKNOWN];
        let mut unknown_len = 0;
        // Producers mostly write keys in one fixed order: try the one after the last match
        // first.
        let mut hint = 0;
        self.whitespace();
        if self.eat(b'}').is_some() {
            return Some(());
        }
        loop {
            // The expected key, spelled out and closed, is that key (names hold no escapes and
            // no control characters); anything else is read as a string and looked up.
            let (index, key_start, key_end) = match names.get(hint) {
                Some(n) if self.at_key(n.as_bytes()) => {
                    let start = self.pos + 1;
                    self.pos = start + n.len() + 1;
                    (Some(hint), start, start + n.len())
                }
                _ => {
                    let (start, end) = self.string()?;
                    let key = &self.bytes[start..end];
                    let index = names.iter().position(|n| same(n.as_bytes(), key));
                    (index, start, end)
                }
            };
            let key = &self.bytes[key_start..key_end];
            self.whitespace();
            self.eat(b':')?;
            self.whitespace();
            let value_start = self.pos;
            match nested.as_deref_mut() {
                Some(n)
                    if index == Some(n.keys.data_index)
                        && n.found.is_none()
                        && self.peek() == Some(b'{') =>
                {
                    match values[n.keys.type_index].and_then(event_type) {
                        Some(ty) => {
                            let (names, values) = n.found.insert(Payload::new(ty)).slots();
                            self.object(names, values, None)?;
                        }
                        None => self.value(1)?,
                    }
                }
                _ => self.member_value()?,
            }
            let value = self.text.get(value_start..self.pos)?;
            match index {
                Some(i) => {
                    if seen & (1 << i) != 0 {
                        return None;
                    }
                    seen |= 1 << i;
                    hint = i + 1;
                    if value != "null" {
                        values[i] = Some(Json::plain(value));
                    }
                }
                None => {
                    let known = &unknown[..unknown_len];
                    if unknown_len == MAX_UNKNOWN
                        || known.iter().any(|&(s, e)| same(&self.bytes[s..e], key))
                    {
                        return None;
                    }
                    unknown[unknown_len] = (key_start, key_end);
                    unknown_len += 1;
                    if let Some(n) = nested.as_deref_mut() {
                        let rest = &mut *n.rest;
                        debug_assert_eq!(rest.unknown_len + 1, unknown_len);
                        // In range: the text's length fits a u32 (checked on entry).
                        rest.unknown[rest.unknown_len] =
                            [key_start, key_end, value_start, self.pos].map(|i| i as u32);
                        rest.unknown_len += 1;
                    }
                }
            }
            self.whitespace();
            match self.peek()? {
                b',' => {
                    self.pos += 1;
                    self.whitespace();
                }
                b'}' => {
                    self.pos += 1;
                    if let Some(n) = nested {
                        n.rest.present = seen;
                    }
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Whether the string at `pos` is exactly `"name"`.
    #[inline]
    fn at_key(&self, name: &[u8]) -> bool {
        let start = self.pos + 1;
        let end = start + name.len();
        self.peek() == Some(b'"')
            && self.bytes.get(end) == Some(&b'"')
            && same(&self.bytes[start..end], name)
    }

    /// [`Self::value`] for a member of the object being collected, with the common kinds
    /// (strings and numbers) read in place.
    #[inline(always)]
    fn member_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'-' | b'0'..=b'9' => self.number(),
            _ => self.value(1),
        }
    }

    /// Skips one value at `pos`, checking it.
    fn value(&mut self, depth: u32) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' => self.skip_object(depth),
            b'[' => self.skip_array(depth),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn skip_object(&mut self, depth: u32) -> Option<()> {
        if depth >= MAX_DEPTH {
            return None;
        }
        self.pos += 1;
        self.whitespace();
        if self.eat(b'}').is_some() {
            return Some(());
        }
        loop {
            self.string()?;
            self.whitespace();
            self.eat(b':')?;
            self.whitespace();
            self.value(depth + 1)?;
            self.whitespace();
            match self.peek()? {
                b',' => {
                    self.pos += 1;
                    self.whitespace();
                }
                b'}' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn skip_array(&mut self, depth: u32) -> Option<()> {
        if depth >= MAX_DEPTH {
            return None;
        }
        self.pos += 1;
        self.whitespace();
        if self.eat(b']').is_some() {
            return Some(());
        }
        loop {
            self.value(depth + 1)?;
            self.whitespace();
            match self.peek()? {
                b',' => {
                    self.pos += 1;
                    self.whitespace();
                }
                b']' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if self.bytes.get(self.pos..self.pos + word.len())? == word {
            self.pos += word.len();
            Some(())
        } else {
            None
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    #[inline]
    fn number(&mut self) -> Option<()> {
        let b = self.bytes;
        let digit = |i: usize| matches!(b.get(i), Some(b'0'..=b'9'));
        let mut i = self.pos;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i)? {
            b'0' => {
                i += 1;
                if digit(i) {
                    return None;
                }
            }
            b'1'..=b'9' => {
                i += 1;
                while digit(i) {
                    i += 1;
                }
            }
            _ => return None,
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            if !digit(i) {
                return None;
            }
            while digit(i) {
                i += 1;
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if !digit(i) {
                return None;
            }
            while digit(i) {
                i += 1;
            }
        }
        self.pos = i;
        Some(())
    }

    /// The string at `pos` (which must start it): the range of its contents. Declines a
    /// string with an escape or a control character, and an unterminated one.
    #[inline]
    fn string(&mut self) -> Option<(usize, usize)> {
        if self.peek() != Some(b'"') {
            return None;
        }
        let b = self.bytes;
        let start = self.pos + 1;
        let mut i = start;
        while let Some(chunk) = b.get(i..i + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let found = special_bytes(u64::from_le_bytes(word));
            if found != 0 {
                i += (found.trailing_zeros() / 8) as usize;
                return self.close_string(start, i);
            }
            i += 8;
        }
        while let Some(&c) = b.get(i) {
            if c == b'"' || c == b'\\' || c < 0x20 {
                return self.close_string(start, i);
            }
            i += 1;
        }
        None
    }

    #[inline]
    fn close_string(&mut self, start: usize, at: usize) -> Option<(usize, usize)> {
        if self.bytes[at] == b'"' {
            self.pos = at + 1;
            Some((start, at))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a, const N: usize>(
        text: &'a str,
        names: &[&'static str; N],
    ) -> Option<[Option<&'a str>; N]> {
        collect(text, names).map(|v| v.map(|o| o.map(Json::get)))
    }

    #[test]
    fn same_is_equality() {
        let words: Vec<Vec<u8>> = (0..20)
            .flat_map(|n| {
                let base: Vec<u8> = (0..n).map(|i| b'a' + i as u8).collect();
                let mut out = vec![base.clone()];
                for i in 0..n {
                    let mut v = base.clone();
                    v[i] = b'_';
                    out.push(v);
                }
                out
            })
            .collect();
        for a in &words {
            for b in &words {
                assert_eq!(same(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn collects_known_keys() {
        let names = ["a", "b", "c", "d"];
        assert_eq!(
            get(
                " {\"b\" : [1, {\"x\":null}] ,\"a\":\"s\u{e9}\",\"z\":-0.5e+3,\"c\":null}\n",
                &names
            ),
            Some([Some("\"s\u{e9}\""), Some("[1, {\"x\":null}]"), None, None])
        );
        assert_eq!(get("{}", &names), Some([None; 4]));
        assert_eq!(
            get("{\"a\":true,\"q\":false}", &names).unwrap()[0],
            Some("true")
        );
    }

    #[test]
    fn declines_what_it_cannot_vouch_for() {
        let names = ["a", "b"];
        let declined = [
            "",
            "[]",
            "{",
            "{\"a\":1,}",
            "{\"a\":1} x",
            "{\"a\":01}",
            "{\"a\":1.}",
            "{\"a\":.5}",
            "{\"a\":1e}",
            "{\"a\":-}",
            "{\"a\":+1}",
            "{\"a\":nul}",
            "{\"a\":\"x\\ny\"}",
            "{\"a\\u0062\":1}",
            "{\"a\":\"x\ty\"}",
            "{\"a\":1,\"a\":2}",
            "{\"q\":1,\"q\":2}",
            "{\"a\":[1,]}",
            "{\"a\":{\"k\":}}",
            "{\"a\":\"unterminated}",
            "{\"1\":1,\"2\":1,\"3\":1,\"4\":1,\"5\":1,\"6\":1,\"7\":1,\"8\":1,\"9\":1}",
        ];
        for text in declined {
            assert_eq!(get(text, &names), None, "{text:?}");
        }
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(40), "]".repeat(40));
        assert_eq!(get(&deep, &names), None);
        let shallow = format!("{{\"a\":{}{}}}", "[".repeat(20), "]".repeat(20));
        assert!(get(&shallow, &names).is_some());
    }
}
