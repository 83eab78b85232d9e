//! Admission: before a batch is journaled, an upper bound of what it can add to each store of
//! the machine is compared with the [`Limits`]; a batch that could take one past its limit is
//! refused as a whole ([`CapacityExceeded`]), so nothing of it is journaled or applied.
//!
//! Two bounds, the cheap one first:
//! - **From the batch's size alone**, O(1): each event adds at most one source, one shipment
//!   or vehicle, one invoice, customer, route, contract terms and failed attempt; at most one
//!   charge plus one per listed charge id, and each listed id takes at least 8 bytes of the
//!   archived payload (its string header); every string stored comes from the payload, where
//!   it takes at least half the bytes it takes in a text store (a 2-byte length plus the bytes,
//!   against an 8-byte header plus the bytes, or 8 inline bytes for short strings), and a string
//!   that does not fit the rest of a chunk wastes less than its own size, so the text a batch
//!   adds is at most 4 times its payload bytes. Far from every limit this is all it costs.
//! - **Event by event**, when the cheap bound does not pass: an event already applied (a
//!   duplicate by its source and sequence) adds nothing; new sources, shipments and
//!   vehicles are looked up and counted once per batch (exact); every charge, invoice, customer,
//!   route and contract's terms an event names is counted as new, and every string it carries
//!   is placed in a simulation of its text store in apply's order, as if it were new
//!   (conservative: placement is monotone, so skipping strings never needs more); failed
//!   attempts are counted per shipment.
//!
//! Only dead letters add nothing. The bound is checked against the state before the batch,
//! and replay never checks: what was admitted fits the structural ceilings, which are the
//! largest limits allowed.

use crate::event::{ArchivedBody, EventType};
use crate::limits::{CapacityExceeded, Limits, TEXT_CHUNK_BYTES};
use crate::machine::Machine;
use crate::record::{EntryView, EventView};
use crate::state::{TextFill, Usage};
use rustc_hash::{FxHashMap, FxHashSet};

/// One limit as a batch meets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Row {
    limit: &'static str,
    max: u64,
    held: u64,
    needed: u64,
}

const SOURCES: usize = 0;
const SHIPMENTS: usize = 1;
const VEHICLES: usize = 2;
const CHARGES: usize = 3;
const INVOICES: usize = 4;
const LISTED: usize = 5;
const CUSTOMERS: usize = 6;
const ROUTES: usize = 7;
const TERMS: usize = 8;
const FAILED: usize = 9;
/// The three text stores share the `text_bytes` limit, each on its own.
const IDS_TEXT: usize = 10;
const CUSTOMERS_TEXT: usize = 11;
const ROUTES_TEXT: usize = 12;
const ROWS: usize = 13;

/// What a batch was admitted with: per limit, what was held before it and what it may add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Admitted {
    rows: [Row; ROWS],
}

impl Admitted {
    /// Checks (in debug builds) that applying the batch stayed within what it was admitted
    /// with: the bound is an upper bound.
    pub(crate) fn debug_check(&self, machine: &Machine) {
        if cfg!(debug_assertions) {
            let now = held(machine, &machine.state.usage());
            for (row, now) in self.rows.iter().zip(now) {
                debug_assert!(
                    now <= row.held + row.needed,
                    "{}: {now} held after a batch admitted with {row:?}",
                    row.limit
                );
            }
        }
    }
}

/// What each limit counts now (text in whole chunks).
fn held(machine: &Machine, u: &Usage) -> [u64; ROWS] {
    [
        machine.sources.len() as u64,
        u.shipments,
        u.vehicles,
        u.charges,
        u.invoices,
        u.listed_charges,
        u.customers,
        u.routes,
        u.contract_terms,
        u.failed_attempts,
        u.ids_text.chunk_bytes(),
        u.customers_text.chunk_bytes(),
        u.routes_text.chunk_bytes(),
    ]
}

