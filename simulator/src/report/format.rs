//! Number, money and time formatting shared by the human, HTML and progress renderers.

use waybill_core::time::parse_rfc3339_us;

pub(crate) const US_PER_S: i64 = 1_000_000;
const US_PER_DAY: i64 = 86_400 * US_PER_S;

/// `1234567` -> `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    thousands_u128(u128::from(n))
}

/// [`thousands`] for exact sums.
pub(crate) fn thousands_u128(n: u128) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Sum that stops at `u64::MAX` instead of overflowing.
pub(crate) fn sum<'a>(values: impl IntoIterator<Item = &'a u64>) -> u64 {
    values.into_iter().fold(0u64, |a, b| a.saturating_add(*b))
}

/// A float with thousands separators and `decimals` digits after the point.
pub fn thousands_f(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return "-".to_string();
    }
    let s = format!("{:.*}", decimals, v.abs());
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s.as_str(), None),
    };
    let int: u64 = int.parse().unwrap_or(u64::MAX);
    let mut out = String::new();
    if v < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0') {
        out.push('-');
    }
    out.push_str(&thousands(int));
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// Digits after the point of a currency's minor unit (ISO 4217): 0 for JPY and KRW, 3 for
/// BHD, KWD and OMR, 2 otherwise.
fn minor_digits(currency: &str) -> u32 {
    match currency {
        "JPY" | "KRW" => 0,
        "BHD" | "KWD" | "OMR" => 3,
        _ => 2,
    }
}

/// Minor units of `currency` as major units: `("EUR", 123456)` -> `1,234.56`,
/// `("JPY", 1500)` -> `1,500`.
pub(crate) fn money_in(currency: &str, minor: impl Into<i128>) -> String {
    let minor: i128 = minor.into();
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let digits = minor_digits(currency);
    if digits == 0 {
        return format!("{sign}{}", thousands_u128(abs));
    }
    let unit = 10u128.pow(digits);
    format!(
        "{sign}{}.{:0width$}",
        thousands_u128(abs / unit),
        abs % unit,
        width = digits as usize
    )
}

/// `EUR 1,234.56`.
pub(crate) fn money_with_code(currency: &str, minor: impl Into<i128>) -> String {
    format!("{currency} {}", money_in(currency, minor))
}

/// Short SI form for axis labels and tiles: `1500` -> `1.5k`, `2_000_000` -> `2M`.
pub(crate) fn si(v: f64) -> String {
    let a = v.abs();
    if a >= 1e21 {
        return format!("{v:.1e}");
    }
    let (scaled, suffix) = if a >= 1e18 {
        (v / 1e18, "E")
    } else if a >= 1e15 {
        (v / 1e15, "P")
    } else if a >= 1e12 {
        (v / 1e12, "T")
    } else if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let s = if scaled.fract().abs() < 1e-9 || scaled.abs() >= 100.0 {
        format!("{scaled:.0}")
    } else if scaled.abs() >= 10.0 {
        format!("{scaled:.1}")
    } else {
        format!("{scaled:.2}")
    };
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    format!("{s}{suffix}")
}

/// A span of seconds for people: `7200` -> `2h`, `5400` -> `1h 30m`, `42` -> `42s`.
pub(crate) fn span(seconds: i64) -> String {
    if seconds <= 0 {
        return "0s".to_string();
    }
    let (d, h, m, s) = (
        seconds / 86_400,
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
        seconds % 60,
    );
    let mut parts = Vec::new();
    if d > 0 {
        parts.push(format!("{d}d"));
    }
    if h > 0 {
        parts.push(format!("{h}h"));
    }
    if m > 0 {
        parts.push(format!("{m}m"));
    }
    if s > 0 {
        parts.push(format!("{s}s"));
    }
    parts.join(" ")
}

/// Wall seconds for people: `0.0123` -> `12.3 ms`, `3.5` -> `3.50 s`.
pub(crate) fn wall(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "-".to_string();
    }
    if seconds < 1.0 {
        format!("{:.1} ms", seconds * 1000.0)
    } else if seconds < 600.0 {
        format!("{seconds:.2} s")
    } else {
        span(seconds.round() as i64)
    }
}

