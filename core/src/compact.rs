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
//! | 0 | 8 | sequence (u64) |
//! | 8 | 8 | event time, microseconds since the epoch (i64) |
//! | 16 | 8 | subject (u64: the vehicle for `vehicle.position`, else the shipment) |
//! | 24 | 1 | type code (below) |
//! | 25 | 1 | source length in bytes |
//! | 26 | 1 | how many leading bytes of the id are the source's leading bytes |
//! | 27 | 1 | length of the rest of the id |
//! | 28 | by type | the payload's fields (below) |
//! | .. | | the source, then the rest of the id |
//!
//! The payload ends exactly after the id: its length is the sum of the parts, so every byte
//! is accounted for and each event has exactly one compact form.
//!
//! | code | type | fields |
//! |---|---|---|
//! | 1 | `vehicle.position` | `lat_ud` i32, `lon_ud` i32, `speed_kph_milli` u32 (12 bytes) |
//! | 2 | `eta.revised` | `eta_us` i64 (8 bytes) |
//! | 3 | `stop.arrived` | stop u8: 0 pickup, 1 delivery |
//! | 4 | `stop.departed` | stop u8 |
//! | 5 | `shipment.picked_up` | none |
//!
//! Ids often begin with their source (`fleet/truck-12-345` from `fleet/truck-12`), so the id
//! is stored as the length of its longest common prefix with the source plus the bytes after
//! it: a front coding that loses nothing and needs no convention from producers (an id that
//! shares nothing, a UUID for instance, is stored whole). The source is ASCII (a valid
//! source is `<system>/[A-Za-z0-9._-]+`), so the split never falls inside a character.

use std::fmt;

use rkyv::rend::{i32_le, i64_le, u32_le};
use rkyv::util::AlignedVec;

use crate::event::{
    ArchivedBody, ArchivedGeoPoint, ArchivedStop, Body, Event, EventType, GeoPoint, Stop,
};

/// Bytes before the payload's fields.
pub const HEAD_BYTES: usize = 28;
const OFF_TIME: usize = 8;
const OFF_SUBJECT: usize = 16;
const OFF_CODE: usize = 24;
const OFF_SOURCE_LEN: usize = 25;
const OFF_ID_SHARED: usize = 26;
const OFF_ID_REST: usize = 27;
/// The largest payload fields (`vehicle.position`).
const MAX_FIELDS_BYTES: usize = 12;

const CODE_POSITION: u8 = 1;
const CODE_ETA: u8 = 2;
const CODE_ARRIVED: u8 = 3;
const CODE_DEPARTED: u8 = 4;
const CODE_PICKED_UP: u8 = 5;

/// The bytes of the payload's fields of a type code, or `None` for a code that is not one.
#[inline]
fn fields_bytes(code: u8) -> Option<usize> {
    Some(match code {
        CODE_POSITION => 12,
        CODE_ETA => 8,
        CODE_ARRIVED | CODE_DEPARTED => 1,
        CODE_PICKED_UP => 0,
        _ => return None,
    })
}

fn stop_byte(stop: Stop) -> u8 {
    match stop {
        Stop::Pickup => 0,
        Stop::Delivery => 1,
    }
}

