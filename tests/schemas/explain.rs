//! Which of the decoder's unstated rules (`waybill_core::schema::UNSTATED_RULES`) explains a
//! disagreement between the decoder and a schema, from the mutations made and the decoder's
//! detail.

use super::mutate::Mutation;
use waybill_core::event::DeadLetterReason;

/// The decoder's verdict: accepted, or a dead letter's reason and detail.
pub type Decoded = Result<(), (DeadLetterReason, String)>;

/// A number text with more significant digits than a 64-bit float holds (15), that does not
/// fit a 64-bit integer either: a validator reading it as a float may misjudge it at a bound.
fn beyond_float_precision(text: &str) -> bool {
    if text.parse::<i64>().is_ok() || text.parse::<u64>().is_ok() {
        return false;
    }
    let mantissa = text.split(['e', 'E']).next().unwrap_or("");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0');
    significant.len() > 15
}

/// A number text with a fraction or an exponent whose value is a whole number (`1.0`, `1e2`).
fn integer_in_other_notation(text: &str) -> bool {
    text.contains(['.', 'e', 'E'])
        && !beyond_float_precision(text)
        && text.parse::<f64>().is_ok_and(|f| f.fract() == 0.0)
}

/// The name of the unstated rule that explains why the decoder said `decoded` while the
/// schema said `schema_ok` about `line`, made by `mutations`; `None` when no rule does.
pub fn explain(
    mutations: &[Mutation],
    line: &[u8],
    decoded: &Decoded,
    schema_ok: bool,
) -> Option<&'static str> {
    let raws: Vec<&str> = mutations.iter().flat_map(Mutation::raw_numbers).collect();
    if raws.iter().any(|r| beyond_float_precision(r)) {
        return Some("exact_numbers");
    }
    let Err((_, detail)) = decoded else {
        return None;
    };
    if !schema_ok {
        return None;
    }
    if detail == "data.window_end is before data.window_start" {
        return Some("window_order");
    }
    if detail.contains("together") && detail.contains("data.pod") {
        return Some("pod_bytes");
    }
    if detail.contains("bytes (got") && !line.is_ascii() {
        return Some("utf8_bytes");
    }
    if detail.contains("at most 9223372036854775807 in minor units") {
        return Some("money_range");
    }
    if raws.iter().any(|r| integer_in_other_notation(r)) {
        return Some("integer_notation");
    }
    if detail.contains("duplicate key") && mutations.contains(&Mutation::DuplicateKey) {
        return Some("raw_form");
    }
    None
}

#[test]
fn float_precision_and_integer_notation_are_told_apart() {
    for (text, beyond, integer) in [
        ("90.00000000000000001", true, false),
        ("18446744073709551616", true, false),
        ("4294967.29549999999999", true, false),
        ("18446744073709551615", false, false),
        ("-9223372036854775808", false, false),
        ("100000000000000000000000", false, false),
        ("90.0000001", false, false),
        ("1.0", false, true),
        ("1E2", false, true),
        ("1.5", false, false),
    ] {
        assert_eq!(beyond_float_precision(text), beyond, "{text}");
        assert_eq!(integer_in_other_notation(text), integer, "{text}");
    }
}
