//! `index.html`: what the package holds and how to check it, in Arabic and English.
//!
//! Deliberately shows no photograph: the originals are pictures of the dead, opened only by
//! someone who chooses to, from the links.

use athar_catalog::CaseRow;
use athar_tlog::Checkpoint;

use crate::{BagContext, Item};

pub struct IndexData<'a> {
    pub ctx: &'a BagContext<'a>,
    pub origin: &'a str,
    pub custodian: &'a str,
    pub checkpoint: &'a Checkpoint,
    pub cases: &'a [&'a CaseRow],
    pub items: &'a [&'a Item],
    pub events: usize,
    pub vkey: &'a str,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn opt(s: &Option<String>) -> String {
    esc(s.as_deref().unwrap_or("–"))
}

pub fn page(d: &IndexData<'_>) -> String {
    use base64::Engine;
    let root = base64::engine::general_purpose::STANDARD.encode(d.checkpoint.root);
    let ctx = d.ctx;
    let originals = d.items.iter().filter(|i| i.role == "original").count();
    let derivatives = d.items.len() - originals;
    let bag_line_en = if ctx.bag_count > 1 {
        format!(
            "<p>This is bag {} of {} of one package; each bag can be checked on its own.</p>",
            ctx.bag_number, ctx.bag_count
        )
    } else {
        String::new()
    };
    let bag_line_ar = if ctx.bag_count > 1 {
        format!(
            "<p>هذه الحقيبة {} من {} من حزمة واحدة؛ ويمكن التحقق من كل حقيبة وحدها.</p>",
            ctx.bag_number, ctx.bag_count
        )
    } else {
        String::new()
    };
    let report_en = if ctx.report.is_some() {
        "<li><a href=\"athar/authenticity.html\">Authenticity report</a> (method, parameters and figures; data in <code>athar/authenticity.json</code>)</li>"
    } else {
        "<li>No authenticity report is included in this package.</li>"
    };
    let report_ar = if ctx.report.map(|r| r.html_ar.is_some()).unwrap_or(false) {
        "<li><a href=\"athar/authenticity.ar.html\">تقرير الأصالة</a> (المنهج والمعايير والأرقام)</li>"
    } else if ctx.report.is_some() {
        "<li><a href=\"athar/authenticity.html\">تقرير الأصالة</a> (بالإنكليزية)</li>"
    } else {
        "<li>لا تتضمن هذه الحزمة تقرير أصالة.</li>"
    };

    let mut cases = String::new();
    for c in d.cases {
        cases.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&c.id),
            opt(&c.branch),
            opt(&c.detainee),
            opt(&c.report),
            opt(&c.hospital),
            esc(c.first_taken.as_deref().map(|t| &t[..10.min(t.len())]).unwrap_or("–")),
            esc(&c.status),
            c.photos
        ));
    }
    let mut items = String::new();
    for i in d.items {
        let role = match (i.role, &i.kind) {
            ("original", _) => "original · أصل".to_string(),
            (_, Some(k)) => format!("{} · مشتق", esc(k)),
            _ => "derivative · مشتق".to_string(),
        };
        items.push_str(&format!(
            "<tr><td>{}</td><td><a href=\"{}\">{}</a></td><td class=\"hash\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&i.case),
            esc(&i.path),
            esc(i.path.rsplit('/').next().unwrap_or(&i.path)),
            esc(&i.sha256),
            role,
            i.size,
            i.event_seqs.len()
        ));
    }

    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Evidence package · حزمة أدلة — {id}</title>
