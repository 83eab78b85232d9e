//! Structured mutations of a valid event (a `serde_json::Value`), and the values they set.
//!
//! A value is either JSON or the raw text of a number (`1.0`, `1e3`, `18446744073709551616`,
//! `90.00000000000000001`): raw numbers are spliced into the serialized line, so the decoder
//! and the validator see exactly that text.

use serde_json::{Value, json};

/// A value a mutation puts in.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Json(Value),
    /// The text of a JSON number, written as it is.
    Raw(&'static str),
}

/// One change to an event.
#[derive(Clone, Debug, PartialEq)]
pub enum Mutation {
    /// Remove the member at the path.
    Remove(Vec<String>),
    /// Replace the value at the path.
    Set(Vec<String>, Val),
    /// Add (or replace) member `name` of the object at the path.
    Add(Vec<String>, String, Val),
    /// Give the event's first key a second time, with the same value.
    DuplicateKey,
}

impl Mutation {
    /// The raw number texts this mutation writes.
    pub fn raw_numbers(&self) -> Vec<&'static str> {
        match self {
            Mutation::Set(_, Val::Raw(r)) | Mutation::Add(_, _, Val::Raw(r)) => vec![r],
            _ => Vec::new(),
        }
    }
}

/// The placeholder a raw number stands as until the line is serialized.
fn placeholder(i: usize) -> String {
    format!("\u{1}raw{i}\u{1}")
}

fn get_mut<'a>(v: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |v, k| v.get_mut(k.as_str()))
}

/// Applies `mutations` to `event` and serializes it as one line.
pub fn apply(event: &Value, mutations: &[Mutation]) -> Vec<u8> {
    let mut v = event.clone();
    let mut raws: Vec<&'static str> = Vec::new();
    let mut put = |val: &Val| match val {
        Val::Json(j) => j.clone(),
        Val::Raw(r) => {
            raws.push(r);
            Value::String(placeholder(raws.len() - 1))
        }
    };
    let mut duplicate = false;
    for m in mutations {
        match m {
            Mutation::Remove(path) => {
                let (last, parent) = path.split_last().expect("a path names a member");
                if let Some(Value::Object(o)) = get_mut(&mut v, parent) {
                    o.remove(last.as_str());
                }
            }
            Mutation::Set(path, val) => {
                let new = put(val);
                if let Some(slot) = get_mut(&mut v, path) {
                    *slot = new;
                }
            }
            Mutation::Add(path, name, val) => {
                let new = put(val);
                if let Some(Value::Object(o)) = get_mut(&mut v, path) {
                    o.insert(name.clone(), new);
                }
            }
            Mutation::DuplicateKey => duplicate = true,
        }
    }
    let mut text = serde_json::to_string(&v).expect("a value serializes");
    if duplicate && let Some((k, first)) = v.as_object().and_then(|o| o.iter().next()) {
        text.insert_str(1, &format!("{}:{first},", json!(k)));
    }
    for (i, raw) in raws.iter().enumerate() {
        let quoted = serde_json::to_string(&placeholder(i)).expect("a string serializes");
        text = text.replace(&quoted, raw);
    }
    text.into_bytes()
}

/// Every path of an object member in `event`: each top-level attribute, and inside `data`
/// every member at any depth (array elements aside).
pub fn paths(event: &Value) -> Vec<Vec<String>> {
    fn walk(v: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        if let Value::Object(o) = v {
            for (k, child) in o {
                prefix.push(k.clone());
                out.push(prefix.clone());
                if prefix.first().map(String::as_str) == Some("data") || prefix.len() == 1 {
                    walk(child, prefix, out);
                }
                prefix.pop();
            }
        }
    }
    let mut out = Vec::new();
    walk(event, &mut Vec::new(), &mut out);
    out
}

/// Every object a member can be added to: the event, `data`, and each object inside `data`.
pub fn objects(event: &Value) -> Vec<Vec<String>> {
    let mut out = vec![Vec::new()];
    out.extend(
        paths(event)
            .into_iter()
            .filter(|p| p[0] == "data")
            .filter(|p| event.pointer(&pointer(p)).is_some_and(Value::is_object)),
    );
    out
}

fn pointer(path: &[String]) -> String {
    path.iter().map(|k| format!("/{k}")).collect()
}

fn s(text: &str) -> Val {
    Val::Json(Value::from(text))
}

fn repeat(c: char, n: usize) -> Val {
    Val::Json(Value::from(c.to_string().repeat(n)))
}

