//! Dedupe by (source, sequence) and gap accounting (docs/events.md, duplicates and gaps).
//!
//! Per source we keep a contiguous high-water mark (`hwm`: every sequence `1..=hwm` has been
//! applied) plus the runs of sequences applied above it, as disjoint, non-adjacent ranges. The
//! memory held is proportional to the number of holes (the out-of-order span), never to the
//! history. A hole is a **missing** sequence: below the source's highest applied sequence and
//! not applied yet; a late arrival fills it.
//!
//! Limit: at most [`MAX_HOLES_PER_SOURCE`] holes per source. Past that the lowest hole is
//! *abandoned*: the high-water mark moves over it, its sequences stay counted as missing in
//! [`Dedupe::missing_total`], and an event arriving for it later is counted as a duplicate.

use crate::snapshot::format::{SectionReader, SectionWriter, SnapshotDefect, defect};
use crate::source::SourceId;
use std::collections::BTreeMap;

/// The most holes tracked per source before the lowest one is abandoned.
pub const MAX_HOLES_PER_SOURCE: usize = 1 << 16;

/// The hot part of a source's memory, read on every event: kept apart (16 bytes per source)
/// so that the common case, the next sequence of a source with no holes, touches one small
/// entry.
#[derive(Debug, Default, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
struct Mark {
    /// Every sequence in `1..=hwm` is applied.
    hwm: u64,
    /// Highest applied sequence (`hwm` exactly when there are no runs above it).
    max: u64,
}

/// The rest of a source's memory, touched only when it has holes.
#[derive(Debug, Default, Clone)]
struct Runs {
    /// Applied runs above `hwm + 1`: start -> end (inclusive). Disjoint and non-adjacent.
    above: BTreeMap<u64, u64>,
    /// Sequences in `above`.
    applied_above: u64,
    /// Sequences given up on by the hole limit (still counted as missing).
    abandoned: u64,
}

/// One source's memory, borrowed from both halves.
struct SourceSeqs<'a> {
    mark: &'a mut Mark,
    runs: &'a mut Runs,
}

fn missing(m: &Mark, r: &Runs) -> u64 {
    m.max - m.hwm - r.applied_above + r.abandoned
}

impl SourceSeqs<'_> {
    fn missing(&self) -> u64 {
        missing(self.mark, self.runs)
    }

    fn check(&self) {
        debug_assert!(self.mark.max >= self.mark.hwm);
        debug_assert!(self.runs.above.is_empty() == (self.mark.max == self.mark.hwm));
        debug_assert!(
            self.runs
                .above
                .keys()
                .next()
                .is_none_or(|&s| s > self.mark.hwm + 1)
        );
    }
}

/// Which (source, sequence) pairs have been applied.
#[derive(Debug, Default, Clone)]
pub struct Dedupe {
    /// Indexed by `SourceId`, as is `runs`.
    marks: Vec<Mark>,
    runs: Vec<Runs>,
    /// Exact: each source misses fewer than 2^64 sequences, and there are fewer than 2^64
    /// sources, so the sum fits.
    missing_total: u128,
}

/// Holes of one source, for reporting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceGaps {
    pub source: SourceId,
    pub missing: u64,
    /// Missing sequence ranges (inclusive), lowest first; abandoned holes are not listed.
    pub ranges: Vec<(u64, u64)>,
}

impl Dedupe {
    pub fn new() -> Self {
        Self::default()
    }

    /// [`Dedupe::mark`], also saying which new range of missing sequences the mark opened (a
    /// sequence above the source's highest applied one by more than one opens one: the
    /// sequences between them). `(false, None)` for a duplicate.
    #[inline]
    pub fn mark_with_gap(&mut self, source: SourceId, sequence: u64) -> (bool, Option<(u64, u64)>) {
        let i = source.0 as usize;
        let max_before = match self.marks.get_mut(i) {
            Some(m) if m.hwm.checked_add(1) == Some(sequence) && m.max == m.hwm => {
                m.hwm = sequence;
                m.max = sequence;
                return (true, None);
            }
            Some(m) => m.max,
            None => 0,
        };
        let fresh = self.mark_cold(i, sequence);
        // `max_before` may be u64::MAX: never add to it unchecked.
        let gap = (fresh && sequence > max_before && sequence - max_before > 1)
            .then(|| (max_before + 1, sequence - 1));
        debug_assert!(gap.is_none_or(|(a, b)| a <= b));
        (fresh, gap)
    }

