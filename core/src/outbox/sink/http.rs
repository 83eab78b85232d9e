//! The `http` sink: POSTs a batch as a CloudEvents batch (`application/cloudevents-batch+json`,
//! a JSON array of the effects' CloudEvents, in seq order) to a configured `http://` URL.
//!
//! - Each event's `id` is its effect's idempotency key: receivers dedupe on it.
//! - `Idempotency-Key`: for a batch of one, that effect's key; for a larger batch, the hex
//!   XXH3-128 of the batch's keys in order ([`batch_idempotency_key`]), so a retried batch
//!   (always the same effects while it is retried whole) carries the same header.
//!   `Waybill-Effect-Count` gives the number of events.
//! - 2xx acknowledges the batch. 408, 429, 5xx, 3xx (redirects are not followed), connection
//!   errors and timeouts are transient; any other 4xx is permanent. `Retry-After` (seconds) on
//!   a transient answer is honoured as the least wait before the next attempt.
//! - `timeout` bounds the whole exchange, `connect_timeout` the connection.
//!
//! Blocking (no async runtime) and plain HTTP only: an `https://` receiver is reached through a
//! local proxy that does TLS (the URL names the proxy). System proxy variables are not used.

use super::{Sink, SinkError};
use crate::effect::{EffectKey, EffectOut};
use crate::outbox::OutboxError;
use crate::outbox::config::SinkConfig;
use std::io::Read;
use std::time::Duration;

/// Content type of a request.
pub const CONTENT_TYPE: &str = "application/cloudevents-batch+json";
/// Bytes of a response body read (to report it in the error, and to reuse the connection).
const RESPONSE_PREVIEW_BYTES: u64 = 512;
/// Longest `Retry-After` honoured.
const MAX_RETRY_AFTER_US: i64 = 3_600_000_000;

/// The `http` sink: POSTs each batch as a CloudEvents batch
/// (`application/cloudevents-batch+json`) to the configured `http://` URL (docs/effects.md, the
/// http wire format).
///
/// 2xx acknowledges the batch; 408, 429, 5xx, 3xx (redirects are not followed), connection
/// errors and timeouts are transient (with `Retry-After` in seconds honoured, at most an
/// hour); any other 4xx is permanent. Plain HTTP only, blocking, no proxy from the
/// environment.
pub struct HttpSink {
    agent: ureq::Agent,
    url: String,
    body: Vec<u8>,
}

/// The `Idempotency-Key` of a batch: its key for one effect, else the hex XXH3-128 of the keys.
pub fn batch_idempotency_key(batch: &[EffectOut]) -> String {
    assert!(!batch.is_empty());
    if let [one] = batch {
        return one.key.to_hex();
    }
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for e in batch {
        h.update(&e.key.0);
    }
    EffectKey(h.digest128().to_le_bytes()).to_hex()
}

impl HttpSink {
    /// A sink for the `url`, `timeout` and `connect_timeout` of `c`. Connects only when it
    /// delivers.
    ///
    /// # Panics
    ///
    /// When `c.url` is `None` (a validated `http` configuration has a url).
    pub fn new(c: &SinkConfig) -> Result<HttpSink, OutboxError> {
        let url = c.url.clone().expect("validated: an http sink has a url");
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .timeout_connect(Some(Duration::from_micros(c.connect_timeout.0 as u64)))
            .timeout_global(Some(Duration::from_micros(c.timeout.0 as u64)))
            .user_agent(concat!("waybill/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(HttpSink {
            agent: ureq::Agent::new_with_config(config),
            url,
            body: Vec::new(),
        })
    }

    fn fill_body(&mut self, batch: &[EffectOut]) {
        self.body.clear();
        self.body.push(b'[');
        for (i, e) in batch.iter().enumerate() {
            if i > 0 {
                self.body.push(b',');
            }
            self.body.extend_from_slice(&e.json);
        }
        self.body.push(b']');
    }
}

impl Sink for HttpSink {
    fn deliver(&mut self, batch: &[EffectOut]) -> Result<(), SinkError> {
        self.fill_body(batch);
        let sent = self
            .agent
            .post(&self.url)
            .header("Content-Type", CONTENT_TYPE)
            .header("Idempotency-Key", batch_idempotency_key(batch))
            .header("Waybill-Effect-Count", batch.len().to_string())
            .send(&self.body[..]);
        if self.body.capacity() > 4 << 20 {
            self.body = Vec::new();
        }
        let mut resp = match sent {
            Ok(r) => r,
            Err(e) => return Err(SinkError::transient(format!("POST {}: {e}", self.url))),
        };
        let status = resp.status().as_u16();
        let retry_after_us = retry_after_us(resp.headers().get("retry-after"));
        let mut preview = Vec::new();
        let _ = resp
            .body_mut()
            .as_reader()
            .take(RESPONSE_PREVIEW_BYTES)
            .read_to_end(&mut preview);
        classify(status, &preview, retry_after_us, &self.url)
    }
}

/// `Retry-After` in whole seconds (an HTTP date is not honoured).
fn retry_after_us(v: Option<&ureq::http::HeaderValue>) -> Option<i64> {
    let secs: i64 = v?.to_str().ok()?.trim().parse().ok()?;
    (secs >= 0).then(|| secs.saturating_mul(1_000_000).min(MAX_RETRY_AFTER_US))
}

/// The outcome of an answer with `status`.
fn classify(
    status: u16,
    body: &[u8],
    retry_after_us: Option<i64>,
    url: &str,
) -> Result<(), SinkError> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let message = match text.is_empty() {
        true => format!("POST {url}: HTTP {status}"),
        false => format!("POST {url}: HTTP {status}: {text}"),
    };
    let permanent = (400..500).contains(&status) && status != 408 && status != 429;
    if permanent {
        Err(SinkError::Permanent { message })
    } else {
        Err(SinkError::Transient {
            message,
            retry_after_us,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified_as_documented() {
        let cases = [
            (200, Some(true)),
            (204, Some(true)),
            (301, Some(false)),
            (400, None),
            (404, None),
            (408, Some(false)),
            (409, None),
            (422, None),
            (429, Some(false)),
            (500, Some(false)),
            (503, Some(false)),
        ];
        for (status, want) in cases {
            let got = match classify(status, b"", None, "http://x") {
                Ok(()) => Some(true),
                Err(SinkError::Transient { .. }) => Some(false),
                Err(SinkError::Permanent { .. }) => None,
            };
            assert_eq!(got, want, "HTTP {status}");
        }
    }

    #[test]
    fn retry_after_in_seconds_is_read_and_bounded() {
        let v = |s: &str| ureq::http::HeaderValue::from_str(s).unwrap();
        assert_eq!(retry_after_us(Some(&v("3"))), Some(3_000_000));
        assert_eq!(
            retry_after_us(Some(&v("999999999"))),
            Some(MAX_RETRY_AFTER_US)
        );
        assert_eq!(retry_after_us(Some(&v("-1"))), None);
        assert_eq!(
            retry_after_us(Some(&v("Wed, 21 Oct 2015 07:28:00 GMT"))),
            None
        );
        assert_eq!(retry_after_us(None), None);
    }
}
