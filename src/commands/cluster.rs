//! `waybill cluster`: the scale-out on NATS JetStream (the `waybill-cluster` crate,
//! docs/cluster.md).

use std::io::Read;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use waybill_cluster::keygroup::GroupOptions;
use waybill_cluster::status::ClusterStatus;
use waybill_cluster::{Cluster, ClusterError, Shape};
use waybill_core::outbox::parse_duration_us;
use waybill_core::{Durability, SinksConfig, SnapshotPolicy};

use crate::args::{
    ClusterArg, ClusterCommand, ClusterCoreArgs, ClusterIngressArgs, ClusterSequencerArgs,
    ClusterStatusArgs,
};
use crate::error::CliError;
use crate::output::Out;

pub fn run(c: ClusterCommand) -> Result<ExitCode, CliError> {
    match c {
        ClusterCommand::Ingress(a) => ingress(a),
        ClusterCommand::Sequencer(a) => sequencer(a),
        ClusterCommand::Core(a) => core(a),
        ClusterCommand::Status(a) => status(a),
    }
}

/// A cluster error as the command line reports it: a server that cannot be reached or that
/// refuses is the environment (exit 3); a shape that disagrees, bad usage (exit 2); a key
/// group's core error, by its kind.
fn cli_error(e: ClusterError) -> CliError {
    let msg = e.to_string();
    match &e {
        ClusterError::Protocol(_) => CliError::Usage(msg),
        ClusterError::Core { source, .. } => match source.kind() {
            waybill_core::ErrorKind::Corrupt => CliError::Check(msg),
            waybill_core::ErrorKind::BadInput => CliError::Usage(msg),
            waybill_core::ErrorKind::Capacity | waybill_core::ErrorKind::Environment => {
                CliError::Env(msg)
            }
        },
        ClusterError::Nats { .. } | ClusterError::Input(_) => CliError::Env(msg),
    }
}

async fn connect(a: &ClusterArg, name: &str) -> Result<Cluster, CliError> {
    let shape = match (a.key_groups, a.source_ranges) {
        (None, None) => None,
        (k, r) => Some(Shape {
            key_groups: k.unwrap_or(Shape::default().key_groups),
            source_ranges: r.unwrap_or(Shape::default().source_ranges),
        }),
    };
    // Connecting retries until the server answers: bound it, so a wrong URL is an error.
    match waybill_cluster::timeout(
        Duration::from_secs(10),
        waybill_cluster::connect(&a.nats, name, shape),
    )
    .await
    {
        Some(r) => r.map_err(cli_error),
        None => Err(CliError::Env(format!(
            "no NATS server with JetStream answered at {} within 10 s (scripts/nats-server start runs one)",
            a.nats
        ))),
    }
}