/// Values of every JSON kind and at the edges of the limits, for any field.
pub fn values() -> Vec<Val> {
    let mut out: Vec<Val> = [
        json!(null),
        json!(true),
        json!(false),
        json!(0),
        json!(-1),
        json!(1),
        json!(2),
        json!(1.5),
        json!(-0.5),
        json!(""),
        json!("x"),
        json!([]),
        json!({}),
        json!(["x"]),
        json!([1]),
        json!({"lat": 0, "lon": 0}),
        json!({"signed_by": "x"}),
        json!({"value": "1.00", "currency": "EUR"}),
        json!(65_535),
        json!(65_536),
        json!(359),
        json!(360),
        json!(4_294_967_295_u64),
        json!(4_294_967_296_u64),
        json!(90),
        json!(-90),
        json!(180),
        json!(-180.5),
    ]
    .into_iter()
    .map(Val::Json)
    .collect();
    out.extend(
        [
            "1.0",
            "2.0",
            "1e0",
            "1E2",
            "-0",
            "0.0",
            "9e1",
            "90.0000001",
            "-180.000001",
            "90.00000000000000001",
            "4294967.295",
            "4294967.2955",
            "4294967.29549999999999",
            "1193046.47",
            "2147483647",
            "2147483648",
            "-2147483648",
            "-2147483649",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775809",
            "18446744073709551615",
            "18446744073709551616",
            "100000000000000000000000",
        ]
        .into_iter()
        .map(Val::Raw),
    );
    out.extend(strings());
    out
}

/// Strings at the edges of the rules of the envelope and the payloads.
fn strings() -> Vec<Val> {
    let mut out: Vec<Val> = [
        // numbers as strings, sequences and subject ids
        "1",
        "0",
        "007",
        "000",
        "-1",
        "1.0",
        " 1",
        "18446744073709551615",
        "18446744073709551616",
        "0018446744073709551615",
        // versions, types, sources, subjects
        "1.0",
        "0.3",
        "order.created",
        "stop.departed",
        "vehicle.position",
        "charge.added",
        "order.reopened",
        "erp/x",
        "route/x",
        "fleet/x",
        "billing/x",
        "fleet/",
        "fleet/a b",
        "fleet/a/b",
        "Fleet/x",
        "warehouse/x",
        "fleet",
        "shipment/0",
        "shipment/007",
        "shipment/18446744073709551615",
        "shipment/18446744073709551616",
        "vehicle/1",
        "shipment/",
        "shipment/-1",
        "shipment/1a",
        "parcel/1",
        // times
        "2026-11-27T08:00:00Z",
        "2026-11-27t08:00:00z",
        "2026-11-27T08:00:00.5+05:30",
        "2026-11-27T08:00:00.123456789-00:00",
        "2024-02-29T00:00:00Z",
        "2000-02-29T12:00:00Z",
        "2023-02-29T00:00:00Z",
        "2100-02-29T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-11-27T24:00:00Z",
        "2026-11-27T23:59:60Z",
        "2026-11-27T08:00:00.Z",
        "2026-11-27T08:00:00+24:00",
        "2026-11-27T08:00:00+23:59",
        "2026-11-27T08:00:00+0100",
        "2026-11-27T08:00:00",
        "2026-11-27 08:00:00Z",
        "0000-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999-23:59",
        "2026-13-01T00:00:00Z",
        "27/11/2026 08:00",
        // traceparents
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later\nfields",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",
        // media types and URIs
        "application/json",
        "Application/JSON",
        "application/json; charset=utf-8",
        "application/json;charset=\"utf-8\"",
        "application/json; charset=",
        "text/plain",
        "application/cloudevents+json",
        "https://example.com/schemas/order.json",
        "urn:waybill:schema:event:order.created:v1",
        "example.com/schema",
        "https://exa mple.com",
        "https://example.com/%41",
        "https://example.com/%4",
        "1http://x",
        // currencies, stops, kinds, decimal strings
        "EUR",
        "eur",
        "Eur",
        "EURO",
        "JPY",
        "BHD",
        "E1R",
        "pickup",
        "delivery",
        "dock",
        "Pickup",
        "base",
        "fuel",
        "detention",
        "waiting",
        "redelivery",
        "other",
        "tip",
        "12.50",
        "12.5",
        "12.505",
        "12",
        "0.00",
        "0",
        "-1.00",
        ".5",
        "12.",
        "1,00",
        "00012.50",
    ]
    .into_iter()
    .map(s)
    .collect();
    out.extend([
        repeat('a', 64),
        repeat('a', 65),
        repeat('a', 128),
        repeat('a', 129),
        repeat('é', 64),
        repeat('é', 65),
        repeat('a', 4096),
        repeat('a', 4097),
        repeat('é', 2049),
    ]);
    out
}

/// Names of members to add: extensions of every shape, the envelope's own optional
/// attributes, and the payload fields of every type and version.
pub fn names() -> Vec<String> {
    let mut out: Vec<String> = [
        "ext",
        "x1",
        "1",
        "Ext",
        "my_ext",
        "my-ext",
        "é",
        "",
        "data_base64",
        "datacontenttype",
        "dataschema",
        "schemaversion",
        "correlationid",
        "traceparent",
        "specversion",
        "type",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    for ty in waybill_core::event::EventType::ALL {
        for &version in ty.versions() {
            if let Some(fields) = waybill_core::schema::payload_fields(ty, version) {
                out.extend(fields.iter().map(|f| f.name.to_owned()));
            }
        }
    }
    out.extend(["lat", "lon", "signed_by", "photo_ref", "value", "currency"].map(String::from));
    out.sort();
    out.dedup();
    out
}
