//! The record frame: layout, encoding into the staging buffer, and validation.
//!
//! A frame is a 32-byte header and the payload; every [`LINK_EVERY`]-th record (LSN a multiple
//! of it) carries its chain link too, in a 48-byte header. Which records carry one depends on
//! the LSN alone, never on batching, so the bytes of a journal depend on its records only.

use super::RecordKind;
use super::chain::{LINK_BYTES, Link};

/// Frames start at, and payloads sit on, multiples of this.
pub const FRAME_ALIGN_BYTES: usize = 16;
/// Bytes of the header of a frame without a chain link; the payload starts here.
pub const FRAME_HEADER_BYTES: usize = 32;
/// Bytes of the header of a frame that carries its chain link ([`carries_link`]).
pub const FRAME_HEADER_LINKED_BYTES: usize = 48;
/// Records whose LSN is a multiple of this carry their chain link.
pub const LINK_EVERY: u64 = 16;
/// Largest payload the journal accepts (a segment may lower it: a record must fit in an empty
/// segment).
pub const MAX_PAYLOAD_BYTES: usize = 1 << 20;

const OFF_LEN: usize = 0;
const OFF_PAYLOAD_CRC: usize = 4;
const OFF_LSN: usize = 8;
const OFF_INGEST: usize = 16;
const OFF_KIND: usize = 24;
const OFF_RESERVED: usize = 25;
/// Where the link sits in a linked header, and where the header CRC sits in a plain one.
const OFF_LINK: usize = 28;

const _: () = assert!(FRAME_HEADER_BYTES.is_multiple_of(FRAME_ALIGN_BYTES));
const _: () = assert!(FRAME_HEADER_LINKED_BYTES.is_multiple_of(FRAME_ALIGN_BYTES));
const _: () = assert!(OFF_LINK + 4 == FRAME_HEADER_BYTES);
const _: () = assert!(OFF_LINK + LINK_BYTES + 4 == FRAME_HEADER_LINKED_BYTES);
const _: () = assert!(MAX_PAYLOAD_BYTES <= u32::MAX as usize);
const _: () = assert!(LINK_EVERY > 1);

/// Rounds up to the frame alignment.
#[inline]
pub const fn align_up(n: usize) -> usize {
    (n + FRAME_ALIGN_BYTES - 1) & !(FRAME_ALIGN_BYTES - 1)
}

/// Whether the record at `lsn` stores its chain link.
#[inline]
pub const fn carries_link(lsn: u64) -> bool {
    lsn.is_multiple_of(LINK_EVERY)
}

/// Header bytes of the record at `lsn`.
#[inline]
pub const fn header_bytes(lsn: u64) -> usize {
    if carries_link(lsn) {
        FRAME_HEADER_LINKED_BYTES
    } else {
        FRAME_HEADER_BYTES
    }
}

/// Bytes the record at `lsn` with this payload occupies, padding included.
#[inline]
pub const fn frame_bytes(lsn: u64, payload_len: usize) -> usize {
    align_up(header_bytes(lsn) + payload_len)
}

/// The most bytes a record with this payload can occupy (whatever its LSN).
#[inline]
pub const fn max_frame_bytes(payload_len: usize) -> usize {
    align_up(FRAME_HEADER_LINKED_BYTES + payload_len)
}

/// A decoded frame borrowing its payload from the segment.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Frame<'a> {
    pub lsn: u64,
    pub ingest_us: i64,
    /// The stored chain link, on records that carry one ([`carries_link`]).
    pub link: Option<Link>,
    pub kind: RecordKind,
    pub payload: &'a [u8],
}