/// Appends the compact form of `event` to `out` and returns true, or leaves `out` as it was and
/// returns false when the event has none (a type whose payload holds a string, a
/// `correlationid` or `traceparent`, or a source or id past 255 bytes, which no valid event has).
pub fn encode(event: &Event, out: &mut AlignedVec<16>) -> bool {
    let mut fields = [0u8; MAX_FIELDS_BYTES];
    let (code, fields_len) = match &event.body {
        Body::VehiclePosition {
            position,
            speed_kph_milli,
        } => {
            fields[0..4].copy_from_slice(&position.lat_ud.to_le_bytes());
            fields[4..8].copy_from_slice(&position.lon_ud.to_le_bytes());
            fields[8..12].copy_from_slice(&speed_kph_milli.to_le_bytes());
            (CODE_POSITION, 12)
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
        _ => return false,
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
    let shared = id.iter().zip(source).take_while(|(a, b)| a == b).count();
    let mut head = [0u8; HEAD_BYTES];
    head[0..OFF_TIME].copy_from_slice(&event.sequence.to_le_bytes());
    head[OFF_TIME..OFF_SUBJECT].copy_from_slice(&event.time_us.to_le_bytes());
    head[OFF_SUBJECT..OFF_CODE].copy_from_slice(&event.subject.to_le_bytes());
    head[OFF_CODE] = code;
    head[OFF_SOURCE_LEN] = source.len() as u8;
    head[OFF_ID_SHARED] = shared as u8;
    head[OFF_ID_REST] = (id.len() - shared) as u8;
    out.reserve(HEAD_BYTES + fields_len + source.len() + id.len() - shared);
    out.extend_from_slice(&head);
    out.extend_from_slice(&fields[..fields_len]);
    out.extend_from_slice(source);
    out.extend_from_slice(&id[shared..]);
    true
}

/// Why bytes are not a compact event (their structure; the event-format rules are checked
/// apart).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompactError {
    #[error("a compact event is at least {HEAD_BYTES} bytes, got {0}")]
    Short(usize),
    #[error("unknown compact event type code {0}")]
    Code(u8),
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
}

/// A compact event read in place (its structure checked by [`Self::parse`]).
#[derive(Clone, Copy)]
pub struct CompactEvent<'a> {
    head: &'a [u8; HEAD_BYTES],
    fields: &'a [u8],
    source: &'a str,
    id_rest: &'a str,
}

impl<'a> CompactEvent<'a> {
    /// Reads `bytes` as a compact event, checking its structure: lengths that add up to the
    /// payload exactly, a known type code, a stop byte that is a stop, an ASCII source and a
    /// UTF-8 id.
    #[inline]
    pub fn parse(bytes: &'a [u8]) -> Result<CompactEvent<'a>, CompactError> {
        let (head, tail) = bytes
            .split_first_chunk::<HEAD_BYTES>()
            .ok_or(CompactError::Short(bytes.len()))?;
        let code = head[OFF_CODE];
        let fields_len = fields_bytes(code).ok_or(CompactError::Code(code))?;
        let source_len = usize::from(head[OFF_SOURCE_LEN]);
        let shared = usize::from(head[OFF_ID_SHARED]);
        let rest_len = usize::from(head[OFF_ID_REST]);
        let want = HEAD_BYTES + fields_len + source_len + rest_len;
        if bytes.len() != want {
            return Err(CompactError::Length {
                got: bytes.len(),
                want,
            });
        }
        if shared > source_len {
            return Err(CompactError::Shared { shared, source_len });
        }
        let (fields, tail) = tail.split_at(fields_len);
        let (source, id_rest) = tail.split_at(source_len);
        if matches!(code, CODE_ARRIVED | CODE_DEPARTED) && fields[0] > 1 {
            return Err(CompactError::Stop(fields[0]));
        }
        if !source.is_ascii() {
            return Err(CompactError::Source);
        }
        // ASCII is UTF-8.
        let source = std::str::from_utf8(source).map_err(|_| CompactError::Source)?;
        let id_rest = std::str::from_utf8(id_rest).map_err(|_| CompactError::Id)?;
        Ok(CompactEvent {
            head,
            fields,
            source,
            id_rest,
        })
    }

    #[inline]
    fn u64_at(&self, off: usize) -> u64 {
        u64::from_le_bytes(*self.head[off..].first_chunk::<8>().expect("in the head"))
    }

    #[inline]
    fn field4(&self, off: usize) -> [u8; 4] {
        *self.fields[off..]
            .first_chunk::<4>()
            .expect("fields of the type")
    }

    pub fn sequence(&self) -> u64 {
        self.u64_at(0)
    }

    pub fn time_us(&self) -> i64 {
        self.u64_at(OFF_TIME) as i64
    }

    pub fn subject(&self) -> u64 {
        self.u64_at(OFF_SUBJECT)
    }

    pub fn source(&self) -> &'a str {
        self.source
    }

