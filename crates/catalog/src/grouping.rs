//! Grouping photos into cases, one per body.
//!
//! Photos that carry the same numbers (detainee and branch, from their names or their card)
//! form one case: an assertion. Photos without numbers are linked to the previous photo from
//! the same camera when it was taken shortly before and looks nearly the same; chains of two or
//! more become *proposed* cases for a person to review. Distractors (no body, no numbers) rarely
//! look like their neighbours, so they stay alone.

use std::collections::BTreeMap;

use crate::photos::PhotoRow;

#[derive(Debug, Clone, Copy)]
pub struct GroupingParams {
    /// Longest gap between two shots of one body from one camera, in seconds.
    pub max_gap_secs: i64,
    /// Largest PDQ distance (of 256 bits) between consecutive shots of one body.
    pub max_pdq_distance: u32,
}

impl Default for GroupingParams {
    fn default() -> Self {
        // Measured on the synthetic collection (BENCHMARKS.md): shots of one body are a minute
        // or two apart, and reframing moves PDQ by 40-150 bits, so time does most of the work.
        GroupingParams {
            max_gap_secs: 120,
            max_pdq_distance: 120,
        }
    }
}

/// A decision to record: these photos belong to this case.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub case_id: String,
    /// "numbers" (asserted) or "similarity" (proposed).
    pub basis: &'static str,
    pub status: &'static str,
    pub detainee: Option<String>,
    pub branch: Option<String>,
    pub report: Option<String>,
    pub hospital: Option<String>,
    pub photos: Vec<String>,
    /// Why, in words, for the event and the reviewer.
    pub reason: String,
}

/// The case id for a body's numbers: branch and detainee number identify it.
pub fn case_id(branch: Option<&str>, detainee: &str) -> String {
    let detainee = detainee.trim_start_matches('0');
    format!(
        "{}-{}",
        branch.unwrap_or("x"),
        if detainee.is_empty() { "0" } else { detainee }
    )
}

/// Decide groups for the photos not yet in a case. `photos` is every analysed photo (those
/// already in a case anchor nothing but are skipped), in camera and time order.
pub fn plan(photos: &[PhotoRow], params: &GroupingParams) -> Vec<Group> {
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for p in photos.iter().filter(|p| p.case_id.is_none()) {
        let Some(detainee) = p.detainee.as_deref() else {
            continue;
        };
        let id = case_id(p.branch.as_deref(), detainee);
        let g = groups.entry(id.clone()).or_insert_with(|| Group {
            case_id: id,
            basis: "numbers",
            status: "unidentified",
            detainee: Some(detainee.to_string()),
            branch: p.branch.clone(),
            report: None,
            hospital: p.hospital.clone(),
            photos: Vec::new(),
            reason: String::new(),
        });
        if g.report.is_none() {
            g.report = p.report.clone();
        }
        g.photos.push(p.sha256.clone());
    }
    for g in groups.values_mut() {
        g.reason = format!(
            "{} photos carry detainee {} of branch {}",
            g.photos.len(),
            g.detainee.as_deref().unwrap_or("?"),
            g.branch.as_deref().unwrap_or("?")
        );
    }
    let mut out: Vec<Group> = groups.into_values().collect();
    out.extend(propose(photos, params));
    out
}

fn seconds(taken: &str) -> Option<i64> {
    // "YYYY-MM-DDTHH:MM:SS", camera local time: a day number is enough for gaps.
    let b = taken.as_bytes();
    if b.len() < 19 {
        return None;
    }
    let n = |r: std::ops::Range<usize>| taken.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let days = y * 372 + mo * 31 + d;
    Some(days * 86_400 + n(11..13)? * 3600 + n(14..16)? * 60 + n(17..19)?)
}

fn pdq_distance(a: &[u8; 32], b: &[u8; 32]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// Chains of unnumbered look-alike shots from one camera, close in time.
fn propose(photos: &[PhotoRow], params: &GroupingParams) -> Vec<Group> {
    let candidates: Vec<&PhotoRow> = photos
        .iter()
        .filter(|p| {
            p.case_id.is_none() && p.detainee.is_none() && p.pdq.is_some() && p.error.is_none()
        })
        .collect();
    let mut chains: Vec<Vec<&PhotoRow>> = Vec::new();
    for p in candidates {
        let linked = chains.last().and_then(|c| c.last()).is_some_and(|prev| {
            let same_camera = prev.serial.is_some() && prev.serial == p.serial;
            let gap = match (
                prev.taken.as_deref().and_then(seconds),
                p.taken.as_deref().and_then(seconds),
            ) {
                (Some(a), Some(b)) => b - a,
                _ => i64::MAX,
            };
            let close = (0..=params.max_gap_secs).contains(&gap);
            let alike = pdq_distance(
                prev.pdq.as_ref().expect("filtered"),
                p.pdq.as_ref().expect("filtered"),
            ) <= params.max_pdq_distance;
            same_camera && close && alike
        });
        if linked {
            chains.last_mut().expect("linked to it").push(p);
        } else {
            chains.push(vec![p]);
        }
    }
    chains
        .into_iter()
        .filter(|c| c.len() >= 2)
        .map(|c| {
            let first = c.iter().map(|p| p.sha256.as_str()).min().expect("non-empty");
            Group {
                case_id: format!("proposed-{}", &first[..12]),
                basis: "similarity",
                status: "proposed",
                detainee: None,
                branch: None,
                report: None,
                hospital: c[0].hospital.clone(),
                reason: format!(
                    "{} unnumbered shots from camera {} within {} s of each other and within PDQ distance {}",
                    c.len(),
                    c[0].serial.as_deref().unwrap_or("?"),
                    params.max_gap_secs,
                    params.max_pdq_distance
                ),
                photos: c.iter().map(|p| p.sha256.clone()).collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo(
        sha: &str,
        serial: &str,
        taken: &str,
        pdq: u8,
        numbers: Option<(&str, &str)>,
    ) -> PhotoRow {
        PhotoRow {
            sha256: sha.repeat(64 / sha.len()),
            source_path: None,
            serial: Some(serial.into()),
            camera: None,
            taken: Some(taken.into()),
            subsec: None,
            pdq: Some([pdq; 32]),
            pdq_quality: Some(100),
            detainee: numbers.map(|n| n.0.to_string()),
            branch: numbers.map(|n| n.1.to_string()),
            report: None,
            numbers_from: None,
            photographer: None,
            hospital: None,
            error: None,
            case_id: None,
        }
    }

    #[test]
    fn numbered_photos_form_cases_and_lookalikes_are_proposed() {
        let photos = vec![
            photo("a", "S1", "2012-01-01T10:00:00", 0, Some(("0451", "215"))),
            photo("b", "S1", "2012-01-01T10:00:20", 0, Some(("451", "215"))),
            photo("c", "S1", "2012-01-01T10:05:00", 0b1, None),
            photo("d", "S1", "2012-01-01T10:05:30", 0b11, None),
            photo("e", "S1", "2012-01-01T10:06:00", 0xFF, None), // looks different: alone
            photo("f", "S2", "2012-01-01T10:06:10", 0xFF, None), // other camera: alone
            photo("g", "S2", "2012-01-01T10:16:10", 0xFF, None), // too long after: alone
        ];
        let groups = plan(&photos, &GroupingParams::default());
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].case_id, "215-451");
        assert_eq!(groups[0].photos.len(), 2);
        assert_eq!(groups[1].status, "proposed");
        assert_eq!(groups[1].photos, vec!["c".repeat(64), "d".repeat(64)]);
    }
}
