//! The portal in a real browser: Chromium driven over WebDriver (chromedriver), against
//! `athar demo` + `athar serve`. A family registers, submits a record, sees its candidates,
//! walks the graded viewing and claims; an investigator confirms. Once with JavaScript on
//! (Arabic, measuring each family page's weight) and once with JavaScript off (English).
//! Screenshots go to target/screenshots/ (the path is printed).

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// Family pages must weigh at most this on first load, images aside.
const MAX_PAGE_BYTES: f64 = 100.0 * 1024.0;

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn need(tool: &str) -> PathBuf {
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let p = Path::new(dir).join(tool);
        if p.exists() {
            return p;
        }
    }
    panic!("{tool} is not installed: run scripts/test (it installs chromium and chromium-driver) or apt-get install chromium chromium-driver");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Browser {
    agent: ureq::Agent,
    base: String,
    session: String,
    js: bool,
}

impl Browser {
    fn start(driver: &str, js: bool, lang: &str) -> Browser {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut args = vec![
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--window-size=412,915",
        ];
        let lang_arg = format!("--lang={lang}");
        args.push(&lang_arg);
        let mut prefs = json!({ "intl.accept_languages": lang });
        if !js {
            prefs["profile.managed_default_content_settings.javascript"] = json!(2);
        }
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": need("chromium").to_string_lossy(), "args": args, "prefs": prefs }
        }}});
        let v: Value = agent
            .post(format!("{driver}/session"))
            .send_json(&caps)
            .unwrap()
            .into_body()
            .read_json()
            .unwrap();
        let session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {v}"))
            .to_string();
        Browser {
            agent,
            base: format!("{driver}/session/{session}"),
            session,
            js,
        }
    }

    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        let r = match method {
            "GET" => self.agent.get(&url).call(),
            "DELETE" => self.agent.delete(&url).call(),
            _ => self.agent.post(&url).send_json(&body),
        }
        .unwrap();
        let v: Value = r.into_body().read_json().unwrap();
        if v["value"].get("error").is_some() {
            panic!("WebDriver {path}: {}", v["value"]);
        }
        v["value"].clone()
    }

    fn go(&self, url: &str) {
        self.call("POST", "/url", json!({ "url": url }));
    }

    fn url(&self) -> String {
        self.call("GET", "/url", Value::Null)
            .as_str()
            .unwrap()
            .to_string()
    }

    fn source(&self) -> String {
        self.call("GET", "/source", Value::Null)
            .as_str()
            .unwrap()
            .to_string()
    }

    fn find(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            "/element",
            json!({ "using": "css selector", "value": css }),
        );
        v[ELEMENT].as_str().unwrap().to_string()
    }

    fn count(&self, css: &str) -> usize {
        self.call(
            "POST",
            "/elements",
            json!({ "using": "css selector", "value": css }),
        )
        .as_array()
        .unwrap()
        .len()
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.call("POST", &format!("/element/{e}/click"), json!({}));
    }

    /// Click something that loads a new page, and wait until the old one is gone.
    fn submit(&self, css: &str) {
        let html = self.find("html");
        self.click(css);
        let started = Instant::now();
        loop {
            let r = self
                .agent
                .get(format!("{}/element/{html}/name", self.base))
                .call()
                .unwrap();
            let v: Value = r.into_body().read_json().unwrap();
            if v["value"].get("error").is_some() {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "{css} did not load a new page"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn type_in(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.call(
            "POST",
            &format!("/element/{e}/value"),
            json!({ "text": text }),
        );
    }

    fn screenshot(&self, dir: &Path, name: &str) {
        use base64::Engine;
        let b64 = self.call("GET", "/screenshot", Value::Null);
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap())
            .unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    fn script(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            json!({ "script": script, "args": [] }),
        )
    }

    /// Bytes of the page and everything it loaded except images (JS runs only).
    fn weight(&self) -> f64 {
        self.script(
            "const n = performance.getEntriesByType('navigation')[0];
             let total = n.transferSize || n.encodedBodySize;
             for (const r of performance.getEntriesByType('resource')) {
               if (r.initiatorType !== 'img') total += r.transferSize || r.encodedBodySize;
             }
             return total;",
        )
        .as_f64()
        .unwrap()
    }

    /// A family page: check its weight when scripts run, and that it loaded no script.
    fn family_page(&self, what: &str, weights: &mut Vec<(String, f64)>) {
        let src = self.source();
        assert!(!src.contains("<script"), "{what}: a script tag");
        if self.js {
            let w = self.weight();
            assert!(w > 500.0, "{what}: {w} bytes measured");
            assert!(w <= MAX_PAGE_BYTES, "{what} weighs {w} bytes on first load");
            weights.push((what.to_string(), w));
        }
    }

    /// Whether an image of this step (`css`) was decoded by the browser.
    fn image_loaded(&self, css: &str) -> bool {
        self.script(&format!("return [...document.querySelectorAll(\"{css}\")].some(i => i.complete && i.naturalWidth > 0);"))
            .as_bool()
            .unwrap()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.agent.delete(self.base.to_string()).call();
        let _ = &self.session;
    }
}

fn arabic_digits(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_digit() {
                char::from_u32(0x0660 + (c as u32 - '0' as u32)).unwrap()
            } else {
                c
            }
        })
        .collect()
}

