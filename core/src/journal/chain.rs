//! The hash chain: each record's link covers the previous link and the record itself, so any
//! edit, removal or reordering of records changes every later link.

use super::RecordKind;

/// Bytes of a chain link (a truncated BLAKE3 hash).
pub const LINK_BYTES: usize = 16;

/// A chain link.
pub type Link = [u8; LINK_BYTES];

/// The link "before" LSN 1.
pub const GENESIS_LINK: Link = [0; LINK_BYTES];

/// Bytes hashed before the payload: link, lsn, ingest_us, kind, payload_len.
const PREFIX_BYTES: usize = LINK_BYTES + 8 + 8 + 1 + 4;

/// `link(n) = BLAKE3(link(n-1) || lsn || ingest_us || kind || payload_len || payload)[..16]`,
/// integers little endian, `payload_len` as u32.
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
    let mut hasher = blake3::Hasher::new();
    hasher.update(&prefix);
    hasher.update(payload);
    let hash = hasher.finalize();
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
    }
}
