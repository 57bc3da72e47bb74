//! What the store keeps besides results: heartbeat pings, log positions and dashboard sessions,
//! all surviving a reopen (a restart of the daemon). Written against `Store` alone, so every
//! backend runs them.

use upkeep_store::{LogCursor, Ping, Session, Store};

fn at(seconds: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(seconds).unwrap()
}

#[tokio::test]
async fn keeps_pings_and_cursors_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let early = Ping { at: at(1_000), ok: true };
    let late = Ping { at: at(2_000), ok: false };
    store.record_ping("nightly", &late, Some("exit 3")).await.unwrap();
    store.record_ping("nightly", &early, None).await.unwrap();
    let first = LogCursor { inode: 7, offset: 10, last_match: Some("[2026-11-25] production.ERROR: boom".into()) };
    store.save_log_cursor("app-log", &first).await.unwrap();
    let later = LogCursor { offset: 42, ..first.clone() };
    store.save_log_cursor("app-log", &later).await.unwrap();
    drop(store);

    let store = Store::open(dir.path()).await.unwrap();
    assert_eq!(store.last_ping("nightly").await.unwrap(), Some(late));
    assert_eq!(store.last_ping("other").await.unwrap(), None);
    assert_eq!(store.log_cursor("app-log").await.unwrap(), Some(later));
    assert_eq!(store.log_cursor("other-log").await.unwrap(), None);
}

#[tokio::test]
async fn sessions_last_until_they_expire_or_are_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let session = Session { user: "alice".into(), csrf: "c5rf".into(), expires: at(10_000) };
    store.create_session("hash-a", &session).await.unwrap();
    store.create_session("hash-b", &Session { user: "bob".into(), ..session.clone() }).await.unwrap();
    drop(store);

    let store = Store::open(dir.path()).await.unwrap();
    assert_eq!(store.session("hash-a", at(9_999)).await.unwrap(), Some(session));
    assert_eq!(store.session("hash-a", at(10_000)).await.unwrap(), None, "expired");
    assert_eq!(store.session("unknown", at(0)).await.unwrap(), None);
    store.delete_session("hash-b").await.unwrap();
    assert_eq!(store.session("hash-b", at(0)).await.unwrap(), None, "signed out");
}
