//! [`LaneStatus`]: what a lane shows of itself (breaker, counts, last error), and the status
//! file `status-<sink>-<class>.json` a running delivery refreshes beside its cursors, so that a
//! command in another process can show the breaker. The file is informational only (written by
//! rename, never synced, never read back by a lane).

use super::{BreakerState, LaneId, OutboxError};
use crate::effect::{Class, Downstream};
use serde_json::{Value, json};
use std::path::Path;

/// A lane at one moment.
///
/// Times are µs on the clock of whoever polls the lane (the wall clock for
/// [`super::Delivery`]). Counts "since the lane was opened" start again whenever the lane is
/// opened; `cursor_seq` and `delivered_total` are persisted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaneStatus {
    /// Which lane.
    pub lane: LaneId,
    /// No sink is configured: effects stay pending.
    pub parked: bool,
    /// Where the breaker stands.
    pub breaker: BreakerState,
    /// While the breaker is open: when the next probe may go out.
    pub open_until_us: Option<i64>,
    /// Failed calls in a row (a success or a permanent refusal resets it).
    pub consecutive_failures: u32,
    /// Times the breaker opened.
    pub trips: u64,
    /// Every effect of the lane at or below this seq is acknowledged or dead-lettered.
    pub cursor_seq: u64,
    /// Attempts used by the effect at the head of the lane.
    pub head_attempts: u32,
    /// Calls to the sink since the lane was opened (probes included).
    pub calls: u64,
    /// Failed calls since the lane was opened.
    pub failures: u64,
    /// Effects acknowledged since the lane was opened.
    pub delivered: u64,
    /// Effects acknowledged in total (persisted).
    pub delivered_total: u64,
    /// Effects of the lane in the log, durable, not yet acknowledged or dead-lettered.
    pub pending: u64,
    /// Whether `pending` counted the whole log (else it is a lower bound, still counting).
    pub pending_exact: bool,
    /// Dead letters of the lane (not redriven).
    pub dead: u64,
    /// Redriven dead letters not yet delivered again.
    pub redriving: u64,
    /// Effects in the batch in flight.
    pub in_flight: usize,
    /// The last delivery error since the lane was opened, if any ([`super::Delivery`] shows an
    /// error of the outbox itself here too).
    pub last_error: Option<String>,
    /// When `last_error` happened.
    pub last_error_us: Option<i64>,
    /// While backing off: when the next attempt may go out.
    pub next_attempt_us: Option<i64>,
    /// Nothing deliverable is left (as of the last poll).
    pub idle: bool,
}

impl LaneStatus {
    /// The status as a JSON object: `sink`, `class` and every field by its name.
    pub fn to_json(&self) -> Value {
        json!({
            "sink": self.lane.sink.as_str(),
            "class": self.lane.class.as_str(),
            "parked": self.parked,
            "breaker": self.breaker.as_str(),
            "open_until_us": self.open_until_us,
            "consecutive_failures": self.consecutive_failures,
            "trips": self.trips,
            "cursor_seq": self.cursor_seq,
            "head_attempts": self.head_attempts,
            "calls": self.calls,
            "failures": self.failures,
            "delivered": self.delivered,
            "delivered_total": self.delivered_total,
            "pending": self.pending,
            "pending_exact": self.pending_exact,
            "dead": self.dead,
            "redriving": self.redriving,
            "in_flight": self.in_flight,
            "last_error": self.last_error,
            "last_error_us": self.last_error_us,
            "next_attempt_us": self.next_attempt_us,
            "idle": self.idle,
        })
    }

    /// The inverse of [`Self::to_json`]; `None` when a field is missing or of the wrong type.
    pub fn from_json(v: &Value) -> Option<LaneStatus> {
        let u = |k: &str| v.get(k)?.as_u64();
        let i = |k: &str| v.get(k).and_then(Value::as_i64);
        let b = |k: &str| v.get(k)?.as_bool();
        let sink = Downstream::parse(v.get("sink")?.as_str()?)?;
        let class = Class::ALL
            .into_iter()
            .find(|c| Some(c.as_str()) == v.get("class").and_then(Value::as_str))?;
        Some(LaneStatus {
            lane: LaneId::new(sink, class),
            parked: b("parked")?,
            breaker: BreakerState::parse(v.get("breaker")?.as_str()?)?,
            open_until_us: i("open_until_us"),
            consecutive_failures: u32::try_from(u("consecutive_failures")?).ok()?,
            trips: u("trips")?,
            cursor_seq: u("cursor_seq")?,
            head_attempts: u32::try_from(u("head_attempts")?).ok()?,
            calls: u("calls")?,
            failures: u("failures")?,
            delivered: u("delivered")?,
            delivered_total: u("delivered_total")?,
            pending: u("pending")?,
            pending_exact: b("pending_exact")?,
            dead: u("dead")?,
            redriving: u("redriving")?,
            in_flight: usize::try_from(u("in_flight")?).ok()?,
            last_error: v.get("last_error")?.as_str().map(str::to_owned),
            last_error_us: i("last_error_us"),
            next_attempt_us: i("next_attempt_us"),
            idle: b("idle")?,
        })
    }
}

pub(crate) fn file_name(lane: LaneId) -> String {
    format!("status-{}.json", lane.file_stem())
}

/// Writes `s` (as of `now_us`) to the lane's status file, by rename.
pub(crate) fn write(effects_dir: &Path, s: &LaneStatus, now_us: i64) -> Result<(), OutboxError> {
    let path = effects_dir.join(file_name(s.lane));
    let tmp = effects_dir.join(format!("{}.tmp", file_name(s.lane)));
    let mut v = s.to_json();
    v["as_of_us"] = now_us.into();
    std::fs::write(&tmp, v.to_string()).map_err(|e| OutboxError::io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| OutboxError::io(&path, e))
}

/// The last status a delivery wrote for `lane` and when (µs), if any and readable.
pub fn read_status(effects_dir: &Path, lane: LaneId) -> Option<(LaneStatus, i64)> {
    let text = std::fs::read_to_string(effects_dir.join(file_name(lane))).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    let s = LaneStatus::from_json(&v)?;
    (s.lane == lane).then_some((s, v.get("as_of_us")?.as_i64()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_round_trips_through_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let lane = LaneId::new(Downstream::Erp, Class::Financial);
        let s = LaneStatus {
            lane,
            parked: false,
            breaker: BreakerState::Open,
            open_until_us: Some(9),
            consecutive_failures: 5,
            trips: 1,
            cursor_seq: 3,
            head_attempts: 5,
            calls: 8,
            failures: 5,
            delivered: 3,
            delivered_total: 30,
            pending: 4,
            pending_exact: true,
            dead: 0,
            redriving: 0,
            in_flight: 2,
            last_error: Some("HTTP 503".into()),
            last_error_us: Some(8),
            next_attempt_us: None,
            idle: false,
        };
        write(dir.path(), &s, 77).unwrap();
        assert_eq!(read_status(dir.path(), lane), Some((s, 77)));
        assert_eq!(
            read_status(dir.path(), LaneId::new(Downstream::Ops, Class::Urgent)),
            None
        );
    }
}
