//! `waybill load`: drives a running `waybill serve` with CloudEvents over HTTP and measures
//! what it acknowledges durable: events per second (`http_eps`) and the latency of each
//! request from its intended send time to its answer (`http_latency_us`).
//!
//! The events are the ones `waybill bench` generates (`waybill_sim::workload`, CloudEvents
//! JSON by `encode_event`), so runs with the same `--events`, `--shipments` and `--seed` send
//! the same bytes. Every request body is encoded before the clock starts.
//!
//! With `--rate`, the run is open loop: request `i` is due at `start + i * batch / rate`,
//! whatever the service does, and its latency runs from that intended time, so a stall of the
//! service shows in every request behind it (no coordinated omission), as in the open-loop
//! runs of `waybill bench`. Each of the `--connections` threads takes the next request due;
//! when every connection is busy the next request goes out late and its latency says so.
//! With `--rate 0` the run is closed loop: each connection sends its next request as soon as
//! the one before is answered, and latency runs from the actual send.
//!
//! Nothing is queued between the threads: they share one counter of the next request.

use crate::args::LoadArgs;
use crate::error::CliError;
use crate::output::Out;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use waybill_core::encode::encode_event;
use waybill_core::event::Event;
use waybill_sim::report::thousands_f;

/// The largest latency recorded (a minute), in µs; longer ones are recorded as this.
const LATENCY_US_MAX: u64 = 60_000_000;
/// Significant decimal digits the latency histogram keeps.
const SIGNIFICANT_DIGITS: u8 = 3;
/// The largest answer read, in bytes (an answer lists every event of its request, about 100
/// bytes each).
const ANSWER_BYTES_MAX: u64 = 64 << 20;
/// The longest each phase of a request may take (connect, send, wait for the durable answer,
/// read it).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// A refused request (429, 503) is sent again after the service's `Retry-After`, at most this.
const RETRY_AFTER_MAX: Duration = Duration::from_secs(10);
/// ... or after this when the answer gives no `Retry-After`.
const RETRY_AFTER_DEFAULT: Duration = Duration::from_secs(1);
/// The schedule starts this long after the bodies are ready, so that every connection
/// thread runs before the first request is due.
const START_DELAY: Duration = Duration::from_millis(20);
/// A connection waiting for its next request's time looks this often whether the run stopped.
const STOP_CHECK: Duration = Duration::from_millis(100);
/// Events per shipment of the generated world when `--shipments` is not given (the ratio of
/// `waybill bench`'s full-size run).
const EVENTS_PER_SHIPMENT_DEFAULT: u64 = 10;

/// Content type of a request holding one event (structured mode).
const STRUCTURED: &str = "application/cloudevents+json";
/// Content type of a request holding a JSON array of events (batch mode).
const BATCH: &str = "application/cloudevents-batch+json";
/// Content type of a request holding one event per line (`--lines`).
const LINES: &str = "application/x-ndjson";

/// How a request carries its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// One event, `application/cloudevents+json`.
    Structured,
    /// A JSON array, `application/cloudevents-batch+json`.
    Batch,
    /// One event per line, `application/x-ndjson`.
    Lines,
}

impl Mode {
    fn of(batch: u32, lines: bool) -> Mode {
        match (lines, batch) {
            (true, _) => Mode::Lines,
            (false, 1) => Mode::Structured,
            (false, _) => Mode::Batch,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Mode::Structured => "structured",
            Mode::Batch => "batch",
            Mode::Lines => "lines",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Mode::Structured => STRUCTURED,
            Mode::Batch => BATCH,
            Mode::Lines => LINES,
        }
    }
}

