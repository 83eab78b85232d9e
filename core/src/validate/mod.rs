//! One validator for every entry, however it arrives: [`crate::decode`] runs it on each event
//! it decoded (a failure is a dead letter), and the typed API (`Core::submit`, `Core::ingest`,
//! `EncodedBatch::push`) on each entry it is given (a failure is an error of the call, and
//! nothing is journaled). So whatever reaches the journal, apply can apply: every string fits
//! the state's text stores, `order_version` is at least 2, amounts are positive, times are in
//! the range RFC 3339 can write, and every entry fits one journal record.
//!
//! The rules here are the per-event limits of the event format (`docs/limits.md`): the decoder
//! checks most of them while it reads the JSON, with the predicates below, and then runs
//! [`payload`] on the result, so the two can never disagree. Replay runs the same rules on the
//! archived entries it reads ([`archived_entry`]), so a record that breaks one (written by an
//! older version, or edited) is an error naming its LSN instead of a failure inside apply.
//! The rules are written once, over a borrowed view of either form (`view`).

mod view;

use crate::compact::CompactEvent;
use crate::event::{
    ArchivedDeadLetter, ArchivedEntry, ArchivedEvent, Body, Contract, DeadLetter, DeadLetterReason,
    Entry, Event, GapNotice, GeoPoint, KeyGroup, MAX_EVENT_BYTES, MAX_HEADING_DEG, MAX_ID_BYTES,
    MAX_KEY_GROUPS, MAX_SOURCE_NAME_BYTES, Notice, System,
};
use crate::record::{EntryView, EventView};
use view::{BodyRef, EventRef};

/// Longest `reason` of `order.cancelled` and `delivery.failed`, in bytes.
pub const MAX_REASON_BYTES: usize = 4096;
/// Longest proof of delivery: `signed_by` and `photo_ref` together, in bytes (a pod is stored
/// as one string of at most 65,535 bytes with a 3-byte header).
pub const MAX_POD_BYTES: usize = 65_280;
/// Most charge ids one `invoice.issued` lists.
pub const MAX_CHARGE_IDS: usize = 4096;
/// Longest `traceparent` (version `00` is exactly 55 bytes; later versions may add fields).
pub const MAX_TRACEPARENT_BYTES: usize = 512;
/// Longest `detail` of a dead letter, in bytes.
pub const MAX_DETAIL_BYTES: usize = 1024;

/// Earliest time RFC 3339 can write: `0000-01-01T00:00:00+23:59`, in microseconds since the
/// epoch.
pub const MIN_TIME_US: i64 = -62_167_305_540_000_000;
/// Latest time RFC 3339 can write: `9999-12-31T23:59:59.999999-23:59`.
pub const MAX_TIME_US: i64 = 253_402_387_139_999_999;

/// Why an entry cannot be journaled: the dead-letter reason it would get on the wire, the
/// field (a path such as `data.pod`), and a one-line detail naming the field and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct Invalid {
    pub reason: DeadLetterReason,
    pub field: &'static str,
    pub detail: String,
}

impl Invalid {
    fn envelope(field: &'static str, detail: String) -> Invalid {
        Invalid {
            reason: DeadLetterReason::InvalidEnvelope,
            field,
            detail,
        }
    }

    fn data(field: &'static str, detail: String) -> Invalid {
        Invalid {
            reason: DeadLetterReason::InvalidData,
            field,
            detail,
        }
    }
}

/// An identifier: non-empty, at most [`MAX_ID_BYTES`].
#[inline]
pub fn is_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_ID_BYTES
}

/// The bytes of a source name, `[A-Za-z0-9._-]`, as a table (every event checks its source).
static SOURCE_NAME_BYTES: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == b'.' || c == b'_' || c == b'-';
        b += 1;
    }
    t
};

/// The name part of a source: `[A-Za-z0-9._-]{1,64}`.
#[inline]
pub fn is_source_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_SOURCE_NAME_BYTES
        && name.bytes().all(|b| SOURCE_NAME_BYTES[usize::from(b)])
}