fn rows(machine: &Machine, usage: &Usage, limits: &Limits) -> [Row; ROWS] {
    let held = held(machine, usage);
    let l = limits;
    let named: [(&'static str, u64); ROWS] = [
        ("sources", l.sources),
        ("shipments", l.shipments),
        ("vehicles", l.vehicles),
        ("charges", l.charges),
        ("invoices", l.invoices),
        ("listed_charges", l.listed_charges),
        ("customers", l.customers),
        ("routes", l.routes),
        ("contract_terms", l.contract_terms),
        ("failed_attempts", l.failed_attempts),
        ("text_bytes", l.text_bytes),
        ("text_bytes", l.text_bytes),
        ("text_bytes", l.text_bytes),
    ];
    std::array::from_fn(|i| Row {
        limit: named[i].0,
        max: named[i].1,
        held: held[i],
        needed: 0,
    })
}

/// The first row the batch could take past its limit.
fn over(rows: &[Row; ROWS]) -> Option<CapacityExceeded> {
    rows.iter()
        .find(|r| r.held.saturating_add(r.needed) > r.max)
        .map(|r| CapacityExceeded {
            limit: r.limit,
            max: r.max,
            held: r.held,
            needed: r.needed,
        })
}

/// Whole-chunk bytes a text store can grow by when strings of `strings_bytes` bytes in all
/// (their lengths included) are placed, each wasting less than itself at a chunk's end.
fn text_growth(fill: &TextFill, strings_bytes: u64) -> u64 {
    let end = fill
        .end_bytes()
        .saturating_add(strings_bytes.saturating_mul(2));
    let chunks = end.div_ceil(TEXT_CHUNK_BYTES).max(fill.chunks);
    (chunks - fill.chunks) * TEXT_CHUNK_BYTES
}

/// Admits a batch of `len` entries taking `payload_bytes` bytes archived, or refuses it.
/// `entries` yields the batch's archived entries, in order; it is only called when the bound
/// from the sizes alone does not pass.
pub(crate) fn admit<'a, I>(
    machine: &Machine,
    limits: &Limits,
    len: usize,
    payload_bytes: usize,
    entries: impl FnOnce() -> I,
) -> Result<Admitted, CapacityExceeded>
where
    I: Iterator<Item = EntryView<'a>>,
{
    let usage = machine.state.usage();
    let mut rows = rows(machine, &usage, limits);
    let (n, bytes) = (len as u64, payload_bytes as u64);
    for i in [
        SOURCES, SHIPMENTS, VEHICLES, INVOICES, CUSTOMERS, ROUTES, TERMS, FAILED,
    ] {
        rows[i].needed = n;
    }
    rows[CHARGES].needed = n + bytes / 8;
    rows[LISTED].needed = bytes / 8;
    // Each string takes at most twice its archived bytes in a text store.
    let text = bytes.saturating_mul(2);
    rows[IDS_TEXT].needed = text_growth(&usage.ids_text, text);
    rows[CUSTOMERS_TEXT].needed = text_growth(&usage.customers_text, text);
    rows[ROUTES_TEXT].needed = text_growth(&usage.routes_text, text);
    if over(&rows).is_none() {
        return Ok(Admitted { rows });
    }
    let mut rows = self::rows(machine, &usage, limits);
    count(machine, &usage, &mut rows, entries());
    match over(&rows) {
        Some(e) => Err(e),
        None => Ok(Admitted { rows }),
    }
}

/// The text stores as a batch would fill them, every string pushed.
struct TextSim {
    ids: TextFill,
    customers: TextFill,
    routes: TextFill,
}