/// Microseconds since the epoch -> `HH:MM:SS` (time of day, UTC).
pub(crate) fn time_of_day(us: i64) -> String {
    let s = us.rem_euclid(US_PER_DAY) / US_PER_S;
    format!("{:02}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
}

/// Time of day, prefixed with `+Nd` when it falls on a later day than `origin_us`.
pub(crate) fn clock(us: i64, origin_us: i64, seconds: bool) -> String {
    let s = us.rem_euclid(US_PER_DAY) / US_PER_S;
    let hm = if seconds {
        format!("{:02}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 3600, s % 3600 / 60)
    };
    let days = us.div_euclid(US_PER_DAY) - origin_us.div_euclid(US_PER_DAY);
    if days != 0 {
        format!("{days:+}d {hm}")
    } else {
        hm
    }
}

/// The timeline's start in microseconds (0 when absent or unreadable).
pub(crate) fn start_us(rfc3339: &str) -> i64 {
    parse_rfc3339_us(rfc3339).unwrap_or(0)
}

/// Outage windows may carry absolute times or offsets from the start of the world; small
/// values (under ~3 years) are read as offsets when the start is a real date.
pub(crate) fn absolute_us(v: i64, start_us: i64) -> i64 {
    const OFFSET_LIMIT: i64 = 100_000_000_000_000;
    if start_us.abs() >= OFFSET_LIMIT && v.abs() < OFFSET_LIMIT {
        start_us + v
    } else {
        v
    }
}

/// Simulated time (RFC 3339) -> time of day, or the string unchanged when unreadable.
pub(crate) fn rfc_time_of_day(s: &str) -> String {
    match parse_rfc3339_us(s) {
        Some(us) => time_of_day(us),
        None => s.to_string(),
    }
}

/// Escapes text for HTML content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Characters that reorder or hide text on a terminal: bidirectional controls, line and
/// paragraph separators.
fn reorders(c: char) -> bool {
    matches!(
        c as u32,
        0x061c | 0x200e | 0x200f | 0x202a..=0x202e | 0x2066..=0x2069 | 0x2028 | 0x2029
    )
}

/// `s` with control characters escaped (`\x1b`, `\x0d`, `\u{9b}`, and `\u{202e}` for the
/// characters that reorder text), so that text from a scenario file cannot move the cursor,
/// recolour or reorder the terminal.
pub(crate) fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(|c| c.is_control() || reorders(c)) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c as u32 {
            n @ (0..=0x1f | 0x7f) => out.push_str(&format!("\\x{n:02x}")),
            n if c.is_control() || reorders(c) => out.push_str(&format!("\\u{{{n:x}}}")),
            _ => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Columns `s` takes on a terminal: 2 for East Asian wide characters and most emoji, 0 for
/// combining marks and zero-width characters, 1 otherwise. An estimate without Unicode
/// tables that errs on the wide side.
pub(crate) fn display_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

fn char_width(c: char) -> usize {
    match c as u32 {
        0x0300..=0x036f | 0x200b..=0x200f | 0x20d0..=0x20ff | 0xfe00..=0xfe0f => 0,
        0x1100..=0x115f
        | 0x2e80..=0xa4cf
        | 0xac00..=0xd7a3
        | 0xf900..=0xfaff
        | 0xfe30..=0xfe4f
        | 0xff00..=0xff60
        | 0xffe0..=0xffe6
        | 0x1f300..=0x1f64f
        | 0x1f900..=0x1f9ff
        | 0x20000..=0x3fffd => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands_f(1234567.891, 1), "1,234,567.9");
        assert_eq!(thousands_f(-0.01, 1), "0.0");
        assert_eq!(si(1500.0), "1.5k");
        assert_eq!(si(2_000_000.0), "2M");
        assert_eq!(si(0.5), "0.5");
        assert_eq!(si(250.0), "250");
        assert_eq!(si(1e16), "10P");
        assert_eq!(si(u64::MAX as f64), "18.4E");
    }

    #[test]
    fn times() {
        assert_eq!(span(7200), "2h");
        assert_eq!(span(5400), "1h 30m");
        assert_eq!(
            time_of_day(36 * 3600 * US_PER_S + 61 * US_PER_S),
            "12:01:01"
        );
        assert_eq!(clock(36 * 3600 * US_PER_S, 0, false), "+1d 12:00");
        assert_eq!(
            absolute_us(3600, 1_800_000_000_000_000),
            1_800_000_000_003_600
        );
        assert_eq!(
            esc("<a href='x'>&</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn printable_escapes_control_characters() {
        let cases = [
            ("plain", "plain"),
            ("a\x1b[2Jb", "a\\x1b[2Jb"),
            ("cr\rlf\n", "cr\\x0dlf\\x0a"),
            ("del\u{7f}", "del\\x7f"),
            ("csi\u{9b}", "csi\\u{9b}"),
            ("rtl\u{202e}txt", "rtl\\u{202e}txt"),
            ("日本", "日本"),
        ];
        for (raw, want) in cases {
            assert_eq!(printable(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn display_width_counts_wide_and_zero_width_characters() {
        let cases = [("abc", 3), ("日本", 4), ("e\u{301}", 1), ("█░", 2), ("", 0)];
        for (s, want) in cases {
            assert_eq!(display_width(s), want, "{s:?}");
        }
    }

    #[test]
    fn money_follows_the_currency_minor_unit() {
        let cases: [(&str, i128, &str); 7] = [
            ("EUR", 123_456, "1,234.56"),
            ("EUR", -5, "-0.05"),
            ("JPY", 1_500, "1,500"),
            ("KWD", 12_345, "12.345"),
            ("unknown", 100, "1.00"),
            (
                "USD",
                i128::MAX,
                "1,701,411,834,604,692,317,316,873,037,158,841,057.27",
            ),
            (
                "USD",
                i128::MIN,
                "-1,701,411,834,604,692,317,316,873,037,158,841,057.28",
            ),
        ];
        for (cur, minor, want) in cases {
            assert_eq!(money_in(cur, minor), want, "{cur} {minor}");
        }
        assert_eq!(money_with_code("EUR", 250), "EUR 2.50");
    }
}
