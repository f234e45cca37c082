//! Graded viewing of a case. Nothing about a body is shown until the viewer chooses it, one
//! step at a time, each behind a content warning and each written to the audit trail:
//! 1 the facts and numbers, 2 the label close-up, 3 a strongly blurred image, 4 the unblurred
//! image. Families go in order; investigators may go straight to a step. Every unblurred
//! image served is audited and counts toward the investigator's daily cap.

use maud::html;

use athar_catalog::{
    candidate_event, observations::status, CaseObservations, CaseRow, Photos, Records,
};

use crate::family::{display_name, own_record, status_id};
use crate::page::{self, csrf_field, short};
use crate::routes::{Req, Resp};
use crate::store::{self, Audit, Role};
use crate::{images, App, PortalError, Result};

pub const STEPS: u8 = 4;
/// Photos shown per case at each step.
pub const MAX_PHOTOS: usize = 6;

pub fn load_case(app: &App, id: &str) -> Result<CaseRow> {
    app.catalogs.get().case(id)?.ok_or(PortalError::NotFound)
}

/// Today's cap on unblurred views for investigators, if the admin set one.
pub fn cap(app: &App) -> Result<Option<u64>> {
    Ok(store::setting(&app.db.get(), store::UNBLURRED_CAP)?.and_then(|v| v.parse().ok()))
}

/// Whether this investigator has reached today's cap.
fn over_cap(app: &App, req: &Req<'_>) -> Result<bool> {
    let me = req.me()?;
    if me.role != Role::Investigator {
        return Ok(false);
    }
    Ok(match cap(app)? {
        Some(c) => store::unblurred_today(&app.db.get(), &me.id)? >= c,
        None => false,
    })
}

pub fn facts(
    l: crate::i18n::L<'_>,
    c: &CaseRow,
    obs: Option<&athar_catalog::Observations>,
) -> maud::Markup {
    let o = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
    html! {
        table.facts {
            tr { th { (l.t("field-detainee")) } td.num { (o(&c.detainee)) } }
            tr { th { (l.t("field-branch")) } td.num { (o(&c.branch)) } }
            tr { th { (l.t("field-report")) } td.num { (o(&c.report)) } }
            tr { th { (l.t("field-hospital")) } td { (o(&c.hospital)) } }
            tr { th { (l.t("field-documented")) } td.num { (c.first_taken.as_deref().map(|t| &t[..t.len().min(10)]).unwrap_or("—")) } }
            tr { th { (l.t("field-status")) } td { (l.t(&status_id(&c.status))) } }
            tr { th { (l.t("field-photos-count")) } td.num { (c.photos) } }
            @if let Some(obs) = obs {
                tr { th { (l.t("field-sex")) } td { (l.t(match obs.sex { Some(athar_catalog::Sex::Male) => "sex-male", Some(athar_catalog::Sex::Female) => "sex-female", None => "sex-unknown" })) } }
                tr { th { (l.t("field-age-range")) } td.num { (obs.age_min.map(|a| a.to_string()).unwrap_or_default()) "–" (obs.age_max.map(|a| a.to_string()).unwrap_or_default()) } }
                tr { th { (l.t("field-marks")) } td { (obs.marks.join("; ")) } }
            }
        }
    }
}

pub fn case(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let c = load_case(app, req.param(0))?;
    let me = req.me()?.clone();
    let level = store::viewing_level(&app.db.get(), &me.id, &c.id)?;
    let obs = app.catalogs.get().observations(&c.id)?;
    let n_photos = (c.photos as usize).min(MAX_PHOTOS);
    let records = if me.role == Role::Family {
        app.catalogs.get().records_of(&me.id)?
    } else {
        Vec::new()
    };
    let record = req.query("record").unwrap_or("").to_string();
    let csrf = req.csrf(app)?;
    let l = req.lang;
    let next = level + 1;
    let img = |n: usize, kind: &str| format!("/cases/{}/photos/{}/{}", c.id, n, kind);
    let body = html! {
        h1 { (l.t("case")) " " bdi { (short(&c.id)) } }
        @if me.role == Role::Investigator { p { a href={ "/review/cases/" (c.id) } { (l.t("review-open-case")) } } }
        @if level == 0 { p { (l.t("view-nothing-yet")) } }
        @if level >= 1 { h2 { (l.t("step-1-title")) } (facts(l, &c, obs.as_ref())) }
        @if level >= 2 {
            h2 { (l.t("step-2-title")) }
            div.grid { @for n in 0..n_photos { img src=(img(n, "label")) alt=(l.t("step-2-alt")); } }
        }
        @if level >= 3 {
            h2 { (l.t("step-3-title")) }
            div.grid { @for n in 0..n_photos { img src=(img(n, "blur")) alt=(l.t("step-3-alt")); } }
        }
        @if level >= 4 {
            h2 { (l.t("step-4-title")) }
            div.grid { @for n in 0..n_photos { img src=(img(n, "full")) alt=(l.t("step-4-alt")); } }
        }
        @if level < STEPS {
            form #step method="post" action={ "/cases/" (c.id) "/step" } {
                (csrf_field(&csrf))
                input type="hidden" name="record" value=(record);
                input type="hidden" name="level" value=(next);
                div.warn role="note" {
                    strong { (l.t("content-warning")) }
                    p { (l.t(&format!("step-{next}-warning"))) }
                    label { input type="checkbox" name="confirm" value="yes" required; " " (l.t("step-confirm")) }
                }
                button type="submit" { (l.t(&format!("step-{next}-button"))) }
            }
        }
        @if level >= 1 && !records.is_empty() {
            h2 { (l.t("claim-title")) }
            form #claim method="post" action={ "/cases/" (c.id) "/claim" } {
                (csrf_field(&csrf))
                label for="record" { (l.t("claim-record")) }
                select #record name="record" {
                    @for r in &records { option value=(r.id) selected[r.id == record] { (display_name(r)) } }
                }
                fieldset {
                    label { input type="radio" name="kind" value="recognise" required; " " (l.t("claim-recognise")) }
                    label { input type="radio" name="kind" value="not-them"; " " (l.t("claim-not-them")) }
                }
                label for="note" { (l.t("claim-note")) }
                textarea #note name="note" rows="2" {}
                button type="submit" { (l.t("claim-button")) }
            }
        }
    };
    page::ok(req, &format!("{} {}", l.t("case"), short(&c.id)), body)
}

