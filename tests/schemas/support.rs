//! The compiled schemas, and the two judges of one line: the decoder and the schema of a
//! (type, version).

use jsonschema::Validator;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use waybill_core::decode::decode;
use waybill_core::event::{DeadLetterReason, Entry, EventType};
use waybill_core::schema::event_schema;

/// Every event schema, compiled once.
pub struct Schemas(BTreeMap<(EventType, u32), Validator>);

impl Schemas {
    fn new() -> Schemas {
        let mut map = BTreeMap::new();
        for ty in EventType::ALL {
            for &version in ty.versions() {
                let schema = event_schema(ty, version).expect("a listed version has a schema");
                map.insert((ty, version), compile(&schema));
            }
        }
        Schemas(map)
    }

    /// The validator of (`ty`, `version`); `None` when the type has no such version.
    pub fn get(&self, ty: EventType, version: u32) -> Option<&Validator> {
        self.0.get(&(ty, version))
    }
}

/// Compiles a schema as draft 2020-12. `format` stays an annotation: the patterns state the
/// times exactly (see `formats_disagree_with_the_decoder`).
pub fn compile(schema: &Value) -> Validator {
    jsonschema::draft202012::options()
        .should_validate_formats(false)
        .with_pattern_options(jsonschema::PatternOptions::regex())
        .build(schema)
        .unwrap_or_else(|e| panic!("schema {} does not compile: {e}", schema["$id"]))
}

pub fn schemas() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(Schemas::new)
}

/// The (type, version) a parsed event claims: its `type`, and its `schemaversion` (absent or
/// null: 1; a number is read as JSON Schema reads it, so `1.0` is 1). `None` when the type is
/// unknown or not a string, or the version is no whole number in `u32`.
pub fn claimed(event: &Value) -> Option<(EventType, u32)> {
    let ty = EventType::parse(event.get("type")?.as_str()?)?;
    let version = match event.get("schemaversion") {
        None | Some(Value::Null) => 1,
        Some(Value::Number(n)) => {
            let f = n.as_f64()?;
            if f.fract() != 0.0 || !(0.0..=f64::from(u32::MAX)).contains(&f) {
                return None;
            }
            f as u32
        }
        Some(_) => return None,
    };
    Some((ty, version))
}

/// The decoder's verdict on a line: accepted, or the dead letter's reason and detail.
pub fn decoded(line: &[u8]) -> Result<(), (DeadLetterReason, String)> {
    match decode(line) {
        Entry::Event(_) => Ok(()),
        Entry::DeadLetter(d) => Err((d.reason, d.detail)),
        other => panic!("decode gave neither an event nor a dead letter: {other:?}"),
    }
}

/// Whether `line` parses as JSON and validates against the schema of (`ty`, `version`).
pub fn validates(line: &[u8], ty: EventType, version: u32) -> bool {
    let validator = schemas()
        .get(ty, version)
        .unwrap_or_else(|| panic!("no schema for {} v{version}", ty.as_str()));
    match serde_json::from_slice::<Value>(line) {
        Ok(v) => validator.is_valid(&v),
        Err(_) => false,
    }
}
