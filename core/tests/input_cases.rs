//! Splitting input into raw events: JSONL, batch arrays, huge lines, any read pattern.

use proptest::prelude::*;
use std::io::{self, Read};
use std::sync::mpsc;
use std::time::Duration;
use waybill_core::event::{DeadLetterReason, Entry, MAX_EVENT_BYTES};
use waybill_core::input::{InputReader, PausingReader, RawBatch};

/// A raw event as expected: kept bytes and original length.
type Raw = (Vec<u8>, u64);

/// How a test reader hands out its bytes.
#[derive(Clone, Copy, Debug)]
enum Pattern {
    /// As much as asked.
    Whole,
    /// One byte per read.
    OneByte,
    /// 7 bytes per read, with an `Interrupted` error before every read.
    Interrupted,
    /// 5 bytes per read, with a pause (`WouldBlock`) before every other read.
    Paused,
}

struct TestReader {
    data: Vec<u8>,
    at: usize,
    pattern: Pattern,
    interrupt_next: bool,
}

impl Read for TestReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let limit = match self.pattern {
            Pattern::Whole => out.len(),
            Pattern::OneByte => 1,
            Pattern::Interrupted => {
                self.interrupt_next = !self.interrupt_next;
                if self.interrupt_next {
                    return Err(io::ErrorKind::Interrupted.into());
                }
                7
            }
            Pattern::Paused => {
                self.interrupt_next = !self.interrupt_next;
                if self.interrupt_next && self.at < self.data.len() {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                5
            }
        };
        let n = limit.min(out.len()).min(self.data.len() - self.at);
        out[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn reader(data: &[u8], pattern: Pattern) -> InputReader<TestReader> {
    InputReader::new(TestReader {
        data: data.to_vec(),
        at: 0,
        pattern,
        interrupt_next: false,
    })
}

/// Reads everything in batches of `max_events`; checks the batch sizes and the counter.
fn read_all(data: &[u8], pattern: Pattern, max_events: usize) -> Vec<Raw> {
    let mut input = reader(data, pattern);
    let mut batch = RawBatch::new();
    let mut out = Vec::new();
    loop {
        let n = input.read_batch(&mut batch, max_events).expect("read");
        assert_eq!(n, batch.len());
        assert!(n <= max_events);
        if n == 0 {
            break;
        }
        out.extend(
            batch
                .iter()
                .map(|e| (e.bytes.to_vec(), e.original_len_bytes)),
        );
        assert_eq!(input.events_read(), out.len() as u64);
    }
    // The end stays the end.
    assert_eq!(input.read_batch(&mut batch, max_events).unwrap(), 0);
    assert_eq!(input.events_read(), out.len() as u64);
    out
}

fn raw(bytes: impl AsRef<[u8]>) -> Raw {
    let b = bytes.as_ref().to_vec();
    let len = b.len() as u64;
    (b, len)
}

fn show(events: &[Raw]) -> Vec<(String, u64)> {
    events
        .iter()
        .map(|(b, n)| {
            let text = String::from_utf8_lossy(&b[..b.len().min(60)]).into_owned();
            (text, *n)
        })
        .collect()
}

/// Every read pattern and batch size gives `expected`.
fn check(input: impl AsRef<[u8]>, expected: Vec<Raw>) {
    let input = input.as_ref();
    for pattern in [
        Pattern::Whole,
        Pattern::OneByte,
        Pattern::Interrupted,
        Pattern::Paused,
    ] {
        for max_events in [1, 3, 1000] {
            if matches!(pattern, Pattern::OneByte) && input.len() > 300_000 && max_events != 1000 {
                continue; // slow and adds nothing
            }
            let got = read_all(input, pattern, max_events);
            assert!(
                got == expected,
                "{pattern:?}, max_events {max_events}: got {:?}, want {:?}",
                show(&got),
                show(&expected)
            );
        }
    }
}

#[test]
fn jsonl() {
    let cases: Vec<(&[u8], Vec<Raw>)> = vec![
        (b"", vec![]),
        (b"\n\n  \n\t\r\n", vec![]),
        (b"   ", vec![]),
        (b"a\nb\n", vec![raw("a"), raw("b")]),
        // No trailing newline: the last line is still an event.
        (b"a\nb", vec![raw("a"), raw("b")]),
        (b"{\"x\":1}", vec![raw("{\"x\":1}")]),
        // Blank lines and CRLF.
        (
            b"{\"a\":1}\r\n\r\n  \r\n\t\n{\"b\":2}\r\n",
            vec![raw("{\"a\":1}"), raw("{\"b\":2}")],
        ),
        (b"\r\n\r\nx\r", vec![raw("x")]),
        // Only one trailing \r is stripped; other whitespace is kept.
        (b"x\r\r\n", vec![raw("x\r")]),
        (b"  {\"a\":1}  \n", vec![raw("  {\"a\":1}  ")]),
        // Any bytes are a line: what is not JSON becomes a dead letter later.
        (
            b"garbage\n\xff\xfe\n",
            vec![raw("garbage"), raw(b"\xff\xfe")],
        ),
        // A line starting with `[` later in the input is just a line.
        (b"{}\n[1,2]\n", vec![raw("{}"), raw("[1,2]")]),
    ];
    for (input, expected) in cases {
        check(input, expected);
    }
}

#[test]
fn batch_arrays() {
    let pretty =
        b"[\n  {\n    \"specversion\": \"1.0\",\n    \"id\": \"a\"\n  },\n  {\"id\": \"b\"}\n]\n";
    let cases: Vec<(&[u8], Vec<Raw>)> = vec![
        (b"[]", vec![]),
        (b" \n [ ] \n", vec![]),
        (
            br#"[{"a":1},{"b":[1,2]},"s",7,null]"#,
            vec![
                raw(r#"{"a":1}"#),
                raw(r#"{"b":[1,2]}"#),
                raw(r#""s""#),
                raw("7"),
                raw("null"),
            ],
        ),
        // Pretty-printed over many lines: each element is its exact text.
        (
            pretty,
            vec![
                raw("{\n    \"specversion\": \"1.0\",\n    \"id\": \"a\"\n  }"),
                raw(r#"{"id": "b"}"#),
            ],
        ),
        (b"\r\n\r\n[1]\r\n", vec![raw("1")]),
        // Not a valid array: the whole input is one raw event (from its first `[`).
        (b"[", vec![raw("[")]),
        (b"[1,]", vec![raw("[1,]")]),
        (
            b"[{\"a\":1},\n{bad}\n]\n",
            vec![raw("[{\"a\":1},\n{bad}\n]\n")],
        ),
        (b"[1] x", vec![raw("[1] x")]),
        (b"[1]\n{\"a\":1}\n", vec![raw("[1]\n{\"a\":1}\n")]),
        (b"[\"\xff\"]", vec![raw(b"[\"\xff\"]")]),
        (b"  [1][2]", vec![raw("[1][2]")]),
    ];
    for (input, expected) in cases {
        check(input, expected);
    }
}

#[test]
fn deeply_nested_elements_are_elements() {
    let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
    check(format!("[{deep}, {{}}]"), vec![raw(&deep), raw("{}")]);
}

#[test]
fn invalid_array_becomes_one_dead_letter() {
    let mut input = reader(b"[{\"a\":1},", Pattern::Whole);
    let mut batch = RawBatch::new();
    assert_eq!(input.read_batch(&mut batch, 10).unwrap(), 1);
    match batch.get(0).decode() {
        Entry::DeadLetter(d) => {
            assert_eq!(d.reason, DeadLetterReason::MalformedJson);
            assert_eq!(d.raw, b"[{\"a\":1},");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(input.events_read(), 1);

    // Larger than an event: kept in part, too_large.
    let mut big = b"[".to_vec();
    big.extend(std::iter::repeat_n(b' ', 100_000));
    check(&big, vec![(big[..MAX_EVENT_BYTES].to_vec(), 100_001)]);
    let mut input = reader(&big, Pattern::Whole);
    input.read_batch(&mut batch, 10).unwrap();
    match batch.get(0).decode() {
        Entry::DeadLetter(d) => {
            assert_eq!(d.reason, DeadLetterReason::TooLarge);
            assert_eq!(d.raw_len_bytes, 100_001);
            assert_eq!(d.raw.len(), MAX_EVENT_BYTES);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn array_elements_too_large_are_cut() {
    let element = format!("\"{}\"", "e".repeat(100_000));
    let input = format!("[1,{element},2]");
    check(
        &input,
        vec![
            raw("1"),
            (
                element.as_bytes()[..MAX_EVENT_BYTES].to_vec(),
                element.len() as u64,
            ),
            raw("2"),
        ],
    );
}

#[test]
fn array_size_is_bounded() {
    let input = format!("[{}]", "1,".repeat(100) + "1");
    let mut batch = RawBatch::new();
    let mut ok = reader(input.as_bytes(), Pattern::Whole).with_max_array_bytes(input.len() as u64);
    assert_eq!(ok.read_batch(&mut batch, 1000).unwrap(), 101);
    let mut over =
        reader(input.as_bytes(), Pattern::OneByte).with_max_array_bytes(input.len() as u64 - 1);
    let err = over.read_batch(&mut batch, 1000).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("larger than the limit"), "{err}");
}

#[test]
fn huge_lines_keep_a_bounded_prefix() {
    const MIB: usize = 1 << 20;
    let mut line = b"{\"id\":\"".to_vec();
    line.resize(MIB, b'x');
    let next = b"{\"b\":1}".to_vec();

    // A 1 MiB line between two normal ones.
    let mut input = b"{\"a\":1}\n".to_vec();
    input.extend_from_slice(&line);
    input.push(b'\n');
    input.extend_from_slice(&next);
    input.push(b'\n');
    let expected = vec![
        raw("{\"a\":1}"),
        (line[..MAX_EVENT_BYTES].to_vec(), MIB as u64),
        raw(&next),
    ];
    check(&input, expected);

    // With CRLF, and last without a newline.
    let mut input = line.clone();
    input.extend_from_slice(b"\r\n");
    input.extend_from_slice(&line);
    check(
        &input,
        vec![
            (line[..MAX_EVENT_BYTES].to_vec(), MIB as u64),
            (line[..MAX_EVENT_BYTES].to_vec(), MIB as u64),
        ],
    );

    // Between the limit and the read buffer size, and far beyond the buffer.
    for len in [MAX_EVENT_BYTES + 1, 100_000, 3 * MIB + 17] {
        let mut long = vec![b'y'; len];
        long[0] = b'{';
        let mut input = long.clone();
        input.extend_from_slice(b"\n{}\n");
        check(
            &input,
            vec![(long[..MAX_EVENT_BYTES].to_vec(), len as u64), raw("{}")],
        );
    }

    // Exactly MAX_EVENT_BYTES plus a \r: the whole line is kept, it is not too large.
    let exact = vec![b'z'; MAX_EVENT_BYTES];
    let mut input = exact.clone();
    input.extend_from_slice(b"\r\n");
    check(&input, vec![raw(&exact)]);

    // A huge blank line is skipped and not counted.
    let mut input = vec![b' '; 2 * MIB + 3];
    input.extend_from_slice(b"\r\n{}\n");
    input.extend(std::iter::repeat_n(b'\t', 3 * MIB));
    check(&input, vec![raw("{}")]);

    // What the reader keeps decodes to too_large with the true length.
    let mut rd = reader(&line, Pattern::Whole);
    let mut batch = RawBatch::new();
    assert_eq!(rd.read_batch(&mut batch, 10).unwrap(), 1);
    let ev = batch.get(0);
    assert_eq!(ev.bytes.len(), MAX_EVENT_BYTES);
    assert_eq!(ev.original_len_bytes, MIB as u64);
    match ev.decode() {
        Entry::DeadLetter(d) => {
            assert_eq!(d.reason, DeadLetterReason::TooLarge);
            assert_eq!(d.raw_len_bytes, MIB as u64);
            assert_eq!(d.raw, &line[..MAX_EVENT_BYTES]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn batches_split_at_max_events() {
    let input: String = (0..10).map(|i| format!("{{\"n\":{i}}}\n\n")).collect();
    let mut rd = reader(input.as_bytes(), Pattern::Whole);
    let mut batch = RawBatch::new();
    let mut sizes = Vec::new();
    let mut counts = Vec::new();
    loop {
        let n = rd.read_batch(&mut batch, 3).unwrap();
        if n == 0 {
            break;
        }
        sizes.push(n);
        counts.push(rd.events_read());
        assert_eq!(
            batch.get(0).bytes,
            format!("{{\"n\":{}}}", counts.last().unwrap() - n as u64).as_bytes()
        );
    }
    assert_eq!(sizes, [3, 3, 3, 1]);
    assert_eq!(counts, [3, 6, 9, 10]);
    assert_eq!(rd.read_batch(&mut batch, 0).unwrap(), 0);

    // The same for an array.
    let input = format!(
        "[{}]",
        (0..10).map(|i| i.to_string()).collect::<Vec<_>>().join(",")
    );
    let mut rd = reader(input.as_bytes(), Pattern::Whole);
    let mut sizes = Vec::new();
    while let n @ 1.. = rd.read_batch(&mut batch, 4).unwrap() {
        sizes.push(n);
    }
    assert_eq!(sizes, [4, 4, 2]);
    assert_eq!(rd.events_read(), 10);
}

/// A reader that fails once in the middle.
struct FailsOnce {
    parts: Vec<io::Result<Vec<u8>>>,
}

impl Read for FailsOnce {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.parts.is_empty() {
            return Ok(0);
        }
        let part = self.parts.remove(0)?;
        out[..part.len()].copy_from_slice(&part);
        Ok(part.len())
    }
}

#[test]
fn read_errors_keep_what_was_read() {
    let mut rd = InputReader::new(FailsOnce {
        parts: vec![
            Ok(b"a\nb\nc".to_vec()),
            Err(io::Error::other("disk on fire")),
            Ok(b"d\ne\n".to_vec()),
        ],
    });
    let mut batch = RawBatch::new();
    assert_eq!(rd.read_batch(&mut batch, 10).unwrap(), 2);
    assert_eq!(
        rd.read_batch(&mut batch, 10).unwrap_err().to_string(),
        "disk on fire"
    );
    assert_eq!(rd.read_batch(&mut batch, 10).unwrap(), 2);
    let got: Vec<&[u8]> = batch.iter().map(|e| e.bytes).collect();
    assert_eq!(got, [b"cd".as_slice(), b"e"]);
    assert_eq!(rd.read_batch(&mut batch, 10).unwrap(), 0);
    assert_eq!(rd.events_read(), 4);
}

#[test]
fn raw_batch_api() {
    let mut batch = RawBatch::new();
    assert!(batch.is_empty());
    batch.push(b"{}", 2);
    batch.push(b"abc", 70_000);
    batch.push(b"", 0);
    assert_eq!(batch.len(), 3);
    assert!(!batch.is_empty());
    assert_eq!(batch.get(1).bytes, b"abc");
    assert_eq!(batch.get(1).original_len_bytes, 70_000);
    let lens: Vec<u64> = batch.iter().map(|e| e.original_len_bytes).collect();
    assert_eq!(lens, [2, 70_000, 0]);
    match batch.get(1).decode() {
        Entry::DeadLetter(d) => assert_eq!(d.reason, DeadLetterReason::TooLarge),
        other => panic!("{other:?}"),
    }
    match batch.get(0).decode() {
        Entry::DeadLetter(d) => assert_eq!(d.reason, DeadLetterReason::InvalidEnvelope),
        other => panic!("{other:?}"),
    }
    batch.clear();
    assert!(batch.is_empty());
    assert_eq!(batch.iter().count(), 0);
}

/// A reader that hands out scripted parts: bytes, or a pause (`WouldBlock`) or another error.
struct Script {
    parts: Vec<io::Result<Vec<u8>>>,
}

impl Read for Script {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.parts.is_empty() {
            return Ok(0);
        }
        let part = self.parts.remove(0)?;
        assert!(part.len() <= out.len());
        out[..part.len()].copy_from_slice(&part);
        Ok(part.len())
    }
}

fn pause() -> io::Result<Vec<u8>> {
    Err(io::ErrorKind::WouldBlock.into())
}

fn bytes(b: &str) -> io::Result<Vec<u8>> {
    Ok(b.as_bytes().to_vec())
}

/// Every batch read until the end, as lists of events.
fn batches<R: Read>(rd: &mut InputReader<R>, max_events: usize) -> Vec<Vec<String>> {
    let mut batch = RawBatch::new();
    let mut out = Vec::new();
    while rd.read_batch(&mut batch, max_events).unwrap() > 0 {
        out.push(
            batch
                .iter()
                .map(|e| String::from_utf8(e.bytes.to_vec()).unwrap())
                .collect(),
        );
    }
    out
}

/// A pause closes the batch when it holds whole events; a pause inside a line, before the
/// first byte or in a batch array only waits.
#[test]
fn a_pause_closes_the_batch_that_holds_events() {
    type Case = (Vec<io::Result<Vec<u8>>>, usize, Vec<Vec<&'static str>>);
    let cases: Vec<Case> = vec![
        (
            vec![
                bytes("a\nb\n"),
                pause(),
                bytes("c"),
                pause(),
                bytes("\nd\n"),
            ],
            1000,
            vec![vec!["a", "b"], vec!["c", "d"]],
        ),
        (
            vec![bytes("a"), pause(), bytes("b\n")],
            1000,
            vec![vec!["ab"]],
        ),
        (
            vec![pause(), bytes("\n\n"), pause(), bytes("x")],
            1000,
            vec![vec!["x"]],
        ),
        (
            vec![bytes("a\nb\nc\n"), pause()],
            2,
            vec![vec!["a", "b"], vec!["c"]],
        ),
        (
            vec![bytes("[1,"), pause(), bytes("2]")],
            1000,
            vec![vec!["1", "2"]],
        ),
        (vec![bytes("x\n"), pause(), pause()], 1000, vec![vec!["x"]]),
    ];
    for (parts, max_events, want) in cases {
        let mut rd = InputReader::new(Script { parts });
        let got = batches(&mut rd, max_events);
        assert_eq!(got, want);
    }
}

/// A reader fed by the test, blocking until the test sends more (an open pipe).
struct Feed {
    rx: mpsc::Receiver<Vec<u8>>,
    pending: Vec<u8>,
}

impl Read for Feed {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pending.is_empty() {
            match self.rx.recv() {
                Ok(b) => self.pending = b,
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.pending.len());
        out[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }
}

/// Runs `f` on a thread and fails if it has not finished after a generous guard (a pause
/// that is never noticed would block for ever). No result depends on the guard.
fn guarded(f: impl FnOnce() + Send + 'static) {
    let (done_tx, done) = mpsc::channel();
    let t = std::thread::spawn(move || {
        f();
        let _ = done_tx.send(());
    });
    match done.recv_timeout(Duration::from_secs(120)) {
        Ok(()) => t.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => t.join().unwrap(), // propagates the panic
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("a pause in the input was not noticed"),
    }
}

/// Events written to an input that stays open come out as soon as it pauses.
#[test]
fn a_pausing_reader_hands_over_what_an_open_input_sent() {
    guarded(|| {
        let (tx, rx) = mpsc::channel();
        let feed = Feed {
            rx,
            pending: Vec::new(),
        };
        let mut rd = InputReader::new(PausingReader::new(feed, Duration::from_millis(1)));
        let mut batch = RawBatch::new();
        let mut events = |rd: &mut InputReader<PausingReader>| -> Vec<String> {
            rd.read_batch(&mut batch, 4096).unwrap();
            batch
                .iter()
                .map(|e| String::from_utf8(e.bytes.to_vec()).unwrap())
                .collect()
        };
        for (send, want) in [
            ("a\nb\n", vec!["a", "b"]),
            ("c\nd", vec!["c"]),
            ("\n", vec!["d"]),
            ("\n\ne\n", vec!["e"]),
        ] {
            tx.send(send.as_bytes().to_vec()).unwrap();
            assert_eq!(events(&mut rd), want, "after {send:?}");
        }
        // A last line without a newline waits for the end of the input.
        tx.send(b"f".to_vec()).unwrap();
        drop(tx);
        assert_eq!(events(&mut rd), ["f"]);
        assert_eq!(events(&mut rd), [] as [&str; 0]);
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Wherever the input pauses and however its reads are cut, the events are those of one
    /// plain read, in the same order.
    #[test]
    fn pauses_never_change_the_events(
        lines in prop::collection::vec("[ a-z{}\\[\\]\r\t,:\"0-9]{0,12}", 0..30),
        cuts in prop::collection::vec((1usize..20, any::<bool>()), 1..40),
        max_events in 1usize..6,
    ) {
        let data = lines.join("\n").into_bytes();
        let want = read_all(&data, Pattern::Whole, 1000);
        let mut parts = Vec::new();
        let mut at = 0;
        for &(len, paused) in cuts.iter().cycle() {
            if at >= data.len() {
                break;
            }
            let end = (at + len).min(data.len());
            parts.push(Ok(data[at..end].to_vec()));
            if paused {
                parts.push(pause());
            }
            at = end;
        }
        let mut rd = InputReader::new(Script { parts });
        let mut batch = RawBatch::new();
        let mut got = Vec::new();
        loop {
            let n = rd.read_batch(&mut batch, max_events).unwrap();
            prop_assert!(n <= max_events);
            if n == 0 {
                break;
            }
            got.extend(batch.iter().map(|e| (e.bytes.to_vec(), e.original_len_bytes)));
        }
        prop_assert_eq!(got, want);
    }
}
