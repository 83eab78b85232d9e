//! Journal behaviour across appends, reopens and segment rollover.

mod journal_util;

use std::fs;
use std::sync::Arc;

use journal_util::*;
use waybill_core::journal::clock::ManualClock;
use waybill_core::journal::{
    Durability, FRAME_HEADER_LINKED_BYTES, Journal, JournalEnv, JournalError, JournalOptions,
    JournalReader, MAX_PAYLOAD_BYTES, RecordKind, SEGMENT_HEADER_BYTES, carries_link, chain,
    frame_bytes, segment_file_name,
};

#[test]
fn empty_journal_opens_and_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    let (j, rec) = Journal::open(&dir, opts(Durability::Sync)).unwrap();
    assert_eq!((rec.records, rec.segments, rec.torn_tail), (0, 1, None));
    assert_eq!(
        (j.last_lsn(), j.durable_lsn(), j.last_ingest_us()),
        (0, 0, i64::MIN)
    );
    assert_eq!(j.records().count(), 0);
    assert!(dir.join(segment_file_name(0)).is_file());
    assert_eq!(
        fs::metadata(dir.join(segment_file_name(0))).unwrap().len(),
        SEGMENT_BYTES
    );
    drop(j);
    let report = verify_plain(&dir).unwrap();
    assert_eq!(
        (report.records, report.segments, report.last_lsn),
        (0, 1, 0)
    );
    assert_eq!(report.head_link, chain::GENESIS_LINK);
}

#[test]
fn records_read_back_across_reopens_and_rollover() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let rounds: [&[usize]; 4] = [
        &[1, 15, 16, 17, 96],
        &[3000; 40],
        &[10_000; 9],
        &[48, 5000, 7],
    ];
    let mut model = Vec::new();
    for sizes in rounds {
        let (mut j, rec) = Journal::open(dir, opts(Durability::Sync)).unwrap();
        assert_eq!(rec.records, model.len() as u64);
        assert_eq!(rec.torn_tail, None);
        assert_eq!(j.last_lsn(), model.len() as u64);
        assert_eq!(j.head_link(), model_head(&model));
        // The writer's own iterator sees what is already there.
        let got: Vec<Rec> = j
            .records()
            .map(|r| Rec {
                lsn: r.lsn,
                ingest_us: r.ingest_us,
                kind: r.kind,
                payload: r.payload.to_vec(),
            })
            .collect();
        assert_eq!(got, model);
        model.extend(append_sizes(&mut j, sizes));
        assert_eq!(j.commit().unwrap(), model.len() as u64);
    }
    assert_eq!(read_all(dir), model);
    // Only segments and the durable marker remain (the prepared spare segment is removed on
    // drop; the writer's lock is on the directory itself, not a file).
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.last().map(String::as_str), Some("DURABLE"));
    assert!(
        names[..names.len() - 1].iter().all(|n| n.ends_with(".seg")),
        "{names:?}"
    );
    let locs = locate(dir);
    assert!(
        locs.last().unwrap().segment >= 3,
        "expected several segments: {:?}",
        locs.last()
    );
    // Every frame 16-byte aligned, contiguous LSNs, frames packed within a segment.
    for w in locs.windows(2) {
        assert_eq!(w[1].lsn, w[0].lsn + 1);
        assert_eq!(w[0].offset % 16, 0);
        if w[0].segment == w[1].segment {
            assert_eq!(w[1].offset, w[0].offset + w[0].frame_len);
        } else {
            assert_eq!(w[1].segment, w[0].segment + 1);
            assert_eq!(w[1].offset, SEGMENT_HEADER_BYTES);
            // The record did not fit in what was left.
            assert!(w[0].offset + w[0].frame_len + w[1].frame_len > SEGMENT_BYTES as usize);
        }
    }
    // Links are the chain, independent of segments and reopens.
    let reader = JournalReader::open(dir).unwrap();
    let mut link = chain::GENESIS_LINK;
    for (r, m) in reader.records().zip(&model) {
        let r = r.unwrap();
        link = chain::next_link(&link, m.lsn, m.ingest_us, m.kind, &m.payload);
        // Only every LINK_EVERY-th record stores its link; the reader passes it on.
        assert_eq!(r.link, carries_link(m.lsn).then_some(link));
        assert_eq!(r.payload.as_ptr() as usize % 16, 0);
    }
    let report = verify_plain(dir).unwrap();
    assert_eq!(report.records, model.len() as u64);
    assert_eq!(report.last_lsn, model.len() as u64);
    assert_eq!(report.head_link, model_head(&model));
    assert_eq!(report.segments, locs.last().unwrap().segment + 1);
}

