//! The hash chain: each record's link covers the previous link and the record itself, so any
//! edit, removal or reordering of records changes every later link.
//!
//! The link is XXH3-128, a fast non-cryptographic hash: it detects accidents and careless
//! edits, and it is cheap enough to compute on the writer for every record. It is no proof
//! against a forger (nor would a cryptographic link be, without a secret or an anchor kept
//! elsewhere: anyone can recompute a keyless chain); that is the job of the BLAKE3 content
//! digest that `super::verify` computes (see the `journal` module docs).
//!
//! The payload enters the link through its XXH3-128 digest ([`super::PayloadSums`]), so the
//! link itself is a hash of a fixed 53-byte input, and the payload's digest can be computed
//! ahead, on another thread, once per payload.

use xxhash_rust::xxh3::xxh3_128;

use super::RecordKind;
use super::sums::payload_digest;

/// Bytes of a chain link (an XXH3-128 hash, little endian).
pub const LINK_BYTES: usize = 16;

/// A chain link.
pub type Link = [u8; LINK_BYTES];

/// The link "before" LSN 1.
pub const GENESIS_LINK: Link = [0; LINK_BYTES];

/// Bytes hashed for one link: previous link, lsn, ingest_us, kind, payload_len, payload digest.
pub const LINK_INPUT_BYTES: usize = LINK_BYTES + 8 + 8 + 1 + 4 + 16;

/// `link(n) = XXH3-128(link(n-1) || lsn || ingest_us || kind || payload_len || payload_xxh3)`
/// where `payload_xxh3` is the XXH3-128 of the payload; integers little endian, `payload_len`
/// as u32, both hashes as the little-endian bytes of their u128. No allocation.
#[inline]
pub fn next_link_summed(
    prev: &Link,
    lsn: u64,
    ingest_us: i64,
    kind: RecordKind,
    payload_len: usize,
    payload_xxh3: &[u8; 16],
) -> Link {
    let payload_len =
        u32::try_from(payload_len).expect("payload length is bounded by MAX_PAYLOAD_BYTES");
    let mut input = [0u8; LINK_INPUT_BYTES];
    input[..16].copy_from_slice(prev);
    input[16..24].copy_from_slice(&lsn.to_le_bytes());
    input[24..32].copy_from_slice(&ingest_us.to_le_bytes());
    input[32] = kind.0;
    input[33..37].copy_from_slice(&payload_len.to_le_bytes());
    input[37..53].copy_from_slice(payload_xxh3);
    xxh3_128(&input).to_le_bytes()
}

/// [`next_link_summed`] with the payload's digest computed here.
#[inline]
pub fn next_link(prev: &Link, lsn: u64, ingest_us: i64, kind: RecordKind, payload: &[u8]) -> Link {
    next_link_summed(
        prev,
        lsn,
        ingest_us,
        kind,
        payload.len(),
        &payload_digest(payload),
    )
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
        // The length is an input of its own, next to the digest.
        let digest = payload_digest(b"abc");
        assert_ne!(
            base,
            next_link_summed(&GENESIS_LINK, 1, 10, RecordKind::ENTRY, 4, &digest)
        );
    }

    /// The definition, spelled out with the one-shot hash over the concatenated input.
    #[test]
    fn link_is_xxh3_128_of_the_documented_input() {
        for len in [1usize, 100, 202, 203, 240, 1000, 70_000] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 31 + 7) as u8).collect();
            let prev = [0xA5u8; 16];
            let mut input = Vec::new();
            input.extend_from_slice(&prev);
            input.extend_from_slice(&42u64.to_le_bytes());
            input.extend_from_slice(&(-5i64).to_le_bytes());
            input.push(1);
            input.extend_from_slice(&(len as u32).to_le_bytes());
            input.extend_from_slice(&xxh3_128(&payload).to_le_bytes());
            assert_eq!(input.len(), LINK_INPUT_BYTES);
            let expected = xxh3_128(&input).to_le_bytes();
            assert_eq!(
                next_link(&prev, 42, -5, RecordKind::ENTRY, &payload),
                expected,
                "payload of {len} bytes"
            );
            assert_eq!(
                next_link_summed(
                    &prev,
                    42,
                    -5,
                    RecordKind::ENTRY,
                    len,
                    &xxh3_128(&payload).to_le_bytes()
                ),
                expected
            );
        }
    }
}