pub fn step(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let c = load_case(app, req.param(0))?;
    let me = req.me()?.clone();
    let want: u8 = req
        .field("level")
        .parse()
        .ok()
        .filter(|l| (1..=STEPS).contains(l))
        .ok_or(PortalError::BadRequest("step-invalid"))?;
    if req.field("confirm") != "yes" {
        return Err(PortalError::BadRequest("step-unconfirmed"));
    }
    let db = app.db.get();
    let have = store::viewing_level(&db, &me.id, &c.id)?;
    if me.role == Role::Family && want > have + 1 {
        return Err(PortalError::BadRequest("step-in-order"));
    }
    if want == STEPS && over_cap(app, req)? {
        drop(db);
        return Ok(page::error(req, 429));
    }
    if want > have {
        store::set_viewing_level(&db, &me.id, &c.id, want)?;
    }
    let record = req.field("record");
    store::audit(
        &db,
        Audit {
            user: Some(&me),
            action: &format!("view-step-{want}"),
            case_id: Some(&c.id),
            record_id: (!record.is_empty()).then_some(record),
            detail: String::new(),
        },
    )?;
    let q = if record.is_empty() {
        String::new()
    } else {
        format!("?record={}", page::url_encode(record))
    };
    Ok(Resp::redirect(format!("/cases/{}{}", c.id, q)))
}

pub fn image(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let c = load_case(app, req.param(0))?;
    let me = req.me()?.clone();
    let n: usize = req.param(1).parse().map_err(|_| PortalError::NotFound)?;
    let kind = req.param(2).to_string();
    let need = match kind.as_str() {
        "label" => 2,
        "blur" => 3,
        "full" => 4,
        _ => return Err(PortalError::NotFound),
    };
    if store::viewing_level(&app.db.get(), &me.id, &c.id)? < need {
        return Ok(page::error(req, 403));
    }
    let photos = app.catalogs.get().case_photos(&c.id)?;
    let photo = photos
        .get(n)
        .filter(|_| n < MAX_PHOTOS)
        .ok_or(PortalError::NotFound)?;
    if need == 4 {
        // Only investigators have a cap; check and log in one step (see audit_unblurred).
        let cap = if me.role == Role::Investigator {
            cap(app)?
        } else {
            None
        };
        let logged = store::audit_unblurred(
            &app.db.get(),
            Audit {
                user: Some(&me),
                action: store::UNBLURRED_VIEW,
                case_id: Some(&c.id),
                record_id: None,
                detail: photo.sha256.clone(),
            },
            cap,
        )?;
        if !logged {
            return Ok(page::error(req, 429));
        }
    }
    let bytes = match kind.as_str() {
        "label" => images::label_crop(app, &photo.sha256)?,
        "blur" => images::derivative(app, &photo.sha256, "blur_strong")?,
        _ => images::original(app, &photo.sha256)?,
    };
    // Originals keep their own format (JPEG, PNG, TIFF): say which, since nosniff is on.
    Ok(Resp::bytes(athar_media::sniff::sniff(&bytes), bytes))
}

pub fn claim(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let c = load_case(app, req.param(0))?;
    let r = own_record(app, req, req.field("record"))?;
    let me = req.me()?.clone();
    if store::viewing_level(&app.db.get(), &me.id, &c.id)? < 1 {
        return Err(PortalError::BadRequest("claim-facts-first"));
    }
    let kind = match req.field("kind") {
        k @ ("recognise" | "not-them") => k.to_string(),
        _ => return Err(PortalError::BadRequest("claim-choose")),
    };
    let note: String = req.field("note").trim().chars().take(2000).collect();
    let claim = store::add_claim(&app.db.get(), &r.id, &c.id, &kind, &me.id, &note)?;
    if kind == "recognise" && matches!(c.status.as_str(), status::UNIDENTIFIED | status::PROPOSED) {
        app.append(vec![candidate_event(&c.id)])?;
    }
    store::audit(
        &app.db.get(),
        Audit {
            user: Some(&me),
            action: "claim",
            case_id: Some(&c.id),
            record_id: Some(&r.id),
            detail: format!("{kind} {}", claim.id),
        },
    )?;
    Ok(Resp::redirect(format!("/records/{}?notice=claimed", r.id)))
}
