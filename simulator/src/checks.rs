//! The checklist every run ends with (docs/scenarios.md), plus the scenario's `[expect]`
//! thresholds. Each check compares what the core reports with what the simulator knows
//! independently.

use crate::report::Check;

/// Differences listed in a failed check's detail, at most.
pub const MAX_DETAIL_LINES: usize = 12;

pub fn check(
    name: &str,
    passed: bool,
    expected: impl ToString,
    actual: impl ToString,
    detail: String,
) -> Check {
    Check {
        name: name.to_string(),
        passed,
        expected: expected.to_string(),
        actual: actual.to_string(),
        detail: if passed { String::new() } else { detail },
    }
}

/// A check that two values are equal.
pub fn equal<T: PartialEq + std::fmt::Display>(name: &str, expected: T, actual: T) -> Check {
    let passed = expected == actual;
    let detail = format!("expected {expected}, the core has {actual}");
    check(name, passed, expected, actual, detail)
}

/// A check over per-key counts, failing with the keys that differ.
pub fn equal_counts(name: &str, expected: &[(String, u64)], actual: &[(String, u64)]) -> Check {
    let show = |v: &[(String, u64)]| {
        let parts: Vec<String> = v
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        if parts.is_empty() {
            "none".to_string()
        } else {
            parts.join(", ")
        }
    };
    let mut diffs = Vec::new();
    for (k, e) in expected {
        let a = actual.iter().find(|(ak, _)| ak == k).map_or(0, |(_, n)| *n);
        if a != *e {
            diffs.push(format!("{k}: expected {e}, the core has {a}"));
        }
    }
    check(
        name,
        diffs.is_empty(),
        show(expected),
        show(actual),
        diffs.join("; "),
    )
}

/// `actual <= limit`.
pub fn at_most(name: &str, limit: u64, actual: Option<u64>, unit: &str) -> Check {
    match actual {
        Some(a) => check(
            name,
            a <= limit,
            format!("<= {limit} {unit}"),
            format!("{a} {unit}"),
            format!("{a} {unit} is over the limit of {limit} {unit}"),
        ),
        None => check(
            name,
            false,
            format!("<= {limit} {unit}"),
            "not measured",
            "nothing was measured".into(),
        ),
    }
}

/// `actual >= floor`.
pub fn at_least(name: &str, floor: f64, actual: f64, unit: &str) -> Check {
    check(
        name,
        actual >= floor,
        format!(">= {floor} {unit}"),
        format!("{actual:.0} {unit}"),
        format!("{actual:.0} {unit} is under the floor of {floor} {unit}"),
    )
}

/// The nearest-rank quantile `q` of `v` (sorted here), None when empty.
pub fn quantile(v: &mut [i64], q: f64) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    Some(v[rank - 1])
}

/// A simulated duration for people: `250ms`, `12.5s`, `4m 12s`, `2h 5m`.
pub fn duration(us: i64) -> String {
    if us < 0 {
        return format!("-{}", duration(us.saturating_neg()));
    }
    if us < 1_000_000 {
        return format!("{}ms", us / 1000);
    }
    if us < 60_000_000 {
        return format!("{:.1}s", us as f64 / 1e6);
    }
    let s = us / 1_000_000;
    let (d, h, m, s) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    let parts: Vec<String> = [(d, "d"), (h, "h"), (m, "m"), (s, "s")]
        .into_iter()
        .filter(|(v, _)| *v > 0)
        .map(|(v, u)| format!("{v}{u}"))
        .collect();
    parts.join(" ")
}

/// `actual <= limit`, durations in simulated time.
pub fn at_most_duration(name: &str, limit_us: i64, actual_us: Option<i64>) -> Check {
    match actual_us {
        Some(a) => check(
            name,
            a <= limit_us,
            format!("<= {}", duration(limit_us)),
            duration(a),
            format!(
                "{} is over the limit of {}",
                duration(a),
                duration(limit_us)
            ),
        ),
        None => check(
            name,
            false,
            format!("<= {}", duration(limit_us)),
            "not measured",
            "nothing was measured".into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_take_the_nearest_rank() {
        let cases: &[(&[i64], f64, Option<i64>)] = &[
            (&[], 0.99, None),
            (&[5], 0.99, Some(5)),
            (&[3, 1, 2], 0.5, Some(2)),
            (&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.99, Some(10)),
            (&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9, Some(9)),
        ];
        for (v, q, want) in cases {
            assert_eq!(quantile(&mut v.to_vec(), *q), *want, "{v:?} {q}");
        }
    }

    #[test]
    fn durations_read_like_the_scenario_files() {
        let cases = [
            (0, "0ms"),
            (250_000, "250ms"),
            (12_500_000, "12.5s"),
            (60_000_000, "1m"),
            (252_000_000, "4m 12s"),
            (7_500_000_000, "2h 5m"),
            (90_000_000_000, "1d 1h"),
            (-2_000_000, "-2.0s"),
        ];
        for (us, want) in cases {
            assert_eq!(duration(us), want, "{us}");
        }
    }
}
