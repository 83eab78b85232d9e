//! The cluster against a real NATS JetStream server on 127.0.0.1: one sequencer and three
//! cores must give, for a shuffled corpus with duplicates, holes and malformed events, the
//! summary (composed digest, counters, gaps) and the effect keys of a single `waybill ingest`
//! of the same corpus, also when a core is killed mid-run or the server is.

mod cluster_support;

use cluster_support::*;
use std::time::Duration;

/// Everything a stage may take to catch up once its input stopped (fsync per message on a
/// slow disk included).
const CATCH_UP: &str = "240s";

/// Fields drop in this order: the processes, then the server, then the folder they used.
struct Run {
    procs: Vec<Proc>,
    nats: Nats,
    reference: Reference,
    corpus: std::path::PathBuf,
    dir: tempfile::TempDir,
}

/// A server, a sequencer and three cores; the corpus and its single-process reference.
fn start_cluster() -> Run {
    let dir = tempfile::tempdir().unwrap();
    let nats = Nats::start(&dir.path().join("nats"));
    let corpus = corpus(dir.path());
    let reference = reference(dir.path(), &corpus);
    let config = sinks_config(dir.path());
    let mut procs = vec![Proc::spawn(dir.path(), "sequencer", &nats, &["sequencer"])];
    for id in ["core-a", "core-b", "core-c"] {
        procs.push(Proc::core(dir.path(), id, &nats, &config));
    }
    Run {
        dir,
        nats,
        reference,
        corpus,

        procs,
    }
}

impl Run {
    fn ingress(&self) -> Proc {
        Proc::spawn(
            self.dir.path(),
            "ingress",
            &self.nats,
            &["ingress", self.corpus.to_str().unwrap()],
        )
    }

    /// Waits until every stage caught up, then checks the summary and every effect key, both
    /// in the key groups' effect logs and as the sinks received them.
    fn check_converged(&self) {
        let status = status(&self.nats, Some(CATCH_UP));
        assert_eq!(status["caught_up"], true);
        assert_same_summary(&status["summary"], &self.reference.summary);
        let logged = cluster_logged_keys(&self.dir.path().join("data"));
        assert_eq!(
            logged, self.reference.effect_keys,
            "the key groups derived other effects"
        );
        // Delivery is at least once: every key arrives (repeats allowed), and nothing else.
        wait_for(Duration::from_secs(60), "every effect delivered", || {
            delivered_keys(self.dir.path()).0 == self.reference.effect_keys
        });
        let (_, lines) = delivered_keys(self.dir.path());
        assert!(lines >= self.reference.effect_keys.len());
    }

    fn owners(&self) -> Vec<String> {
        status(&self.nats, None)["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["owner"].as_str().unwrap().to_owned())
            .collect()
    }
}

#[test]
fn three_cores_agree_with_one_process() {
    let run = start_cluster();
    let mut ingress = run.ingress();
    assert!(
        ingress.wait(Duration::from_secs(600)).success(),
        "{}",
        ingress.log_text()
    );
    run.check_converged();
    // Every key group has an owner, and the three cores share them.
    let owners = run.owners();
    for id in ["core-a", "core-b", "core-c"] {
        let n = owners.iter().filter(|o| *o == id).count();
        assert!(n >= 16, "{id} owns {n} of 64 key groups: {owners:?}");
    }
}

#[test]
fn a_core_killed_mid_run_is_taken_over_and_nothing_is_lost() {
    let mut run = start_cluster();
    let mut ingress = run.ingress();
    // Mid-run: core-b has journaled part of its key groups, and input keeps coming.
    wait_for(Duration::from_secs(120), "core-b to journal", || {
        let s = status(&run.nats, None);
        s["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["owner"] == "core-b" && g["position"].as_u64() > Some(50))
    });
    let victim = run.procs.iter_mut().find(|p| p.name == "core-b").unwrap();
    victim.kill9();
    let took = wait_for(
        Duration::from_secs(60),
        "core-b's key groups taken over",
        || run.owners().iter().all(|o| o == "core-a" || o == "core-c"),
    );
    eprintln!("core-b's key groups were taken over {took:?} after the kill");
    assert!(
        ingress.wait(Duration::from_secs(600)).success(),
        "{}",
        ingress.log_text()
    );
    run.check_converged();
}

#[test]
fn the_server_killed_mid_run_and_restarted_loses_nothing() {
    let run = start_cluster();
    let mut ingress = run.ingress();
    wait_for(
        Duration::from_secs(120),
        "the sequencer to republish",
        || status(&run.nats, None)["sequencers"][0]["in_sequence"].as_u64() > Some(2000),
    );
    run.nats.kill9();
    std::thread::sleep(Duration::from_secs(1));
    run.nats.restart();
    assert!(
        ingress.wait(Duration::from_secs(600)).success(),
        "{}",
        ingress.log_text()
    );
    run.check_converged();
}