#[test]
fn record_that_does_not_fit_rolls_to_a_new_segment() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut j, _) = Journal::open(tmp.path(), opts(Durability::None)).unwrap();
    let per_segment = (SEGMENT_BYTES as usize - SEGMENT_HEADER_BYTES) / frame_bytes(1, 10_000);
    assert_eq!(per_segment, 6);
    append_sizes(&mut j, &[10_000; 7]);
    let segs: Vec<(u32, u64)> = j.records().map(|r| (r.segment, r.offset)).collect();
    assert_eq!(segs[5].0, 0);
    assert_eq!(segs[6], (1, SEGMENT_HEADER_BYTES as u64));
    // The largest payload fills an empty segment exactly under the longer header (the one
    // that stores a link); one byte more is refused.
    let max = SEGMENT_BYTES as usize - SEGMENT_HEADER_BYTES - FRAME_HEADER_LINKED_BYTES;
    assert_eq!(j.max_payload_bytes(), max);
    let a = j.append(0, RecordKind::ENTRY, &payload(8, max)).unwrap();
    assert_eq!(a.lsn, 8);
    assert!(matches!(
        j.append(0, RecordKind::ENTRY, &payload(9, max + 1)),
        Err(JournalError::PayloadTooLarge { len, max: m }) if len == max + 1 && m == max
    ));
    let last = j.records().last().unwrap();
    assert_eq!(
        (last.segment, last.offset, last.lsn),
        (2, SEGMENT_HEADER_BYTES as u64, 8)
    );
    j.append(0, RecordKind::ENTRY, b"x").unwrap();
    assert_eq!(j.records().last().unwrap().segment, 3);
    drop(j);
    assert_eq!(verify_plain(tmp.path()).unwrap().records, 9);
}

#[test]
fn payload_limits_and_invalid_records() {
    let tmp = tempfile::tempdir().unwrap();
    let o = JournalOptions {
        segment_bytes: 4 * 1024 * 1024,
        durability: Durability::None,
        ..Default::default()
    };
    let (mut j, _) = Journal::open(tmp.path(), o).unwrap();
    assert_eq!(j.max_payload_bytes(), MAX_PAYLOAD_BYTES);
    assert_eq!(
        j.append(1, RecordKind::ENTRY, &vec![7; MAX_PAYLOAD_BYTES])
            .unwrap()
            .lsn,
        1
    );
    assert!(matches!(
        j.append(1, RecordKind::ENTRY, &vec![7; MAX_PAYLOAD_BYTES + 1]),
        Err(JournalError::PayloadTooLarge { .. })
    ));
    assert!(matches!(
        j.append(1, RecordKind::ENTRY, &[]),
        Err(JournalError::EmptyPayload)
    ));
    assert!(matches!(
        j.append(1, RecordKind(0), b"x"),
        Err(JournalError::InvalidKind(0))
    ));
    assert_eq!(j.last_lsn(), 1, "refused appends take no LSN");
}

#[test]
fn invalid_options_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    for segment_bytes in [0, 4096, 64 * 1024 + 1, 64 * 1024 + 512, 2 << 30] {
        let o = JournalOptions {
            segment_bytes,
            ..Default::default()
        };
        assert!(
            matches!(
                Journal::open(tmp.path(), o),
                Err(JournalError::InvalidOptions(_))
            ),
            "{segment_bytes}"
        );
    }
    let o = JournalOptions {
        group_commit_interval_us: 10_000_000,
        ..opts(Durability::Group)
    };
    assert!(matches!(
        Journal::open(tmp.path(), o),
        Err(JournalError::InvalidOptions(_))
    ));
}