/// W3C trace context `traceparent`: `<version>-<trace-id>-<parent-id>-<flags>` in lowercase
/// hex. Version `00` is exactly 55 characters; a later version (not `ff`) may carry more after
/// a `-` at position 55, up to [`MAX_TRACEPARENT_BYTES`].
pub fn is_traceparent(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 55 || b.len() > MAX_TRACEPARENT_BYTES {
        return false;
    }
    let hex =
        |r: std::ops::Range<usize>| b[r].iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
    let zeros = |r: std::ops::Range<usize>| b[r].iter().all(|&c| c == b'0');
    let shape = hex(0..2)
        && b[2] == b'-'
        && hex(3..35)
        && b[35] == b'-'
        && hex(36..52)
        && b[52] == b'-'
        && hex(53..55);
    if !shape || zeros(3..35) || zeros(36..52) {
        return false;
    }
    match &b[0..2] {
        b"ff" => false,
        b"00" => b.len() == 55,
        _ => b.len() == 55 || b[55] == b'-',
    }
}

/// A currency: three capital ASCII letters (ISO 4217).
#[inline]
pub fn is_currency(c: &[u8]) -> bool {
    c.len() == 3 && c.iter().all(u8::is_ascii_uppercase)
}

/// A time RFC 3339 can write (years 0000-9999 with any offset).
#[inline]
pub fn is_time(us: i64) -> bool {
    (MIN_TIME_US..=MAX_TIME_US).contains(&us)
}

/// Checks an entry: an event by [`event`], a dead letter by [`dead_letter`].
pub fn entry(e: &Entry) -> Result<(), Invalid> {
    match e {
        Entry::Event(ev) => event(ev),
        Entry::DeadLetter(dl) => dead_letter(dl),
        Entry::Settings(_) => Ok(()),
        Entry::Notice(n) => notice(n),
    }
}

/// Checks a cluster's notice: a key group below a count of at most [`MAX_KEY_GROUPS`]; a gap
/// of a valid source, `1 <= first <= last`.
pub fn notice(n: &Notice) -> Result<(), Invalid> {
    match n {
        Notice::KeyGroup(KeyGroup { group, groups }) => {
            if *groups == 0 || *groups > MAX_KEY_GROUPS || group >= groups {
                return Err(Invalid::envelope(
                    "group",
                    format!(
                        "key group {group} of {groups}: groups must be 1 to {MAX_KEY_GROUPS}, the group below them"
                    ),
                ));
            }
        }
        Notice::Gap(GapNotice {
            source,
            first,
            last,
        }) => {
            source_system(source).map_err(|detail| Invalid::envelope("source", detail))?;
            if *first == 0 || first > last {
                return Err(Invalid::envelope(
                    "sequence",
                    format!("gap {first}..={last}: sequences start at 1 and first <= last"),
                ));
            }
        }
    }
    Ok(())
}

/// Checks a dead letter given to the typed API: its raw bytes are at most [`MAX_EVENT_BYTES`]
/// (the rest of a longer event is not kept), no shorter than the original length says, and its
/// detail is one line of at most [`MAX_DETAIL_BYTES`].
pub fn dead_letter(d: &DeadLetter) -> Result<(), Invalid> {
    dead_letter_parts(d.raw.len(), d.raw_len_bytes, d.detail.len())
}

/// Checks a journaled entry as [`entry`] does the entry it was archived from.
pub fn archived_entry(e: &ArchivedEntry) -> Result<(), Invalid> {
    match e {
        ArchivedEntry::Event(ev) => archived_event(ev),
        ArchivedEntry::DeadLetter(dl) => archived_dead_letter(dl),
        ArchivedEntry::Settings(_) => Ok(()),
        ArchivedEntry::Notice(n) => notice(&crate::record::notice(n)),
    }
}

fn archived_dead_letter(d: &ArchivedDeadLetter) -> Result<(), Invalid> {
    dead_letter_parts(d.raw.len(), d.raw_len_bytes.to_native(), d.detail.len())
}

fn dead_letter_parts(raw: usize, raw_len_bytes: u64, detail: usize) -> Result<(), Invalid> {
    let bad = |field, detail| Err(Invalid::data(field, detail));
    if raw > MAX_EVENT_BYTES {
        return bad(
            "raw",
            format!("dead letter raw bytes must be at most {MAX_EVENT_BYTES} bytes (got {raw})"),
        );
    }
    if raw_len_bytes < raw as u64 {
        return bad(
            "raw_len_bytes",
            format!(
                "dead letter raw_len_bytes {raw_len_bytes} is less than the {raw} raw bytes kept"
            ),
        );
    }
    if detail > MAX_DETAIL_BYTES {
        return bad(
            "detail",
            format!("dead letter detail must be at most {MAX_DETAIL_BYTES} bytes (got {detail})"),
        );
    }
    Ok(())
}

