//! The compact journal form of the most frequent events: those whose payload holds no string
//! (`vehicle.position`, `eta.revised`, `stop.arrived`, `stop.departed`, `shipment.picked_up`)
//! and that carry no `correlationid` or `traceparent`. Three quarters of a telematics-heavy
//! journal are such events; as an archived [`crate::event::Entry`] each takes at least 120 bytes
//! (rkyv sizes the entry's root by its largest variant), in this form 46 to 64.
//!
//! A compact payload is read in place: [`CompactEvent::parse`] checks its structure once
//! (lengths, type code, stop byte, ASCII source, UTF-8 id) and keeps borrowed slices; every
//! accessor then reads fixed offsets. The event-format rules are checked apart, by
//! [`crate::validate::compact_event`], as they are for archived entries.
//!
//! # Layout (all integers little endian; the record's payload, 16-byte aligned in the journal)
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 8 | event time, microseconds since the epoch (i64) |
//! | 8 | 1 | form: the type code (bits 0-2, below), [`WIDE_SEQUENCE`], [`WIDE_SUBJECT`], [`ID_FROM_SEQUENCE`]; other bits zero |
//! | 9 | 1 | source length in bytes |
//! | 10 | 1 | how many leading bytes of the id are the source's leading bytes |
//! | 11 | 1 | length of the rest of the id |
//! | 12 | 4 or 8 | sequence (u32, or u64 when [`WIDE_SEQUENCE`]) |
//! | .. | 4 or 8 | subject (u32, or u64 when [`WIDE_SUBJECT`]: the vehicle for `vehicle.position`, else the shipment) |
//! | .. | by type | the payload's fields (below) |
//! | .. | | the source, then the rest of the id |
//!
//! The payload ends exactly after the id: its length is the sum of the parts, so every byte
//! is accounted for. Each event has exactly one compact form: a number is wide only when it
//! does not fit in 32 bits, and an id is derived from the sequence exactly when it can be
//! (the reader refuses any other choice).
//!
//! | code | type | fields |
//! |---|---|---|
//! | 1 | `vehicle.position` | `lat_ud` i32, `lon_ud` i32, `speed_kph_milli` u32 (12 bytes) |
//! | 2 | `eta.revised` | `eta_us` i64 (8 bytes) |
//! | 3 | `stop.arrived` | stop u8: 0 pickup, 1 delivery |
//! | 4 | `stop.departed` | stop u8 |
//! | 5 | `shipment.picked_up` | none |
//! | 6 | `vehicle.position` with a heading or an accuracy (version 2) | as code 1, then `heading_deg` u16, presence u16 (bit 0 heading, bit 1 accuracy; not zero), `accuracy_mm` u32; an absent one is 0 (20 bytes) |
//!
//! Ids often begin with their source (`fleet/truck-12-345` from `fleet/truck-12`), so the id
//! is stored as the length of its longest common prefix with the source plus the bytes after
//! it: a front coding that loses nothing and needs no convention from producers (an id that
//! shares nothing, a UUID for instance, is stored whole). The source is ASCII (a valid
//! source is `<system>/[A-Za-z0-9._-]+`), so the split never falls inside a character. An id
//! that is exactly `<source>-<sequence in decimal>` (the telematics convention) is not
//! stored at all: [`ID_FROM_SEQUENCE`] says so. A `vehicle.position` from a source of 16
//! bytes with such an id is 48 bytes.

use std::fmt;

use rkyv::option::ArchivedOption;
use rkyv::rend::{i32_le, i64_le, u16_le, u32_le};
use rkyv::util::AlignedVec;

use crate::event::{
    ArchivedBody, ArchivedGeoPoint, ArchivedStop, Body, Event, EventType, GeoPoint, Stop,
};

/// Bytes before the sequence.
pub const HEAD_BYTES: usize = 12;
/// The smallest compact event: narrow numbers, no fields, empty source and id.
pub const MIN_BYTES: usize = HEAD_BYTES + 4 + 4;
const OFF_FORM: usize = 8;
const OFF_SOURCE_LEN: usize = 9;
const OFF_ID_SHARED: usize = 10;
const OFF_ID_REST: usize = 11;
/// The largest payload fields (`vehicle.position` with a bearing).
const MAX_FIELDS_BYTES: usize = 20;

