//! Human output helpers shared by the commands.

use serde_json::Value;
use waybill_core::event::DeadLetterReason;
use waybill_core::machine::Counters;

/// Reason -> count for the reasons that occurred, in SPEC order, as a JSON object.
pub fn reason_counts(c: &Counters) -> Value {
    let mut m = serde_json::Map::new();
    for r in DeadLetterReason::ALL {
        m.insert(
            r.as_str().to_string(),
            c.dead_letter_reasons[r.index()].into(),
        );
    }
    Value::Object(m)
}

/// `received = applied + duplicates + dead-lettered`, then the reasons that occurred.
pub fn print_counters(c: &Counters) {
    println!(
        "received {} = applied {} + duplicates {} + dead-lettered {}",
        c.received, c.applied, c.duplicates, c.dead_lettered
    );
    let reasons = reasons_line(c);
    if !reasons.is_empty() {
        println!("dead letters: {reasons}");
    }
}

pub fn reasons_line(c: &Counters) -> String {
    DeadLetterReason::ALL
        .iter()
        .filter(|r| c.dead_letter_reasons[r.index()] > 0)
        .map(|r| format!("{} {}", r.as_str(), c.dead_letter_reasons[r.index()]))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A JSON object as aligned `key  value` lines (nested values as compact JSON).
pub fn print_object(v: &Value) {
    let Some(obj) = v.as_object() else {
        println!("{v}");
        return;
    };
    let width = obj.keys().map(|k| k.len()).max().unwrap_or(0);
    for (k, v) in obj {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Null => "-".to_string(),
            other => other.to_string(),
        };
        println!("{k:width$}  {text}");
    }
}

/// Raw bytes for people: lossy UTF-8, cut at `max_chars`.
pub fn raw_preview(raw: &[u8], max_chars: usize) -> String {
    let s = String::from_utf8_lossy(raw);
    let mut out: String = s.chars().take(max_chars).collect();
    if s.chars().count() > max_chars {
        out.push('…');
    }
    out
}