    /// Marks `(source, sequence)` applied. Returns false when it already was (a duplicate).
    #[inline]
    pub fn mark(&mut self, source: SourceId, sequence: u64) -> bool {
        debug_assert!(sequence >= 1);
        let i = source.0 as usize;
        if let Some(m) = self.marks.get_mut(i) {
            // Hot path: the next sequence of a source with no holes (`max == hwm` exactly when
            // no runs are tracked above the mark).
            // `hwm` may be u64::MAX: never add to it unchecked.
            if m.hwm.checked_add(1) == Some(sequence) && m.max == m.hwm {
                m.hwm = sequence;
                m.max = sequence;
                return true;
            }
        }
        self.mark_cold(i, sequence)
    }

    #[inline(never)]
    fn mark_cold(&mut self, i: usize, sequence: u64) -> bool {
        if i >= self.marks.len() {
            self.marks.resize_with(i + 1, Mark::default);
            self.runs.resize_with(i + 1, Runs::default);
        }
        let mut s = SourceSeqs {
            mark: &mut self.marks[i],
            runs: &mut self.runs[i],
        };
        let before = s.missing();
        let fresh = Self::mark_slow(&mut s, sequence);
        let after = s.missing();
        self.missing_total = self.missing_total + u128::from(after) - u128::from(before);
        s.check();
        fresh
    }

    fn mark_slow(s: &mut SourceSeqs<'_>, seq: u64) -> bool {
        if seq <= s.mark.hwm {
            return false;
        }
        // The run at or below `seq`, if any.
        let prev = s
            .runs
            .above
            .range(..=seq)
            .next_back()
            .map(|(&a, &b)| (a, b));
        if let Some((_, end)) = prev
            && seq <= end
        {
            return false;
        }
        s.runs.applied_above += 1;
        s.mark.max = s.mark.max.max(seq);
        // No run starts above u64::MAX.
        let next = seq
            .checked_add(1)
            .and_then(|after| s.runs.above.range(after..).next())
            .map(|(&a, &b)| (a, b));
        let mut start = seq;
        let mut end = seq;
        if let Some((p_start, p_end)) = prev
            && p_end + 1 == seq
        {
            s.runs.above.remove(&p_start);
            start = p_start;
        }
        if let Some((n_start, n_end)) = next
            && n_start == seq + 1
        {
            s.runs.above.remove(&n_start);
            end = n_end;
        }
        if start == s.mark.hwm + 1 {
            // The run now touches the high-water mark: fold it in.
            s.runs.applied_above -= end - start + 1;
            s.mark.hwm = end;
        } else {
            s.runs.above.insert(start, end);
        }
        if s.runs.above.len() > MAX_HOLES_PER_SOURCE {
            // Abandon the lowest hole: move the mark over it and the run after it.
            let (&r_start, &r_end) = s.runs.above.iter().next().expect("non-empty");
            s.runs.above.remove(&r_start);
            s.runs.abandoned += r_start - s.mark.hwm - 1;
            s.runs.applied_above -= r_end - r_start + 1;
            s.mark.hwm = r_end;
        }
        true
    }

    /// True when `(source, sequence)` was applied (or its hole abandoned): [`Dedupe::mark`]
    /// would call it a duplicate. Changes nothing.
    pub fn seen(&self, source: SourceId, sequence: u64) -> bool {
        let i = source.0 as usize;
        let Some(m) = self.marks.get(i) else {
            return false;
        };
        if sequence <= m.hwm {
            return true;
        }
        self.runs[i]
            .above
            .range(..=sequence)
            .next_back()
            .is_some_and(|(_, &end)| sequence <= end)
    }

