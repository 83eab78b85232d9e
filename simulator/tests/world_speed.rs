//! Generation speed of a peak-season world (release builds: `cargo test --release -p
//! waybill-sim --test world_speed -- --ignored --nocapture`).

use std::time::Instant;
use waybill_sim::scenario::Scenario;
use waybill_sim::world::generate;

const PEAK: &str = r#"
name = "peak"
[world]
shipments = 80000
vehicles = 1500
start = "2026-11-27T00:00:00Z"
horizon = "24h"
ping_interval = "60s"
[[world.demand]]
from = "8h"
to = "10h"
multiplier = 6.0
"#;

#[test]
#[ignore = "a measurement, for release builds"]
fn peak_world_generation_speed() {
    let text = match std::env::var("WORLD_SHIPMENTS") {
        Ok(n) => PEAK.replace("shipments = 80000", &format!("shipments = {n}")),
        Err(_) => PEAK.to_string(),
    };
    let s = Scenario::from_toml(&text).unwrap();
    let t = Instant::now();
    let w = generate(&s, 7);
    let dt = t.elapsed();
    println!(
        "{} events in {:.2?} ({:.1} M events/s)",
        w.events.len(),
        dt,
        w.events.len() as f64 / dt.as_secs_f64() / 1e6
    );
    let mut f = w.facts.clone();
    f.detention_omissions.clear();
    println!("{}", serde_json::to_string_pretty(&f).unwrap());
}
