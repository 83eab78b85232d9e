//! `waybill schema`: the published contracts (the `waybill-contract` crate), printed as
//! pretty JSON with a trailing newline, the same bytes on every run.

use crate::args::{SchemaArgs, SchemaFormat};
use crate::error::CliError;
use crate::output::Out;
use std::process::ExitCode;
use waybill_contract::catalog;

pub fn run(a: SchemaArgs) -> Result<ExitCode, CliError> {
    let doc = document(&a).map_err(CliError::Usage)?;
    let mut out = Out::new();
    // The text ends with its newline: written as it is.
    let text = waybill_contract::to_pretty_json(&doc);
    out.line(text.trim_end_matches('\n'))?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The document the arguments ask for, or one line saying why they ask for none.
fn document(a: &SchemaArgs) -> Result<serde_json::Value, String> {
    if a.format != SchemaFormat::JsonSchema {
        let given = [
            (a.event_type.is_some(), "--type"),
            (a.version.is_some(), "--version"),
            (a.effect.is_some(), "--effect"),
        ];
        if let Some((_, flag)) = given.iter().find(|(g, _)| *g) {
            return Err(format!(
                "{flag} selects a JSON Schema; --format asyncapi and --format openapi print a whole document"
            ));
        }
        return Ok(match a.format {
            SchemaFormat::Asyncapi => waybill_contract::asyncapi(),
            _ => waybill_contract::openapi(),
        });
    }
    match (&a.event_type, &a.effect) {
        (Some(_), Some(_)) => Err("--type and --effect: give one of them".to_owned()),
        (None, Some(e)) if a.version.is_some() => Err(format!(
            "--version is the schema version of an event type; effect {e} has one schema"
        )),
        (None, Some(e)) => catalog::effect_schema_named(e),
        (Some(t), None) => catalog::event_schema_named(t, a.version.unwrap_or(1)),
        (None, None) if a.version.is_some() => {
            Err("--version needs --type (the event type whose version it is)".to_owned())
        }
        (None, None) => Ok(catalog::events_bundle()),
    }
}