fn ingress(a: ClusterIngressArgs) -> Result<ExitCode, CliError> {
    let input: Box<dyn Read + Send> = match a.input.as_deref() {
        None => Box::new(std::io::stdin()),
        Some(p) if p.as_os_str() == "-" => Box::new(std::io::stdin()),
        Some(p) => {
            Box::new(std::fs::File::open(p).map_err(|e| CliError::from_user_path("input", p, &e))?)
        }
    };
    let run = format!("{}-{}", std::process::id(), waybill_core::system_clock_us());
    let report = waybill_cluster::block_on(async {
        let cluster = connect(&a.cluster, "waybill-ingress").await?;
        waybill_cluster::ingress::run_ingress(&cluster, input, &run)
            .await
            .map_err(cli_error)
    })?;
    let mut out = Out::new();
    if a.json {
        out.line(serde_json::to_string(&report).expect("a report serializes"))?;
    } else {
        out.line(format!(
            "published {} events ({} genuine duplicates, {} not events, {} already stored by an earlier try)",
            report.events, report.duplicates, report.not_events, report.already_stored
        ))?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn sequencer(a: ClusterSequencerArgs) -> Result<ExitCode, CliError> {
    let progress = waybill_cluster::block_on(async {
        let cluster = connect(&a.cluster, &format!("waybill-sequencer-{}", a.range)).await?;
        if a.range >= cluster.shape.source_ranges {
            return Err(CliError::Usage(format!(
                "--range {} is not below the cluster's {} source ranges",
                a.range, cluster.shape.source_ranges
            )));
        }
        eprintln!("waybill cluster sequencer {}: running", a.range);
        waybill_cluster::sequencer::run_sequencer(
            &cluster,
            a.range,
            waybill_cluster::shutdown_signal(),
        )
        .await
        .map_err(cli_error)
    })?;
    eprintln!(
        "waybill cluster sequencer {}: stopped at input message {} ({} received, {} duplicates)",
        a.range, progress.in_sequence, progress.received, progress.duplicates
    );
    Ok(ExitCode::SUCCESS)
}

fn core(a: ClusterCoreArgs) -> Result<ExitCode, CliError> {
    waybill_cluster::names::check_core_id(&a.id)
        .map_err(|e| CliError::Usage(format!("--id: {e}")))?;
    let durability: Durability = a
        .durability
        .parse()
        .map_err(|e| CliError::Usage(format!("{e}")))?;
    let sinks = match a.config.as_deref() {
        Some(p) => {
            let config = crate::config::read(p)?;
            if config.sla.is_some() {
                return Err(CliError::Usage(format!(
                    "--config {}: [sla] targets are not supported in a cluster yet (docs/cluster.md)",
                    p.display()
                )));
            }
            config.sinks
        }
        None => SinksConfig::default(),
    };
    let segment_ok =
        (64 << 10..=1 << 30).contains(&a.segment_bytes) && a.segment_bytes.is_multiple_of(4096);
    if !segment_ok {
        return Err(CliError::Usage(format!(
            "--segment-bytes {} must be a multiple of 4096 from 64 KiB to 1 GiB",
            a.segment_bytes
        )));
    }
    std::fs::create_dir_all(&a.data)
        .map_err(|e| CliError::from_user_path("--data", &a.data, &e))?;
    let opts = GroupOptions {
        data_dir: a.data.clone(),
        sinks,
        durability,
        snapshots: SnapshotPolicy {
            every_records: a.snapshot_every,
            on_close_min_records: 1,
            ..SnapshotPolicy::default()
        },
        segment_bytes: a.segment_bytes,
    };
    waybill_cluster::block_on(async {
        let cluster = connect(&a.cluster, &format!("waybill-core-{}", a.id)).await?;
        eprintln!(
            "waybill cluster core {}: running on {}",
            a.id,
            a.data.display()
        );
        waybill_cluster::core::run_core(
            cluster,
            a.id.clone(),
            opts,
            waybill_cluster::shutdown_signal(),
        )
        .await
        .map_err(cli_error)
    })?;
    eprintln!("waybill cluster core {}: stopped cleanly", a.id);
    Ok(ExitCode::SUCCESS)
}

fn status(a: ClusterStatusArgs) -> Result<ExitCode, CliError> {
    let wait = a
        .wait
        .as_deref()
        .map(|w| {
            parse_duration_us(w)
                .filter(|us| *us >= 0)
                .map(|us| Duration::from_micros(us as u64))
                .ok_or_else(|| {
                    CliError::Usage(format!("--wait {w:?} is not a duration (like \"30s\")"))
                })
        })
        .transpose()?;
    let status = waybill_cluster::block_on(async {
        let cluster = connect(&a.cluster, "waybill-status").await?;
        let start = Instant::now();
        loop {
            let s = waybill_cluster::status::status(&cluster)
                .await
                .map_err(cli_error)?;
            match wait {
                Some(w) if !s.caught_up && start.elapsed() < w => {
                    waybill_cluster::sleep(Duration::from_millis(200)).await;
                }
                _ => return Ok::<_, CliError>(s),
            }
        }
    })?;
    let mut out = Out::new();
    if a.json {
        out.line(serde_json::to_string(&status).expect("a status serializes"))?;
    } else {
        print_status(&mut out, &status)?;
    }
    out.flush()?;
    if wait.is_some() && !status.caught_up {
        return Err(CliError::Check(
            "the cluster did not catch up within --wait".to_owned(),
        ));
    }
    Ok(ExitCode::SUCCESS)
}

fn print_status(out: &mut Out, s: &ClusterStatus) -> Result<(), CliError> {
    out.line(format!(
        "cluster: {} key groups, {} source range(s); caught up: {}",
        s.shape.key_groups,
        s.shape.source_ranges,
        if s.caught_up { "yes" } else { "no" }
    ))?;
    for q in &s.sequencers {
        out.line(format!(
            "sequencer {}: {} of {} input messages republished (lag {})",
            q.range,
            q.in_sequence,
            q.in_last,
            q.in_last.saturating_sub(q.in_sequence)
        ))?;
    }
    let mut owners: std::collections::BTreeMap<&str, Vec<u32>> = Default::default();
    for g in &s.groups {
        owners
            .entry(if g.owner.is_empty() {
                "(none)"
            } else {
                &g.owner
            })
            .or_default()
            .push(g.group);
    }
    for (core, groups) in &owners {
        let lag: u64 = s
            .groups
            .iter()
            .filter(|g| groups.contains(&g.group))
            .map(|g| g.lag)
            .sum();
        out.line(format!(
            "core {core}: {} key groups, lag {lag} messages",
            groups.len()
        ))?;
    }
    let m = &s.summary;
    out.line(format!("digest {}", m.digest))?;
    out.line(format!(
        "received {} = applied {} + duplicates {} + dead-lettered {}; missing {} in {} source(s)",
        m.received,
        m.applied,
        m.duplicates,
        m.dead_lettered,
        m.missing,
        m.gaps.len()
    ))?;
    Ok(())
}