/// The system of a source `<system>/<name>`, or why it is not one.
#[inline]
pub fn source_system(source: &str) -> Result<System, String> {
    // Every event checks its source: a direct match of the four prefixes first.
    let b = source.as_bytes();
    for system in System::ALL {
        let p = system.as_str().as_bytes();
        if b.len() > p.len() && b[p.len()] == b'/' && b.starts_with(p) {
            if is_source_name(&source[p.len() + 1..]) {
                return Ok(system);
            }
            break;
        }
    }
    source_error(source)
}

/// Why `source` is not a valid source (or its system when it is one after all).
#[cold]
fn source_error(source: &str) -> Result<System, String> {
    let Some((system, name)) = source.split_once('/') else {
        return Err(format!(
            "attribute `source` must be `<system>/<name>`, got {}",
            crate::decode::show(source)
        ));
    };
    let Some(system) = System::parse(system) else {
        return Err(format!(
            "attribute `source` system {} is not erp, route, fleet or billing",
            crate::decode::show(system)
        ));
    };
    if !is_source_name(name) {
        return Err(format!(
            "attribute `source` name must match [A-Za-z0-9._-]{{1,{MAX_SOURCE_NAME_BYTES}}}, got {}",
            crate::decode::show(name)
        ));
    }
    Ok(system)
}

/// Checks a typed event, in the order of the dead-letter reasons: the envelope
/// (`invalid_envelope`), the owner of its type (`ownership_violation`), then its payload
/// (`invalid_data`). An event that [`crate::decode::decode`] returns always passes.
pub fn event(e: &Event) -> Result<(), Invalid> {
    event_ref(&EventRef::from(e))
}

/// Checks a journaled event as [`event`] does the event it was archived from.
pub fn archived_event(e: &ArchivedEvent) -> Result<(), Invalid> {
    event_ref(&EventRef::from(e))
}

/// Checks a journaled event in its compact form as [`event`] does the event it was encoded
/// from.
pub fn compact_event(e: &CompactEvent<'_>) -> Result<(), Invalid> {
    event_ref(&EventRef::from(e))
}

/// Checks a journaled entry in either form ([`archived_entry`], [`compact_event`]).
pub fn entry_view(e: &EntryView<'_>) -> Result<(), Invalid> {
    match e {
        EntryView::Event(EventView::Archived(ev)) => archived_event(ev),
        EntryView::Event(EventView::Compact(c)) => compact_event(c),
        EntryView::DeadLetter(dl) => archived_dead_letter(dl),
        EntryView::Settings(_) => Ok(()),
        EntryView::Notice(n) => notice(&crate::record::notice(n)),
    }
}

fn event_ref(e: &EventRef<'_>) -> Result<(), Invalid> {
    let system = envelope(e)?;
    let ty = e.ty;
    if system != ty.owner() {
        return Err(Invalid {
            reason: DeadLetterReason::OwnershipViolation,
            field: "source",
            detail: format!(
                "{} events are owned by {}, not by source {}",
                ty.as_str(),
                ty.owner().as_str(),
                crate::decode::show(e.source)
            ),
        });
    }
    payload_ref(&e.body)
}

/// Checks the envelope attributes; returns the source's system.
fn envelope(e: &EventRef<'_>) -> Result<System, Invalid> {
    if e.id_bytes == 0 || e.id_bytes > MAX_ID_BYTES {
        return Err(Invalid::envelope(
            "id",
            format!(
                "attribute `id` must be a non-empty string of at most {MAX_ID_BYTES} bytes (got {} bytes)",
                e.id_bytes
            ),
        ));
    }
    let system = source_system(e.source).map_err(|d| Invalid::envelope("source", d))?;
    if e.sequence == 0 {
        return Err(Invalid::envelope(
            "sequence",
            "attribute `sequence` must be an integer >= 1, got 0".to_owned(),
        ));
    }
    if !is_time(e.time_us) {
        return Err(Invalid::envelope(
            "time",
            time_detail("attribute `time`", e.time_us),
        ));
    }
    if let Some(c) = e.correlation_id
        && c.len() > MAX_ID_BYTES
    {
        return Err(Invalid::envelope(
            "correlationid",
            format!(
                "attribute `correlationid` must be at most {MAX_ID_BYTES} bytes (got {} bytes)",
                c.len()
            ),
        ));
    }
    if let Some(t) = e.traceparent
        && !is_traceparent(t)
    {
        return Err(Invalid::envelope(
            "traceparent",
            format!(
                "attribute `traceparent` must be a W3C trace context \
                 (`00-<32 hex>-<16 hex>-<2 hex>`, lowercase, ids not all zeros, at most \
                 {MAX_TRACEPARENT_BYTES} bytes), got {}",
                crate::decode::show(t)
            ),
        ));
    }
    Ok(system)
}

