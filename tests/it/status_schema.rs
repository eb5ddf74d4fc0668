//! `status --json` against its published schema (`docs/status-json.schema.json`),
//! for an empty store, a busy one, a paused switch and a usage API in backoff.
//!
//! The validator is a small reading of the JSON Schema keywords the schema
//! uses (type, const, enum, required, properties, items, oneOf, minimum,
//! format date-time), plus one rule of our own: every field the command
//! prints is declared in the schema, so the documentation cannot fall
//! behind the output.

use crate::support::Sandbox;
use rusqlite::params;
use serde_json::Value;

fn schema() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/status-json.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(number) if number.is_i64() || number.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_matches(expected: &str, value: &Value) -> bool {
    let actual = type_name(value);
    expected == actual || (expected == "number" && actual == "integer")
}

/// Every violation of `schema` by `value`, with the JSON path.
fn validate(schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        let matching = options
            .iter()
            .filter(|option| {
                let mut inner = Vec::new();
                validate(option, value, path, &mut inner);
                inner.is_empty()
            })
            .count();
        if matching != 1 {
            errors.push(format!(
                "{path}: matches {matching} of oneOf, not 1: {value}"
            ));
        }
    }
    if let Some(expected) = schema.get("const") {
        if expected != value {
            errors.push(format!("{path}: {value} is not {expected}"));
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.contains(value) {
            errors.push(format!("{path}: {value} is not one of {options:?}"));
        }
    }
    if let Some(types) = schema.get("type") {
        let allowed: Vec<&str> = match types {
            Value::String(single) => vec![single.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => panic!("{path}: bad type in schema"),
        };
        if !allowed.iter().any(|expected| type_matches(expected, value)) {
            errors.push(format!("{path}: {} is not {allowed:?}", type_name(value)));
            return;
        }
    }
    if let (Some(minimum), Some(number)) = (
        schema.get("minimum").and_then(Value::as_f64),
        value.as_f64(),
    ) {
        if number < minimum {
            errors.push(format!("{path}: {number} < {minimum}"));
        }
    }
    if schema.get("format").and_then(Value::as_str) == Some("date-time") {
        if let Some(text) = value.as_str() {
            if text.parse::<jiff::Timestamp>().is_err() {
                errors.push(format!("{path}: {text} is not an RFC 3339 time"));
            }
        }
    }
    if let Value::Object(object) = value {
        let properties = schema.get("properties").and_then(Value::as_object);
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !object.contains_key(required) {
                errors.push(format!("{path}: missing required `{required}`"));
            }
        }
        if let Some(properties) = properties {
            for (key, field) in object {
                match properties.get(key) {
                    Some(field_schema) => {
                        validate(field_schema, field, &format!("{path}.{key}"), errors)
                    }
                    None => errors.push(format!("{path}: `{key}` is not in the schema")),
                }
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (index, item) in items.iter().enumerate() {
            validate(item_schema, item, &format!("{path}[{index}]"), errors);
        }
    }
}

fn errors_of(value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    validate(&schema(), value, "$", &mut errors);
    errors
}

fn status_json(sandbox: &Sandbox) -> Value {
    let output = sandbox
        .command()
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).unwrap()
}

fn now_ms() -> i64 {
    pace_maker::clock::now_ms()
}

/// A store with a mission under way: readings, decisions, a session, an epic.
fn seed_busy(sandbox: &Sandbox) {
    sandbox.command().arg("status").assert().success();
    let store = sandbox.store();
    let now = now_ms();
    let five_reset_s = (now + 90 * 60_000) / 1000;
    let seven_reset_s = (now + 3 * 86_400_000) / 1000;
    for step in 0..24 {
        let at = now - (24 - step) * 5 * 60_000;
        store
            .execute(
                "INSERT INTO usage_snapshots (source, taken_at, five_hour_percent, five_hour_resets_at,
                    seven_day_percent, seven_day_resets_at) VALUES ('statusline', ?1, ?2, ?3, ?4, ?5)",
                params![at, 30.0 + step as f64 * 2.0, five_reset_s, 40.0 + step as f64 * 0.1, seven_reset_s],
            )
            .unwrap();
    }
    store
        .execute(
            "INSERT INTO sessions (id, project_dir, started_at, last_activity_at, tool_calls,
                delay_ms_total, momentum_blocks) VALUES ('s-1234567890', '/work/p', ?1, ?2, 12, 5000, 1)",
            params![now - 3_600_000, now - 10_000],
        )
        .unwrap();
    store
        .execute(
            "INSERT INTO epics (project_dir, spec_path, attached_at) VALUES ('/work/p', '/work/p/EPIC.md', ?1)",
            [now - 3_600_000],
        )
        .unwrap();
    store
        .execute(
            "INSERT INTO pacing_decisions (session_id, decided_at, delay_ms, window, utilization,
                projected_percent, target_percent, reason)
             VALUES ('s-1234567890', ?1, 5000, 'five_hour', 70.0, 120.0, 95.0, 'ahead of pace')",
            [now - 60_000],
        )
        .unwrap();
    store
        .execute(
            "UPDATE api_state SET state = 'ok', last_attempt_at = ?1, last_success_at = ?1 WHERE id = 1",
            [now - 120_000],
        )
        .unwrap();
}

