//! Sums over every shipment for summaries: counts by status, and money per currency.
//!
//! Money is never added across currencies: each shipment's figures go to its contract's
//! currency, or to [`UNKNOWN_CURRENCY`] while it is an orphan (no order, so no contract).
//! Sums are exact (`i128`), never wrapped or clamped; JSON holds them as numbers up to 64 bits
//! and as strings of digits past that ([`exact_i128`]). The bounds that make `i128` enough:
//! a shipment's `billed_cents` is at most 2^32 charges of at most 2^63 cents (2^95);
//! `expected_detention_cents` at most about 2^34 minutes (valid times span years 0000-9999)
//! times 2^63 cents per hour over 60 (2^91), and `leakage_cents` that plus a base price; over
//! at most 2^32 shipments every sum stays below 2^124.

use super::derive::Derived;
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;

/// The currency key of shipments without a contract (orphans).
pub const UNKNOWN_CURRENCY: &str = "unknown";

/// The money of the shipments of one currency (a contract currency, or [`UNKNOWN_CURRENCY`]
/// for orphans): sums of their derived figures, in cents of that currency, exact. In JSON
/// each sum is a number while it fits 64 bits and a string of its decimal digits past that.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CurrencyTotals {
    /// The sum of the shipments' `billed_cents`.
    #[serde(serialize_with = "exact_i128")]
    pub billed_cents: i128,
    /// The sum of the shipments' `expected_detention_cents`.
    #[serde(serialize_with = "exact_i128")]
    pub expected_detention_cents: i128,
    /// The sum of the shipments' `leakage_cents`.
    #[serde(serialize_with = "exact_i128")]
    pub leakage_cents: i128,
}

impl CurrencyTotals {
    /// Adds one shipment's figures.
    pub fn add(&mut self, d: &Derived) {
        self.billed_cents += d.billed_cents;
        self.expected_detention_cents += d.expected_detention_cents;
        self.leakage_cents += d.leakage_cents;
    }

    /// Adds another currency's sums (of other shipments).
    pub fn merge(&mut self, other: &CurrencyTotals) {
        self.billed_cents += other.billed_cents;
        self.expected_detention_cents += other.expected_detention_cents;
        self.leakage_cents += other.leakage_cents;
    }

    /// Subtracts sums added before (the inverse of [`CurrencyTotals::merge`]): exact, so
    /// adding then subtracting the same figures gives back the sums bit for bit. A running
    /// summary removes a shipment's old figures this way when the shipment changes.
    pub fn sub(&mut self, other: &CurrencyTotals) {
        self.billed_cents -= other.billed_cents;
        self.expected_detention_cents -= other.expected_detention_cents;
        self.leakage_cents -= other.leakage_cents;
    }
}

/// Sums over every shipment, for summaries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// Shipments per [`super::Status`], indexed by `Status as usize`.
    pub by_status: [u64; 6],
    /// Currency (three capital letters, or [`UNKNOWN_CURRENCY`]) -> money, sorted by currency.
    pub money: BTreeMap<String, CurrencyTotals>,
    /// Shipments with `leakage_cents` > 0.
    pub leaking_shipments: u64,
    /// Shipments with `invoice_ready`.
    pub invoice_ready: u64,
    /// Shipments with at least one anomaly flag.
    pub with_anomalies: u64,
}

/// The currency key of a contract currency (or of none).
pub fn currency_key(currency: Option<[u8; 3]>) -> String {
    match currency {
        Some(c) => String::from_utf8_lossy(&c).into_owned(),
        None => UNKNOWN_CURRENCY.to_owned(),
    }
}

/// Serializes an exact integer: a JSON number when it fits 64 bits (`i64` or `u64`, what
/// every JSON reader handles), otherwise a string of its exact decimal digits. Only
/// adversarial input gets past 64 bits; a string keeps every digit whatever reads it (a
/// `serde_json::Value` cannot hold a larger integer, and many readers parse numbers as
/// doubles), and serializing never fails.
pub fn exact_i128<S: Serializer>(v: &i128, s: S) -> Result<S::Ok, S::Error> {
    if let Ok(x) = i64::try_from(*v) {
        s.serialize_i64(x)
    } else if let Ok(x) = u64::try_from(*v) {
        s.serialize_u64(x)
    } else {
        s.collect_str(v)
    }
}

/// [`exact_i128`] for unsigned values.
pub fn exact_u128<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
    match u64::try_from(*v) {
        Ok(x) => s.serialize_u64(x),
        Err(_) => s.collect_str(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Both {
        #[serde(serialize_with = "exact_i128")]
        i: i128,
        #[serde(serialize_with = "exact_u128")]
        u: u128,
    }

    #[test]
    fn exact_integers_keep_every_digit() {
        let cases: &[(i128, u128, &str)] = &[
            (0, 0, r#"{"i":0,"u":0}"#),
            (-5, 7, r#"{"i":-5,"u":7}"#),
            (
                i128::from(i64::MAX) + 1,
                u128::from(u64::MAX),
                r#"{"i":9223372036854775808,"u":18446744073709551615}"#,
            ),
            (
                2 * i128::from(i64::MIN),
                u128::from(u64::MAX) + 1,
                r#"{"i":"-18446744073709551616","u":"18446744073709551616"}"#,
            ),
            (
                i128::MIN,
                u128::MAX,
                r#"{"i":"-170141183460469231731687303715884105728","u":"340282366920938463463374607431768211455"}"#,
            ),
        ];
        for &(i, u, want) in cases {
            assert_eq!(serde_json::to_string(&Both { i, u }).unwrap(), want);
            // The same through a `serde_json::Value`: nothing rounded, nothing fails.
            let v = serde_json::to_value(Both { i, u }).unwrap();
            assert_eq!(v.to_string(), want);
        }
    }
}