#[test]
fn ingest_time_never_goes_backwards() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(i64, i64); 6] = [(10, 10), (5, 10), (20, 20), (20, 20), (-3, 20), (21, 21)];
    let (mut j, _) = Journal::open(tmp.path(), opts(Durability::None)).unwrap();
    for (i, (given, stored)) in cases.iter().take(5).enumerate() {
        let a = j
            .append(*given, RecordKind::ENTRY, &payload(i as u64, 9))
            .unwrap();
        assert_eq!(a.ingest_us, *stored, "record {i}");
        assert_eq!(j.last_ingest_us(), *stored);
    }
    drop(j);
    let (mut j, _) = Journal::open(tmp.path(), opts(Durability::None)).unwrap();
    assert_eq!(j.last_ingest_us(), 20, "restored on reopen");
    assert_eq!(j.append(19, RecordKind::ENTRY, b"y").unwrap().ingest_us, 20);
    assert_eq!(
        j.append(cases[5].0, RecordKind::ENTRY, b"z")
            .unwrap()
            .ingest_us,
        cases[5].1
    );
    drop(j);
    let stored: Vec<i64> = read_all(tmp.path()).iter().map(|r| r.ingest_us).collect();
    assert_eq!(stored, [10, 10, 20, 20, 20, 20, 21]);
}

#[test]
fn ingest_time_survives_an_empty_tail_segment() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut j, _) = Journal::open(tmp.path(), opts(Durability::None)).unwrap();
    j.append(500, RecordKind::ENTRY, &payload(1, 30_000))
        .unwrap();
    j.append(600, RecordKind::ENTRY, &payload(2, 30_000))
        .unwrap();
    j.flush().unwrap();
    j.append(700, RecordKind::ENTRY, &payload(3, 30_000))
        .unwrap(); // segment 1, never made durable
    j.wait_written().unwrap(); // written to the file, not made durable
    j.crash();
    // Lose the only record of segment 1: it becomes an empty segment with a valid header.
    let loc = locate(tmp.path()).pop().unwrap();
    assert_eq!(loc.segment, 1);
    edit_segment(tmp.path(), 1, |b| {
        b[loc.offset..loc.offset + loc.frame_len].fill(0)
    });
    let (mut j, rec) = Journal::open(tmp.path(), opts(Durability::Sync)).unwrap();
    assert_eq!((rec.records, rec.segments, rec.torn_tail), (2, 2, None));
    assert_eq!(j.last_ingest_us(), 600);
    let a = j.append(1, RecordKind::ENTRY, b"a").unwrap();
    assert_eq!((a.lsn, a.ingest_us), (3, 600));
    drop(j);
    assert_eq!(verify_plain(tmp.path()).unwrap().records, 3);
}

#[test]
fn same_records_give_identical_files_whatever_the_batching() {
    let tmp = tempfile::tempdir().unwrap();
    let sizes: Vec<usize> = (0..200).map(|i| 1 + (i * 379) % 2500).collect();
    let write = |name: &str, durability: Durability, reopen_every: usize| {
        let dir = tmp.path().join(name);
        let mut jj = Some(Journal::open(&dir, opts(durability)).unwrap().0);
        for (i, len) in sizes.iter().enumerate() {
            if reopen_every > 0 && i % reopen_every == 0 {
                drop(jj.take());
                jj = Some(Journal::open(&dir, opts(durability)).unwrap().0);
            }
            let j = jj.as_mut().unwrap();
            j.append(i as i64 * 7, RecordKind::ENTRY, &payload(i as u64, *len))
                .unwrap();
            if i % 3 == 0 {
                j.commit().unwrap();
            }
        }
        drop(jj);
        // The durable marker records flush timing by design; the segments must not.
        let mut files = snapshot(&dir);
        files.retain(|(name, _)| name.ends_with(".seg"));
        files
    };
    let a = write("a", Durability::None, 0);
    let b = write("b", Durability::Sync, 17);
    let c = write("c", Durability::Group, 50);
    assert!(a.len() > 3);
    assert_eq!(a, b);
    assert_eq!(a, c);
}

