//! Incidents: what happens after an alert fires and until the post-mortem is written.
//!
//! - `severity.rs`: P1–P4 (or the app's own names) with their response and resolution targets;
//! - `incident.rs`: one incident — status, alerts, targets, escalation progress and the
//!   timeline in which every change has a time and an author; pure, moved by [`Incident`]'s
//!   methods and by [`Incident::step`], which says what is due at a time;
//! - `oncall/`: people, schedules with layered rotations, restrictions and overrides, who is on
//!   call at a time, and the iCalendar feed of a schedule;
//! - `escalation.rs`: policies, their levels and when each level is paged;
//! - `ack.rs`: signed one-click acknowledge links;
//! - `postmortem.rs`: the Markdown draft from an incident;
//! - `measures.rs`: MTTA, MTTR and targets met per severity;
//! - `section.rs`: `[incidents]`, `[[severity]]`, `[[person]]`, `[[schedule]]`,
//!   `[[escalation]]`.
//!
//! Everything here is pure and runs on the time it is given; the daemon stores incidents and
//! sends the pages it is told are due.

mod ack;
mod escalation;
mod incident;
mod measures;
pub mod oncall;
mod postmortem;
mod section;
mod severity;

pub use ack::{AckError, AckKey, AckToken};
pub use escalation::{Level, Policy, Target};
pub use incident::{
    AlertRef, Climb, Entry, Incident, Opening, Page, PageReason, Postmortem, Refusal, Rules, Status, TargetClock,
    UNASSIGNED, human,
};
pub use measures::{Measures, SeverityMeasures, measure};
pub use oncall::{OnCall, Override, Person, Schedule, Shift};
pub use postmortem::{Impact, draft};
pub use section::{Diagnostic, Incidents, parse_time, read_incidents};
pub use severity::Severity;