#[test]
fn status_json_of_an_empty_store_matches_the_schema() {
    let sandbox = Sandbox::new();
    let json = status_json(&sandbox);
    assert_eq!(errors_of(&json), Vec::<String>::new(), "{json:#}");
    assert_eq!(json["windows"]["five_hour"]["percent"], Value::Null);
}

#[test]
fn status_json_of_a_mission_under_way_matches_the_schema() {
    let sandbox = Sandbox::new();
    seed_busy(&sandbox);
    let json = status_json(&sandbox);
    assert_eq!(errors_of(&json), Vec::<String>::new(), "{json:#}");
    let five = &json["windows"]["five_hour"];
    assert!(five["percent"].as_f64().unwrap() > 70.0, "{five}");
    assert_eq!(five["source"], "statusline");
    assert!(five["projection"].is_object(), "{five}");
    assert_eq!(json["pacing"]["last_delay"]["delay_ms"], 5000);
    assert_eq!(json["sessions"][0]["epic"]["spec_path"], "/work/p/EPIC.md");
    // No criterion has a check (the spec is not even there): null.
    assert_eq!(json["sessions"][0]["epic"]["verified"], Value::Null);
    assert_eq!(json["usage_api"]["state"], "ok");
}

#[test]
fn status_json_when_paused_and_backing_off_matches_the_schema() {
    let sandbox = Sandbox::new();
    seed_busy(&sandbox);
    sandbox.command().args(["pause", "30m"]).assert().success();
    sandbox
        .store()
        .execute(
            "UPDATE api_state SET state = 'backing-off', backoff_until = ?1, failures = 2,
                last_error = 'rate limited (429)' WHERE id = 1",
            [now_ms() + 600_000],
        )
        .unwrap();
    let json = status_json(&sandbox);
    assert_eq!(errors_of(&json), Vec::<String>::new(), "{json:#}");
    assert_eq!(json["pacing"]["state"], "paused");
    assert!(json["pacing"]["paused_until"].is_string());
    assert_eq!(json["usage_api"]["backing_off"], true);
    assert_eq!(json["usage_api"]["failures"], 2);
}

