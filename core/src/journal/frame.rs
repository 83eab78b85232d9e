//! The record frame: layout, encoding into a mapping, and validation.

use super::RecordKind;
use super::chain::{LINK_BYTES, Link};

/// Frames start at, and payloads sit on, multiples of this.
pub const FRAME_ALIGN_BYTES: usize = 16;
/// Bytes of the frame header; the payload starts here (16-byte aligned).
pub const FRAME_HEADER_BYTES: usize = 48;
/// Largest payload the journal accepts (a segment may lower it: a record must fit in an empty
/// segment).
pub const MAX_PAYLOAD_BYTES: usize = 1 << 20;

const OFF_LEN: usize = 0;
const OFF_PAYLOAD_CRC: usize = 4;
const OFF_LSN: usize = 8;
const OFF_INGEST: usize = 16;
const OFF_LINK: usize = 24;
const OFF_KIND: usize = 40;
const OFF_RESERVED: usize = 41;
const OFF_HEADER_CRC: usize = 44;

const _: () = assert!(FRAME_HEADER_BYTES.is_multiple_of(FRAME_ALIGN_BYTES));
const _: () = assert!(OFF_LINK + LINK_BYTES == OFF_KIND);
const _: () = assert!(OFF_HEADER_CRC + 4 == FRAME_HEADER_BYTES);
const _: () = assert!(MAX_PAYLOAD_BYTES <= u32::MAX as usize);

/// Rounds up to the frame alignment.
#[inline]
pub const fn align_up(n: usize) -> usize {
    (n + FRAME_ALIGN_BYTES - 1) & !(FRAME_ALIGN_BYTES - 1)
}

/// Bytes a record with this payload occupies, padding included.
#[inline]
pub const fn frame_bytes(payload_len: usize) -> usize {
    align_up(FRAME_HEADER_BYTES + payload_len)
}

/// A decoded frame borrowing its payload from the segment.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Frame<'a> {
    pub lsn: u64,
    pub ingest_us: i64,
    pub link: Link,
    pub kind: RecordKind,
    pub payload: &'a [u8],
}

impl Frame<'_> {
    /// Bytes this frame occupies.
    pub fn bytes(&self) -> usize {
        frame_bytes(self.payload.len())
    }
}

/// Why a position does not hold a valid frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bad {
    /// Length field 0: no record here.
    Empty,
    /// Length above the limit.
    TooLong(u32),
    /// The frame would run past the segment end.
    PastEnd(u32),
    /// The header CRC does not match the header bytes.
    HeaderCrc,
    /// The header is sound but the payload CRC it stores does not match the payload.
    PayloadCrc,
    Kind,
    Reserved,
    Padding,
}

impl Bad {
    pub fn describe(self) -> String {
        match self {
            Bad::Empty => "no record (zero length field)".to_owned(),
            Bad::TooLong(len) => format!("payload length {len} exceeds the limit"),
            Bad::PastEnd(len) => format!("payload length {len} runs past the segment end"),
            Bad::HeaderCrc => "header crc mismatch".to_owned(),
            Bad::PayloadCrc => "payload crc mismatch".to_owned(),
            Bad::Kind => "record kind 0".to_owned(),
            Bad::Reserved => "reserved header bytes are not zero".to_owned(),
            Bad::Padding => "padding after the payload is not zero".to_owned(),
        }
    }
}

#[inline]
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

#[inline]
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// The header CRC: CRC32C of header bytes `0..44` (the length, the payload CRC and every
/// field after it). It runs for every record on the writer and on every scan, and a general
/// CRC32C call costs about 150 instructions of setup for 44 bytes, so on x86-64 with SSE4.2
/// (detected at run time, cached by std) it is six `crc32` instructions inline.
#[inline]
fn header_crc(header: &[u8]) -> u32 {
    let h: &[u8; OFF_HEADER_CRC] = header[..OFF_HEADER_CRC]
        .try_into()
        .expect("44 header bytes");
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("sse4.2") {
        // SAFETY: SSE4.2 is available, checked just above.
        return unsafe { header_crc_sse42(h) };
    }
    crc32c::crc32c(h)
}

/// CRC32C (Castagnoli, reflected, initial value and final xor all ones) of the 44 header bytes
/// with the SSE4.2 `crc32` instruction: five 8-byte words and one 4-byte word.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2")]
#[inline]
fn header_crc_sse42(h: &[u8; OFF_HEADER_CRC]) -> u32 {
    use std::arch::x86_64::{_mm_crc32_u32, _mm_crc32_u64};
    let word = |at: usize| u64::from_le_bytes(h[at..at + 8].try_into().expect("8 bytes"));
    let mut crc = u64::from(u32::MAX);
    for at in (0..40).step_by(8) {
        crc = _mm_crc32_u64(crc, word(at));
    }
    let last = u32::from_le_bytes(h[40..44].try_into().expect("4 bytes"));
    !_mm_crc32_u32(crc as u32, last)
}

