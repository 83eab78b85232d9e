//! Order demand: a non-homogeneous arrival process over the horizon. The base rate is flat,
//! shaped by the scenario's piecewise multipliers (each applies inside [from, to), 1.0
//! elsewhere; overlapping windows multiply), and normalised so that exactly the requested
//! number of orders is created: creation times are drawn by inverse-CDF sampling of the
//! piecewise-constant rate, then sorted.

use crate::rng::Rng;
use crate::scenario::Demand;

/// A piece of the rate: constant `multiplier` on [from_us, to_us).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Piece {
    pub from_us: i64,
    pub to_us: i64,
    pub multiplier: f64,
}

/// The piecewise rate over [0, horizon_us).
pub fn pieces(demand: &[Demand], horizon_us: i64) -> Vec<Piece> {
    let mut cuts = vec![0, horizon_us];
    for d in demand {
        cuts.push(d.from_us.clamp(0, horizon_us));
        cuts.push(d.to_us.clamp(0, horizon_us));
    }
    cuts.sort_unstable();
    cuts.dedup();
    cuts.windows(2)
        .map(|w| {
            let multiplier = demand
                .iter()
                .filter(|d| d.from_us <= w[0] && w[0] < d.to_us)
                .map(|d| d.multiplier)
                .product();
            Piece {
                from_us: w[0],
                to_us: w[1],
                multiplier,
            }
        })
        .collect()
}

/// The rate multiplier at offset `t_us`.
pub fn multiplier_at(pieces: &[Piece], t_us: i64) -> f64 {
    pieces
        .iter()
        .find(|p| p.from_us <= t_us && t_us < p.to_us)
        .map_or(1.0, |p| p.multiplier)
}

/// `n` creation offsets in [0, horizon_us), sorted, distributed in proportion to the rate.
pub fn creation_offsets(rng: &mut Rng, demand: &[Demand], horizon_us: i64, n: u64) -> Vec<i64> {
    let pieces = pieces(demand, horizon_us);
    // Cumulative weight at the end of each piece.
    let mut cum = Vec::with_capacity(pieces.len());
    let mut total = 0.0;
    for p in &pieces {
        total += (p.to_us - p.from_us) as f64 * p.multiplier;
        cum.push(total);
    }
    let mut out: Vec<i64> = (0..n)
        .map(|_| {
            let x = rng.f64() * total;
            let i = cum.partition_point(|&c| c <= x).min(pieces.len() - 1);
            let p = pieces[i];
            let before = if i == 0 { 0.0 } else { cum[i - 1] };
            let t = p.from_us as f64 + (x - before) / p.multiplier;
            (t as i64).clamp(p.from_us, p.to_us - 1)
        })
        .collect();
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000_000;

    #[test]
    fn overlapping_windows_multiply() {
        let d = [
            Demand {
                from_us: H,
                to_us: 3 * H,
                multiplier: 2.0,
            },
            Demand {
                from_us: 2 * H,
                to_us: 4 * H,
                multiplier: 3.0,
            },
        ];
        let p = pieces(&d, 5 * H);
        let m: Vec<f64> = p.iter().map(|p| p.multiplier).collect();
        assert_eq!(m, vec![1.0, 2.0, 6.0, 3.0, 1.0]);
        assert_eq!(multiplier_at(&p, 2 * H + 5), 6.0);
    }

    #[test]
    fn exact_count_sorted_and_shaped() {
        let d = [Demand {
            from_us: 10 * H,
            to_us: 12 * H,
            multiplier: 10.0,
        }];
        let mut rng = Rng::new(3);
        let t = creation_offsets(&mut rng, &d, 24 * H, 20_000);
        assert_eq!(t.len(), 20_000);
        assert!(t.windows(2).all(|w| w[0] <= w[1]));
        assert!(t.iter().all(|&x| (0..24 * H).contains(&x)));
        let inside = t.iter().filter(|&&x| (10 * H..12 * H).contains(&x)).count() as f64;
        // 2 h at x10 against 22 h at x1: 20/42 of the orders.
        let share = inside / 20_000.0;
        assert!((share - 20.0 / 42.0).abs() < 0.02, "{share}");
    }
}
