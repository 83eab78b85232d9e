//! Buffers prepared off the writer thread: the next chunk of a large record store, the next
//! table of a growing index.
//!
//! The kernel clears every fresh page on the thread that first touches it: a 2 MiB huge page
//! at once, in about 4 ms on a slow virtual machine. On the writer that is a stall of every
//! event behind it. So when a store is three quarters through its current chunk (an index
//! three quarters of the way to its next growth) it asks for the next buffer ([`Spare::request`]):
//! one thread per process (`state-spare`) allocates it and faults every page in
//! (`FixedVec::with_capacity_prefaulted`), and hands it back through a channel of one. When
//! the store needs it, [`Spare::take`] takes it if it is ready; if not, the store allocates
//! inline as it would without a spare. Nothing ever waits for the preparing thread: a
//! request is dropped when its queue is full, and a taken request that is not ready stays
//! asked for (a store's next buffer is the same size) or is dropped.
//!
//! Where a buffer comes from never changes what it holds (a fresh mapping, prefaulted or not,
//! reads as zero until written), so spares cannot reach a view, a digest or any decision:
//! they only move the clearing of pages to another thread.

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use std::sync::OnceLock;

/// Requests that may wait for the preparing thread (a request finds the queue full only
/// when many stores of many states grow at once; it is then dropped).
const QUEUE_REQUESTS: usize = 64;

/// Name of the preparing thread.
const THREAD_NAME: &str = "state-spare";

type Job = Box<dyn FnOnce() + Send>;

/// The queue of the preparing thread, started on first use; `None` when no thread could be
/// started (every buffer is then allocated inline).
fn queue() -> Option<&'static Sender<Job>> {
    static QUEUE: OnceLock<Option<Sender<Job>>> = OnceLock::new();
    QUEUE
        .get_or_init(|| {
            let (tx, rx) = crossbeam_channel::bounded::<Job>(QUEUE_REQUESTS);
            std::thread::Builder::new()
                .name(THREAD_NAME.to_owned())
                .spawn(move || rx.iter().for_each(|job| job()))
                .ok()
                .map(|_| tx)
        })
        .as_ref()
}

/// One store's next buffer: none, or asked for (being prepared, or ready).
pub(crate) struct Spare<B> {
    pending: Option<Receiver<B>>,
    /// The size of the buffer asked for.
    pending_bytes: usize,
    /// Buffers taken so far (tests tell a prepared buffer from one made inline by it).
    #[cfg(test)]
    pub(crate) taken: usize,
}

impl<B> Default for Spare<B> {
    fn default() -> Self {
        Spare {
            pending: None,
            pending_bytes: 0,
            #[cfg(test)]
            taken: 0,
        }
    }
}

impl<B> Clone for Spare<B> {
    /// A copy of a store asks for nothing yet (it has its own next buffer to ask for).
    fn clone(&self) -> Self {
        Spare::default()
    }
}

impl<B> std::fmt::Debug for Spare<B> {
    /// Says nothing of the request: whether one is still pending depends on the preparing
    /// thread's timing, and a state's debug form must not.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Spare")
    }
}

impl<B: Send + 'static> Spare<B> {
    /// Asks for a buffer of `bytes` bytes made by `make` on the preparing thread, unless one
    /// is asked for already. Never blocks.
    pub(crate) fn request(&mut self, bytes: usize, make: impl FnOnce() -> B + Send + 'static) {
        if self.pending.is_some() {
            return;
        }
        let Some(queue) = queue() else {
            return;
        };
        let (tx, rx) = crossbeam_channel::bounded(1);
        // The store may be gone by the time the buffer is made: it is then dropped there.
        let job: Job = Box::new(move || drop(tx.send(make())));
        if queue.try_send(job).is_ok() {
            self.pending = Some(rx);
            self.pending_bytes = bytes;
        }
    }

    /// The buffer asked for, when it is ready. Never waits: when it is not ready the request
    /// stays, and a later `take` may get it.
    pub(crate) fn take(&mut self) -> Option<B> {
        let rx = self.pending.as_ref()?;
        match rx.try_recv() {
            Ok(b) => {
                self.pending = None;
                #[cfg(test)]
                {
                    self.taken += 1;
                }
                Some(b)
            }
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                self.pending = None;
                None
            }
        }
    }

    /// Drops the request (a buffer prepared for it is dropped on the preparing thread).
    pub(crate) fn cancel(&mut self) {
        self.pending = None;
    }
}

impl<B> Spare<B> {
    /// True when a buffer was asked for and not taken.
    pub(crate) fn is_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// True when the buffer asked for is ready to take.
    #[cfg(test)]
    pub(crate) fn is_ready(&self) -> bool {
        self.pending.as_ref().is_some_and(|rx| !rx.is_empty())
    }

    /// Blocks until the buffer asked for is ready to take (or its preparation failed), without
    /// taking it: for tests, which must not depend on how fast the preparing thread is.
    #[cfg(test)]
    pub(crate) fn wait_ready(&self) {
        if let Some(rx) = &self.pending {
            let mut select = crossbeam_channel::Select::new();
            select.recv(rx);
            select.ready();
        }
    }

    /// The size of the buffer asked for and not taken (prepared or being prepared), 0 when
    /// none is.
    pub(crate) fn pending_bytes(&self) -> usize {
        if self.is_pending() {
            self.pending_bytes
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request is eventually served on the preparing thread; until then `take` returns
    /// nothing without waiting, and the request stays.
    #[test]
    fn requests_are_served_off_this_thread_and_never_waited_for() {
        let (release, gate) = crossbeam_channel::bounded::<()>(0);
        let mut s = Spare::default();
        assert!(!s.is_pending());
        assert_eq!(s.take(), None);
        let me = std::thread::current().id();
        s.request(1, move || {
            gate.recv().expect("released");
            std::thread::current().id() != me
        });
        assert!(s.is_pending());
        assert_eq!(s.pending_bytes(), 1);
        // Held back by the gate: not ready, and asking does not block.
        assert_eq!(s.take(), None);
        assert!(s.is_pending());
        // A second request while one is pending is ignored.
        s.request(1, || false);
        release
            .send(())
            .expect("the preparing thread waits at the gate");
        s.wait_ready();
        assert!(s.is_ready());
        assert_eq!(s.take(), Some(true), "made on the preparing thread");
        assert!(!s.is_pending());
        assert_eq!(s.pending_bytes(), 0);
        assert_eq!(s.take(), None);
    }

    #[test]
    fn cancelled_requests_are_dropped_there() {
        let mut s = Spare::default();
        s.request(1 << 16, || vec![7u8; 1 << 16]);
        s.cancel();
        assert!(!s.is_pending());
        assert_eq!(s.take(), None);
        // The preparing thread goes on serving others.
        s.request(1, || vec![1u8]);
        s.wait_ready();
        assert_eq!(s.take(), Some(vec![1u8]));
    }
}
