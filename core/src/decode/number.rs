//! Exact arithmetic on the decimal text of JSON numbers: integers without going through
//! floats, and fixed-point scaling (micro-degrees, thousandths) rounded half away from zero.

/// A JSON integer (no fraction, no exponent) split into sign and magnitude.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Int {
    pub neg: bool,
    /// `None` when the magnitude does not fit a `u64`.
    pub mag: Option<u64>,
}

/// Why a number's text was not accepted as an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntError {
    /// Not the JSON number grammar at all.
    NotNumber,
    /// A number with a fraction or an exponent.
    NotInteger,
}

/// Parses the text of a JSON number that must be an integer: `-?[0-9]+`.
pub(crate) fn parse_int(text: &[u8]) -> Result<Int, IntError> {
    let (neg, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    if digits.is_empty() || !digits[0].is_ascii_digit() {
        return Err(IntError::NotNumber);
    }
    let mut mag: Option<u64> = Some(0);
    for &c in digits {
        if !c.is_ascii_digit() {
            return Err(match c {
                b'.' | b'e' | b'E' => IntError::NotInteger,
                _ => IntError::NotNumber,
            });
        }
        mag = mag
            .and_then(|m| m.checked_mul(10))
            .and_then(|m| m.checked_add(u64::from(c - b'0')));
    }
    Ok(Int { neg, mag })
}

/// A decimal number scaled by `10^scale` and cut to an integer, with what is needed to round
/// it and to compare it exactly against a bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scaled {
    pub neg: bool,
    /// The integer part of the scaled magnitude; `None` when it does not fit a `u64`.
    pub trunc: Option<u64>,
    /// The first dropped digit is 5 or more (round half away from zero).
    pub round_up: bool,
    /// Some dropped digit is not zero (the value is not exactly `trunc`).
    pub inexact: bool,
}

impl Scaled {
    /// The magnitude rounded half away from zero; `None` when too large for a `u64`.
    pub fn rounded_mag(self) -> Option<u64> {
        self.trunc?.checked_add(u64::from(self.round_up))
    }

    /// Whether the exact value is zero.
    pub fn is_zero(self) -> bool {
        self.trunc == Some(0) && !self.inexact
    }

    /// Whether the exact magnitude is at most `bound` (already scaled).
    pub fn mag_at_most(self, bound: u64) -> bool {
        match self.trunc {
            Some(t) => t < bound || (t == bound && !self.inexact),
            None => false,
        }
    }
}

/// Exponents are clamped to this magnitude; anything beyond is zero or overflows anyway.
const EXP_CLAMP: i64 = 1_000_000_000;

