//! Helpers of the outbox tests: hand-made effects, a scripted sink, and driving a lane in
//! simulated time.
#![allow(dead_code)]

use std::path::Path;
use std::sync::{Arc, Mutex};
use waybill_core::effect::{EffectKey, EffectOut, EffectType};
use waybill_core::outbox::{EffectLog, LaneId, NEVER, Outbox, Sink, SinkError};

/// The key of hand-made effect `seq`.
pub fn key(seq: u64) -> EffectKey {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&seq.to_le_bytes());
    k[15] = 0xef;
    EffectKey(k)
}

/// A hand-made effect: a small CloudEvent whose `id` is its key; `pad` bytes of padding.
pub fn effect_padded(seq: u64, cause_lsn: u64, t: EffectType, pad: usize) -> EffectOut {
    let k = key(seq);
    let json = format!(
        r#"{{"specversion":"1.0","id":"{k}","source":"/waybill","type":"{t}","subject":"shipment/{seq}","time":"2026-11-27T10:00:00Z","effectseq":{seq},"causelsn":{cause_lsn},"data":{{"pad":"{}"}}}}"#,
        "x".repeat(pad)
    );
    EffectOut {
        seq,
        cause_lsn,
        time_us: 1_764_237_600_000_000 + seq as i64,
        effect_type: t,
        key: k,
        json: json.into_bytes(),
    }
}

pub fn effect(seq: u64, cause_lsn: u64, t: EffectType) -> EffectOut {
    effect_padded(seq, cause_lsn, t, 0)
}

/// Appends effects of types `types` (seq from the log's next, cause LSN = seq unless
/// `cause` says otherwise), syncs, and returns them.
pub fn append(log: &mut EffectLog, types: &[EffectType]) -> Vec<EffectOut> {
    let mut out = Vec::new();
    for &t in types {
        let seq = log.last_seq() + 1;
        let e = effect(seq, seq.max(log.last_cause_lsn()), t);
        log.append(&e).unwrap();
        out.push(e);
    }
    log.sync().unwrap();
    out
}

/// A log in `journal` holding effects of `types`, seq 1.., cause LSN = seq.
pub fn write_log(journal: &Path, types: &[EffectType]) -> Vec<EffectOut> {
    let mut log = EffectLog::open(journal).unwrap();
    append(&mut log, types)
}

/// What a [`Script`] saw.
#[derive(Default, Debug)]
pub struct Seen {
    /// Every call: the seqs of its batch.
    pub calls: Vec<Vec<u64>>,
    /// The seqs acknowledged, in order.
    pub delivered: Vec<u64>,
    /// Bytes of JSON per call.
    pub call_bytes: Vec<usize>,
}

pub type Answer = Box<dyn FnMut(usize, &[EffectOut]) -> Result<(), SinkError> + Send>;

/// A sink that answers as `answer(call index, batch)` says and records everything.
pub struct Script {
    pub seen: Arc<Mutex<Seen>>,
    answer: Answer,
}

impl Script {
    pub fn new(
        answer: impl FnMut(usize, &[EffectOut]) -> Result<(), SinkError> + Send + 'static,
    ) -> Script {
        Script {
            seen: Arc::default(),
            answer: Box::new(answer),
        }
    }

    /// A sink that takes everything.
    pub fn ok() -> Script {
        Script::new(|_, _| Ok(()))
    }

    pub fn delivered(&self) -> Vec<u64> {
        self.seen.lock().unwrap().delivered.clone()
    }

    pub fn calls(&self) -> Vec<Vec<u64>> {
        self.seen.lock().unwrap().calls.clone()
    }

    pub fn set(
        &mut self,
        answer: impl FnMut(usize, &[EffectOut]) -> Result<(), SinkError> + Send + 'static,
    ) {
        self.answer = Box::new(answer);
    }
}

impl Sink for Script {
    fn deliver(&mut self, batch: &[EffectOut]) -> Result<(), SinkError> {
        let mut seen = self.seen.lock().unwrap();
        let call = seen.calls.len();
        seen.calls.push(batch.iter().map(|e| e.seq).collect());
        seen.call_bytes
            .push(batch.iter().map(|e| e.json.len()).sum());
        let r = (self.answer)(call, batch);
        if r.is_ok() {
            seen.delivered.extend(batch.iter().map(|e| e.seq));
        }
        r
    }
}

/// Polls lane `id` at `now` until it wants to wait; returns its wake-up.
pub fn settle(ob: &mut Outbox, id: LaneId, now: i64, durable: u64, sink: &mut dyn Sink) -> i64 {
    for _ in 0..100_000 {
        let wake = ob
            .lane_mut(id)
            .poll(now, durable, Some(&mut *sink))
            .unwrap();
        assert!(wake >= now, "a wake-up is never in the past");
        if wake > now {
            return wake;
        }
    }
    panic!("lane {id} never settles at {now}");
}

/// Runs lane `id` in simulated time from `start`, jumping to each wake-up, until it has nothing
/// to do or `until` passes. Returns the time reached.
pub fn run(
    ob: &mut Outbox,
    id: LaneId,
    start: i64,
    until: i64,
    durable: u64,
    sink: &mut dyn Sink,
) -> i64 {
    let mut now = start;
    loop {
        let wake = settle(ob, id, now, durable, sink);
        if wake == NEVER || wake > until {
            return now;
        }
        now = wake;
    }
}
