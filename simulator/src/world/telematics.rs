//! Telematics: a vehicle's unit reports its position on a fixed cadence while the vehicle is
//! moving, interpolated along the leg with GPS noise, and its speed with noise.

use super::emit::Outbox;
use super::map::Point;
use crate::rng::Rng;
use waybill_core::event::Body;

/// GPS noise, in degrees (about 15 m).
const GPS_NOISE_DEG: f64 = 0.000_15;

/// A vehicle's telematics unit.
#[derive(Debug, Clone)]
pub struct Unit {
    pub vehicle_id: u64,
    pub src: usize,
    /// Pings happen at `phase_us + k * interval_us`.
    pub phase_us: i64,
    pub interval_us: i64,
}

impl Unit {
    /// The pings of one leg driven from `from` at `t0_us` to `to` at `t1_us` at a mean of
    /// `speed_kph`: every cadence tick strictly inside (t0, t1). Returns how many.
    #[allow(clippy::too_many_arguments)]
    pub fn leg(
        &self,
        out: &mut Outbox,
        rng: &mut Rng,
        from: Point,
        to: Point,
        t0_us: i64,
        t1_us: i64,
        speed_kph: f64,
    ) -> u64 {
        if t1_us <= t0_us + 1 {
            return 0;
        }
        let k0 = (t0_us - self.phase_us).div_euclid(self.interval_us) + 1;
        let mut t = self.phase_us + k0 * self.interval_us;
        let dur = (t1_us - t0_us) as f64;
        let mut n = 0;
        while t < t1_us {
            let f = (t - t0_us) as f64 / dur;
            let p = from.lerp(to, f);
            let p = Point {
                lat: p.lat + GPS_NOISE_DEG * rng.normal(),
                lon: p.lon + GPS_NOISE_DEG * rng.normal(),
            };
            // Traffic: the instantaneous speed wanders around the leg's mean.
            let v = (speed_kph * (1.0 + 0.12 * rng.normal())).clamp(0.0, 160.0);
            out.push(
                self.src,
                t,
                self.vehicle_id,
                Body::VehiclePosition {
                    position: p.to_geo(),
                    speed_kph_milli: (v * 1000.0).round() as u32,
                    // Only a version 2 ping can carry these; the world's pings are the same
                    // facts in either version (the scenario's `[schema]` picks the version).
                    heading_deg: None,
                    accuracy_mm: None,
                },
            );
            n += 1;
            t += self.interval_us;
        }
        n
    }
}
