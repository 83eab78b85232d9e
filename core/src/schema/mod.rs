//! The published JSON Schemas (draft 2020-12) of Waybill's events and effects, generated from
//! the core's own definitions (docs/schemas.md).
//!
//! - [`event_schema`]: a whole event of one type and version (the CloudEvents envelope and its
//!   `data`), as a producer must send it. Its limits come from the constants the decoder and
//!   the validator use (`event::MAX_ID_BYTES`, `MAX_REASON_BYTES`, ...), its payload from the
//!   table of [`payload_fields`], so the schema and the decoder cannot drift apart. An event
//!   the decoder accepts validates; an event the schema accepts is accepted by the decoder,
//!   except where it breaks one of the [`UNSTATED_RULES`], the decoder's rules JSON Schema
//!   cannot state.
//! - [`effect_schema`]: an effect as a sink receives it (docs/effects.md).
//!
//! Every schema is self-contained (no `$ref`), so it can be embedded in another document as
//! it is. Output is deterministic: object keys are sorted at every level, whatever the
//! `serde_json` features of the build.
//!
//! ```
//! use waybill_core::event::EventType;
//! use waybill_core::schema::{event_schema, event_schema_id};
//!
//! let schema = event_schema(EventType::VehiclePosition, 1).expect("every type has version 1");
//! assert_eq!(schema["$id"], event_schema_id(EventType::VehiclePosition, 1));
//! assert_eq!(schema["properties"]["type"]["const"], "vehicle.position");
//! assert!(event_schema(EventType::OrderCreated, 2).is_none());
//! ```

mod effects;
mod events;
mod fields;
mod patterns;
#[cfg(test)]
mod tests;
mod unstated;

// For the decoder to take its field tables from (a unit test holds them equal until then).
#[cfg_attr(not(test), allow(unused_imports))]
pub(crate) use fields::payload_field_names;
pub use fields::{Field, Kind, payload_fields};
pub use unstated::{UNSTATED_RULES, UnstatedRule};

use crate::effect::EffectType;
use crate::event::EventType;
use serde_json::{Map, Value};

/// The `$schema` of every schema: JSON Schema draft 2020-12.
pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// The JSON Schema of a whole event of type `ty` in schema version `version`; `None` when
/// `version` is not one of [`EventType::versions`].
pub fn event_schema(ty: EventType, version: u32) -> Option<Value> {
    events::event(ty, version).map(sorted)
}

/// The `$id` of [`event_schema`]: `urn:waybill:schema:event:<type>:v<version>`.
pub fn event_schema_id(ty: EventType, version: u32) -> String {
    format!("urn:waybill:schema:event:{}:v{version}", ty.as_str())
}

/// The JSON Schema of an effect of type `ty` as a sink receives it.
pub fn effect_schema(ty: EffectType) -> Value {
    sorted(effects::effect(ty))
}

/// The `$id` of [`effect_schema`]: `urn:waybill:schema:effect:<type>`.
pub fn effect_schema_id(ty: EffectType) -> String {
    format!("urn:waybill:schema:effect:{}", ty.as_str())
}

/// `v` with the keys of every object in sorted order: the same text whether `serde_json`
/// keeps insertion order (`preserve_order`) or sorts.
fn sorted(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let mut out = Map::new();
            for (k, v) in entries {
                out.insert(k, sorted(v));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}