/// Latency percentiles, in µs.
#[derive(Debug, Clone, Copy, Serialize, Default, PartialEq, Eq)]
pub struct Percentiles {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

/// The report of a run (`--json` prints it as one object).
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    /// The service's address.
    pub url: String,
    /// Events sent, every one acknowledged durable.
    pub events: u64,
    /// Events per request (the last request may hold fewer).
    pub batch: u64,
    /// `structured` (one event a request), `batch` (a JSON array) or `lines` (JSON lines).
    pub mode: &'static str,
    pub requests: u64,
    pub connections: u32,
    /// The offered rate in events per second; 0: closed loop.
    pub offered_rate_eps: u64,
    pub shipments: u64,
    pub seed: u64,
    /// From the schedule's start to the last answer, in seconds.
    pub elapsed_s: f64,
    /// Events acknowledged durable per second.
    pub http_eps: f64,
    /// Requests answered per second.
    pub requests_per_s: f64,
    /// From each request's intended send time (closed loop: its send) to its answer.
    pub http_latency_us: Percentiles,
    /// The service's outcomes of the events, summed over the answers.
    pub applied: u64,
    pub duplicates: u64,
    pub dead_lettered: u64,
    /// Answers 429 (the core's queue full) and 503 (too many requests in flight): each such
    /// request was sent again after `Retry-After`.
    pub refused_429: u64,
    pub refused_503: u64,
    /// The highest `durable_lsn` the service answered.
    pub durable_lsn: u64,
    /// Generating and encoding the events, in seconds (before the schedule starts).
    pub generate_seconds: f64,
}

/// The counters of one answer of `POST /v1/events` (the list of events is skipped).
#[derive(Deserialize, Debug)]
struct Answer {
    received: u64,
    applied: u64,
    duplicates: u64,
    dead_lettered: u64,
    durable_lsn: u64,
}

/// Every request body, encoded back to back.
struct Requests {
    bytes: Vec<u8>,
    /// Per request: where its body ends in `bytes` (it starts where the one before ends),
    /// and its events.
    ends: Vec<(usize, u64)>,
    content_type: &'static str,
}

impl Requests {
    /// `events` in requests of `batch`, each body as `mode` carries them.
    fn encode(events: &[Event], batch: usize, mode: Mode) -> Requests {
        let mut bytes = Vec::with_capacity(events.len() * 300);
        let mut ends = Vec::with_capacity(events.len().div_ceil(batch));
        for chunk in events.chunks(batch) {
            match mode {
                Mode::Structured => encode_event(&chunk[0], &mut bytes),
                Mode::Batch => {
                    bytes.push(b'[');
                    for (k, e) in chunk.iter().enumerate() {
                        if k > 0 {
                            bytes.push(b',');
                        }
                        encode_event(e, &mut bytes);
                    }
                    bytes.push(b']');
                }
                Mode::Lines => {
                    for e in chunk {
                        encode_event(e, &mut bytes);
                        bytes.push(b'\n');
                    }
                }
            }
            ends.push((bytes.len(), chunk.len() as u64));
        }
        Requests {
            bytes,
            ends,
            content_type: mode.content_type(),
        }
    }

    fn len(&self) -> u64 {
        self.ends.len() as u64
    }

    fn get(&self, i: usize) -> (&[u8], u64) {
        let start = if i == 0 { 0 } else { self.ends[i - 1].0 };
        let (end, events) = self.ends[i];
        (&self.bytes[start..end], events)
    }
}

/// What the connection threads share.
struct Shared<'a> {
    events_url: String,
    authorization: Option<String>,
    requests: &'a Requests,
    start: Instant,
    /// Nanoseconds between two requests' intended send times; `None`: closed loop.
    interval_ns: Option<f64>,
    /// The next request to send.
    next: AtomicU64,
    /// Set at the first failure: the other threads stop.
    stop: AtomicBool,
    failure: Mutex<Option<CliError>>,
}

impl Shared<'_> {
    fn intended(&self, i: u64, interval_ns: f64) -> Instant {
        self.start + Duration::from_nanos((i as f64 * interval_ns) as u64)
    }

    fn fail(&self, e: CliError) {
        self.stop.store(true, Ordering::Release);
        let mut first = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        first.get_or_insert(e);
    }
}

/// One connection's figures.
struct Tally {
    latency: Histogram<u64>,
    requests: u64,
    events: u64,
    applied: u64,
    duplicates: u64,
    dead_lettered: u64,
    refused_429: u64,
    refused_503: u64,
    durable_lsn: u64,
    last_answer: Option<Instant>,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            latency: histogram(),
            requests: 0,
            events: 0,
            applied: 0,
            duplicates: 0,
            dead_lettered: 0,
            refused_429: 0,
            refused_503: 0,
            durable_lsn: 0,
            last_answer: None,
        }
    }

    fn merge(&mut self, o: Tally) {
        self.latency.add(&o.latency).expect("same bounds");
        self.requests += o.requests;
        self.events += o.events;
        self.applied += o.applied;
        self.duplicates += o.duplicates;
        self.dead_lettered += o.dead_lettered;
        self.refused_429 += o.refused_429;
        self.refused_503 += o.refused_503;
        self.durable_lsn = self.durable_lsn.max(o.durable_lsn);
        self.last_answer = self.last_answer.max(o.last_answer);
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::<u64>::new_with_bounds(1, LATENCY_US_MAX, SIGNIFICANT_DIGITS).expect("bounds")
}