fn time_detail(what: &str, us: i64) -> String {
    format!(
        "{what} must be a time RFC 3339 can write (years 0000-9999), got {us} microseconds \
         since the epoch"
    )
}

fn id(field: &'static str, s: &str) -> Result<(), Invalid> {
    if is_id(s) {
        return Ok(());
    }
    Err(Invalid::data(
        field,
        format!(
            "{field} must be a non-empty string of at most {MAX_ID_BYTES} bytes (got {} bytes)",
            s.len()
        ),
    ))
}

fn time(field: &'static str, us: i64) -> Result<(), Invalid> {
    if is_time(us) {
        return Ok(());
    }
    Err(Invalid::data(field, time_detail(field, us)))
}

fn positive(field: &'static str, cents: i64) -> Result<(), Invalid> {
    if cents > 0 {
        return Ok(());
    }
    Err(Invalid::data(
        field,
        format!("{field} must be > 0 (integer cents that fit i64), got {cents}"),
    ))
}

fn currency(field: &'static str, c: &[u8; 3]) -> Result<(), Invalid> {
    if is_currency(c) {
        return Ok(());
    }
    Err(Invalid::data(
        field,
        format!(
            "{field} must be three capital letters (ISO 4217), got {}",
            crate::decode::show(&String::from_utf8_lossy(c))
        ),
    ))
}

fn point(lat: &'static str, lon: &'static str, p: &GeoPoint) -> Result<(), Invalid> {
    for (field, value, bound) in [(lat, p.lat_ud, 90), (lon, p.lon_ud, 180)] {
        if value.unsigned_abs() > bound * 1_000_000 {
            return Err(Invalid::data(
                field,
                format!(
                    "{field} must be a number in [-{bound}, {bound}], got {value} micro-degrees"
                ),
            ));
        }
    }
    Ok(())
}

fn window(start_us: i64, end_us: i64) -> Result<(), Invalid> {
    if end_us < start_us {
        return Err(Invalid::data(
            "data.window_end",
            "data.window_end is before data.window_start".to_owned(),
        ));
    }
    Ok(())
}

fn reason(field: &'static str, s: &str) -> Result<(), Invalid> {
    if s.len() <= MAX_REASON_BYTES {
        return Ok(());
    }
    Err(Invalid::data(
        field,
        format!(
            "{field} must be at most {MAX_REASON_BYTES} bytes (got {} bytes)",
            s.len()
        ),
    ))
}

fn contract(c: &Contract) -> Result<(), Invalid> {
    currency("data.contract.currency", &c.currency)?;
    for (field, cents) in [
        ("data.contract.base_cents", c.base_cents),
        (
            "data.contract.detention_cents_per_hour",
            c.detention_cents_per_hour,
        ),
    ] {
        if cents < 0 {
            return Err(Invalid::data(
                field,
                format!("{field} must be >= 0 (integer cents that fit i64), got {cents}"),
            ));
        }
    }
    Ok(())
}

/// The payload rules of every event type and the format's size limits: the `invalid_data`
/// part of [`event`], which the decoder runs after its own checks of the envelope and the
/// owner (made with the predicates above).
pub fn payload(b: &Body) -> Result<(), Invalid> {
    payload_ref(&BodyRef::from(b))
}

