//! The report as one self-contained HTML page (inline CSS, no scripts), English or Arabic
//! (right to left). Labels are translated; the method and findings' details are figures and
//! technical English, quoted as they are in the JSON so both pages say the same.

use std::fmt::Write;

use crate::report::{Lang, Report};

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// (English, Arabic) for each label key.
fn t(lang: Lang, key: &str) -> &'static str {
    let (en, ar) = match key {
        "title" => ("Authenticity analysis", "تحليل الأصالة"),
        "scope" => ("Scope", "النطاق"),
        "collection" => ("the whole collection", "المجموعة كاملة"),
        "cases" => ("cases", "الحالات"),
        "photos" => ("photos", "الصور"),
        "generated" => ("Generated", "تاريخ الإنشاء"),
        "summary" => ("Summary", "الخلاصة"),
        "tested" => ("Photos tested against sensor fingerprints", "صور اختُبرت ببصمات المستشعر"),
        "consistent" => ("Sensor matches the camera in EXIF", "المستشعر يطابق الكاميرا المذكورة في EXIF"),
        "mismatch" => ("Sensor matches another camera", "المستشعر يطابق كاميرا أخرى"),
        "inconclusive" => ("Inconclusive", "غير حاسم"),
        "no_exif" => ("Without camera EXIF", "بلا بيانات كاميرا EXIF"),
        "not_tested" => ("Not tested", "لم تُختبر"),
        "findings" => ("Findings", "الملاحظات"),
        "none" => ("None.", "لا شيء."),
        "cameras" => ("Cameras", "الكاميرات"),
        "camera" => ("Camera", "الكاميرا"),
        "count" => ("Photos", "عدد الصور"),
        "span" => ("First – last", "الأولى – الأخيرة"),
        "order" => ("File order (pairs / back / jumps)", "ترتيب الملفات (أزواج / رجوع / قفزات)"),
        "gaps" => ("Gaps", "فجوات"),
        "jpeg" => ("JPEG quality (tables)", "جودة JPEG (الجداول)"),
        "fingerprint" => ("Fingerprint photos (rejected)", "صور البصمة (المستبعدة)"),
        "kind" => ("Kind", "النوع"),
        "severity" => ("Severity", "الأهمية"),
        "warning" => ("warning", "تحذير"),
        "note" => ("note", "ملاحظة"),
        "photo" => ("Photo", "الصورة"),
        "detail" => ("Detail", "التفاصيل"),
        "attribution" => ("Sensor attribution", "نسبة الصور إلى المستشعر"),
        "case" => ("Case", "الحالة"),
        "exif_camera" => ("Camera in EXIF", "الكاميرا في EXIF"),
        "sensor" => ("Sensor matches", "المستشعر يطابق"),
        "pce" => ("PCE (claimed / best)", "PCE (المذكورة / الأعلى)"),
        "verdict" => ("Verdict", "النتيجة"),
        "clusters" => ("Photos without EXIF, clustered by sensor", "صور بلا EXIF مجمّعة حسب المستشعر"),
        "cluster" => ("Cluster", "المجموعة"),
        "duplicates" => ("Duplicates", "النسخ المكررة"),
        "method" => ("Method", "المنهجية"),
        "parameters" => ("Parameters", "المعاملات"),
        "reproduce" => (
            "Every figure here can be recomputed from the originals with the method and parameters below; the same report in JSON (report.json) holds all values.",
            "يمكن إعادة حساب كل رقم هنا من الأصول بالمنهجية والمعاملات أدناه؛ ويحوي التقرير نفسه بصيغة JSON (report.json) جميع القيم.",
        ),
        "sensor_mismatch" => ("sensor does not match EXIF camera", "المستشعر لا يطابق كاميرا EXIF"),
        "sensor_inconclusive" => ("sensor inconclusive", "المستشعر غير حاسم"),
        "jpeg_tables" => ("JPEG tables unlike the camera's", "جداول JPEG تخالف الكاميرا"),
        "dimensions" => ("dimensions", "الأبعاد"),
        "software" => ("software tag", "وسم البرنامج"),
        "thumbnail" => ("thumbnail differs from image", "الصورة المصغرة تخالف الصورة"),
        "date_out_of_range" => ("date outside the plausible range", "تاريخ خارج النطاق المعقول"),
        "clock_backward" => ("clock goes back in file order", "الساعة ترجع في ترتيب الملفات"),
        "clock_jump" => ("clock jump", "قفزة في الساعة"),
        "duplicate_across_cases" => ("same picture in two cases", "الصورة نفسها في حالتين"),
        "copy_different_exif" => ("copy with different EXIF", "نسخة ببيانات EXIF مختلفة"),
        "same_body_two_cases" => ("same body under two cases?", "الجثة نفسها في حالتين؟"),
        _ => ("", ""),
    };
    match lang {
        Lang::En => en,
        Lang::Ar => ar,
    }
}