fn percentiles(h: &Histogram<u64>) -> Percentiles {
    if h.is_empty() {
        return Percentiles::default();
    }
    Percentiles {
        p50: h.value_at_quantile(0.5),
        p90: h.value_at_quantile(0.9),
        p99: h.value_at_quantile(0.99),
        p999: h.value_at_quantile(0.999),
        max: h.max(),
    }
}

pub fn run(a: LoadArgs) -> Result<ExitCode, CliError> {
    if a.events == 0 {
        return Err(CliError::Usage("--events must be at least 1".into()));
    }
    if a.shipments == Some(0) {
        return Err(CliError::Usage("--shipments must be at least 1".into()));
    }
    let base = base_url(&a.url)?;
    let agent = agent();
    check_ready(&agent, &base)?;

    let shipments = a
        .shipments
        .unwrap_or((a.events / EVENTS_PER_SHIPMENT_DEFAULT).max(1));
    let t0 = Instant::now();
    let w = waybill_sim::workload::workload(a.events, shipments, a.seed);
    let mode = Mode::of(a.batch, a.lines);
    let requests = Requests::encode(&w.events, a.batch as usize, mode);
    let events = w.events.len() as u64;
    drop(w);
    let generate_seconds = t0.elapsed().as_secs_f64();
    if !a.json {
        eprintln!(
            "load: {} events in {} requests encoded in {generate_seconds:.1} s",
            thousands_f(events as f64, 0),
            thousands_f(requests.len() as f64, 0)
        );
    }

    let shared = Shared {
        events_url: format!("{base}/v1/events"),
        authorization: a.token.as_ref().map(|t| format!("Bearer {t}")),
        requests: &requests,
        start: Instant::now() + START_DELAY,
        interval_ns: (a.rate > 0).then(|| a.batch as f64 * 1e9 / a.rate as f64),
        next: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        failure: Mutex::new(None),
    };
    let mut total = Tally::new();
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..a.connections)
            .map(|k| {
                std::thread::Builder::new()
                    .name(format!("waybill-load-{k}"))
                    .spawn_scoped(scope, || connection(&shared))
                    .expect("spawn a connection thread")
            })
            .collect();
        for t in threads {
            total.merge(t.join().expect("a connection thread does not panic"));
        }
    });
    if let Some(e) = shared
        .failure
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
    {
        return Err(e);
    }
    debug_assert_eq!(total.events, events, "every event acknowledged");
    let elapsed_s = total.last_answer.map_or(0.0, |t| {
        t.saturating_duration_since(shared.start).as_secs_f64()
    });
    let per_s = |n: u64| {
        if elapsed_s > 0.0 {
            n as f64 / elapsed_s
        } else {
            0.0
        }
    };
    let report = LoadReport {
        url: base,
        events: total.events,
        batch: u64::from(a.batch),
        mode: mode.name(),
        requests: total.requests,
        connections: a.connections,
        offered_rate_eps: a.rate,
        shipments,
        seed: a.seed,
        elapsed_s,
        http_eps: per_s(total.events),
        requests_per_s: per_s(total.requests),
        http_latency_us: percentiles(&total.latency),
        applied: total.applied,
        duplicates: total.duplicates,
        dead_lettered: total.dead_lettered,
        refused_429: total.refused_429,
        refused_503: total.refused_503,
        durable_lsn: total.durable_lsn,
        generate_seconds,
    };
    let mut out = Out::new();
    if a.json {
        out.line(serde_json::to_string_pretty(&report).expect("a report serializes"))?;
    } else {
        out.line(render(&report).trim_end())?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `--url` without a trailing `/`; only `http://` (the client has no TLS).
fn base_url(url: &str) -> Result<String, CliError> {
    let base = url.trim_end_matches('/');
    match base.strip_prefix("http://") {
        Some(rest) if !rest.is_empty() && !rest.contains('/') => Ok(base.to_owned()),
        _ => Err(CliError::Usage(format!(
            "--url {url:?}: expected http://HOST:PORT (plain HTTP, no path)"
        ))),
    }
}

/// A client of keep-alive connections. Its timeouts are per phase: a global or per-call
/// timeout makes the client resolve the address on a thread of its own for every request.
fn agent() -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_connect(Some(REQUEST_TIMEOUT))
        .timeout_send_body(Some(REQUEST_TIMEOUT))
        .timeout_recv_response(Some(REQUEST_TIMEOUT))
        .timeout_recv_body(Some(REQUEST_TIMEOUT))
        .build();
    ureq::Agent::new_with_config(config)
}