/// Form bit: the sequence is stored in 8 bytes (it does not fit in 4).
pub const WIDE_SEQUENCE: u8 = 0x08;
/// Form bit: the subject is stored in 8 bytes (it does not fit in 4).
pub const WIDE_SUBJECT: u8 = 0x10;
/// Form bit: the id is `<source>-<sequence>` and is not stored.
pub const ID_FROM_SEQUENCE: u8 = 0x20;
const CODE_MASK: u8 = 0x07;
const FORM_BITS: u8 = CODE_MASK | WIDE_SEQUENCE | WIDE_SUBJECT | ID_FROM_SEQUENCE;

const CODE_POSITION: u8 = 1;
const CODE_ETA: u8 = 2;
const CODE_ARRIVED: u8 = 3;
const CODE_DEPARTED: u8 = 4;
const CODE_PICKED_UP: u8 = 5;
const CODE_POSITION_BEARING: u8 = 6;
/// The presence bits of a bearing (code 6).
const HAS_HEADING: u16 = 1;
const HAS_ACCURACY: u16 = 2;

/// The bytes of the payload's fields of a type code, or `None` for a code that is not one.
#[inline]
fn fields_bytes(code: u8) -> Option<usize> {
    Some(match code {
        CODE_POSITION => 12,
        CODE_POSITION_BEARING => 20,
        CODE_ETA => 8,
        CODE_ARRIVED | CODE_DEPARTED => 1,
        CODE_PICKED_UP => 0,
        _ => return None,
    })
}

/// Checks the bearing of a code 6 position: some presence bit and no other, and an absent
/// field stored as 0 (one compact form per event).
fn bearing_fields(fields: &[u8]) -> Result<(), CompactError> {
    let presence = u16::from_le_bytes([fields[14], fields[15]]);
    let heading_zero = fields[12..14] == [0, 0];
    let accuracy_zero = fields[16..20] == [0; 4];
    let canonical = presence != 0
        && presence & !(HAS_HEADING | HAS_ACCURACY) == 0
        && (presence & HAS_HEADING != 0 || heading_zero)
        && (presence & HAS_ACCURACY != 0 || accuracy_zero);
    if canonical {
        Ok(())
    } else {
        Err(CompactError::NotCanonical(
            "a position's bearing with no field, an unknown one, or an absent one not zero",
        ))
    }
}

fn stop_byte(stop: Stop) -> u8 {
    match stop {
        Stop::Pickup => 0,
        Stop::Delivery => 1,
    }
}

/// The decimal digits of `n`, written at the end of `buf`.
fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// Whether `suffix` is `-<sequence in decimal>`.
fn suffix_is_sequence(suffix: &[u8], sequence: u64) -> bool {
    let mut buf = [0u8; 20];
    suffix
        .split_first()
        .is_some_and(|(dash, digits)| *dash == b'-' && digits == decimal(sequence, &mut buf))
}

/// Whether `id` is `<source>-<sequence in decimal>`.
fn id_is_derived(id: &[u8], source: &[u8], sequence: u64) -> bool {
    id.strip_prefix(source)
        .is_some_and(|suffix| suffix_is_sequence(suffix, sequence))
}

/// The type code and payload fields of a body that has a compact form.
fn code_and_fields(body: &Body) -> Option<(u8, [u8; MAX_FIELDS_BYTES], usize)> {
    let mut fields = [0u8; MAX_FIELDS_BYTES];
    let (code, len) = match body {
        Body::VehiclePosition {
            position,
            speed_kph_milli,
            heading_deg,
            accuracy_mm,
        } => {
            fields[0..4].copy_from_slice(&position.lat_ud.to_le_bytes());
            fields[4..8].copy_from_slice(&position.lon_ud.to_le_bytes());
            fields[8..12].copy_from_slice(&speed_kph_milli.to_le_bytes());
            if heading_deg.is_none() && accuracy_mm.is_none() {
                (CODE_POSITION, 12)
            } else {
                let presence = (u16::from(heading_deg.is_some()) * HAS_HEADING)
                    | (u16::from(accuracy_mm.is_some()) * HAS_ACCURACY);
                fields[12..14].copy_from_slice(&heading_deg.unwrap_or(0).to_le_bytes());
                fields[14..16].copy_from_slice(&presence.to_le_bytes());
                fields[16..20].copy_from_slice(&accuracy_mm.unwrap_or(0).to_le_bytes());
                (CODE_POSITION_BEARING, 20)
            }
        }
        Body::EtaRevised { eta_us } => {
            fields[0..8].copy_from_slice(&eta_us.to_le_bytes());
            (CODE_ETA, 8)
        }
        Body::StopArrived { stop } => {
            fields[0] = stop_byte(*stop);
            (CODE_ARRIVED, 1)
        }
        Body::StopDeparted { stop } => {
            fields[0] = stop_byte(*stop);
            (CODE_DEPARTED, 1)
        }
        Body::ShipmentPickedUp => (CODE_PICKED_UP, 0),
        _ => return None,
    };
    Some((code, fields, len))
}