/// Scales the exact decimal value of a JSON number's text by `10^scale` (full JSON number
/// grammar: sign, fraction, exponent). Returns `None` when the text is not a JSON number.
pub(crate) fn scale_decimal(text: &[u8], scale: i64) -> Option<Scaled> {
    if let Some(plain) = scale_plain(text, scale) {
        return Some(plain);
    }
    let mut i = 0;
    let neg = text.first() == Some(&b'-');
    if neg {
        i += 1;
    }
    let int_start = i;
    while i < text.len() && text[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = &text[int_start..i];
    if int_digits.is_empty() {
        return None;
    }
    let mut frac_digits: &[u8] = &[];
    if text.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < text.len() && text[i].is_ascii_digit() {
            i += 1;
        }
        frac_digits = &text[start..i];
        if frac_digits.is_empty() {
            return None;
        }
    }
    let mut exp: i64 = 0;
    if matches!(text.get(i), Some(b'e' | b'E')) {
        i += 1;
        let exp_neg = match text.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let start = i;
        while i < text.len() && text[i].is_ascii_digit() {
            exp = (exp * 10 + i64::from(text[i] - b'0')).min(EXP_CLAMP);
            i += 1;
        }
        if i == start {
            return None;
        }
        if exp_neg {
            exp = -exp;
        }
    }
    if i != text.len() {
        return None;
    }

    // The digits d_0 d_1 ... (integer then fraction digits) with the decimal point after
    // `point` of them once scaled.
    let point = int_digits.len() as i64 + exp + scale;
    let n = (int_digits.len() + frac_digits.len()) as i64;
    // Digits `..kept` make the integer part, the first dropped one rounds, any dropped one
    // that is not zero makes the value inexact.
    let kept = point.clamp(0, n) as usize;
    let digit = |idx: usize| match idx.checked_sub(int_digits.len()) {
        None => int_digits[idx] - b'0',
        Some(f) => frac_digits[f] - b'0',
    };
    let mut trunc = if kept <= 19 {
        // At most 19 digits: below 10^19, no overflow.
        let mut t: u64 = 0;
        for idx in 0..kept {
            t = t * 10 + u64::from(digit(idx));
        }
        Some(t)
    } else {
        (0..kept).try_fold(0u64, |t, idx| {
            t.checked_mul(10)?.checked_add(u64::from(digit(idx)))
        })
    };
    let round_up = point >= 0 && point < n && digit(point as usize) >= 5;
    let inexact = (kept..n as usize).any(|idx| digit(idx) != 0);
    let mut zeros = point - n;
    while zeros > 0 {
        match trunc {
            Some(0) | None => break,
            Some(t) => trunc = t.checked_mul(10),
        }
        zeros -= 1;
    }
    Some(Scaled {
        neg,
        trunc,
        round_up,
        inexact,
    })
}

/// [`scale_decimal`] of the value times `factor`, exactly: the decimal digits are multiplied
/// as digits (no floats, no rounding before the final one), so that, for instance, a speed in
/// m/s times 36 scaled by 10^2 is its km/h in thousandths, rounded once. `None` when `text` is
/// not a JSON number.
pub(crate) fn scale_decimal_times(text: &[u8], scale: i64, factor: u32) -> Option<Scaled> {
    let (neg, digits, exp10) = mantissa(text)?;
    let mut product: Vec<u8> = Vec::with_capacity(digits.len() + 12);
    if neg {
        product.push(b'-');
    }
    let mut carry = 0u64;
    let mut reversed = Vec::with_capacity(digits.len() + 10);
    for &d in digits.iter().rev() {
        let p = u64::from(d - b'0') * u64::from(factor) + carry;
        reversed.push(b'0' + (p % 10) as u8);
        carry = p / 10;
    }
    while carry > 0 {
        reversed.push(b'0' + (carry % 10) as u8);
        carry /= 10;
    }
    while reversed.len() > 1 && reversed.last() == Some(&b'0') {
        reversed.pop();
    }
    product.extend(reversed.iter().rev());
    product.push(b'e');
    product.extend_from_slice(exp10.to_string().as_bytes());
    debug_assert!(
        product.len() <= text.len() + 32,
        "the product grows by a few digits"
    );
    scale_decimal(&product, scale)
}

/// A JSON number as sign, all its digits (integer then fraction) and the power of ten of
/// the last digit: `-12.5e3` is `(true, "125", 2)`. The exponent is clamped like
/// [`scale_decimal`]'s.
fn mantissa(text: &[u8]) -> Option<(bool, Vec<u8>, i64)> {
    let neg = text.first() == Some(&b'-');
    let body = &text[usize::from(neg)..];
    let end_num = body
        .iter()
        .position(|b| matches!(b, b'e' | b'E'))
        .unwrap_or(body.len());
    let (num, exp_text) = body.split_at(end_num);
    let (int, frac) = match num.iter().position(|&b| b == b'.') {
        Some(dot) => (&num[..dot], &num[dot + 1..]),
        None => (num, &num[num.len()..]),
    };
    let all_digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    if !all_digits(int) || (num.len() > int.len() && !all_digits(frac)) {
        return None;
    }
    let exp = match exp_text.split_first() {
        None => 0,
        Some((_, rest)) => {
            let (exp_neg, digits) = match rest.split_first() {
                Some((b'-', d)) => (true, d),
                Some((b'+', d)) => (false, d),
                _ => (false, rest),
            };
            if !all_digits(digits) {
                return None;
            }
            let mag = digits
                .iter()
                .fold(0i64, |e, &d| (e * 10 + i64::from(d - b'0')).min(EXP_CLAMP));
            if exp_neg { -mag } else { mag }
        }
    };
    let mut digits = Vec::with_capacity(int.len() + frac.len());
    digits.extend_from_slice(int);
    digits.extend_from_slice(frac);
    Some((neg, digits, exp - frac.len() as i64))
}

