//! A family's pages: their missing-person records (submit, edit, withdraw), the ranked
//! candidates of each, and search over cases. A family sees only its own records: every
//! record route goes through [`own_record`].

use maud::{html, Markup};

use athar_catalog::matching::Candidate;
use athar_catalog::{
    record_digest, record_event, seal_contact, CaseFilter, MissingPerson, PersonNames,
    RecordChange, Records, Sex,
};

use crate::i18n::{ascii_digits, L};
use crate::page::{self, csrf_field, short};
use crate::routes::{Req, Resp};
use crate::store::{self, Audit};
use crate::{App, PortalError, Result};

/// The record named in the path, if this user owns it. Another family's record is "not
/// found", the same answer as no record at all, so ids cannot be probed.
pub fn own_record(app: &App, req: &Req<'_>, id: &str) -> Result<MissingPerson> {
    let me = req.me()?;
    let r = app
        .catalogs
        .get()
        .record(id)?
        .ok_or(PortalError::NotFound)?;
    if !crate::auth::same_secret(&r.owner, &me.id) {
        return Err(PortalError::NotFound);
    }
    Ok(r)
}

pub fn list(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let me = req.me()?.clone();
    let records = app.catalogs.get().records_of(&me.id)?;
    let l = req.lang;
    let body = html! {
        h1 { (l.t("records-title")) }
        @if let Some(n) = req.query("notice") { p.ok role="status" { (l.t(notice_id(n))) } }
        @if records.is_empty() { p { (l.t("records-none")) } }
        ul {
            @for r in &records {
                li { a href={ "/records/" (r.id) } { (display_name(r)) } " · " span.note { (l.t("records-updated")) " " (&r.updated[..10]) } }
            }
        }
        p { a href="/records/new" { (l.t("records-new")) } }
    };
    page::ok(req, &l.t("records-title"), body)
}

fn notice_id(n: &str) -> &'static str {
    match n {
        "withdrawn" => "notice-withdrawn",
        "saved" => "notice-saved",
        _ => "notice-done",
    }
}

pub fn display_name(r: &MissingPerson) -> String {
    let ar = r
        .names_ar
        .parts()
        .iter()
        .filter(|p| !p.is_empty())
        .take(3)
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    let la = r
        .names_latin
        .parts()
        .iter()
        .filter(|p| !p.is_empty())
        .take(3)
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    match (ar.is_empty(), la.is_empty()) {
        (false, false) => format!("{ar} / {la}"),
        (false, true) => ar,
        (true, false) => la,
        (true, true) => short(&r.id).to_string(),
    }
}

fn names_fields(l: L<'_>, prefix: &str, n: &PersonNames, dir: &str) -> Markup {
    let parts = [
        ("given", "field-given", &n.given),
        ("father", "field-father", &n.father),
        ("family", "field-family", &n.grandfather_or_family),
        ("mother", "field-mother", &n.mother),
    ];
    html! {
        @for (key, label, value) in parts {
            @let name = format!("{prefix}_{key}");
            label for=(name) { (l.t(label)) }
            input id=(name) name=(name) type="text" dir=(dir) value=(value);
        }
    }
}

