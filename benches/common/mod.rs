//! A small deterministic event generator shared by the stage benches: mostly telematics
//! (`vehicle.position` over many vehicles, one source each), plus shipment events from a few
//! ERP / route / fleet / billing sources over many shipments.
#![allow(dead_code)]

use std::path::Path;

use rkyv::util::AlignedVec;
use waybill_core::engine::Core;
use waybill_core::event::{Body, ChargeKind, Contract, Entry, Event, GeoPoint, Stop};
use waybill_core::journal::{Durability, JournalOptions, RecordKind};
use waybill_core::machine::Machine;
use waybill_core::record::{self, EntryView};

/// 2026-11-27T08:00:00Z.
pub const T0_US: i64 = 1_795_766_400_000_000;

/// Vehicles and shipments of the "warm" state (the 1 M shipments).
pub const VEHICLES: u64 = 1_000_000;
pub const SHIPMENTS: u64 = 1_000_000;

/// Events per measured batch.
pub const BATCH: usize = 10_000;

/// What kind of events to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mix {
    /// ~90 % `vehicle.position`, the rest shipment events of several types.
    Realistic,
    VehiclePosition,
    OrderCreated,
    ChargeAdded,
}

impl Mix {
    pub fn name(self) -> &'static str {
        match self {
            Mix::Realistic => "mix",
            Mix::VehiclePosition => "vehicle.position",
            Mix::OrderCreated => "order.created",
            Mix::ChargeAdded => "charge.added",
        }
    }
}

const SHIPMENT_SOURCES: [&str; 4] = [
    "erp/main",
    "route/optimizer",
    "fleet/mobile",
    "billing/core",
];

/// Deterministic generator (splitmix64); every source numbers its events 1, 2, 3, ...
pub struct Gen {
    rng: u64,
    vehicles: u64,
    shipments: u64,
    vehicle_seq: Vec<u64>,
    source_seq: [u64; 4],
    time_us: i64,
    n: u64,
}