/// Appends `n` in 4 bytes when it fits, else 8; returns whether it took 8.
fn put_number(out: &mut AlignedVec<16>, n: u64) -> bool {
    match u32::try_from(n) {
        Ok(narrow) => {
            out.extend_from_slice(&narrow.to_le_bytes());
            false
        }
        Err(_) => {
            out.extend_from_slice(&n.to_le_bytes());
            true
        }
    }
}

/// Appends the compact form of `event` to `out` and returns true, or leaves `out` as it was and
/// returns false when the event has none (a type whose payload holds a string, a
/// `correlationid` or `traceparent`, or a source or id past 255 bytes, which no valid event has).
pub fn encode(event: &Event, out: &mut AlignedVec<16>) -> bool {
    let Some((code, fields, fields_len)) = code_and_fields(&event.body) else {
        return false;
    };
    let source = event.source.as_bytes();
    let id = event.id.as_bytes();
    if event.correlation_id.is_some()
        || event.traceparent.is_some()
        || source.len() > usize::from(u8::MAX)
        || id.len() > usize::from(u8::MAX)
        || !source.is_ascii()
    {
        return false;
    }
    let derived = id_is_derived(id, source, event.sequence);
    let (shared, rest) = if derived {
        (0, &[][..])
    } else {
        let shared = id.iter().zip(source).take_while(|(a, b)| a == b).count();
        (shared, &id[shared..])
    };
    let start = out.len();
    out.reserve(MIN_BYTES + 8 + fields_len + source.len() + rest.len());
    out.extend_from_slice(&event.time_us.to_le_bytes());
    out.extend_from_slice(&[0, source.len() as u8, shared as u8, rest.len() as u8]);
    let mut form = code | if derived { ID_FROM_SEQUENCE } else { 0 };
    if put_number(out, event.sequence) {
        form |= WIDE_SEQUENCE;
    }
    if put_number(out, event.subject) {
        form |= WIDE_SUBJECT;
    }
    out[start + OFF_FORM] = form;
    out.extend_from_slice(&fields[..fields_len]);
    out.extend_from_slice(source);
    out.extend_from_slice(rest);
    true
}

/// Why bytes are not a compact event (their structure; the event-format rules are checked
/// apart).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompactError {
    #[error("a compact event is at least {MIN_BYTES} bytes, got {0}")]
    Short(usize),
    #[error("unknown compact event form {0:#04x}")]
    Form(u8),
    #[error("compact event of {got} bytes, its lengths say {want}")]
    Length { got: usize, want: usize },
    #[error("the id shares {shared} bytes with a source of {source_len}")]
    Shared { shared: usize, source_len: usize },
    #[error("stop byte {0} is neither 0 (pickup) nor 1 (delivery)")]
    Stop(u8),
    #[error("the source is not ASCII")]
    Source,
    #[error("the id is not UTF-8")]
    Id,
    #[error("not the event's one compact form: {0}")]
    NotCanonical(&'static str),
}

/// A compact event read in place (its structure checked by [`Self::parse`]).
#[derive(Clone, Copy)]
pub struct CompactEvent<'a> {
    time_us: i64,
    sequence: u64,
    subject: u64,
    form: u8,
    id_shared: u8,
    fields: &'a [u8],
    source: &'a str,
    id_rest: &'a str,
}

/// Reads a number of 4 or 8 bytes from the front of `bytes` (long enough: the length was
/// checked) and returns it with the bytes after it.
#[inline]
fn take_number(bytes: &[u8], wide: bool) -> (u64, &[u8]) {
    if wide {
        let (n, rest) = bytes.split_first_chunk::<8>().expect("length checked");
        (u64::from_le_bytes(*n), rest)
    } else {
        let (n, rest) = bytes.split_first_chunk::<4>().expect("length checked");
        (u64::from(u32::from_le_bytes(*n)), rest)
    }
}

