//! Investigators' pages: cases with their photos, observations, merging and splitting,
//! claims and identification, and the audit trail with each reviewer's exposure.
//! Every change here is a signed custody event.

use maud::html;

use athar_catalog::{
    identification_event, informed_event, merge_event, observation_event, open_contact,
    record_digest, split_event, CaseFilter, CaseObservations, Observations, Photos, Records, Sex,
};

use crate::family::{display_name, reason_text, status_id};
use crate::i18n::ascii_digits;
use crate::page::{self, csrf_field, short};
use crate::routes::{Req, Resp};
use crate::store::{self, Audit};
use crate::view::{cap, facts, load_case};
use crate::{App, PortalError, Result};

fn log_audit(
    app: &App,
    req: &Req<'_>,
    action: &str,
    case: Option<&str>,
    record: Option<&str>,
    detail: String,
) -> Result<()> {
    store::audit(
        &app.db.get(),
        Audit {
            user: req.user.as_ref(),
            action,
            case_id: case,
            record_id: record,
            detail,
        },
    )
}

pub fn cases(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let l = req.lang;
    let me = req.me()?.clone();
    let filter = CaseFilter {
        number: req.query("number").map(ascii_digits),
        branch: req.query("branch").map(ascii_digits),
        status: req.query("status").map(String::from),
        limit: Some(100),
        ..Default::default()
    };
    let rows = app.search_cases(&filter)?;
    let today = store::unblurred_today(&app.db.get(), &me.id)?;
    let cap = cap(app)?;
    let v = |k: &str| req.query(k).unwrap_or("").to_string();
    let body = html! {
        h1 { (l.t("review-title")) }
        p.note { (l.ta("exposure-today", &[("n", &today.to_string())])) @if let Some(c) = cap { " " (l.ta("exposure-cap", &[("cap", &c.to_string())])) } }
        form method="get" action="/review" {
            label for="number" { (l.t("search-number")) }
            input #number name="number" value=(v("number"));
            label for="branch" { (l.t("field-branch")) }
            input #branch name="branch" value=(v("branch"));
            label for="status" { (l.t("field-status")) }
            select #status name="status" {
                option value="" { "—" }
                @for s in ["unidentified", "proposed", "candidate", "identified", "family informed"] {
                    option value=(s) selected[v("status") == s] { (l.t(&status_id(s))) }
                }
            }
            button type="submit" { (l.t("search-button")) }
        }
        table {
            tr { th { (l.t("case")) } th { (l.t("field-detainee")) } th { (l.t("field-branch")) } th { (l.t("field-documented")) } th { (l.t("field-status")) } th { (l.t("field-photos-count")) } }
            @for c in &rows {
                tr {
                    td { a href={ "/review/cases/" (c.id) } { (short(&c.id)) } }
                    td.num { (c.detainee.clone().unwrap_or_default()) }
                    td.num { (c.branch.clone().unwrap_or_default()) }
                    td.num { (c.first_taken.as_deref().map(|t| &t[..t.len().min(10)]).unwrap_or("")) }
                    td { (l.t(&status_id(&c.status))) }
                    td.num { (c.photos) }
                }
            }
        }
    };
    page::ok(req, &l.t("review-title"), body)
}

