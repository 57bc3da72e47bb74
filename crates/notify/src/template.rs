//! The text of a message, from minijinja templates: each channel kind has defaults, and a
//! channel overrides any of them (`title`, `text`, `html`; the `http` channel's `url`, `body` and
//! headers). A template that does not compile is a config error at load; one that fails to
//! render fails its notification with the reason.
//!
//! A template sees the message (`status`, `alerts`, `group_labels`, `common_labels`, `link`,
//! `key`, `test`, and `maintenance` for a window's announcement: `window`, `phase`,
//! `starts_at`, `ends_at`, `components`, `description`) and, for convenience, `firing` and
//! `resolved` (its alerts by status), `name` (the group's label values, or its first alert's
//! name), `severity` (the most severe) and `runbook` (the first one any alert names). Each alert has `alertname`, `status`, `severity`,
//! `value`, `labels`, `annotations` (`summary`, `description`), `starts_at`, `ends_at`, `link`
//! and `runbook`.

use crate::message::Message;
use minijinja::Environment;

/// The default title: `[FIRING:2] check_down`, `[RESOLVED] check_down`.
pub const TITLE: &str = "{% if test %}[TEST] {% endif %}{% if incident %}[{{ incident.severity }} {{ incident.reason|replace('_', ' ')|upper }}] #{{ incident.id }} {{ incident.title }}{% elif maintenance %}[MAINTENANCE {{ maintenance.phase|upper }}] {{ maintenance.window }}{% else %}[{{ status|upper }}{% if status == 'firing' %}:{{ firing|length }}{% endif %}] {{ name }}{% endif %}";

/// The default text: one line per alert, with its value, link and runbook.
pub const TEXT: &str = "\
{% if incident %}{{ incident.text }}{% if incident.ack_url %}
  Acknowledge: {{ incident.ack_url }}{% endif %}
  {{ incident.url }}
{% elif maintenance %}{% for a in alerts %}{{ a.annotations.summary }}{% if a.annotations.description %}
{{ a.annotations.description }}{% endif %}
  {{ a.link }}
{% endfor %}{% else %}{% for a in firing %}FIRING {{ a.severity }}: {{ a.annotations.summary or a.alertname }}{% if a.value %} (value: {{ a.value }}){% endif %}
  {{ a.link }}{% if a.runbook %}
  Runbook: {{ a.runbook }}{% endif %}
{% endfor %}{% for a in resolved %}RESOLVED: {{ a.annotations.summary or a.alertname }}
{% endfor %}{% endif %}";

/// The default HTML part of an email.
pub const HTML: &str = "\
{% if incident %}<h2 style=\"color:#b42318\">{{ title }}</h2>
<p>{{ incident.text }}</p>
<p>{% if incident.ack_url %}<a href=\"{{ incident.ack_url }}\" style=\"background:#b42318;color:#fff;padding:8px 14px;border-radius:4px;text-decoration:none\">Acknowledge</a> · {% endif %}<a href=\"{{ incident.url }}\">Open the incident</a></p>
{% else %}<h2 style=\"color:{% if status == 'firing' %}#b42318{% else %}#067647{% endif %}\">{{ title }}</h2>
<ul>{% for a in alerts %}
<li><b>{{ a.status|upper }}</b> {{ a.severity }}: {{ a.annotations.summary or a.alertname }}{% if a.value %} (value: {{ a.value }}){% endif %}
<br><a href=\"{{ a.link }}\">On the dashboard</a>{% if a.runbook %} · <a href=\"{{ a.runbook }}\">Runbook</a>{% endif %}</li>{% endfor %}
</ul>{% endif %}";

/// Compiled templates, by name.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Compiles `(name, source)` pairs; the first that does not compile is the error.
    pub fn new(templates: Vec<(String, String)>) -> Result<Templates, (String, String)> {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        for (name, source) in templates {
            env.add_template_owned(name.clone(), source).map_err(|e| (name, detail(&e)))?;
        }
        Ok(Templates { env })
    }

    /// Adds one more template.
    pub fn add(&mut self, name: String, source: String) -> Result<(), (String, String)> {
        self.env.add_template_owned(name.clone(), source).map_err(|e| (name, detail(&e)))
    }

    pub fn has(&self, name: &str) -> bool {
        self.env.get_template(name).is_ok()
    }

    /// Renders template `name` over `message`, with `extra` values (the rendered title, for
    /// the HTML part).
    pub fn render(&self, name: &str, message: &Message, extra: &[(&str, &str)]) -> Result<String, String> {
        let template = self.env.get_template(name).map_err(|e| detail(&e))?;
        template.render(context(message, extra)).map_err(|e| format!("template `{name}`: {}", detail(&e)))
    }
}

fn detail(e: &minijinja::Error) -> String {
    match e.detail() {
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.to_string(),
    }
}

fn context(message: &Message, extra: &[(&str, &str)]) -> minijinja::Value {
    let mut doc = serde_json::to_value(message).unwrap_or_default();
    let name = if message.group_labels.is_empty() {
        message.alerts.first().map(|a| a.alertname.clone()).unwrap_or_default()
    } else {
        message.group_labels.values().filter(|v| !v.is_empty()).cloned().collect::<Vec<_>>().join(" ")
    };
    if let Some(map) = doc.as_object_mut() {
        map.insert("firing".into(), serde_json::to_value(message.firing().collect::<Vec<_>>()).unwrap_or_default());
        map.insert("resolved".into(), serde_json::to_value(message.resolved().collect::<Vec<_>>()).unwrap_or_default());
        map.insert("name".into(), name.into());
        map.insert("severity".into(), message.severity().into());
        map.insert("runbook".into(), message.runbook().into());
        for (k, v) in extra {
            map.insert((*k).into(), (*v).into());
        }
    }
    minijinja::Value::from_serialize(&doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_render_a_test_message_and_a_bad_template_is_refused() {
        let t = Templates::new(vec![("title".into(), TITLE.into()), ("text".into(), TEXT.into())]).unwrap();
        let now: jiff::Timestamp = "2026-12-01T10:00:00Z".parse().unwrap();
        let m = Message::test("oncall", now, "http://127.0.0.1:8080/alerts");
        assert_eq!(t.render("title", &m, &[]).unwrap(), "[TEST] [FIRING:1] upkeep_test");
        let text = t.render("text", &m, &[]).unwrap();
        assert!(text.starts_with("FIRING info: A test notification from Upkeep to channel `oncall`"), "{text}");
        let a = crate::Announcement {
            window: "monthly".into(),
            phase: "scheduled".into(),
            starts_at: "2026-12-06T02:00:00Z".parse().unwrap(),
            ends_at: "2026-12-06T04:00:00Z".parse().unwrap(),
            components: vec!["API".into()],
            description: Some("Database upgrade".into()),
        };
        let m = Message::maintenance(a, &jiff::tz::TimeZone::UTC, now, "http://127.0.0.1:8080/tasks");
        assert_eq!(t.render("title", &m, &[]).unwrap(), "[MAINTENANCE SCHEDULED] monthly");
        assert_eq!(
            t.render("text", &m, &[]).unwrap(),
            "Maintenance \"monthly\" is scheduled for Sun 2026-12-06 02:00–04:00 UTC (API)\nDatabase upgrade\n  http://127.0.0.1:8080/tasks\n"
        );
        let err = Templates::new(vec![("title".into(), "{{ status ".into())]).unwrap_err();
        assert_eq!(err.0, "title");
        assert!(err.1.contains("syntax error"), "{}", err.1);
    }
}
