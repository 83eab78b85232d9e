//! The SQLite path of the benchmark: what a team would build instead of Waybill.
//!
//! The same semantics as the core, in SQL: an append-only `journal` table of every event
//! (the log), dedupe by `(source, sequence)` through a primary key, and the shipment and
//! vehicle state of docs/state.md kept by upserts whose `WHERE` clauses implement the same
//! last-writer-wins keys (`time`, `source` bytes, `sequence`; order fields by
//! `order_version` first), milestones as the greatest time, the charge tombstone, invoices
//! and settlements by id, failed attempts counted. Derived fields (status, leakage, ...) are
//! computed at query time in both systems, so neither pays for them here. WAL mode,
//! `synchronous = NORMAL`, one transaction per batch, prepared statements cached.

use rusqlite::{Connection, params};
use std::path::Path;
use waybill_core::event::{Body, Event};

const SCHEMA: &str = r#"
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA temp_store = MEMORY;
PRAGMA cache_size = -262144;
CREATE TABLE journal(lsn INTEGER PRIMARY KEY, ingest_us INTEGER NOT NULL, source TEXT NOT NULL,
  seq INTEGER NOT NULL, type TEXT NOT NULL, subject INTEGER NOT NULL, event_id TEXT NOT NULL);
CREATE TABLE seen(source TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY(source, seq)) WITHOUT ROWID;
CREATE TABLE vehicles(id INTEGER PRIMARY KEY, lat INTEGER, lon INTEGER, speed INTEGER,
  t INTEGER, src TEXT, seq INTEGER);
CREATE TABLE shipments(id INTEGER PRIMARY KEY,
  c_t INTEGER, c_src TEXT, c_seq INTEGER, customer TEXT, o_lat INTEGER, o_lon INTEGER,
  d_lat INTEGER, d_lon INTEGER, w_start INTEGER, w_end INTEGER, weight INTEGER, currency TEXT,
  base_cents INTEGER, free_min INTEGER, cents_per_hour INTEGER,
  ws_v INTEGER, ws_t INTEGER, ws_src TEXT, ws_seq INTEGER, ws INTEGER,
  we_v INTEGER, we_t INTEGER, we_src TEXT, we_seq INTEGER, we INTEGER,
  dst_v INTEGER, dst_t INTEGER, dst_src TEXT, dst_seq INTEGER, dst_lat INTEGER, dst_lon INTEGER,
  order_version INTEGER NOT NULL DEFAULT 0, cancelled INTEGER NOT NULL DEFAULT 0,
  r_t INTEGER, r_src TEXT, r_seq INTEGER, route_id TEXT, vehicle_id INTEGER, stop_index INTEGER,
  eta_t INTEGER, eta_src TEXT, eta_seq INTEGER, eta INTEGER,
  pickup_arrived INTEGER, pickup_departed INTEGER, picked_up INTEGER,
  delivery_arrived INTEGER, delivery_departed INTEGER,
  dl_t INTEGER, dl_src TEXT, dl_seq INTEGER, pod_signed_by TEXT, pod_photo TEXT,
  failed_attempts INTEGER NOT NULL DEFAULT 0);
CREATE TABLE charges(shipment INTEGER NOT NULL, charge_id TEXT NOT NULL, kind TEXT, amount INTEGER,
  currency TEXT, t INTEGER, src TEXT, seq INTEGER, voided INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(shipment, charge_id)) WITHOUT ROWID;
CREATE TABLE invoices(shipment INTEGER NOT NULL, invoice_id TEXT NOT NULL, total INTEGER,
  charge_ids TEXT, t INTEGER, src TEXT, seq INTEGER, PRIMARY KEY(shipment, invoice_id)) WITHOUT ROWID;
CREATE TABLE settlements(shipment INTEGER NOT NULL, invoice_id TEXT NOT NULL, amount INTEGER,
  t INTEGER, src TEXT, seq INTEGER, PRIMARY KEY(shipment, invoice_id)) WITHOUT ROWID;
"#;

/// `(new t, src, seq) > (old t, src, seq)`, or no old value.
const NEWER: &str = "(?2, ?3, ?4) > (COALESCE({p}_t, -9223372036854775808), COALESCE({p}_src, ''), COALESCE({p}_seq, -1))";

fn newer(prefix: &str) -> String {
    NEWER.replace("{p}", prefix)
}

/// The SQLite store.
pub struct SqliteStore {
    conn: Connection,
    lsn: i64,
}

impl SqliteStore {
    pub fn create(path: &Path) -> rusqlite::Result<SqliteStore> {
        let conn = Connection::open(path)?;
        conn.execute_batch(SCHEMA)?;
        Ok(SqliteStore { conn, lsn: 0 })
    }

