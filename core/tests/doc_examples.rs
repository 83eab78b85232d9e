//! The reference docs show real behaviour: every example event in `docs/events.md` is accepted
//! and is one of the events of `examples/every-type.jsonl` (version 1) or
//! `examples/version-2.jsonl` (schema version 2), every type and version has an example, and
//! the view and summary shown in `docs/state.md` are what the core computes for the first file.

use std::collections::BTreeSet;

use serde_json::Value;
use waybill_core::decode::decode;
use waybill_core::engine::Core;
use waybill_core::event::{Entry, EventType};
use waybill_core::journal::{Durability, JournalOptions};
use waybill_core::machine::Machine;

const EVENTS_MD: &str = include_str!("../../docs/events.md");
const STATE_MD: &str = include_str!("../../docs/state.md");
const EVERY_TYPE: &str = include_str!("../../examples/every-type.jsonl");
const VERSION_2: &str = include_str!("../../examples/version-2.jsonl");

/// The contents of every ```json block of a markdown text, in order.
fn json_blocks(markdown: &str) -> Vec<Value> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```json") => current = Some(String::new()),
            (Some(text), "```") => {
                let v = serde_json::from_str(text)
                    .unwrap_or_else(|e| panic!("a json block is not JSON ({e}):\n{text}"));
                blocks.push(v);
                current = None;
            }
            (Some(text), l) => {
                text.push_str(l);
                text.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "an unclosed json block");
    blocks
}

fn every_type_lines() -> Vec<Value> {
    EVERY_TYPE
        .lines()
        .chain(VERSION_2.lines())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The machine after ingesting `examples/every-type.jsonl`.
fn every_type_machine() -> Machine {
    let dir = tempfile::tempdir().unwrap();
    let opts = JournalOptions {
        segment_bytes: 64 * 1024,
        durability: Durability::None,
        ..Default::default()
    };
    let mut core = Core::open(dir.path(), opts).unwrap();
    for (n, line) in EVERY_TYPE.lines().enumerate() {
        core.submit(&decode(line.as_bytes()), n as i64).unwrap();
    }
    drop(core);
    waybill_core::engine::replay(dir.path(), waybill_core::engine::Until::End)
        .unwrap()
        .machine
}

#[test]
fn every_example_event_is_accepted_and_from_the_examples_file() {
    let examples = json_blocks(EVENTS_MD);
    let lines = every_type_lines();
    let mut types = BTreeSet::new();
    for example in &examples {
        let wire = serde_json::to_string(example).unwrap();
        let version = example["schemaversion"].as_u64().unwrap_or(1) as u32;
        match decode(wire.as_bytes()) {
            Entry::Event(e) => {
                types.insert((e.event_type(), version));
            }
            other => panic!("docs/events.md example rejected: {other:?}\n{wire}"),
        }
        assert!(
            lines.contains(example),
            "docs/events.md example is not in examples/every-type.jsonl:\n{wire}"
        );
    }
    let all: BTreeSet<(EventType, u32)> = EventType::ALL
        .into_iter()
        .flat_map(|ty| ty.versions().iter().map(move |&v| (ty, v)))
        .collect();
    assert_eq!(
        types, all,
        "docs/events.md must show an example of every type and version"
    );
    assert_eq!(
        examples.len(),
        all.len(),
        "one example per type and version"
    );
}

#[test]
fn state_md_shows_what_the_core_computes() {
    let blocks = json_blocks(STATE_MD);
    assert_eq!(blocks.len(), 2, "docs/state.md: a view and a summary");
    let m = every_type_machine();
    let view = m.state().shipment_view(1001, m.sources()).unwrap();
    assert_eq!(
        blocks[0],
        serde_json::to_value(&view).unwrap(),
        "docs/state.md: the view of shipment 1001"
    );
    assert_eq!(
        blocks[1],
        serde_json::to_value(m.summary()).unwrap(),
        "docs/state.md: the summary of examples/every-type.jsonl"
    );
}
