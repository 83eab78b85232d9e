//! What a journal record's payload holds, and how an entry becomes one: the record kinds of the
//! event model, the choice of form when an entry is encoded, and the views that read a record
//! in place whatever its form.
//!
//! | kind | payload |
//! |---|---|
//! | [`ENTRY_KIND`] (1) | an rkyv-archived [`Entry`] (its root at the end) |
//! | [`COMPACT_KIND`] (2) | a [`CompactEvent`]: an event whose payload holds no string and that carries no tracing attributes |
//!
//! The form depends on the entry alone ([`encode_entry`]), so the same entries give the same
//! journal bytes whichever path wrote them. Readers see either form through [`EntryView`] and
//! [`EventView`], which mirror [`Entry`] and [`crate::event::Event`] and borrow the record.

use std::fmt;

use rkyv::rancor;
use rkyv::util::AlignedVec;

use crate::compact::{self, CompactEvent, EventId};
use crate::event::{
    ArchivedDeadLetter, ArchivedEntry, ArchivedEvent, ArchivedNotice, ArchivedSettings, Entry,
    Event, EventType, GapNotice, KeyGroup, Notice, Settings,
};
use crate::journal::RecordKind;

/// The record kind of an archived [`Entry`].
pub const ENTRY_KIND: RecordKind = RecordKind::ENTRY;
/// The record kind of a [`CompactEvent`].
pub const COMPACT_KIND: RecordKind = RecordKind::COMPACT;

/// Appends the journal payload of `entry` to `buf` (from its current end, which must be
/// 16-byte aligned) and returns the buffer with the record kind: the compact form when the
/// entry has one, else its rkyv archive.
pub fn encode_entry(
    entry: &Entry,
    mut buf: AlignedVec<16>,
) -> Result<(AlignedVec<16>, RecordKind), rancor::Error> {
    debug_assert!(buf.len().is_multiple_of(16));
    if let Entry::Event(e) = entry
        && compact::encode(e, &mut buf)
    {
        return Ok((buf, COMPACT_KIND));
    }
    // rkyv's relative pointers and padding depend only on positions modulo the alignment (at
    // most 16), so bytes appended at an aligned offset are those of a fresh buffer.
    let buf = rkyv::api::high::to_bytes_in::<_, rancor::Error>(entry, buf)?;
    Ok((buf, ENTRY_KIND))
}

/// Why a payload is not a record of the event model (its structure; the event-format rules
/// are [`crate::validate::entry_view`]'s).
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("unknown record kind {0}")]
    Kind(RecordKind),
    #[error("not an archived entry: {0}")]
    Archive(rancor::Error),
    #[error("not a compact event: {0}")]
    Compact(#[from] compact::CompactError),
}

/// Reads a payload of `kind` as a journal record, checking its structure (never trusts bytes
/// from disk: `rkyv::access` for an archived entry, [`CompactEvent::parse`] for a compact one).
pub fn read(kind: RecordKind, payload: &[u8]) -> Result<EntryView<'_>, RecordError> {
    match kind {
        ENTRY_KIND => rkyv::access::<ArchivedEntry, rancor::Error>(payload)
            .map(EntryView::from)
            .map_err(RecordError::Archive),
        COMPACT_KIND => Ok(EntryView::Event(EventView::Compact(CompactEvent::parse(
            payload,
        )?))),
        other => Err(RecordError::Kind(other)),
    }
}

/// Reads a payload that [`encode_entry`] wrote in this process, from a valid entry (the live
/// path: the bytes were just serialized and copied verbatim, 16-byte aligned).
///
/// # Safety
/// `payload` must be exactly the bytes [`encode_entry`] appended for a valid [`Entry`], with
/// the kind it returned, starting at a 16-byte aligned address.
#[inline]
pub unsafe fn read_own(kind: RecordKind, payload: &[u8]) -> EntryView<'_> {
    if kind == COMPACT_KIND {
        // SAFETY: the caller promises these are the bytes `encode_entry` wrote with this kind,
        // which are those of one `compact::encode`.
        return EntryView::Event(EventView::Compact(unsafe {
            CompactEvent::from_own(payload)
        }));
    }
    debug_assert_eq!(kind, ENTRY_KIND);
    // SAFETY: the caller promises these are the bytes rkyv wrote for a valid `Entry`, 16-byte
    // aligned.
    EntryView::from(unsafe { rkyv::access_unchecked::<ArchivedEntry>(payload) })
}