#[test]
fn commit_reports_only_flushed_records_as_durable() {
    let tmp = tempfile::tempdir().unwrap();
    // none: commit never flushes; flush does.
    let (mut j, _) = Journal::open(&tmp.path().join("none"), opts(Durability::None)).unwrap();
    append_sizes(&mut j, &[10, 20]);
    assert_eq!(j.commit().unwrap(), 0);
    assert_eq!(j.durable_lsn(), 0);
    assert_eq!(j.flush().unwrap(), 2);
    append_sizes(&mut j, &[30]);
    assert_eq!(j.commit().unwrap(), 2);
    // sync: every commit flushes.
    let (mut j, _) = Journal::open(&tmp.path().join("sync"), opts(Durability::Sync)).unwrap();
    append_sizes(&mut j, &[10, 20]);
    assert_eq!(j.durable_lsn(), 0);
    assert_eq!(j.commit().unwrap(), 2);
    // group: flushes only when the interval has passed since the last flush, by the
    // journal's clock (a manual one here: it moves only when the test says so).
    let clock = Arc::new(ManualClock::new());
    let o = JournalOptions {
        group_commit_interval_us: 1_000_000,
        ..opts(Durability::Group)
    };
    let env = JournalEnv {
        clock: clock.clone(),
        ..JournalEnv::default()
    };
    let (mut j, _) = Journal::open_with(&tmp.path().join("group"), o, env).unwrap();
    append_sizes(&mut j, &[10]);
    assert_eq!(j.commit().unwrap(), 0, "interval not yet passed");
    assert_eq!(j.durable_lsn(), 0, "the flusher waits for the interval");
    clock.advance(999_999);
    append_sizes(&mut j, &[10]);
    assert_eq!(j.commit().unwrap(), 0, "still one microsecond short");
    append_sizes(&mut j, &[10]);
    j.commit().unwrap();
    // Written before the interval passes, so the flush that comes due takes all three.
    j.wait_written().unwrap();
    assert_eq!(j.durable_lsn(), 0);
    clock.advance(1);
    // The flusher thread makes it durable by itself once due, without another call.
    wait_durable(&j, 3);
    assert_eq!(j.commit().unwrap(), 3);
    // Reopening counts recovered records as durable (open syncs what it keeps).
    drop(j);
    let (j, _) = Journal::open(&tmp.path().join("group"), opts(Durability::Group)).unwrap();
    assert_eq!(j.durable_lsn(), 3);
}

/// Blocks until the journal's durable LSN reaches `lsn` (the flusher runs on its own thread);
/// the bound only turns a hang into a failure, it decides nothing.
fn wait_durable(j: &Journal, lsn: u64) {
    let durable = j.durable_handle();
    for _ in 0..100_000 {
        if durable.load(std::sync::atomic::Ordering::Acquire) >= lsn {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    panic!("the flusher never made lsn {lsn} durable");
}

#[test]
fn durability_names() {
    for (name, d) in [
        ("none", Durability::None),
        ("group", Durability::Group),
        ("sync", Durability::Sync),
    ] {
        assert_eq!(name.parse::<Durability>().unwrap(), d);
        assert_eq!(d.to_string(), name);
    }
    assert!("fsync".parse::<Durability>().is_err());
    let o = JournalOptions::default();
    assert_eq!(
        (o.segment_bytes, o.group_commit_interval_us),
        (64 * 1024 * 1024, 2000)
    );
}

#[test]
fn second_writer_is_locked_out_but_readers_are_not() {
    let tmp = tempfile::tempdir().unwrap();
    // A lock file as earlier versions kept it, which anyone could delete.
    fs::write(tmp.path().join("LOCK"), b"").unwrap();
    let (mut j, _) = Journal::open(tmp.path(), opts(Durability::None)).unwrap();
    append_sizes(&mut j, &[100, 200]);
    fs::remove_file(tmp.path().join("LOCK")).unwrap();
    // The lock is on the directory itself: no file can be deleted to get around it.
    match Journal::open(tmp.path(), opts(Durability::None)) {
        Err(JournalError::Locked(p)) => assert_eq!(p, tmp.path()),
        other => panic!("expected Locked, got {:?}", other.map(|_| ())),
    }
    // A reader works while the writer is open and sees what was committed and written
    // (appended records reach the file after the commit that ends their batch).
    assert_eq!(
        JournalReader::open(tmp.path()).unwrap().records().count(),
        0
    );
    j.commit().unwrap();
    j.wait_written().unwrap();
    let r = JournalReader::open(tmp.path()).unwrap();
    assert_eq!(r.records().count(), 2);
    assert_eq!(verify_plain(tmp.path()).unwrap().records, 2);
    drop(j);
    let (j, rec) = Journal::open(tmp.path(), opts(Durability::None)).unwrap();
    assert_eq!(rec.records, 2);
    drop(j);
}

#[test]
fn reader_needs_a_journal() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing");
    assert!(
        matches!(JournalReader::open(&missing), Err(JournalError::NoJournal(p)) if p == missing)
    );
    assert!(matches!(
        JournalReader::open(tmp.path()),
        Err(JournalError::NoJournal(_))
    ));
    assert!(matches!(
        verify_plain(&missing),
        Err(JournalError::NoJournal(_))
    ));
    assert!(!missing.exists(), "readers create nothing");
}

#[test]
fn verify_runs_the_payload_check() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut j, _) = Journal::open(tmp.path(), opts(Durability::None)).unwrap();
    for p in [&b"good"[..], b"good", b"bad!", b"good"] {
        j.append(0, RecordKind::ENTRY, p).unwrap();
    }
    drop(j);
    let locs = locate(tmp.path());
    let res = waybill_core::journal::verify(tmp.path(), &|kind, p| {
        assert_eq!(kind, RecordKind::ENTRY);
        if p == b"bad!" {
            Err("not good".into())
        } else {
            Ok(())
        }
    });
    let what = assert_corrupt(res, 0, locs[2].offset, 3);
    assert!(what.contains("not good"), "{what}");
}