impl Frame<'_> {
    /// Bytes this frame occupies.
    pub fn bytes(&self) -> usize {
        frame_bytes(self.lsn, self.payload.len())
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

/// The header CRC: CRC32C of every header byte before it (the length, the payload CRC and
/// every field after it; the link on a linked header). It runs for every record on the writer
/// and on every scan, and a general CRC32C call costs about 150 instructions of setup for so
/// few bytes, so on x86-64 with SSE4.2 (detected at run time, cached by std) it is a few
/// `crc32` instructions inline.
#[inline]
fn header_crc(covered: &[u8]) -> u32 {
    debug_assert!(covered.len() == OFF_LINK || covered.len() == OFF_LINK + LINK_BYTES);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("sse4.2") {
        // SAFETY: SSE4.2 is available, checked just above.
        return unsafe { crc32c_sse42(covered) };
    }
    crc32c::crc32c(covered)
}

/// CRC32C (Castagnoli, reflected, initial value and final xor all ones) of a short slice whose
/// length is 4 more than a multiple of 8, with the SSE4.2 `crc32` instruction.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2")]
#[inline]
fn crc32c_sse42(h: &[u8]) -> u32 {
    use std::arch::x86_64::{_mm_crc32_u32, _mm_crc32_u64};
    debug_assert_eq!(h.len() % 8, 4);
    let words = h.len() / 8;
    let mut crc = u64::from(u32::MAX);
    for w in 0..words {
        let at = w * 8;
        crc = _mm_crc32_u64(
            crc,
            u64::from_le_bytes(h[at..at + 8].try_into().expect("8")),
        );
    }
    let at = words * 8;
    let last = u32::from_le_bytes(h[at..at + 4].try_into().expect("4 bytes"));
    !_mm_crc32_u32(crc as u32, last)
}

/// Writes one frame into `dst`, which is exactly `frame_bytes(lsn, payload.len())` long and
/// zero (the staging buffer after its end is always zero). `link` is the record's chain link,
/// stored when the LSN [`carries_link`]. `payload_crc` is the payload's CRC32C (computed by the
/// caller, possibly on another thread). No allocation.
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
    let header_len = header_bytes(lsn);
    debug_assert!(payload_len > 0 && payload_len <= MAX_PAYLOAD_BYTES);
    debug_assert_eq!(dst.len(), frame_bytes(lsn, payload_len));
    debug_assert!(dst.iter().all(|&b| b == 0), "frame target is not zero");
    debug_assert!(kind.is_valid());
    let mut header = [0u8; FRAME_HEADER_LINKED_BYTES];
    header[OFF_LEN..OFF_LEN + 4].copy_from_slice(&(payload_len as u32).to_le_bytes());
    header[OFF_PAYLOAD_CRC..OFF_PAYLOAD_CRC + 4].copy_from_slice(&payload_crc.to_le_bytes());
    header[OFF_LSN..OFF_LSN + 8].copy_from_slice(&lsn.to_le_bytes());
    header[OFF_INGEST..OFF_INGEST + 8].copy_from_slice(&ingest_us.to_le_bytes());
    header[OFF_KIND] = kind.0;
    if header_len == FRAME_HEADER_LINKED_BYTES {
        header[OFF_LINK..OFF_LINK + LINK_BYTES].copy_from_slice(link);
    }
    let crc_at = header_len - 4;
    let crc = header_crc(&header[..crc_at]);
    header[crc_at..header_len].copy_from_slice(&crc.to_le_bytes());
    dst[..header_len].copy_from_slice(&header[..header_len]);
    dst[header_len..header_len + payload_len].copy_from_slice(payload);
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
/// and padding. The header's size follows from the LSN it holds, which the header CRC then
/// covers. LSN and ingest-time continuity and the chain are the caller's business.
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
    let header_len = header_bytes(u64_at(seg, pos + OFF_LSN));
    let end = pos + header_len + len as usize;
    if end > seg.len() {
        return Err(Bad::PastEnd(len));
    }
    let crc_at = pos + header_len - 4;
    if header_crc(&seg[pos..crc_at]) != u32_at(seg, crc_at) {
        return Err(Bad::HeaderCrc);
    }
    if crc32c::crc32c(&seg[pos + header_len..end]) != u32_at(seg, pos + OFF_PAYLOAD_CRC) {
        return Err(Bad::PayloadCrc);
    }
    let frame = decode(seg, pos, len as usize);
    if !frame.kind.is_valid() {
        return Err(Bad::Kind);
    }
    if seg[pos + OFF_RESERVED..pos + OFF_LINK]
        .iter()
        .any(|&b| b != 0)
    {
        return Err(Bad::Reserved);
    }
    let padded_end = pos + frame.bytes();
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
    let lsn = u64_at(seg, pos + OFF_LSN);
    let header_len = header_bytes(lsn);
    let link = (header_len == FRAME_HEADER_LINKED_BYTES).then(|| {
        let mut link = [0u8; LINK_BYTES];
        link.copy_from_slice(&seg[pos + OFF_LINK..pos + OFF_LINK + LINK_BYTES]);
        link
    });
    Frame {
        lsn,
        ingest_us: u64_at(seg, pos + OFF_INGEST) as i64,
        link,
        kind: RecordKind(seg[pos + OFF_KIND]),
        payload: &seg[pos + header_len..pos + header_len + len],
    }
}

