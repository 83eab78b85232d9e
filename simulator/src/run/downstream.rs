//! The simulated downstream systems: one in-memory receiver per sink (route, billing, erp, ops).
//! Each records every effect it receives (seq, key, type, subject, the facts its data carries,
//! receive time), refuses every call during its `sink_outage` windows, fails a share of calls
//! at random under `sink_flaky`, and takes the configured latency per call.
//!
//! A flaky failure is one of two, drawn half and half: the receiver refused the batch, or it
//! processed the batch and the answer was lost (a timeout after the fact), so the lane sends
//! again what the receiver already holds: the repeats the checks look at. The draws come from
//! `fault/sink_flaky/<n>/<sink>` (the n-th `sink_flaky` fault, one stream per sink), so adding
//! a fault or a sink never changes another's draws.

use super::sabotage::Sabotage;
use crate::rng::Rng;
use crate::scenario::{Fault, Scenario};
use serde_json::Value;
use waybill_core::effect::{Downstream, EffectKey, EffectOut, EffectType, SlaMeasure};
use waybill_core::outbox::{Sink, SinkError};
use waybill_core::time::parse_rfc3339_us;

/// Most receipts one receiver keeps; one past it is counted, not kept, and fails the checks.
pub(super) const MAX_RECEIPTS_PER_SINK: usize = 16 << 20;

/// What an effect is about, as its CloudEvents `subject` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Subject {
    Shipment(u64),
    Source(Box<str>),
    Unreadable,
}

/// The facts of an effect's `data` that the checks compare with the ground truth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ReceivedData {
    DeliveryConfirmed {
        delivered_us: i64,
        detention_minutes: i64,
    },
    Leakage {
        leakage_cents: i64,
    },
    SlaBreached {
        measure: SlaMeasure,
    },
    /// Another type: its data is not compared.
    Other,
    /// The JSON or its data was not what the type promises.
    Unreadable,
}

/// One effect as a receiver got it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Receipt {
    pub seq: u64,
    pub key: EffectKey,
    pub effect_type: EffectType,
    pub subject: Subject,
    pub data: ReceivedData,
    /// When the call that carried it completed, simulated time.
    pub received_us: i64,
}

/// What a receiver saw of its callers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct CallStats {
    pub calls: u64,
    /// Refused because the receiver was down (`sink_outage`).
    pub refused_down: u64,
    /// Failed at random (`sink_flaky`), the batch not processed.
    pub failed_flaky: u64,
    /// Failed at random after the batch was processed (the answer lost).
    pub lost_answers: u64,
    /// Receipts past [`MAX_RECEIPTS_PER_SINK`], not kept.
    pub over_limit: u64,
    /// Receipts a sabotaged receiver threw away.
    pub thrown_away: u64,
}

/// One simulated downstream system.
pub(super) struct Receiver {
    pub sink: Downstream,
    /// The simulated time of the call being made (set by the driver before each poll).
    pub now_us: i64,
    pub latency_us: i64,
    /// Outage windows, absolute simulated time, `[from, to)`.
    outages: Vec<(i64, i64)>,
    /// Calls refused in each outage window.
    pub refused_in_outage: Vec<u64>,
    /// Each `sink_flaky` fault that selects this sink: its probability and its stream.
    flaky: Vec<(f64, Rng)>,
    pub receipts: Vec<Receipt>,
    pub stats: CallStats,
    /// [`Sabotage::LoseEffect`]: the seq of the first effect this receiver got, which it then
    /// acknowledges every time and never keeps.
    lose: Option<Option<u64>>,
}

impl Receiver {
    /// The receivers of `scenario`'s four sinks, in [`Downstream::index`] order.
    pub fn all(scenario: &Scenario, seed: u64, sabotage: Sabotage) -> Vec<Receiver> {
        Downstream::ALL
            .into_iter()
            .map(|sink| Receiver::new(scenario, seed, sink, sabotage))
            .collect()
    }

    fn new(scenario: &Scenario, seed: u64, sink: Downstream, sabotage: Sabotage) -> Receiver {
        let start_us = scenario.world.start_us;
        let mut outages = Vec::new();
        let mut flaky = Vec::new();
        let mut flaky_faults = 0;
        for f in &scenario.faults {
            match *f {
                Fault::SinkOutage {
                    sink: sel,
                    from_us,
                    to_us,
                } if sel.matches(sink) => outages.push((start_us + from_us, start_us + to_us)),
                Fault::SinkFlaky {
                    sink: sel,
                    probability,
                } => {
                    flaky_faults += 1;
                    if sel.matches(sink) {
                        let name = format!("fault/sink_flaky/{flaky_faults}/{}", sink.as_str());
                        flaky.push((probability, Rng::stream(seed, &name)));
                    }
                }
                _ => {}
            }
        }
        let lose =
            (sabotage == Sabotage::LoseEffect && sink == Downstream::Billing).then_some(None);
        Receiver {
            sink,
            now_us: start_us,
            latency_us: scenario.downstream.latency_us,
            refused_in_outage: vec![0; outages.len()],
            outages,
            flaky,
            receipts: Vec::new(),
            stats: CallStats::default(),
            lose,
        }
    }