    /// Journals and applies one batch in one transaction; returns how many were applied
    /// (the rest were duplicates).
    pub fn ingest(&mut self, events: &[Event], ingest_us: i64) -> rusqlite::Result<u64> {
        let tx = self.conn.transaction()?;
        let mut applied = 0;
        for e in events {
            self.lsn += 1;
            tx.prepare_cached(
                "INSERT INTO journal(lsn, ingest_us, source, seq, type, subject, event_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![self.lsn, ingest_us, e.source, e.sequence as i64, e.event_type().as_str(), e.subject as i64, e.id])?;
            let fresh = tx
                .prepare_cached("INSERT OR IGNORE INTO seen(source, seq) VALUES (?1, ?2)")?
                .execute(params![e.source, e.sequence as i64])?;
            if fresh == 0 {
                continue;
            }
            applied += 1;
            apply(&tx, e)?;
        }
        tx.commit()?;
        Ok(applied)
    }
}

fn apply(tx: &rusqlite::Transaction<'_>, e: &Event) -> rusqlite::Result<()> {
    let (id, t, src, seq) = (
        e.subject as i64,
        e.time_us,
        e.source.as_str(),
        e.sequence as i64,
    );
    if let Body::VehiclePosition {
        position,
        speed_kph_milli,
        ..
    } = &e.body
    {
        tx.prepare_cached(
            "INSERT INTO vehicles(id, t, src, seq, lat, lon, speed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(id) DO UPDATE SET lat = excluded.lat, lon = excluded.lon, speed = excluded.speed,
               t = excluded.t, src = excluded.src, seq = excluded.seq
             WHERE (excluded.t, excluded.src, excluded.seq) > (t, src, seq)",
        )?
        .execute(params![id, t, src, seq, position.lat_ud, position.lon_ud, speed_kph_milli])?;
        return Ok(());
    }
    tx.prepare_cached("INSERT OR IGNORE INTO shipments(id) VALUES (?1)")?
        .execute(params![id])?;
    match &e.body {
        Body::OrderCreated {
            customer_id,
            origin,
            destination,
            window_start_us,
            window_end_us,
            weight_kg,
            contract,
        } => {
            tx.prepare_cached(&format!(
                "UPDATE shipments SET c_t = ?2, c_src = ?3, c_seq = ?4, customer = ?5, o_lat = ?6, o_lon = ?7,
                   d_lat = ?8, d_lon = ?9, w_start = ?10, w_end = ?11, weight = ?12, currency = ?13,
                   base_cents = ?14, free_min = ?15, cents_per_hour = ?16
                 WHERE id = ?1 AND {}",
                newer("c")
            ))?
            .execute(params![
                id, t, src, seq, customer_id, origin.lat_ud, origin.lon_ud, destination.lat_ud, destination.lon_ud,
                window_start_us, window_end_us, weight_kg, String::from_utf8_lossy(&contract.currency),
                contract.base_cents, contract.detention_free_min, contract.detention_cents_per_hour
            ])?;
            tx.prepare_cached(
                "UPDATE shipments SET order_version = MAX(order_version, 1) WHERE id = ?1",
            )?
            .execute(params![id])?;
        }
        Body::OrderAmended {
            order_version,
            window_start_us,
            window_end_us,
            destination,
        } => {
            let v = *order_version as i64;
            let versioned = |p: &str| {
                format!(
                    "(?5, ?2, ?3, ?4) > (COALESCE({p}_v, 0), COALESCE({p}_t, 0), COALESCE({p}_src, ''), COALESCE({p}_seq, -1))"
                )
            };
            if let Some(ws) = window_start_us {
                tx.prepare_cached(&format!(
                    "UPDATE shipments SET ws_v = ?5, ws_t = ?2, ws_src = ?3, ws_seq = ?4, ws = ?6 WHERE id = ?1 AND {}",
                    versioned("ws")
                ))?
                .execute(params![id, t, src, seq, v, ws])?;
            }
            if let Some(we) = window_end_us {
                tx.prepare_cached(&format!(
                    "UPDATE shipments SET we_v = ?5, we_t = ?2, we_src = ?3, we_seq = ?4, we = ?6 WHERE id = ?1 AND {}",
                    versioned("we")
                ))?
                .execute(params![id, t, src, seq, v, we])?;
            }
            if let Some(d) = destination {
                tx.prepare_cached(&format!(
                    "UPDATE shipments SET dst_v = ?5, dst_t = ?2, dst_src = ?3, dst_seq = ?4, dst_lat = ?6, dst_lon = ?7 WHERE id = ?1 AND {}",
                    versioned("dst")
                ))?
                .execute(params![id, t, src, seq, v, d.lat_ud, d.lon_ud])?;
            }
            tx.prepare_cached(
                "UPDATE shipments SET order_version = MAX(order_version, ?2) WHERE id = ?1",
            )?
            .execute(params![id, v])?;
        }
        Body::OrderCancelled { .. } => {
            tx.prepare_cached("UPDATE shipments SET cancelled = 1 WHERE id = ?1")?
                .execute(params![id])?;
        }
        Body::InvoiceSettled {
            invoice_id,
            amount_cents,
        } => {
            tx.prepare_cached(
                "INSERT INTO settlements(shipment, invoice_id, amount, t, src, seq) VALUES (?1, ?5, ?6, ?2, ?3, ?4)
                 ON CONFLICT(shipment, invoice_id) DO UPDATE SET amount = excluded.amount, t = excluded.t,
                   src = excluded.src, seq = excluded.seq
                 WHERE (excluded.t, excluded.src, excluded.seq) > (t, src, seq)",
            )?
            .execute(params![id, t, src, seq, invoice_id, amount_cents])?;
        }
        Body::RoutePlanned {
            route_id,
            vehicle_id,
            stop_index,
            eta_us,
        } => {
            tx.prepare_cached(&format!(
                "UPDATE shipments SET r_t = ?2, r_src = ?3, r_seq = ?4, route_id = ?5, vehicle_id = ?6, stop_index = ?7 WHERE id = ?1 AND {}",
                newer("r")
            ))?
            .execute(params![id, t, src, seq, route_id, *vehicle_id as i64, stop_index])?;
            eta(tx, id, t, src, seq, *eta_us)?;
        }
        Body::EtaRevised { eta_us } => eta(tx, id, t, src, seq, *eta_us)?,
        Body::StopArrived { stop } | Body::StopDeparted { stop } => {
            let col = match (&e.body, stop) {
                (Body::StopArrived { .. }, waybill_core::event::Stop::Pickup) => "pickup_arrived",
                (Body::StopArrived { .. }, _) => "delivery_arrived",
                (_, waybill_core::event::Stop::Pickup) => "pickup_departed",
                _ => "delivery_departed",
            };
            milestone(tx, col, id, t)?;
        }
        Body::ShipmentPickedUp => milestone(tx, "picked_up", id, t)?,
        Body::ShipmentDelivered { pod } => {
            tx.prepare_cached(&format!(
                "UPDATE shipments SET dl_t = ?2, dl_src = ?3, dl_seq = ?4, pod_signed_by = ?5, pod_photo = ?6 WHERE id = ?1 AND {}",
                newer("dl")
            ))?
            .execute(params![
                id, t, src, seq,
                pod.as_ref().map(|p| p.signed_by.as_str()),
                pod.as_ref().and_then(|p| p.photo_ref.as_deref())
            ])?;
        }
        Body::DeliveryFailed { .. } => {
            tx.prepare_cached(
                "UPDATE shipments SET failed_attempts = failed_attempts + 1 WHERE id = ?1",
            )?
            .execute(params![id])?;
        }
        Body::ChargeAdded {
            charge_id,
            kind,
            amount_cents,
            currency,
        } => {
            tx.prepare_cached(
                "INSERT INTO charges(shipment, charge_id, kind, amount, currency, t, src, seq) VALUES (?1, ?5, ?6, ?7, ?8, ?2, ?3, ?4)
                 ON CONFLICT(shipment, charge_id) DO UPDATE SET kind = excluded.kind, amount = excluded.amount,
                   currency = excluded.currency, t = excluded.t, src = excluded.src, seq = excluded.seq
                 WHERE t IS NULL OR (excluded.t, excluded.src, excluded.seq) > (t, src, seq)",
            )?
            .execute(params![id, t, src, seq, charge_id, kind.as_str(), amount_cents, String::from_utf8_lossy(currency)])?;
        }
        Body::ChargeVoided { charge_id } => {
            tx.prepare_cached(
                "INSERT INTO charges(shipment, charge_id, voided) VALUES (?1, ?2, 1)
                 ON CONFLICT(shipment, charge_id) DO UPDATE SET voided = 1",
            )?
            .execute(params![id, charge_id])?;
        }
        Body::InvoiceIssued {
            invoice_id,
            total_cents,
            charge_ids,
        } => {
            tx.prepare_cached(
                "INSERT INTO invoices(shipment, invoice_id, total, charge_ids, t, src, seq) VALUES (?1, ?5, ?6, ?7, ?2, ?3, ?4)
                 ON CONFLICT(shipment, invoice_id) DO UPDATE SET total = excluded.total, charge_ids = excluded.charge_ids,
                   t = excluded.t, src = excluded.src, seq = excluded.seq
                 WHERE (excluded.t, excluded.src, excluded.seq) > (t, src, seq)",
            )?
            .execute(params![id, t, src, seq, invoice_id, total_cents, charge_ids.join("\u{1f}")])?;
        }
        Body::VehiclePosition { .. } => unreachable!("handled above"),
    }
    Ok(())
}

fn eta(
    tx: &rusqlite::Transaction<'_>,
    id: i64,
    t: i64,
    src: &str,
    seq: i64,
    eta_us: i64,
) -> rusqlite::Result<()> {
    tx.prepare_cached(&format!(
        "UPDATE shipments SET eta_t = ?2, eta_src = ?3, eta_seq = ?4, eta = ?5 WHERE id = ?1 AND {}",
        newer("eta")
    ))?
    .execute(params![id, t, src, seq, eta_us])?;
    Ok(())
}

fn milestone(tx: &rusqlite::Transaction<'_>, col: &str, id: i64, t: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(&format!(
        "UPDATE shipments SET {col} = MAX(COALESCE({col}, ?2), ?2) WHERE id = ?1"
    ))?
    .execute(params![id, t])?;
    Ok(())
}
