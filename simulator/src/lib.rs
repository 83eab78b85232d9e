//! # waybill-sim
//!
//! The scenario simulator: from one seed it builds a logistics world (orders, routes,
//! vehicles, telematics, billing), sends its events through a faulty delivery network
//! (outages, reordering, duplicates, loss, malformed events, crashes) into the Waybill core,
//! delivers the effects the core derives to simulated downstream systems (outages, random
//! failures, latency) in simulated time, and checks the core against the simulator's own ground
//! truth.
//!
//! - [`scenario`]: scenario files (TOML) and their validation.
//! - [`rng`]: the seeded generator, split into named sub-streams.
//! - [`world`]: the ground-truth world and the events each system emits.
//! - [`network`]: the delivery network and its faults; the arrival-ordered stream.
//! - [`oracle`]: the expected state of every shipment, computed from the world.
//! - [`run`]: driving the stream through the core, measuring, crashing and reopening; the
//!   effects' delivery and its checks.
//! - [`checks`]: the pass/fail checklist.
//! - [`report`]: the human summary, JSON and HTML reports.

pub mod checks;
pub mod network;
pub mod oracle;
pub mod report;
pub mod rng;
pub mod run;
pub mod scenario;
pub mod workload;
pub mod world;
