//! Fencing, through the library against a real NATS server on 127.0.0.1: a core whose claim
//! on a key group was superseded (another owner raised the epoch) journals nothing more.

mod cluster_support;

use cluster_support::Nats;
use std::sync::Arc;
use std::time::{Duration, Instant};
use waybill_cluster::keygroup::{GroupExit, GroupOptions, run_group};
use waybill_cluster::names::{KIND_HEADER, Kind, Shape, kg_subject};
use waybill_cluster::publish::{Outgoing, publish_all};
use waybill_cluster::status::read_group_progress;
use waybill_cluster::{Cluster, owners};
use waybill_core::engine::{Until, replay};
use waybill_core::{Durability, SinksConfig, SnapshotPolicy};

/// The first `n` events of the bundled day, as key group 0's messages.
fn events(skip: usize, n: usize) -> Vec<Outgoing> {
    let day =
        std::fs::read_to_string(format!("{}/examples/day.jsonl", cluster_support::ROOT)).unwrap();
    day.lines()
        .skip(skip)
        .take(n)
        .enumerate()
        .map(|(i, line)| Outgoing {
            subject: kg_subject(0),
            id: format!("test#{}", skip + i),
            headers: vec![(KIND_HEADER, Kind::Event.as_str().to_owned())],
            payload: line.as_bytes().to_vec().into(),
        })
        .collect()
}

async fn position(cluster: &Cluster) -> u64 {
    read_group_progress(cluster, 0)
        .await
        .unwrap()
        .map_or(0, |p| p.position)
}

#[test]
fn a_fenced_out_core_writes_nothing_more() {
    let dir = tempfile::tempdir().unwrap();
    let nats = Nats::start(&dir.path().join("nats"));
    let data = dir.path().join("data");
    waybill_cluster::block_on(async {
        let shape = Shape {
            key_groups: 2,
            source_ranges: 1,
        };
        let cluster = waybill_cluster::connect(&nats.url, "fencing-test", Some(shape))
            .await
            .unwrap();
        let held = owners::claim(&cluster.kv, 0, "core-a", None)
            .await
            .unwrap()
            .expect("a free group");
        assert_eq!(held.owner.epoch, 1);
        publish_all(&cluster.js, &events(0, 3)).await.unwrap();
        let opts = Arc::new(GroupOptions {
            data_dir: data.clone(),
            sinks: SinksConfig::default(),
            durability: Durability::Sync,
            snapshots: SnapshotPolicy::OFF,
            segment_bytes: waybill_cluster::keygroup::SEGMENT_BYTES_DEFAULT,
        });
        let (_stop, stopped) = tokio::sync::watch::channel(false);
        let group = tokio::spawn(run_group(cluster.clone(), held, opts, stopped));
        let deadline = Instant::now() + Duration::from_secs(30);
        while position(&cluster).await < 3 {
            assert!(
                Instant::now() < deadline,
                "core-a did not journal its first three events"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Another core takes the group over: the epoch goes up by compare-and-set.
        let seen = owners::read(&cluster.kv, 0)
            .await
            .unwrap()
            .expect("core-a's claim");
        assert_eq!(seen.0.core, "core-a");
        let intruder = owners::claim(&cluster.kv, 0, "core-z", Some(&seen))
            .await
            .unwrap()
            .expect("the takeover");
        assert_eq!(intruder.owner.epoch, 2);
        // A stale claim cannot be renewed, nor taken with an old revision.
        let mut stale = owners::Held {
            group: 0,
            owner: seen.0.clone(),
            revision: seen.1,
        };
        assert!(!owners::renew(&cluster.kv, &mut stale).await.unwrap());
        assert!(
            owners::claim(&cluster.kv, 0, "core-y", Some(&seen))
                .await
                .unwrap()
                .is_none()
        );
        // core-a is offered two more events: it must refuse to journal them.
        publish_all(&cluster.js, &events(3, 2)).await.unwrap();
        let exit = tokio::time::timeout(Duration::from_secs(30), group)
            .await
            .expect("core-a stops");
        assert_eq!(exit.unwrap().unwrap(), GroupExit::Fenced);
        let owner = owners::read(&cluster.kv, 0).await.unwrap().unwrap().0;
        assert_eq!(
            (owner.core.as_str(), owner.epoch),
            ("core-z", 2),
            "the fenced core left the record alone"
        );
    });
    // The journal holds the key-group notice and the three events, nothing after them.
    let journal = replay(&data.join("kg-0"), Until::End).unwrap();
    assert_eq!(journal.machine.lsn(), 4);
    assert_eq!(journal.machine.counters().received, 3);
    assert_eq!(journal.machine.key_group(), Some((0, 2)));
}
