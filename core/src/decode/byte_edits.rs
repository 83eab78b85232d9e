//! Byte-level edits of an encoded event, for the mutation property tests of the decoder (the
//! unit tests beside the fast scanner and `tests/decode_cases.rs`, which includes this file).
//! Indexes wrap around the current length, so any edit applies to any input.

/// One edit; see [`apply`].
#[derive(Debug, Clone)]
pub enum Edit {
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Splice(usize, &'static str),
    /// Copies `len` bytes at the first index to the second (duplicates keys and values).
    Copy(usize, usize, usize),
    /// Replaces the token (a run of `[0-9A-Za-z.+-]`) around the index.
    Token(usize, &'static str),
}

/// `bytes` with `edits` applied in order.
pub fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let n = bytes.len().max(1);
        match e {
            Edit::Set(i, b) => {
                if !bytes.is_empty() {
                    bytes[i % n] = *b;
                }
            }
            Edit::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), *b),
            Edit::Delete(i) => {
                if !bytes.is_empty() {
                    bytes.remove(i % n);
                }
            }
            Edit::Splice(i, s) => {
                let at = i % (bytes.len() + 1);
                bytes.splice(at..at, s.bytes());
            }
            Edit::Copy(from, to, len) => {
                let from = from % n;
                let piece: Vec<u8> = bytes.iter().skip(from).take(*len).copied().collect();
                let at = to % (bytes.len() + 1);
                bytes.splice(at..at, piece);
            }
            Edit::Token(i, t) => {
                let word = |b: &u8| b.is_ascii_alphanumeric() || b".+-".contains(b);
                let at = i % n;
                let mut start = at.min(bytes.len());
                while start > 0 && word(&bytes[start - 1]) {
                    start -= 1;
                }
                let mut end = start;
                while end < bytes.len() && word(&bytes[end]) {
                    end += 1;
                }
                bytes.splice(start..end, t.bytes());
            }
        }
    }
    bytes
}