fn record_form(l: L<'_>, csrf: &str, action: &str, r: &MissingPerson, editing: bool) -> Markup {
    let sex = r.sex.map(Sex::as_str).unwrap_or("");
    html! {
        form method="post" action=(action) enctype="multipart/form-data" {
            (csrf_field(csrf))
            fieldset { legend { (l.t("record-names-ar")) } (names_fields(l, "ar", &r.names_ar, "rtl")) }
            fieldset { legend { (l.t("record-names-latin")) } (names_fields(l, "latin", &r.names_latin, "ltr")) }
            fieldset {
                legend { (l.t("record-person")) }
                label for="sex" { (l.t("field-sex")) }
                select #sex name="sex" {
                    option value="" selected[sex.is_empty()] { (l.t("sex-unknown")) }
                    option value="male" selected[sex == "male"] { (l.t("sex-male")) }
                    option value="female" selected[sex == "female"] { (l.t("sex-female")) }
                }
                label for="birth_date" { (l.t("field-birth-date")) }
                input #birth_date name="birth_date" type="text" inputmode="numeric" placeholder="1990 / 1990-05-17" value=(r.birth_date.clone().unwrap_or_default());
                label for="age_at_arrest" { (l.t("field-age-at-arrest")) }
                input #age_at_arrest name="age_at_arrest" type="text" inputmode="numeric" value=(r.age_at_arrest.map(|a| a.to_string()).unwrap_or_default());
                label for="origin" { (l.t("field-origin")) }
                input #origin name="origin" type="text" value=(r.origin);
            }
            fieldset {
                legend { (l.t("record-arrest")) }
                label for="arrest_date" { (l.t("field-arrest-date")) }
                input #arrest_date name="arrest_date" type="text" inputmode="numeric" placeholder="2012-03-04" value=(r.arrest_date.clone().unwrap_or_default());
                label for="arrest_place" { (l.t("field-arrest-place")) }
                input #arrest_place name="arrest_place" type="text" value=(r.arrest_place);
                label for="branch" { (l.t("field-branch-believed")) }
                input #branch name="branch" type="text" value=(r.branch.clone().unwrap_or_default());
                label for="known_numbers" { (l.t("field-known-numbers")) }
                input #known_numbers name="known_numbers" type="text" value=(r.known_numbers.join(", "));
            }
            fieldset {
                legend { (l.t("record-description")) }
                label for="description" { (l.t("field-description")) }
                textarea #description name="description" rows="3" { (r.description) }
                label for="marks" { (l.t("field-marks")) }
                textarea #marks name="marks" rows="3" { (r.marks.join("\n")) }
                p.note { (l.t("field-marks-hint")) }
                label for="photos" { (l.t("field-photos")) }
                input #photos name="photos" type="file" accept="image/jpeg,image/png" multiple;
            }
            fieldset {
                legend { (l.t("record-contact")) }
                label for="contact" { (l.t("field-contact")) }
                textarea #contact name="contact" rows="2" {}
                p.note { (l.t(if editing { "field-contact-keep" } else { "field-contact-hint" })) }
            }
            label { input type="checkbox" name="consent" value="yes" checked[r.consent] required; " " (l.t("field-consent")) }
            button type="submit" { (l.t(if editing { "record-save" } else { "record-submit" })) }
        }
    }
}

pub fn new_form(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let csrf = req.csrf(app)?;
    let l = req.lang;
    let body = html! {
        h1 { (l.t("record-new-title")) }
        p { (l.t("record-new-intro")) }
        (record_form(l, &csrf, "/records/new", &MissingPerson::default(), false))
    };
    page::ok(req, &l.t("record-new-title"), body)
}

