//! The producers' ledger: every delivery handed to the core, the LSN the core gave it, how far
//! the core acknowledged, and what each crash cut from the journal.
//!
//! The ledger is the simulator's own account, kept from outside the core (as a Jepsen client
//! keeps its history): an acknowledged record is one whose LSN the core reported durable
//! (`group`, `sync`) or applied (`none`). After a crash the reopened journal holds records
//! 1..=`lsn_after_reopen`, a prefix, so every record the ledger knows past it was cut: lost
//! acknowledged when it had been acknowledged, lost unacknowledged otherwise (the producers
//! resend those).

/// Marks in [`Ledger::records`] a record that holds no delivery (a settings record).
const NOT_A_DELIVERY: u32 = u32::MAX;

/// One hand-over of a delivery to the core.
#[derive(Debug, Clone, Copy)]
struct Sent {
    /// Position of the delivery in the delivered stream.
    delivery: u32,
    /// Cut from the journal by a crash.
    lost: bool,
}

/// What one crash cut from the journal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Cut {
    pub lost_acknowledged: u64,
    pub lost_unacknowledged: u64,
}

#[derive(Debug, Default)]
pub(super) struct Ledger {
    /// Every hand-over, in order (redeliveries included).
    sent: Vec<Sent>,
    /// The journal as the ledger knows it: `records[lsn - 1]` is the index in `sent` of the
    /// hand-over the core journaled at `lsn`, or [`NOT_A_DELIVERY`].
    records: Vec<u32>,
    /// Every record up to this LSN was acknowledged.
    acked_lsn: u64,
    /// Records acknowledged over the run (a record cut and sent again counts again).
    acknowledged: u64,
    lost_acknowledged: u64,
    lost_unacknowledged: u64,
}

impl Ledger {
    /// Records a hand-over and the LSN the core journaled it at (None when it never reached
    /// the core: a sabotaged core dropped it).
    pub fn sent(&mut self, delivery: u32, lsn: Option<u64>) {
        let at = u32::try_from(self.sent.len()).expect("at most 2^32 hand-overs");
        self.sent.push(Sent {
            delivery,
            lost: false,
        });
        if let Some(lsn) = lsn {
            assert_eq!(
                lsn,
                self.records.len() as u64 + 1,
                "the core's LSNs are contiguous from 1"
            );
            self.records.push(at);
        }
    }

    /// The core journaled a record of its own at `lsn` (a settings record): no delivery, but
    /// a record the acknowledgements and crashes count like any other.
    pub fn own_record(&mut self, lsn: u64) {
        assert_eq!(
            lsn,
            self.records.len() as u64 + 1,
            "the core's LSNs are contiguous from 1"
        );
        self.records.push(NOT_A_DELIVERY);
    }

    /// The core acknowledged every record up to `lsn`.
    pub fn acknowledge(&mut self, lsn: u64) {
        let lsn = lsn.min(self.records.len() as u64);
        if lsn > self.acked_lsn {
            self.acknowledged += lsn - self.acked_lsn;
            self.acked_lsn = lsn;
        }
    }

    pub fn acked_lsn(&self) -> u64 {
        self.acked_lsn
    }

    /// A crash left the journal with records 1..=`lsn_after_reopen`: everything past it is
    /// cut. A journal that came back with records the ledger never saw is a broken core and
    /// counts as nothing cut (the checks then fail on the counts).
    pub fn crash(&mut self, lsn_after_reopen: u64) -> Cut {
        let keep = (lsn_after_reopen as usize).min(self.records.len());
        let mut cut = Cut::default();
        for (k, &at) in self.records[keep..].iter().enumerate() {
            if at != NOT_A_DELIVERY {
                self.sent[at as usize].lost = true;
            }
            if (keep + k + 1) as u64 <= self.acked_lsn {
                cut.lost_acknowledged += 1;
            } else {
                cut.lost_unacknowledged += 1;
            }
        }
        self.records.truncate(keep);
        self.acked_lsn = self.acked_lsn.min(keep as u64);
        self.lost_acknowledged += cut.lost_acknowledged;
        self.lost_unacknowledged += cut.lost_unacknowledged;
        cut
    }

    /// Hand-overs, redeliveries included.
    pub fn sent_count(&self) -> u64 {
        self.sent.len() as u64
    }

