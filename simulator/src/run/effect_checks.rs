//! The checks of effect delivery that every run makes (docs/scenarios.md): every derived effect
//! reached its sink, repeats carry their first key, and the live derivation equals a replay's.
//! What the receivers got is the simulator's own record, kept outside the core.

use super::derived::Derived;
use super::downstream::{Receipt, Receiver};
use crate::checks::{self, MAX_DETAIL_LINES};
use crate::report::Check;
use waybill_core::effect::Downstream;
use waybill_core::effect::EffectKey;

/// Adds a line to a check's detail, up to [`MAX_DETAIL_LINES`].
pub(super) fn note(lines: &mut Vec<String>, line: impl FnOnce() -> String) {
    if lines.len() < MAX_DETAIL_LINES {
        lines.push(line());
    }
}

/// The receipts of a run by seq: the first receipt of each effect.
pub(super) struct ReceiptIndex<'a> {
    /// Index `seq - 1`, for the seqs the live core derived.
    first: Vec<Option<&'a Receipt>>,
    /// Receipts of a seq the core never derived.
    pub unknown: Vec<&'a Receipt>,
    /// Receipts at a receiver that is not their type's sink.
    pub misrouted: Vec<&'a Receipt>,
}

impl<'a> ReceiptIndex<'a> {
    pub fn new(derived: u64, receivers: &'a [Receiver]) -> ReceiptIndex<'a> {
        let n = derived as usize;
        let mut ix = ReceiptIndex {
            first: vec![None; n],
            unknown: Vec::new(),
            misrouted: Vec::new(),
        };
        for r in receivers {
            for rc in &r.receipts {
                if rc.effect_type.sink() != r.sink {
                    ix.misrouted.push(rc);
                }
                match rc.seq.checked_sub(1).filter(|&i| i < derived) {
                    Some(i) => {
                        ix.first[i as usize].get_or_insert(rc);
                    }
                    None => ix.unknown.push(rc),
                }
            }
        }
        ix
    }

    /// The first receipt of effect `seq`.
    pub fn first(&self, seq: u64) -> Option<&'a Receipt> {
        seq.checked_sub(1)
            .and_then(|i| self.first.get(i as usize).copied().flatten())
    }
}

/// What the end of the run left undelivered, as the lanes and receivers tell it.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Leftovers {
    pub pending: u64,
    pub dead: u64,
    /// Receipts the receivers could not keep (over their limit).
    pub over_limit: u64,
}

/// Check 1: every effect the live core derived (1..=`derived`, the machine's `effect_seq`) is
/// in its effect log and reached its sink at least once, but for the effects of a sink that
/// stayed down to the end (`down_at_end`), which must all still be pending in the outbox.
pub(super) fn every_effect_delivered(
    derived: u64,
    logged: &[Derived],
    ix: &ReceiptIndex<'_>,
    left: Leftovers,
    down_at_end: impl Fn(Downstream) -> bool,
) -> Check {
    let mut lines = Vec::new();
    if logged.len() as u64 != derived {
        note(&mut lines, || {
            format!(
                "the core derived {derived} effects but its effect log holds {}",
                logged.len()
            )
        });
    }
    let (mut missing, mut waiting) = (0u64, 0u64);
    for seq in 1..=derived {
        if ix.first(seq).is_none() {
            let t = logged.get(seq as usize - 1).map(|d| d.effect_type);
            if t.is_some_and(|t| down_at_end(t.sink())) {
                waiting += 1;
                continue;
            }
            missing += 1;
            note(&mut lines, || match t {
                Some(t) => format!("effect {seq} ({t}, for {}) never reached it", t.sink()),
                None => format!("effect {seq} never reached a sink"),
            });
        }
    }
    if left.pending != waiting {
        note(&mut lines, || {
            format!(
                "{} effects still pending in the lanes at the end, {waiting} of sinks down to the end",
                left.pending
            )
        });
    }
    for (n, what) in [
        (left.dead, "dead-lettered"),
        (
            left.over_limit,
            "received past the receivers' limit (not kept)",
        ),
        (
            ix.misrouted.len() as u64,
            "received by a sink that is not theirs",
        ),
    ] {
        if n > 0 {
            note(&mut lines, || format!("{n} effects {what}"));
        }
    }
    let held = match waiting {
        0 => String::new(),
        n => format!(", {n} pending for sinks down to the end"),
    };
    checks::check(
        "every_effect_delivered",
        lines.is_empty(),
        format!("{derived} derived, each received or pending for a sink down to the end"),
        format!(
            "{} received, {missing} never{held}",
            derived - missing - waiting
        ),
        lines.join("\n"),
    )
}

