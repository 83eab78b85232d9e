//! The map: points in degrees, great-circle distances, and where depots and customers sit
//! in the scenario's region (depots near the centre, customers clustered in towns plus a
//! rural spread).
//!
//! Trigonometry goes through the pure-Rust `libm`, never the platform's maths library, so
//! the same seed places every point identically on every platform.

use crate::rng::Rng;
use crate::scenario::WorldSpec;
use waybill_core::event::GeoPoint;

/// Mean Earth radius.
const EARTH_RADIUS_KM: f64 = 6371.0;
/// Kilometres per degree of latitude.
const KM_PER_DEG: f64 = 111.195;
/// Road distance over great-circle distance.
pub const ROAD_FACTOR: f64 = 1.3;

/// A point in degrees (simulation precision; events carry micro-degrees).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub lat: f64,
    pub lon: f64,
}

impl Point {
    pub fn from_ud(lat_ud: i32, lon_ud: i32) -> Point {
        Point {
            lat: lat_ud as f64 / 1e6,
            lon: lon_ud as f64 / 1e6,
        }
    }

    /// In range: latitude clamped to [-90, 90], longitude wrapped into [-180, 180].
    pub fn normalized(self) -> Point {
        let mut lon = self.lon;
        if lon > 180.0 {
            lon -= 360.0;
        } else if lon < -180.0 {
            lon += 360.0;
        }
        Point {
            lat: self.lat.clamp(-90.0, 90.0),
            lon: lon.clamp(-180.0, 180.0),
        }
    }

    /// Integer micro-degrees, rounded half away from zero, always in range.
    pub fn to_geo(self) -> GeoPoint {
        let p = self.normalized();
        GeoPoint {
            lat_ud: ((p.lat * 1e6).round() as i32).clamp(-90_000_000, 90_000_000),
            lon_ud: ((p.lon * 1e6).round() as i32).clamp(-180_000_000, 180_000_000),
        }
    }

    /// The point `east_km` east and `north_km` north of this one (local flat approximation).
    pub fn offset_km(self, east_km: f64, north_km: f64) -> Point {
        let cos_lat = libm::cos(self.lat.to_radians()).max(0.05);
        Point {
            lat: self.lat + north_km / KM_PER_DEG,
            lon: self.lon + east_km / (KM_PER_DEG * cos_lat),
        }
        .normalized()
    }

    /// The point a fraction `f` of the way to `to` (linear in degrees: short legs only).
    pub fn lerp(self, to: Point, f: f64) -> Point {
        Point {
            lat: self.lat + (to.lat - self.lat) * f,
            lon: self.lon + (to.lon - self.lon) * f,
        }
    }

    /// Bearing sector of `to` seen from this point, in `0..sectors`.
    pub fn sector_of(self, to: Point, sectors: usize) -> usize {
        let angle = libm::atan2(
            to.lat - self.lat,
            (to.lon - self.lon) * libm::cos(self.lat.to_radians()),
        );
        let turn = (angle / std::f64::consts::TAU).rem_euclid(1.0);
        ((turn * sectors as f64) as usize).min(sectors - 1)
    }
}

/// Great-circle distance (haversine).
pub fn distance_km(a: Point, b: Point) -> f64 {
    let (la1, la2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = la2 - la1;
    let dlon = (b.lon - a.lon).to_radians();
    let (s_lat, s_lon) = (libm::sin(dlat / 2.0), libm::sin(dlon / 2.0));
    let h = s_lat * s_lat + libm::cos(la1) * libm::cos(la2) * s_lon * s_lon;
    2.0 * EARTH_RADIUS_KM * libm::asin(h.sqrt().min(1.0))
}

/// Road distance between two points.
pub fn road_km(a: Point, b: Point) -> f64 {
    distance_km(a, b) * ROAD_FACTOR
}

/// A uniformly random point in the disc of `radius_km` around `centre`.
fn in_disc(rng: &mut Rng, centre: Point, radius_km: f64) -> Point {
    let r = radius_km * rng.f64().sqrt();
    let a = rng.f64() * std::f64::consts::TAU;
    centre.offset_km(r * libm::cos(a), r * libm::sin(a))
}

/// The region of a scenario.
#[derive(Debug, Clone, Copy)]
pub struct Region {
    pub centre: Point,
    pub radius_km: f64,
}

impl Region {
    pub fn of(spec: &WorldSpec) -> Region {
        Region {
            centre: Point::from_ud(spec.region_lat_ud, spec.region_lon_ud),
            radius_km: spec.region_radius_km,
        }
    }
}

/// Depots: within a quarter of the radius from the centre (logistics parks by the ring road).
pub fn place_depots(rng: &mut Rng, region: Region, count: u32) -> Vec<Point> {
    (0..count)
        .map(|_| in_disc(rng, region.centre, region.radius_km * 0.25))
        .collect()
}

/// Customer delivery addresses: about two thirds in towns (Gaussian clusters of a few km),
/// the rest spread over the region; all within the region's radius.
pub fn place_customers(rng: &mut Rng, region: Region, count: u32) -> Vec<Point> {
    let towns_n = (count / 150).clamp(3, 12) as usize;
    let mut towns = Vec::with_capacity(towns_n);
    let mut town_weight = Vec::with_capacity(towns_n);
    let mut total = 0.0;
    for _ in 0..towns_n {
        let centre = in_disc(rng, region.centre, region.radius_km * 0.8);
        let spread_km = region.radius_km * (0.03 + 0.05 * rng.f64());
        // Town sizes are skewed: a city and a few smaller towns.
        let w = rng.lognormal(1.0, 0.8);
        total += w;
        towns.push((centre, spread_km));
        town_weight.push(total);
    }
    let mut out = Vec::with_capacity(count as usize);
    while out.len() < count as usize {
        let p = if rng.chance(0.65) {
            let x = rng.f64() * total;
            let i = town_weight.partition_point(|&c| c <= x).min(towns_n - 1);
            let (c, s) = towns[i];
            c.offset_km(rng.normal() * s, rng.normal() * s)
        } else {
            in_disc(rng, region.centre, region.radius_km)
        };
        if distance_km(region.centre, p) <= region.radius_km {
            out.push(p);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_and_offsets_agree() {
        let a = Point {
            lat: 52.37,
            lon: 4.90,
        };
        let b = a.offset_km(30.0, 40.0);
        let d = distance_km(a, b);
        assert!((d - 50.0).abs() < 0.5, "{d}");
        assert!(distance_km(a, a) < 1e-9);
    }

    #[test]
    fn geo_points_stay_in_range() {
        let p = Point {
            lat: 89.9999999,
            lon: 179.9999999,
        }
        .offset_km(100.0, 100.0);
        let g = p.to_geo();
        assert!((-90_000_000..=90_000_000).contains(&g.lat_ud));
        assert!((-180_000_000..=180_000_000).contains(&g.lon_ud));
    }
}