<style>
body {{ font-family: "Noto Sans", "Noto Sans Arabic", "DejaVu Sans", sans-serif; margin: 2em auto; max-width: 72em; color: #1a1a1a; line-height: 1.45; padding: 0 1em; }}
h1 {{ font-size: 1.6em; border-bottom: 2px solid #444; padding-bottom: .3em; }}
.cols {{ display: flex; gap: 2em; flex-wrap: wrap; }}
.cols > section {{ flex: 1 1 30em; }}
section[dir=rtl] {{ font-family: "Noto Naskh Arabic", "Noto Sans Arabic", "DejaVu Sans", sans-serif; font-size: 1.05em; }}
table {{ border-collapse: collapse; width: 100%; margin: 1em 0; font-size: .9em; }}
th, td {{ border: 1px solid #bbb; padding: .25em .5em; text-align: start; vertical-align: top; }}
th {{ background: #eee; }}
.hash {{ font-family: "DejaVu Sans Mono", monospace; font-size: .8em; word-break: break-all; }}
code, pre {{ font-family: "DejaVu Sans Mono", monospace; background: #f4f4f4; }}
pre {{ padding: .6em; overflow-x: auto; }}
.note {{ background: #fff8e0; border: 1px solid #e0c860; padding: .5em 1em; }}
</style>
</head>
<body>
<h1>Evidence package · حزمة أدلة</h1>
<p class="hash">{id}</p>
<div class="cols">
<section lang="en" dir="ltr">
<h2>What this is</h2>
<p>Photographic evidence from the archive <b>{custodian}</b> (log <code>{origin}</code>), packaged on {created} for {ncases} case(s): {originals} original file(s){derivs_en}. Every file's SHA-256 is listed in <code>manifest-sha256.txt</code>; its custody history is in the signed event lines under <code>athar/events.jsonl</code>, each with a Merkle inclusion proof under <code>athar/proofs/</code> against the signed checkpoint <code>athar/checkpoint.txt</code> (log size {size}, root <span class="hash">{root}</span>).</p>
{bag_en}
<p class="note">This page shows no photographs. The files under <code>data/</code> are photographs of the dead; open them only if you need to.</p>
<h2>How to check it</h2>
<ol>
<li>Run <code>athar-verify .</code> in this folder. It checks the bag, every hash and signature, and every proof, and prints a verdict in English and Arabic.</li>
<li>Compare the archive's key below with the key the archive has published, or give the verifier a checkpoint the archive published earlier: <code>athar-verify . --checkpoint published.txt</code>.</li>
<li>Any BagIt tool checks the bag itself, e.g. <code>bagit.py --validate .</code></li>
</ol>
<ul>{report_en}</ul>
</section>
<section lang="ar" dir="rtl">
<h2>ما هذه الحزمة</h2>
<p>أدلة مصوّرة من أرشيف <b>{custodian}</b> (السجل <code dir="ltr">{origin}</code>)، حُزمت بتاريخ {created} وتضم {ncases} حالة: {originals} ملفًا أصليًا{derivs_ar}. بصمة SHA-256 لكل ملف مدرجة في <code dir="ltr">manifest-sha256.txt</code>، وسجل حيازته في أسطر الأحداث الموقّعة في <code dir="ltr">athar/events.jsonl</code>، ولكل حدث برهان انتماء إلى شجرة ميركل في <code dir="ltr">athar/proofs/</code> مقابل نقطة التحقق الموقّعة <code dir="ltr">athar/checkpoint.txt</code> (حجم السجل {size}).</p>
{bag_ar}
<p class="note">لا تعرض هذه الصفحة أي صورة. الملفات في <code dir="ltr">data/</code> صور لأشخاص متوفين؛ لا تفتحها إلا عند الحاجة.</p>
<h2>كيف تتحقق منها</h2>
<ol>
<li>شغّل <code dir="ltr">athar-verify .</code> في هذا المجلد. يتحقق من الحقيبة ومن كل بصمة وتوقيع وبرهان، ويطبع الحكم بالعربية والإنكليزية.</li>
<li>قارن مفتاح الأرشيف أدناه بالمفتاح الذي نشره الأرشيف، أو أعطِ أداة التحقق نقطة تحقق نشرها الأرشيف من قبل: <code dir="ltr">athar-verify . --checkpoint published.txt</code>.</li>
<li>يمكن لأي أداة BagIt التحقق من الحقيبة نفسها، مثل <code dir="ltr">bagit.py --validate .</code></li>
</ol>
<ul>{report_ar}</ul>
</section>
</div>
<h2>Archive key · مفتاح الأرشيف</h2>
<p class="hash">{vkey}</p>
<h2>Cases · الحالات</h2>
<table>
<tr><th>case · الحالة</th><th>branch · الفرع</th><th>detainee · رقم المعتقل</th><th>report · رقم التقرير</th><th>hospital · المشفى</th><th>date · التاريخ</th><th>status · الوضع</th><th>photos · الصور</th></tr>
{cases}</table>
<h2>Files · الملفات</h2>
<table>
<tr><th>case · الحالة</th><th>file · الملف</th><th>SHA-256</th><th>role · النوع</th><th>bytes · البايتات</th><th>events · الأحداث</th></tr>
{items}</table>
<p>{events} custody events · حدث حيازة: <a href="athar/events.jsonl">athar/events.jsonl</a></p>
</body>
</html>
"#,
        id = esc(ctx.package_id),
        custodian = esc(d.custodian),
        origin = esc(d.origin),
        created = esc(&ctx.created[..10]),
        ncases = d.cases.len(),
        originals = originals,
        derivs_en = if derivatives > 0 {
            format!(" and {derivatives} derivative(s) (thumbnails, blurred previews)")
        } else {
            String::new()
        },
        derivs_ar = if derivatives > 0 {
            format!(" و{derivatives} ملفًا مشتقًا (صور مصغّرة ومعاينات مموّهة)")
        } else {
            String::new()
        },
        size = d.checkpoint.size,
        root = root,
        bag_en = bag_line_en,
        bag_ar = bag_line_ar,
        report_en = report_en,
        report_ar = report_ar,
        vkey = esc(d.vkey),
        cases = cases,
        items = items,
        events = d.events,
    )
}
