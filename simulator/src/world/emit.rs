//! The producers' outboxes: each source collects what it says (in any order while the world
//! is simulated), then emits it in event-time order through a FIFO with a small producer lag,
//! numbers it 1, 2, 3, ..., stops at the horizon, and the sources are merged into one stream
//! sorted by (`emit_us`, source, sequence).

use super::WorldEvent;
use crate::rng::Rng;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use waybill_core::event::{Body, Event};

/// Why an event was emitted, where the type alone does not say (for the facts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    Plain,
    /// The first `route.planned` of a tour.
    TourPlanned,
    /// A `route.planned` sent again after an amendment.
    Replan,
    /// A `shipment.delivered` after a failed attempt.
    Redelivery,
}

/// One event before it is numbered.
#[derive(Debug)]
pub struct Pending {
    pub time_us: i64,
    pub emit_us: i64,
    pub subject: u64,
    pub tag: Tag,
    pub body: Body,
}

/// Upper bound of the producer lag (emit after event time).
const LAG_MAX_US: u64 = 2_000_000;

/// The outboxes of every source.
pub struct Outbox {
    names: Vec<String>,
    bufs: Vec<Vec<Pending>>,
}

impl Outbox {
    pub const ERP: usize = 0;
    pub const ROUTE: usize = 1;
    pub const BILLING: usize = 2;
    const FLEET0: usize = 3;

    pub fn new(vehicles: u64) -> Outbox {
        let mut names = vec![
            "erp/main".to_string(),
            "route/optimizer".to_string(),
            "billing/engine".to_string(),
        ];
        names.extend((1..=vehicles).map(|v| format!("fleet/truck-{v}")));
        let bufs = names.iter().map(|_| Vec::new()).collect();
        Outbox { names, bufs }
    }

    /// The outbox of vehicle `vehicle_id` (1-based) telematics unit.
    pub fn fleet(vehicle_id: u64) -> usize {
        Self::FLEET0 + (vehicle_id - 1) as usize
    }

    pub fn name(&self, src: usize) -> &str {
        &self.names[src]
    }

    pub fn reserve(&mut self, src: usize, additional: usize) {
        self.bufs[src].reserve(additional);
    }

    #[inline]
    pub fn push(&mut self, src: usize, time_us: i64, subject: u64, body: Body) {
        self.push_tagged(src, time_us, subject, Tag::Plain, body);
    }

    #[inline]
    pub fn push_tagged(&mut self, src: usize, time_us: i64, subject: u64, tag: Tag, body: Body) {
        self.bufs[src].push(Pending {
            time_us,
            emit_us: 0,
            subject,
            tag,
            body,
        });
    }

    /// Emits everything said at or before `end_us`: per source in event-time order (ties in
    /// the order said), `emit_us = max(time_us + lag, previous emit_us)` with the lag drawn
    /// from `lag_rng`, cut at `end_us`, numbered from 1; then all sources merged by
    /// (`emit_us`, source name, sequence). Returns the events and their tags, index for index.
    pub fn finish(self, end_us: i64, lag_rng: &mut Rng) -> (Vec<WorldEvent>, Vec<Tag>) {
        let Outbox { names, mut bufs } = self;
        for buf in &mut bufs {
            if !buf.is_sorted_by_key(|p| p.time_us) {
                buf.sort_by_key(|p| p.time_us);
            }
            let mut last = i64::MIN;
            let mut keep = buf.len();
            for (i, p) in buf.iter_mut().enumerate() {
                let emit = (p.time_us + lag_rng.below(LAG_MAX_US + 1) as i64).max(last);
                if emit > end_us {
                    keep = i;
                    break;
                }
                p.emit_us = emit;
                last = emit;
            }
            buf.truncate(keep);
        }
        let total: usize = bufs.iter().map(Vec::len).sum();
        // Sources compare as byte strings.
        let mut order: Vec<usize> = (0..names.len()).collect();
        order.sort_by(|&a, &b| names[a].as_bytes().cmp(names[b].as_bytes()));
        let mut rank = vec![0u32; names.len()];
        for (r, &s) in order.iter().enumerate() {
            rank[s] = r as u32;
        }
        let mut iters: Vec<_> = bufs.into_iter().map(|b| b.into_iter()).collect();
        let mut seqs = vec![0u64; names.len()];
        let mut heads: Vec<Option<Pending>> = iters.iter_mut().map(Iterator::next).collect();
        let mut heap: BinaryHeap<Reverse<(i64, u32, usize)>> = heads
            .iter()
            .enumerate()
            .filter_map(|(s, h)| h.as_ref().map(|p| Reverse((p.emit_us, rank[s], s))))
            .collect();
        let mut events = Vec::with_capacity(total);
        let mut tags = Vec::with_capacity(total);
        while let Some(Reverse((_, _, s))) = heap.pop() {
            let p = heads[s].take().expect("a head for every heap entry");
            if let Some(next) = iters[s].next() {
                heap.push(Reverse((next.emit_us, rank[s], s)));
                heads[s] = Some(next);
            }
            seqs[s] += 1;
            let seq = seqs[s];
            let name = &names[s];
            let mut id = String::with_capacity(name.len() + 8);
            id.push_str(name);
            id.push('-');
            push_u64(&mut id, seq);
            tags.push(p.tag);
            events.push(WorldEvent {
                emit_us: p.emit_us,
                event: Event {
                    id,
                    source: name.clone(),
                    sequence: seq,
                    time_us: p.time_us,
                    subject: p.subject,
                    correlation_id: None,
                    traceparent: None,
                    body: p.body,
                },
            });
        }
        (events, tags)
    }
}

fn push_u64(s: &mut String, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    s.push_str(std::str::from_utf8(&buf[i..]).expect("digits"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_per_source_in_emit_order_and_cuts_at_the_end() {
        let mut o = Outbox::new(2);
        for t in [50, 10, 30] {
            o.push(
                Outbox::ERP,
                t * 1_000_000,
                1,
                Body::OrderCancelled { reason: "x".into() },
            );
        }
        o.push(Outbox::fleet(2), 20_000_000, 2, Body::ShipmentPickedUp);
        o.push(Outbox::fleet(2), 999_000_000, 2, Body::ShipmentPickedUp);
        let (ev, tags) = o.finish(100_000_000, &mut Rng::new(1));
        assert_eq!(ev.len(), 4);
        assert_eq!(tags.len(), 4);
        let erp: Vec<(u64, i64)> = ev
            .iter()
            .filter(|e| e.event.source == "erp/main")
            .map(|e| (e.event.sequence, e.event.time_us))
            .collect();
        assert_eq!(erp, vec![(1, 10_000_000), (2, 30_000_000), (3, 50_000_000)]);
        assert!(ev.windows(2).all(|w| w[0].emit_us <= w[1].emit_us));
        assert_eq!(ev[1].event.id, "fleet/truck-2-1");
    }
}
