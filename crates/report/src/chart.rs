//! A stacked bar chart as standalone SVG: cases per month, one colour per branch.

use std::collections::BTreeMap;
use std::fmt::Write;

const PALETTE: [&str; 8] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f",
];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `rows` are (month "YYYY-MM", series, count). Series are ordered by their total, largest
/// first, and those beyond the palette are merged into "other".
pub fn stacked_bars(title: &str, rows: &[(String, String, u64)]) -> String {
    let mut totals: BTreeMap<&str, u64> = BTreeMap::new();
    for (_, s, n) in rows {
        *totals.entry(s.as_str()).or_default() += n;
    }
    let mut series: Vec<(&str, u64)> = totals.into_iter().collect();
    series.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let keep = PALETTE.len() - 1;
    let name_of = |s: &str| -> String {
        if series.len() <= PALETTE.len() || series.iter().take(keep).any(|(k, _)| *k == s) {
            s.to_string()
        } else {
            "other".to_string()
        }
    };
    let mut names: Vec<String> = Vec::new();
    for (s, _) in &series {
        let n = name_of(s);
        if !names.contains(&n) {
            names.push(n);
        }
    }
    let mut months: BTreeMap<&str, BTreeMap<String, u64>> = BTreeMap::new();
    for (m, s, n) in rows {
        *months
            .entry(m.as_str())
            .or_default()
            .entry(name_of(s))
            .or_default() += n;
    }
    let max = months
        .values()
        .map(|v| v.values().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);

    let (left, top, bar_w, gap, plot_h) = (50.0, 40.0, 14.0, 4.0, 260.0);
    let width = left + months.len() as f64 * (bar_w + gap) + 160.0;
    let height = top + plot_h + 70.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="sans-serif" font-size="11">"#
    );
    let _ = write!(
        svg,
        r#"<rect width="100%" height="100%" fill="white"/><text x="{left}" y="22" font-size="14" font-weight="bold">{}</text>"#,
        escape(title)
    );
    // Axis and a few gridlines.
    for i in 0..=4 {
        let v = max as f64 * i as f64 / 4.0;
        let y = top + plot_h - plot_h * i as f64 / 4.0;
        let _ = write!(
            svg,
            r##"<line x1="{left}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{:.0}</text>"##,
            width - 160.0,
            left - 4.0,
            y + 4.0,
            v
        );
    }
    for (i, (month, stack)) in months.iter().enumerate() {
        let x = left + i as f64 * (bar_w + gap);
        let mut y = top + plot_h;
        for (k, name) in names.iter().enumerate() {
            let n = stack.get(name).copied().unwrap_or(0);
            if n == 0 {
                continue;
            }
            let h = plot_h * n as f64 / max as f64;
            y -= h;
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{bar_w}" height="{h:.1}" fill="{}"><title>{} {}: {n}</title></rect>"#,
                PALETTE[k % PALETTE.len()],
                escape(month),
                escape(name)
            );
        }
        if i % 3 == 0 {
            let _ = write!(
                svg,
                r#"<text transform="translate({:.1},{:.1}) rotate(-60)" text-anchor="end">{}</text>"#,
                x + bar_w / 2.0,
                top + plot_h + 10.0,
                escape(month)
            );
        }
    }
    let lx = width - 140.0;
    for (k, name) in names.iter().enumerate() {
        let y = top + k as f64 * 16.0;
        let _ = write!(
            svg,
            r#"<rect x="{lx}" y="{y}" width="10" height="10" fill="{}"/><text x="{}" y="{}">{}</text>"#,
            PALETTE[k % PALETTE.len()],
            lx + 14.0,
            y + 9.0,
            escape(name)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_bar_per_month_and_a_legend_entry_per_series() {
        let rows = vec![
            ("2012-01".to_string(), "215".to_string(), 5),
            ("2012-01".to_string(), "227".to_string(), 3),
            ("2012-02".to_string(), "215".to_string(), 2),
        ];
        let svg = super::stacked_bars("Cases per month", &rows);
        assert!(svg.starts_with("<svg"));
        assert_eq!(svg.matches("<title>").count(), 3);
        assert!(svg.contains(">215<") && svg.contains(">227<"));
        assert!(svg.contains("2012-01 215: 5"));
    }
}
