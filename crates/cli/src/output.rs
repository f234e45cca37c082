//! Small formatting helpers shared by the commands.

pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// Print a value as pretty JSON on stdout.
pub fn json<T: serde::Serialize>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("serialisable")
    );
}

/// Accept YYYY-MM-DD as the start of that day in UTC; pass RFC 3339 through.
pub fn time_bound(s: &str, end_of_day: bool) -> anyhow::Result<String> {
    let s = s.trim();
    if s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-' {
        return Ok(format!(
            "{s}T{}Z",
            if end_of_day { "23:59:59" } else { "00:00:00" }
        ));
    }
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| {
            t.to_offset(time::UtcOffset::UTC)
                .format(&time::format_description::well_known::Rfc3339)
                .expect("formats")
        })
        .map_err(|_| {
            anyhow::anyhow!(
                "{s:?} is not a time: use YYYY-MM-DD or RFC 3339 (2013-08-21T10:00:00Z)"
            )
        })
}

/// A progress bar over bytes, labelled `what` (hidden when `show` is false): the one every
/// long byte-moving command (ingest, verify, pack, receive, import, package) shows.
pub fn byte_bar(show: bool, what: &str) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{spinner}} {what} [{{bar:30}}] {{bytes}}/{{total_bytes}} {{binary_bytes_per_sec}} {{msg}}"
        ))
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}
