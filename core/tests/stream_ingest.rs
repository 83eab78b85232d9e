//! `pipeline::ingest_reader`: where a batch closes (full, or a pause in the input) never
//! changes what reaches the journal; progress is reported per durable step; a live input is
//! applied and made durable while it stays open.

use std::fs;
use std::io::{self, Cursor, Read};
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use waybill_core::engine::Core;
use waybill_core::journal::{Durability, JournalOptions};
use waybill_core::pipeline::{StreamOptions, StreamProgress, ingest_reader};

/// A fixed ingest time, so journals written at different speeds can be compared byte for byte.
fn fixed_clock() -> i64 {
    1_795_766_400_000_000
}

/// Line `i`: mostly positions of 7 vehicles, a dead letter every 50th line, a redelivered
/// position every 37th.
fn line(i: u64) -> String {
    if i % 50 == 49 {
        return format!("not json {i}");
    }
    let i = if i % 37 == 36 { i - 1 } else { i };
    let v = i % 7;
    format!(
        r#"{{"specversion":"1.0","id":"e{i}","source":"fleet/v{v}","sequence":"{}","type":"vehicle.position","time":"2026-11-27T06:00:00Z","subject":"vehicle/{v}","data":{{"lat":52.{:06},"lon":4.5,"speed_kph":{}}}}}"#,
        i / 7 + 1,
        i * 13 % 1_000_000,
        i % 100
    )
}

fn input(n: u64) -> Vec<u8> {
    (0..n)
        .flat_map(|i| line(i).into_bytes().into_iter().chain([b'\n']))
        .collect()
}

fn opts(durability: Durability) -> JournalOptions {
    JournalOptions {
        segment_bytes: 64 * 1024,
        durability,
        ..Default::default()
    }
}

/// A reader that cuts its input into reads of `cut` bytes and pauses (`WouldBlock`) before
/// every `pause_every`-th read.
struct Choppy {
    data: Cursor<Vec<u8>>,
    cut: usize,
    pause_every: usize,
    reads: usize,
}

impl Read for Choppy {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.reads += 1;
        if self.reads.is_multiple_of(self.pause_every) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = out.len().min(self.cut);
        self.data.read(&mut out[..n])
    }
}

/// The segment files of a journal, by name.
fn segments(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn ingest_into<R: Read + Send + 'static>(dir: &Path, input: R, stream: &StreamOptions) -> u64 {
    let mut core = Core::open(dir, opts(Durability::None)).unwrap();
    let r = ingest_reader(input, &mut core, stream, fixed_clock, &mut |_| {
        ControlFlow::Continue(())
    })
    .unwrap();
    assert!(r.read_error.is_none() && !r.stopped);
    core.flush().unwrap();
    r.counters.received
}

#[test]
fn where_batches_close_never_changes_the_journal() {
    const N: u64 = 3_000;
    let data = input(N);
    let tmp = tempfile::tempdir().unwrap();
    let reference = tmp.path().join("reference");
    let whole = StreamOptions {
        pause_us: None,
        ..StreamOptions::default()
    };
    assert_eq!(
        ingest_into(&reference, Cursor::new(data.clone()), &whole),
        N
    );
    let want = segments(&reference);
    assert!(want.len() > 2, "several segments: {}", want.len());

    let cases: Vec<(&str, StreamOptions, Box<dyn Read + Send>)> = vec![
        (
            "batches of 7, pauses every 3rd read",
            StreamOptions {
                batch_events: 7,
                pause_us: None,
                decoders: 3,
            },
            Box::new(Choppy {
                data: Cursor::new(data.clone()),
                cut: 500,
                pause_every: 3,
                reads: 0,
            }),
        ),
        (
            "one event per batch, pauses everywhere",
            StreamOptions {
                batch_events: 1,
                pause_us: None,
                decoders: 1,
            },
            Box::new(Choppy {
                data: Cursor::new(data.clone()),
                cut: 97,
                pause_every: 2,
                reads: 0,
            }),
        ),
        (
            // A pause of zero: a batch closes whenever the reader thread has nothing waiting,
            // which depends on thread timing.
            "timed pauses of zero",
            StreamOptions {
                batch_events: 100,
                pause_us: Some(0),
                decoders: 2,
            },
            Box::new(Cursor::new(data.clone())),
        ),
        (
            "default options",
            StreamOptions::default(),
            Box::new(Cursor::new(data.clone())),
        ),
    ];
    for (i, (name, stream, reader)) in cases.into_iter().enumerate() {
        let dir = tmp.path().join(format!("case-{i}"));
        assert_eq!(ingest_into(&dir, reader, &stream), N, "{name}");
        assert!(segments(&dir) == want, "{name}: the journal differs");
    }
}

