use super::*;
use crate::event::{ChargeKind, MAX_ID_BYTES, Stop};
use crate::validate::{MAX_CHARGE_IDS, MAX_REASON_BYTES, MAX_TRACEPARENT_BYTES};

/// The decoder collects each type's fields from one table: version 1's names in order, then
/// those each later version adds.
#[test]
fn the_decoders_names_are_the_tables_in_order() {
    for ty in EventType::ALL {
        let mut names = payload_field_names(ty, 1);
        for &version in &ty.versions()[1..] {
            for name in payload_field_names(ty, version) {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        assert_eq!(
            names,
            crate::decode::data::names(ty).to_vec(),
            "{}",
            ty.as_str()
        );
    }
}

#[test]
fn enums_are_the_models() {
    let stops: Vec<Option<Stop>> = fields::STOPS.iter().map(|s| Stop::parse(s)).collect();
    assert_eq!(stops, [Some(Stop::Pickup), Some(Stop::Delivery)]);
    let kinds: Vec<&str> = ChargeKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(fields::CHARGE_KINDS.to_vec(), kinds);
}

#[test]
fn a_schema_for_each_version_and_none_for_others() {
    for ty in EventType::ALL {
        for version in 0..5 {
            let schema = event_schema(ty, version);
            assert_eq!(
                schema.is_some(),
                ty.versions().contains(&version),
                "{} v{version}",
                ty.as_str()
            );
            assert_eq!(payload_fields(ty, version).is_some(), schema.is_some());
            let Some(schema) = schema else { continue };
            assert_eq!(schema["$schema"], DIALECT);
            assert_eq!(schema["$id"], event_schema_id(ty, version));
            assert_eq!(schema["properties"]["type"]["const"], ty.as_str());
            let required = schema["required"].as_array().expect("required");
            assert_eq!(
                required.contains(&Value::from("schemaversion")),
                version >= 2,
                "{} v{version}",
                ty.as_str()
            );
        }
    }
    assert_eq!(
        event_schema_id(EventType::VehiclePosition, 2),
        "urn:waybill:schema:event:vehicle.position:v2"
    );
    assert_eq!(
        effect_schema_id(EffectType::AlertGap),
        "urn:waybill:schema:effect:alert.gap"
    );
}

/// The limits in the schemas are the decoder's constants.
#[test]
fn limits_come_from_the_decoders_constants() {
    let check = |ty: EventType, pointer: &str, want: Value| {
        let schema = event_schema(ty, 1).expect("version 1");
        assert_eq!(
            schema.pointer(pointer),
            Some(&want),
            "{} {pointer}",
            ty.as_str()
        );
    };
    let d = "/properties/data/properties";
    check(
        EventType::OrderCreated,
        "/properties/id/maxLength",
        MAX_ID_BYTES.into(),
    );
    check(
        EventType::OrderCreated,
        &format!("{d}/customer_id/maxLength"),
        MAX_ID_BYTES.into(),
    );
    check(
        EventType::OrderCancelled,
        &format!("{d}/reason/maxLength"),
        MAX_REASON_BYTES.into(),
    );
    check(
        EventType::InvoiceIssued,
        &format!("{d}/charge_ids/maxItems"),
        MAX_CHARGE_IDS.into(),
    );
    check(
        EventType::RoutePlanned,
        &format!("{d}/vehicle_id/maximum"),
        u64::MAX.into(),
    );
    check(
        EventType::ChargeAdded,
        &format!("{d}/amount_cents/exclusiveMinimum"),
        0.into(),
    );
    check(
        EventType::StopArrived,
        "/properties/traceparent/anyOf/1/maxLength",
        MAX_TRACEPARENT_BYTES.into(),
    );
}

#[test]
fn output_is_sorted_and_the_same_every_time() {
    fn keys_sorted(v: &Value) -> bool {
        match v {
            Value::Object(m) => {
                let keys: Vec<&String> = m.keys().collect();
                keys.windows(2).all(|w| w[0] < w[1]) && m.values().all(keys_sorted)
            }
            Value::Array(items) => items.iter().all(keys_sorted),
            _ => true,
        }
    }
    for ty in EventType::ALL {
        for &version in ty.versions() {
            let a = event_schema(ty, version).expect("listed version");
            assert!(keys_sorted(&a), "{} v{version}", ty.as_str());
            let b = event_schema(ty, version).expect("listed version");
            assert_eq!(a.to_string(), b.to_string());
        }
    }
    for ty in EffectType::ALL {
        let a = effect_schema(ty);
        assert!(keys_sorted(&a), "{}", ty.as_str());
        assert_eq!(a.to_string(), effect_schema(ty).to_string());
    }
}

#[test]
fn unstated_rules_have_unique_names() {
    let mut names: Vec<&str> = UNSTATED_RULES.iter().map(|r| r.name).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(names.len(), before);
}