    /// True when the receiver is down at `t_us`.
    pub fn down_at(&self, t_us: i64) -> bool {
        self.outage_at(t_us).is_some()
    }

    /// The outage window (its index) that holds `t_us`.
    fn outage_at(&self, t_us: i64) -> Option<usize> {
        self.outages
            .iter()
            .position(|&(a, b)| (a..b).contains(&t_us))
    }

    /// Outage windows, absolute simulated time, `[from, to)`.
    pub fn outages(&self) -> &[(i64, i64)] {
        &self.outages
    }

    /// The flaky draws of one call: None when it succeeds, else whether the batch was
    /// processed before the failure. Every fault draws on every call, so its stream advances
    /// with the calls alone.
    fn flaky_outcome(&mut self) -> Option<bool> {
        let mut failed = None;
        for (p, rng) in &mut self.flaky {
            let fails = rng.chance(*p);
            let processed = rng.chance(0.5);
            if fails && failed.is_none() {
                failed = Some(processed);
            }
        }
        failed
    }

    fn keep(&mut self, batch: &[EffectOut]) {
        let received_us = self.now_us.saturating_add(self.latency_us);
        for e in batch {
            if let Some(lose) = &mut self.lose {
                let seq = *lose.get_or_insert(e.seq);
                if seq == e.seq {
                    self.stats.thrown_away += 1;
                    continue;
                }
            }
            if self.receipts.len() >= MAX_RECEIPTS_PER_SINK {
                self.stats.over_limit += 1;
                continue;
            }
            self.receipts.push(receipt(e, received_us));
        }
    }
}

impl Sink for Receiver {
    fn deliver(&mut self, batch: &[EffectOut]) -> Result<(), SinkError> {
        self.stats.calls += 1;
        if let Some(w) = self.outage_at(self.now_us) {
            self.stats.refused_down += 1;
            self.refused_in_outage[w] += 1;
            return Err(SinkError::transient(format!(
                "{} is down: connection refused",
                self.sink
            )));
        }
        match self.flaky_outcome() {
            None => {
                self.keep(batch);
                Ok(())
            }
            Some(true) => {
                self.keep(batch);
                self.stats.lost_answers += 1;
                Err(SinkError::transient("timed out (the batch was processed)"))
            }
            Some(false) => {
                self.stats.failed_flaky += 1;
                Err(SinkError::transient("503 service unavailable"))
            }
        }
    }
}

/// What a receiver keeps of an effect: the envelope's fields and the facts of its data.
pub(super) fn receipt(e: &EffectOut, received_us: i64) -> Receipt {
    let v: Value = serde_json::from_slice(&e.json).unwrap_or(Value::Null);
    Receipt {
        seq: e.seq,
        key: e.key,
        effect_type: e.effect_type,
        subject: subject(&v),
        data: data(e.effect_type, &v["data"]),
        received_us,
    }
}

fn subject(v: &Value) -> Subject {
    let Some(s) = v["subject"].as_str() else {
        return Subject::Unreadable;
    };
    if let Some(id) = s.strip_prefix("shipment/").and_then(|id| id.parse().ok()) {
        Subject::Shipment(id)
    } else if let Some(name) = s.strip_prefix("source/") {
        Subject::Source(name.into())
    } else {
        Subject::Unreadable
    }
}