#[test]
fn status_json_carries_the_per_model_windows_extra_usage_and_a_missions_wait() {
    let sandbox = Sandbox::new();
    seed_busy(&sandbox);
    let store = sandbox.store();
    let now = now_ms();
    let reset_s = (now + 3 * 86_400_000) / 1000;
    let raw = r#"{"five_hour":{"utilization":10.0,"resets_at":null},"seven_day_opus":{"utilization":90.0,"resets_at":null},"seven_day_sonnet":null,"seven_day_oauth_apps":{"utilization":4.0,"resets_at":null},"extra_usage":{"is_enabled":true,"monthly_limit":50.0,"used_credits":12.5,"utilization":25.0}}"#;
    store
        .execute(
            "INSERT INTO usage_snapshots (source, taken_at, five_hour_percent, seven_day_percent,
                seven_day_resets_at, seven_day_opus_percent, seven_day_opus_resets_at, raw_json)
             VALUES ('api', ?1, 10.0, 20.0, ?2, 90.0, ?2, ?3)",
            params![now - 30_000, reset_s, raw],
        )
        .unwrap();
    store
        .execute(
            "INSERT INTO pacing_decisions (session_id, decided_at, delay_ms, window, utilization,
                projected_percent, target_percent, reason)
             VALUES ('s-1234567890', ?1, 7000, 'seven_day_opus', 90.0, 157.0, 95.0,
                'ahead: weekly Opus window at 90.0 %')",
            [now - 5_000],
        )
        .unwrap();
    store
        .execute(
            "INSERT INTO meta (key, value) VALUES ('mission_wait', ?1)",
            [format!(
                r#"{{"until_ms":{},"session_id":"s-1","window":"five_hour","wait":1,"max_waits":5,"pid":42}}"#,
                now + 600_000
            )],
        )
        .unwrap();
    let json = status_json(&sandbox);
    assert_eq!(errors_of(&json), Vec::<String>::new(), "{json:#}");
    let opus = &json["windows"]["seven_day_opus"];
    assert_eq!(opus["label"], "weekly Opus", "{opus}");
    assert_eq!(opus["percent"], 90.0, "{opus}");
    assert_eq!(opus["source"], "api", "{opus}");
    // Null in the answer: no Sonnet window to show.
    assert!(
        json["windows"].get("seven_day_sonnet").is_none(),
        "{json:#}"
    );
    assert_eq!(json["windows"]["other"][0]["key"], "seven_day_oauth_apps");
    assert_eq!(json["pacing"]["last_delay"]["window"], "seven_day_opus");
    assert_eq!(json["extra_usage"]["is_enabled"], true);
    assert_eq!(json["extra_usage"]["used_credits"], 12.5);
    assert_eq!(json["extra_usage"]["allowed_by_pacing"], false);
    assert_eq!(json["mission_wait"]["wait"], 1);
    // The text view shows them too, and names the window that decided.
    let text = sandbox.command().arg("status").output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("weekly Opus"), "{text}");
    assert!(
        text.contains("ahead: weekly Opus window at 90.0 %"),
        "{text}"
    );
    assert!(text.contains("seven_day_oauth_apps: 4 %"), "{text}");
    assert!(
        text.contains("extra usage: enabled, 12.50 used of 50.00"),
        "{text}"
    );
    assert!(
        text.contains("mission waiting for a usage limit to reset"),
        "{text}"
    );
}

#[test]
fn the_schema_check_rejects_missing_retyped_and_undocumented_fields() {
    let sandbox = Sandbox::new();
    seed_busy(&sandbox);
    let json = status_json(&sandbox);
    for (name, change, expected) in [
        (
            "a required field removed",
            Box::new(|json: &mut Value| {
                json["pacing"]
                    .as_object_mut()
                    .unwrap()
                    .remove("delay_ms_today");
            }) as Box<dyn Fn(&mut Value)>,
            "missing required `delay_ms_today`",
        ),
        (
            "a number turned into a string",
            Box::new(|json: &mut Value| json["windows"]["five_hour"]["percent"] = "82".into()),
            "$.windows.five_hour.percent",
        ),
        (
            "an undocumented field",
            Box::new(|json: &mut Value| json["usage_api"]["token"] = "secret".into()),
            "`token` is not in the schema",
        ),
        (
            "a projection of an unknown kind",
            Box::new(|json: &mut Value| {
                json["windows"]["five_hour"]["projection"] = serde_json::json!({"kind": "soon"})
            }),
            "oneOf",
        ),
        (
            "a time that is not RFC 3339",
            Box::new(|json: &mut Value| json["generated_at"] = "yesterday".into()),
            "not an RFC 3339 time",
        ),
    ] {
        let mut broken = json.clone();
        change(&mut broken);
        let errors = errors_of(&broken);
        assert!(
            errors.iter().any(|error| error.contains(expected)),
            "{name}: {errors:?}"
        );
    }
}