    /// Missing sequences over every source (exact).
    pub fn missing_total(&self) -> u128 {
        self.missing_total
    }

    /// Highest applied sequence of a source (0 when none).
    pub fn max_sequence(&self, source: SourceId) -> u64 {
        self.marks.get(source.0 as usize).map_or(0, |m| m.max)
    }

    /// Sources with at least one missing sequence, in SourceId order (the caller sorts by name).
    pub fn gaps(&self) -> Vec<SourceGaps> {
        let mut out = Vec::new();
        for (i, (m, r)) in self.marks.iter().zip(&self.runs).enumerate() {
            let missing = missing(m, r);
            if missing == 0 {
                continue;
            }
            let mut ranges = Vec::with_capacity(r.above.len());
            // The last applied sequence before each hole (no `+ 1` on a value that may be
            // u64::MAX: every run starts above `hwm + 1`).
            let mut before = m.hwm;
            for (&a, &b) in &r.above {
                ranges.push((before + 1, a - 1));
                before = b;
            }
            out.push(SourceGaps {
                source: SourceId(i as u32),
                missing,
                ranges,
            });
        }
        out
    }

    /// Writes every source's memory in id order: sections `dedupe.marks`, `dedupe.runs`
    /// (per source: applied above the mark, abandoned, runs), `dedupe.ranges` (every run,
    /// lowest first per source) and `dedupe.missing` (the exact total, low word first).
    pub(crate) fn write_image(&self, w: &mut SectionWriter) -> std::io::Result<()> {
        w.section("dedupe.marks", &self.marks)?;
        let meta: Vec<[u64; 3]> = self
            .runs
            .iter()
            .map(|r| [r.applied_above, r.abandoned, r.above.len() as u64])
            .collect();
        w.section("dedupe.runs", &meta)?;
        let ranges: Vec<[u64; 2]> = self
            .runs
            .iter()
            .flat_map(|r| r.above.iter().map(|(&a, &b)| [a, b]))
            .collect();
        w.section("dedupe.ranges", &ranges)?;
        let total = [self.missing_total as u64, (self.missing_total >> 64) as u64];
        w.section("dedupe.missing", &[total])
    }

    /// The memory [`Self::write_image`] wrote, its laws checked (runs disjoint, above the
    /// mark, counts and the missing total consistent).
    pub(crate) fn read_image(r: &mut SectionReader<'_>) -> Result<Dedupe, SnapshotDefect> {
        let marks = r.section::<Mark>("dedupe.marks")?.to_vec();
        let meta = r.section::<[u64; 3]>("dedupe.runs")?;
        let mut ranges = r.section::<[u64; 2]>("dedupe.ranges")?;
        let [lo, hi] = r.one::<[u64; 2]>("dedupe.missing")?;
        let bad = |what: String| defect(0, format!("dedupe: {what}"));
        if meta.len() != marks.len() {
            return Err(bad(format!(
                "{} marks, {} run lists",
                marks.len(),
                meta.len()
            )));
        }
        let mut runs = Vec::with_capacity(meta.len());
        let mut total = 0u128;
        for (i, (m, &[applied_above, abandoned, n])) in marks.iter().zip(meta).enumerate() {
            let Some((mine, rest)) = usize::try_from(n)
                .ok()
                .and_then(|n| ranges.split_at_checked(n))
            else {
                return Err(bad(format!("source {i}: runs cut off")));
            };
            ranges = rest;
            let run = Runs {
                above: mine.iter().map(|&[a, b]| (a, b)).collect(),
                applied_above,
                abandoned,
            };
            let in_runs: Option<u64> = mine
                .iter()
                .try_fold(0u64, |s, &[a, b]| s.checked_add(b.checked_sub(a)? + 1));
            let mut floor = m.hwm.saturating_add(1);
            let ordered = mine.iter().all(|&[a, b]| {
                let ok = a > floor && b >= a && b <= m.max;
                floor = b.saturating_add(1);
                ok
            });
            let missing_here = m
                .max
                .checked_sub(m.hwm)
                .and_then(|d| d.checked_sub(applied_above))
                .and_then(|d| d.checked_add(abandoned));
            let Some(missing_here) = missing_here.filter(|_| {
                ordered
                    && in_runs == Some(applied_above)
                    && run.above.is_empty() == (m.max == m.hwm)
            }) else {
                return Err(bad(format!("source {i}: runs do not agree with the mark")));
            };
            debug_assert_eq!(missing_here, missing(m, &run));
            total += u128::from(missing_here);
            runs.push(run);
        }
        if !ranges.is_empty() || total != (u128::from(hi) << 64 | u128::from(lo)) {
            return Err(bad("the missing total does not add up".to_owned()));
        }
        Ok(Dedupe {
            marks,
            runs,
            missing_total: total,
        })
    }