/// `GET /readyz` answers 200: the service runs and its journal is open.
fn check_ready(agent: &ureq::Agent, base: &str) -> Result<(), CliError> {
    let r = agent
        .get(format!("{base}/readyz"))
        .call()
        .map_err(|e| CliError::Env(format!("no service at {base}: {e}")))?;
    match r.status().as_u16() {
        200 => Ok(()),
        s => Err(CliError::Env(format!(
            "the service at {base} is not ready: GET /readyz answered {s}"
        ))),
    }
}

/// One connection: sends the next request due until none is left or another connection
/// failed.
fn connection(s: &Shared<'_>) -> Tally {
    let agent = agent();
    let mut t = Tally::new();
    sleep_until(s, s.start);
    while !s.stop.load(Ordering::Acquire) {
        let i = s.next.fetch_add(1, Ordering::Relaxed);
        if i >= s.requests.len() {
            break;
        }
        let intended = match s.interval_ns {
            Some(interval_ns) => {
                let at = s.intended(i, interval_ns);
                sleep_until(s, at);
                at
            }
            None => Instant::now(),
        };
        if s.stop.load(Ordering::Acquire) {
            break;
        }
        let (body, events) = s.requests.get(i as usize);
        let answer = match send(&agent, s, body, &mut t) {
            Ok(Some(a)) => a,
            Ok(None) => break,
            Err(e) => {
                s.fail(e);
                break;
            }
        };
        let now = Instant::now();
        let us = now.saturating_duration_since(intended).as_micros() as u64;
        t.latency
            .record(us.clamp(1, LATENCY_US_MAX))
            .expect("clamped into range");
        if answer.received != events {
            s.fail(CliError::Env(format!(
                "request {i}: the service answered for {} events of {events}",
                answer.received
            )));
            break;
        }
        t.requests += 1;
        t.events += events;
        t.applied += answer.applied;
        t.duplicates += answer.duplicates;
        t.dead_lettered += answer.dead_lettered;
        t.durable_lsn = t.durable_lsn.max(answer.durable_lsn);
        t.last_answer = Some(now);
    }
    t
}

/// Sleeps until `at`, waking at least every [`STOP_CHECK`] to see whether the run stopped.
fn sleep_until(s: &Shared<'_>, at: Instant) {
    loop {
        let now = Instant::now();
        if at <= now || s.stop.load(Ordering::Acquire) {
            return;
        }
        std::thread::sleep((at - now).min(STOP_CHECK));
    }
}

/// Sends one request until it is answered 200 (sent again after each 429 or 503); `None`
/// when another connection failed meanwhile.
fn send(
    agent: &ureq::Agent,
    s: &Shared<'_>,
    body: &[u8],
    t: &mut Tally,
) -> Result<Option<Answer>, CliError> {
    loop {
        let mut req = agent
            .post(&s.events_url)
            .header("Content-Type", s.requests.content_type);
        if let Some(auth) = &s.authorization {
            req = req.header("Authorization", auth);
        }
        let mut r = req
            .send(body)
            .map_err(|e| CliError::Env(format!("POST {}: {e}", s.events_url)))?;
        let status = r.status().as_u16();
        let text = r
            .body_mut()
            .with_config()
            .limit(ANSWER_BYTES_MAX)
            .read_to_vec()
            .map_err(|e| {
                CliError::Env(format!("POST {}: reading the answer: {e}", s.events_url))
            })?;
        match status {
            200 => {
                let a = serde_json::from_slice(&text).map_err(|e| {
                    CliError::Env(format!(
                        "POST {}: the answer is not the service's: {e}",
                        s.events_url
                    ))
                })?;
                return Ok(Some(a));
            }
            429 | 503 => {
                if status == 429 {
                    t.refused_429 += 1;
                } else {
                    t.refused_503 += 1;
                }
                let wait = r
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map_or(RETRY_AFTER_DEFAULT, Duration::from_secs)
                    .min(RETRY_AFTER_MAX);
                sleep_until(s, Instant::now() + wait);
                if s.stop.load(Ordering::Acquire) {
                    return Ok(None);
                }
            }
            _ => return Err(refused(status, &text, &s.events_url)),
        }
    }
}

