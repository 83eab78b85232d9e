//! The hash chain: each record's link covers the previous link and the record itself, so any
//! edit, removal or reordering of records changes every later link.

use super::RecordKind;

/// Bytes of a chain link (a truncated BLAKE3 hash).
pub const LINK_BYTES: usize = 16;

/// A chain link.
pub type Link = [u8; LINK_BYTES];

/// The link "before" LSN 1.
pub const GENESIS_LINK: Link = [0; LINK_BYTES];

/// Bytes of a payload digest (a truncated BLAKE3 hash of the payload alone).
pub const PAYLOAD_DIGEST_BYTES: usize = 16;

/// The payload's digest, `BLAKE3(payload)[..16]`. It depends on the payload alone, so any thread
/// may compute it ahead of the writer (e.g. the one that encoded the payload).
pub type PayloadDigest = [u8; PAYLOAD_DIGEST_BYTES];

/// Bytes hashed per link: link, lsn, ingest_us, kind, payload_len, payload digest (one BLAKE3
/// block, so the writer's part of the chain costs one compression whatever the payload size).
const LINK_INPUT_BYTES: usize = LINK_BYTES + 8 + 8 + 1 + 4 + PAYLOAD_DIGEST_BYTES;

const _: () = assert!(LINK_INPUT_BYTES <= 64);

/// `BLAKE3(payload)[..16]`.
#[inline]
pub fn payload_digest(payload: &[u8]) -> PayloadDigest {
    let hash = blake3::hash(payload);
    let mut d = [0u8; PAYLOAD_DIGEST_BYTES];
    d.copy_from_slice(&hash.as_bytes()[..PAYLOAD_DIGEST_BYTES]);
    d
}

/// `link(n) = BLAKE3(link(n-1) || lsn || ingest_us || kind || payload_len || BLAKE3(payload)[..16])[..16]`,
/// integers little endian, `payload_len` as u32.
#[inline]
pub fn next_link(prev: &Link, lsn: u64, ingest_us: i64, kind: RecordKind, payload: &[u8]) -> Link {
    let payload_len =
        u32::try_from(payload.len()).expect("payload length is bounded by MAX_PAYLOAD_BYTES");
    next_link_prehashed(
        prev,
        lsn,
        ingest_us,
        kind,
        payload_len,
        &payload_digest(payload),
    )
}

/// [`next_link`] from the payload's length and [`payload_digest`] (the writer's cheap step:
/// one BLAKE3 block).
#[inline]
pub fn next_link_prehashed(
    prev: &Link,
    lsn: u64,
    ingest_us: i64,
    kind: RecordKind,
    payload_len: u32,
    digest: &PayloadDigest,
) -> Link {
    let mut input = [0u8; LINK_INPUT_BYTES];
    input[..16].copy_from_slice(prev);
    input[16..24].copy_from_slice(&lsn.to_le_bytes());
    input[24..32].copy_from_slice(&ingest_us.to_le_bytes());
    input[32] = kind.0;
    input[33..37].copy_from_slice(&payload_len.to_le_bytes());
    input[37..].copy_from_slice(digest);
    let hash = blake3::hash(&input);
    let mut link = GENESIS_LINK;
    link.copy_from_slice(&hash.as_bytes()[..LINK_BYTES]);
    link
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
        assert_eq!(
            base,
            next_link_prehashed(
                &GENESIS_LINK,
                1,
                10,
                RecordKind::ENTRY,
                3,
                &payload_digest(b"abc")
            )
        );
    }
}