/// Check 2: every repeat of an effect (the same seq delivered again) carries the key and type
/// of its first delivery.
pub(super) fn repeats_carry_the_same_key(receivers: &[Receiver], ix: &ReceiptIndex<'_>) -> Check {
    let mut lines = Vec::new();
    let (mut repeats, mut changed) = (0u64, 0u64);
    for r in receivers {
        for rc in &r.receipts {
            let Some(first) = ix.first(rc.seq) else {
                continue;
            };
            if std::ptr::eq(first, rc) {
                continue;
            }
            repeats += 1;
            if (first.key, first.effect_type) != (rc.key, rc.effect_type) {
                changed += 1;
                note(&mut lines, || {
                    format!(
                        "effect {} came as {} {} and again as {} {}",
                        rc.seq, first.effect_type, first.key, rc.effect_type, rc.key
                    )
                });
            }
        }
    }
    checks::check(
        "repeats_carry_the_same_key",
        changed == 0,
        "every repeat with its first key",
        format!("{repeats} repeats, {changed} with another key"),
        lines.join("\n"),
    )
}

fn describe(d: &Derived) -> String {
    format!("{} {} (cause lsn {})", d.effect_type, d.key, d.cause_lsn)
}

/// Check 3: the live core's effects (its log, and what the receivers first got) equal those a
/// read-only replay of the final journal derives: seq by seq, type, key, cause and JSON.
pub(super) fn effects_match_replay(
    logged: &[Derived],
    replayed: &[Derived],
    ix: &ReceiptIndex<'_>,
) -> Check {
    let mut lines = Vec::new();
    let mut differ = 0u64;
    if logged.len() != replayed.len() {
        note(&mut lines, || {
            format!(
                "the live core derived {} effects, the replay {}",
                logged.len(),
                replayed.len()
            )
        });
    }
    for (i, (l, r)) in logged.iter().zip(replayed).enumerate() {
        if l != r {
            differ += 1;
            let what =
                if l.json_hash != r.json_hash && (l.effect_type, l.key) == (r.effect_type, r.key) {
                    " (the same type and key, other JSON)"
                } else {
                    ""
                };
            note(&mut lines, || {
                format!(
                    "effect {}: live {}, replay {}{what}",
                    i + 1,
                    describe(l),
                    describe(r)
                )
            });
        }
    }
    let received_differ = first_receipts_against(replayed, ix, &mut lines);
    let extra = logged.len().abs_diff(replayed.len()) as u64;
    checks::check(
        "effects_match_replay",
        lines.is_empty(),
        format!("{} effects as the replay derives them", replayed.len()),
        format!(
            "{} differ in the log, {received_differ} as received",
            differ + extra
        ),
        lines.join("\n"),
    )
}

/// Compares the first receipt of every effect with the replay's type and key; returns how
/// many differ.
fn first_receipts_against(
    replayed: &[Derived],
    ix: &ReceiptIndex<'_>,
    lines: &mut Vec<String>,
) -> u64 {
    let mut differ = 0;
    for (i, r) in replayed.iter().enumerate() {
        let seq = i as u64 + 1;
        let Some(rc) = ix.first(seq) else {
            continue;
        };
        if (rc.effect_type, rc.key) != (r.effect_type, r.key) {
            differ += 1;
            note(lines, || {
                format!(
                    "effect {seq} was received as {} {}, the replay derives {} {}",
                    rc.effect_type, rc.key, r.effect_type, r.key
                )
            });
        }
    }
    for rc in &ix.unknown {
        differ += 1;
        note(lines, || {
            format!(
                "effect {} ({}) was received but never derived",
                rc.seq, rc.effect_type
            )
        });
    }
    differ
}