fn label(lang: Lang, key: &str) -> String {
    let s = t(lang, key);
    if s.is_empty() {
        esc(key)
    } else {
        esc(s)
    }
}

fn short(sha: &str) -> String {
    format!(
        "<code title=\"{0}\">{1}</code>",
        esc(sha),
        esc(&sha[..sha.len().min(12)])
    )
}

const STYLE: &str = "body{font-family:'DejaVu Sans','Noto Sans','Noto Naskh Arabic',Arial,sans-serif;margin:2em;color:#222;max-width:78em}\
h1{font-size:1.6em;border-bottom:2px solid #444}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #bbb}\
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.25em .5em;text-align:start;vertical-align:top}\
th{background:#f0f0f0}td.n{text-align:end;font-variant-numeric:tabular-nums}code{font-size:.95em;direction:ltr;unicode-bidi:embed}\
.warning{color:#9a1c00;font-weight:bold}.note{color:#555}.ltr{direction:ltr;unicode-bidi:embed}\
.mismatch{background:#fde2dc}.consistent{background:#e3f4e1}.no_exif{background:#eef}.inconclusive{background:#fff6d6}\
p.small{font-size:.85em;color:#555}";

pub fn render(r: &Report, lang: Lang) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let dir = if lang == Lang::Ar { "rtl" } else { "ltr" };
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"{}\" dir=\"{dir}\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>",
        lang.code(),
        label(lang, "title")
    );
    let _ = write!(h, "<h1>{}</h1>", label(lang, "title"));
    let scope = match r.scope.kind {
        "collection" => label(lang, "collection"),
        k => format!(
            "{}: <span class=\"ltr\">{}</span>",
            label(lang, k),
            esc(&r.scope.ids.join(", "))
        ),
    };
    let _ = write!(
        h,
        "<p>{}: {scope} — {} {} / {}. {}: <span class=\"ltr\">{}</span>, <span class=\"ltr\">{}</span></p><p class=\"small\">{}</p>",
        label(lang, "scope"),
        r.scope.photos,
        label(lang, "photos"),
        r.scope.catalogue_photos,
        label(lang, "generated"),
        esc(&r.generated),
        esc(&r.tool),
        label(lang, "reproduce")
    );

    // Summary.
    let s = &r.summary;
    let _ = write!(h, "<h2>{}</h2><table>", label(lang, "summary"));
    for (k, v) in [
        ("count", s.photos),
        ("cameras", s.cameras),
        ("tested", s.sensor_tested),
        ("consistent", s.sensor_consistent),
        ("mismatch", s.sensor_mismatch),
        ("inconclusive", s.sensor_inconclusive),
        ("no_exif", s.without_exif),
    ] {
        let _ = write!(
            h,
            "<tr><th>{}</th><td class=\"n\">{v}</td></tr>",
            label(lang, k)
        );
    }
    for (k, v) in &s.findings {
        let _ = write!(
            h,
            "<tr><th>{}: {}</th><td class=\"n\">{v}</td></tr>",
            label(lang, "findings"),
            label(lang, k)
        );
    }
    h.push_str("</table>");

    // Findings.
    let _ = write!(h, "<h2>{}</h2>", label(lang, "findings"));
    if r.findings.is_empty() {
        let _ = write!(h, "<p>{}</p>", label(lang, "none"));
    } else {
        let _ = write!(
            h,
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            label(lang, "severity"),
            label(lang, "kind"),
            label(lang, "photo"),
            label(lang, "detail")
        );
        for f in &r.findings {
            let photos: Vec<String> = f.photos.iter().map(|p| short(p)).collect();
            let _ = write!(
                h,
                "<tr><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td class=\"ltr\">{}</td></tr>",
                f.severity,
                label(lang, f.severity),
                label(lang, f.kind),
                photos.join("<br>"),
                esc(&f.detail)
            );
        }
        h.push_str("</table>");
    }

    // Cameras.
    let _ = write!(
        h,
        "<h2>{}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        label(lang, "cameras"),
        label(lang, "camera"),
        label(lang, "count"),
        label(lang, "span"),
        label(lang, "order"),
        label(lang, "gaps"),
        label(lang, "jpeg"),
        label(lang, "fingerprint")
    );
    for c in &r.cameras {
        let jpeg = c.jpeg.as_ref().map_or("—".into(), |j| {
            format!(
                "q{}{} {} ({}/{})",
                j.quality,
                if j.exact_ijg { "" } else { "~" },
                j.subsampling,
                j.agreeing,
                j.checked
            )
        });
        let _ = write!(
            h,
            "<tr><td class=\"ltr\">{}</td><td class=\"n\">{}</td><td class=\"ltr\">{} – {}</td><td class=\"n ltr\">{} / {} / {}</td><td class=\"n\">{}</td><td class=\"ltr\">{}</td><td class=\"n\">{} ({})</td></tr>",
            esc(&c.camera),
            c.photos,
            esc(c.first.as_deref().unwrap_or("—")),
            esc(c.last.as_deref().unwrap_or("—")),
            c.ordered_pairs,
            c.backward_steps,
            c.forward_jumps,
            c.gap_count,
            esc(&jpeg),
            c.fingerprint_photos,
            c.fingerprint_rejected
        );
    }
    h.push_str("</table>");

    // Attribution, flagged photos first; at most 500 rows (the JSON has all).
    let _ = write!(
        h,
        "<h2>{}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        label(lang, "attribution"),
        label(lang, "photo"),
        label(lang, "case"),
        label(lang, "exif_camera"),
        label(lang, "sensor"),
        label(lang, "pce"),
        label(lang, "verdict")
    );
    let mut rows: Vec<_> = r.photos.iter().collect();
    rows.sort_by_key(|p| (p.verdict == "consistent", p.flags.is_empty()));
    for p in rows.iter().take(500) {
        let claimed = p
            .exif_camera
            .as_ref()
            .and_then(|c| p.pce.get(c))
            .map_or("—".into(), |v| format!("{v:.0}"));
        let best = p
            .pce
            .values()
            .copied()
            .max_by(f64::total_cmp)
            .map_or("—".into(), |v| format!("{v:.0}"));
        let _ = write!(
            h,
            "<tr class=\"{}\"><td>{}</td><td class=\"ltr\">{}</td><td class=\"ltr\">{}</td><td class=\"ltr\">{}</td><td class=\"n\">{claimed} / {best}</td><td>{}</td></tr>",
            p.verdict,
            short(&p.sha256),
            esc(p.case.as_deref().unwrap_or("—")),
            esc(p.exif_camera.as_deref().unwrap_or("—")),
            esc(p.sensor.as_deref().unwrap_or("—")),
            label(lang, p.verdict)
        );
    }
    h.push_str("</table>");
    if r.photos.len() > 500 {
        let _ = write!(h, "<p class=\"small\">… {} / {}</p>", 500, r.photos.len());
    }

    // Clusters.
    let _ = write!(h, "<h2>{}</h2>", label(lang, "clusters"));
    if r.clusters.is_empty() {
        let _ = write!(h, "<p>{}</p>", label(lang, "none"));
    } else {
        let _ = write!(
            h,
            "<table><tr><th>{}</th><th>{}</th><th>{}</th></tr>",
            label(lang, "cluster"),
            label(lang, "photos"),
            label(lang, "sensor")
        );
        for c in &r.clusters {
            let photos: Vec<String> = c.photos.iter().map(|p| short(p)).collect();
            let _ = write!(
                h,
                "<tr><td class=\"n\">{}</td><td>{}</td><td class=\"ltr\">{}</td></tr>",
                c.id,
                photos.join(" "),
                esc(c.camera.as_deref().unwrap_or("—"))
            );
        }
        h.push_str("</table>");
    }

    // Duplicates.
    let _ = write!(h, "<h2>{}</h2>", label(lang, "duplicates"));
    if r.duplicates.is_empty() {
        let _ = write!(h, "<p>{}</p>", label(lang, "none"));
    } else {
        let _ = write!(
            h,
            "<table><tr><th>{}</th><th>{}</th><th>{}</th></tr>",
            label(lang, "kind"),
            label(lang, "photos"),
            label(lang, "detail")
        );
        for d in &r.duplicates {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}<br>{}</td><td class=\"ltr\">{}</td></tr>",
                label(lang, d.kind),
                short(&d.photos[0]),
                short(&d.photos[1]),
                esc(&d.detail)
            );
        }
        h.push_str("</table>");
    }

    // Method and parameters.
    let _ = write!(h, "<h2>{}</h2>", label(lang, "method"));
    for m in &r.method {
        let _ = write!(
            h,
            "<h3 class=\"ltr\">{}</h3><p class=\"ltr\">{}</p>",
            esc(m.name),
            esc(&m.text)
        );
    }
    let _ = write!(
        h,
        "<h2>{}</h2><table class=\"ltr\">",
        label(lang, "parameters")
    );
    if let serde_json::Value::Object(map) = serde_json::to_value(&r.parameters).unwrap_or_default()
    {
        for (k, v) in map {
            let _ = write!(
                h,
                "<tr><th>{}</th><td class=\"ltr\">{}</td></tr>",
                esc(&k),
                esc(&v.to_string())
            );
        }
    }
    h.push_str("</table></body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(
            esc("<a href='x'>&</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn every_label_has_both_languages() {
        for k in [
            "title",
            "summary",
            "findings",
            "cameras",
            "attribution",
            "clusters",
            "duplicates",
            "method",
            "parameters",
            "sensor_mismatch",
            "no_exif",
            "copy_different_exif",
        ] {
            assert!(
                !t(Lang::En, k).is_empty() && !t(Lang::Ar, k).is_empty(),
                "{k}"
            );
        }
    }
}
