//! The same statements on both engines. PostgreSQL runs when `ATHAR_TEST_PG` names a server
//! (scripts/test starts one); without it only SQLite runs, and the test says so.

use athar_sql::{Db, Engine, SqlError};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, n INTEGER NOT NULL, r REAL, b BLOB) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY, note TEXT NOT NULL);
";

fn engines() -> Vec<(Db, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let mut out = vec![(
        Db::open_sqlite(&dir.path().join("t.db"), &[7; 32]).unwrap(),
        Some(dir),
    )];
    match std::env::var("ATHAR_TEST_PG") {
        Ok(url) => {
            let schema = format!("sqltest_{}", std::process::id());
            let db = Db::connect_postgres(&url, &schema).unwrap();
            db.batch("DROP TABLE IF EXISTS t; DROP TABLE IF EXISTS log;")
                .unwrap();
            out.push((db, None));
        }
        Err(_) => eprintln!("ATHAR_TEST_PG is not set: PostgreSQL not tested here"),
    }
    out
}

#[test]
fn the_same_sql_gives_the_same_answers_on_both_engines() {
    for (db, _dir) in engines() {
        let engine = db.engine();
        db.batch(SCHEMA).unwrap();
        assert_eq!(
            db.execute(
                "INSERT OR IGNORE INTO t (k, n, r, b) VALUES (?1, ?2, ?3, ?4)",
                &[&"a", &5i64, &1.5f64, &vec![0u8, 255]]
            )
            .unwrap(),
            1
        );
        assert_eq!(
            db.execute(
                "INSERT OR IGNORE INTO t (k, n) VALUES (?1, ?2)",
                &[&"a", &9i64]
            )
            .unwrap(),
            0,
            "{engine:?}: a duplicate is ignored"
        );
        db.execute(
            "INSERT INTO t (k, n) VALUES (?1, ?2) ON CONFLICT (k) DO UPDATE SET n = t.n + excluded.n",
            &[&"a", &10u64],
        )
        .unwrap();
        db.execute("INSERT INTO t (k, n) VALUES (?, ?)", &[&"b", &1i32])
            .unwrap();
        let (k, n, r, b): (String, u64, Option<f64>, Option<Vec<u8>>) = db
            .query_row("SELECT k, n, r, b FROM t WHERE k = ?1", &[&"a"], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })
            .unwrap()
            .unwrap();
        assert_eq!(
            (k.as_str(), n, r, b),
            ("a", 15, Some(1.5), Some(vec![0, 255]))
        );
        let total: i64 = db
            .query_row("SELECT sum(n), count(*) FROM t", &[], |r| r.get(0))
            .unwrap()
            .unwrap();
        assert_eq!(total, 16, "{engine:?}: sum");
        let none: Option<i64> = db
            .query_row("SELECT sum(n) FROM t WHERE k = 'zz'", &[], |r| r.get(0))
            .unwrap()
            .unwrap();
        assert_eq!(none, None);
        let id: i64 = db
            .query_row(
                "INSERT INTO log (note) VALUES (?1) RETURNING id",
                &[&"x"],
                |r| r.get(0),
            )
            .unwrap()
            .unwrap();
        assert_eq!(id, 1, "{engine:?}: rowid / serial numbering");

        // A failed transaction leaves nothing behind.
        let failed: Result<(), SqlError> = db.transaction(|tx| {
            tx.lock(42)?;
            tx.execute("INSERT INTO t (k, n) VALUES (?1, ?2)", &[&"c", &1i64])?;
            tx.execute("INSERT INTO t (k, n) VALUES (?1, ?2)", &[&"c", &1i64])?;
            Ok(())
        });
        let err = failed.unwrap_err();
        assert!(err.is_unique_violation(), "{engine:?}: {err}");
        let count: i64 = db
            .query_row("SELECT count(*) FROM t", &[], |r| r.get(0))
            .unwrap()
            .unwrap();
        assert_eq!(count, 2, "{engine:?}: rolled back");
        db.transaction(|tx| tx.execute("DELETE FROM t WHERE k = ?1", &[&"b"]))
            .unwrap();
        let keys = db
            .query("SELECT k FROM t ORDER BY k", &[], |r| r.get::<String>(0))
            .unwrap();
        assert_eq!(keys, ["a"]);
        if engine == Engine::Postgres {
            db.batch("DROP TABLE t; DROP TABLE log;").unwrap();
        }
    }
}

#[test]
fn databases_are_created_and_dropped_one_statement_at_a_time() {
    let Ok(url) = std::env::var("ATHAR_TEST_PG") else {
        eprintln!("ATHAR_TEST_PG is not set: PostgreSQL not tested here");
        return;
    };
    let admin = Db::connect_postgres(&url, "public").unwrap();
    let name = format!("sqltest_db_{}", std::process::id());
    admin
        .batch(&format!("DROP DATABASE IF EXISTS {name}"))
        .unwrap();
    admin.batch(&format!("CREATE DATABASE {name}")).unwrap();
    admin
        .batch(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
}