fn opt(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

fn list_field(s: &str, seps: &[char]) -> Vec<String> {
    s.split(seps)
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(String::from)
        .collect()
}

/// Fill a record from the form; a message id if something must be corrected.
fn read_form(req: &Req<'_>, r: &mut MissingPerson) -> std::result::Result<(), &'static str> {
    let names = |p: &str| PersonNames {
        given: req.field(&format!("{p}_given")).trim().into(),
        father: req.field(&format!("{p}_father")).trim().into(),
        grandfather_or_family: req.field(&format!("{p}_family")).trim().into(),
        mother: req.field(&format!("{p}_mother")).trim().into(),
    };
    r.names_ar = names("ar");
    r.names_latin = names("latin");
    if r.names_ar.is_empty() && r.names_latin.is_empty() {
        return Err("record-need-name");
    }
    r.sex = Sex::parse(req.field("sex"));
    r.birth_date = opt(&ascii_digits(req.field("birth_date")));
    r.age_at_arrest = match opt(&ascii_digits(req.field("age_at_arrest"))) {
        None => None,
        Some(a) => Some(a.parse().map_err(|_| "record-bad-age")?),
    };
    r.origin = req.field("origin").trim().into();
    r.arrest_date = opt(&ascii_digits(req.field("arrest_date")));
    r.arrest_place = req.field("arrest_place").trim().into();
    r.branch = opt(req.field("branch"));
    r.description = req.field("description").trim().into();
    r.marks = list_field(req.field("marks"), &['\n', '؛', ';']);
    r.known_numbers = list_field(req.field("known_numbers"), &[',', '،', ' ', '\n']);
    r.consent = req.field("consent") == "yes";
    if !r.consent {
        return Err("record-need-consent");
    }
    for d in [&r.birth_date, &r.arrest_date].into_iter().flatten() {
        if athar_catalog::records::parse_partial_date(d).is_none() {
            return Err("record-bad-date");
        }
    }
    r.validate().map_err(|_| "record-invalid")?;
    Ok(())
}

fn form_error(
    req: &mut Req<'_>,
    app: &App,
    action: &str,
    r: &MissingPerson,
    id: &str,
    editing: bool,
) -> Result<Resp> {
    let csrf = req.csrf(app)?;
    let l = req.lang;
    let body = html! {
        h1 { (l.t(if editing { "record-edit-title" } else { "record-new-title" })) }
        p.err role="alert" { (l.t(id)) }
        (record_form(l, &csrf, action, r, editing))
    };
    Ok(Resp::html(
        400,
        page::layout(req, &l.t("record-new-title"), body),
    ))
}

/// Attach the uploaded photos and the sealed contact (when one was typed).
fn save_extras(app: &App, req: &Req<'_>, id: &str) -> Result<()> {
    let mut cat = app.catalogs.get();
    for f in req.files.iter().filter(|f| f.field == "photos") {
        let sniffed = athar_media::sniff::sniff(&f.bytes);
        if !matches!(sniffed, "image/jpeg" | "image/png") {
            return Err(PortalError::BadRequest("record-bad-photo"));
        }
        cat.add_photo(id, &f.bytes, sniffed)?;
    }
    let contact = req.field("contact").trim();
    if !contact.is_empty() {
        cat.set_contact(id, &seal_contact(&app.recipient, contact)?)?;
    }
    Ok(())
}

fn log_change(
    app: &App,
    req: &Req<'_>,
    r: &MissingPerson,
    change: RecordChange,
    action: &str,
) -> Result<()> {
    let digest = record_digest(&app.record_key, r);
    app.append(vec![record_event(change, &digest)])?;
    store::audit(
        &app.db.get(),
        Audit {
            user: req.user.as_ref(),
            action,
            case_id: None,
            record_id: Some(&r.id),
            detail: String::new(),
        },
    )
}

pub fn create(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let mut r = MissingPerson::new(&req.me()?.id);
    if let Err(id) = read_form(req, &mut r) {
        return form_error(req, app, "/records/new", &r, id, false);
    }
    app.catalogs.get().put_record(&r)?;
    if let Err(e) = save_extras(app, req, &r.id) {
        app.catalogs.get().withdraw(&r.id)?;
        return Err(e);
    }
    log_change(app, req, &r, RecordChange::Submitted, "record-submit")?;
    Ok(Resp::redirect(format!("/records/{}", r.id)))
}

pub fn edit_form(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let r = own_record(app, req, req.param(0))?;
    let csrf = req.csrf(app)?;
    let l = req.lang;
    let action = format!("/records/{}/edit", r.id);
    let body = html! {
        h1 { (l.t("record-edit-title")) }
        (record_form(l, &csrf, &action, &r, true))
        h2 { (l.t("record-withdraw-title")) }
        form method="post" action={ "/records/" (r.id) "/withdraw" } {
            (csrf_field(&csrf))
            p.warn { (l.t("record-withdraw-warning")) }
            label { input type="checkbox" name="confirm" value="yes" required; " " (l.t("record-withdraw-confirm")) }
            button type="submit" { (l.t("record-withdraw-button")) }
        }
    };
    page::ok(req, &l.t("record-edit-title"), body)
}

pub fn edit(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let mut r = own_record(app, req, req.param(0))?;
    let action = format!("/records/{}/edit", r.id);
    if let Err(id) = read_form(req, &mut r) {
        return form_error(req, app, &action, &r, id, true);
    }
    r.updated = athar_vault::now_rfc3339();
    app.catalogs.get().put_record(&r)?;
    save_extras(app, req, &r.id)?;
    app.forget_candidates(&r.id);
    log_change(app, req, &r, RecordChange::Edited, "record-edit")?;
    Ok(Resp::redirect(format!("/records/{}?notice=saved", r.id)))
}

/// Erase the record, its photos, contact and claims; the log and the audit trail keep only
/// the keyed digest.
pub fn withdraw(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let r = own_record(app, req, req.param(0))?;
    if req.field("confirm") != "yes" {
        return Err(PortalError::BadRequest("record-withdraw-unconfirmed"));
    }
    let digest = record_digest(&app.record_key, &r);
    app.catalogs.get().withdraw(&r.id)?;
    app.forget_candidates(&r.id);
    app.append(vec![record_event(RecordChange::Withdrawn, &digest)])?;
    let db = app.db.get();
    store::forget_record(&db, &r.id, &digest)?;
    let kept = format!("withdrawn:{digest}");
    store::audit(
        &db,
        Audit {
            user: req.user.as_ref(),
            action: "record-withdraw",
            case_id: None,
            record_id: Some(&kept),
            detail: String::new(),
        },
    )?;
    Ok(Resp::redirect("/records?notice=withdrawn"))
}

pub fn photo(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let r = own_record(app, req, req.param(0))?;
    let want: i64 = req.param(1).parse().map_err(|_| PortalError::NotFound)?;
    let p = app
        .catalogs
        .get()
        .record_photos(&r.id)?
        .into_iter()
        .find(|p| p.id == want)
        .ok_or(PortalError::NotFound)?;
    let ct = if p.media_type == "image/png" {
        "image/png"
    } else {
        "image/jpeg"
    };
    Ok(Resp::bytes(ct, p.bytes))
}

pub fn reason_text(l: L<'_>, c: &Candidate) -> Vec<String> {
    c.reasons
        .iter()
        .map(|r| {
            let args: Vec<(String, String)> = r
                .detail
                .args
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            l.dynamic(&format!("reason-{}", r.detail.code), &args)
        })
        .collect()
}

pub fn show(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let r = own_record(app, req, req.param(0))?;
    let photos = app.catalogs.get().record_photos(&r.id)?;
    let has_contact = app.catalogs.get().contact(&r.id)?.is_some();
    let claims = store::claims(&app.db.get(), Some(&r.id))?;
    let candidates = app.candidates(&r)?;
    let l = req.lang;
    let dash = |o: &Option<String>| o.clone().unwrap_or_else(|| "—".into());
    let body = html! {
        h1 { (display_name(&r)) }
        @if let Some(n) = req.query("notice") { p.ok role="status" { (l.t(notice_id(n))) } }
        table {
            tr { th { (l.t("field-sex")) } td { (l.t(match r.sex { Some(Sex::Male) => "sex-male", Some(Sex::Female) => "sex-female", None => "sex-unknown" })) } }
            tr { th { (l.t("field-birth-date")) } td.num { (dash(&r.birth_date)) } }
            tr { th { (l.t("field-origin")) } td { (r.origin) } }
            tr { th { (l.t("field-arrest-date")) } td.num { (dash(&r.arrest_date)) } }
            tr { th { (l.t("field-arrest-place")) } td { (r.arrest_place) } }
            tr { th { (l.t("field-branch-believed")) } td { (dash(&r.branch)) } }
            tr { th { (l.t("field-known-numbers")) } td.num { (r.known_numbers.join(", ")) } }
            tr { th { (l.t("field-marks")) } td { (r.marks.join("; ")) } }
            tr { th { (l.t("record-contact")) } td { (l.t(if has_contact { "contact-sealed" } else { "contact-none" })) } }
        }
        @if !photos.is_empty() {
            p { @for p in &photos { img src={ "/records/" (r.id) "/photos/" (p.id) } alt=(l.t("record-photo-alt")) width="120"; " " } }
        }
        p { a href={ "/records/" (r.id) "/edit" } { (l.t("record-edit-link")) } }
        @if !claims.is_empty() {
            h2 { (l.t("claims-title")) }
            ul { @for c in &claims {
                li { (l.t(if c.kind == "recognise" { "claim-recognise" } else { "claim-not-them" })) " · " (l.t("case")) " " (short(&c.case_id)) " · " strong { (l.t(&format!("claim-status-{}", c.status))) } }
            } }
        }
        h2 { (l.t("candidates-title")) }
        p.note { (l.t("candidates-intro")) }
        @if candidates.is_empty() { p { (l.t("candidates-none")) } }
        ol.candidates {
            @for c in candidates.iter() {
                li {
                    a href={ "/cases/" (c.case_id) "?record=" (r.id) } { (l.t("case")) " " (short(&c.case_id)) }
                    " · " span.num { (l.ta("candidate-score", &[("score", &format!("{:.1}", c.score))])) }
                    ul { @for t in reason_text(l, c) { li { (t) } } }
                }
            }
        }
    };
    page::ok(req, &display_name(&r), body)
}

pub fn search(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let l = req.lang;
    let q = |k: &str| req.query(k).map(ascii_digits);
    let filter = CaseFilter {
        number: q("number"),
        branch: q("branch"),
        hospital: req.query("hospital").map(String::from),
        from: q("from"),
        to: q("to"),
        limit: Some(50),
        ..Default::default()
    };
    let asked = filter.number.is_some()
        || filter.branch.is_some()
        || filter.hospital.is_some()
        || filter.from.is_some()
        || filter.to.is_some();
    let cases = if asked {
        app.search_cases(&filter)?
    } else {
        Vec::new()
    };
    let v = |k: &str| req.query(k).unwrap_or("").to_string();
    let body = html! {
        h1 { (l.t("search-title")) }
        form method="get" action="/search" {
            label for="number" { (l.t("search-number")) }
            input #number name="number" type="text" inputmode="numeric" value=(v("number"));
            label for="branch" { (l.t("field-branch")) }
            input #branch name="branch" type="text" inputmode="numeric" value=(v("branch"));
            label for="hospital" { (l.t("field-hospital")) }
            input #hospital name="hospital" type="text" value=(v("hospital"));
            label for="from" { (l.t("search-from")) }
            input #from name="from" type="date" value=(v("from"));
            label for="to" { (l.t("search-to")) }
            input #to name="to" type="date" value=(v("to"));
            button type="submit" { (l.t("search-button")) }
        }
        @if asked {
            h2 { (l.ta("search-results", &[("n", &cases.len().to_string())])) }
            @if cases.is_empty() { p { (l.t("search-none")) } }
            @else {
                table {
                    tr { th { (l.t("case")) } th { (l.t("field-detainee")) } th { (l.t("field-branch")) } th { (l.t("field-report")) } th { (l.t("field-hospital")) } th { (l.t("field-documented")) } th { (l.t("field-status")) } }
                    @for c in &cases {
                        tr {
                            td { a href={ "/cases/" (c.id) } { (short(&c.id)) } }
                            td.num { (c.detainee.clone().unwrap_or_default()) }
                            td.num { (c.branch.clone().unwrap_or_default()) }
                            td.num { (c.report.clone().unwrap_or_default()) }
                            td { (c.hospital.clone().unwrap_or_default()) }
                            td.num { (c.first_taken.as_deref().map(|t| &t[..t.len().min(10)]).unwrap_or("")) }
                            td { (l.t(&status_id(&c.status))) }
                        }
                    }
                }
            }
        }
    };
    page::ok(req, &l.t("search-title"), body)
}

/// "family informed" → "status-family-informed".
pub fn status_id(status: &str) -> String {
    format!("status-{}", status.replace(' ', "-"))
}
