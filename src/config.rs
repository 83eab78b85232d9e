//! The configuration file (TOML) that `waybill ingest --config` and `waybill effects deliver
//! --config` read: the sinks effects are delivered to (`[sinks.<name>]`, docs/effects.md) and
//! the journal's SLA targets (`[sla]`, minutes). Every key has a default; an unknown key is an
//! error naming it (exit 2).

use crate::error::{CliError, one_line};
use serde::Deserialize;
use std::path::Path;
use waybill_core::outbox::SinksConfig;

/// The whole file.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub sinks: SinksConfig,
    /// SLA targets; without the table the journal's targets are left as they are.
    pub sla: Option<SlaConfig>,
}

/// `[sla]`: targets in whole minutes, the same table `waybill serve` reads.
pub use waybill_server::config::SlaConfig;

/// Reads and checks the file named by `--config`; relative sink `path`s are taken from the
/// file's directory.
pub fn read(path: &Path) -> Result<Config, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::from_user_path("cannot read --config", path, &e))?;
    let mut parsed: Config = toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|sp| 1 + text[..sp.start].matches('\n').count());
        let at = line.map(|l| format!(" line {l}:")).unwrap_or_default();
        CliError::Usage(format!(
            "--config {}:{at} {}",
            path.display(),
            e.message().trim()
        ))
    })?;
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    parsed.sinks.resolve_paths(base);
    parsed
        .sinks
        .validate()
        .map_err(|e| CliError::Usage(format!("--config {}: {}", path.display(), one_line(&e))))?;
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use waybill_core::event::Settings;

    fn parse(text: &str) -> Result<Config, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.toml");
        std::fs::write(&path, text).unwrap();
        read(&path).map_err(|e| e.to_string())
    }

    #[test]
    fn sla_and_sinks_share_one_file_and_unknown_keys_are_named() {
        let c = parse("[sla]\norder_to_dispatch = 240\n[sinks.ops]\nkind = \"stdout\"\n").unwrap();
        assert_eq!(
            c.sla.unwrap().targets(),
            Settings {
                order_to_dispatch_min: Some(240),
                invoice_cycle_min: None,
                pod_propagation_min: None,
            }
        );
        assert!(parse("").unwrap().sla.is_none());
        for (text, needle) in [
            ("[sla]\norder_to_dispach = 1\n", "order_to_dispach"),
            ("[slas]\n", "slas"),
            ("[sla]\ninvoice_cycle = -1\n", "invoice_cycle"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(needle) || e.contains("line"), "{text}: {e}");
        }
    }
}
