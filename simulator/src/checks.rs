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
