//! The http sink against a real HTTP/1.1 receiver on 127.0.0.1, driven by a lane in simulated
//! time: retries of 503s, the CloudEvents batch and its headers, a receiver that is down (the
//! breaker opens) and comes back (everything is delivered). Loopback only; every request loop
//! is bounded in count and time.

mod outbox_support;

use outbox_support::*;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use waybill_core::effect::{Class, Downstream, EffectType};
use waybill_core::outbox::sink::{HttpSink, batch_idempotency_key};
use waybill_core::outbox::{
    BreakerState, DurationUs, LaneConfig, LaneId, NEVER, Outbox, SinkConfig, SinkKind,
};

const LANE: LaneId = LaneId {
    sink: Downstream::Billing,
    class: Class::Financial,
};

/// How long a receiver waits for requests before it stops by itself.
const RECEIVER_LIFETIME: Duration = Duration::from_secs(60);
/// Bytes of one request a receiver reads at most.
const MAX_REQUEST_BYTES: usize = 1 << 20;

#[derive(Clone, Debug)]
struct Request {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn events(&self) -> Vec<Value> {
        match serde_json::from_slice(&self.body).unwrap() {
            Value::Array(a) => a,
            v => panic!("not a batch: {v}"),
        }
    }
}

/// A receiver on `listener` that answers request `i` with `status(i)`, for at most
/// `max_requests` requests or [`RECEIVER_LIFETIME`].
fn receiver(
    listener: TcpListener,
    max_requests: usize,
    status: impl Fn(usize) -> u16 + Send + 'static,
) -> (Arc<Mutex<Vec<Request>>>, JoinHandle<()>) {
    let seen: Arc<Mutex<Vec<Request>>> = Arc::default();
    let log = Arc::clone(&seen);
    listener.set_nonblocking(true).unwrap();
    let handle = std::thread::spawn(move || {
        let end = Instant::now() + RECEIVER_LIFETIME;
        let mut served = 0;
        while served < max_requests && Instant::now() < end {
            match listener.accept() {
                Ok((stream, _)) => {
                    if let Some(req) = read_request(stream, status(served)) {
                        log.lock().unwrap().push(req);
                        served += 1;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => panic!("accept: {e}"),
            }
        }
    });
    (seen, handle)
}

/// Reads one request from `stream` and answers it with `status` (the connection closes).
fn read_request(mut stream: TcpStream, status: u16) -> Option<Request> {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut chunk).ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
        assert!(buf.len() <= MAX_REQUEST_BYTES);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
    let headers: Vec<(String, String)> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.parse().unwrap());
    assert!(len <= MAX_REQUEST_BYTES);
    while buf.len() < head_end + len {
        let n = stream.read(&mut chunk).ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
    let answer =
        format!("HTTP/1.1 {status} Status\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno");
    stream.write_all(answer.as_bytes()).ok()?;
    Some(Request {
        headers,
        body: buf[head_end..head_end + len].to_vec(),
    })
}

fn http_config(addr: SocketAddr, batch_max: usize, threshold: u32) -> SinkConfig {
    let mut c = SinkConfig {
        kind: SinkKind::Http,
        url: Some(format!("http://{addr}/effects")),
        timeout: DurationUs::secs(10),
        connect_timeout: DurationUs::secs(5),
        batch_max,
        ..SinkConfig::default()
    };
    c.breaker.failure_threshold = threshold;
    c.breaker.cool_down = DurationUs::secs(30);
    c
}

fn open(j: &std::path::Path, c: &SinkConfig) -> Outbox {
    let lane = LaneConfig::from_sink(c);
    Outbox::open_with(j, std::array::from_fn(|_| lane.clone()), 3).unwrap()
}

#[test]
fn retries_503s_and_delivers_a_cloudevents_batch_with_its_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let j = tmp.path();
    let written = write_log(j, &[EffectType::BillingDeliveryConfirmed; 5]);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Four requests for the first batch (three 503s), one for the second.
    let (seen, server) = receiver(listener, 5, |i| if i < 3 { 503 } else { 200 });
    let c = http_config(addr, 3, 10);
    let mut ob = open(j, &c);
    let mut sink = HttpSink::new(&c).unwrap();
    let t = run(&mut ob, LANE, 0, NEVER - 1, 10, &mut sink);
    server.join().unwrap();
    let s = ob.lane(LANE).status(t);
    assert_eq!((s.delivered, s.failures, s.dead, s.pending), (5, 3, 0, 0));
    assert!(s.last_error.unwrap().contains("HTTP 503"));
    let reqs = seen.lock().unwrap().clone();
    assert_eq!(reqs.len(), 5);
    let batch_key = batch_idempotency_key(&written[..3]);
    for r in &reqs[..4] {
        assert_eq!(
            r.header("idempotency-key"),
            Some(batch_key.as_str()),
            "same key on retries"
        );
        assert_eq!(r.header("waybill-effect-count"), Some("3"));
    }
    assert_eq!(
        reqs[4].header("idempotency-key").unwrap(),
        batch_idempotency_key(&written[3..])
    );
    let mut ids = Vec::new();
    for r in [&reqs[3], &reqs[4]] {
        assert_eq!(
            r.header("content-type"),
            Some("application/cloudevents-batch+json")
        );
        ids.extend(
            r.events()
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_owned()),
        );
    }
    let keys: Vec<String> = written.iter().map(|e| e.key.to_hex()).collect();
    assert_eq!(ids, keys, "every effect once, in seq order, id = key");
}

#[test]
fn a_receiver_that_is_down_opens_the_breaker_and_gets_everything_when_it_is_back() {
    let tmp = tempfile::tempdir().unwrap();
    let j = tmp.path();
    let written = write_log(j, &[EffectType::BillingDeliveryConfirmed; 4]);
    // A port nobody listens on: bound, then let go.
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let c = http_config(addr, 1, 2);
    let mut ob = open(j, &c);
    let mut sink = HttpSink::new(&c).unwrap();
    let t = run(&mut ob, LANE, 0, 1_000_000, 10, &mut sink);
    let s = ob.lane(LANE).status(t);
    assert_eq!(s.breaker, BreakerState::Open);
    assert_eq!((s.failures, s.delivered, s.dead), (2, 0, 0));
    assert!(
        s.last_error.as_deref().unwrap().contains("POST"),
        "{:?}",
        s.last_error
    );
    let open_until = s.open_until_us.unwrap();
    // The receiver comes back on the same port; the probe after the cool-down closes it.
    let listener = TcpListener::bind(addr).expect("the port is free again");
    let (seen, server) = receiver(listener, 4, |_| 204);
    let t = run(&mut ob, LANE, open_until, NEVER - 1, 10, &mut sink);
    server.join().unwrap();
    let s = ob.lane(LANE).status(t);
    assert_eq!(
        (s.breaker, s.delivered, s.pending),
        (BreakerState::Closed, 4, 0)
    );
    let reqs = seen.lock().unwrap().clone();
    let ids: Vec<String> = reqs
        .iter()
        .map(|r| {
            let events = r.events();
            assert_eq!(events.len(), 1);
            let id = events[0]["id"].as_str().unwrap().to_owned();
            assert_eq!(
                r.header("idempotency-key"),
                Some(id.as_str()),
                "one effect: its key"
            );
            id
        })
        .collect();
    let keys: Vec<String> = written.iter().map(|e| e.key.to_hex()).collect();
    assert_eq!(ids, keys);
}