impl Gen {
    pub fn new(seed: u64, vehicles: u64, shipments: u64) -> Gen {
        Gen {
            rng: seed,
            vehicles,
            shipments,
            vehicle_seq: vec![0; vehicles as usize],
            source_seq: [0; 4],
            time_us: T0_US,
            n: 0,
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    fn base(&mut self, source: String, sequence: u64, subject: u64, body: Body) -> Event {
        self.n += 1;
        self.time_us += 1_000;
        Event {
            id: format!("e{:x}", self.n),
            source,
            sequence,
            time_us: self.time_us,
            subject,
            correlation_id: None,
            traceparent: None,
            body,
        }
    }

    /// A position report of vehicle `v`.
    pub fn position_of(&mut self, v: u64) -> Event {
        let seq = &mut self.vehicle_seq[v as usize];
        *seq += 1;
        let sequence = *seq;
        let lat = (self.below(180_000_000) as i64 - 90_000_000) as i32;
        let lon = (self.below(360_000_000) as i64 - 180_000_000) as i32;
        let speed = self.below(120_000) as u32;
        self.base(
            format!("fleet/veh-{v}"),
            sequence,
            v,
            Body::VehiclePosition {
                position: GeoPoint {
                    lat_ud: lat,
                    lon_ud: lon,
                },
                speed_kph_milli: speed,
                heading_deg: None,
                accuracy_mm: None,
            },
        )
    }

    pub fn position(&mut self) -> Event {
        let v = self.below(self.vehicles);
        self.position_of(v)
    }

    fn shipment_event(&mut self, which: usize, subject: u64, body: Body) -> Event {
        self.source_seq[which] += 1;
        let seq = self.source_seq[which];
        self.base(SHIPMENT_SOURCES[which].to_owned(), seq, subject, body)
    }

    pub fn order_created_of(&mut self, s: u64) -> Event {
        let t = self.time_us;
        self.shipment_event(
            0,
            s,
            Body::OrderCreated {
                customer_id: format!("cust-{}", s % 5_000),
                origin: GeoPoint {
                    lat_ud: 52_520_008,
                    lon_ud: 13_404_954,
                },
                destination: GeoPoint {
                    lat_ud: 48_856_613,
                    lon_ud: 2_352_222,
                },
                window_start_us: t + 3_600_000_000,
                window_end_us: t + 7_200_000_000,
                weight_kg: 1_200,
                contract: Contract {
                    currency: *b"EUR",
                    base_cents: 45_000,
                    detention_free_min: 60,
                    detention_cents_per_hour: 4_500,
                },
            },
        )
    }

    pub fn order_created(&mut self) -> Event {
        let s = self.below(self.shipments);
        self.order_created_of(s)
    }

    pub fn charge_added(&mut self) -> Event {
        let s = self.below(self.shipments);
        let n = self.n;
        self.shipment_event(
            3,
            s,
            Body::ChargeAdded {
                charge_id: format!("ch-{n}"),
                kind: ChargeKind::Fuel,
                amount_cents: 1_250,
                currency: *b"EUR",
            },
        )
    }

    /// One event of the realistic mix.
    pub fn mixed(&mut self) -> Event {
        let r = self.below(100);
        let s = self.below(self.shipments);
        let t = self.time_us;
        match r {
            0..90 => self.position(),
            90..93 => self.shipment_event(
                1,
                s,
                Body::EtaRevised {
                    eta_us: t + 5_400_000_000,
                },
            ),
            93..95 => self.shipment_event(
                2,
                s,
                Body::StopArrived {
                    stop: Stop::Delivery,
                },
            ),
            95..97 => self.order_created_of(s),
            97..99 => self.charge_added(),
            _ => self.shipment_event(
                1,
                s,
                Body::RoutePlanned {
                    route_id: format!("r-{}", s % 10_000),
                    vehicle_id: s % self.vehicles.max(1),
                    stop_index: 2,
                    eta_us: t + 5_000_000_000,
                },
            ),
        }
    }

    pub fn event(&mut self, mix: Mix) -> Event {
        match mix {
            Mix::Realistic => self.mixed(),
            Mix::VehiclePosition => self.position(),
            Mix::OrderCreated => self.order_created(),
            Mix::ChargeAdded => self.charge_added(),
        }
    }

    pub fn entries(&mut self, mix: Mix, n: usize) -> Vec<Entry> {
        (0..n).map(|_| Entry::Event(self.event(mix))).collect()
    }
}

/// Entries serialized one after the other into one aligned buffer (each at a 16-byte offset).
pub struct Encoded {
    pub bytes: AlignedVec<16>,
    pub spans: Vec<(usize, usize)>,
    pub kinds: Vec<RecordKind>,
}

impl Encoded {
    pub fn new(entries: &[Entry]) -> Encoded {
        let mut bytes = AlignedVec::<16>::new();
        let mut spans = Vec::with_capacity(entries.len());
        let mut kinds = Vec::with_capacity(entries.len());
        let mut scratch = AlignedVec::<16>::new();
        for e in entries {
            scratch.clear();
            let kind;
            (scratch, kind) = record::encode_entry(e, scratch).unwrap();
            while bytes.len() % 16 != 0 {
                bytes.push(0);
            }
            let start = bytes.len();
            bytes.extend_from_slice(&scratch);
            spans.push((start, bytes.len()));
            kinds.push(kind);
        }
        Encoded {
            bytes,
            spans,
            kinds,
        }
    }

    pub fn payload(&self, i: usize) -> &[u8] {
        let (a, b) = self.spans[i];
        &self.bytes[a..b]
    }

    /// The `i`-th record read in place (its structure checked, as replay does).
    pub fn view(&self, i: usize) -> EntryView<'_> {
        record::read(self.kinds[i], self.payload(i)).unwrap()
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }
}

/// A machine that has seen every vehicle and every shipment once (the warm state).
pub fn warm_machine(g: &mut Gen) -> Machine {
    let mut m = Machine::new();
    m.reserve(g.shipments as usize, g.vehicles as usize);
    let mut buf = AlignedVec::<16>::new();
    let mut lsn = 0;
    let mut step = |m: &mut Machine, e: Event| {
        buf.clear();
        let kind;
        (buf, kind) = record::encode_entry(&Entry::Event(e), std::mem::take(&mut buf)).unwrap();
        lsn += 1;
        m.step(lsn, 0, record::read(kind, &buf).unwrap());
    };
    for v in 0..g.vehicles {
        let e = g.position_of(v);
        step(&mut m, e);
    }
    for s in 0..g.shipments {
        let e = g.order_created_of(s);
        step(&mut m, e);
    }
    m
}

/// Journal options of the benches: no flushing (durability none), 64 MiB segments.
pub fn bench_journal_options() -> JournalOptions {
    JournalOptions {
        durability: Durability::None,
        segment_bytes: 64 << 20,
        ..Default::default()
    }
}

/// Writes `n` mixed events into a journal at `dir` through [`Core`].
pub fn write_journal(dir: &Path, g: &mut Gen, n: usize) {
    let mut core = Core::open(dir, bench_journal_options()).unwrap();
    let mut left = n;
    while left > 0 {
        let k = left.min(BATCH);
        let entries = g.entries(Mix::Realistic, k);
        core.ingest(&entries, T0_US).unwrap();
        left -= k;
    }
    core.flush().unwrap();
}
