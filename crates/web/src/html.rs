//! The smallest HTML toolkit the dashboard needs: escaping and the page frame.

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A whole page: the frame, the title, a header `nav` and the body. With `refresh` above zero it
/// reloads itself every `refresh` seconds.
pub fn page(title: &str, refresh: u32, nav: &str, body: &str) -> String {
    let refresh =
        if refresh > 0 { format!("<meta http-equiv=\"refresh\" content=\"{refresh}\">") } else { String::new() };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         {refresh}<title>{} · Upkeep</title><link rel=\"stylesheet\" href=\"/assets/upkeep.css\"></head>\
         <body><header><nav class=\"links\"><a class=\"brand\" href=\"/\">Upkeep</a><a href=\"/\">Checks</a><a href=\"/alerts\">Alerts</a><a href=\"/incidents\">Incidents</a><a href=\"/slos\">SLOs</a><a href=\"/backups\">Backups</a><a href=\"/tasks\">Maintenance</a></nav>{nav}</header><main>{body}</main></body></html>\n",
        escape(title)
    )
}

/// Percent-encodes a path for a query parameter.
pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// "3h", "2d": how long ago, for "since" columns.
pub fn ago(from: jiff::Timestamp, now: jiff::Timestamp) -> String {
    let secs = now.duration_since(from).as_secs().max(0);
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86400 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_from_messages() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
    }
}
