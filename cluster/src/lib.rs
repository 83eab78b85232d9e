//! Waybill scaled out on NATS JetStream (docs/cluster.md).
//!
//! Two stages with a repartition stream between them, as Kafka Streams and Flink do it:
//!
//! ```text
//!  producers ─► ingress ─► WAYBILL_IN (wb.in.<range>, id <source>#<sequence>)
//!                              │
//!                  sequencer per source range: dedupe, gaps (the core's own)
//!                              │
//!                   WAYBILL_KG_<k> (wb.kg.<k>, one stream per key group)
//!                              │
//!      cores: each owns some key groups (fenced by an epoch in the bucket); per key group a
//!      journal, snapshots, state and effects (waybill-core), fed from its stream
//! ```
//!
//! The core library stays synchronous: each key group's `Core` runs on a blocking thread of
//! its own, and only the NATS client is async.

#![warn(missing_docs)]

pub mod connect;
pub mod core;
pub mod error;
pub mod ingress;
pub mod keygroup;
pub mod names;
pub mod owners;
pub mod publish;
pub mod route;
pub mod sequencer;
pub mod status;

pub use connect::{Cluster, connect};
pub use error::{ClusterError, Result};
pub use names::Shape;

/// Runs `f` on a runtime of its own (the command line's entry into this crate).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("start the async runtime")
        .block_on(f)
}

/// Resolves on SIGTERM or SIGINT (a supervisor's stop, Ctrl-C).
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("install the SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// `f`'s output, or `None` when it took longer than `d`.
pub async fn timeout<F: std::future::Future>(d: std::time::Duration, f: F) -> Option<F::Output> {
    tokio::time::timeout(d, f).await.ok()
}

/// Waits `d` without holding a thread.
pub async fn sleep(d: std::time::Duration) {
    tokio::time::sleep(d).await;
}