pub fn case(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let c = load_case(app, req.param(0))?;
    let obs = app.catalogs.get().observations(&c.id)?.unwrap_or_default();
    let photos = app.catalogs.get().case_photos(&c.id)?;
    let csrf = req.csrf(app)?;
    let l = req.lang;
    let sex = obs.sex.map(Sex::as_str).unwrap_or("");
    let num = |v: Option<u32>| v.map(|a| a.to_string()).unwrap_or_default();
    let body = html! {
        h1 { (l.t("case")) " " bdi { (short(&c.id)) } }
        @if let Some(n) = req.query("notice") { p.ok role="status" { (l.t(match n { "merged" => "notice-merged", "split" => "notice-split", _ => "notice-saved" })) } }
        (facts(l, &c, Some(&obs)))
        p { a href={ "/cases/" (c.id) } { (l.t("review-graded-view")) } }
        h2 { (l.t("review-photos")) }
        p.note { (l.t("review-photos-note")) }
        form method="post" action={ "/review/cases/" (c.id) "/split" } {
            (csrf_field(&csrf))
            table {
                tr { th { (l.t("review-split-pick")) } th { (l.t("review-photo")) } th { (l.t("field-detainee")) } th { (l.t("review-taken")) } }
                @for p in &photos {
                    tr {
                        td { input type="checkbox" name="photo" value=(p.sha256); }
                        td.num { (short(&p.sha256)) }
                        td.num { (p.detainee.clone().unwrap_or_default()) }
                        td.num { (p.taken.clone().unwrap_or_default()) }
                    }
                }
            }
            button type="submit" { (l.t("review-split-button")) }
        }
        h2 { (l.t("review-observations")) }
        form method="post" action={ "/review/cases/" (c.id) "/observations" } {
            (csrf_field(&csrf))
            label for="sex" { (l.t("field-sex")) }
            select #sex name="sex" {
                option value="" selected[sex.is_empty()] { (l.t("sex-unknown")) }
                option value="male" selected[sex == "male"] { (l.t("sex-male")) }
                option value="female" selected[sex == "female"] { (l.t("sex-female")) }
            }
            label for="age_min" { (l.t("field-age-min")) }
            input #age_min name="age_min" inputmode="numeric" value=(num(obs.age_min));
            label for="age_max" { (l.t("field-age-max")) }
            input #age_max name="age_max" inputmode="numeric" value=(num(obs.age_max));
            label for="injuries" { (l.t("field-injuries")) }
            textarea #injuries name="injuries" rows="3" { (obs.injuries.join("\n")) }
            label for="marks" { (l.t("field-marks")) }
            textarea #marks name="marks" rows="3" { (obs.marks.join("\n")) }
            label for="notes" { (l.t("field-notes")) }
            textarea #notes name="notes" rows="3" { (obs.notes) }
            button type="submit" { (l.t("review-save-observations")) }
        }
        h2 { (l.t("review-merge")) }
        form method="post" action={ "/review/cases/" (c.id) "/merge" } {
            (csrf_field(&csrf))
            label for="from" { (l.t("review-merge-from")) }
            input #from name="from" type="text";
            button type="submit" { (l.t("review-merge-button")) }
        }
    };
    page::ok(req, &format!("{} {}", l.t("case"), short(&c.id)), body)
}

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

pub fn observations(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let c = load_case(app, req.param(0))?;
    let age = |k: &str| -> Result<Option<u32>> {
        match ascii_digits(req.field(k)).trim() {
            "" => Ok(None),
            v => v
                .parse()
                .map(Some)
                .map_err(|_| PortalError::BadRequest("record-bad-age")),
        }
    };
    let obs = Observations {
        sex: Sex::parse(req.field("sex")),
        age_min: age("age_min")?,
        age_max: age("age_max")?,
        injuries: lines(req.field("injuries")),
        marks: lines(req.field("marks")),
        notes: req.field("notes").trim().to_string(),
    };
    if let (Some(a), Some(b)) = (obs.age_min, obs.age_max) {
        if a > b {
            return Err(PortalError::BadRequest("review-age-order"));
        }
    }
    let signed = app.append(vec![observation_event(&c.id, &obs)])?;
    log_audit(
        app,
        req,
        "observations",
        Some(&c.id),
        None,
        format!("event {}", signed[0].event.seq),
    )?;
    Ok(Resp::redirect(format!(
        "/review/cases/{}?notice=saved",
        c.id
    )))
}

pub fn merge(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let c = load_case(app, req.param(0))?;
    let mut from = Vec::new();
    for id in req
        .field("from")
        .split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let other =
            load_case(app, id).map_err(|_| PortalError::BadRequest("review-merge-unknown"))?;
        if other.id != c.id && !from.contains(&other.id) {
            from.push(other.id);
        }
    }
    if from.is_empty() {
        return Err(PortalError::BadRequest("review-merge-unknown"));
    }
    let signed = app.append(vec![merge_event(&c.id, &from)])?;
    log_audit(
        app,
        req,
        "merge",
        Some(&c.id),
        None,
        format!("{} event {}", from.join(" "), signed[0].event.seq),
    )?;
    Ok(Resp::redirect(format!(
        "/review/cases/{}?notice=merged",
        c.id
    )))
}

pub fn split(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let c = load_case(app, req.param(0))?;
    let in_case: Vec<String> = app
        .catalogs
        .get()
        .case_photos(&c.id)?
        .into_iter()
        .map(|p| p.sha256)
        .collect();
    let picked: Vec<String> = req.fields("photo").into_iter().map(String::from).collect();
    if picked.is_empty()
        || picked.len() >= in_case.len()
        || picked.iter().any(|p| !in_case.contains(p))
    {
        return Err(PortalError::BadRequest("review-split-pick-some"));
    }
    let new_case = format!("split-{}", crate::auth::random_hex(8));
    let signed = app.append(vec![split_event(&c.id, &picked, &new_case)])?;
    log_audit(
        app,
        req,
        "split",
        Some(&c.id),
        None,
        format!("{new_case} event {}", signed[0].event.seq),
    )?;
    Ok(Resp::redirect(format!(
        "/review/cases/{new_case}?notice=split"
    )))
}

