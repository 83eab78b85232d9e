//! The regular expressions of the schemas, built from the rules of the decoder they mirror.
//!
//! Every pattern is anchored (`^...$`) and written in the subset that ECMA-262 and Rust's
//! `regex` read alike: explicit classes such as `[0-9]` (never `\d` or `\w`, which some
//! engines widen to Unicode), no look-around, no back-references.

use crate::event::{MAX_SOURCE_NAME_BYTES, System};

/// A decimal of `max_digits`' value or less with no leading zero and at least 1: the
/// alternatives of a pattern (unanchored, no group around it).
///
/// Shorter numbers are any digits; a number as long as `max` is below it at the first digit
/// where it differs, or is `max` itself.
fn positive_at_most(max: u64) -> String {
    assert!(max >= 1, "the range [1, max] is not empty");
    let max = max.to_string();
    let digits = max.as_bytes();
    let len = digits.len();
    let mut alternatives = Vec::new();
    match len {
        1 => {}
        2 => alternatives.push("[1-9]".to_owned()),
        _ => alternatives.push(format!("[1-9][0-9]{{0,{}}}", len - 2)),
    }
    for (i, &d) in digits.iter().enumerate() {
        let low = if i == 0 { b'1' } else { b'0' };
        if d > low {
            let rest = len - i - 1;
            let tail = match rest {
                0 => String::new(),
                1 => "[0-9]".to_owned(),
                _ => format!("[0-9]{{{rest}}}"),
            };
            alternatives.push(format!(
                "{}[{}-{}]{tail}",
                &max[..i],
                char::from(low),
                char::from(d - 1)
            ));
        }
    }
    alternatives.push(max.clone());
    alternatives.join("|")
}

/// Decimal digits of an integer in [1, `max`], leading zeros allowed (`"007"` is 7): the form
/// of `sequence`. Unanchored, one group.
pub(super) fn decimal_from_one(max: u64) -> String {
    format!("0*(?:{})", positive_at_most(max))
}

/// Decimal digits of an integer in [0, `max`], leading zeros allowed: the id of a `subject`.
/// Unanchored, one group.
pub(super) fn decimal_from_zero(max: u64) -> String {
    format!("(?:0+|0*(?:{}))", positive_at_most(max))
}

/// Decimal digits of an integer in [1, `max`] as Waybill prints it (no leading zero).
/// Unanchored, one group.
pub(super) fn canonical_positive(max: u64) -> String {
    format!("(?:{})", positive_at_most(max))
}

/// `sequence`: a decimal string of an integer from 1 to `u64::MAX`.
pub(super) fn sequence() -> String {
    format!("^{}$", decimal_from_one(u64::MAX))
}

/// `subject` of the kind `kind` (`shipment` or `vehicle`): `<kind>/<u64>`.
pub(super) fn subject(kind: &str) -> String {
    format!("^{kind}/{}$", decimal_from_zero(u64::MAX))
}

/// `source` of the system `system`: `<system>/<name>`, the name `[A-Za-z0-9._-]{1,64}`.
pub(super) fn source(system: System) -> String {
    format!(
        "^{}/[A-Za-z0-9._-]{{1,{MAX_SOURCE_NAME_BYTES}}}$",
        system.as_str()
    )
}

/// Years 0000 to 9999 that are leap years: divisible by 4 and not by 100, or by 400.
const LEAP_YEAR: &str =
    "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)";

/// A calendar date `YYYY-MM-DD` that exists (the days of each month, February 29 in leap
/// years only).
fn date() -> String {
    format!(
        "(?:[0-9]{{4}}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])\
         |(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)\
         |02-(?:0[1-9]|1[0-9]|2[0-8]))\
         |{LEAP_YEAR}-02-29)"
    )
}

/// An RFC 3339 time as the decoder reads it (`time::parse_rfc3339_us`): a date that exists,
/// `T` or `t`, hours 00-23, minutes and seconds 00-59 (no leap second), an optional fraction
/// of one or more digits, and `Z`, `z` or an offset `+HH:MM` / `-HH:MM` (hours 00-23).
pub(super) fn time() -> String {
    format!(
        "^{}[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]+)?\
         (?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$",
        date()
    )
}

/// A time as Waybill prints it: UTC with `Z`, six fraction digits or none.
pub(super) fn utc_time() -> String {
    format!(
        "^{}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{{6}})?Z$",
        date()
    )
}

