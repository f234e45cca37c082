//! Records, observations and matching against a real vault and catalogue.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use athar_catalog::matching::eval::{self, RecordKind};
use athar_catalog::matching::{self, CaseTable, Matcher, Signal};
use athar_catalog::records::{RecordChange, RECORD, RECORD_DIGEST_KEY};
use athar_catalog::*;
use athar_vault::{Access, EventDraft, InitOptions, SecretString, Vault};

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    vault: Vault,
    cat: SqlCatalog,
    location: Location,
    _schema: Option<Schema>,
}

fn pass() -> SecretString {
    SecretString::from("matching test passphrase".to_string())
}

/// A uniquely named PostgreSQL schema, dropped when the test ends.
struct Schema {
    url: String,
    name: String,
}

impl Schema {
    fn new(url: &str) -> Schema {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "cattest_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        Schema {
            url: url.to_string(),
            name,
        }
    }

    fn location(&self) -> Location {
        Location::Postgres {
            url: self.url.clone(),
            schema: self.name.clone(),
        }
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(db) = athar_sql::Db::connect_postgres(&self.url, &self.name) {
            let _ = db.batch(&format!(
                "DROP SCHEMA IF EXISTS {0} CASCADE; DROP SCHEMA IF EXISTS {0}_rebuild CASCADE",
                self.name
            ));
        }
    }
}

/// The PostgreSQL server to test against, if `ATHAR_TEST_PG` names one.
fn pg_url() -> Option<String> {
    let url = std::env::var("ATHAR_TEST_PG").ok();
    if url.is_none() {
        eprintln!("ATHAR_TEST_PG is not set: the catalogue on PostgreSQL was not tested here");
    }
    url
}

fn vault_dir() -> (tempfile::TempDir, PathBuf, Vault) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("vault");
    let opts = InitOptions {
        scrypt_log_n: 10,
        ..InitOptions::default()
    };
    let vault = Vault::init(&root, &pass(), &opts).unwrap();
    (dir, root, vault)
}

fn fixture_at(schema: Option<Schema>) -> Fixture {
    let (dir, root, vault) = vault_dir();
    let location = match &schema {
        Some(s) => s.location(),
        None => Location::Sqlite(root.join("catalog.db")),
    };
    let cat = SqlCatalog::open(&location, &vault.catalog_key()).unwrap();
    Fixture {
        _dir: dir,
        root,
        vault,
        cat,
        location,
        _schema: schema,
    }
}

/// The embedded catalogue only.
fn fixture() -> Fixture {
    fixture_at(None)
}

/// One fixture per engine: SQLite, and PostgreSQL when `ATHAR_TEST_PG` is set.
fn fixtures() -> Vec<Fixture> {
    let mut out = vec![fixture_at(None)];
    if let Some(url) = pg_url() {
        out.push(fixture_at(Some(Schema::new(&url))));
    }
    out
}

impl Fixture {
    fn log(&mut self, drafts: Vec<EventDraft>) {
        let events = self.vault.append(drafts).unwrap();
        self.cat.apply(&events).unwrap();
    }
    fn db(&self) -> PathBuf {
        self.root.join("catalog.db")
    }
}

fn record(given_ar: &str, given: &str) -> MissingPerson {
    let mut r = MissingPerson::new("family-1");
    r.names_ar.given = given_ar.into();
    r.names_latin.given = given.into();
    r
}