impl<'a> CompactEvent<'a> {
    /// Reads `bytes` as a compact event, checking its structure: lengths that add up to the
    /// payload exactly, a known form, a stop byte that is a stop, an ASCII source, a UTF-8 id,
    /// and the one form the encoder chooses for the event.
    #[inline]
    pub fn parse(bytes: &'a [u8]) -> Result<CompactEvent<'a>, CompactError> {
        let (head, tail) = bytes
            .split_first_chunk::<HEAD_BYTES>()
            .ok_or(CompactError::Short(bytes.len()))?;
        let form = head[OFF_FORM];
        let fields_len = fields_bytes(form & CODE_MASK)
            .filter(|_| form & !FORM_BITS == 0)
            .ok_or(CompactError::Form(form))?;
        let wide = |bit| if form & bit != 0 { 8 } else { 4 };
        let source_len = usize::from(head[OFF_SOURCE_LEN]);
        let shared = usize::from(head[OFF_ID_SHARED]);
        let rest_len = usize::from(head[OFF_ID_REST]);
        let want = HEAD_BYTES
            + wide(WIDE_SEQUENCE)
            + wide(WIDE_SUBJECT)
            + fields_len
            + source_len
            + rest_len;
        if bytes.len() != want {
            return Err(CompactError::Length {
                got: bytes.len(),
                want,
            });
        }
        if shared > source_len {
            return Err(CompactError::Shared { shared, source_len });
        }
        let (sequence, tail) = take_number(tail, form & WIDE_SEQUENCE != 0);
        let (subject, tail) = take_number(tail, form & WIDE_SUBJECT != 0);
        let (fields, tail) = tail.split_at(fields_len);
        let (source, id_rest) = tail.split_at(source_len);
        if matches!(form & CODE_MASK, CODE_ARRIVED | CODE_DEPARTED) && fields[0] > 1 {
            return Err(CompactError::Stop(fields[0]));
        }
        if form & CODE_MASK == CODE_POSITION_BEARING {
            bearing_fields(fields)?;
        }
        if !source.is_ascii() {
            return Err(CompactError::Source);
        }
        // SAFETY: ASCII (checked just above) is UTF-8.
        let source = unsafe { std::str::from_utf8_unchecked(source) };
        let id_rest = std::str::from_utf8(id_rest).map_err(|_| CompactError::Id)?;
        let c = CompactEvent {
            time_us: i64::from_le_bytes(*head.first_chunk::<8>().expect("in the head")),
            sequence,
            subject,
            form,
            id_shared: shared as u8,
            fields,
            source,
            id_rest,
        };
        c.check_canonical()?;
        Ok(c)
    }

    /// Reads bytes that [`encode`] wrote in this process (the live path: the bytes were just
    /// encoded from a valid event and copied verbatim), without [`Self::parse`]'s checks.
    ///
    /// # Safety
    /// `bytes` must be exactly what one call of [`encode`] appended.
    #[inline]
    pub unsafe fn from_own(bytes: &'a [u8]) -> CompactEvent<'a> {
        debug_assert!(
            Self::parse(bytes).is_ok(),
            "compact bytes this process encoded"
        );
        let (head, tail) = bytes
            .split_first_chunk::<HEAD_BYTES>()
            .expect("a compact event this process encoded");
        let form = head[OFF_FORM];
        let fields_len = fields_bytes(form & CODE_MASK).unwrap_or(0);
        let source_len = usize::from(head[OFF_SOURCE_LEN]);
        let (sequence, tail) = take_number(tail, form & WIDE_SEQUENCE != 0);
        let (subject, tail) = take_number(tail, form & WIDE_SUBJECT != 0);
        let (fields, tail) = tail.split_at(fields_len);
        let (source, id_rest) = tail.split_at(source_len);
        CompactEvent {
            time_us: i64::from_le_bytes(*head.first_chunk::<8>().expect("in the head")),
            sequence,
            subject,
            form,
            id_shared: head[OFF_ID_SHARED],
            fields,
            // SAFETY: `encode` wrote an ASCII source (it refuses any other) and the bytes of a
            // `String` after a prefix shared with that ASCII source (so on a character
            // boundary), and the caller promises these are its bytes.
            source: unsafe { std::str::from_utf8_unchecked(source) },
            // SAFETY: as above.
            id_rest: unsafe { std::str::from_utf8_unchecked(id_rest) },
        }
    }

    /// Refuses a form the encoder would not have chosen (so that each event has one).
    #[inline]
    fn check_canonical(&self) -> Result<(), CompactError> {
        let fits = |n: u64| u32::try_from(n).is_ok();
        if self.form & WIDE_SEQUENCE != 0 && fits(self.sequence) {
            return Err(CompactError::NotCanonical(
                "a wide sequence that fits in 32 bits",
            ));
        }
        if self.form & WIDE_SUBJECT != 0 && fits(self.subject) {
            return Err(CompactError::NotCanonical(
                "a wide subject that fits in 32 bits",
            ));
        }
        if self.form & ID_FROM_SEQUENCE != 0 {
            if self.id_shared != 0 || !self.id_rest.is_empty() {
                return Err(CompactError::NotCanonical("an id both derived and stored"));
            }
        } else if usize::from(self.id_shared) == self.source.len()
            && suffix_is_sequence(self.id_rest.as_bytes(), self.sequence)
        {
            return Err(CompactError::NotCanonical("a stored id that is derived"));
        }
        Ok(())
    }

    /// A position's heading and accuracy (code 6), else none.
    fn bearing(&self) -> (Option<u16>, Option<u32>) {
        if self.code() != CODE_POSITION_BEARING {
            return (None, None);
        }
        let presence = u16::from_le_bytes([self.fields[14], self.fields[15]]);
        let heading = u16::from_le_bytes([self.fields[12], self.fields[13]]);
        let accuracy = u32::from_le_bytes(self.field4(16));
        (
            (presence & HAS_HEADING != 0).then_some(heading),
            (presence & HAS_ACCURACY != 0).then_some(accuracy),
        )
    }

    #[inline]
    fn field4(&self, off: usize) -> [u8; 4] {
        *self.fields[off..]
            .first_chunk::<4>()
            .expect("fields of the type")
    }

    #[inline]
    fn code(&self) -> u8 {
        self.form & CODE_MASK
    }

    #[inline]
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    #[inline]
    pub fn time_us(&self) -> i64 {
        self.time_us
    }

    #[inline]
    pub fn subject(&self) -> u64 {
        self.subject
    }

    #[inline]
    pub fn source(&self) -> &'a str {
        self.source
    }

    /// The id: its bytes shared with the source, then the rest (or the source, `-` and the
    /// sequence, when derived).
    pub fn id(&self) -> EventId<'a> {
        if self.form & ID_FROM_SEQUENCE != 0 {
            return EventId {
                head: self.source,
                rest: "",
                sequence: Some(self.sequence),
            };
        }
        EventId {
            head: &self.source[..usize::from(self.id_shared)],
            rest: self.id_rest,
            sequence: None,
        }
    }