pub fn claims(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let claims = store::claims(&app.db.get(), None)?;
    let l = req.lang;
    let body = html! {
        h1 { (l.t("claims-title")) }
        @if claims.is_empty() { p { (l.t("claims-none")) } }
        table {
            tr { th { (l.t("claim")) } th { (l.t("case")) } th { (l.t("claim-kind")) } th { (l.t("field-status")) } th { (l.t("claim-created")) } }
            @for c in &claims {
                tr {
                    td { a href={ "/review/claims/" (c.id) } { (short(&c.id)) } }
                    td { a href={ "/review/cases/" (c.case_id) } { (short(&c.case_id)) } }
                    td { (l.t(if c.kind == "recognise" { "claim-recognise" } else { "claim-not-them" })) }
                    td { (l.t(&format!("claim-status-{}", c.status))) }
                    td.num { (&c.created[..16.min(c.created.len())]) }
                }
            }
        }
    };
    page::ok(req, &l.t("claims-title"), body)
}

fn load_claim(app: &App, id: &str) -> Result<store::Claim> {
    store::claim(&app.db.get(), id)?.ok_or(PortalError::NotFound)
}

pub fn claim(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let cl = load_claim(app, req.param(0))?;
    let c = load_case(app, &cl.case_id)?;
    let record = app
        .catalogs
        .get()
        .record(&cl.record_id)?
        .ok_or(PortalError::NotFound)?;
    let contact = match app.catalogs.get().contact(&record.id)? {
        Some(s) => Some(open_contact(app.identity(), &s)?),
        None => None,
    };
    log_audit(
        app,
        req,
        "read-contact",
        Some(&c.id),
        Some(&record.id),
        String::new(),
    )?;
    let candidate = app
        .candidates(&record)?
        .iter()
        .find(|k| k.case_id == c.id)
        .cloned();
    let obs = app.catalogs.get().observations(&c.id)?;
    let csrf = req.csrf(app)?;
    let l = req.lang;
    let body = html! {
        h1 { (l.t("claim")) " " (short(&cl.id)) }
        @if let Some(n) = req.query("notice") { p.ok role="status" { (l.t(match n { "confirmed" => "notice-confirmed", "informed" => "notice-informed", _ => "notice-saved" })) } }
        p { (l.t(if cl.kind == "recognise" { "claim-recognise" } else { "claim-not-them" })) " · " strong { (l.t(&format!("claim-status-{}", cl.status))) } }
        @if !cl.note.is_empty() { blockquote { (cl.note) } }
        h2 { (l.t("review-claim-record")) }
        p { (display_name(&record)) }
        table {
            tr { th { (l.t("field-arrest-date")) } td.num { (record.arrest_date.clone().unwrap_or_default()) } }
            tr { th { (l.t("field-branch-believed")) } td { (record.branch.clone().unwrap_or_default()) } }
            tr { th { (l.t("field-known-numbers")) } td.num { (record.known_numbers.join(", ")) } }
            tr { th { (l.t("field-marks")) } td { (record.marks.join("; ")) } }
            tr { th { (l.t("field-contact")) } td { (contact.unwrap_or_else(|| l.t("contact-none"))) } }
        }
        h2 { (l.t("case")) " " a href={ "/review/cases/" (c.id) } { (short(&c.id)) } }
        (facts(l, &c, obs.as_ref()))
        @if let Some(k) = &candidate {
            p { (l.ta("candidate-score", &[("score", &format!("{:.1}", k.score))])) }
            ul { @for t in reason_text(l, k) { li { (t) } } }
        }
        @if cl.status == "open" {
            form method="post" action={ "/review/claims/" (cl.id) "/confirm" } {
                (csrf_field(&csrf))
                label { input type="checkbox" name="confirm" value="yes" required; " " (l.t("claim-confirm-check")) }
                button type="submit" { (l.t("claim-confirm-button")) }
            }
            form method="post" action={ "/review/claims/" (cl.id) "/reject" } {
                (csrf_field(&csrf))
                button type="submit" { (l.t("claim-reject-button")) }
            }
        }
        @if cl.status == "confirmed" {
            form method="post" action={ "/review/claims/" (cl.id) "/informed" } {
                (csrf_field(&csrf))
                button type="submit" { (l.t("claim-informed-button")) }
            }
        }
    };
    page::ok(req, &l.t("claim"), body)
}