#[test]
fn records_are_stored_sealed_and_erased_on_withdrawal() {
    for mut f in fixtures() {
        let mut r = record("محمد", "Mohammed");
        r.names_latin.grandfather_or_family = "al-Halabi".into();
        r.marks = vec!["وشم نسر على الساعد الأيسر".into()];
        r.known_numbers = vec!["٤٥١٢".into()];
        f.cat.put_record(&r).unwrap();
        let other = record("يوسف", "Yousef");
        let mut other = MissingPerson {
            owner: "family-2".into(),
            ..other
        };
        other.created = "2030-01-01T00:00:00Z".into();
        f.cat.put_record(&other).unwrap();

        assert_eq!(f.cat.record(&r.id).unwrap().as_ref(), Some(&r));
        assert_eq!(f.cat.records_of("family-1").unwrap(), vec![r.clone()]);
        assert_eq!(f.cat.records_of("family-2").unwrap(), vec![other.clone()]);
        assert_eq!(f.cat.all_records().unwrap().len(), 2);
        assert_eq!(r.numbers_ascii(), vec!["4512"]);

        // The contact opens only with the vault's identity.
        let sealed = seal_contact(&f.vault.identity().to_public(), "+963 11 555 0101").unwrap();
        assert!(!String::from_utf8_lossy(&sealed.0).contains("555"));
        f.cat.set_contact(&r.id, &sealed).unwrap();
        let back = f.cat.contact(&r.id).unwrap().unwrap();
        assert_eq!(
            open_contact(f.vault.identity(), &back).unwrap(),
            "+963 11 555 0101"
        );
        let stranger = age::x25519::Identity::generate();
        assert!(open_contact(&stranger, &back).is_err());

        let photo = f
            .cat
            .add_photo(&r.id, b"\xff\xd8\xff life photo", "image/jpeg")
            .unwrap();
        assert_eq!(f.cat.record_photos(&r.id).unwrap()[0].id, photo);

        // The log gets a keyed digest, never the record.
        let key = f.vault.secrets().subkey(RECORD_DIGEST_KEY);
        let digest = record_digest(&key, &r);
        assert_eq!(digest.len(), 64);
        assert_ne!(digest, record_digest(&[7u8; 32], &r), "the digest is keyed");
        let mut edited = r.clone();
        edited.marks.push("scar on the chin".into());
        assert_ne!(digest, record_digest(&key, &edited));
        f.log(vec![record_event(RecordChange::Submitted, &digest)]);
        let events = f
            .cat
            .events(&EventFilter {
                kind: Some(RECORD.into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(events.len(), 1);
        let logged = events[0].details.to_string();
        assert!(
            logged.contains(&digest) && !logged.contains("Mohammed") && !logged.contains("4512")
        );

        f.cat.withdraw(&r.id).unwrap();
        assert_eq!(f.cat.record(&r.id).unwrap(), None);
        assert!(f.cat.record_photos(&r.id).unwrap().is_empty());
        assert_eq!(f.cat.contact(&r.id).unwrap(), None);
        assert!(matches!(
            f.cat.withdraw(&r.id),
            Err(CatalogError::NoRecord(_))
        ));
        assert_eq!(f.cat.all_records().unwrap(), vec![other]);
    }
}

#[test]
fn bad_records_are_refused_with_the_field_named() {
    for mut f in fixtures() {
        let mut r = record("محمد", "Mohammed");
        r.arrest_date = Some("spring 2012".into());
        let e = f.cat.put_record(&r).unwrap_err().to_string();
        assert!(e.contains("arrest_date"), "{e}");
        let mut r = record("", "");
        r.arrest_date = Some("٢٠١٢-٠٥".into());
        let e = f.cat.put_record(&r).unwrap_err().to_string();
        assert!(e.contains("name"), "{e}");
        assert!(f.cat.all_records().unwrap().is_empty());
    }
}

#[test]
fn search_finds_records_by_any_spelling() {
    for mut f in fixtures() {
        let mut a = record("عبد الرحمن", "Abdulrahman");
        a.names_ar.father = "حسين".into();
        a.names_latin.grandfather_or_family = "al-Khatib".into();
        let b = record("حسن", "Hassan");
        let c = record("يوسف", "Youssef");
        for r in [&a, &b, &c] {
            f.cat.put_record(r).unwrap();
        }
        let ids = |q: &str| -> Vec<String> {
            search_records(&f.cat, q)
                .unwrap()
                .into_iter()
                .map(|h| h.record.id)
                .collect()
        };
        assert_eq!(ids("Abd al-Rahman Husayn"), vec![a.id.clone()]);
        assert_eq!(ids("عبدالرحمن الخطيب"), vec![a.id.clone()]);
        assert_eq!(ids("Yusuf"), vec![c.id.clone()]);
        assert_eq!(ids("يوسف"), vec![c.id.clone()]);
        // Hassan is spelled as written first; حسين (Hussein), in another script, could be
        // written "Hassan" too, so it follows.
        assert_eq!(ids("Hassan"), vec![b.id.clone(), a.id.clone()]);
        assert_eq!(ids("حسين"), vec![a.id.clone(), b.id.clone()]);
        assert!(ids("Mahmoud").is_empty());
        assert!(ids("  ").is_empty());
    }
}

/// A small collection of three cases.
fn three_cases(f: &mut Fixture) -> Vec<String> {
    let syn = eval::synthetic(3, 11);
    f.log(syn.drafts.clone());
    f.cat
        .cases(&CaseFilter::default())
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect()
}

#[test]
fn observations_status_merge_and_split_survive_rebuild() {
    for mut f in fixtures() {
        let ids = three_cases(&mut f);
        let (a, b, c) = (ids[0].clone(), ids[1].clone(), ids[2].clone());
        let obs = Observations {
            sex: Some(Sex::Male),
            age_min: Some(25),
            age_max: Some(35),
            injuries: vec!["bruising".into()],
            marks: vec!["eagle tattoo on the left forearm".into()],
            notes: "checked twice".into(),
        };
        f.log(vec![observation_event(&a, &obs)]);
        assert_eq!(f.cat.observations(&a).unwrap(), Some(obs.clone()));
        assert_eq!(
            f.cat.case(&a).unwrap().unwrap().observations,
            Some(obs.clone())
        );

        f.log(vec![candidate_event(&a)]);
        assert_eq!(f.cat.case(&a).unwrap().unwrap().status, "candidate");
        f.log(vec![identification_event(&a, &"ab".repeat(32))]);
        assert_eq!(f.cat.case(&a).unwrap().unwrap().status, "identified");
        f.log(vec![informed_event(&a)]);
        assert_eq!(f.cat.case(&a).unwrap().unwrap().status, "family informed");

        // Merge b into c: c has both photos, b is gone.
        let photos_b: Vec<String> = f
            .cat
            .case_photos(&b)
            .unwrap()
            .into_iter()
            .map(|p| p.sha256)
            .collect();
        f.log(vec![merge_event(&c, std::slice::from_ref(&b))]);
        assert_eq!(f.cat.case(&b).unwrap(), None);
        assert_eq!(f.cat.case(&c).unwrap().unwrap().photos, 2);
        // Split them apart again into a new case.
        f.log(vec![split_event(&c, &photos_b, "split-1")]);
        let split = f.cat.case("split-1").unwrap().unwrap();
        assert_eq!(
            (split.photos, split.status.as_str(), split.basis.as_str()),
            (1, "unidentified", "split")
        );
        assert!(split.first_taken.is_some(), "dates follow the photos");
        assert_eq!(f.cat.case(&c).unwrap().unwrap().photos, 1);
        // An event about an unknown case changes nothing.
        f.log(vec![observation_event("no-such-case", &obs)]);
        assert_eq!(f.cat.observations("no-such-case").unwrap(), None);

        let r = record("محمد", "Mohammed");
        f.cat.put_record(&r).unwrap();
        f.cat.add_photo(&r.id, b"photo", "image/jpeg").unwrap();
        let sealed = seal_contact(&f.vault.identity().to_public(), "phone").unwrap();
        f.cat.set_contact(&r.id, &sealed).unwrap();

        let before = f.cat.dump().unwrap();
        let Fixture {
            _dir,
            root,
            vault,
            cat,
            location,
            _schema,
        } = f;
        drop((vault, cat));
        let vault = Vault::open(&root, &pass(), Access::Write).unwrap();
        let rebuilt = rebuild(&vault, &location).unwrap();
        assert_eq!(
            rebuilt.dump().unwrap(),
            before,
            "rebuild reproduces everything, records included"
        );
        assert_eq!(rebuilt.record(&r.id).unwrap(), Some(r));
        assert!(before.contains("case_observations") && before.contains("split-1"));
    }
}

#[test]
fn rebuild_keeps_an_unreadable_catalogue_aside() {
    let mut f = fixture();
    three_cases(&mut f);
    let db = f.db();
    let Fixture {
        _dir,
        root,
        vault,
        cat,
        ..
    } = f;
    drop((vault, cat));
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    std::fs::write(&db, vec![0x5a; 8192]).unwrap();
    let vault = Vault::open(&root, &pass(), Access::Write).unwrap();
    let rebuilt = rebuild(&vault, &Location::Sqlite(db.clone())).unwrap();
    assert_eq!(rebuilt.cases(&CaseFilter::default()).unwrap().len(), 3);
    let aside: &Path = &db.with_extension("db.unreadable");
    assert_eq!(std::fs::read(aside).unwrap(), vec![0x5a; 8192]);
}

#[test]
fn ranking_gives_reasons_and_penalises_a_body_documented_before_the_arrest() {
    for mut f in fixtures() {
        let syn = eval::synthetic(400, 5);
        f.log(syn.drafts.clone());
        let (r, truth) = syn
            .records
            .iter()
            .zip(&syn.kinds)
            .find(|(_, k)| **k == RecordKind::Right)
            .map(|(r, _)| r.clone())
            .unwrap();
        let truth = truth.unwrap();
        let ranked = matching::rank(&f.cat, &r, 10).unwrap();
        assert_eq!(ranked[0].case_id, truth, "{ranked:#?}");
        let signals: Vec<Signal> = ranked[0].reasons.iter().map(|x| x.signal).collect();
        for s in [Signal::Branch, Signal::Dates, Signal::Marks] {
            assert!(
                signals.contains(&s),
                "{s:?} missing from {:?}",
                ranked[0].reasons
            );
        }
        let score: f64 = ranked[0].reasons.iter().map(|x| x.weight).sum();
        assert!((score - ranked[0].score).abs() < 1e-9);
        assert!(ranked.windows(2).all(|w| w[0].score >= w[1].score));
        assert!(ranked[0]
            .reasons
            .iter()
            .any(|x| x.detail.code == "branch-match"
                && x.detail.args.get("branch") == r.branch.as_ref()));

        // The same record, arrested a year after the body was documented.
        let case = f.cat.case(&truth).unwrap().unwrap();
        let documented = &case.first_taken.unwrap()[..10];
        let year: i32 = documented[..4].parse().unwrap();
        let mut late = r.clone();
        late.arrest_date = Some(format!("{}{}", year + 1, &documented[4..]));
        let table = CaseTable::load(&f.cat).unwrap();
        let q = matching::Query::new(&late, &table);
        let c = table.find(&truth).unwrap();
        let cand = Matcher::standard().candidate(&q, c, &table);
        assert!(cand
            .reasons
            .iter()
            .any(|x| x.detail.code == "documented-before-arrest" && x.weight <= -5.0));
        assert!(!Matcher::standard()
            .rank_table(&table, &late, 10)
            .iter()
            .any(|x| x.case_id == truth));

        // A known detainee number in Arabic-Indic digits puts the case first on its own.
        let mut bare = record("محمد", "Mohammed");
        bare.known_numbers = vec![case
            .detainee
            .unwrap()
            .chars()
            .map(|d| char::from_u32(0x0660 + d.to_digit(10).unwrap()).unwrap())
            .collect()];
        let ranked = matching::rank(&f.cat, &bare, 3).unwrap();
        assert_eq!(ranked[0].case_id, truth);
        assert_eq!(ranked[0].reasons[0].detail.code, "number-match");

        // Identified cases are no longer offered.
        f.log(vec![identification_event(&truth, &"cd".repeat(32))]);
        assert!(!matching::rank(&f.cat, &r, 10)
            .unwrap()
            .iter()
            .any(|x| x.case_id == truth));
    }
}

/// The accuracy goal: for records whose facts are right, the true case is among the first
/// ten at least 95% of the time.
#[test]
fn evaluation_on_synthetic_records() {
    for mut f in fixtures() {
        let n = 5000;
        let syn = eval::synthetic(n, 2026);
        f.log(syn.drafts.clone());
        let table = CaseTable::load(&f.cat).unwrap();
        assert_eq!(table.cases.len(), n);
        let scores = eval::evaluate(&Matcher::standard(), &table, &syn);
        println!(
            "matching accuracy, {n} cases, {} records:",
            syn.records.len()
        );
        println!(
            "{:<28} {:>7} {:>7} {:>7}",
            "record", "count", "top 1", "top 10"
        );
        let (mut right, mut right10) = (0, 0);
        for (kind, s) in &scores {
            if *kind == RecordKind::NotInArchive {
                println!(
                    "{:<28} {:>7} (with candidates: {:.1}%)",
                    kind.as_str(),
                    s.records,
                    100.0 * s.with_candidates as f64 / s.records.max(1) as f64
                );
                continue;
            }
            println!(
                "{:<28} {:>7} {:>6.1}% {:>6.1}%",
                kind.as_str(),
                s.records,
                100.0 * s.share_top1(),
                100.0 * s.share_top10()
            );
            if kind.facts_right() {
                right += s.records;
                right10 += s.top10;
            }
        }
        let share = right10 as f64 / right as f64;
        println!(
            "facts right: {right10}/{right} = {:.1}% in the top 10",
            100.0 * share
        );
        assert!(right >= 500, "enough records to measure: {right}");
        assert!(
            share >= 0.95,
            "only {:.1}% of right records have their case in the top 10",
            100.0 * share
        );
    }
}

/// A new signal (face similarity, say) plugs in as one more scorer.
#[test]
fn a_new_signal_is_one_more_scorer() {
    for mut f in fixtures() {
        struct Face(String);
        impl matching::Scorer for Face {
            fn signal(&self) -> Signal {
                Signal::Face
            }
            fn score(
                &self,
                _: &matching::Query,
                c: &matching::CaseFacts,
                t: &CaseTable,
                out: &mut matching::Sink,
            ) {
                if t.id(c) == self.0 {
                    out.add(Signal::Face, 50.0, "face-similar", || {
                        vec![("distance", "0.21".into())]
                    });
                }
            }
        }
        let syn = eval::synthetic(300, 9);
        f.log(syn.drafts.clone());
        let table = CaseTable::load(&f.cat).unwrap();
        let r = &syn.records[0].0;
        let target = table.id(&table.cases[123]).to_string();
        let standard = Matcher::standard().rank_table(&table, r, 10);
        assert_ne!(
            standard.first().map(|c| c.case_id.as_str()),
            Some(target.as_str())
        );
        let with_face = Matcher::standard().with(Box::new(Face(target.clone())));
        assert!(with_face.signals().contains(&Signal::Face));
        let ranked = with_face.rank_table(&table, r, 10);
        assert_eq!(ranked[0].case_id, target);
        let face = ranked[0]
            .reasons
            .iter()
            .find(|x| x.signal == Signal::Face)
            .unwrap();
        assert_eq!(
            (face.detail.code.as_str(), face.weight),
            ("face-similar", 50.0)
        );
    }
}

/// Rebuilding the same log into PostgreSQL and into SQLite gives the same catalogue, and a
/// rebuild into PostgreSQL keeps the records of the schema it replaces.
#[test]
fn rebuild_into_postgres_gives_the_same_catalogue_as_into_sqlite() {
    let Some(url) = pg_url() else { return };
    let mut f = fixture();
    let ids = three_cases(&mut f);
    let obs = Observations {
        sex: Some(Sex::Female),
        age_min: Some(30),
        age_max: None,
        injuries: vec![],
        marks: vec!["scar on the chin".into()],
        notes: String::new(),
    };
    f.log(vec![
        observation_event(&ids[0], &obs),
        merge_event(&ids[1], std::slice::from_ref(&ids[2])),
    ]);
    let schema = Schema::new(&url);
    let mut old = SqlCatalog::open(&schema.location(), &[0; 32]).unwrap();
    catch_up(&mut old, &f.vault).unwrap();
    let r = record("محمد", "Mohammed");
    for cat in [&mut old, &mut f.cat] {
        cat.put_record(&r).unwrap();
        cat.add_photo(&r.id, b"life photo", "image/jpeg").unwrap();
        let sealed = seal_contact(&f.vault.identity().to_public(), "phone").unwrap();
        cat.set_contact(&r.id, &sealed).unwrap();
    }
    drop(old);

    let on_pg = rebuild(&f.vault, &schema.location()).unwrap();
    let on_sqlite = rebuild(&f.vault, &f.location).unwrap();
    let (pg_dump, sqlite_dump) = (on_pg.dump().unwrap(), on_sqlite.dump().unwrap());
    // Contacts are sealed afresh for each catalogue; everything else is identical.
    let without_contacts = |d: &str| -> String {
        d.lines()
            .filter(|l| !l.starts_with("record_contacts"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(without_contacts(&pg_dump), without_contacts(&sqlite_dump));
    assert!(pg_dump.contains("case_observations") && pg_dump.contains("records\t"));
    assert_eq!(on_pg.record(&r.id).unwrap(), Some(r.clone()));
    let contact = on_pg.contact(&r.id).unwrap().unwrap();
    assert_eq!(open_contact(f.vault.identity(), &contact).unwrap(), "phone");
    // The sequence of life photo ids continues after the carried rows.
    let mut on_pg = on_pg;
    let next = on_pg.add_photo(&r.id, b"second", "image/jpeg").unwrap();
    assert!(next > on_pg.record_photos(&r.id).unwrap()[0].id);
    // The staging schema is gone: rebuilt again, nothing is left over or doubled.
    let again = rebuild(&f.vault, &schema.location()).unwrap();
    assert_eq!(
        again.events(&EventFilter::default()).unwrap().len(),
        f.vault.tail().size as usize
    );
}

/// Several processes (here threads, each with its own connection) catching up the same
/// PostgreSQL catalogue at once, in overlapping batches: each event lands exactly once and
/// nobody sees a gap.
#[test]
fn concurrent_catch_ups_on_postgres_apply_each_event_once() {
    let Some(url) = pg_url() else { return };
    let mut f = fixture();
    f.log(eval::synthetic(200, 3).drafts);
    let mut events = Vec::new();
    f.vault
        .read_log_from(1, [0; 32], |ev| {
            events.push(ev);
            Ok(())
        })
        .unwrap();
    let n = events.len();
    assert!(n > 400, "enough events to interleave: {n}");
    let schema = Schema::new(&url);
    // Created before the threads start, so they race on events, not on creating tables.
    drop(SqlCatalog::open(&schema.location(), &[0; 32]).unwrap());
    std::thread::scope(|s| {
        for chunk in [7usize, 13, 31, 64] {
            let (events, location) = (&events, schema.location());
            s.spawn(move || {
                let mut cat = SqlCatalog::open(&location, &[0; 32]).unwrap();
                for batch in events.chunks(chunk) {
                    cat.apply(batch).unwrap();
                }
            });
        }
    });
    let cat = SqlCatalog::open(&schema.location(), &[0; 32]).unwrap();
    let seqs: Vec<u64> = cat
        .events(&EventFilter::default())
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, (1..=n as u64).collect::<Vec<_>>());
    assert_eq!(cat.last_seq().unwrap(), n as u64);
    // Same content as one writer alone.
    assert_eq!(cat.dump().unwrap(), f.cat.dump().unwrap());
    // And catch_up from the log itself, twice at once, adds nothing more.
    f.log(vec![informed_event("no-such-case")]);
    std::thread::scope(|s| {
        for _ in 0..2 {
            let (vault, location) = (&f.vault, schema.location());
            s.spawn(move || {
                let mut cat = SqlCatalog::open(&location, &[0; 32]).unwrap();
                catch_up(&mut cat, vault).unwrap();
            });
        }
    });
    assert_eq!(cat.last_seq().unwrap(), n as u64 + 1);
    assert_eq!(cat.events(&EventFilter::default()).unwrap().len(), n + 1);
}
