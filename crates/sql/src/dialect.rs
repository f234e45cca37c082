//! Our SQL is written once, in the part of SQLite's dialect PostgreSQL shares (upserts with
//! `ON CONFLICT`, `RETURNING`, `coalesce`, `substr`). What differs is rewritten here for
//! PostgreSQL: parameter marks, `INSERT OR IGNORE`, column types and SQLite-only clauses.

/// A statement for PostgreSQL: `?N` and `?` become `$N`; `INSERT OR IGNORE` becomes
/// `INSERT … ON CONFLICT DO NOTHING`.
pub fn statement(sql: &str) -> String {
    let mut out = placeholders(sql);
    if let Some(at) = find_ci(&out, "INSERT OR IGNORE INTO") {
        out.replace_range(at..at + "INSERT OR IGNORE INTO".len(), "INSERT INTO");
        let body = out.trim_end().trim_end_matches(';').to_string();
        out = match find_ci(&body, " RETURNING ") {
            Some(r) => format!("{} ON CONFLICT DO NOTHING{}", &body[..r], &body[r..]),
            None => format!("{body} ON CONFLICT DO NOTHING"),
        };
    }
    out
}

/// A schema script for PostgreSQL: SQLite's types become PostgreSQL's, `WITHOUT ROWID` and
/// pragmas go.
pub fn schema(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    for stmt in sql.split(';') {
        let trimmed = stmt.trim();
        if trimmed.is_empty() || starts_with_ci(trimmed, "PRAGMA") {
            continue;
        }
        let mut s = replace_word(trimmed, "WITHOUT ROWID", "");
        s = replace_word(
            &s,
            "INTEGER PRIMARY KEY AUTOINCREMENT",
            "BIGSERIAL PRIMARY KEY",
        );
        // A rowid alias numbers itself in SQLite; a serial does so in PostgreSQL.
        s = replace_word(&s, "INTEGER PRIMARY KEY", "BIGSERIAL PRIMARY KEY");
        s = replace_word(&s, "INTEGER", "BIGINT");
        s = replace_word(&s, "REAL", "DOUBLE PRECISION");
        s = replace_word(&s, "BLOB", "BYTEA");
        // SQLite compares text byte by byte; so must PostgreSQL, whatever the cluster's
        // locale, or the two would sort and compare differently.
        s = replace_word(&s, "TEXT", "TEXT COLLATE \"C\"");
        out.push_str(&s);
        out.push_str(";\n");
    }
    out
}

fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut next = 1;
    let mut in_string = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_string = !in_string;
                out.push(c);
            }
            '?' if !in_string => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                out.push('$');
                if digits.is_empty() {
                    out.push_str(&next.to_string());
                    next += 1;
                } else {
                    out.push_str(&digits);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    let h = haystack.to_ascii_uppercase();
    h.find(&needle.to_ascii_uppercase())
}

/// Replace whole-word, case-insensitive occurrences outside string literals.
fn replace_word(s: &str, word: &str, with: &str) -> String {
    let upper = s.to_ascii_uppercase();
    let target = word.to_ascii_uppercase();
    let bytes = s.as_bytes();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut in_string = false;
    while i < s.len() {
        if bytes[i] == b'\'' {
            in_string = !in_string;
        }
        if !in_string
            && upper[i..].starts_with(&target)
            && (i == 0 || !is_word(bytes[i - 1]))
            && bytes.get(i + target.len()).is_none_or(|b| !is_word(*b))
        {
            out.push_str(with);
            i += target.len();
            continue;
        }
        let ch = s[i..].chars().next().expect("in bounds");
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered() {
        assert_eq!(
            statement("SELECT a FROM t WHERE b = ?1 AND c = ?2 OR d = ?1"),
            "SELECT a FROM t WHERE b = $1 AND c = $2 OR d = $1"
        );
        assert_eq!(
            statement("UPDATE t SET a = ?, b = ?"),
            "UPDATE t SET a = $1, b = $2"
        );
        assert_eq!(
            statement("SELECT '?' FROM t WHERE a = ?"),
            "SELECT '?' FROM t WHERE a = $1"
        );
    }

    #[test]
    fn insert_or_ignore_becomes_on_conflict() {
        assert_eq!(
            statement("INSERT OR IGNORE INTO t (a) VALUES (?1)"),
            "INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING"
        );
        assert_eq!(
            statement("insert or ignore into t (a) values (?1) RETURNING a"),
            "INSERT INTO t (a) values ($1) ON CONFLICT DO NOTHING RETURNING a"
        );
    }

    #[test]
    fn schema_types_are_translated() {
        let pg = schema(
            "PRAGMA foo = 1;\nCREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB, r REAL, \
             interval_s INTEGER, note TEXT DEFAULT 'INTEGER') WITHOUT ROWID;",
        );
        assert_eq!(
            pg,
            "CREATE TABLE t (id BIGSERIAL PRIMARY KEY, b BYTEA, r DOUBLE PRECISION, \
             interval_s BIGINT, note TEXT COLLATE \"C\" DEFAULT 'INTEGER') ;\n"
        );
    }
}
