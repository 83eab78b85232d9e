//! The published schemas: every (event type, version) and every effect type, looked up by
//! name, bundled, indexed, and named as the documents' components.

use crate::answers::Answer;
use crate::http;
use serde_json::{Map, Value, json};
use waybill_core::effect::EffectType;
use waybill_core::event::EventType;
use waybill_core::schema;

/// The JSON Schema dialect of every schema.
pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";
/// The `$id` of the bundle of every event schema ([`events_bundle`]).
pub const EVENTS_BUNDLE_ID: &str = "urn:waybill:schema:events";

/// Every (event type, version) with a schema, in the order of `EventType::ALL`, versions
/// ascending.
pub fn event_versions() -> impl Iterator<Item = (EventType, u32)> {
    EventType::ALL
        .into_iter()
        .flat_map(|t| t.versions().iter().map(move |&v| (t, v)))
}

/// The schema of events of type `ty` in version `version`, as `waybill_core::schema` makes
/// it.
pub fn event_schema(ty: EventType, version: u32) -> Option<Value> {
    schema::event_schema(ty, version)
}

/// The schema of an event type named `name` in `version`, or one line saying why there is
/// none (an unknown type, with the types; a version the type lacks, with its versions).
pub fn event_schema_named(name: &str, version: u32) -> Result<Value, String> {
    let ty = EventType::parse(name).ok_or_else(|| {
        format!(
            "unknown event type `{name}`; the types are: {}",
            list(EventType::ALL.iter().map(|t| t.as_str()))
        )
    })?;
    schema::event_schema(ty, version).ok_or_else(|| {
        format!(
            "{name} has no schema version {version}; its versions are: {}",
            list(ty.versions().iter().map(u32::to_string))
        )
    })
}

/// The schema of an effect type named `name`, or one line saying why there is none.
pub fn effect_schema_named(name: &str) -> Result<Value, String> {
    let ty = EffectType::parse(name).ok_or_else(|| {
        format!(
            "unknown effect type `{name}`; the types are: {}",
            list(EffectType::ALL.iter().map(|t| t.as_str()))
        )
    })?;
    Ok(schema::effect_schema(ty))
}

fn list<S: AsRef<str>>(items: impl Iterator<Item = S>) -> String {
    items
        .map(|s| s.as_ref().to_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

/// One schema (2020-12) of every event: its `$defs` hold the schema of each (type, version)
/// under `<type>.v<version>`, and it is `oneOf` them, referred to by their `$id`.
pub fn events_bundle() -> Value {
    let mut defs = Map::new();
    let mut refs = Vec::new();
    for (t, v) in event_versions() {
        let s = schema::event_schema(t, v).expect("a listed version has a schema");
        defs.insert(format!("{}.v{v}", t.as_str()), s);
        refs.push(json!({ "$ref": schema::event_schema_id(t, v) }));
    }
    json!({
        "$schema": DIALECT,
        "$id": EVENTS_BUNDLE_ID,
        "title": "Waybill events",
        "description": "Any event Waybill accepts: one of the schemas of each event type and schema version",
        "oneOf": refs,
        "$defs": defs,
    })
}

/// The index `GET /v1/schemas` answers: every event (type, version) and effect type with the
/// URL path of its schema and its `$id`, and the paths of the two documents.
pub fn schema_index() -> Value {
    let events: Vec<Value> = event_versions()
        .map(|(t, v)| {
            json!({
                "type": t.as_str(),
                "version": v,
                "url": http::event_schema_path(t, v),
                "id": schema::event_schema_id(t, v),
            })
        })
        .collect();
    let effects: Vec<Value> = EffectType::ALL
        .iter()
        .map(|&t| {
            json!({
                "type": t.as_str(),
                "url": http::effect_schema_path(t),
                "id": schema::effect_schema_id(t),
            })
        })
        .collect();
    json!({
        "events": events,
        "effects": effects,
        "asyncapi": http::route(http::Operation::GetAsyncapi).path,
        "openapi": http::route(http::Operation::GetOpenapi).path,
    })
}

/// The component name of the schema of `ty` in `version`: `event.<type>.v<version>`.
pub fn event_component_name(ty: EventType, version: u32) -> String {
    format!("event.{}.v{version}", ty.as_str())
}

/// The component name of the schema of effects of type `ty`: `effect.<type>`.
pub fn effect_component_name(ty: EffectType) -> String {
    format!("effect.{}", ty.as_str())
}

/// Every event schema as a document's component: its name and the schema with its local
/// references inlined ([`inline_local_refs`]).
pub fn event_components() -> impl Iterator<Item = (String, Value)> {
    event_versions().map(|(t, v)| {
        let s = schema::event_schema(t, v).expect("a listed version has a schema");
        (event_component_name(t, v), inline_local_refs(&s))
    })
}

/// Every effect schema as a document's component, local references inlined.
pub fn effect_components() -> impl Iterator<Item = (String, Value)> {
    EffectType::ALL.into_iter().map(|t| {
        let s = schema::effect_schema(t);
        (effect_component_name(t), inline_local_refs(&s))
    })
}

/// Every schema the HTTP API's bodies share, by name: the events, the effects and each JSON
/// body of [`Answer::JSON`], naming one another as `<prefix><name>`.
pub fn components(prefix: &str) -> Vec<(String, Value)> {
    let mut all: Vec<(String, Value)> = event_components().chain(effect_components()).collect();
    for a in Answer::JSON {
        let name = a.name().expect("a JSON body has a name");
        all.push((
            name.to_owned(),
            a.schema(prefix).expect("a JSON body has a schema"),
        ));
    }
    all
}

/// Deepest nesting of references [`inline_local_refs`] follows (a schema that refers to
/// itself is not inlinable).
const MAX_INLINE_DEPTH: usize = 32;

/// `schema` with every local reference (`"$ref": "#/..."`) replaced by what it points at: a
/// `{"$ref": ...}` alone becomes the target, one with other keywords keeps them and gets the
/// target as `allOf`. The documents embed schemas among other things, where tools resolve
/// `#/...` against the whole document (not against the schema's `$id`, as JSON Schema does);
/// inlined, the schema means the same in both readings.
///
/// Panics on a reference to nothing, or on references nested past 32 (a recursive schema):
/// the core's schemas have neither (tested for every schema).
pub fn inline_local_refs(schema: &Value) -> Value {
    inline(schema, schema, 0)
}

fn inline(root: &Value, v: &Value, depth: usize) -> Value {
    assert!(
        depth <= MAX_INLINE_DEPTH,
        "recursive $ref in a schema: it cannot be inlined"
    );
    match v {
        Value::Object(m) => {
            let target = m
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix('#'))
                .map(|pointer| {
                    let t = root
                        .pointer(pointer)
                        .unwrap_or_else(|| panic!("$ref #{pointer} points at nothing"));
                    inline(root, t, depth + 1)
                });
            let mut out = Map::new();
            for (k, x) in m {
                if k == "$ref" && target.is_some() {
                    continue;
                }
                out.insert(k.clone(), inline(root, x, depth));
            }
            match target {
                Some(t) if out.is_empty() => t,
                Some(t) => {
                    out.insert("allOf".to_owned(), json!([t]));
                    Value::Object(out)
                }
                None => Value::Object(out),
            }
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| inline(root, x, depth)).collect()),
        other => other.clone(),
    }
}

