//! `[repository]` and `[[backup]]`, as a user writes them.

use crate::repository::{Place, S3Location};
use crate::source::{Source, read_source};
use std::path::{Path, PathBuf};
use std::time::Duration;
use upkeep_config::{Diagnostics, Sections, Spanned, TableReader};
use upkeep_schedule::Cadence;

/// Where backups go, and the password that encrypts them.
#[derive(Debug, Clone)]
pub struct RepositoryConfig {
    pub place: Place,
    pub password: Password,
}

impl RepositoryConfig {
    /// The folder of a local repository.
    pub fn local(&self) -> Option<&Path> {
        match &self.place {
            Place::Local(path) => Some(path),
            Place::S3(_) => None,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Password {
    /// `password = "${UPKEEP_BACKUP_PASSWORD}"`.
    Given(String),
    /// `password_file`: its first line.
    File(PathBuf),
    /// Neither: a random one, made on first use and kept in this file (mode 0400).
    Generated(PathBuf),
}

/// One `[[backup]]`.
#[derive(Debug)]
pub struct Backup {
    pub name: String,
    pub name_span: std::ops::Range<usize>,
    pub source: Box<dyn Source>,
    /// The cron expression as written, and what it means in the backup's zone.
    pub schedule: Option<String>,
    pub cadence: Option<Cadence>,
    pub keep: Keep,
    /// When its restore drill runs: the cron expression as written, and what it means.
    pub drill_schedule: Option<String>,
    pub drill: Option<Cadence>,
    /// The newest backup must be younger than this (the RPO target).
    pub max_age: Option<Duration>,
    /// A drill (the restore it measures) must take no longer than this (the RTO target).
    pub rto: Option<Duration>,
    pub timeout: Duration,
    /// Whether a restore switches the app's `[maintenance_mode]` on around itself.
    pub maintenance_mode: bool,
}

/// `keep`: restic's `forget --keep-*` policy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Keep {
    pub last: Option<u32>,
    pub hourly: Option<u32>,
    pub daily: Option<u32>,
    pub weekly: Option<u32>,
    pub monthly: Option<u32>,
    pub yearly: Option<u32>,
    pub within: Option<Duration>,
}

/// Seed 002's retention: a week of dailies, a month of weeklies, a year of monthlies.
pub const DEFAULT_KEEP: Keep =
    Keep { last: None, hourly: None, daily: Some(7), weekly: Some(4), monthly: Some(12), yearly: None, within: None };

/// A dump of a large database takes a while; six hours bounds a stuck one.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(6 * 3600);

/// `[repository]` (default: a local repository in `data_dir/backups`, its password generated
/// into `data_dir/backup.key`).
pub fn read_repository(sections: &mut Sections, d: &mut Diagnostics, data_dir: &Path) -> RepositoryConfig {
    let default = RepositoryConfig {
        place: Place::Local(data_dir.join("backups")),
        password: Password::Generated(data_dir.join("backup.key")),
    };
    let base = sections.base_dir().to_path_buf();
    let Some(mut t) = sections.table(d, "repository") else { return default };
    let mut config = default;
    let url = t.string(d, "url");
    let s3_keys = ["endpoint", "region", "access_key_id", "secret_access_key"].map(|k| (k, t.string(d, k)));
    match url {
        Some(url) if url.get_ref().starts_with("s3://") => {
            if let Some(s3) = read_s3(&url, s3_keys, d) {
                config.place = Place::S3(s3);
            }
        }
        Some(url) if url.get_ref().contains("://") => d.error(
            url.span(),
            format!("`{}`: a repository is a local directory or `s3://bucket/prefix`", url.get_ref()),
            Some("url = \"/srv/backups/upkeep\", or url = \"s3://backups/upkeep\" with endpoint = ...".into()),
        ),
        url => {
            if let Some(url) = url {
                config.place = Place::Local(base.join(url.get_ref()));
            }
            for (key, value) in s3_keys {
                if let Some(value) = value {
                    d.error(
                        value.span(),
                        format!("`{key}` is for an S3 repository"),
                        Some("url = \"s3://bucket/prefix\"".into()),
                    );
                }
            }
        }
    }
    match (t.string(d, "password"), t.string(d, "password_file")) {
        (Some(p), Some(_)) => d.error(p.span(), "`password` and `password_file` both given", Some("keep one".into())),
        (Some(p), None) if p.get_ref().is_empty() => {
            d.error(p.span(), "`password` is empty", Some("password = \"${UPKEEP_BACKUP_PASSWORD}\"".into()))
        }
        (Some(p), None) => config.password = Password::Given(p.into_inner()),
        (None, Some(f)) => config.password = Password::File(base.join(f.get_ref())),
        (None, None) => {}
    }
    t.finish(d);
    config
}

/// `url = "s3://bucket/prefix"` with `endpoint`, `region` and the keys (both, or neither: then
/// the `AWS_*` environment variables are read).
fn read_s3(
    url: &Spanned<String>,
    keys: [(&'static str, Option<Spanned<String>>); 4],
    d: &mut Diagnostics,
) -> Option<S3Location> {
    let [(_, endpoint), (_, region), (_, id), (_, secret)] = keys;
    let rest = url.get_ref().trim_start_matches("s3://");
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        d.error(url.span(), "the S3 URL names no bucket", Some("url = \"s3://backups/upkeep\"".into()));
        return None;
    }
    if let Some(endpoint) = &endpoint
        && !(endpoint.get_ref().starts_with("http://") || endpoint.get_ref().starts_with("https://"))
    {
        d.error(
            endpoint.span(),
            "`endpoint` is an http(s) URL",
            Some("endpoint = \"https://s3.eu-west-1.amazonaws.com\"".into()),
        );
        return None;
    }
    if id.is_some() != secret.is_some() {
        let span = id.as_ref().or(secret.as_ref()).map(|s| s.span()).unwrap_or_else(|| url.span());
        d.error(
            span,
            "`access_key_id` and `secret_access_key` go together",
            Some("give both (as ${ENV}), or neither to read AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into()),
        );
        return None;
    }
    Some(S3Location {
        bucket: bucket.to_string(),
        prefix: prefix.trim_matches('/').to_string(),
        endpoint: endpoint.map(Spanned::into_inner),
        region: region.map_or_else(|| "us-east-1".to_string(), Spanned::into_inner),
        access_key_id: id.map(Spanned::into_inner),
        secret_access_key: secret.map(Spanned::into_inner),
    })
}

/// Every `[[backup]]`, in config order.
pub fn read_backups(sections: &mut Sections, d: &mut Diagnostics, zone: &jiff::tz::TimeZone) -> Vec<Backup> {
    let base = sections.base_dir().to_path_buf();
    let mut backups: Vec<Backup> = Vec::new();
    for table in sections.tables(d, "backup") {
        let mut t = TableReader::new(table, "a backup");
        if let Some(backup) = read_backup(&mut t, d, zone, &base) {
            if backups.iter().any(|b| b.name == backup.name) {
                d.error(backup.name_span.clone(), format!("two backups are named `{}`", backup.name), None);
            }
            backups.push(backup);
        }
        t.finish(d);
    }
    backups
}

fn read_backup(t: &mut TableReader, d: &mut Diagnostics, zone: &jiff::tz::TimeZone, base: &Path) -> Option<Backup> {
    let name = t.required_string(d, "name", "\"db\"");
    if let Some(name) = &name {
        t.set_context(format!("backup \"{}\"", name.get_ref()));
        if !valid_name(name.get_ref()) {
            d.error(
                name.span(),
                format!("backup name `{}` cannot be used in URLs and snapshot tags", name.get_ref()),
                Some("start with a letter; use letters, digits, `-` and `_`".into()),
            );
        }
    }
    let zone = t.zone(d, "zone").unwrap_or_else(|| zone.clone());
    let source = match t.table(d, "source", "{ kind = \"sqlite\", path = \"database/database.sqlite\" }") {
        Some(mut s) => {
            let source = read_source(&mut s, d, base);
            s.finish(d);
            source
        }
        None => {
            d.error(
                t.span(),
                format!("{} has no `source`", t.context()),
                Some("source = { kind = \"sqlite\", path = \"database/database.sqlite\" }".into()),
            );
            None
        }
    };
    let schedule = t.string(d, "schedule");
    let cadence = schedule.as_ref().and_then(|s| cron(s, &zone, d));
    let drill_schedule = t.string(d, "drill");
    let drill = drill_schedule.as_ref().and_then(|s| cron(s, &zone, d));
    let keep = match t.table(d, "keep", "{ daily = 7, weekly = 4, monthly = 12 }") {
        Some(mut k) => {
            let keep = read_keep(&mut k, d);
            k.finish(d);
            keep
        }
        None => DEFAULT_KEEP,
    };
    let max_age = t.duration(d, "max_age", Duration::from_secs(60)).map(Spanned::into_inner);
    let rto = t.duration(d, "rto", Duration::from_secs(1));
    if let Some(rto) = &rto
        && drill.is_none()
    {
        d.error(
            rto.span(),
            "`rto` is measured by restore drills, and this backup has no `drill` schedule",
            Some("drill = \"0 5 * * 0\" (every Sunday at 05:00)".into()),
        );
    }
    let timeout = t.duration(d, "timeout", Duration::from_secs(1)).map_or(DEFAULT_TIMEOUT, Spanned::into_inner);
    let maintenance_mode = t.bool(d, "maintenance_mode").unwrap_or(true);
    let name = name?;
    Some(Backup {
        name_span: name.span(),
        name: name.into_inner(),
        source: source?,
        schedule: schedule.map(Spanned::into_inner),
        cadence,
        keep,
        drill_schedule: drill_schedule.map(Spanned::into_inner),
        drill,
        max_age,
        rto: rto.map(Spanned::into_inner),
        timeout,
        maintenance_mode,
    })
}

fn cron(s: &Spanned<String>, zone: &jiff::tz::TimeZone, d: &mut Diagnostics) -> Option<Cadence> {
    if let Err(e) = upkeep_config::parse_cron(s.get_ref(), jiff::Timestamp::now()) {
        d.error(
            s.span(),
            e.to_string(),
            Some("five fields: minute hour day-of-month month day-of-week, e.g. \"0 2 * * *\"".into()),
        );
        return None;
    }
    Cadence::cron(s.get_ref(), zone.clone()).ok()
}

fn read_keep(t: &mut TableReader, d: &mut Diagnostics) -> Keep {
    let mut count = |key: &'static str| t.integer(d, key, 1..1_000_001).map(|n| n as u32);
    let keep = Keep {
        last: count("last"),
        hourly: count("hourly"),
        daily: count("daily"),
        weekly: count("weekly"),
        monthly: count("monthly"),
        yearly: count("yearly"),
        within: None,
    };
    let within = t.duration(d, "within", Duration::from_secs(60)).map(Spanned::into_inner);
    let keep = Keep { within, ..keep };
    if keep == Keep::default() {
        d.error(t.span(), "`keep` keeps nothing", Some("keep = { daily = 7, weekly = 4, monthly = 12 }".into()));
    }
    keep
}

/// Names appear in URLs, metric labels and snapshot tags.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name.len() <= upkeep_config::MAX_NAME
}