    pub fn event_type(&self) -> EventType {
        match self.code() {
            CODE_POSITION | CODE_POSITION_BEARING => EventType::VehiclePosition,
            CODE_ETA => EventType::EtaRevised,
            CODE_ARRIVED => EventType::StopArrived,
            CODE_DEPARTED => EventType::StopDeparted,
            _ => EventType::ShipmentPickedUp,
        }
    }

    fn stop(&self) -> Stop {
        if self.fields[0] == 0 {
            Stop::Pickup
        } else {
            Stop::Delivery
        }
    }

    /// The payload as apply reads it: an archived body built in place (none of these types
    /// holds a string, so every field is a plain little-endian value).
    #[inline]
    pub fn archived_body(&self) -> ArchivedBody {
        let stop = |s| match s {
            Stop::Pickup => ArchivedStop::Pickup,
            Stop::Delivery => ArchivedStop::Delivery,
        };
        match self.code() {
            CODE_POSITION | CODE_POSITION_BEARING => {
                let (heading, accuracy) = self.bearing();
                ArchivedBody::VehiclePosition {
                    position: ArchivedGeoPoint {
                        lat_ud: i32_le::from_native(i32::from_le_bytes(self.field4(0))),
                        lon_ud: i32_le::from_native(i32::from_le_bytes(self.field4(4))),
                    },
                    speed_kph_milli: u32_le::from_native(u32::from_le_bytes(self.field4(8))),
                    heading_deg: match heading {
                        Some(h) => ArchivedOption::Some(u16_le::from_native(h)),
                        None => ArchivedOption::None,
                    },
                    accuracy_mm: match accuracy {
                        Some(a) => ArchivedOption::Some(u32_le::from_native(a)),
                        None => ArchivedOption::None,
                    },
                }
            }
            CODE_ETA => ArchivedBody::EtaRevised {
                eta_us: i64_le::from_native(self.eta_us()),
            },
            CODE_ARRIVED => ArchivedBody::StopArrived {
                stop: stop(self.stop()),
            },
            CODE_DEPARTED => ArchivedBody::StopDeparted {
                stop: stop(self.stop()),
            },
            _ => ArchivedBody::ShipmentPickedUp,
        }
    }

    fn eta_us(&self) -> i64 {
        i64::from_le_bytes(*self.fields.first_chunk::<8>().expect("eta fields"))
    }

