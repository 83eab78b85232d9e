//! The machine's limit (docs/cli.md, `waybill bench`): frame + CRC32C + copy into a pre-faulted
//! mapped segment, and one random hash-map update per event — the least any journaling core must
//! do.

use super::paths::Archived;
use rustc_hash::FxHashMap;
use std::time::Instant;

/// The mapped region written cyclically (pre-faulted once, so no page faults are measured).
const REGION_BYTES: usize = 256 << 20;
/// Bytes of state per entry in the map (the size of a compact shipment record).
const SLOT_BYTES: usize = 128;
/// Frame header bytes, as in the journal.
const HEADER_BYTES: usize = 48;

pub fn run(archived: &Archived, shipments: u64) -> f64 {
    let mut region = memmap2::MmapMut::map_anon(REGION_BYTES).expect("map");
    for page in region.chunks_mut(4096) {
        page[0] = 0;
    }
    let mut map: FxHashMap<u64, [u8; SLOT_BYTES]> = FxHashMap::default();
    map.reserve(shipments as usize);
    for id in 0..shipments {
        map.insert(id, [0; SLOT_BYTES]);
    }
    // Keys: a fixed pseudo-random walk over the shipments, computed before timing.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let keys: Vec<u64> = (0..archived.len())
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % shipments
        })
        .collect();
    let t0 = Instant::now();
    let mut at = 0usize;
    for (i, key) in keys.iter().enumerate() {
        let payload = archived.get(i);
        let frame = HEADER_BYTES + payload.len().div_ceil(16) * 16;
        if at + frame > REGION_BYTES {
            at = 0;
        }
        let dst = &mut region[at..at + frame];
        dst[8..16].copy_from_slice(&(i as u64 + 1).to_le_bytes());
        dst[HEADER_BYTES..HEADER_BYTES + payload.len()].copy_from_slice(payload);
        let crc = crc32c::crc32c(&dst[8..HEADER_BYTES + payload.len()]);
        dst[0..4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        dst[4..8].copy_from_slice(&crc.to_le_bytes());
        at += frame;
        let slot = map.get_mut(key).expect("pre-filled");
        slot[..8].copy_from_slice(&(i as u64).to_le_bytes());
        slot[8] = slot[8].wrapping_add(1);
    }
    let s = t0.elapsed().as_secs_f64();
    std::hint::black_box(&region);
    super::eps(archived.len(), s)
}
