//! Notifications: who hears of an alert, how, and what they read. Pure of the store: the daemon
//! follows the alert engine's events, groups them with [`Groups`], writes each [`Message`] to
//! the outbox, and hands it to a [`Channel`] until it is delivered.
//!
//! - `section.rs`: `[notifications]`, `[[route]]`, `[[channel]]` and `[[time_interval]]`;
//! - `route.rs`: which routes an alert takes (matchers, `continue`, the default route);
//! - `interval.rs`: time intervals (weekdays and hours in a zone) a route is active or muted in;
//! - `group.rs`: Alertmanager's grouping (`group_wait`, `group_interval`, `repeat_interval`);
//! - `message.rs`: one notification as every channel receives it, with its idempotency key;
//! - `template.rs`: the text of a message, from templates a channel can override;
//! - `retry.rs`: backoff with jitter, and what a channel's answer means;
//! - `channel/`: one file per kind, registered in `channel/mod.rs`.

pub mod channel;
mod group;
mod interval;
mod message;
mod retry;
mod route;
mod section;
mod template;

pub use channel::{Channel, ChannelConfig, Outcome, Sender};
pub use group::{Group, Groups, Links, Member};
pub use interval::{TimeInterval, parse_times, parse_weekdays};
pub use message::{AlertItem, Announcement, IncidentNotice, Message, Status, short_id};
pub use retry::{RETRY_CAP, backoff};
pub use route::{Route, Routes, Timing};
pub use section::{Notifications, read_notifications};
pub use template::Templates;
