//! Effects for an embedder: a pull iterator over the outbox ([`Effects`]) and a Rust sink
//! made from a closure ([`sink_fn`]).

use crate::effect::EffectOut;
use crate::engine::CoreError;
use crate::outbox::{LogReader, Sink, SinkError};
use std::path::Path;

/// The effects after a seq whose events are durable, in `effect_seq` order
/// ([`crate::Waybill::effects`]). Each item is an effect or the error that ended the
/// iteration (a damaged outbox file, or effects deleted by retention).
pub struct Effects {
    reader: Option<LogReader>,
    durable_lsn: u64,
}

impl Effects {
    pub(crate) fn new(effects_dir: &Path, after_seq: u64, durable_lsn: u64) -> Effects {
        Effects {
            reader: Some(LogReader::open(effects_dir, after_seq + 1)),
            durable_lsn,
        }
    }

    pub(crate) fn empty() -> Effects {
        Effects {
            reader: None,
            durable_lsn: 0,
        }
    }
}

impl Iterator for Effects {
    type Item = Result<EffectOut, CoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        let reader = self.reader.as_mut()?;
        let next = reader.next_effect(self.durable_lsn);
        match next {
            Ok(Some(e)) => {
                debug_assert!(e.cause_lsn <= self.durable_lsn);
                Some(Ok(e))
            }
            Ok(None) => {
                self.reader = None;
                None
            }
            Err(e) => {
                self.reader = None;
                Some(Err(e.into()))
            }
        }
    }
}

/// A [`Sink`] made from a closure that takes a batch of effects ([`sink_fn`]).
#[derive(Clone)]
pub struct SinkFn<F>(F);

/// Makes a [`Sink`] of `deliver`, which takes a batch (in `effect_seq` order) all or nothing:
/// `Ok` acknowledges every effect of it; an error is retried with backoff when
/// [`SinkError::Transient`], dead-lettered when [`SinkError::Permanent`].
///
/// ```
/// use waybill_core::{sink_fn, Downstream, Options};
/// use std::sync::mpsc;
///
/// let (tx, rx) = mpsc::channel();
/// let options = Options::new().sink(
///     Downstream::Billing,
///     sink_fn(move |batch| {
///         for effect in batch {
///             tx.send(effect.clone()).ok();
///         }
///         Ok(())
///     }),
/// );
/// # drop((options, rx));
/// ```
pub fn sink_fn<F>(deliver: F) -> SinkFn<F>
where
    F: FnMut(&[EffectOut]) -> Result<(), SinkError> + Send,
{
    SinkFn(deliver)
}

impl<F> Sink for SinkFn<F>
where
    F: FnMut(&[EffectOut]) -> Result<(), SinkError> + Send,
{
    fn deliver(&mut self, batch: &[EffectOut]) -> Result<(), SinkError> {
        debug_assert!(!batch.is_empty());
        (self.0)(batch)
    }
}