fn payload_ref(b: &BodyRef<'_>) -> Result<(), Invalid> {
    match *b {
        BodyRef::OrderCreated { .. } | BodyRef::OrderAmended { .. } => order(b),
        BodyRef::Reason(r) => reason("data.reason", r),
        BodyRef::InvoiceSettled {
            invoice_id,
            amount_cents,
        } => {
            id("data.invoice_id", invoice_id)?;
            positive("data.amount_cents", amount_cents)
        }
        BodyRef::RoutePlanned { route_id, eta_us } => {
            id("data.route_id", route_id)?;
            time("data.eta", eta_us)
        }
        BodyRef::EtaRevised { eta_us } => time("data.eta", eta_us),
        BodyRef::VehiclePosition {
            position,
            heading_deg,
        } => {
            if let Some(h) = heading_deg.filter(|&h| h > MAX_HEADING_DEG) {
                return Err(Invalid::data(
                    "data.heading_deg",
                    format!(
                        "data.heading_deg must be an integer in [0, {MAX_HEADING_DEG}], got {h}"
                    ),
                ));
            }
            point("data.lat", "data.lon", &position)
        }
        BodyRef::NoData | BodyRef::ShipmentDelivered { pod: None } => Ok(()),
        BodyRef::ShipmentDelivered {
            pod: Some((signed_by, photo_ref)),
        } => {
            let len = signed_by.len() + photo_ref.map_or(0, str::len);
            if len > MAX_POD_BYTES {
                return Err(Invalid::data(
                    "data.pod",
                    format!(
                        "data.pod.signed_by and data.pod.photo_ref must be at most \
                         {MAX_POD_BYTES} bytes together (got {len} bytes)"
                    ),
                ));
            }
            Ok(())
        }
        BodyRef::ChargeAdded {
            charge_id,
            amount_cents,
            currency: c,
        } => {
            id("data.charge_id", charge_id)?;
            positive("data.amount_cents", amount_cents)?;
            currency("data.currency", &c)
        }
        BodyRef::ChargeVoided { charge_id } => id("data.charge_id", charge_id),
        BodyRef::InvoiceIssued {
            invoice_id,
            total_cents,
            charge_ids,
        } => {
            id("data.invoice_id", invoice_id)?;
            positive("data.total_cents", total_cents)?;
            listed_ids(charge_ids)
        }
    }
}

/// `order.created` and `order.amended`.
fn order(b: &BodyRef<'_>) -> Result<(), Invalid> {
    match *b {
        BodyRef::OrderCreated {
            customer_id,
            origin,
            destination,
            window_start_us,
            window_end_us,
            contract: c,
        } => {
            id("data.customer_id", customer_id)?;
            point("data.origin.lat", "data.origin.lon", &origin)?;
            point("data.destination.lat", "data.destination.lon", &destination)?;
            time("data.window_start", window_start_us)?;
            time("data.window_end", window_end_us)?;
            window(window_start_us, window_end_us)?;
            contract(&c)
        }
        BodyRef::OrderAmended {
            order_version,
            window_start_us,
            window_end_us,
            destination,
        } => {
            if order_version < 2 {
                return Err(Invalid::data(
                    "data.order_version",
                    format!(
                        "data.order_version must be an integer >= 2 that fits u32, got {order_version}"
                    ),
                ));
            }
            if let Some(t) = window_start_us {
                time("data.window_start", t)?;
            }
            if let Some(t) = window_end_us {
                time("data.window_end", t)?;
            }
            if let (Some(s), Some(e)) = (window_start_us, window_end_us) {
                window(s, e)?;
            }
            match destination {
                Some(p) => point("data.destination.lat", "data.destination.lon", &p),
                None => Ok(()),
            }
        }
        _ => unreachable!("only order payloads come here"),
    }
}

/// The charge ids an invoice lists.
fn listed_ids(charge_ids: view::Ids<'_>) -> Result<(), Invalid> {
    if charge_ids.len() > MAX_CHARGE_IDS {
        return Err(Invalid::data(
            "data.charge_ids",
            format!(
                "data.charge_ids must list at most {MAX_CHARGE_IDS} charge ids (got {})",
                charge_ids.len()
            ),
        ));
    }
    for (i, c) in charge_ids.iter().enumerate() {
        if !is_id(c) {
            return Err(Invalid::data(
                "data.charge_ids",
                format!(
                    "data.charge_ids[{i}] must be a non-empty string of at most \
                     {MAX_ID_BYTES} bytes (got {} bytes)",
                    c.len()
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_rfc3339_us;

    #[test]
    fn time_range_is_what_rfc3339_can_write() {
        assert_eq!(
            parse_rfc3339_us("0000-01-01T00:00:00+23:59"),
            Some(MIN_TIME_US)
        );
        assert_eq!(
            parse_rfc3339_us("9999-12-31T23:59:59.999999-23:59"),
            Some(MAX_TIME_US)
        );
        assert!(is_time(MIN_TIME_US) && is_time(MAX_TIME_US) && is_time(0));
        assert!(!is_time(MIN_TIME_US - 1) && !is_time(MAX_TIME_US + 1));
        assert!(!is_time(i64::MIN) && !is_time(i64::MAX));
    }
}
