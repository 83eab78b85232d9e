//! Command-line arguments; docs/cli.md documents every command, flag and exit code.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "waybill",
    version,
    about = "Deterministic event core for logistics sync",
    long_about = None,
    after_help = "Exit codes: 0 success; 1 a check failed (a corrupt journal, a failed scenario \
                  check); 2 bad usage or bad input; 3 the environment failed (I/O error, full \
                  disk, permission, journal locked by another writer, capacity limit)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Append and apply CloudEvents (JSONL or a batch array); prints the counters once they are durable.
    Ingest(IngestArgs),
    /// The state: a summary, one shipment, or every shipment; now or at a point in the journal.
    State(StateArgs),
    /// Every journal record that touched a shipment, with LSN, ingest time and outcome.
    History(HistoryArgs),
    /// Journal audits: verify and dump.
    #[command(subcommand)]
    Journal(JournalCommand),
    /// Dead-lettered events with their reasons and raw bytes.
    DeadLetters(DeadLettersArgs),
    /// Effects for the downstream systems: their delivery state; `redrive` and `deliver`.
    Effects(EffectsArgs),
    /// Write a snapshot of the state at the journal's last record, so that opening replays only the records after it; runs beside a writer without stopping it.
    Snapshot(SnapshotArgs),
    /// The scenario simulator: run a scenario through the core, or export its event stream.
    #[command(subcommand)]
    Sim(SimCommand),
    /// The side-by-side benchmark: every path on the same generated events, in one process.
    Bench(BenchArgs),
    /// Run the core as a service: HTTP ingress of CloudEvents, queries, metrics, a dashboard.
    Serve(ServeArgs),
    /// Drive a running service with generated CloudEvents at an offered rate; report events acknowledged durable per second and their latency.
    Load(LoadArgs),
    /// Scale out on NATS JetStream: ingress, a sequencer per source range, cores owning key groups, and the cluster's status (docs/cluster.md).
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// The published contracts: the JSON Schema of an event type and version (or of every event, or of an effect), the AsyncAPI 3.0 document of every event in and effect out, the OpenAPI 3.1 document of the HTTP API.
    Schema(SchemaArgs),
}

/// `waybill schema`.
#[derive(Args, Debug)]
pub struct SchemaArgs {
    /// An event type (`order.created`, ...): print the schema of its events; without it, the
    /// bundle of every event schema.
    #[arg(long = "type", value_name = "T")]
    pub event_type: Option<String>,
    /// The schema version of `--type` [default: 1].
    #[arg(long, value_name = "V")]
    pub version: Option<u32>,
    /// An effect type (`alert.gap`, ...): print the schema of its effects as a sink receives
    /// them.
    #[arg(long, value_name = "E")]
    pub effect: Option<String>,
    /// What to print.
    #[arg(long, value_enum, default_value_t = SchemaFormat::JsonSchema)]
    pub format: SchemaFormat,
}

/// The documents of `waybill schema`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemaFormat {
    /// JSON Schema 2020-12.
    JsonSchema,
    /// AsyncAPI 3.0.
    Asyncapi,
    /// OpenAPI 3.1.
    Openapi,
}

/// `waybill cluster`.
#[derive(Subcommand, Debug)]
pub enum ClusterCommand {
    /// Publish events (JSONL or a batch array) to the cluster's input stream, by source; prints what was published.
    Ingress(ClusterIngressArgs),
    /// Run the sequencer of one source range: dedupe and gap detection per source, republishing to the key groups.
    Sequencer(ClusterSequencerArgs),
    /// Run a core: claim a share of the key groups; journal, apply, snapshot and deliver the effects of each.
    Core(ClusterCoreArgs),
    /// The owners, the lag of each stage, and the cluster's summary (composed digest, counters, gaps).
    Status(ClusterStatusArgs),
}