/// A journaled entry read in place: an event (in either form), a dead letter, or a settings
/// record.
#[derive(Clone, Copy, Debug)]
pub enum EntryView<'a> {
    Event(EventView<'a>),
    DeadLetter(&'a ArchivedDeadLetter),
    Settings(&'a ArchivedSettings),
    Notice(&'a ArchivedNotice),
}

impl<'a> From<&'a ArchivedEntry> for EntryView<'a> {
    #[inline]
    fn from(e: &'a ArchivedEntry) -> Self {
        match e {
            ArchivedEntry::Event(ev) => EntryView::Event(EventView::Archived(ev)),
            ArchivedEntry::DeadLetter(dl) => EntryView::DeadLetter(dl),
            ArchivedEntry::Settings(st) => EntryView::Settings(st),
            ArchivedEntry::Notice(n) => EntryView::Notice(n),
        }
    }
}

impl<'a> EntryView<'a> {
    /// The event, when this is one.
    pub fn event(&self) -> Option<EventView<'a>> {
        match *self {
            EntryView::Event(ev) => Some(ev),
            EntryView::DeadLetter(_) | EntryView::Settings(_) | EntryView::Notice(_) => None,
        }
    }

    /// The dead letter, when this is one.
    pub fn dead_letter(&self) -> Option<&'a ArchivedDeadLetter> {
        match *self {
            EntryView::Event(_) | EntryView::Settings(_) | EntryView::Notice(_) => None,
            EntryView::DeadLetter(dl) => Some(dl),
        }
    }

    /// The entry as an owned [`Entry`] (what was journaled).
    pub fn to_entry(&self) -> Entry {
        match *self {
            EntryView::Event(ev) => Entry::Event(ev.to_event()),
            EntryView::DeadLetter(dl) => Entry::DeadLetter(
                rkyv::deserialize::<_, rancor::Error>(dl)
                    .expect("archived dead letters deserialize"),
            ),
            EntryView::Settings(st) => Entry::Settings(settings(st)),
            EntryView::Notice(n) => Entry::Notice(notice(n)),
        }
    }
}

/// The notice a notice record holds.
pub fn notice(n: &ArchivedNotice) -> Notice {
    match n {
        ArchivedNotice::KeyGroup(k) => Notice::KeyGroup(KeyGroup {
            group: k.group.to_native(),
            groups: k.groups.to_native(),
        }),
        ArchivedNotice::Gap(g) => Notice::Gap(GapNotice {
            source: g.source.as_str().to_owned(),
            first: g.first.to_native(),
            last: g.last.to_native(),
        }),
    }
}

/// The settings a settings record holds.
pub fn settings(st: &ArchivedSettings) -> Settings {
    Settings {
        order_to_dispatch_min: st.order_to_dispatch_min.as_ref().map(|v| v.to_native()),
        invoice_cycle_min: st.invoice_cycle_min.as_ref().map(|v| v.to_native()),
        pod_propagation_min: st.pod_propagation_min.as_ref().map(|v| v.to_native()),
    }
}

