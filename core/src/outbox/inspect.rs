//! Read-only views of a journal's effects for the command line: where each lane stands, each
//! effect's delivery state, the dead letters, and redrive without a running delivery.
//!
//! Everything here reads the files as they are (beside a running delivery too) and changes
//! nothing, except [`redrive_offline`], which takes the delivery lock.

use super::cursor::{self, LanePosition};
use super::dead::{self, DeadLetter, DeadReader, DeadStep, DeadStore};
use super::lock;
use super::{LaneId, OutboxError, effects_dir};
use crate::effect::{Class, Downstream, EffectType};
use rustc_hash::FxHashSet;
use std::path::{Path, PathBuf};

pub use super::status::read_status;

/// Where an effect stands in its lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EffectState {
    /// Acknowledged by its sink.
    Delivered,
    /// Not yet acknowledged (or not yet durable: see the caller's durable LSN).
    Pending,
    /// Given up on: in the lane's dead letters.
    Dead,
    /// A dead letter made pending again, not yet delivered.
    Redriving,
}

impl EffectState {
    /// The state's name: `delivered`, `pending`, `dead` or `redriving`.
    pub fn as_str(self) -> &'static str {
        match self {
            EffectState::Delivered => "delivered",
            EffectState::Pending => "pending",
            EffectState::Dead => "dead",
            EffectState::Redriving => "redriving",
        }
    }
}

/// The persisted positions of every lane, in [`LaneId::index`] order.
pub fn positions(effects_dir: &Path) -> Result<Vec<LanePosition>, OutboxError> {
    LaneId::all()
        .into_iter()
        .map(|l| cursor::read_position(effects_dir, l))
        .collect()
}

/// The dead letters of a lane: those in its dead file, then the redriven ones not yet done.
pub struct DeadLetters {
    files: Vec<(PathBuf, u64, EffectState)>,
    reader: Option<(DeadReader, EffectState)>,
}

impl Iterator for DeadLetters {
    type Item = Result<(DeadLetter, EffectState), OutboxError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.reader.is_none() {
                let (path, from, state) = self.files.pop()?;
                match DeadReader::open(&path, from) {
                    Ok(r) => self.reader = Some((r, state)),
                    Err(OutboxError::Io { source, .. })
                        if source.kind() == std::io::ErrorKind::NotFound =>
                    {
                        continue; // redriven or finished meanwhile
                    }
                    Err(e) => return Some(Err(e)),
                }
            }
            let (r, state) = self.reader.as_mut().expect("opened");
            match r.next() {
                Ok(DeadStep::Letter(d, _)) => return Some(Ok((*d, *state))),
                // An end, or a letter being appended right now.
                Ok(DeadStep::End | DeadStep::Bad { torn: true, .. }) => self.reader = None,
                Ok(DeadStep::Bad { what, .. }) => {
                    let e = OutboxError::corrupt(r.path(), r.offset(), what);
                    self.reader = None;
                    self.files.clear();
                    return Some(Err(e));
                }
                Err(e) => {
                    self.reader = None;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// The dead letters of `lane` (state [`EffectState::Dead`]) and its redriven letters not yet
/// delivered ([`EffectState::Redriving`]), read from its files with bounded memory.
pub fn dead_letters(effects_dir: &Path, lane: LaneId) -> Result<DeadLetters, OutboxError> {
    let pos = cursor::read_position(effects_dir, lane)?;
    let mut files = Vec::new();
    for g in dead::list_gens(effects_dir, lane)? {
        if g < pos.redrive_gen {
            continue;
        }
        let from = if g == pos.redrive_gen {
            pos.redrive_offset
        } else {
            0
        };
        files.push((
            effects_dir.join(dead::redrive_file_name(lane, g)),
            from,
            EffectState::Redriving,
        ));
    }
    let dead_path = effects_dir.join(dead::dead_file_name(lane));
    if dead_path.exists() {
        files.push((dead_path, 0, EffectState::Dead));
    }
    files.reverse(); // popped from the back: the dead file first, then generations in order
    Ok(DeadLetters {
        files,
        reader: None,
    })
}

/// What the command line needs to say where each effect stands: per lane, the cursor and the
/// seqs of its dead and redriving letters.
pub struct States {
    cursors: Vec<u64>,
    dead: Vec<FxHashSet<u64>>,
    redriving: Vec<FxHashSet<u64>>,
}

impl States {
    /// Reads the positions and dead letters of every lane (memory grows with the dead letters).
    pub fn read(effects_dir: &Path) -> Result<States, OutboxError> {
        let mut s = States {
            cursors: positions(effects_dir)?
                .iter()
                .map(|p| p.cursor_seq)
                .collect(),
            dead: vec![FxHashSet::default(); LaneId::COUNT],
            redriving: vec![FxHashSet::default(); LaneId::COUNT],
        };
        for lane in LaneId::all() {
            for r in dead_letters(effects_dir, lane)? {
                let (d, state) = r?;
                let set = match state {
                    EffectState::Redriving => &mut s.redriving[lane.index()],
                    _ => &mut s.dead[lane.index()],
                };
                set.insert(d.seq);
            }
        }
        Ok(s)
    }

    /// Dead letters of `lane`.
    pub fn dead(&self, lane: LaneId) -> u64 {
        self.dead[lane.index()].len() as u64
    }

    /// Redriven letters of `lane` not yet delivered.
    pub fn redriving(&self, lane: LaneId) -> u64 {
        self.redriving[lane.index()].len() as u64
    }

    /// The persisted cursor of `lane`.
    pub fn cursor(&self, lane: LaneId) -> u64 {
        self.cursors[lane.index()]
    }

    /// Where the effect `seq` of type `t` stands.
    pub fn state(&self, seq: u64, t: EffectType) -> EffectState {
        let i = LaneId::of(t).index();
        if self.redriving[i].contains(&seq) {
            EffectState::Redriving
        } else if self.dead[i].contains(&seq) {
            EffectState::Dead
        } else if seq <= self.cursors[i] {
            EffectState::Delivered
        } else {
            EffectState::Pending
        }
    }
}

/// Redrives the dead letters of `sink` while no delivery runs (takes the delivery lock:
/// [`OutboxError::Locked`] when one does). Returns how many per class.
pub fn redrive_offline(journal_dir: &Path, sink: Downstream) -> Result<[u64; 2], OutboxError> {
    let dir = effects_dir(journal_dir);
    let _lock = lock::delivery_lock(&dir)?;
    let mut out = [0; 2];
    for class in Class::ALL {
        let lane = LaneId::new(sink, class);
        let mut pos = cursor::read_position(&dir, lane)?;
        out[class.index()] = DeadStore::open(&dir, lane, &mut pos)?.redrive()?;
    }
    Ok(out)
}
