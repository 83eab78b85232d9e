//! The effect checks of a run and the effects section of its report, from the live core's
//! effect log, a read-only replay of the journal, the receivers' receipts, the breakers and the
//! ground truth.

use super::derived::{self, Derived};
use super::effect_checks::{self, Leftovers, ReceiptIndex};
use super::effect_report::{Recorded, effects_report};
use super::effect_truth::effects_match_ground_truth;
use super::sink_outage_checks as outage;
use super::sla::sla_report;
use super::verdict::Ended;
use super::{Sabotage, SimError};
use crate::oracle::Expected;
use crate::report::{Check, EffectsReport};
use waybill_core::state::ShipmentView;

/// What the lanes and the receivers left undelivered at the end.
fn leftovers(run: &Ended<'_>) -> Leftovers {
    let d = &run.ingested.effects;
    Leftovers {
        // In-flight effects are not acknowledged: `pending` counts them already.
        pending: d.lane_end.iter().map(|l| l.pending.max(l.in_flight)).sum(),
        dead: d.lane_end.iter().map(|l| l.dead).sum(),
        over_limit: d.receivers.iter().map(|r| r.stats.over_limit).sum(),
    }
}

/// The effect checks of a run, its `[expect]` bounds on effects and the report's section.
pub(super) struct EffectsChecked {
    pub checks: Vec<Check>,
    pub expect: Vec<Check>,
    pub report: EffectsReport,
}

/// Every effect check of the run, and the report's effects section.
pub(super) fn check_effects(
    run: &Ended<'_>,
    expected: &Expected,
    views: &[ShipmentView],
    sabotage: Sabotage,
) -> Result<EffectsChecked, SimError> {
    let scenario = run.scenario;
    let delivery = &run.ingested.effects;
    let derived = run.live.machine().effect_seq();
    let mut logged: Vec<Derived> = derived::logged(run.dir)?;
    sabotage.falsify_derived(&mut logged);
    let replayed = derived::replay(run.dir)?;
    let receivers = &delivery.receivers;
    let ix = ReceiptIndex::new(derived, receivers);
    let mut checks = vec![
        effect_checks::every_effect_delivered(derived, &logged, &ix, leftovers(run), |s| {
            scenario.sink_down_at_end(s)
        }),
        effect_checks::repeats_carry_the_same_key(receivers, &ix),
        effect_checks::effects_match_replay(&logged, &replayed.effects, &ix),
    ];
    checks.extend(outage::urgent_flow(scenario, &logged, &ix, receivers));
    checks.extend(outage::breakers(receivers, &delivery.breaker_changes));
    checks.push(effects_match_ground_truth(
        expected,
        receivers,
        &scenario.sla,
        |s| scenario.sink_down_at_end(s),
    ));
    let expect = outage::expect_checks(
        &scenario.expect.effects,
        &logged,
        &ix,
        &delivery.breaker_changes,
        delivery.clock_us,
    );
    let report = effects_report(Recorded {
        scenario,
        derived,
        logged: &logged,
        ix: &ix,
        delivery,
        start_us: run.buckets.start_us,
        bucket_us: run.buckets.width_us,
        sla: sla_report(
            &scenario.sla,
            views,
            &replayed.pod_propagation_min,
            receivers,
        ),
    });
    Ok(EffectsChecked {
        checks,
        expect,
        report,
    })
}
