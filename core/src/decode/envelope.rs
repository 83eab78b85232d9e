//! The CloudEvents 1.0 rules for the attributes Waybill gives no meaning of its own
//! (docs/events.md, the envelope): `data_base64` is refused, `datacontenttype` names JSON,
//! `dataschema` is an absolute URI, and every other attribute (an extension attribute) has a
//! CloudEvents name and a string, boolean or integer value.
//!
//! Both passes over the event feed [`check`]: the fast one ([`super::scan`]) with every
//! unknown key and its value, the general one ([`super::object`]) with only the first that
//! breaks a rule (as [`extension`] tells). Either way the first violation, and so the detail,
//! is the same.

use super::number::{self, IntError};
use super::scan::EventRest;
use super::{Fail, Json, as_string, json_kind, show, show_raw};
use std::borrow::Cow;

/// The CloudEvents Integer range, which an extension attribute's integer value must be in.
const INTEGER_MIN: i64 = -2_147_483_648;
/// See [`INTEGER_MIN`].
const INTEGER_MAX: i64 = 2_147_483_647;

/// What the pass over the event object found for these rules, besides the values of the
/// attributes it collects and, from the fast path, the unknown keys ([`EventRest`]).
pub(super) struct Found<'a> {
    /// `data_base64` occurred, whatever its value (`null` included).
    pub data_base64: bool,
    /// From the general path: the first unknown key that breaks a rule, and its value.
    pub first_broken: Option<(Cow<'a, str>, Json<'a>)>,
}

impl<'a> Found<'a> {
    /// [`check`] over the event object `text` with its `datacontenttype` and `dataschema`
    /// (each `None` when absent or `null`) and, from the fast path, `every` unknown key with
    /// its value (empty when the general path collected the event). Inline for the common
    /// event, which has none of them.
    #[inline(always)]
    pub(super) fn check(
        &self,
        text: &'a str,
        every: &EventRest,
        datacontenttype: Option<Json<'a>>,
        dataschema: Option<Json<'a>>,
    ) -> Result<(), Fail> {
        let nothing = !self.data_base64
            && datacontenttype.is_none()
            && dataschema.is_none()
            && every.is_empty()
            && self.first_broken.is_none();
        if nothing {
            return Ok(());
        }
        self.check_present(text, every, datacontenttype, dataschema)
    }

    /// [`Self::check`] when there is something to check.
    #[inline(never)]
    fn check_present(
        &self,
        text: &'a str,
        every: &EventRest,
        datacontenttype: Option<Json<'a>>,
        dataschema: Option<Json<'a>>,
    ) -> Result<(), Fail> {
        debug_assert!(self.first_broken.is_none() || every.is_empty());
        let attrs = Attributes {
            data_base64: self.data_base64,
            datacontenttype,
            dataschema,
        };
        let first_broken = self.first_broken.as_ref();
        let extensions =
            (every.unknown(text)).chain(first_broken.map(|(name, value)| (name.as_ref(), *value)));
        check(&attrs, extensions)
    }
}

/// The attributes with rules of their own.
struct Attributes<'a> {
    /// `data_base64` occurred, whatever its value (`null` included).
    data_base64: bool,
    /// `datacontenttype`; `None` when absent or `null`.
    datacontenttype: Option<Json<'a>>,
    /// `dataschema`; `None` when absent or `null`.
    dataschema: Option<Json<'a>>,
}

/// How an extension attribute breaks the rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Broken {
    /// Its name is not `[a-z0-9]+`.
    Name,
    /// Its value is `null`, an object or an array (the kind, for the message).
    Kind(&'static str),
    /// Its value is a number with a fraction.
    Fraction,
    /// Its value is a number with an exponent (and no fraction).
    Exponent,
    /// Its value is an integer outside [`INTEGER_MIN`]..=[`INTEGER_MAX`].
    OutOfRange,
}

/// Checks the rules in their order (docs/events.md, the envelope): `data_base64`, then
/// `datacontenttype`, then `dataschema`, then each extension attribute of `extensions` in
/// the order given (document order), its name before its value. The first violation is the
/// `invalid_envelope` failure.
fn check<'s, 'a: 's>(
    attrs: &Attributes<'a>,
    extensions: impl IntoIterator<Item = (&'s str, Json<'a>)>,
) -> Result<(), Fail> {
    if attrs.data_base64 {
        return Err(Fail::envelope(
            "attribute `data_base64` is not accepted: `data` must be a JSON object".to_owned(),
        ));
    }
    if let Some(v) = attrs.datacontenttype {
        check_string(v, is_json_media_type, |got| {
            format!(
                "attribute `datacontenttype` must be a JSON media type (`application/json`, \
                 optionally with parameters), got {got}"
            )
        })?;
    }
    if let Some(v) = attrs.dataschema {
        check_string(v, is_absolute_uri, |got| {
            format!("attribute `dataschema` must be a non-empty absolute URI (RFC 3986), got {got}")
        })?;
    }
    for (name, value) in extensions {
        if let Err(broken) = extension(name, value) {
            return Err(Fail::envelope(extension_detail(name, value, broken)));
        }
    }
    Ok(())
}

