//! The published contracts: `waybill schema` as the command line gives it (its refusals
//! included), the copies checked into `docs/` against what it prints (regenerate them with
//! `scripts/contracts`), and the AsyncAPI and OpenAPI documents through the official parsers
//! (`scripts/asyncapi-parser install` installs them).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use waybill_contract::catalog;
use waybill_core::effect::EffectType;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// Set to 1 to write the checked-in copies instead of comparing them (`scripts/contracts`).
const BLESS: &str = "WAYBILL_BLESS";

fn waybill(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_waybill"))
        .args(args)
        .output()
        .expect("waybill runs")
}

fn stdout(args: &[&str]) -> String {
    let out = waybill(args);
    assert!(
        out.status.success(),
        "waybill {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// Every checked-in copy, relative to the repository, with the arguments that print it.
fn checked_in() -> Vec<(String, Vec<String>)> {
    let own = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let mut files: Vec<(String, Vec<String>)> = catalog::event_versions()
        .map(|(t, v)| {
            let file = format!("docs/schemas/events/{}.v{v}.json", t.as_str());
            (
                file,
                own(&["schema", "--type", t.as_str(), "--version", &v.to_string()]),
            )
        })
        .collect();
    for t in EffectType::ALL {
        let file = format!("docs/schemas/effects/{}.json", t.as_str());
        files.push((file, own(&["schema", "--effect", t.as_str()])));
    }
    files.push((
        "docs/asyncapi.json".into(),
        own(&["schema", "--format", "asyncapi"]),
    ));
    files.push((
        "docs/openapi.json".into(),
        own(&["schema", "--format", "openapi"]),
    ));
    files
}

#[test]
fn the_checked_in_contracts_are_what_waybill_schema_prints() {
    let bless = std::env::var(BLESS).is_ok_and(|v| v == "1");
    let mut stale = Vec::new();
    for (file, args) in checked_in() {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let printed = stdout(&args);
        let path = Path::new(ROOT).join(&file);
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &printed).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(printed.as_str()) {
            stale.push(format!("{file} differs from `waybill {}`", args.join(" ")));
        }
    }
    // A schema that is no longer published has no copy left.
    let listed: Vec<String> = checked_in().into_iter().map(|(f, _)| f).collect();
    for dir in ["docs/schemas/events", "docs/schemas/effects"] {
        for entry in std::fs::read_dir(Path::new(ROOT).join(dir)).unwrap() {
            let file = format!("{dir}/{}", entry.unwrap().file_name().to_string_lossy());
            if !listed.contains(&file) {
                stale.push(format!("{file} is no published schema's copy: remove it"));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "the checked-in contracts are stale; regenerate them with scripts/contracts:\n{}",
        stale.join("\n")
    );
}

/// `waybill schema ARGS`: its exit code, and the start of its output (stdout on success,
/// stderr after `waybill: ` on failure).
fn check(args: &[&str], code: i32, start: &str) {
    let out = waybill(args);
    assert_eq!(out.status.code(), Some(code), "waybill {}", args.join(" "));
    let text = if code == 0 {
        String::from_utf8_lossy(&out.stdout).into_owned()
    } else {
        let e = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(e.lines().count(), 1, "one line: {e}");
        e.strip_prefix("waybill: ").unwrap_or(&e).to_owned()
    };
    assert!(
        text.starts_with(start),
        "waybill {}: {text}",
        args.join(" ")
    );
}

#[test]
fn waybill_schema_prints_what_is_asked_and_refuses_the_rest() {
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["schema"],
            0,
            "{\n  \"$schema\": \"https://json-schema.org/draft/2020-12/schema\",\n  \"$id\": \"urn:waybill:schema:events\"",
        ),
        (
            &["schema", "--type", "order.created"],
            0,
            "{\n  \"$id\": \"urn:waybill:schema:event:order.created:v1\"",
        ),
        (
            &["schema", "--format", "asyncapi"],
            0,
            "{\n  \"asyncapi\": \"3.0.0\"",
        ),
        (
            &["schema", "--format", "openapi"],
            0,
            "{\n  \"openapi\": \"3.1.0\"",
        ),
        (
            &["schema", "--type", "order.created", "--version", "2"],
            2,
            "order.created has no schema version 2; its versions are: 1",
        ),
        (
            &["schema", "--type", "vehicle.position", "--version", "3"],
            2,
            "vehicle.position has no schema version 3; its versions are: 1, 2",
        ),
        (
            &["schema", "--type", "order.shipped"],
            2,
            "unknown event type `order.shipped`; the types are: order.created, order.amended,",
        ),
        (
            &["schema", "--effect", "alert.nothing"],
            2,
            "unknown effect type `alert.nothing`; the types are: route.replan_requested,",
        ),
        (&["schema", "--version", "2"], 2, "--version needs --type"),
        (
            &["schema", "--type", "charge.added", "--effect", "alert.gap"],
            2,
            "--type and --effect: give one of them",
        ),
        (
            &["schema", "--effect", "alert.gap", "--version", "1"],
            2,
            "--version is the schema version of an event type",
        ),
        (
            &["schema", "--format", "asyncapi", "--type", "order.created"],
            2,
            "--type selects a JSON Schema",
        ),
        (
            &["schema", "--format", "openapi", "--effect", "alert.gap"],
            2,
            "--effect selects a JSON Schema",
        ),
        (
            &["schema", "--format", "yaml"],
            2,
            "invalid value 'yaml' for '--format",
        ),
        (
            &["schema", "--type", "order.created", "--version", "x"],
            2,
            "invalid value 'x' for '--version",
        ),
    ];
    for (args, code, start) in cases {
        check(args, *code, start);
    }
    // Version 1 is the default, and the output is the same bytes every time.
    let v1 = stdout(&["schema", "--type", "vehicle.position", "--version", "1"]);
    assert_eq!(stdout(&["schema", "--type", "vehicle.position"]), v1);
    assert!(v1.ends_with("}\n"));
    let doc = stdout(&["schema", "--format", "asyncapi"]);
    assert_eq!(stdout(&["schema", "--format", "asyncapi"]), doc);
}

/// The directory the parsers are installed in, or a failure saying how to install them.
fn parsers() -> PathBuf {
    let out = Command::new(Path::new(ROOT).join("scripts/asyncapi-parser"))
        .arg("path")
        .output()
        .expect("scripts/asyncapi-parser runs");
    assert!(
        out.status.success(),
        "the AsyncAPI and OpenAPI parsers are not installed: run scripts/asyncapi-parser install ({})",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// Runs `node <parsers>/<script> <file>`; fails with what it printed unless it exits 0.
fn parse(script: &str, file: &Path) {
    let dir = parsers();
    let out = Command::new("node")
        .arg(dir.join(script))
        .arg(file)
        .output()
        .expect("node runs (Node 20 or later)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{script} {}:\n{text}", file.display());
    assert!(text.contains(": valid"), "{text}");
}

/// Checks the checked-in copy and the document the binary prints now.
fn check_document(script: &str, checked_in: &str, format: &str) {
    parse(script, &Path::new(ROOT).join(checked_in));
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join(format!("{format}.json"));
    std::fs::write(&fresh, stdout(&["schema", "--format", format])).unwrap();
    parse(script, &fresh);
}

#[test]
fn the_asyncapi_document_is_accepted_by_the_official_parser() {
    check_document("parse.mjs", "docs/asyncapi.json", "asyncapi");
}

#[test]
fn the_openapi_document_is_valid_openapi_3_1() {
    check_document("openapi.mjs", "docs/openapi.json", "openapi");
}

#[test]
fn the_bundle_takes_every_example_event_and_refuses_a_broken_one() {
    let bundle: serde_json::Value =
        serde_json::from_str(&stdout(&["schema"])).expect("the bundle is JSON");
    let validator = jsonschema::validator_for(&bundle).expect("the bundle compiles");
    let text = std::fs::read_to_string(Path::new(ROOT).join("examples/every-type.jsonl")).unwrap();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(validator.is_valid(&event), "{line}");
        let mut broken = event.clone();
        broken["type"] = "order.shipped".into();
        assert!(!validator.is_valid(&broken), "{broken}");
    }
}