    /// Sources with memory (the highest source id seen, plus one).
    pub fn sources_tracked(&self) -> usize {
        self.marks.len()
    }

    /// Runs tracked over every source (a measure of dedupe memory).
    pub fn runs_tracked(&self) -> usize {
        self.runs.iter().map(|r| r.above.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    const A: SourceId = SourceId(0);
    const B: SourceId = SourceId(1);

    /// Marks each sequence and checks the outcome, then the missing count and ranges.
    fn check(seqs: &[(u64, bool)], missing: u64, ranges: &[(u64, u64)]) {
        let mut d = Dedupe::new();
        for &(seq, fresh) in seqs {
            assert_eq!(d.mark(A, seq), fresh, "seq {seq} in {seqs:?}");
        }
        assert_eq!(d.missing_total(), u128::from(missing), "{seqs:?}");
        let gaps = d.gaps();
        let got: Vec<(u64, u64)> = gaps.first().map(|g| g.ranges.clone()).unwrap_or_default();
        assert_eq!(got, ranges, "{seqs:?}");
    }

    #[test]
    fn cases() {
        check(&[(1, true), (2, true), (3, true)], 0, &[]);
        check(&[(1, true), (1, false)], 0, &[]);
        check(&[(2, true)], 1, &[(1, 1)]);
        check(&[(5, true), (1, true)], 3, &[(2, 4)]);
        check(&[(5, true), (3, true), (1, true)], 2, &[(2, 2), (4, 4)]);
        check(
            &[(5, true), (3, true), (4, true), (2, true), (1, true)],
            0,
            &[],
        );
        check(
            &[
                (3, true),
                (3, false),
                (1, true),
                (2, true),
                (2, false),
                (3, false),
            ],
            0,
            &[],
        );
        check(
            &[(10, true), (12, true), (11, true), (11, false), (12, false)],
            9,
            &[(1, 9)],
        );
        check(
            &[(1, true), (4, true), (7, true), (5, true), (6, true)],
            2,
            &[(2, 3)],
        );
    }

    /// `mark_with_gap` marks as `mark` does and names each new missing range once.
    #[test]
    fn new_gaps_are_named_once() {
        type Case = (&'static [u64], &'static [(bool, Option<(u64, u64)>)]);
        let cases: &[Case] = &[
            (&[1, 2, 3], &[(true, None), (true, None), (true, None)]),
            (&[3], &[(true, Some((1, 2)))]),
            (
                &[1, 4, 3, 2, 4, 7],
                &[
                    (true, None),
                    (true, Some((2, 3))),
                    (true, None),
                    (true, None),
                    (false, None),
                    (true, Some((5, 6))),
                ],
            ),
            (
                &[5, 2, 9],
                &[(true, Some((1, 4))), (true, None), (true, Some((6, 8)))],
            ),
        ];
        for (seqs, want) in cases {
            let (mut d, mut plain) = (Dedupe::new(), Dedupe::new());
            let got: Vec<_> = seqs.iter().map(|&s| d.mark_with_gap(A, s)).collect();
            assert_eq!(&got, want, "{seqs:?}");
            for (&s, g) in seqs.iter().zip(&got) {
                assert_eq!(plain.mark(A, s), g.0, "{seqs:?}");
            }
            assert_eq!(d.missing_total(), plain.missing_total());
        }
    }

    #[test]
    fn sources_are_independent() {
        let mut d = Dedupe::new();
        assert!(d.mark(A, 1));
        assert!(d.mark(B, 1));
        assert!(d.mark(B, 3));
        assert!(!d.mark(A, 1));
        assert_eq!(d.missing_total(), 1);
        assert_eq!(d.gaps()[0].source, B);
    }

    /// Each source can miss almost 2^64 sequences; the total is exact, never wrapped.
    #[test]
    fn missing_total_is_exact_past_64_bits() {
        let mut d = Dedupe::new();
        let per_source = u64::MAX - 1;
        for (i, source) in [A, B, SourceId(2)].into_iter().enumerate() {
            assert!(d.mark(source, u64::MAX));
            assert_eq!(d.missing_total(), u128::from(per_source) * (i as u128 + 1));
        }
        assert_eq!(d.gaps().len(), 3);
        assert!(d.gaps().iter().all(|g| g.missing == per_source));
        // Filling holes counts down exactly.
        assert!(d.mark(B, 1));
        assert!(d.mark(B, u64::MAX - 1));
        assert_eq!(d.missing_total(), u128::from(per_source) * 3 - 2);
    }

    #[test]
    fn hole_limit_abandons_the_lowest_hole() {
        let mut d = Dedupe::new();
        // Every even sequence: one hole before each.
        for i in 1..=(MAX_HOLES_PER_SOURCE as u64 + 2) {
            assert!(d.mark(A, 2 * i));
        }
        let n = MAX_HOLES_PER_SOURCE as u64 + 2;
        assert_eq!(
            d.missing_total(),
            u128::from(n),
            "abandoned holes stay counted"
        );
        assert!(d.runs_tracked() <= MAX_HOLES_PER_SOURCE);
        assert!(!d.mark(A, 1), "an abandoned hole reads as applied");
        assert!(d.mark(A, 2 * n - 1), "a tracked hole still fills");
    }

    proptest! {
        /// Against a reference model: a set of applied sequences.
        #[test]
        fn matches_a_set(seqs in proptest::collection::vec(1u64..60, 0..200)) {
            let mut d = Dedupe::new();
            let mut seen = BTreeSet::new();
            for &s in &seqs {
                prop_assert_eq!(d.seen(A, s), seen.contains(&s));
                prop_assert_eq!(d.mark(A, s), seen.insert(s));
                prop_assert!(d.seen(A, s));
            }
            let max = seen.iter().next_back().copied().unwrap_or(0);
            let missing = max - seen.len() as u64;
            prop_assert_eq!(d.missing_total(), u128::from(missing));
            let holes: Vec<u64> = (1..=max).filter(|s| !seen.contains(s)).collect();
            let listed: Vec<u64> = d.gaps().iter().flat_map(|g| g.ranges.iter().flat_map(|&(a, b)| a..=b)).collect();
            prop_assert_eq!(holes, listed);
        }

        /// The same at the top of the sequence space (nothing may overflow at u64::MAX).
        #[test]
        fn matches_a_set_at_the_top(
            seqs in proptest::collection::vec(
                prop_oneof![1u64..20, (u64::MAX - 20)..=u64::MAX], 0..200)
        ) {
            let mut d = Dedupe::new();
            let mut seen = BTreeSet::new();
            for &s in &seqs {
                prop_assert_eq!(d.mark(A, s), seen.insert(s));
            }
            let max = seen.iter().next_back().copied().unwrap_or(0);
            prop_assert_eq!(d.missing_total(), u128::from(max - seen.len() as u64));
            let listed: u128 = d.gaps().iter()
                .flat_map(|g| g.ranges.iter().map(|&(a, b)| u128::from(b - a) + 1))
                .sum();
            prop_assert_eq!(listed, d.missing_total());
        }
    }
}