    /// The payload as an owned [`Body`].
    pub fn body(&self) -> Body {
        match self.code() {
            CODE_POSITION | CODE_POSITION_BEARING => {
                let (heading_deg, accuracy_mm) = self.bearing();
                Body::VehiclePosition {
                    position: GeoPoint {
                        lat_ud: i32::from_le_bytes(self.field4(0)),
                        lon_ud: i32::from_le_bytes(self.field4(4)),
                    },
                    speed_kph_milli: u32::from_le_bytes(self.field4(8)),
                    heading_deg,
                    accuracy_mm,
                }
            }
            CODE_ETA => Body::EtaRevised {
                eta_us: self.eta_us(),
            },
            CODE_ARRIVED => Body::StopArrived { stop: self.stop() },
            CODE_DEPARTED => Body::StopDeparted { stop: self.stop() },
            _ => Body::ShipmentPickedUp,
        }
    }

    /// The event as an owned [`Event`] (what was encoded).
    pub fn to_event(&self) -> Event {
        Event {
            id: self.id().to_string(),
            source: self.source.to_owned(),
            sequence: self.sequence,
            time_us: self.time_us,
            subject: self.subject,
            correlation_id: None,
            traceparent: None,
            body: self.body(),
        }
    }
}

impl fmt::Debug for CompactEvent<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompactEvent")
            .field("id", &self.id().to_string())
            .field("source", &self.source)
            .field("sequence", &self.sequence)
            .field("time_us", &self.time_us)
            .field("subject", &self.subject)
            .field("body", &self.body())
            .finish()
    }
}

/// An event's id as it sits in the journal: whole in an archived entry (`head`), or in parts
/// in a compact event: bytes of the source, the bytes stored after them, and the sequence
/// after a `-` when the id is derived from it. Displays as the id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventId<'a> {
    pub head: &'a str,
    pub rest: &'a str,
    pub sequence: Option<u64>,
}