    pub fn acknowledged(&self) -> u64 {
        self.acknowledged
    }

    pub fn lost_acknowledged(&self) -> u64 {
        self.lost_acknowledged
    }

    pub fn lost_unacknowledged(&self) -> u64 {
        self.lost_unacknowledged
    }

    /// The deliveries the journal must hold, in the order they were handed over: every
    /// hand-over but those a crash cut.
    pub fn kept(&self) -> impl Iterator<Item = u32> + '_ {
        self.sent.iter().filter(|s| !s.lost).map(|s| s.delivery)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands over deliveries 0..n, journaled at LSNs from the ledger's next one.
    fn send(l: &mut Ledger, deliveries: std::ops::Range<u32>) {
        for d in deliveries {
            let lsn = l.records.len() as u64 + 1;
            l.sent(d, Some(lsn));
        }
    }

    #[test]
    fn a_crash_cuts_what_is_past_the_reopened_journal() {
        let cases: &[(u64, u64, Cut)] = &[
            // (acked, lsn after reopen, cut): 10 records journaled.
            (10, 10, Cut::default()),
            (6, 10, Cut::default()),
            (
                6,
                6,
                Cut {
                    lost_acknowledged: 0,
                    lost_unacknowledged: 4,
                },
            ),
            (
                6,
                4,
                Cut {
                    lost_acknowledged: 2,
                    lost_unacknowledged: 4,
                },
            ),
            (
                0,
                0,
                Cut {
                    lost_acknowledged: 0,
                    lost_unacknowledged: 10,
                },
            ),
            // More records than the ledger knows: nothing is cut.
            (3, 12, Cut::default()),
        ];
        for &(acked, reopened, want) in cases {
            let mut l = Ledger::default();
            send(&mut l, 0..10);
            l.acknowledge(acked);
            assert_eq!(
                l.crash(reopened),
                want,
                "acked {acked}, reopened at {reopened}"
            );
            let kept = l.kept().count() as u64;
            assert_eq!(kept, 10 - want.lost_acknowledged - want.lost_unacknowledged);
            assert_eq!(l.acked_lsn(), acked.min(reopened));
        }
    }

    #[test]
    fn redeliveries_after_a_cut_are_kept_in_hand_over_order() {
        let mut l = Ledger::default();
        send(&mut l, 0..5);
        l.acknowledge(2);
        assert_eq!(l.crash(3).lost_unacknowledged, 2);
        // The producers resend 2, 3, 4 (3 and 4 were cut, 2 survived unacknowledged).
        send(&mut l, 2..5);
        l.acknowledge(6);
        assert_eq!(l.kept().collect::<Vec<_>>(), vec![0, 1, 2, 2, 3, 4]);
        assert_eq!(l.sent_count(), 8);
        assert_eq!(l.acknowledged(), 2 + 4);
        assert_eq!(l.lost_acknowledged(), 0);
    }

    #[test]
    fn a_delivery_that_never_reached_the_core_is_still_expected() {
        let mut l = Ledger::default();
        l.sent(0, Some(1));
        l.sent(1, None);
        l.sent(2, Some(2));
        assert_eq!(l.kept().collect::<Vec<_>>(), vec![0, 1, 2]);
        l.acknowledge(2);
        assert_eq!(l.crash(1).lost_acknowledged, 1);
        assert_eq!(l.kept().collect::<Vec<_>>(), vec![0, 1]);
    }

    #[test]
    fn a_record_of_the_core_counts_but_holds_no_delivery() {
        let mut l = Ledger::default();
        l.own_record(1);
        l.sent(0, Some(2));
        l.sent(1, Some(3));
        l.acknowledge(3);
        assert_eq!(l.acknowledged(), 3);
        let cut = l.crash(0);
        assert_eq!(cut.lost_acknowledged, 3);
        assert_eq!(l.kept().count(), 0);
        l.own_record(1);
        l.sent(0, Some(2));
        assert_eq!(l.kept().collect::<Vec<_>>(), vec![0]);
    }

    #[test]
    #[should_panic(expected = "contiguous")]
    fn a_core_that_skips_an_lsn_is_refused() {
        let mut l = Ledger::default();
        l.sent(0, Some(1));
        l.sent(1, Some(3));
    }
}