/// Confirm an identification: a signed "identification" event naming the case and the
/// record's keyed digest (never the record itself).
pub fn confirm(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let cl = load_claim(app, req.param(0))?;
    if cl.status != "open" {
        return Err(PortalError::BadRequest("claim-not-open"));
    }
    if req.field("confirm") != "yes" {
        return Err(PortalError::BadRequest("claim-confirm-unchecked"));
    }
    let record = app
        .catalogs
        .get()
        .record(&cl.record_id)?
        .ok_or(PortalError::NotFound)?;
    let digest = record_digest(&app.record_key, &record);
    let signed = app.append(vec![identification_event(&cl.case_id, &digest)])?;
    let me = req.me()?.id.clone();
    store::set_claim_status(&app.db.get(), &cl.id, "confirmed", &me)?;
    log_audit(
        app,
        req,
        "claim-confirm",
        Some(&cl.case_id),
        Some(&cl.record_id),
        format!("event {}", signed[0].event.seq),
    )?;
    Ok(Resp::redirect(format!(
        "/review/claims/{}?notice=confirmed",
        cl.id
    )))
}

pub fn reject(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let cl = load_claim(app, req.param(0))?;
    if cl.status != "open" {
        return Err(PortalError::BadRequest("claim-not-open"));
    }
    let me = req.me()?.id.clone();
    store::set_claim_status(&app.db.get(), &cl.id, "rejected", &me)?;
    log_audit(
        app,
        req,
        "claim-reject",
        Some(&cl.case_id),
        Some(&cl.record_id),
        String::new(),
    )?;
    Ok(Resp::redirect(format!(
        "/review/claims/{}?notice=saved",
        cl.id
    )))
}

pub fn informed(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let cl = load_claim(app, req.param(0))?;
    if cl.status != "confirmed" {
        return Err(PortalError::BadRequest("claim-not-confirmed"));
    }
    let signed = app.append(vec![informed_event(&cl.case_id)])?;
    let me = req.me()?.id.clone();
    store::set_claim_status(&app.db.get(), &cl.id, "informed", &me)?;
    log_audit(
        app,
        req,
        "informed",
        Some(&cl.case_id),
        Some(&cl.record_id),
        format!("event {}", signed[0].event.seq),
    )?;
    Ok(Resp::redirect(format!(
        "/review/claims/{}?notice=informed",
        cl.id
    )))
}

pub fn audit_page(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let db = app.db.get();
    let rows = store::audit_trail(&db, 500)?;
    let exposure = store::exposure(&db)?;
    let users: std::collections::HashMap<String, String> = store::users(&db)?
        .into_iter()
        .map(|u| (u.id, u.email))
        .collect();
    drop(db);
    let cap = cap(app)?;
    let l = req.lang;
    let who = |id: &Option<String>| {
        id.as_ref()
            .and_then(|i| users.get(i))
            .cloned()
            .unwrap_or_default()
    };
    let body = html! {
        h1 { (l.t("audit-title")) }
        h2 { (l.t("exposure-title")) }
        p.note { @match cap { Some(c) => (l.ta("exposure-cap", &[("cap", &c.to_string())])), None => (l.t("exposure-no-cap")) } }
        table {
            tr { th { (l.t("audit-day")) } th { (l.t("audit-user")) } th { (l.t("exposure-count")) } }
            @for (day, user, n) in &exposure { tr { td.num { (day) } td { (who(&Some(user.clone()))) } td.num { (n) } } }
        }
        h2 { (l.t("audit-trail")) }
        table {
            tr { th { (l.t("audit-time")) } th { (l.t("audit-user")) } th { (l.t("audit-action")) } th { (l.t("case")) } th { (l.t("audit-record")) } }
            @for a in &rows {
                tr {
                    td.num { (a.time) }
                    td { (who(&a.user_id)) " (" (l.t(&format!("role-{}", a.role))) ")" }
                    td { (a.action) }
                    td.num { (a.case_id.as_deref().map(short).unwrap_or("")) }
                    td.num { (a.record_id.as_deref().map(short).unwrap_or("")) }
                }
            }
        }
    };
    page::ok(req, &l.t("audit-title"), body)
}