fn data(t: EffectType, d: &Value) -> ReceivedData {
    let read = || -> Option<ReceivedData> {
        Some(match t {
            EffectType::BillingDeliveryConfirmed => ReceivedData::DeliveryConfirmed {
                delivered_us: parse_rfc3339_us(d["delivered"].as_str()?)?,
                detention_minutes: d["detention_minutes"].as_i64()?,
            },
            EffectType::AlertLeakage => ReceivedData::Leakage {
                leakage_cents: d["leakage_cents"].as_i64()?,
            },
            EffectType::AlertSlaBreached => {
                let m = d["measure"].as_str()?;
                ReceivedData::SlaBreached {
                    measure: SlaMeasure::ALL.into_iter().find(|x| x.as_str() == m)?,
                }
            }
            _ => ReceivedData::Other,
        })
    };
    read().unwrap_or(ReceivedData::Unreadable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use waybill_core::effect::EffectKey;

    fn effect(seq: u64, t: EffectType, json: &str) -> EffectOut {
        EffectOut {
            seq,
            cause_lsn: seq,
            time_us: 0,
            effect_type: t,
            key: EffectKey([seq as u8; 16]),
            json: json.as_bytes().to_vec(),
        }
    }

    #[test]
    fn a_receipt_keeps_the_subject_and_the_facts_of_the_data() {
        let cases: &[(EffectType, &str, Subject, ReceivedData)] = &[
            (
                EffectType::BillingDeliveryConfirmed,
                r#"{"subject":"shipment/7","data":{"delivered":"2026-11-27T00:01:00Z","detention_minutes":12}}"#,
                Subject::Shipment(7),
                ReceivedData::DeliveryConfirmed {
                    delivered_us: 1_795_737_660_000_000,
                    detention_minutes: 12,
                },
            ),
            (
                EffectType::AlertLeakage,
                r#"{"subject":"shipment/8","data":{"leakage_cents":250,"currency":"EUR"}}"#,
                Subject::Shipment(8),
                ReceivedData::Leakage { leakage_cents: 250 },
            ),
            (
                EffectType::AlertSlaBreached,
                r#"{"subject":"shipment/9","data":{"measure":"invoice_cycle","minutes":5}}"#,
                Subject::Shipment(9),
                ReceivedData::SlaBreached {
                    measure: SlaMeasure::InvoiceCycle,
                },
            ),
            (
                EffectType::AlertGap,
                r#"{"subject":"source/fleet/truck-1","data":{}}"#,
                Subject::Source("fleet/truck-1".into()),
                ReceivedData::Other,
            ),
            (
                EffectType::AlertLeakage,
                r#"{"subject":"shipment/x","data":{"leakage_cents":"many"}}"#,
                Subject::Unreadable,
                ReceivedData::Unreadable,
            ),
            (
                EffectType::AlertLeakage,
                "not json",
                Subject::Unreadable,
                ReceivedData::Unreadable,
            ),
        ];
        for (t, json, subject, data) in cases {
            let r = receipt(&effect(3, *t, json), 99);
            assert_eq!(
                (&r.subject, r.data, r.received_us),
                (subject, *data, 99),
                "{json}"
            );
        }
    }

    fn scenario(faults: &str) -> Scenario {
        Scenario::from_toml(&format!(
            "name = \"d\"\n[world]\nshipments = 1\nvehicles = 1\nstart = \"2026-11-27T00:00:00Z\"\nhorizon = \"4h\"\n[downstream]\nlatency = \"1s\"\n{faults}"
        ))
        .unwrap()
    }

    #[test]
    fn a_receiver_refuses_in_its_outage_and_keeps_with_its_latency_outside() {
        let s = scenario(
            "[[fault]]\nkind = \"sink_outage\"\nsink = \"billing\"\nfrom = \"1h\"\nto = \"2h\"\n",
        );
        let start = s.world.start_us;
        let mut rs = Receiver::all(&s, 1, Sabotage::None);
        let batch = [effect(1, EffectType::BillingDeliveryConfirmed, "{}")];
        let h = 3_600_000_000;
        for (sink, at, ok) in [
            (Downstream::Billing, start + h - 1, true),
            (Downstream::Billing, start + h, false),
            (Downstream::Billing, start + 2 * h - 1, false),
            (Downstream::Billing, start + 2 * h, true),
            (Downstream::Erp, start + h, true),
        ] {
            let r = &mut rs[sink.index()];
            r.now_us = at;
            assert_eq!(r.deliver(&batch).is_ok(), ok, "{sink} at {at}");
            if ok {
                assert_eq!(r.receipts.last().unwrap().received_us, at + 1_000_000);
            }
        }
        assert_eq!(rs[Downstream::Billing.index()].stats.refused_down, 2);
        assert_eq!(rs[Downstream::Billing.index()].receipts.len(), 2);
    }

    #[test]
    fn flaky_failures_follow_the_seed_and_their_share() {
        let s = scenario("[[fault]]\nkind = \"sink_flaky\"\nsink = \"erp\"\nprobability = 0.2\n");
        let run = |seed: u64| {
            let mut r = Receiver::all(&s, seed, Sabotage::None).remove(Downstream::Erp.index());
            let batch = [effect(1, EffectType::ErpInvoiceReady, "{}")];
            let outcomes: Vec<bool> = (0..2000).map(|_| r.deliver(&batch).is_ok()).collect();
            (outcomes, r.stats)
        };
        let (a, stats) = run(5);
        assert_eq!(a, run(5).0);
        assert_ne!(a, run(6).0);
        let failed = stats.failed_flaky + stats.lost_answers;
        assert!((300..500).contains(&failed), "{stats:?}");
        assert!(
            stats.lost_answers > 100 && stats.failed_flaky > 100,
            "{stats:?}"
        );
        // Other sinks are not flaky.
        let mut route = Receiver::all(&s, 5, Sabotage::None).remove(0);
        let batch = [effect(1, EffectType::RouteReplanRequested, "{}")];
        assert!((0..100).all(|_| route.deliver(&batch).is_ok()));
    }
}