/// [`scale_decimal`] for the common shape `-?[0-9]+(\.[0-9]+)?` (no exponent) whose kept
/// digits fit a `u64` without checks; `None` for anything else (then the general code runs).
#[inline]
fn scale_plain(text: &[u8], scale: i64) -> Option<Scaled> {
    let scale = usize::try_from(scale).ok()?;
    let neg = text.first() == Some(&b'-');
    let mut i = usize::from(neg);
    let mut trunc: u64 = 0;
    while let Some(&c) = text.get(i)
        && c.is_ascii_digit()
    {
        // Wraps only past 19 digits, which are declined just below.
        trunc = trunc.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
        i += 1;
    }
    let int_len = i - usize::from(neg);
    if int_len == 0 || int_len + scale > 19 {
        return None;
    }
    // Fraction digits: the first `scale` are kept, the next one rounds, any dropped one that
    // is not zero makes the value inexact.
    let mut kept = 0;
    let (mut round_up, mut inexact) = (false, false);
    if i < text.len() {
        if text[i] != b'.' {
            return None;
        }
        i += 1;
        let frac_start = i;
        while let Some(&c) = text.get(i)
            && c.is_ascii_digit()
        {
            let d = c - b'0';
            if kept < scale {
                trunc = trunc * 10 + u64::from(d);
                kept += 1;
            } else {
                round_up |= i - frac_start == scale && d >= 5;
                inexact |= d != 0;
            }
            i += 1;
        }
        if i == frac_start || i != text.len() {
            return None;
        }
    }
    for _ in kept..scale {
        trunc *= 10;
    }
    Some(Scaled {
        neg,
        trunc: Some(trunc),
        round_up,
        inexact,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micro(s: &str) -> Option<i64> {
        let v = scale_decimal(s.as_bytes(), 6)?;
        let m = v.rounded_mag()? as i64;
        Some(if v.neg { -m } else { m })
    }

    #[test]
    fn scales_exactly() {
        let cases: &[(&str, Option<i64>)] = &[
            ("12.3456785", Some(12_345_679)),
            ("-12.3456785", Some(-12_345_679)),
            ("12.3456784999", Some(12_345_678)),
            ("0.0000005", Some(1)),
            ("-0.0000005", Some(-1)),
            ("0.00000049", Some(0)),
            ("1.5e1", Some(15_000_000)),
            ("15E-1", Some(1_500_000)),
            ("1234567850e-8", Some(12_345_679)),
            ("0e999999999999", Some(0)),
            ("1e-999999999999", Some(0)),
            ("90", Some(90_000_000)),
            ("-0", Some(0)),
            ("", None),
            ("-", None),
            ("1.", None),
            ("1e", None),
            ("1e+", None),
            (".5", None),
            ("1x", None),
        ];
        for (input, want) in cases {
            assert_eq!(micro(input), *want, "input {input:?}");
        }
        assert_eq!(scale_decimal(b"1e30", 6).unwrap().trunc, None);
        assert!(
            !scale_decimal(b"90.0000001", 6)
                .unwrap()
                .mag_at_most(90_000_000)
        );
        assert!(
            scale_decimal(b"90.0000000", 6)
                .unwrap()
                .mag_at_most(90_000_000)
        );
        assert!(
            scale_decimal(b"89.9999999", 6)
                .unwrap()
                .mag_at_most(90_000_000)
        );
    }

    /// The general code alone (what `scale_decimal` did before its fast path).
    fn general(text: &[u8], scale: i64) -> Option<Scaled> {
        let mut padded = text.to_vec();
        // An exponent of zero keeps the value and sends it down the general path.
        padded.extend_from_slice(b"e0");
        if scale_plain(&padded, scale).is_some() {
            return None;
        }
        scale_decimal(&padded, scale)
    }

    proptest::proptest! {
        #[test]
        fn plain_shape_agrees_with_the_general_code(
            text in "-?[0-9]{1,22}(\\.[0-9]{1,22})?",
            scale in 0i64..8,
        ) {
            let plain = scale_plain(text.as_bytes(), scale);
            if let Some(p) = plain {
                proptest::prop_assert_eq!(Some(p), general(text.as_bytes(), scale));
            }
        }
    }

    #[test]
    fn scales_products_exactly() {
        // km/h in thousandths from m/s: x 36, scaled by 10^2.
        let kph_milli = |s: &str| {
            let v = scale_decimal_times(s.as_bytes(), 2, 36)?;
            Some((v.neg, v.rounded_mag()?))
        };
        let cases: &[(&str, Option<(bool, u64)>)] = &[
            ("0", Some((false, 0))),
            ("1", Some((false, 3_600))),
            ("13.9", Some((false, 50_040))),
            ("0.000138888", Some((false, 0))),
            ("0.000138889", Some((false, 1))),
            // Just above and just below half a thousandth, past the digits a u64 holds.
            ("0.00013888888888888888888888888888888889", Some((false, 1))),
            ("0.0001388888888888888888888888888888888", Some((false, 0))),
            // 4.5 thousandths exactly: half away from zero.
            ("0.00125", Some((false, 5))),
            ("-0.00125", Some((true, 5))),
            ("1.5e1", Some((false, 54_000))),
            ("150E-1", Some((false, 54_000))),
            ("-2", Some((true, 7_200))),
            ("1e30", None),
            ("", None),
            ("1.", None),
            ("1e", None),
            (".5", None),
        ];
        for (input, want) in cases {
            assert_eq!(kph_milli(input), *want, "input {input:?}");
        }
        // Every value agrees with scaling the value written out times the factor.
        for text in ["12.3456785", "0.5", "7", "123456.000001", "9e-7"] {
            let direct = scale_decimal(text.as_bytes(), 6).unwrap();
            let once = scale_decimal_times(text.as_bytes(), 6, 1).unwrap();
            assert_eq!(direct, once, "{text}");
        }
    }

    #[test]
    fn plain_shape_is_taken() {
        assert!(scale_plain(b"-12.3456785", 6).is_some());
        assert!(scale_plain(b"90", 6).is_some());
        for declined in [
            &b"1e5"[..],
            b"1.",
            b".5",
            b"-",
            b"",
            b"1x",
            b"12345678901234",
        ] {
            assert_eq!(scale_plain(declined, 6), None, "{declined:?}");
        }
    }

    #[test]
    fn parses_integers() {
        let int = |neg, mag| Ok(Int { neg, mag });
        assert_eq!(parse_int(b"42"), int(false, Some(42)));
        assert_eq!(parse_int(b"-0"), int(true, Some(0)));
        assert_eq!(parse_int(b"-1"), int(true, Some(1)));
        assert_eq!(
            parse_int(b"18446744073709551615"),
            int(false, Some(u64::MAX))
        );
        assert_eq!(parse_int(b"18446744073709551616").unwrap().mag, None);
        assert_eq!(parse_int(b"1.0"), Err(IntError::NotInteger));
        assert_eq!(parse_int(b"1e2"), Err(IntError::NotInteger));
        assert_eq!(parse_int(b"\"1\""), Err(IntError::NotNumber));
        assert_eq!(parse_int(b""), Err(IntError::NotNumber));
    }
}
