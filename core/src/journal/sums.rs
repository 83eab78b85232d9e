//! The per-payload sums a record needs: computed once per payload, on whichever thread has the
//! payload first (the pipeline's producer threads), so the single writer only hashes a fixed
//! 53-byte input and a 44-byte header.

use xxhash_rust::xxh3::xxh3_128;

/// The sums of one payload: its CRC32C (stored in the frame header) and its XXH3-128 digest
/// (an input of the chain link, see [`super::chain::next_link_summed`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PayloadSums {
    /// CRC32C (Castagnoli) of the payload bytes.
    pub crc32c: u32,
    /// XXH3-128 of the payload bytes, the u128 as little-endian bytes.
    pub xxh3_128: [u8; 16],
}

impl PayloadSums {
    /// Computes both sums of `payload`. No allocation.
    #[inline]
    pub fn of(payload: &[u8]) -> PayloadSums {
        PayloadSums {
            crc32c: crc32c::crc32c(payload),
            xxh3_128: payload_digest(payload),
        }
    }
}

/// XXH3-128 of a payload, as stored bytes (the u128 little endian).
#[inline]
pub fn payload_digest(payload: &[u8]) -> [u8; 16] {
    xxh3_128(payload).to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_are_crc32c_and_xxh3_128() {
        let payload = b"abc";
        let s = PayloadSums::of(payload);
        // Check value of CRC-32C (Castagnoli) for "123456789" is 0xE3069283.
        assert_eq!(PayloadSums::of(b"123456789").crc32c, 0xE306_9283);
        assert_eq!(s.xxh3_128, xxh3_128(payload).to_le_bytes());
        assert_ne!(s, PayloadSums::of(b"abd"));
    }
}
