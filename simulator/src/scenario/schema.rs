//! The scenario key of schema versions (`[schema]`): which share of the chosen systems' events
//! of a type that has a version 2 (`vehicle.position`, `charge.added`) go on the wire in
//! version 2. The core upcasts them to the canonical form, so a run must give the state and
//! digest its version 1 twin gives.

use super::{ScenarioError, SourceSel, share};
use serde::Deserialize;
use waybill_core::event::System;

/// `[schema]`: by default every event is sent in version 1.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaSpec {
    /// The share of the selected events sent in version 2, in [0, 1].
    pub version2_share: f64,
    /// The systems whose events may go in version 2 (empty: none; `*` selects all).
    pub version2_sources: Vec<SourceSel>,
}

impl Default for SchemaSpec {
    fn default() -> Self {
        SchemaSpec {
            version2_share: 0.0,
            version2_sources: vec![SourceSel(None)],
        }
    }
}

impl SchemaSpec {
    /// Whether events of `system` may be sent in version 2.
    pub fn selects(&self, system: Option<System>) -> bool {
        self.version2_sources.iter().any(|sel| match system {
            Some(s) => sel.matches(s),
            None => sel.0.is_none(),
        })
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct SchemaToml {
    version2_share: Option<f64>,
    version2_sources: Option<Vec<String>>,
}

pub(super) fn schema_spec(t: SchemaToml) -> Result<SchemaSpec, ScenarioError> {
    let version2_share = share("schema.version2_share", t.version2_share, 0.0)?;
    let version2_sources = match t.version2_sources {
        None => vec![SourceSel(None)],
        Some(list) => list
            .iter()
            .map(|s| match s.as_str() {
                "*" => Ok(SourceSel(None)),
                s => System::parse(s).map(|s| SourceSel(Some(s))).ok_or_else(|| {
                    ScenarioError(format!(
                        "schema.version2_sources: {s:?} is not erp, route, fleet, billing or \"*\""
                    ))
                }),
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    Ok(SchemaSpec {
        version2_share,
        version2_sources,
    })
}