/// A small life photo (plain colours: synthetic, like everything in the tests).
fn life_photo(dir: &Path) -> PathBuf {
    let mut img = athar_media::RgbImage::new(64, 64);
    for y in 0..64 {
        for x in 0..64 {
            img.put(x, y, [(x * 4) as u8, (y * 4) as u8, 120]);
        }
    }
    let p = dir.join("life.jpg");
    std::fs::write(&p, athar_media::ops::encode_jpeg(&img, 80).unwrap()).unwrap();
    p
}

struct Journey<'a> {
    b: &'a Browser,
    site: String,
    shots: PathBuf,
    tag: String,
    weights: Vec<(String, f64)>,
}

impl Journey<'_> {
    fn shot(&self, name: &str) {
        self.b
            .screenshot(&self.shots, &format!("{}-{name}", self.tag));
    }

    fn family(&mut self, email: &str, case: &Value, photo: &Path) -> (String, String) {
        let b = self.b;
        b.go(&format!("{}/register", self.site));
        self.b.family_page("register", &mut self.weights);
        self.shot("register");
        b.type_in("#name", "Umm Salim");
        b.type_in("#email", email);
        b.type_in("#password", "a long family password");
        b.type_in("#password2", "a long family password");
        b.submit("main form button[type=submit]");
        assert!(
            b.url().ends_with("/records"),
            "after registering: {}",
            b.url()
        );
        self.b.family_page("records", &mut self.weights);

        b.go(&format!("{}/records/new", self.site));
        self.b.family_page("record form", &mut self.weights);
        self.shot("record-form");
        b.type_in("#ar_given", "سليم");
        b.type_in("#ar_father", "محمد");
        b.type_in("#latin_given", "Salim");
        b.type_in("#latin_father", "Mohammed");
        b.click("#sex option[value=male]");
        let documented = case["first_taken"].as_str().unwrap();
        let arrest = format!("{}-01", &documented[..7]);
        let arrest = if arrest.as_str() < &documented[..10] {
            arrest
        } else {
            format!("{}-01-01", &documented[..4])
        };
        b.type_in("#arrest_date", &arrest);
        b.type_in("#branch", &arabic_digits(case["branch"].as_str().unwrap()));
        b.type_in(
            "#known_numbers",
            &arabic_digits(case["detainee"].as_str().unwrap()),
        );
        b.type_in("#marks", "scar on the left hand");
        b.type_in("#contact", "phone +963 11 555 0142");
        b.type_in("#photos", photo.to_str().unwrap());
        b.click("input[name=consent]");
        b.submit("main form button[type=submit]");
        let record_url = b.url();
        if !record_url.contains("/records/") || record_url.ends_with("/new") {
            let src = b.source();
            let err = src
                .split("class=\"err\"")
                .nth(1)
                .unwrap_or("")
                .chars()
                .take(300)
                .collect::<String>();
            panic!("after submitting: {record_url}: {err}");
        }
        let record_id = record_url.rsplit('/').next().unwrap().to_string();

        // Candidates: the true case is listed, with reasons, and no photo of a body.
        let case_id = case["id"].as_str().unwrap();
        let src = b.source();
        assert!(
            src.contains(&format!("/cases/{case_id}?record={record_id}")),
            "the true case is not among the candidates"
        );
        assert!(
            b.count("ol.candidates li ul li") >= 2,
            "candidates without reasons"
        );
        assert_eq!(b.count("ol.candidates img"), 0);
        self.b
            .family_page("record and candidates", &mut self.weights);
        self.shot("candidates");

        // Search by the detainee number, typed in Arabic-Indic digits.
        b.go(&format!("{}/search", self.site));
        self.b.family_page("search form", &mut self.weights);
        b.type_in(
            "#number",
            &arabic_digits(case["detainee"].as_str().unwrap()),
        );
        b.submit("main form button[type=submit]");
        assert!(
            b.count(&format!("a[href='/cases/{case_id}']")) == 1,
            "search did not find {case_id}"
        );
        self.b.family_page("search results", &mut self.weights);
        self.shot("search");
        b.go(&record_url);

        // Graded viewing, one explicit choice at a time.
        b.submit(&format!("a[href='/cases/{case_id}?record={record_id}']"));
        assert_eq!(b.count("img"), 0, "a photo on first display");
        self.b
            .family_page("case, before any step", &mut self.weights);
        self.shot("case-warning");
        for (step, css) in [
            (1, "table.facts"),
            (2, "img[src$='/label']"),
            (3, "img[src$='/blur']"),
            (4, "img[src$='/full']"),
        ] {
            b.click("#step input[name=confirm]");
            b.submit("#step button[type=submit]");
            if b.count(css) == 0 {
                self.shot(&format!("failed-step-{step}"));
                panic!("step {step} shows no {css}: at {}", b.url());
            }
            if self.b.js && step >= 2 {
                assert!(b.image_loaded(css), "step {step}: no image loaded");
            }
            self.b
                .family_page(&format!("case, step {step}"), &mut self.weights);
            self.shot(&format!("case-step-{step}"));
        }
        assert_eq!(b.count("#step"), 0, "a step past the last");

        b.click("#claim input[value=recognise]");
        b.type_in("#note", "his scar");
        b.submit("#claim button[type=submit]");
        assert!(
            b.url().contains(&format!("/records/{record_id}")),
            "after claiming: {}",
            b.url()
        );
        assert!(b.count("p.ok") == 1, "no confirmation of the claim");
        self.shot("claimed");
        b.submit("header form button");
        (record_id, case_id.to_string())
    }

    fn investigator(&mut self) {
        let b = self.b;
        b.go(&format!("{}/signin", self.site));
        b.type_in("#email", "investigator@demo.athar");
        b.type_in("#password", "demo investigator passphrase");
        b.submit("main form button[type=submit]");
        assert!(
            b.url().ends_with("/review"),
            "investigator landed on {}",
            b.url()
        );
        b.go(&format!("{}/review/claims", self.site));
        self.shot("claims");
        b.submit("table a[href^='/review/claims/']");
        assert!(
            b.source().contains("555 0142"),
            "the sealed contact is readable by the investigator"
        );
        self.shot("claim");
        b.click("input[name=confirm]");
        b.submit("form[action$='/confirm'] button");
        assert!(b.url().contains("notice=confirmed"), "{}", b.url());
        b.submit("form[action$='/informed'] button");
        assert!(b.url().contains("notice=informed"), "{}", b.url());
        self.shot("informed");
        b.submit("header form button");
    }
}