/// What every `waybill cluster` command connects to.
#[derive(Args, Debug)]
pub struct ClusterArg {
    /// The NATS server (JetStream enabled); `scripts/nats-server start` runs one on 127.0.0.1:4222.
    #[arg(
        long,
        value_name = "URL",
        env = "WAYBILL_NATS_URL",
        default_value = "nats://127.0.0.1:4222"
    )]
    pub nats: String,
    /// Key groups of a new cluster (fixed once set; a later process must ask for the same or nothing) [default: 64].
    #[arg(long, value_name = "K")]
    pub key_groups: Option<u32>,
    /// Source ranges (sequencers) of a new cluster (fixed once set) [default: 1].
    #[arg(long, value_name = "R")]
    pub source_ranges: Option<u32>,
}

/// `waybill cluster ingress`.
#[derive(Args, Debug)]
pub struct ClusterIngressArgs {
    /// A JSONL file or a JSON array file; `-` or nothing reads standard input.
    #[arg(value_name = "FILE.jsonl | -")]
    pub input: Option<PathBuf>,
    #[command(flatten)]
    pub cluster: ClusterArg,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `waybill cluster sequencer`.
#[derive(Args, Debug)]
pub struct ClusterSequencerArgs {
    /// The source range this sequencer handles (below the cluster's source ranges).
    #[arg(long, value_name = "R", default_value_t = 0)]
    pub range: u32,
    #[command(flatten)]
    pub cluster: ClusterArg,
}

/// `waybill cluster core`.
#[derive(Args, Debug)]
pub struct ClusterCoreArgs {
    /// This core's id, unique in the cluster: [A-Za-z0-9_-], at most 64.
    #[arg(long, value_name = "ID")]
    pub id: String,
    /// Where the key groups' journals live (`<DIR>/kg-<k>`); cores on one machine may share it.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// A configuration file (TOML) whose `[sinks.<name>]` tables say where effects go; a `file` sink writes one file per key group (`<stem>-kg<k>.<ext>`).
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// none: page cache only; group: flushed every few ms; sync: every batch flushed before the next.
    #[arg(long, default_value = "group", value_parser = ["none", "group", "sync"])]
    pub durability: String,
    /// Take a snapshot of a key group every this many records (0: only at a clean close).
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub snapshot_every: u64,
    /// Size of each new segment file of a key group's journal (64 KiB to 1 GiB, a multiple of 4096).
    #[arg(long, value_name = "BYTES", default_value_t = waybill_cluster::keygroup::SEGMENT_BYTES_DEFAULT)]
    pub segment_bytes: u64,
    #[command(flatten)]
    pub cluster: ClusterArg,
}

/// `waybill cluster status`.
#[derive(Args, Debug)]
pub struct ClusterStatusArgs {
    /// Wait until every stage has handled all of its input (at most this long, e.g. "60s"); exit 1 if it has not by then.
    #[arg(long, value_name = "DURATION")]
    pub wait: Option<String>,
    /// Print the status as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub cluster: ClusterArg,
}

/// `waybill load`.
#[derive(Args, Debug)]
pub struct LoadArgs {
    /// The service (plain HTTP, no path).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Bearer token sent with every request; it must cover every source (`*`).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Events to send, generated as `waybill bench` generates them.
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub events: u64,
    /// Shipments in the generated world [default: events / 10].
    #[arg(long, value_name = "M")]
    pub shipments: Option<u64>,
    /// Seed of the generated world.
    #[arg(long, value_name = "N", default_value_t = BENCH_SEED_DEFAULT)]
    pub seed: u64,
    /// Events per request: 1 sends each event alone (structured mode), more a JSON array (batch mode).
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub batch: u32,
    /// Offered rate in events per second (open loop, latency from each request's intended send time); 0: closed loop, each connection sends its next request once the one before is answered.
    #[arg(long, value_name = "EVENTS_PER_S", default_value_t = 0)]
    pub rate: u64,
    /// Send each request's events as JSON lines (application/x-ndjson) instead of a CloudEvents batch array or a single structured event.
    #[arg(long)]
    pub lines: bool,
    /// Connections, one thread each.
    #[arg(long, value_name = "C", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub connections: u32,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `waybill serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The configuration file (TOML; `examples/waybill.toml` shows every key). Every key has a
    /// default except `journal`.
    #[arg(long, value_name = "FILE.toml")]
    pub config: std::path::PathBuf,
    /// Listen here instead of the file's `listen` (e.g. 127.0.0.1:0 for a free port).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
}

/// Defaults of `waybill bench` (the full-size run).
pub const BENCH_EVENTS_DEFAULT: u64 = 10_000_000;
pub const BENCH_SHIPMENTS_DEFAULT: u64 = 1_000_000;
pub const BENCH_RATE_DEFAULT: u64 = 1_000_000;
pub const BENCH_SEED_DEFAULT: u64 = 9;

/// The options of a run are optional so that comparing two saved reports (which runs
/// nothing) can refuse them; their defaults are the constants above.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Events to generate (a realistic mix, mostly telematics) [default: 10000000].
    #[arg(long, value_name = "N")]
    pub events: Option<u64>,
    /// Shipments in the generated world [default: 1000000].
    #[arg(long, value_name = "M")]
    pub shipments: Option<u64>,
    /// Offered rate of the fixed-rate open-loop latency runs, events per second [default:
    /// 1000000]; the other latency runs are offered 25 % and 50 % of the measured pipeline_eps.
    #[arg(long, value_name = "EPS")]
    pub rate: Option<u64>,
    /// Seed of the generated world [default: 9].
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Run every path N times in this process and report each figure's median, with its
    /// least and greatest value [default: 1].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeat: Option<u32>,
    /// Print every figure as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Run one path only (to profile it); the others report 0. `replay`, `snapshot` and
    /// `latency` also run `pipeline` (replay and snapshot read its journal; the latency runs
    /// take their rates from it). `restart` (the restart curve) runs only when asked for.
    /// `sqlite` needs the `sqlite` cargo feature (on by default).
    #[arg(long, value_name = "PATH", value_parser = crate::bench::PATHS)]
    pub only: Option<String>,
    /// Write the percentile distribution of every latency run (HdrHistogram's .hgrm text) and
    /// a chart of them all (latency.svg) into DIR.
    #[arg(long, value_name = "DIR")]
    pub latency_plot: Option<PathBuf>,
    /// Compare with a report saved from `--json`: this run against OLD.json, or, given two
    /// reports, NEW.json against OLD.json without running anything.
    #[arg(long, value_name = "OLD.json [NEW.json]", num_args = 1..=2)]
    pub compare: Vec<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum SimCommand {
    /// Generate the scenario, run it through the core, check it, print the report.
    Run(SimRunArgs),
    /// Write the scenario's event stream as delivered to the core (faults included), in arrival order.
    Export(SimExportArgs),
}

#[derive(Args, Debug)]
pub struct SimRunArgs {
    /// The scenario files (TOML); several run one after the other and end with a summary table.
    #[arg(value_name = "SCENARIO.toml", required = true, num_args = 1..)]
    pub scenarios: Vec<PathBuf>,
    /// Overrides each scenario's seed.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Journal directory (must not hold a journal yet); with several scenarios, one
    /// subdirectory per scenario file, named after it. A temporary one by default.
    #[arg(long, value_name = "DIR")]
    pub journal: Option<PathBuf>,
    /// Write every figure of the report as JSON (`-`: standard output, the summary then goes
    /// to standard error); with several scenarios, one JSON array of reports.
    #[arg(long, value_name = "FILE.json")]
    pub report: Option<PathBuf>,
    /// Write a self-contained HTML report with charts; with several scenarios, one file per
    /// scenario: FILE-<scenario file name>.html.
    #[arg(long, value_name = "FILE.html")]
    pub html: Option<PathBuf>,
    /// Write JUnit XML for CI systems: one test suite per scenario, one test case per check
    /// (`-`: standard output).
    #[arg(long, value_name = "FILE.xml")]
    pub junit: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct SimExportArgs {
    #[arg(value_name = "SCENARIO.toml")]
    pub scenario: PathBuf,
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Output file; standard output without it.
    #[arg(long, value_name = "FILE.jsonl")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct JournalArg {
    /// The journal directory.
    #[arg(long, value_name = "DIR")]
    pub journal: PathBuf,
}

#[derive(Args, Debug)]
pub struct IngestArgs {
    /// A JSONL file or a JSON array file; `-` or nothing reads standard input.
    #[arg(value_name = "FILE.jsonl | -")]
    pub input: Option<PathBuf>,
    #[command(flatten)]
    pub journal: JournalArg,
    /// none: page cache only; group: flushed every few ms; sync: every batch flushed before it is acknowledged.
    #[arg(long, default_value = "group", value_parser = ["none", "group", "sync"])]
    pub durability: String,
    /// Size of each new segment file in bytes (64 KiB to 1 GiB, a multiple of 4096). Default: the size of the journal's last segment, or 64 MiB for a new journal.
    #[arg(long, value_name = "BYTES")]
    pub segment_bytes: Option<u64>,
    /// Print the counters as JSON.
    #[arg(long)]
    pub json: bool,
    /// Print one JSON line per durable step (lsn, durable_lsn, counters) as ingest goes, then the counters as JSON.
    #[arg(long)]
    pub progress_json: bool,
    /// Write a snapshot (off the writer) every N records, so a restart replays at most about N; 0: none while ingesting.
    #[arg(long, default_value_t = waybill_core::snapshot::policy::SNAPSHOT_EVERY_RECORDS_DEFAULT, value_name = "N")]
    pub snapshot_every: u64,
    /// At the end, write a snapshot when at least N records were appended since the last one.
    #[arg(long, default_value_t = waybill_core::snapshot::policy::SNAPSHOT_ON_CLOSE_MIN_RECORDS_DEFAULT, value_name = "N")]
    pub snapshot_at_close_min: u64,
    /// Lower a capacity limit for this run (repeatable), e.g. `--limit sources=1000`: a batch that could go past it is refused (exit 3). Names and defaults: docs/limits.md.
    #[arg(long = "limit", value_name = "NAME=N")]
    pub limits: Vec<String>,
    /// A configuration file (TOML): `[sinks.<name>]` to deliver effects to while ingesting, `[sla]` targets for the journal (docs/effects.md). Without it effects are kept in the outbox, pending.
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// At the end, how long to wait for the sinks to take what is deliverable (e.g. "5s"); what stays pending waits for `waybill effects deliver`.
    #[arg(long, default_value = "5s", value_name = "DURATION")]
    pub deliver_wait: String,
}

#[derive(Args, Debug)]
pub struct PointInTime {
    /// The state after the records up to this LSN (an LSN past the end is an error).
    #[arg(long, value_name = "N", conflicts_with = "at_time")]
    pub at_lsn: Option<u64>,
    /// The state after every record ingested at or before this RFC 3339 time (ingest time: when the journal received it, not the events' own time).
    #[arg(long, value_name = "TIME")]
    pub at_time: Option<String>,
}

#[derive(Args, Debug)]
pub struct StateArgs {
    #[command(flatten)]
    pub journal: JournalArg,
    /// One shipment.
    #[arg(long, value_name = "ID", conflicts_with = "all")]
    pub shipment: Option<u64>,
    /// Every shipment, sorted by id: a table, or one JSON line each with --json.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub at: PointInTime,
    /// JSON instead of text: the summary or the shipment as one object, --all as one line per shipment.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub journal: JournalArg,
    /// The shipment (the number of its subject `shipment/ID`).
    #[arg(long, value_name = "ID")]
    pub shipment: u64,
    /// One JSON line per record.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum JournalCommand {
    /// Check framing, checksums and the hash chain and print the content digest (BLAKE3 anchor); exit 1 naming the first bad segment, offset and LSN.
    Verify(VerifyArgs),
    /// Records as text or JSON.
    Dump(DumpArgs),
    /// Move (or delete) the segments wholly covered by the newest usable snapshot, with the snapshots before them; refused without a snapshot or while a writer runs.
    Archive(ArchiveArgs),
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("where").required(true).args(["to", "delete"])))]
pub struct ArchiveArgs {
    #[command(flatten)]
    pub journal: JournalArg,
    /// Move them into this directory (created if needed; a file already there is never replaced).
    #[arg(long, value_name = "DIR2")]
    pub to: Option<PathBuf>,
    /// Delete them instead.
    #[arg(long)]
    pub delete: bool,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub journal: JournalArg,
    /// Report the content digest (the anchor) of the first N records instead of all; the
    /// checks still cover the whole journal. Fails when the journal holds fewer records.
    #[arg(long, value_name = "N")]
    pub at_lsn: Option<u64>,
    /// Also check every snapshot against a replay of the journal up to its LSN, byte for byte; exit 1 naming the first snapshot that differs or cannot be read.
    #[arg(long)]
    pub snapshots: bool,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct DumpArgs {
    #[command(flatten)]
    pub journal: JournalArg,
    /// Show records from this LSN on (LSNs start at 1; 0 means the first record too).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub from_lsn: u64,
    /// Show at most K records (0 shows none); all of them without it.
    #[arg(long, value_name = "K")]
    pub limit: Option<u64>,
    /// One JSON line per record, lossless (raw bytes that are not UTF-8 as raw_base64).
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct SnapshotArgs {
    #[command(flatten)]
    pub journal: JournalArg,
    /// Snapshots to keep: the newest K (older ones are removed once this one is written).
    #[arg(long, default_value_t = 2, value_name = "K", value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub keep: u64,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct DeadLettersArgs {
    #[command(flatten)]
    pub journal: JournalArg,
    /// One JSON line per dead letter, lossless (raw bytes that are not UTF-8 as raw_base64).
    #[arg(long)]
    pub json: bool,
}

/// The sinks of the outbox, as `--sink` takes them.
pub const SINKS: [&str; 4] = ["route", "billing", "erp", "ops"];

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct EffectsArgs {
    #[command(subcommand)]
    pub command: Option<EffectsCommand>,
    #[command(flatten)]
    pub list: EffectsListArgs,
}

#[derive(Subcommand, Debug)]
pub enum EffectsCommand {
    /// Make the dead letters of a sink (of every sink without --sink) pending again; refused while a delivery runs.
    Redrive(EffectsRedriveArgs),
    /// Deliver what is pending to the sinks of a configuration file, then exit: exit 1 when effects stayed pending.
    Deliver(EffectsDeliverArgs),
}

#[derive(Args, Debug)]
pub struct EffectsListArgs {
    /// The journal directory (required).
    #[arg(long, value_name = "DIR")]
    pub journal: Option<PathBuf>,
    /// Only the effects of this sink.
    #[arg(long, value_name = "SINK", value_parser = SINKS)]
    pub sink: Option<String>,
    /// Only the effects not yet delivered (pending and redriving).
    #[arg(long, conflicts_with = "dead")]
    pub pending: bool,
    /// The dead letters instead: attempts, last error, when; and the redriven ones not yet delivered.
    #[arg(long)]
    pub dead: bool,
    /// One JSON document, lossless: the effects (or dead letters) with their CloudEvents, then the lanes.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct EffectsRedriveArgs {
    #[command(flatten)]
    pub journal: JournalArg,
    /// Only this sink's dead letters.
    #[arg(long, value_name = "SINK", value_parser = SINKS)]
    pub sink: Option<String>,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct EffectsDeliverArgs {
    #[command(flatten)]
    pub journal: JournalArg,
    /// The sinks: a TOML file with a [sinks.<name>] table per sink (docs/effects.md).
    #[arg(long, value_name = "FILE.toml")]
    pub config: PathBuf,
    /// One attempt per batch: a lane stops at its first failure instead of retrying until its breaker opens.
    #[arg(long)]
    pub once: bool,
    /// The longest the command runs, e.g. `30s`, `10m`; what is still pending then stays pending.
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub timeout: String,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}