/// A journaled event read in place, in the form its record holds.
#[derive(Clone, Copy)]
pub enum EventView<'a> {
    Archived(&'a ArchivedEvent),
    Compact(CompactEvent<'a>),
}

impl<'a> EventView<'a> {
    #[inline]
    pub fn source(&self) -> &'a str {
        match self {
            EventView::Archived(e) => e.source.as_str(),
            EventView::Compact(c) => c.source(),
        }
    }

    #[inline]
    pub fn sequence(&self) -> u64 {
        match self {
            EventView::Archived(e) => e.sequence.to_native(),
            EventView::Compact(c) => c.sequence(),
        }
    }

    #[inline]
    pub fn time_us(&self) -> i64 {
        match self {
            EventView::Archived(e) => e.time_us.to_native(),
            EventView::Compact(c) => c.time_us(),
        }
    }

    /// The number after `shipment/` or `vehicle/` (which one the type says).
    #[inline]
    pub fn subject(&self) -> u64 {
        match self {
            EventView::Archived(e) => e.subject.to_native(),
            EventView::Compact(c) => c.subject(),
        }
    }

    pub fn id(&self) -> EventId<'a> {
        match self {
            EventView::Archived(e) => EventId::whole(e.id.as_str()),
            EventView::Compact(c) => c.id(),
        }
    }

    pub fn event_type(&self) -> EventType {
        match self {
            EventView::Archived(e) => e.event_type(),
            EventView::Compact(c) => c.event_type(),
        }
    }

    pub fn correlation_id(&self) -> Option<&'a str> {
        match self {
            EventView::Archived(e) => e.correlation_id.as_ref().map(|s| s.as_str()),
            EventView::Compact(_) => None,
        }
    }

    pub fn traceparent(&self) -> Option<&'a str> {
        match self {
            EventView::Archived(e) => e.traceparent.as_ref().map(|s| s.as_str()),
            EventView::Compact(_) => None,
        }
    }

    /// The event as an owned [`Event`] (what was journaled).
    pub fn to_event(&self) -> Event {
        match self {
            EventView::Archived(e) => {
                rkyv::deserialize::<Event, rancor::Error>(*e).expect("archived events deserialize")
            }
            EventView::Compact(c) => c.to_event(),
        }
    }
}

impl fmt::Debug for EventView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventView::Archived(e) => e.fmt(f),
            EventView::Compact(c) => c.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Body, DeadLetter, DeadLetterReason, GeoPoint};

    fn position(correlation_id: Option<&str>) -> Entry {
        Entry::Event(Event {
            id: "fleet/truck-3-9".into(),
            source: "fleet/truck-3".into(),
            sequence: 9,
            time_us: 1_795_766_400_000_000,
            subject: 3,
            correlation_id: correlation_id.map(String::from),
            traceparent: None,
            body: Body::VehiclePosition {
                position: GeoPoint {
                    lat_ud: 52_370_000,
                    lon_ud: 4_900_000,
                },
                speed_kph_milli: 50_000,
                heading_deg: None,
                accuracy_mm: None,
            },
        })
    }

    /// The form follows the entry; both read back as the entry through the views.
    #[test]
    fn entries_take_the_form_that_fits_and_read_back() {
        let dead = Entry::DeadLetter(DeadLetter {
            reason: DeadLetterReason::MalformedJson,
            detail: "x".into(),
            raw: b"{".to_vec(),
            raw_len_bytes: 1,
        });
        for (entry, kind) in [
            (position(None), COMPACT_KIND),
            (position(Some("c-1")), ENTRY_KIND),
            (dead, ENTRY_KIND),
        ] {
            let (buf, k) = encode_entry(&entry, AlignedVec::new()).unwrap();
            assert_eq!(k, kind);
            let view = read(k, &buf).unwrap();
            assert_eq!(view.to_entry(), entry);
            // SAFETY: `encode_entry` wrote these bytes just above, at the start of an aligned
            // buffer.
            let own = unsafe { read_own(k, &buf) };
            assert_eq!(own.to_entry(), entry);
            if let (Some(ev), Entry::Event(e)) = (view.event(), &entry) {
                assert_eq!(ev.id().to_string(), e.id);
                assert_eq!(ev.source(), e.source);
                assert_eq!(ev.sequence(), e.sequence);
                assert_eq!(ev.time_us(), e.time_us);
                assert_eq!(ev.subject(), e.subject);
                assert_eq!(ev.event_type(), e.event_type());
                assert_eq!(ev.correlation_id(), e.correlation_id.as_deref());
            }
        }
    }

    #[test]
    fn a_kind_reads_only_its_own_form() {
        let (compact, _) = encode_entry(&position(None), AlignedVec::new()).unwrap();
        let (archived, _) = encode_entry(&position(Some("c")), AlignedVec::new()).unwrap();
        assert!(matches!(
            read(ENTRY_KIND, &compact),
            Err(RecordError::Archive(_))
        ));
        assert!(matches!(
            read(COMPACT_KIND, &archived),
            Err(RecordError::Compact(_))
        ));
        assert!(matches!(
            read(RecordKind(3), &compact),
            Err(RecordError::Kind(RecordKind(3)))
        ));
    }
}
