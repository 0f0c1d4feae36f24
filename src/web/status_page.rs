//! The landing page at `/`: the wallboard (drawn by its script from `/api/v1/wallboard`), the
//! exporter's version and links, and the state of every queue set (last poll, age of its
//! data, API requests and throttles, last error), rendered here. It has no inline script or
//! style: [`CONTENT_SECURITY_POLICY`] forbids them.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use super::assets::{SCRIPT, STYLESHEET};
use super::{SourceStatus, TargetStatus, WALLBOARD_PATH};

/// The page's `Content-Security-Policy`: its script, stylesheet and JSON from the exporter
/// itself, nothing inline, nothing else, and no framing.
pub(super) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The landing page: the wallboard's place, links, and a row per queue set with its state
/// and the age of its data.
pub(super) fn landing_page(
    version: &str,
    telemetry_path: &str,
    statuses: &[TargetStatus],
) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let ago = |at: Option<f64>| at.map_or("never".to_string(), |at| seconds_ago(now - at));
    let mut rows = String::new();
    for status in statuses {
        let _ = writeln!(
            rows,
            "<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&status.key.instance),
            escape(&status.key.queue_set),
            state_class(status),
            state_word(status),
            ago(status.last_poll),
            ago(status.last_success),
            status.instance_requests,
            status.instance_throttled,
            escape(status.last_error.as_deref().unwrap_or("")),
            intraday_cell(status.intraday.as_ref(), &ago),
        );
    }
    let metrics = escape(telemetry_path);
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Amazon Connect Exporter</title>
<link rel="stylesheet" href="{stylesheet}">
<script src="{script}" defer></script>
</head><body>
<header class="top"><h1>Amazon Connect</h1><p id="board-meta" class="meta"></p></header>
<main>
<section id="wallboard" class="wallboard" data-endpoint="{wallboard}" aria-live="polite">
<noscript><p class="note">The wallboard needs JavaScript; the state of the queue sets is below.</p></noscript>
</section>
<section class="status">
<h2>Exporter</h2>
<p>Version {version}. Metrics are polled from the Amazon Connect API on a schedule and served from memory: a scrape never calls AWS.</p>
<ul><li><a href="{metrics}">Metrics</a></li><li><a href="{wallboard}">Wallboard data (JSON)</a></li><li><a href="/-/healthy">Health</a></li><li><a href="/-/ready">Readiness</a></li></ul>
<h2>Queue sets</h2>
<p>Age of data: time since the last successful poll started. API requests count every attempt since the exporter started, for the whole instance (its queue sets share them).</p>
<div class="table-scroll"><table><tr><th>Instance</th><th>Queue set</th><th>State</th><th>Last poll</th><th>Age of data</th><th>API requests</th><th>Throttled</th><th>Last error</th><th>Intraday KPIs</th></tr>
{rows}</table></div>
</section>
</main>
</body></html>
"#,
        version = escape(version),
        stylesheet = escape(&STYLESHEET.href()),
        script = escape(&SCRIPT.href()),
        wallboard = WALLBOARD_PATH,
    )
}

/// The intraday column: off, up with the age of the last read, or down with the reason.
fn intraday_cell(status: Option<&SourceStatus>, ago: &dyn Fn(Option<f64>) -> String) -> String {
    match status {
        None => "off".to_string(),
        Some(status) if status.up => format!("up, read {}", ago(status.last_success)),
        Some(status) => format!(
            "down: {}",
            escape(status.last_error.as_deref().unwrap_or("not read yet"))
        ),
    }
}

/// "3 s ago", "4 min ago", "2 h ago": precise enough to tell fresh from stale at a glance.
fn seconds_ago(seconds: f64) -> String {
    let seconds = seconds.max(0.0);
    if seconds < 120.0 {
        format!("{seconds:.0} s ago")
    } else if seconds < 7_200.0 {
        format!("{:.0} min ago", seconds / 60.0)
    } else {
        format!("{:.0} h ago", seconds / 3_600.0)
    }
}

fn state_word(status: &TargetStatus) -> &'static str {
    match (status.polled, status.up) {
        (false, _) => "waiting for first poll",
        (true, true) => "up",
        (true, false) => "down",
    }
}

fn state_class(status: &TargetStatus) -> &'static str {
    match (status.polled, status.up) {
        (false, _) => "pending",
        (true, true) => "up",
        (true, false) => "down",
    }
}

fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_has_no_inline_script_or_style() {
        let page = landing_page("v", "/metrics", &[]);
        assert!(!page.contains("<style"), "{page}");
        assert!(!page.contains(" style="), "{page}");
        // Every script element loads a file of the exporter's.
        for script in page.split("<script").skip(1) {
            assert!(script.starts_with(" src=\"/static/"), "{script}");
            assert!(script.contains("></script>"), "{script}");
        }
        assert!(page.contains(&format!("href=\"{}\"", STYLESHEET.href())));
        assert!(page.contains("data-endpoint=\"/api/v1/wallboard\""));
    }

    #[test]
    fn ages_read_naturally() {
        assert_eq!(seconds_ago(4.4), "4 s ago");
        assert_eq!(seconds_ago(-1.0), "0 s ago");
        assert_eq!(seconds_ago(600.0), "10 min ago");
        assert_eq!(seconds_ago(3.0 * 3_600.0), "3 h ago");
    }
}
