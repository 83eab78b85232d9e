//! The decoder's rules that a JSON Schema cannot state: an event can validate against its
//! schema and still be dead-lettered for one of these, and for nothing else.

/// One rule of the decoder that the event schemas do not state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnstatedRule {
    /// A short stable name (`window_order`, `utf8_bytes`, ...).
    pub name: &'static str,
    /// The rule, and why JSON Schema cannot state it.
    pub rule: &'static str,
}

/// Every rule of the decoder the event schemas leave out (docs/schemas.md). Everything else
/// the decoder checks, the schemas state.
pub const UNSTATED_RULES: &[UnstatedRule] = &[
    UnstatedRule {
        name: "window_order",
        rule: "`window_end` is not before `window_start` (`order.created`; `order.amended` when \
               both are given), compared as instants with their offsets applied: JSON Schema \
               cannot compare two values.",
    },
    UnstatedRule {
        name: "pod_bytes",
        rule: "`pod.signed_by` and `pod.photo_ref` of `shipment.delivered` are at most 65,280 \
               bytes together: the schema bounds each alone.",
    },
    UnstatedRule {
        name: "utf8_bytes",
        rule: "String limits count bytes of UTF-8, `maxLength` counts characters: the same for \
               ASCII, but a string with other characters can be within `maxLength` and over \
               its limit in bytes (ids, `correlationid`, `traceparent`, `reason`, `pod`).",
    },
    UnstatedRule {
        name: "integer_notation",
        rule: "Integers are written without a fraction or an exponent: `2.0` and `2e0` are \
               integers to JSON Schema, not to the decoder (payload integers and cents, \
               `schemaversion`, integer extension values).",
    },
    UnstatedRule {
        name: "exact_numbers",
        rule: "Numbers are compared at their exact decimal value. The schemas state the bounds \
               exactly (but `speed_mps`'s, (2^32 - 0.5) / 3600, a repeating decimal written to \
               float precision), yet a validator that reads numbers as 64-bit binary floats \
               misjudges one within float precision of a bound (`90.00000000000000001` as a \
               latitude, `18446744073709551616` as a u64).",
    },
    UnstatedRule {
        name: "money_range",
        rule: "`charge.added` version 2: the amount in minor units of its currency (the value \
               times 10^digits) fits a signed 64-bit integer.",
    },
    UnstatedRule {
        name: "raw_form",
        rule: "The bytes of an event: at most 65,536 of them (`too_large`), and no key given \
               twice in an object (`invalid_envelope`, or `invalid_data` inside `data`). A \
               schema sees the parsed value, where neither shows.",
    },
];