/// Whether `v` holds a local reference (`"$ref": "#..."`) anywhere.
pub fn has_local_ref(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, x)| {
            (k == "$ref" && x.as_str().is_some_and(|r| r.starts_with('#'))) || has_local_ref(x)
        }),
        Value::Array(a) => a.iter().any(has_local_ref),
        _ => false,
    }
}

/// Every `$ref` in `doc` that is not a pointer into `doc` itself (`#/...`) pointing at
/// something: the documents must be whole, since tools resolve references document-wide.
pub fn unresolved_refs(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect_unresolved(doc, doc, &mut out);
    out
}

fn collect_unresolved(doc: &Value, v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                let found = r.strip_prefix('#').and_then(|p| doc.pointer(p)).is_some();
                if !found {
                    out.push(r.to_owned());
                }
            }
            m.values().for_each(|x| collect_unresolved(doc, x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_unresolved(doc, x, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(schema: Value, expected: Value) {
        assert_eq!(inline_local_refs(&schema), expected);
    }

    #[test]
    fn local_refs_are_inlined() {
        check(json!({ "a": 1 }), json!({ "a": 1 }));
        check(
            json!({ "p": { "$ref": "#/$defs/x" }, "$defs": { "x": { "type": "string" } } }),
            json!({ "p": { "type": "string" }, "$defs": { "x": { "type": "string" } } }),
        );
        check(
            json!({ "p": { "$ref": "#/$defs/x", "maxLength": 3 }, "$defs": { "x": { "type": "string" } } }),
            json!({ "p": { "maxLength": 3, "allOf": [{ "type": "string" }] }, "$defs": { "x": { "type": "string" } } }),
        );
        check(
            json!({ "p": { "$ref": "#/$defs/y" }, "$defs": { "x": { "const": 1 }, "y": { "items": { "$ref": "#/$defs/x" } } } }),
            json!({ "p": { "items": { "const": 1 } }, "$defs": { "x": { "const": 1 }, "y": { "items": { "const": 1 } } } }),
        );
        check(
            json!({ "p": { "$ref": "urn:other" } }),
            json!({ "p": { "$ref": "urn:other" } }),
        );
    }

    #[test]
    fn every_published_schema_is_found_and_has_no_local_ref_once_inlined() {
        for (name, s) in event_components().chain(effect_components()) {
            assert!(!has_local_ref(&s), "{name}");
            assert_eq!(s["$schema"], DIALECT, "{name}");
        }
        for (t, v) in event_versions() {
            let s = event_schema_named(t.as_str(), v).unwrap();
            assert_eq!(s["$id"], schema::event_schema_id(t, v));
        }
        for t in EffectType::ALL {
            assert_eq!(
                effect_schema_named(t.as_str()).unwrap()["$id"],
                schema::effect_schema_id(t)
            );
        }
    }

    #[test]
    fn missing_schemas_say_what_exists() {
        let cases: [(&str, u32, &str); 3] = [
            (
                "order.shipped",
                1,
                "unknown event type `order.shipped`; the types are: order.created, ",
            ),
            (
                "order.created",
                2,
                "order.created has no schema version 2; its versions are: 1",
            ),
            (
                "vehicle.position",
                3,
                "vehicle.position has no schema version 3; its versions are: 1, 2",
            ),
        ];
        for (name, v, start) in cases {
            let e = event_schema_named(name, v).unwrap_err();
            assert!(e.starts_with(start), "{e}");
        }
        let e = effect_schema_named("alert.nothing").unwrap_err();
        assert!(
            e.starts_with("unknown effect type `alert.nothing`; the types are: route."),
            "{e}"
        );
    }

    #[test]
    fn the_bundle_refers_to_every_schema_by_its_id() {
        let b = events_bundle();
        let refs = b["oneOf"].as_array().unwrap();
        assert_eq!(refs.len(), event_versions().count());
        for ((t, v), r) in event_versions().zip(refs) {
            let id = schema::event_schema_id(t, v);
            assert_eq!(r["$ref"], id.as_str());
            assert_eq!(
                b["$defs"][format!("{}.v{v}", t.as_str())]["$id"],
                id.as_str()
            );
        }
    }
}