/// A W3C `traceparent` as `validate::is_traceparent` reads it, but for the all-zero ids
/// ([`TRACEPARENT_ZERO_IDS`]): version `00` is exactly `00-<32 hex>-<16 hex>-<2 hex>` in
/// lowercase; a later version (not `ff`) may carry more after a `-`.
pub(super) const TRACEPARENT: &str = "^(?:00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}\
     |(?:0[1-9a-f]|[1-9a-e][0-9a-f]|f[0-9a-e])-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(?:-[\\s\\S]*)?)$";

/// A `traceparent` whose trace id or parent id is all zeros (refused).
pub(super) const TRACEPARENT_ZERO_IDS: &str = "^[0-9a-f]{2}-(?:0{32}|[0-9a-f]{32}-0{16})-";

/// A currency: three capital ASCII letters.
pub(super) const CURRENCY: &str = "^[A-Z]{3}$";

/// The name of every attribute of an event: lowercase ASCII letters and digits.
pub(super) const ATTRIBUTE_NAME: &str = "^[a-z0-9]+$";

/// `s` matched without regard to ASCII case (`json` gives `[Jj][Ss][Oo][Nn]`).
fn caseless(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphabetic() {
                format!("[{}{}]", c.to_ascii_uppercase(), c.to_ascii_lowercase())
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// An RFC 7230 token: the name and the plain value of a media type parameter.
const TOKEN: &str = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
/// An RFC 7230 quoted string: a parameter value in quotes, `\` escaping one character; any
/// character but the controls other than tab (and, unescaped, `"` and `\`).
const QUOTED: &str = r#""(?:[^\x00-\x08\x0A-\x1F"\\\x7F]|\\[^\x00-\x08\x0A-\x1F\x7F])*""#;

/// `datacontenttype`: `application/json` (type and subtype in any case), optionally with
/// parameters `; name=value`.
pub(super) fn datacontenttype() -> String {
    format!(
        "^{}/{}(?:[ \\t]*;[ \\t]*{TOKEN}=(?:{TOKEN}|{QUOTED}))*$",
        caseless("application"),
        caseless("json")
    )
}

/// `dataschema`: an absolute URI (RFC 3986): a scheme, `:`, then unreserved and reserved
/// characters and `%HH` escapes.
pub(super) const DATASCHEMA: &str =
    "^[A-Za-z][A-Za-z0-9+.-]*:(?:[A-Za-z0-9._~:/?#\\[\\]@!$&'()*+,;=-]|%[0-9A-Fa-f]{2})*$";

/// A decimal string: digits without a leading zero (but `0` itself), then optionally a point
/// and at most `fraction_digits` digits (one or more for `None`; no point at all for
/// `Some(0)`).
pub(super) fn decimal_string(fraction_digits: Option<u32>) -> String {
    const INTEGER: &str = "(?:0|[1-9][0-9]*)";
    match fraction_digits {
        None => format!("^{INTEGER}(?:\\.[0-9]+)?$"),
        Some(0) => format!("^{INTEGER}$"),
        Some(d) => format!("^{INTEGER}(?:\\.[0-9]{{1,{d}}})?$"),
    }
}

/// A decimal string whose value is zero.
pub(super) const ZERO_DECIMAL: &str = "^0(?:\\.0+)?$";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positive_at_most_lists_every_branch() {
        let check = |max: u64, want: &str| assert_eq!(positive_at_most(max), want, "max {max}");
        check(1, "1");
        check(9, "[1-8]|9");
        check(10, "[1-9]|10");
        check(99, "[1-9]|[1-8][0-9]|9[0-8]|99");
        check(305, "[1-9][0-9]{0,1}|[1-2][0-9]{2}|30[0-4]|305");
        check(
            u64::MAX,
            "[1-9][0-9]{0,18}|1[0-7][0-9]{18}|18[0-3][0-9]{17}|184[0-3][0-9]{16}\
             |1844[0-5][0-9]{15}|18446[0-6][0-9]{14}|184467[0-3][0-9]{13}|1844674[0-3][0-9]{12}\
             |184467440[0-6][0-9]{10}|1844674407[0-2][0-9]{9}|18446744073[0-6][0-9]{8}\
             |1844674407370[0-8][0-9]{6}|18446744073709[0-4][0-9]{5}\
             |184467440737095[0-4][0-9]{4}|1844674407370955[0-0][0-9]{3}\
             |18446744073709551[0-5][0-9]{2}|184467440737095516[0-0][0-9]\
             |1844674407370955161[0-4]|18446744073709551615",
        );
    }
}
