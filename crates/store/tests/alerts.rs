//! What the alert engine keeps in the store: alert state, events and the engine's cursor written
//! together and read back after a reopen; silences replaced by id; status changes of every check
//! in one read.

use serde_json::json;
use std::time::Duration;
use upkeep_store::{AlertRow, CheckResult, Store};

fn at(secs: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

fn result(check: &str, secs: i64, ok: bool) -> CheckResult {
    CheckResult {
        check: check.into(),
        at: at(secs),
        status: upkeep_result::Status::from_ok(ok),
        latency: Duration::from_millis(1),
        message: (!ok).then(|| "down".into()),
        observations: Default::default(),
    }
}

#[tokio::test]
async fn alert_state_events_and_cursor_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let firing = AlertRow { key: "a".into(), state: "firing".into(), saved: Some(json!({"key": "a", "n": 1})) };
    let events: Vec<_> = (0..3).map(|i| (at(i), "a".to_string(), json!({"i": i}))).collect();
    store.save_alerts(&[firing], &events, Some(("alerts", 7))).await.unwrap();
    // A row without a document is deleted.
    let gone = AlertRow { key: "b".into(), state: "inactive".into(), saved: None };
    store.save_alerts(&[gone], &[], None).await.unwrap();
    drop(store);

    let store = Store::open(dir.path()).await.unwrap();
    assert_eq!(store.load_alerts().await.unwrap(), [json!({"key": "a", "n": 1})]);
    assert_eq!(store.consumer_cursor("alerts").await.unwrap(), Some(7));
    assert_eq!(store.consumer_cursor("other").await.unwrap(), None);
    let newest = store.alert_events(None, None, 2).await.unwrap();
    assert_eq!(newest.iter().map(|e| e.event["i"].as_i64().unwrap()).collect::<Vec<_>>(), [2, 1]);
    let older = store.alert_events(Some(newest[1].id), Some("a"), 10).await.unwrap();
    assert_eq!(older.len(), 1);
    assert_eq!(older[0].event["i"], 0);
    assert!(store.alert_events(None, Some("b"), 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn silences_are_replaced_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    store.save_silence("s1", at(100), &json!({"id": "s1", "v": 1})).await.unwrap();
    store.save_silence("s2", at(100), &json!({"id": "s2"})).await.unwrap();
    store.save_silence("s1", at(50), &json!({"id": "s1", "v": 2})).await.unwrap();
    assert_eq!(store.silences().await.unwrap(), [json!({"id": "s1", "v": 2}), json!({"id": "s2"})]);
}

#[tokio::test]
async fn changes_of_every_check_come_in_one_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let runs = [
        result("api", 0, true),
        result("db", 0, true),
        result("api", 10, false),
        result("api", 20, true),
        result("db", 20, true),
    ];
    store.write(&runs).await.unwrap();
    let changes = store.changes_since(at(5)).await.unwrap();
    assert_eq!(changes["api"], [at(10), at(20)]);
    assert!(!changes.contains_key("db"), "db never changed after its first run");
    assert_eq!(store.changes_since(at(0)).await.unwrap()["db"], [at(0)], "a first run counts as a change");
}