/// Writes one frame into `dst`, which is exactly `frame_bytes(payload.len())` long and zero
/// (the segment region after the write offset is always zero). `payload_crc` is the payload's
/// CRC32C (computed by the caller, possibly on another thread). No allocation.
#[inline]
pub(crate) fn write(
    dst: &mut [u8],
    lsn: u64,
    ingest_us: i64,
    link: &Link,
    kind: RecordKind,
    payload: &[u8],
    payload_crc: u32,
) {
    let payload_len = payload.len();
    debug_assert!(payload_len > 0 && payload_len <= MAX_PAYLOAD_BYTES);
    debug_assert_eq!(dst.len(), frame_bytes(payload_len));
    debug_assert!(dst.iter().all(|&b| b == 0), "frame target is not zero");
    debug_assert!(kind.is_valid());
    let mut header = [0u8; FRAME_HEADER_BYTES];
    header[OFF_LEN..OFF_LEN + 4].copy_from_slice(&(payload_len as u32).to_le_bytes());
    header[OFF_PAYLOAD_CRC..OFF_PAYLOAD_CRC + 4].copy_from_slice(&payload_crc.to_le_bytes());
    header[OFF_LSN..OFF_LSN + 8].copy_from_slice(&lsn.to_le_bytes());
    header[OFF_INGEST..OFF_INGEST + 8].copy_from_slice(&ingest_us.to_le_bytes());
    header[OFF_LINK..OFF_LINK + LINK_BYTES].copy_from_slice(link);
    header[OFF_KIND] = kind.0;
    let crc = header_crc(&header);
    header[OFF_HEADER_CRC..OFF_HEADER_CRC + 4].copy_from_slice(&crc.to_le_bytes());
    // Payload and the header after the length first, the length field last: a concurrent
    // reader that sees a length sees a frame whose other bytes were stored before it.
    dst[FRAME_HEADER_BYTES..FRAME_HEADER_BYTES + payload_len].copy_from_slice(payload);
    dst[OFF_PAYLOAD_CRC..FRAME_HEADER_BYTES].copy_from_slice(&header[OFF_PAYLOAD_CRC..]);
    dst[OFF_LEN..OFF_LEN + 4].copy_from_slice(&header[OFF_LEN..OFF_LEN + 4]);
}

/// Reads the length field at `pos` (0 when fewer than 4 bytes remain).
#[inline]
pub(crate) fn len_at(seg: &[u8], pos: usize) -> u32 {
    if pos + 4 > seg.len() {
        0
    } else {
        u32_at(seg, pos)
    }
}

/// Validates the frame at `pos`: length, bounds, header CRC, payload CRC, kind, reserved bytes
/// and padding.
/// LSN and ingest-time continuity are the caller's business.
pub(crate) fn parse(seg: &[u8], pos: usize, max_payload: usize) -> Result<Frame<'_>, Bad> {
    debug_assert_eq!(pos % FRAME_ALIGN_BYTES, 0);
    if pos + FRAME_HEADER_BYTES > seg.len() {
        return Err(if len_at(seg, pos) == 0 {
            Bad::Empty
        } else {
            Bad::PastEnd(len_at(seg, pos))
        });
    }
    let len = u32_at(seg, pos);
    if len == 0 {
        return Err(Bad::Empty);
    }
    if len as usize > max_payload {
        return Err(Bad::TooLong(len));
    }
    let end = pos + FRAME_HEADER_BYTES + len as usize;
    if end > seg.len() {
        return Err(Bad::PastEnd(len));
    }
    let header = &seg[pos..pos + FRAME_HEADER_BYTES];
    if header_crc(header) != u32_at(header, OFF_HEADER_CRC) {
        return Err(Bad::HeaderCrc);
    }
    if crc32c::crc32c(&seg[pos + FRAME_HEADER_BYTES..end]) != u32_at(header, OFF_PAYLOAD_CRC) {
        return Err(Bad::PayloadCrc);
    }
    let frame = decode(seg, pos, len as usize);
    if !frame.kind.is_valid() {
        return Err(Bad::Kind);
    }
    if seg[pos + OFF_RESERVED..pos + OFF_HEADER_CRC]
        .iter()
        .any(|&b| b != 0)
    {
        return Err(Bad::Reserved);
    }
    let padded_end = pos + frame_bytes(len as usize);
    if padded_end > seg.len() {
        return Err(Bad::PastEnd(len));
    }
    if seg[end..padded_end].iter().any(|&b| b != 0) {
        return Err(Bad::Padding);
    }
    Ok(frame)
}

/// Decodes a frame at `pos` whose length is `len` without checking it (the bytes were
/// validated by a scan or written by this process).
#[inline]
pub(crate) fn decode(seg: &[u8], pos: usize, len: usize) -> Frame<'_> {
    debug_assert_eq!(pos % FRAME_ALIGN_BYTES, 0);
    let mut link = [0u8; LINK_BYTES];
    link.copy_from_slice(&seg[pos + OFF_LINK..pos + OFF_LINK + LINK_BYTES]);
    Frame {
        lsn: u64_at(seg, pos + OFF_LSN),
        ingest_us: u64_at(seg, pos + OFF_INGEST) as i64,
        link,
        kind: RecordKind(seg[pos + OFF_KIND]),
        payload: &seg[pos + FRAME_HEADER_BYTES..pos + FRAME_HEADER_BYTES + len],
    }
}