#[test]
fn stray_temporary_segment_is_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut j, _) = Journal::open(tmp.path(), opts(Durability::None)).unwrap();
    append_sizes(&mut j, &[5]);
    drop(j);
    let stray = tmp.path().join(format!("{}.tmp", segment_file_name(1)));
    fs::write(&stray, b"half-created").unwrap();
    assert_eq!(
        JournalReader::open(tmp.path()).unwrap().records().count(),
        1
    );
    let (j, rec) = Journal::open(tmp.path(), opts(Durability::None)).unwrap();
    assert_eq!((rec.records, rec.segments), (1, 1));
    // The writer prepares its next segment under the same temporary name right away, so the
    // file may exist again: but never with the stray's bytes.
    assert_ne!(
        fs::read(&stray).ok().as_deref(),
        Some(&b"half-created"[..]),
        "the stray was kept"
    );
    // The writer removes its own unused spare when it closes.
    drop(j);
    assert!(!stray.exists());
}

#[test]
fn corrupt_error_reads_well() {
    let e = JournalError::Corrupt {
        segment: segment_file_name(0),
        offset: 4096,
        lsn: 17,
        what: "crc mismatch".into(),
    };
    assert_eq!(
        e.to_string(),
        "journal corrupt: segment 00000000000000000000.seg offset 4096 lsn 17: crc mismatch"
    );
}

#[test]
fn group_flusher_durable_lsn_rises_across_rollover_and_never_passes_the_written() {
    use std::sync::atomic::Ordering;
    use std::time::Duration;
    let tmp = tempfile::tempdir().unwrap();
    let o = JournalOptions {
        group_commit_interval_us: 200,
        ..opts(Durability::Group)
    };
    let (mut j, _) = Journal::open(tmp.path(), o.clone()).unwrap();
    assert!(j.flushes_in_background());
    let durable = j.durable_handle();
    let mut seen = 0;
    // About 30 records per 64 KiB segment: a few dozen rollovers.
    for _ in 0..100 {
        append_sizes(&mut j, &[2000; 20]);
        let committed = j.commit().unwrap();
        let now = durable.load(Ordering::Acquire);
        assert!(committed <= j.last_lsn() && now <= j.last_lsn());
        assert!(now >= seen, "durable LSN went back: {now} < {seen}");
        seen = now;
        if seen > 0 && seen < 400 {
            std::thread::sleep(Duration::from_micros(300));
        }
    }
    assert!(seen > 0, "the flusher made nothing durable");
    wait_durable(&j, j.last_lsn());
    let last = j.last_lsn();
    drop(j);
    let (j, rec) = Journal::open(tmp.path(), o).unwrap();
    assert_eq!((rec.records, j.durable_lsn()), (last, last));
    assert!(rec.segments > 30);
}
