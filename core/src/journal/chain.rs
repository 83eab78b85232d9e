//! The hash chain: each record's link covers the previous link and the record itself, so any
//! edit, removal or reordering of records changes every later link.
//!
//! The link is XXH3-128, a fast non-cryptographic hash: it detects accidents and careless
//! edits, and it is cheap enough to compute on the writer for every record. It is no proof
//! against a forger (nor would a cryptographic link be, without a secret or an anchor kept
//! elsewhere: anyone can recompute a keyless chain); that is the job of the BLAKE3 content
//! digest that [`super::verify`] computes (see the `journal` module docs).

use xxhash_rust::xxh3::{Xxh3Default, xxh3_128};

use super::RecordKind;

/// Bytes of a chain link (an XXH3-128 hash, little endian).
pub const LINK_BYTES: usize = 16;

/// A chain link.
pub type Link = [u8; LINK_BYTES];

/// The link "before" LSN 1.
pub const GENESIS_LINK: Link = [0; LINK_BYTES];

/// Bytes hashed before the payload: previous link, lsn, ingest_us, kind, payload_len.
const PREFIX_BYTES: usize = LINK_BYTES + 8 + 8 + 1 + 4;

/// Inputs up to this size are hashed in one shot from a stack copy (XXH3's short-input paths
/// end at 240 bytes); longer ones go through the streaming hasher. Both give the same hash.
const ONE_SHOT_MAX_BYTES: usize = 240;

/// `link(n) = XXH3-128(link(n-1) || lsn || ingest_us || kind || payload_len || payload)`,
/// integers little endian, `payload_len` as u32, the hash stored as the little-endian bytes
/// of the u128. No allocation.
#[inline]
pub fn next_link(prev: &Link, lsn: u64, ingest_us: i64, kind: RecordKind, payload: &[u8]) -> Link {
    let payload_len =
        u32::try_from(payload.len()).expect("payload length is bounded by MAX_PAYLOAD_BYTES");
    let mut prefix = [0u8; PREFIX_BYTES];
    prefix[..16].copy_from_slice(prev);
    prefix[16..24].copy_from_slice(&lsn.to_le_bytes());
    prefix[24..32].copy_from_slice(&ingest_us.to_le_bytes());
    prefix[32] = kind.0;
    prefix[33..37].copy_from_slice(&payload_len.to_le_bytes());
    let total = PREFIX_BYTES + payload.len();
    let hash = if total <= ONE_SHOT_MAX_BYTES {
        let mut input = [0u8; ONE_SHOT_MAX_BYTES];
        input[..PREFIX_BYTES].copy_from_slice(&prefix);
        input[PREFIX_BYTES..total].copy_from_slice(payload);
        xxh3_128(&input[..total])
    } else {
        let mut h = Xxh3Default::new();
        h.update(&prefix);
        h.update(payload);
        h.digest128()
    };
    hash.to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_depends_on_every_input() {
        let base = next_link(&GENESIS_LINK, 1, 10, RecordKind::ENTRY, b"abc");
        assert_eq!(
            base,
            next_link(&GENESIS_LINK, 1, 10, RecordKind::ENTRY, b"abc")
        );
        assert_ne!(base, next_link(&[1; 16], 1, 10, RecordKind::ENTRY, b"abc"));
        assert_ne!(
            base,
            next_link(&GENESIS_LINK, 2, 10, RecordKind::ENTRY, b"abc")
        );
        assert_ne!(
            base,
            next_link(&GENESIS_LINK, 1, 11, RecordKind::ENTRY, b"abc")
        );
        assert_ne!(base, next_link(&GENESIS_LINK, 1, 10, RecordKind(2), b"abc"));
        assert_ne!(
            base,
            next_link(&GENESIS_LINK, 1, 10, RecordKind::ENTRY, b"abd")
        );
        assert_ne!(
            base,
            next_link(&GENESIS_LINK, 1, 10, RecordKind::ENTRY, b"abc\0")
        );
    }

    /// The definition, spelled out with the one-shot hash over the concatenated input, on
    /// both sides of the one-shot/streaming boundary.
    #[test]
    fn link_is_xxh3_128_of_the_documented_input() {
        for len in [1usize, 100, 202, 203, 204, 240, 1000, 70_000] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 31 + 7) as u8).collect();
            let prev = [0xA5u8; 16];
            let mut input = Vec::new();
            input.extend_from_slice(&prev);
            input.extend_from_slice(&42u64.to_le_bytes());
            input.extend_from_slice(&(-5i64).to_le_bytes());
            input.push(1);
            input.extend_from_slice(&(len as u32).to_le_bytes());
            input.extend_from_slice(&payload);
            assert_eq!(
                next_link(&prev, 42, -5, RecordKind::ENTRY, &payload),
                xxh3_128(&input).to_le_bytes(),
                "payload of {len} bytes"
            );
        }
    }
}