#[test]
fn family_and_investigator_in_chromium() {
    let chromedriver = need("chromedriver");
    need("chromium");
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let out = common::athar_cmd()
        .args(["demo", "--no-serve", "--bodies", "6", "--dir"])
        .arg(&demo)
        .output()
        .unwrap();
    common::assert_ok(&out);
    let vault = demo.join("vault");
    let pass = demo.join("passphrase.txt");
    let cases: Vec<Value> = {
        let out = common::athar_cmd()
            .env("ATHAR_PASSPHRASE_FILE", &pass)
            .args(["cases", "--json"])
            .arg(&vault)
            .output()
            .unwrap();
        common::assert_ok(&out);
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let numbered: Vec<&Value> = cases
        .iter()
        .filter(|c| {
            c["detainee"].is_string() && c["branch"].is_string() && c["first_taken"].is_string()
        })
        .collect();
    assert!(numbered.len() >= 2, "the demo made too few numbered cases");
    // The demo seeds a few families' records of its own; the journey adds two more.
    let seeded = count_events(&vault, &pass, "ante-mortem record");

    let mut server = Command::new(env!("CARGO_BIN_EXE_athar"));
    server
        .env("ATHAR_PASSPHRASE_FILE", &pass)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg(&vault)
        .stdout(Stdio::piped());
    let mut server = Killed(server.spawn().unwrap());
    let mut line = String::new();
    BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // "athar portal on http://127.0.0.1:PORT/ (Ctrl-C to stop)"
    let port: u16 = line
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("athar serve said: {line}"));
    let site = format!("http://localhost:{port}");

    let driver_port = free_port();
    let _driver = Killed(
        Command::new(chromedriver)
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let driver = format!("http://127.0.0.1:{driver_port}");
    let started = Instant::now();
    while ureq::get(format!("{driver}/status")).call().is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "chromedriver did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let photo = life_photo(dir.path());

    // 1. Arabic (the browser asks for it), scripts on: weights measured.
    {
        let b = Browser::start(&driver, true, "ar");
        let mut j = Journey {
            b: &b,
            site: site.clone(),
            shots: shots.clone(),
            tag: "ar".into(),
            weights: Vec::new(),
        };
        b.go(&format!("{site}/"));
        assert!(
            b.source().contains("dir=\"rtl\""),
            "Arabic is not right to left"
        );
        j.family("salim.family@test", numbered[0], &photo);
        j.investigator();
        for (page, w) in &j.weights {
            println!("page weight {:>7.0} bytes  {page}", w);
        }
        assert!(
            j.weights.len() >= 9,
            "only {} family pages measured",
            j.weights.len()
        );
    }
    // 2. English through the language link, scripts off: the same journey works.
    {
        let b = Browser::start(&driver, false, "ar");
        b.go(&format!("{site}/"));
        b.submit("a[hreflang=en]");
        assert!(b.source().contains("lang=\"en\"") && b.source().contains("dir=\"ltr\""));
        let mut j = Journey {
            b: &b,
            site: site.clone(),
            shots: shots.clone(),
            tag: "en-nojs".into(),
            weights: Vec::new(),
        };
        j.family("second.family@test", numbered[1], &photo);
        j.investigator();
    }
    // The confirmations are signed events in the custody log.
    assert_eq!(count_events(&vault, &pass, "identification"), 2);
    assert_eq!(
        count_events(&vault, &pass, "ante-mortem record"),
        seeded + 2
    );
    println!("screenshots: {}", shots.canonicalize().unwrap().display());
}

/// How many events of `kind` the vault's custody log holds.
fn count_events(vault: &Path, pass: &Path, kind: &str) -> usize {
    let out = common::athar_cmd()
        .env("ATHAR_PASSPHRASE_FILE", pass)
        .args(["log", "--json"])
        .arg(vault)
        .output()
        .unwrap();
    common::assert_ok(&out);
    let events: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    events.iter().filter(|e| e["type"] == kind).count()
}