/// Every step reported under each durability mode: `sync` and `group` when the durable LSN
/// rises, `none` once per applied batch. The input stays open until the last event is
/// reported durable (under `none`, it ends at once), so how fast the group flusher runs
/// decides only how many steps `group` reports, never whether the last one is seen.
#[test]
fn progress_is_reported_per_durable_step() {
    const N: u64 = 1_024; // whole batches: the last one needs no end of input to close
    let tmp = tempfile::tempdir().unwrap();
    for durability in [Durability::None, Durability::Sync, Durability::Group] {
        let dir = tmp.path().join(durability.to_string());
        let mut core = Core::open(&dir, opts(durability)).unwrap();
        let stream = StreamOptions {
            batch_events: 64,
            pause_us: None,
            decoders: 2,
        };
        let (feed_tx, feed_rx) = mpsc::channel::<Vec<u8>>();
        feed_tx.send(input(N)).unwrap();
        let mut open = (durability != Durability::None).then_some(feed_tx);
        let feed = Feed {
            rx: feed_rx,
            pending: Cursor::new(Vec::new()),
        };
        let mut steps: Vec<StreamProgress> = Vec::new();
        let r = ingest_reader(feed, &mut core, &stream, fixed_clock, &mut |p| {
            steps.push(*p);
            if p.durable_lsn == N {
                open = None; // everything is durable: the input ends
            }
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(r.counters.received, N);
        for s in &steps {
            assert!(s.durable_lsn <= s.lsn, "{durability}: {s:?}");
            assert_eq!(s.lsn, s.counters.received, "{durability}: {s:?}");
            assert!(s.counters.conserved(), "{durability}: {s:?}");
        }
        let batches = (N / 64) as usize;
        match durability {
            Durability::None => {
                assert_eq!(steps.len(), batches);
                assert!(steps.windows(2).all(|w| w[0].lsn < w[1].lsn));
                assert_eq!(r.durable_lsn, 0);
            }
            Durability::Sync => {
                assert_eq!(steps.len(), batches);
                assert!(steps.iter().all(|s| s.durable_lsn == s.lsn));
            }
            Durability::Group => {
                // How many rises are seen depends on the flusher's pace; each is a rise.
                assert!(
                    steps
                        .windows(2)
                        .all(|w| w[0].durable_lsn < w[1].durable_lsn),
                    "{steps:?}"
                );
            }
        }
        if durability != Durability::None {
            assert_eq!(steps.last().unwrap().durable_lsn, N, "every event durable");
            assert_eq!(r.durable_lsn, N);
        }
        assert_eq!(core.flush().unwrap(), N);
    }
}

#[test]
fn the_progress_callback_can_stop_ingest() {
    let tmp = tempfile::tempdir().unwrap();
    let mut core = Core::open(tmp.path(), opts(Durability::Sync)).unwrap();
    let stream = StreamOptions {
        batch_events: 10,
        pause_us: None,
        decoders: 2,
    };
    let r = ingest_reader(
        Cursor::new(input(1_000)),
        &mut core,
        &stream,
        fixed_clock,
        &mut |p| {
            if p.lsn >= 30 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    )
    .unwrap();
    assert!(r.stopped);
    assert_eq!(r.counters.received, 30);
    assert_eq!(core.machine().lsn(), 30);
}

/// A reader fed by the test, blocking until more is sent (an open pipe).
struct Feed {
    rx: mpsc::Receiver<Vec<u8>>,
    pending: Cursor<Vec<u8>>,
}

impl Read for Feed {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.pending.read(out)?;
            if n > 0 {
                return Ok(n);
            }
            match self.rx.recv() {
                Ok(b) => self.pending = Cursor::new(b),
                Err(_) => return Ok(0),
            }
        }
    }
}

/// Under `group`, events written to an input that stays open become durable and are
/// reported so, without more input and without the input ending.
#[test]
fn a_live_input_is_made_durable_while_it_stays_open() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_owned();
    let (feed_tx, feed_rx) = mpsc::channel::<Vec<u8>>();
    let (steps_tx, steps) = mpsc::channel::<StreamProgress>();
    let writer = std::thread::spawn(move || {
        let mut core = Core::open(&dir, opts(Durability::Group)).unwrap();
        let feed = Feed {
            rx: feed_rx,
            pending: Cursor::new(Vec::new()),
        };
        let stream = StreamOptions::default();
        ingest_reader(feed, &mut core, &stream, fixed_clock, &mut |p| {
            let _ = steps_tx.send(*p);
            ControlFlow::Continue(())
        })
        .unwrap()
    });
    let guard = Duration::from_secs(120); // only against a hang; no result depends on it
    let mut sent = 0u64;
    for n in [3u64, 100, 1, 5_000] {
        let lines: Vec<u8> = (sent..sent + n)
            .flat_map(|i| line(i).into_bytes().into_iter().chain([b'\n']))
            .collect();
        feed_tx.send(lines).unwrap();
        sent += n;
        loop {
            let step = steps
                .recv_timeout(guard)
                .expect("the input is acknowledged while open");
            if step.durable_lsn >= sent {
                assert_eq!(step.durable_lsn, sent);
                assert_eq!(step.counters.received, sent);
                break;
            }
        }
    }
    drop(feed_tx);
    let report = writer.join().unwrap();
    assert_eq!(report.counters.received, sent);
}