/// A string attribute that must pass `rule`; `detail` words the failure from what was got.
fn check_string(
    v: Json<'_>,
    rule: fn(&str) -> bool,
    detail: impl FnOnce(String) -> String,
) -> Result<(), Fail> {
    match as_string(v) {
        Some(s) if rule(&s) => Ok(()),
        Some(s) => Err(Fail::envelope(detail(show(&s)))),
        None => Err(Fail::envelope(detail(json_kind(v).to_owned()))),
    }
}

/// Whether the extension attribute `name` with `value` follows CloudEvents 1.0: a name of
/// lowercase ASCII letters and digits, a value that is a string, a boolean or an integer in
/// the CloudEvents Integer range (a JSON number without fraction or exponent).
pub(crate) fn extension(name: &str, value: Json<'_>) -> Result<(), Broken> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return Err(Broken::Name);
    }
    let text = value.get();
    match text.as_bytes().first() {
        Some(b'"' | b't' | b'f') => Ok(()),
        Some(b'-' | b'0'..=b'9') => integer(text),
        _ => Err(Broken::Kind(json_kind(value))),
    }
}

/// The text of a JSON number as a CloudEvents Integer.
fn integer(text: &str) -> Result<(), Broken> {
    match number::parse_int(text.as_bytes()) {
        Ok(number::Int {
            neg,
            mag: Some(mag),
        }) => {
            let bound = if neg {
                INTEGER_MIN.unsigned_abs()
            } else {
                INTEGER_MAX as u64
            };
            if mag <= bound {
                Ok(())
            } else {
                Err(Broken::OutOfRange)
            }
        }
        Ok(number::Int { mag: None, .. }) => Err(Broken::OutOfRange),
        Err(IntError::NotInteger) if text.contains('.') => Err(Broken::Fraction),
        Err(IntError::NotInteger) => Err(Broken::Exponent),
        // Not reached for a value the parser accepted; still a number that is no integer.
        Err(IntError::NotNumber) => Err(Broken::Kind("a number")),
    }
}

/// The one-line detail of an extension attribute that breaks the rules.
fn extension_detail(name: &str, value: Json<'_>, broken: Broken) -> String {
    let got = match broken {
        Broken::Name => {
            return format!(
                "extension attribute {} must be named with lowercase letters and digits \
                 (CloudEvents 1.0)",
                show(name)
            );
        }
        Broken::Kind(kind) => kind.to_owned(),
        Broken::Fraction => "a number with a fraction".to_owned(),
        Broken::Exponent => "a number with an exponent".to_owned(),
        Broken::OutOfRange => show_raw(value),
    };
    debug_assert_eq!(extension(name, value), Err(broken));
    format!(
        "extension attribute `{name}` must be a string, a boolean or an integer in \
         [{INTEGER_MIN}, {INTEGER_MAX}], got {got}"
    )
}

/// `application/json`, type and subtype in any case, optionally followed by parameters
/// `; name=value` (RFC 2046 and RFC 7231: optional spaces and tabs around `;`, the name a
/// token, the value a token or a quoted string).
fn is_json_media_type(s: &str) -> bool {
    const JSON: &[u8] = b"application/json";
    let b = s.as_bytes();
    if b.len() < JSON.len() || !b[..JSON.len()].eq_ignore_ascii_case(JSON) {
        return false;
    }
    let mut i = JSON.len();
    while i < b.len() {
        i = skip_spaces(b, i);
        if b.get(i) != Some(&b';') {
            return false;
        }
        i = skip_spaces(b, i + 1);
        let name_end = token_end(b, i);
        if name_end == i || b.get(name_end) != Some(&b'=') {
            return false;
        }
        i = name_end + 1;
        let value_end = match b.get(i) {
            Some(b'"') => quoted_string_end(b, i),
            _ => Some(token_end(b, i)).filter(|&end| end > i),
        };
        match value_end {
            Some(end) => i = end,
            None => return false,
        }
    }
    true
}

/// The index of the first byte at or after `i` that is not a space or a tab.
fn skip_spaces(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t') = b.get(i) {
        i += 1;
    }
    i
}

/// The end of the run of RFC 7230 token characters (`tchar`) at `i`.
fn token_end(b: &[u8], mut i: usize) -> usize {
    while let Some(&c) = b.get(i) {
        let tchar = c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c);
        if !tchar {
            break;
        }
        i += 1;
    }
    i
}

/// The end (after the closing quote) of the RFC 7230 quoted string that opens at `i`, or
/// `None` when it is not one.
fn quoted_string_end(b: &[u8], start: usize) -> Option<usize> {
    debug_assert_eq!(b.get(start), Some(&b'"'));
    let mut i = start + 1;
    loop {
        match *b.get(i)? {
            b'"' => return Some(i + 1),
            // quoted-pair: a backslash and any visible character, space, tab or obs-text.
            b'\\' => match *b.get(i + 1)? {
                b'\t' | b' '..=b'~' | 0x80..=0xff => i += 2,
                _ => return None,
            },
            // qdtext: tab, space, visible characters but `"` and `\`, obs-text.
            b'\t' | b' '..=b'~' | 0x80..=0xff => i += 1,
            _ => return None,
        }
    }
}