    /// The id: its bytes shared with the source, then the rest.
    pub fn id(&self) -> EventId<'a> {
        EventId {
            head: &self.source[..usize::from(self.head[OFF_ID_SHARED])],
            rest: self.id_rest,
        }
    }

    pub fn event_type(&self) -> EventType {
        match self.head[OFF_CODE] {
            CODE_POSITION => EventType::VehiclePosition,
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
        match self.head[OFF_CODE] {
            CODE_POSITION => ArchivedBody::VehiclePosition {
                position: ArchivedGeoPoint {
                    lat_ud: i32_le::from_native(i32::from_le_bytes(self.field4(0))),
                    lon_ud: i32_le::from_native(i32::from_le_bytes(self.field4(4))),
                },
                speed_kph_milli: u32_le::from_native(u32::from_le_bytes(self.field4(8))),
            },
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
        match self.head[OFF_CODE] {
            CODE_POSITION => Body::VehiclePosition {
                position: GeoPoint {
                    lat_ud: i32::from_le_bytes(self.field4(0)),
                    lon_ud: i32::from_le_bytes(self.field4(4)),
                },
                speed_kph_milli: u32::from_le_bytes(self.field4(8)),
            },
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
            sequence: self.sequence(),
            time_us: self.time_us(),
            subject: self.subject(),
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
            .field("sequence", &self.sequence())
            .field("time_us", &self.time_us())
            .field("subject", &self.subject())
            .field("body", &self.body())
            .finish()
    }
}

/// An event's id as it sits in the journal: whole (`rest` empty) in an archived entry, or in
/// two parts in a compact event. Displays as the id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventId<'a> {
    pub head: &'a str,
    pub rest: &'a str,
}

impl EventId<'_> {
    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.head.len() + self.rest.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Display for EventId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.head)?;
        f.write_str(self.rest)
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
            },
            Body::EtaRevised { eta_us: i64::MIN },
            Body::StopArrived { stop: Stop::Pickup },
            Body::StopDeparted {
                stop: Stop::Delivery,
            },
            Body::ShipmentPickedUp,
        ]
    }

    /// Every compact type, with ids that share all, some or none of the source, reads back
    /// as the event it was encoded from, and its length is exactly the parts.
    #[test]
    fn round_trips() {
        let ids = [
            "fleet/truck-12-345",
            "fleet/truck-12",
            "fleet/",
            "x",
            "fleet/truck-1",
            "ünïcode-id",
            "f\u{e9}",
        ];
        for body in bodies() {
            for id in ids {
                let e = event(id, "fleet/truck-12", body.clone());
                let mut out = AlignedVec::<16>::new();
                assert!(encode(&e, &mut out));
                let c = CompactEvent::parse(&out).unwrap();
                assert_eq!(c.to_event(), e);
                assert_eq!(c.id().to_string(), id);
                assert_eq!(c.id().len(), id.len());
                assert_eq!(c.event_type(), e.event_type());
                let fields = fields_bytes(out[OFF_CODE]).unwrap();
                let shared = id
                    .bytes()
                    .zip("fleet/truck-12".bytes())
                    .take_while(|(a, b)| a == b)
                    .count();
                assert_eq!(out.len(), HEAD_BYTES + fields + 14 + id.len() - shared);
            }
        }
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
        let e = event(
            "fleet/truck-12-1",
            "fleet/truck-12",
            Body::StopArrived { stop: Stop::Pickup },
        );
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
        assert_eq!(edit(OFF_CODE, 0), Err(CompactError::Code(0)));
        assert_eq!(edit(OFF_CODE, 6), Err(CompactError::Code(6)));
        assert!(matches!(
            edit(OFF_ID_SHARED, 15),
            Err(CompactError::Shared { .. })
        ));
        assert_eq!(edit(HEAD_BYTES, 2), Err(CompactError::Stop(2)));
        assert_eq!(edit(HEAD_BYTES + 1, 0xc3), Err(CompactError::Source));
        assert_eq!(edit(good.len() - 1, 0xff), Err(CompactError::Id));
        // A different code with the same total length reads as another valid structure.
        assert!(edit(OFF_CODE, CODE_DEPARTED).is_ok());
    }
}
