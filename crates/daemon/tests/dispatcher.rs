//! The dispatcher sends each channel in its own lane: a receiver that hangs holds up its own
//! channel's notifications, and the others keep arriving meanwhile.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use upkeep_daemon::{Daemon, Options};
use upkeep_probe::Clock;
use upkeep_store::{Delivery, NotificationFilter, Store};

/// Accepts connections and never answers.
fn hanging_receiver() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    addr
}

/// Answers 200 to every request, counting them.
fn answering_receiver(count: Arc<AtomicUsize>) -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let count = Arc::clone(&count);
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                let _ = stream.read(&mut buf);
                count.fetch_add(1, Ordering::SeqCst);
                let _ = std::io::Write::write_all(
                    &mut stream,
                    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                );
            });
        }
    });
    addr
}

async fn delivered(store: &Store, channel: &str) -> usize {
    let filter = NotificationFilter {
        state: Some(Delivery::Delivered),
        channel: Some(channel.into()),
        limit: 100,
        ..Default::default()
    };
    store.notifications(&filter).await.unwrap().len()
}

#[tokio::test]
async fn a_hanging_receiver_does_not_hold_up_the_other_channels() {
    let dir = tempfile::tempdir().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let (stuck, fast) = (hanging_receiver(), answering_receiver(Arc::clone(&count)));
    let text = format!(
        "[server]\ndata_dir = \"data\"\n\n[notifications]\ntimeout = \"120s\"\n\n\
         [[channel]]\nname = \"stuck\"\nkind = \"webhook\"\nurl = \"http://{stuck}/hook\"\n\n\
         [[channel]]\nname = \"fast\"\nkind = \"webhook\"\nurl = \"http://{fast}/hook\"\n"
    );
    let plan = upkeep_plan::load_config(
        upkeep_config::Source::new(dir.path().join("upkeep.toml"), text),
        &upkeep_config::Env::Process,
    )
    .unwrap_or_else(|d| panic!("{d}"));
    let store = Store::open(&plan.server.data_dir).await.unwrap();
    let daemon = Daemon::start(&plan, store.clone(), Clock::System, Options::default()).await.unwrap();
    daemon.notifying().test("stuck").await.unwrap();
    daemon.notifying().test("fast").await.unwrap();
    // Three more to the answering channel while the first attempt to `stuck` still hangs (it
    // would for two minutes): each arrives.
    for sent in 1..=3 {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while delivered(&store, "fast").await < sent {
            assert!(tokio::time::Instant::now() < deadline, "the answering channel waited for the hanging one");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if sent < 3 {
            daemon.notifying().test("fast").await.unwrap();
        }
    }
    assert_eq!(count.load(Ordering::SeqCst), 3);
    let stuck_rows = store
        .notifications(&NotificationFilter { channel: Some("stuck".into()), limit: 10, ..Default::default() })
        .await
        .unwrap();
    assert_eq!((stuck_rows[0].state, stuck_rows[0].attempts), (Delivery::Pending, 0), "its attempt is still in flight");
}