/// A key with its first byte changed (for sabotage).
pub(super) fn altered(k: EffectKey) -> EffectKey {
    let mut b = k.0;
    b[0] ^= 0x5a;
    EffectKey(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::downstream::{ReceivedData, Subject};
    use crate::scenario::Scenario;
    use waybill_core::effect::EffectType;

    fn derived(seq: u64) -> Derived {
        Derived {
            effect_type: EffectType::AlertGap,
            key: EffectKey([seq as u8; 16]),
            cause_lsn: seq,
            time_us: 0,
            json_hash: seq,
        }
    }

    fn receipt(seq: u64, key: EffectKey) -> Receipt {
        Receipt {
            seq,
            key,
            effect_type: EffectType::AlertGap,
            subject: Subject::Source("fleet/truck-1".into()),
            data: ReceivedData::Other,
            received_us: 0,
        }
    }

    /// The ops receiver with `receipts`.
    fn receivers(receipts: Vec<Receipt>) -> Vec<Receiver> {
        let s = Scenario::from_toml(
            "name = \"t\"\n[world]\nshipments = 1\nvehicles = 1\nstart = \"2026-11-27T00:00:00Z\"\nhorizon = \"1h\"\n",
        )
        .unwrap();
        let mut rs = Receiver::all(&s, 1, crate::run::Sabotage::None);
        rs[3].receipts = receipts;
        rs
    }

    /// What a case gives the checks, and whether each of the three passes.
    type Case = (&'static str, Vec<Receipt>, Vec<Derived>, [bool; 3]);

    #[test]
    fn delivery_repeats_and_replay_each_catch_their_fault() {
        let log: Vec<Derived> = (1..=3).map(derived).collect();
        let ok = |s| receipt(s, derived(s).key);
        let other = |s| receipt(s, altered(derived(s).key));
        // (what, receipts, log, [delivered, repeats, replay])
        let cases: Vec<Case> = vec![
            (
                "all once",
                vec![ok(1), ok(2), ok(3)],
                log.clone(),
                [true; 3],
            ),
            (
                "repeats with their key",
                vec![ok(1), ok(2), ok(1), ok(3), ok(3)],
                log.clone(),
                [true; 3],
            ),
            (
                "one never received",
                vec![ok(1), ok(3)],
                log.clone(),
                [false, true, true],
            ),
            (
                "a repeat under another key",
                vec![ok(1), ok(2), ok(3), other(2)],
                log.clone(),
                [true, false, true],
            ),
            (
                "received under another key",
                vec![ok(1), other(2), ok(3)],
                log.clone(),
                [true, true, false],
            ),
            (
                "the log short of one",
                vec![ok(1), ok(2), ok(3)],
                log[..2].to_vec(),
                [false, true, false],
            ),
            (
                "received but never derived",
                vec![ok(1), ok(2), ok(3), ok(4)],
                log.clone(),
                [true, true, false],
            ),
        ];
        for (what, rc, logged, want) in cases {
            let rs = receivers(rc);
            let ix = ReceiptIndex::new(3, &rs);
            let got = [
                every_effect_delivered(3, &logged, &ix, Leftovers::default(), |_| false).passed,
                repeats_carry_the_same_key(&rs, &ix).passed,
                effects_match_replay(&logged, &log, &ix).passed,
            ];
            assert_eq!(got, want, "{what}");
        }
        let rs = receivers(vec![ok(1), ok(2), ok(3)]);
        let ix = ReceiptIndex::new(3, &rs);
        let left = Leftovers {
            pending: 1,
            ..Leftovers::default()
        };
        assert!(!every_effect_delivered(3, &log, &ix, left, |_| false).passed);
        // A sink down to the end: what it did not get must be exactly what is still pending.
        let rs = receivers(vec![ok(1)]);
        let ix = ReceiptIndex::new(3, &rs);
        for (pending, passed) in [(2, true), (1, false), (0, false)] {
            let left = Leftovers {
                pending,
                ..Leftovers::default()
            };
            let c = every_effect_delivered(3, &log, &ix, left, |_| true);
            assert_eq!(c.passed, passed, "{pending} pending: {c:?}");
        }
        let none_down = every_effect_delivered(3, &log, &ix, Leftovers::default(), |_| false);
        assert!(!none_down.passed, "a sink that is up owes every effect");
    }
}
