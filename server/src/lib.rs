//! # waybill-server
//!
//! Waybill as a service (`waybill serve`): one core behind an HTTP API. `POST /v1/events`
//! takes CloudEvents (structured, batch or binary mode) and answers once they are durable,
//! with each event's outcome and LSN; `GET /v1/...` reads the state, history, dead letters and
//! effects; `/metrics` is Prometheus text; `/healthz` and `/readyz` for orchestrators; `GET /`
//! is the operations dashboard; `/v1/schemas/...` and `/openapi.json` publish the contracts.
//! The routes are the table of `waybill_contract::http`.
//!
//! The async runtime lives here only: handlers talk to the single writer thread that owns the
//! core over one bounded queue (a full queue is 429, never unbounded memory), and the writer
//! never waits for a handler.

#![warn(missing_docs)]

pub mod auth;
pub mod config;
pub mod dashboard;
pub mod http;
pub mod ingress;
pub mod metrics;
pub mod ops;
pub mod query;
pub mod schemas;
pub mod writer;

use config::ServeConfig;
use http::AppState;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::{Semaphore, oneshot};

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listen address could not be bound, or the runtime could not start.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The core failed (opening the journal, or closing it).
    #[error(transparent)]
    Core(#[from] waybill_core::Error),
}

/// A running service (for tests and embedders): its address, and a way to stop it as SIGTERM
/// does.
pub struct Server {
    addr: SocketAddr,
    state: Arc<AppState>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), ServeError>>>,
}

impl Server {
    /// Binds `config.listen`, opens the journal and serves on a runtime of its own threads.
    /// Returns once the journal is open and the service is ready.
    pub fn start(config: ServeConfig) -> Result<Server, ServeError> {
        let runtime = runtime().map_err(listen_error(config.listen))?;
        let (listener, addr) = runtime.block_on(bind(config.listen))?;
        let state = app_state(config);
        open_writer(&state)?;
        let (stop, stopped) = oneshot::channel::<()>();
        let kept = Arc::clone(&state);
        let thread = std::thread::Builder::new()
            .name("waybill-serve".to_owned())
            .spawn(move || {
                runtime.block_on(serve(listener, state, async {
                    let _ = stopped.await;
                }))
            })
            .expect("spawn the service thread");
        Ok(Server {
            addr,
            state: kept,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the handlers share (for tests that hold the writer to fill its queue).
    #[doc(hidden)]
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops as on SIGTERM: no new connection, the requests being handled are answered, what
    /// was accepted is made durable, a snapshot is written when the policy asks for one.
    pub fn stop(mut self) -> Result<(), ServeError> {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> Result<(), ServeError> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        match self.thread.take() {
            Some(t) => t.join().expect("the service thread does not panic"),
            None => Ok(()),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop_inner();
    }
}

/// Runs the service until SIGTERM or SIGINT, then stops cleanly (see [`Server::stop`]).
/// `on_ready` is called with the bound address once the journal is open.
pub fn run(config: ServeConfig, on_ready: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
    let runtime = runtime().map_err(listen_error(config.listen))?;
    runtime.block_on(async move {
        let (listener, addr) = bind(config.listen).await?;
        let state = app_state(config);
        // Listening already: /healthz answers and /readyz says 503 while the journal opens.
        let opening = {
            let state = Arc::clone(&state);
            tokio::task::spawn_blocking(move || open_writer(&state))
        };
        let serving = tokio::spawn(serve(listener, Arc::clone(&state), terminated()));
        opening.await.expect("opening does not panic")?;
        on_ready(addr);
        serving.await.expect("serving does not panic")
    })
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("waybill-http")
        .build()
}

/// Binds the listener; the address is the one bound (the port chosen when `listen` asks for 0).
async fn bind(listen: SocketAddr) -> Result<(tokio::net::TcpListener, SocketAddr), ServeError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(listen_error(listen))?;
    let addr = listener.local_addr().map_err(listen_error(listen))?;
    debug_assert!(listen.port() == 0 || addr.port() == listen.port());
    Ok((listener, addr))
}

/// An I/O error of listening on `addr`, as the service reports it.
fn listen_error(addr: SocketAddr) -> impl FnOnce(std::io::Error) -> ServeError {
    move |source| ServeError::Listen { addr, source }
}

fn app_state(config: ServeConfig) -> Arc<AppState> {
    Arc::new(AppState {
        tokens: auth::Tokens::new(&config.tokens),
        in_flight: Semaphore::new(config.limits.max_in_flight),
        metrics: metrics::Metrics::new(),
        writer: std::sync::OnceLock::new(),
        config,
    })
}

fn open_writer(state: &AppState) -> Result<(), ServeError> {
    let writer = writer::Writer::start(&state.config)?;
    assert!(
        state.writer.set(writer).is_ok(),
        "the writer is opened once"
    );
    Ok(())
}

/// Serves until `shutdown` completes, lets the requests in flight finish, then stops the
/// writer (everything accepted made durable and answered).
async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let app = http::router(Arc::clone(&state));
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    // Every request was answered: stop the writer (drains its queue, makes it durable).
    let stopped = tokio::task::spawn_blocking({
        let state = Arc::clone(&state);
        move || state.writer.get().map_or(Ok(()), |w| w.stop())
    })
    .await
    .expect("stopping does not panic");
    served.map_err(listen_error(state.config.listen))?;
    Ok(stopped?)
}

/// Completes on SIGTERM or SIGINT.
async fn terminated() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("a SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("a SIGINT handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