/// An absolute URI (RFC 3986): a scheme `[A-Za-z][A-Za-z0-9+.-]*`, a `:`, then only
/// unreserved and reserved characters and percent-escapes (`%` and two hex digits).
fn is_absolute_uri(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(colon) = b.iter().position(|&c| c == b':') else {
        return false;
    };
    let scheme = &b[..colon];
    let scheme_ok = scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme[1..]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'.' | b'-'));
    scheme_ok && is_uri_text(&b[colon + 1..])
}

/// Only RFC 3986 characters: unreserved, reserved, and `%` followed by two hex digits.
fn is_uri_text(b: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = |j: usize| b.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
            continue;
        }
        let unreserved = c.is_ascii_alphanumeric() || b"-._~".contains(&c);
        let reserved = b":/?#[]@!$&'()*+,;=".contains(&c);
        if !(unreserved || reserved) {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One table per rule: (input, accepted).
    fn check_all(rule: fn(&str) -> bool, cases: &[(&str, bool)]) {
        for &(input, want) in cases {
            assert_eq!(rule(input), want, "{input:?}");
        }
    }

    #[test]
    fn json_media_types() {
        check_all(
            is_json_media_type,
            &[
                ("application/json", true),
                ("Application/JSON", true),
                ("application/json;charset=utf-8", true),
                ("application/json ; charset=utf-8", true),
                ("application/json\t;\tcharset=\"utf-8\"", true),
                ("application/json; a=b; c=\"d \\\" e\"", true),
                ("application/json; profile=\"https://x.test/p\"", true),
                ("application/json; a=\"\u{e9}\"", true),
                ("", false),
                ("xyz", false),
                ("text/plain", false),
                ("application/xml", false),
                ("application/jsonx", false),
                ("application/json+x", false),
                ("application/cloudevents+json", false),
                ("application /json", false),
                (" application/json", false),
                ("application/json ", false),
                ("application/json;", false),
                ("application/json; charset", false),
                ("application/json; charset=", false),
                ("application/json; =utf-8", false),
                ("application/json; charset = utf-8", false),
                ("application/json; a=b c", false),
                ("application/json; a=\"unterminated", false),
                ("application/json; a=\"x\u{1}\"", false),
                ("application/json; a=\"x\\\u{1}\"", false),
                ("application/json; a=b;; c=d", false),
            ],
        );
    }

    #[test]
    fn absolute_uris() {
        check_all(
            is_absolute_uri,
            &[
                ("https://cloudevents.io/dataschema", true),
                ("urn:waybill:schema:event:order.created:v1", true),
                ("HTTP://x.test/a?b=c&d=%2F#frag", true),
                ("a+b-c.d:", true),
                ("mailto:ops@x.test", true),
                ("http://[::1]:80/", true),
                ("", false),
                ("/relative/path", false),
                ("//authority/path", false),
                ("x.test/schema", false),
                ("1http://x.test", false),
                (":no-scheme", false),
                ("ht_tp://x.test", false),
                ("https://x.test/a b", false),
                ("https://x.test/%zz", false),
                ("https://x.test/%2", false),
                ("https://x.test/\"q\"", false),
                ("https://x.test/{a}", false),
                ("https://x.test/\u{e9}", false),
            ],
        );
    }

    #[test]
    fn extension_attributes() {
        let cases: &[(&str, &str, Result<(), Broken>)] = &[
            ("ext", "\"text\"", Ok(())),
            ("ext1", "true", Ok(())),
            ("e", "false", Ok(())),
            ("x9", "0", Ok(())),
            ("x", "-0", Ok(())),
            ("x", "2147483647", Ok(())),
            ("x", "-2147483648", Ok(())),
            ("x", "2147483648", Err(Broken::OutOfRange)),
            ("x", "-2147483649", Err(Broken::OutOfRange)),
            ("x", "99999999999999999999999", Err(Broken::OutOfRange)),
            ("x", "1.5", Err(Broken::Fraction)),
            ("x", "1.0", Err(Broken::Fraction)),
            ("x", "1.5e3", Err(Broken::Fraction)),
            ("x", "1e3", Err(Broken::Exponent)),
            ("x", "-1E-3", Err(Broken::Exponent)),
            ("x", "null", Err(Broken::Kind("null"))),
            ("x", "{}", Err(Broken::Kind("an object"))),
            ("x", "[1]", Err(Broken::Kind("an array"))),
            ("", "1", Err(Broken::Name)),
            ("MyExtension", "\"bad\"", Err(Broken::Name)),
            ("my.extension", "1.5", Err(Broken::Name)),
            ("x-vendor", "\"v\"", Err(Broken::Name)),
            ("snake_case", "1", Err(Broken::Name)),
            ("caf\u{e9}", "1", Err(Broken::Name)),
        ];
        for &(name, value, want) in cases {
            assert_eq!(
                extension(name, Json::general(value)),
                want,
                "{name} {value}"
            );
        }
    }
}
