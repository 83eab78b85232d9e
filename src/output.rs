//! Output shared by the commands: standard output that reports write errors, escaping of
//! text from input for people, base64 for raw bytes in JSON, counters.
//!
//! Human output never sends a control character that came from input to the terminal: every
//! string that can hold input (raw bytes of dead letters, ids, names, details) goes through
//! [`escape`] or [`escape_bytes`]. JSON output is lossless: strings are JSON strings (control
//! characters escaped by JSON itself), and raw bytes that are not UTF-8 are given in base64
//! ([`raw_fields`]).

use crate::error::CliError;
use serde_json::Value;
use std::fmt::Write as _;
use std::io::{self, BufWriter, Stdout, Write};
use waybill_core::event::DeadLetterReason;
use waybill_core::machine::Counters;

/// Buffered standard output whose write errors become [`CliError`]s (exit 3) instead of a
/// panic. A closed pipe ends the process quietly (SIGPIPE keeps its default action).
pub struct Out {
    w: BufWriter<Stdout>,
}

impl Out {
    pub fn new() -> Out {
        Out {
            w: BufWriter::new(io::stdout()),
        }
    }

    /// Writes one line.
    pub fn line(&mut self, text: impl std::fmt::Display) -> Result<(), CliError> {
        writeln!(self.w, "{text}").map_err(|e| CliError::stdout(&e))
    }

    /// Writes out what is buffered.
    pub fn flush(&mut self) -> Result<(), CliError> {
        self.w.flush().map_err(|e| CliError::stdout(&e))
    }
}

/// Text from input, made safe for a terminal: control characters (C0, DEL, C1) and the
/// characters that reorder or hide text (bidirectional controls, line and paragraph
/// separators) are written as escapes: `\n`, `\r`, `\t`, `\x1b` for the other C0 controls
/// and DEL, `\u{9b}` for the rest. Everything else is kept as it is.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_escaped(&mut out, s);
    out
}

fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0'..='\x1f' | '\x7f' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if needs_unicode_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// C1 controls, bidirectional formatting characters and the Unicode line separators.
fn needs_unicode_escape(c: char) -> bool {
    matches!(
        c,
        '\u{80}'..='\u{9f}'
            | '\u{61c}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
    )
}

/// Raw bytes from input for people: valid UTF-8 as [`escape`] writes it, each byte that is
/// not part of valid UTF-8 as `\xNN`.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        push_escaped(&mut out, chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// Raw bytes for people: escaped ([`escape_bytes`]) and cut after `max_chars` characters of
/// the escaped text, with `…` when cut.
pub fn raw_preview(raw: &[u8], max_chars: usize) -> String {
    let s = escape_bytes(raw);
    match s.char_indices().nth(max_chars) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s,
    }
}

/// The JSON fields for raw bytes, lossless: `"raw"` (a string) when the bytes are valid
/// UTF-8, else `"raw_base64"` (standard base64 with padding, RFC 4648 §4). Exactly one of the
/// two is present.
pub fn raw_fields(row: &mut serde_json::Map<String, Value>, raw: &[u8]) {
    match std::str::from_utf8(raw) {
        Ok(text) => row.insert("raw".to_owned(), text.into()),
        Err(_) => row.insert("raw_base64".to_owned(), base64(raw).into()),
    };
}

/// Standard base64 (RFC 4648 §4: `A-Z a-z 0-9 + /`, `=` padding).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        let digits = chunk.len() + 1; // 1 byte -> 2 digits, 2 -> 3, 3 -> 4
        for i in 0..4 {
            if i < digits {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Reason -> count for every reason, in the order decoding checks them, as a JSON object.
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
pub fn print_counters(out: &mut Out, c: &Counters) -> Result<(), CliError> {
    out.line(format_args!(
        "received {} = applied {} + duplicates {} + dead-lettered {}",
        c.received, c.applied, c.duplicates, c.dead_lettered
    ))?;
    let reasons = reasons_line(c);
    if !reasons.is_empty() {
        out.line(format_args!("dead letters: {reasons}"))?;
    }
    Ok(())
}

pub fn reasons_line(c: &Counters) -> String {
    DeadLetterReason::ALL
        .iter()
        .filter(|r| c.dead_letter_reasons[r.index()] > 0)
        .map(|r| format!("{} {}", r.as_str(), c.dead_letter_reasons[r.index()]))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A JSON object as aligned `key  value` lines (nested values as compact JSON), every value
/// escaped for the terminal.
pub fn print_object(out: &mut Out, v: &Value) -> Result<(), CliError> {
    let Some(obj) = v.as_object() else {
        return out.line(escape(&v.to_string()));
    };
    let width = obj.keys().map(|k| k.len()).max().unwrap_or(0);
    for (k, v) in obj {
        let text = match v {
            Value::String(s) => escape(s),
            Value::Null => "-".to_string(),
            other => escape(&other.to_string()),
        };
        out.line(format_args!("{:width$}  {text}", escape(k)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_control_character_and_keeps_the_rest() {
        let cases: &[(&[u8], &str)] = &[
            (b"plain text", "plain text"),
            (b"\x1b[2J\x1b]0;title\x07", "\\x1b[2J\\x1b]0;title\\x07"),
            (b"a\rb\nc\td", "a\\rb\\nc\\td"),
            (b"nul\0del\x7f", "nul\\x00del\\x7f"),
            (b"bad \xff\xfe utf8 \x80", "bad \\xff\\xfe utf8 \\x80"),
            ("c1 \u{9b}31m".as_bytes(), "c1 \\u{9b}31m"),
            ("bidi \u{202e}txt".as_bytes(), "bidi \\u{202e}txt"),
            ("caf\u{e9} \u{1f69a}".as_bytes(), "caf\u{e9} \u{1f69a}"),
            (b"back\\slash \"q\"", "back\\slash \"q\""),
            (b"", ""),
        ];
        for (raw, want) in cases {
            let got = escape_bytes(raw);
            assert_eq!(&got, want, "{raw:?}");
            assert!(!got.chars().any(|c| c.is_control()), "{got:?}");
            if let Ok(s) = std::str::from_utf8(raw) {
                assert_eq!(escape(s), got);
            }
        }
    }

    #[test]
    fn previews_cut_after_the_escaped_characters() {
        assert_eq!(raw_preview(b"abcdef", 3), "abc…");
        assert_eq!(raw_preview(b"abc", 3), "abc");
        assert_eq!(raw_preview(b"\x1bxyz", 5), "\\x1bx…");
    }

    #[test]
    fn base64_matches_rfc_4648_test_vectors() {
        for (raw, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(raw.as_bytes()), want, "{raw:?}");
        }
        assert_eq!(base64(&[0xff, 0xfe, 0x00, 0x80]), "//4AgA==");
    }

    #[test]
    fn raw_bytes_in_json_are_text_when_utf8_else_base64() {
        let mut row = serde_json::Map::new();
        raw_fields(&mut row, b"{\"a\":\"\x1b\"}");
        assert_eq!(row["raw"], "{\"a\":\"\u{1b}\"}");
        assert!(!row.contains_key("raw_base64"));
        let mut row = serde_json::Map::new();
        raw_fields(&mut row, b"\xff\x00");
        assert_eq!(row["raw_base64"], "/wA=");
        assert!(!row.contains_key("raw"));
    }
}