impl<'a> EventId<'a> {
    /// An id held whole.
    pub fn whole(id: &'a str) -> Self {
        EventId {
            head: id,
            rest: "",
            sequence: None,
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        // `-` and the decimal digits of the sequence.
        let suffix = self
            .sequence
            .map_or(0, |n| 2 + n.checked_ilog10().unwrap_or(0) as usize);
        self.head.len() + self.rest.len() + suffix
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Display for EventId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.head)?;
        f.write_str(self.rest)?;
        if let Some(n) = self.sequence {
            write!(f, "-{n}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str, source: &str, body: Body) -> Event {
        Event {
            id: id.into(),
            source: source.into(),
            sequence: 42,
            time_us: -7,
            subject: u64::MAX,
            correlation_id: None,
            traceparent: None,
            body,
        }
    }

    fn bodies() -> Vec<Body> {
        vec![
            Body::VehiclePosition {
                position: GeoPoint {
                    lat_ud: -90_000_000,
                    lon_ud: 180_000_000,
                },
                speed_kph_milli: u32::MAX,
                heading_deg: None,
                accuracy_mm: None,
            },
            Body::VehiclePosition {
                position: GeoPoint::default(),
                speed_kph_milli: 0,
                heading_deg: Some(359),
                accuracy_mm: None,
            },
            Body::VehiclePosition {
                position: GeoPoint::default(),
                speed_kph_milli: 1,
                heading_deg: None,
                accuracy_mm: Some(u32::MAX),
            },
            Body::VehiclePosition {
                position: GeoPoint::default(),
                speed_kph_milli: 1,
                heading_deg: Some(0),
                accuracy_mm: Some(0),
            },
            Body::EtaRevised { eta_us: i64::MIN },
            Body::StopArrived { stop: Stop::Pickup },
            Body::StopDeparted {
                stop: Stop::Delivery,
            },
            Body::ShipmentPickedUp,
        ]
    }

    /// The bytes of a compact event's parts, as the layout adds them up.
    fn expected_len(e: &Event, fields: usize, stored_id: usize) -> usize {
        let width = |n: u64| if u32::try_from(n).is_ok() { 4 } else { 8 };
        HEAD_BYTES + width(e.sequence) + width(e.subject) + fields + e.source.len() + stored_id
    }

    /// Every compact type, with ids that share all, some or none of the source or are derived
    /// from the sequence, and numbers narrow and wide, reads back as the event it was encoded
    /// from, and its length is exactly the parts.
    #[test]
    fn round_trips() {
        let ids = [
            "fleet/truck-12-345",
            "fleet/truck-12-42",
            "fleet/truck-12-4",
            "fleet/truck-12-042",
            "fleet/truck-12",
            "fleet/",
            "x",
            "fleet/truck-1",
            "ünïcode-id",
            "f\u{e9}",
        ];
        let numbers = [
            (42u64, 7u64),
            (u64::from(u32::MAX), u64::from(u32::MAX) + 1),
            (u64::MAX, 0),
        ];
        for body in bodies() {
            for id in ids {
                for (sequence, subject) in numbers {
                    let mut e = event(id, "fleet/truck-12", body.clone());
                    e.sequence = sequence;
                    e.subject = subject;
                    let mut out = AlignedVec::<16>::new();
                    assert!(encode(&e, &mut out));
                    let c = CompactEvent::parse(&out).unwrap();
                    assert_eq!(c.to_event(), e);
                    assert_eq!(c.id().to_string(), id);
                    assert_eq!(c.id().len(), id.len());
                    assert_eq!(c.event_type(), e.event_type());
                    let derived = id == format!("fleet/truck-12-{sequence}");
                    assert_eq!(out[OFF_FORM] & ID_FROM_SEQUENCE != 0, derived, "{id}");
                    let fields = fields_bytes(out[OFF_FORM] & CODE_MASK).unwrap();
                    let shared = id
                        .bytes()
                        .zip("fleet/truck-12".bytes())
                        .take_while(|(a, b)| a == b)
                        .count();
                    let stored = if derived { 0 } else { id.len() - shared };
                    assert_eq!(out.len(), expected_len(&e, fields, stored));
                }
            }
        }
    }

    /// The telematics shape: a position from a 16-byte source with a derived id is 48 bytes.
    #[test]
    fn a_position_with_a_derived_id_is_48_bytes() {
        let mut e = event(
            "fleet/truck-1234-42",
            "fleet/truck-1234",
            bodies()[0].clone(),
        );
        e.subject = 1234;
        let mut out = AlignedVec::<16>::new();
        assert!(encode(&e, &mut out));
        assert_eq!(out.len(), 48);
    }

    #[test]
    fn events_without_a_compact_form_are_left_alone() {
        let mut out = AlignedVec::<16>::new();
        out.extend_from_slice(b"kept");
        let mut e = event("a", "fleet/t", Body::ShipmentPickedUp);
        e.correlation_id = Some("c".into());
        assert!(!encode(&e, &mut out));
        let mut e = event("a", "fleet/t", Body::ShipmentPickedUp);
        e.traceparent = Some("t".into());
        assert!(!encode(&e, &mut out));
        let e = event(
            "a",
            "fleet/t",
            Body::DeliveryFailed {
                reason: String::new(),
            },
        );
        assert!(!encode(&e, &mut out));
        let e = event(&"i".repeat(256), "fleet/t", Body::ShipmentPickedUp);
        assert!(!encode(&e, &mut out));
        assert_eq!(&out[..], b"kept");
    }

    /// Truncated, extended or edited bytes are refused with the reason, never a panic.
    #[test]
    fn bad_structure_is_an_error() {
        let mut e = event(
            "fleet/truck-12-1",
            "fleet/truck-12",
            Body::StopArrived { stop: Stop::Pickup },
        );
        e.subject = 3;
        let mut ok = AlignedVec::<16>::new();
        assert!(encode(&e, &mut ok));
        let good = ok.to_vec();
        for n in 0..good.len() {
            assert!(CompactEvent::parse(&good[..n]).is_err(), "cut at {n}");
        }
        let mut longer = good.clone();
        longer.push(b'x');
        assert!(matches!(
            CompactEvent::parse(&longer),
            Err(CompactError::Length { .. })
        ));
        let edit = |off: usize, v: u8| {
            let mut b = good.clone();
            b[off] = v;
            CompactEvent::parse(&b).map(|c| c.to_event())
        };
        let form = good[OFF_FORM];
        assert_eq!(form & CODE_MASK, CODE_ARRIVED);
        assert_eq!(
            edit(OFF_FORM, form & !CODE_MASK),
            Err(CompactError::Form(form & !CODE_MASK))
        );
        assert_eq!(edit(OFF_FORM, form | 6), Err(CompactError::Form(form | 7)));
        assert_eq!(
            edit(OFF_FORM, form | 0x40),
            Err(CompactError::Form(form | 0x40))
        );
        assert!(matches!(
            edit(OFF_ID_SHARED, 15),
            Err(CompactError::Shared { .. })
        ));
        let fields = MIN_BYTES;
        assert_eq!(edit(fields, 2), Err(CompactError::Stop(2)));
        assert_eq!(edit(fields + 1, 0xc3), Err(CompactError::Source));
        // A different code with the same total length reads as another valid structure.
        assert!(edit(OFF_FORM, (form & !CODE_MASK) | CODE_DEPARTED).is_ok());
    }

    /// Bytes that spell a valid event in a form the encoder would not choose are refused, so
    /// that each event has one compact form.
    #[test]
    fn other_forms_of_an_event_are_refused() {
        let narrow = |n: u64| (n as u32).to_le_bytes().to_vec();
        let build = |form: u8, seq: Vec<u8>, subj: Vec<u8>, shared: u8, rest: &str| {
            let source = b"fleet/t";
            let mut b = Vec::new();
            b.extend_from_slice(&5i64.to_le_bytes());
            b.extend_from_slice(&[form, source.len() as u8, shared, rest.len() as u8]);
            b.extend_from_slice(&seq);
            b.extend_from_slice(&subj);
            b.extend_from_slice(source);
            b.extend_from_slice(rest.as_bytes());
            CompactEvent::parse(&b).map(|c| c.id().to_string())
        };
        let p = CODE_PICKED_UP;
        // The canonical forms read.
        assert_eq!(
            build(p, narrow(9), narrow(1), 7, "-x"),
            Ok("fleet/t-x".into())
        );
        assert_eq!(
            build(p | ID_FROM_SEQUENCE, narrow(9), narrow(1), 0, ""),
            Ok("fleet/t-9".into())
        );
        let not = |r: Result<String, CompactError>| matches!(r, Err(CompactError::NotCanonical(_)));
        assert!(not(build(
            p | WIDE_SEQUENCE,
            9u64.to_le_bytes().to_vec(),
            narrow(1),
            0,
            ""
        )));
        assert!(not(build(
            p | WIDE_SUBJECT,
            narrow(9),
            1u64.to_le_bytes().to_vec(),
            0,
            ""
        )));
        assert!(not(build(p, narrow(9), narrow(1), 7, "-9")));
        assert!(not(build(
            p | ID_FROM_SEQUENCE,
            narrow(9),
            narrow(1),
            1,
            ""
        )));
        assert!(not(build(
            p | ID_FROM_SEQUENCE,
            narrow(9),
            narrow(1),
            0,
            "y"
        )));
        // Not derived: a shorter share, other digits, a leading zero.
        assert_eq!(
            build(p, narrow(9), narrow(1), 6, "t-9"),
            Ok("fleet/t-9".into())
        );
        assert_eq!(
            build(p, narrow(9), narrow(1), 7, "-09"),
            Ok("fleet/t-09".into())
        );
        assert_eq!(
            build(p, narrow(9), narrow(1), 7, "-8"),
            Ok("fleet/t-8".into())
        );
    }

    proptest::proptest! {
        /// Any event of a compact type, whatever its numbers, source and id, reads back as
        /// itself, and re-encoding what was read gives the same bytes.
        #[test]
        fn any_compact_event_round_trips(
            source in "[a-z]{1,8}/[A-Za-z0-9._-]{1,20}",
            id_kind in 0u8..4,
            id_tail in "[-a-zé0-9]{0,12}",
            sequence in proptest::prelude::any::<u64>(),
            subject in proptest::prelude::any::<u64>(),
            time_us in proptest::prelude::any::<i64>(),
            body in 0usize..5,
        ) {
            let id = match id_kind {
                0 => format!("{source}-{sequence}"),
                1 => format!("{source}{id_tail}"),
                2 => format!("{}{id_tail}", &source[..source.len() / 2]),
                _ => format!("u{id_tail}"),
            };
            let mut e = event(&id, &source, bodies()[body].clone());
            e.sequence = sequence;
            e.subject = subject;
            e.time_us = time_us;
            let mut out = AlignedVec::<16>::new();
            proptest::prop_assert!(encode(&e, &mut out));
            let parsed = CompactEvent::parse(&out).unwrap();
            proptest::prop_assert_eq!(parsed.id().len(), id.len());
            let back = parsed.to_event();
            proptest::prop_assert_eq!(&back, &e);
            // SAFETY: `encode` wrote these bytes just above.
            let own = unsafe { CompactEvent::from_own(&out) }.to_event();
            proptest::prop_assert_eq!(&own, &e);
            let mut again = AlignedVec::<16>::new();
            proptest::prop_assert!(encode(&back, &mut again));
            proptest::prop_assert_eq!(&out[..], &again[..]);
        }
    }
}