/// Decodes the already validated frame at `pos`.
#[inline]
pub(crate) fn decode_trusted(seg: &[u8], pos: usize) -> Frame<'_> {
    let len = u32_at(seg, pos) as usize;
    let frame = decode(seg, pos, len);
    debug_assert!(len > 0 && pos + frame.bytes() <= seg.len());
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame for `lsn` with this payload, written alone into a zeroed buffer.
    fn framed(lsn: u64, link: &Link, payload: &[u8]) -> Vec<u8> {
        let mut seg = vec![0u8; frame_bytes(lsn, payload.len())];
        let crc = crc32c::crc32c(payload);
        write(&mut seg, lsn, -3, link, RecordKind::ENTRY, payload, crc);
        seg
    }

    #[test]
    fn only_every_link_every_th_record_carries_its_link() {
        for (lsn, linked) in [(1, false), (15, false), (16, true), (17, false), (32, true)] {
            assert_eq!(carries_link(lsn), linked, "lsn {lsn}");
            let header = if linked { 48 } else { 32 };
            assert_eq!(header_bytes(lsn), header);
            assert_eq!(frame_bytes(lsn, 1), header + 16);
            assert_eq!(frame_bytes(lsn, 16), header + 16);
            assert_eq!(frame_bytes(lsn, 17), header + 32);
            assert!(frame_bytes(lsn, 17) <= max_frame_bytes(17));
        }
    }

    #[test]
    fn write_then_parse_round_trips() {
        for lsn in [5u64, 16] {
            for len in [1usize, 15, 16, 17, 96, 1000] {
                let payload: Vec<u8> = (0..len).map(|i| (i * 7 + 1) as u8).collect();
                let n = frame_bytes(lsn, len);
                let mut seg = vec![0u8; 64 + n + 48];
                seg[64..64 + n].copy_from_slice(&framed(lsn, &[9u8; 16], &payload));
                let f = parse(&seg, 64, MAX_PAYLOAD_BYTES).unwrap();
                let link = carries_link(lsn).then_some([9u8; 16]);
                assert_eq!(
                    (f.lsn, f.ingest_us, f.link, f.kind),
                    (lsn, -3, link, RecordKind::ENTRY)
                );
                assert_eq!(f.payload, &payload[..]);
                assert_eq!(
                    (f.bytes(), header_bytes(f.lsn) + f.payload.len()),
                    (n, header_bytes(lsn) + len)
                );
                assert_eq!(f.payload.as_ptr() as usize % FRAME_ALIGN_BYTES, 0);
                assert_eq!(
                    parse(&seg, 64 + n, MAX_PAYLOAD_BYTES).unwrap_err(),
                    Bad::Empty
                );
            }
        }
    }

    #[test]
    fn every_single_byte_flip_is_rejected() {
        for lsn in [1u64, 16] {
            let seg = framed(lsn, &[0; 16], b"seventeen bytes!!");
            for at in 0..seg.len() {
                let mut bad = seg.clone();
                bad[at] ^= 0x5a;
                assert!(
                    parse(&bad, 0, MAX_PAYLOAD_BYTES).is_err(),
                    "lsn {lsn}: flip at {at} accepted"
                );
            }
        }
    }

    /// Each CRC guards its own bytes: a payload edit is caught by the payload CRC even though
    /// the header (and its CRC) are intact, and an edit of the stored payload CRC is caught by
    /// the header CRC; neither CRC alone would catch the other's case.
    #[test]
    fn header_and_payload_crcs_each_guard_their_part() {
        let payload = b"a payload of some thirty-odd bytes";
        for lsn in [7u64, 32] {
            let h = header_bytes(lsn);
            let seg = framed(lsn, &[3; 16], payload);
            assert_eq!(u32_at(&seg, OFF_PAYLOAD_CRC), crc32c::crc32c(payload));
            assert_eq!(u32_at(&seg, h - 4), crc32c::crc32c(&seg[..h - 4]));

            let mut bad = seg.clone();
            bad[h + 5] ^= 0x01;
            assert_eq!(header_crc(&bad[..h - 4]), u32_at(&bad, h - 4));
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
            bad[h] ^= 0x01;
            let forged = crc32c::crc32c(&bad[h..h + payload.len()]);
            bad[OFF_PAYLOAD_CRC..OFF_PAYLOAD_CRC + 4].copy_from_slice(&forged.to_le_bytes());
            assert_eq!(
                parse(&bad, 0, MAX_PAYLOAD_BYTES).unwrap_err(),
                Bad::HeaderCrc
            );
        }
    }

    /// An LSN edited so that the header would change size is caught by the header CRC.
    #[test]
    fn an_lsn_edited_across_the_link_rule_is_rejected() {
        for (lsn, forged) in [(15u64, 16u64), (16, 17)] {
            let mut bad = framed(lsn, &[1; 16], b"payload");
            bad.resize(bad.len() + 32, 0);
            bad[OFF_LSN..OFF_LSN + 8].copy_from_slice(&forged.to_le_bytes());
            assert!(parse(&bad, 0, MAX_PAYLOAD_BYTES).is_err(), "lsn {lsn}");
        }
    }

    /// The inline header CRC is CRC32C of the covered bytes, whichever way it is computed.
    #[test]
    fn header_crc_is_crc32c_of_the_covered_bytes() {
        let mut h = [0u8; FRAME_HEADER_LINKED_BYTES];
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for round in 0..2000 {
            for b in h.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            if round == 0 {
                h = [0; FRAME_HEADER_LINKED_BYTES];
            }
            for covered in [OFF_LINK, OFF_LINK + LINK_BYTES] {
                assert_eq!(header_crc(&h[..covered]), crc32c::crc32c(&h[..covered]));
            }
        }
    }
}
