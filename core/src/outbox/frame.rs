//! One effect as the effect log stores it: a fixed head and the CloudEvents JSON, checked by a
//! CRC32C over the whole frame but the checksum itself.
//!
//! # Layout (integers little endian)
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 4 | JSON bytes `n` (u32, at most [`MAX_EFFECT_JSON_BYTES`]) |
//! | 4 | 4 | CRC32C of bytes 0..4 and 8..56+n |
//! | 8 | 8 | effect seq |
//! | 16 | 8 | cause LSN |
//! | 24 | 8 | time (µs since the epoch, i64) |
//! | 32 | 1 | effect type code ([`EffectType::code`]) |
//! | 33 | 7 | reserved, zero |
//! | 40 | 16 | idempotency key |
//! | 56 | n | the CloudEvents JSON object |
//!
//! The length comes first so a reader knows how much to read before it can check anything; a
//! length over the limit is damage (or a torn write), never an allocation.

use crate::effect::{EffectKey, EffectOut, EffectType};

/// Bytes of a frame's fixed head.
#[doc(hidden)]
pub const FRAME_HEADER_BYTES: usize = 56;
/// Largest CloudEvents JSON the log holds (an effect carries strings of at most one event,
/// 64 KiB, which JSON escaping can grow at most sixfold).
pub const MAX_EFFECT_JSON_BYTES: usize = 1 << 20;
/// Largest frame.
pub const MAX_FRAME_BYTES: usize = FRAME_HEADER_BYTES + MAX_EFFECT_JSON_BYTES;

const OFF_CRC: usize = 4;
const OFF_SEQ: usize = 8;
const OFF_CAUSE: usize = 16;
const OFF_TIME: usize = 24;
const OFF_TYPE: usize = 32;
const OFF_RESERVED: usize = 33;
const OFF_KEY: usize = 40;
const _: () = assert!(OFF_KEY + 16 == FRAME_HEADER_BYTES);

/// The fixed fields of a frame (its JSON stays where it was read).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHead {
    pub seq: u64,
    pub cause_lsn: u64,
    pub time_us: i64,
    pub effect_type: EffectType,
    pub key: EffectKey,
    pub json_bytes: u32,
}

impl FrameHead {
    /// Bytes of the whole frame.
    pub fn frame_bytes(&self) -> usize {
        FRAME_HEADER_BYTES + self.json_bytes as usize
    }

    /// The effect, with its JSON.
    pub fn to_effect(&self, json: &[u8]) -> EffectOut {
        debug_assert_eq!(json.len(), self.json_bytes as usize);
        EffectOut {
            seq: self.seq,
            cause_lsn: self.cause_lsn,
            time_us: self.time_us,
            effect_type: self.effect_type,
            key: self.key,
            json: json.to_vec(),
        }
    }
}

fn crc(frame: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&frame[..OFF_CRC]), &frame[OFF_SEQ..])
}

/// Appends the frame of `e` to `out`. The caller checked the JSON's size.
pub(crate) fn encode(e: &EffectOut, out: &mut Vec<u8>) {
    assert!(
        e.json.len() <= MAX_EFFECT_JSON_BYTES,
        "checked by the caller"
    );
    let start = out.len();
    out.extend_from_slice(&(e.json.len() as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&e.seq.to_le_bytes());
    out.extend_from_slice(&e.cause_lsn.to_le_bytes());
    out.extend_from_slice(&e.time_us.to_le_bytes());
    out.push(e.effect_type.code());
    out.extend_from_slice(&[0; 7]);
    out.extend_from_slice(&e.key.0);
    out.extend_from_slice(&e.json);
    let sum = crc(&out[start..]);
    out[start + OFF_CRC..start + OFF_CRC + 4].copy_from_slice(&sum.to_le_bytes());
    debug_assert_eq!(out.len() - start, FRAME_HEADER_BYTES + e.json.len());
}

/// The JSON length a head announces, or why it cannot be a frame's.
pub(crate) fn announced_json_bytes(head: &[u8]) -> Result<usize, String> {
    debug_assert!(head.len() >= 4);
    let n = u32::from_le_bytes(head[..4].try_into().expect("4 bytes")) as usize;
    if n > MAX_EFFECT_JSON_BYTES {
        return Err(format!(
            "frame announces {n} bytes of JSON, over the limit of {MAX_EFFECT_JSON_BYTES}"
        ));
    }
    Ok(n)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Decodes a whole frame (`frame.len()` = head + announced JSON) and checks its checksum,
/// type code and reserved bytes.
pub(crate) fn decode(frame: &[u8]) -> Result<FrameHead, String> {
    debug_assert!(frame.len() >= FRAME_HEADER_BYTES);
    let json_bytes = announced_json_bytes(frame)?;
    debug_assert_eq!(frame.len(), FRAME_HEADER_BYTES + json_bytes);
    let stored = u32::from_le_bytes(frame[OFF_CRC..OFF_CRC + 4].try_into().expect("4 bytes"));
    if crc(frame) != stored {
        return Err("frame checksum mismatch".into());
    }
    if frame[OFF_RESERVED..OFF_KEY].iter().any(|&b| b != 0) {
        return Err("reserved bytes of a frame are not zero".into());
    }
    let effect_type = EffectType::from_code(frame[OFF_TYPE])
        .ok_or_else(|| format!("unknown effect type code {}", frame[OFF_TYPE]))?;
    let mut key = [0u8; 16];
    key.copy_from_slice(&frame[OFF_KEY..OFF_KEY + 16]);
    Ok(FrameHead {
        seq: u64_at(frame, OFF_SEQ),
        cause_lsn: u64_at(frame, OFF_CAUSE),
        time_us: u64_at(frame, OFF_TIME) as i64,
        effect_type,
        key: EffectKey(key),
        json_bytes: json_bytes as u32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn effect(seq: u64, json: &[u8]) -> EffectOut {
        EffectOut {
            seq,
            cause_lsn: 7,
            time_us: -3,
            effect_type: EffectType::AlertGap,
            key: EffectKey([9; 16]),
            json: json.to_vec(),
        }
    }

    #[test]
    fn a_frame_round_trips_and_any_flipped_bit_is_caught() {
        let e = effect(42, br#"{"id":"x"}"#);
        let mut buf = Vec::new();
        encode(&e, &mut buf);
        let head = decode(&buf).unwrap();
        assert_eq!(head.to_effect(&buf[FRAME_HEADER_BYTES..]), e);
        for bit in 0..buf.len() * 8 {
            let mut bad = buf.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            let len_changed = bit < 32;
            if len_changed {
                continue; // a different length reads a different extent; covered by readers
            }
            assert!(decode(&bad).is_err(), "bit {bit}");
        }
    }

    #[test]
    fn an_oversized_length_is_refused_before_reading() {
        let mut head = [0u8; FRAME_HEADER_BYTES];
        head[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(announced_json_bytes(&head).is_err());
    }
}