/// The event-by-event bound (see the module docs).
fn count<'a>(
    machine: &Machine,
    usage: &Usage,
    rows: &mut [Row; ROWS],
    entries: impl Iterator<Item = EntryView<'a>>,
) {
    let mut sources: FxHashSet<&str> = FxHashSet::default();
    let mut shipments: FxHashSet<u64> = FxHashSet::default();
    let mut vehicles: FxHashSet<u64> = FxHashSet::default();
    let mut failed: FxHashMap<u64, u64> = FxHashMap::default();
    let mut text = TextSim {
        ids: usage.ids_text,
        customers: usage.customers_text,
        routes: usage.routes_text,
    };
    for entry in entries {
        let EntryView::Event(ev) = entry else {
            continue; // a dead letter never touches state
        };
        let source = ev.source();
        match machine.sources.get(source) {
            // Already applied: a duplicate changes nothing (a redelivery at the edge passes).
            Some(id) if machine.dedupe.seen(id, ev.sequence()) => continue,
            Some(_) => {}
            None => {
                if sources.insert(source) {
                    rows[SOURCES].needed += 1;
                }
            }
        }
        let subject = ev.subject();
        let ty = ev.event_type();
        if ty == EventType::VehiclePosition {
            if !machine.state.contains_vehicle(subject) && vehicles.insert(subject) {
                rows[VEHICLES].needed += 1;
            }
            continue;
        }
        if !machine.state.contains_shipment(subject) && shipments.insert(subject) {
            rows[SHIPMENTS].needed += 1;
        }
        if ty == EventType::DeliveryFailed {
            *failed.entry(subject).or_default() += 1;
        }
        // A compact event's payload holds no string and adds no record but its shipment.
        if let EventView::Archived(ev) = ev {
            count_body(&ev.body, rows, &mut text);
        }
    }
    let grown = |now: &TextFill, before: &TextFill| now.chunk_bytes() - before.chunk_bytes();
    rows[IDS_TEXT].needed = grown(&text.ids, &usage.ids_text);
    rows[CUSTOMERS_TEXT].needed = grown(&text.customers, &usage.customers_text);
    rows[ROUTES_TEXT].needed = grown(&text.routes, &usage.routes_text);
    // Order does not matter for a maximum.
    let most_failed = failed
        .iter()
        .map(|(&id, &n)| u64::from(machine.state.failed_attempts(id)) + n)
        .max()
        .unwrap_or(0);
    rows[FAILED].needed = most_failed.saturating_sub(rows[FAILED].held);
}

/// What one shipment event's payload can add: records counted as new, strings placed in their
/// text store in apply's order.
fn count_body(body: &ArchivedBody, rows: &mut [Row; ROWS], text: &mut TextSim) {
    let string = |s: &str| s.len() + 2;
    match body {
        ArchivedBody::OrderCreated { customer_id, .. } => {
            rows[CUSTOMERS].needed += 1;
            rows[TERMS].needed += 1;
            text.customers.place(string(customer_id.as_str()));
        }
        ArchivedBody::RoutePlanned { route_id, .. } => {
            rows[ROUTES].needed += 1;
            text.routes.place(string(route_id.as_str()));
        }
        ArchivedBody::InvoiceSettled { invoice_id, .. } => {
            rows[INVOICES].needed += 1;
            text.ids.place(string(invoice_id.as_str()));
        }
        ArchivedBody::ShipmentDelivered { pod } => {
            if let Some(pod) = pod.as_ref() {
                let photo = pod.photo_ref.as_ref().map_or(0, |p| p.len());
                // The pod's 3-byte header, its strings, and the store's 2-byte length.
                text.ids.place(3 + pod.signed_by.len() + photo + 2);
            }
        }
        ArchivedBody::ChargeAdded { charge_id, .. } | ArchivedBody::ChargeVoided { charge_id } => {
            rows[CHARGES].needed += 1;
            text.ids.place(string(charge_id.as_str()));
        }
        ArchivedBody::InvoiceIssued {
            invoice_id,
            charge_ids,
            ..
        } => {
            rows[INVOICES].needed += 1;
            text.ids.place(string(invoice_id.as_str()));
            for c in charge_ids.iter() {
                rows[CHARGES].needed += 1;
                text.ids.place(string(c.as_str()));
            }
            rows[LISTED].needed += charge_ids.len() as u64;
        }
        _ => {}
    }
}
