//! The simulator's randomness: one seed, split into named sub-streams, so that adding a fault
//! kind or a world feature does not change the other streams.
//!
//! The generator is xoshiro256++ seeded through splitmix64, implemented here so that the
//! streams never change with a dependency's version: the same scenario and seed must give the
//! same bytes forever. The continuous distributions use the pure-Rust `libm` for `ln`, `exp`
//! and `cos` (the platform's maths library may differ in the last bit between systems);
//! `sqrt` is correctly rounded by IEEE 754 everywhere. Known-answer tests below pin the
//! generator against the reference algorithms and the first outputs of named streams; the
//! values are listed in `docs/known-answers.md`.

/// A deterministic pseudo-random generator (xoshiro256++).
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a of a stream name, to derive sub-stream seeds.
fn name_hash(name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut x = seed;
        let s = [
            splitmix64(&mut x),
            splitmix64(&mut x),
            splitmix64(&mut x),
            splitmix64(&mut x),
        ];
        Rng { s }
    }

    /// The sub-stream `name` of `seed` (for example `"world"`, `"fault/drop"`).
    pub fn stream(seed: u64, name: &str) -> Rng {
        Rng::new(seed ^ name_hash(name).rotate_left(17))
    }

    /// A child stream, derived from this one and a name (for per-entity streams).
    pub fn fork(&mut self, name: &str) -> Rng {
        Rng::new(self.next_u64() ^ name_hash(name))
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let result = (self.s[0].wrapping_add(self.s[3]))
            .rotate_left(23)
            .wrapping_add(self.s[0]);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    #[inline]
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [0, n) (n > 0), without modulo bias worth speaking of (Lemire's method).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0)");
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in [lo, hi] (inclusive).
    pub fn range_i64(&mut self, lo: i64, hi: i64) -> i64 {
        assert!(lo <= hi);
        lo + self.below((hi - lo) as u64 + 1) as i64
    }

    /// True with probability `p`.
    #[inline]
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.f64() < p
    }

    /// Exponential with the given mean.
    pub fn exponential(&mut self, mean: f64) -> f64 {
        -mean * libm::log(1.0 - self.f64())
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.f64();
        let u2 = self.f64();
        (-2.0 * libm::log(u1)).sqrt() * libm::cos(std::f64::consts::TAU * u2)
    }

    /// Log-normal with the given median and shape sigma (of the underlying normal).
    pub fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * libm::exp(sigma * self.normal())
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the pinned values are recorded, for every failure message below.
    const CHANGED: &str = "a known answer of the simulator's generator changed: the same scenario \
        and seed must give the same events forever, so this is a deliberate format change; \
        update docs/known-answers.md (the RNG section) and say why in the commit";

    impl Rng {
        /// A generator in a given raw state (the reference vectors start from one).
        fn from_state(s: [u64; 4]) -> Rng {
            assert!(s != [0; 4], "xoshiro's state must not be all zero");
            Rng { s }
        }
    }

    fn first<const N: usize>(rng: &mut Rng) -> [u64; N] {
        std::array::from_fn(|_| rng.next_u64())
    }

    #[test]
    fn xoshiro256plusplus_matches_the_reference_outputs() {
        // Vigna's reference xoshiro256plusplus.c, state {1, 2, 3, 4}.
        let expected: [u64; 10] = [
            41943041,
            58720359,
            3588806011781223,
            3591011842654386,
            9228616714210784205,
            9973669472204895162,
            14011001112246962877,
            12406186145184390807,
            15849039046786891736,
            10450023813501588000,
        ];
        assert_eq!(
            first(&mut Rng::from_state([1, 2, 3, 4])),
            expected,
            "{CHANGED}"
        );
    }

    #[test]
    fn splitmix64_matches_the_reference_outputs() {
        // Vigna's reference splitmix64.c.
        let cases: [(u64, [u64; 3]); 2] = [
            (
                0,
                [0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f],
            ),
            (
                1234567,
                [
                    6457827717110365317,
                    3203168211198807973,
                    9817491932198370423,
                ],
            ),
        ];
        for (seed, expected) in cases {
            let mut x = seed;
            let got: [u64; 3] = std::array::from_fn(|_| splitmix64(&mut x));
            assert_eq!(got, expected, "seed {seed}: {CHANGED}");
        }
    }

    #[test]
    fn fnv1a_matches_the_reference_hashes() {
        // The published FNV-1a 64-bit test vectors.
        for (name, expected) in [
            ("", 0xcbf29ce484222325),
            ("a", 0xaf63dc4c8601ec8c),
            ("foobar", 0x85944171f73967e8),
        ] {
            assert_eq!(name_hash(name), expected, "{name:?}: {CHANGED}");
        }
    }

    #[test]
    fn seeding_is_xoshiro_over_four_splitmix_outputs() {
        let cases: [(u64, [u64; 3]); 2] = [
            (
                0,
                [0x53175d61490b23df, 0x61da6f3dc380d507, 0x5c0fdf91ec9a7bfc],
            ),
            (
                42,
                [0xd0764d4f4476689f, 0x519e4174576f3791, 0xfbe07cfb0c24ed8c],
            ),
        ];
        for (seed, expected) in cases {
            assert_eq!(
                first(&mut Rng::new(seed)),
                expected,
                "seed {seed}: {CHANGED}"
            );
        }
    }

    #[test]
    fn named_streams_have_pinned_first_outputs() {
        // Seed 7, the sub-streams the world, the faults and the checks draw from.
        #[rustfmt::skip]
        let cases: [(&str, [u64; 4]); 8] = [
            ("world", [0xdb3bce4db3c84462, 0x58ecc135fbe15804, 0x4311b1abcba01905, 0x393e5c56993709fa]),
            ("world/map", [0x72907f23fa51839f, 0xac67387f604c0def, 0x10e1494d38aec550, 0x4dc732830b0f92cb]),
            ("world/orders", [0xa1a178451506d406, 0x37dba5cbb2838915, 0xca2dba4290edb9b0, 0xbe1c78121a04aa3b]),
            ("world/vehicles", [0x9de3353bfc83114b, 0x7669a0989336bd6c, 0x30d311176cc5ec4b, 0xabe1fab29658cd9c]),
            ("fault/drop", [0x58d72d4911fd01d2, 0xf2016439de7bec6e, 0x5393eb2cb5f38528, 0x94e2319902a2deb2]),
            ("fault/duplicate", [0x07f1aed650b71530, 0xc2b4994bc1b8710a, 0x588ed367088c36f7, 0xdbbdef72a120e4db]),
            ("fault/crash", [0xd1446fdfbeb55e7a, 0x1acb9e6a3f58533a, 0xcca9a5fceff320bd, 0x1ee7b5de78f646b3]),
            ("check/shuffle", [0x07784bc92f1e7c7f, 0xec7e5b371ffaa1a9, 0x721ddbdc68e02694, 0xbbcc244516fbf888]),
        ];
        for (name, expected) in cases {
            assert_eq!(
                first(&mut Rng::stream(7, name)),
                expected,
                "{name}: {CHANGED}"
            );
        }
        // Streams are independent of each other and of the seed.
        let world: [u64; 4] = first(&mut Rng::stream(8, "world"));
        assert_ne!(world, cases[0].1);
    }

    #[test]
    fn derived_draws_have_pinned_values() {
        // Every draw the world makes from the raw outputs, to the bit (`libm` makes the
        // continuous ones the same on every platform).
        let mut r = Rng::stream(7, "world");
        let bits = [
            r.f64().to_bits(),
            r.exponential(3.0).to_bits(),
            r.normal().to_bits(),
            r.lognormal(20.0, 0.8).to_bits(),
        ];
        let ints = [r.below(10), r.range_i64(-5, 5) as u64, r.chance(0.5) as u64];
        let forked: [u64; 2] = first(&mut r.fork("vehicle"));
        let expected_bits: [u64; 4] = [
            0x3feb6779c9b67908, // 0.8563...
            0x3ff47bb3bf80a394, // 1.2802...
            0x3fc0782e8fb7e4a0, // 0.1286...
            0x401d93d2be9f7fbd, // 7.3943...
        ];
        let expected_ints: [u64; 3] = [6, 3, 0];
        let expected_forked: [u64; 2] = [0x3221c336316320e8, 0x7d1644120c09c353];
        assert_eq!(
            (bits, ints, forked),
            (expected_bits, expected_ints, expected_forked),
            "{bits:#018x?} {ints:?} {forked:#018x?}: {CHANGED}"
        );
    }

    #[test]
    fn distributions_have_the_right_moments() {
        let mut r = Rng::new(1);
        let n = 200_000;
        let mean_u = (0..n).map(|_| r.f64()).sum::<f64>() / n as f64;
        assert!((mean_u - 0.5).abs() < 0.01, "{mean_u}");
        let mean_e = (0..n).map(|_| r.exponential(3.0)).sum::<f64>() / n as f64;
        assert!((mean_e - 3.0).abs() < 0.05, "{mean_e}");
        let hits = (0..n).filter(|_| r.chance(0.05)).count() as f64 / n as f64;
        assert!((hits - 0.05).abs() < 0.003, "{hits}");
        let mut ln: Vec<f64> = (0..n).map(|_| r.lognormal(20.0, 0.8)).collect();
        ln.sort_by(f64::total_cmp);
        let median = ln[n / 2];
        assert!((median - 20.0).abs() < 0.5, "{median}");
        let below: Vec<u64> = (0..n).map(|_| r.below(10)).collect();
        for k in 0..10 {
            let share = below.iter().filter(|&&x| x == k).count() as f64 / n as f64;
            assert!((share - 0.1).abs() < 0.005, "{k}: {share}");
        }
    }
}
