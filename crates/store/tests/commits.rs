//! Batches are numbered as they are committed, and a consumer that fell behind reads back
//! exactly the batches it missed, in order; the numbers go on after a restart.

use std::time::Duration;
use upkeep_result::Status;
use upkeep_store::{CheckResult, Store};

fn result(check: &str, at: &str, ok: bool) -> CheckResult {
    CheckResult {
        check: check.into(),
        at: at.parse().unwrap(),
        status: Status::from_ok(ok),
        latency: Duration::from_millis(3),
        message: (!ok).then(|| "down".into()),
        observations: Default::default(),
    }
}

#[tokio::test]
async fn batches_are_numbered_and_read_back_from_where_a_consumer_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    assert_eq!(store.last_commit(), 0);
    let first = [result("api", "2026-12-01T10:00:00Z", true), result("db", "2026-12-01T10:00:01Z", true)];
    // A late result with an early time, committed in the second batch.
    let second = [result("api", "2026-12-01T10:00:10Z", false), result("db", "2026-12-01T09:59:59Z", true)];
    let third = [result("api", "2026-12-01T10:00:20Z", true)];
    assert_eq!(store.write(&first).await.unwrap(), 1);
    assert_eq!(store.write(&second).await.unwrap(), 2);
    assert_eq!(store.write(&third).await.unwrap(), 3);
    let missed = store.committed(1, 3).await.unwrap();
    let got: Vec<(u64, String, String)> =
        missed.iter().map(|(seq, r)| (*seq, r.check.clone(), r.at.to_string())).collect();
    assert_eq!(
        got,
        [
            (2, "db".into(), "2026-12-01T09:59:59Z".into()),
            (2, "api".into(), "2026-12-01T10:00:10Z".into()),
            (3, "api".into(), "2026-12-01T10:00:20Z".into()),
        ]
    );
    assert!(!missed[1].1.is_ok());
    assert!(store.committed(3, 3).await.unwrap().is_empty());
    drop(store);
    let reopened = Store::open(dir.path()).await.unwrap();
    assert_eq!(reopened.last_commit(), 3);
    assert_eq!(reopened.write(&third).await.unwrap(), 4);
}