/// Decodes the already validated frame at `pos`.
#[inline]
pub(crate) fn decode_trusted(seg: &[u8], pos: usize) -> Frame<'_> {
    let len = u32_at(seg, pos) as usize;
    debug_assert!(len > 0 && pos + frame_bytes(len) <= seg.len());
    decode(seg, pos, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_parse_round_trips() {
        for len in [1usize, 15, 16, 17, 96, 1000] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7 + 1) as u8).collect();
            let mut seg = vec![0u8; 64 + frame_bytes(len) + 32];
            let link = [9u8; 16];
            write(
                &mut seg[64..64 + frame_bytes(len)],
                5,
                -3,
                &link,
                RecordKind::ENTRY,
                &payload,
                crc32c::crc32c(&payload),
            );
            let f = parse(&seg, 64, MAX_PAYLOAD_BYTES).unwrap();
            assert_eq!(
                (f.lsn, f.ingest_us, f.link, f.kind),
                (5, -3, link, RecordKind::ENTRY)
            );
            assert_eq!(f.payload, &payload[..]);
            assert_eq!(f.bytes(), frame_bytes(len));
            assert_eq!(
                parse(&seg, 64 + frame_bytes(len), MAX_PAYLOAD_BYTES).unwrap_err(),
                Bad::Empty
            );
        }
    }

    #[test]
    fn every_single_byte_flip_is_rejected() {
        let payload = b"seventeen bytes!!";
        let n = frame_bytes(payload.len());
        let mut seg = vec![0u8; n];
        write(
            &mut seg,
            1,
            0,
            &[0; 16],
            RecordKind::ENTRY,
            payload,
            crc32c::crc32c(payload),
        );
        for at in 0..n {
            let mut bad = seg.clone();
            bad[at] ^= 0x5a;
            assert!(
                parse(&bad, 0, MAX_PAYLOAD_BYTES).is_err(),
                "flip at {at} accepted"
            );
        }
    }

    /// Each CRC guards its own bytes: a payload edit is caught by the payload CRC even though
    /// the header (and its CRC) are intact, and an edit of the stored payload CRC is caught by
    /// the header CRC; neither CRC alone would catch the other's case.
    #[test]
    fn header_and_payload_crcs_each_guard_their_part() {
        let payload = b"a payload of some thirty-odd bytes";
        let n = frame_bytes(payload.len());
        let mut seg = vec![0u8; n];
        let crc = crc32c::crc32c(payload);
        write(&mut seg, 7, 1, &[3; 16], RecordKind::ENTRY, payload, crc);
        assert_eq!(u32_at(&seg, OFF_PAYLOAD_CRC), crc);
        assert_eq!(
            u32_at(&seg, OFF_HEADER_CRC),
            crc32c::crc32c(&seg[..OFF_HEADER_CRC])
        );

        let mut bad = seg.clone();
        bad[FRAME_HEADER_BYTES + 5] ^= 0x01;
        assert_eq!(
            header_crc(&bad[..FRAME_HEADER_BYTES]),
            u32_at(&bad, OFF_HEADER_CRC)
        );
        assert_eq!(
            parse(&bad, 0, MAX_PAYLOAD_BYTES).unwrap_err(),
            Bad::PayloadCrc
        );

        for at in OFF_PAYLOAD_CRC..OFF_PAYLOAD_CRC + 4 {
            let mut bad = seg.clone();
            bad[at] ^= 0x10;
            assert_eq!(
                parse(&bad, 0, MAX_PAYLOAD_BYTES).unwrap_err(),
                Bad::HeaderCrc
            );
        }

        // A payload CRC rewritten to match an edited payload, header CRC left alone.
        let mut bad = seg.clone();
        bad[FRAME_HEADER_BYTES] ^= 0x01;
        let forged = crc32c::crc32c(&bad[FRAME_HEADER_BYTES..FRAME_HEADER_BYTES + payload.len()]);
        bad[OFF_PAYLOAD_CRC..OFF_PAYLOAD_CRC + 4].copy_from_slice(&forged.to_le_bytes());
        assert_eq!(
            parse(&bad, 0, MAX_PAYLOAD_BYTES).unwrap_err(),
            Bad::HeaderCrc
        );
    }

    /// The inline header CRC is CRC32C of bytes 0..44, whichever way it is computed.
    #[test]
    fn header_crc_is_crc32c_of_the_first_44_bytes() {
        let mut h = [0u8; FRAME_HEADER_BYTES];
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for round in 0..2000 {
            for b in h.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            if round == 0 {
                h = [0; FRAME_HEADER_BYTES];
            }
            assert_eq!(header_crc(&h), crc32c::crc32c(&h[..OFF_HEADER_CRC]));
        }
    }
}