/// A request the service refused for good: its status and the service's reason.
fn refused(status: u16, body: &[u8], url: &str) -> CliError {
    let reason = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(200).collect());
    let hint = match status {
        401 | 403 => " (--token: a token of the service that covers every source)",
        413 => {
            " (--batch: more events than the service's limits.max_batch_events, or a body past limits.max_body_bytes)"
        }
        _ => "",
    };
    let msg = format!("POST {url} answered {status}: {reason}{hint}");
    // A 408 is the service taking too long, not the request being wrong.
    if (400..500).contains(&status) && status != 408 {
        CliError::Usage(msg)
    } else {
        CliError::Env(msg)
    }
}

/// The report for people.
fn render(r: &LoadReport) -> String {
    let n = |v: u64| thousands_f(v as f64, 0);
    let loop_kind = if r.offered_rate_eps == 0 {
        "closed loop".to_owned()
    } else {
        format!("open loop, {} events/s offered", n(r.offered_rate_eps))
    };
    let l = &r.http_latency_us;
    let mut s = String::new();
    s.push_str(&format!(
        "waybill load {}: {} events in {} requests of {} ({} mode), {} connections, {loop_kind}\n",
        r.url,
        n(r.events),
        n(r.requests),
        n(r.batch),
        r.mode,
        r.connections,
    ));
    s.push_str(&format!(
        "  http_eps           {:>12} events/s acknowledged durable\n",
        thousands_f(r.http_eps, 0)
    ));
    s.push_str(&format!(
        "  requests_per_s     {:>12}\n",
        thousands_f(r.requests_per_s, 0)
    ));
    s.push_str(&format!(
        "  http_latency_us    p50 {}  p90 {}  p99 {}  p99.9 {}  max {}\n",
        n(l.p50),
        n(l.p90),
        n(l.p99),
        n(l.p999),
        n(l.max)
    ));
    s.push_str(&format!(
        "  outcomes           {} applied, {} duplicates, {} dead-lettered; durable_lsn {}\n",
        n(r.applied),
        n(r.duplicates),
        n(r.dead_lettered),
        n(r.durable_lsn)
    ));
    s.push_str(&format!(
        "  refused            {} (429), {} (503), each sent again\n",
        n(r.refused_429),
        n(r.refused_503)
    ));
    s.push_str(&format!("  elapsed            {:.2} s\n", r.elapsed_s));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_arrays_or_single_events() {
        let w = waybill_sim::workload::workload(5, 1, 3);
        let batched = Requests::encode(&w.events, 2, Mode::of(2, false));
        assert_eq!(batched.len(), 3);
        assert_eq!(batched.content_type, BATCH);
        for i in 0..3 {
            let (body, events) = batched.get(i);
            let v: Vec<serde_json::Value> = serde_json::from_slice(body).unwrap();
            assert_eq!(v.len() as u64, events);
        }
        assert_eq!(batched.get(2).1, 1, "the last request holds what is left");
        let single = Requests::encode(&w.events, 1, Mode::of(1, false));
        assert_eq!((single.len(), single.content_type), (5, STRUCTURED));
        let (body, _) = single.get(4);
        let v: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(v["id"].as_str(), Some(w.events[4].id.as_str()));
        let lines = Requests::encode(&w.events, 2, Mode::of(2, true));
        assert_eq!((lines.len(), lines.content_type), (3, LINES));
        let (body, events) = lines.get(0);
        let text = std::str::from_utf8(body).unwrap();
        assert_eq!(text.lines().count() as u64, events);
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn only_plain_http_base_urls() {
        assert_eq!(
            base_url("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        for bad in [
            "https://h:1",
            "127.0.0.1:8080",
            "http://h:1/v1/events",
            "http://",
        ] {
            assert!(base_url(bad).is_err(), "{bad}");
        }
    }
}
