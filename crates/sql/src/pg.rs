//! The PostgreSQL side: one client behind a mutex, statements prepared once per connection,
//! and a new connection when the server went away (a restart, a dropped link).

use std::cell::RefCell;
use std::collections::HashMap;
use std::error::Error as _;
use std::sync::{Mutex, MutexGuard};

use postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};
use postgres::{NoTls, Statement};

use crate::value::{Row, ToValue, Value};
use crate::{dialect, Result, SqlError};

pub(crate) fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("PostgreSQL: {} ({})", db.message(), db.code().code()),
        None if is_unavailable(e) => format!(
            "PostgreSQL is unreachable or dropped the connection: {}",
            e.source()
                .map(|s| s.to_string())
                .unwrap_or_else(|| e.to_string())
        ),
        None => format!("PostgreSQL: {e}"),
    }
}

pub(crate) fn is_unavailable(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        return code.starts_with("08") || code == "57P01" || code == "57P02" || code == "57P03";
    }
    // No server reply at all: connecting or the socket failed.
    e.source()
        .is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some())
        || e.to_string().contains("error connecting")
}

struct Conn {
    client: postgres::Client,
    statements: HashMap<String, Statement>,
}

pub(crate) struct Client {
    config: postgres::Config,
    schema: String,
    conn: Mutex<Option<Conn>>,
}

impl Client {
    pub fn connect(url: &str, schema: &str) -> Result<Client> {
        if schema.is_empty()
            || !schema
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(SqlError::BadUrl(format!(
                "schema name {schema:?}: use lower-case letters, digits and _"
            )));
        }
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e: postgres::Error| SqlError::BadUrl(format!("{url}: {e}")))?;
        if config.get_password().is_none() {
            if let Ok(pw) = std::env::var("PGPASSWORD") {
                config.password(pw);
            }
        }
        config.connect_timeout(std::time::Duration::from_secs(10));
        let client = Client {
            config,
            schema: schema.to_string(),
            conn: Mutex::new(None),
        };
        drop(client.conn()?);
        Ok(client)
    }

    /// The live connection, connecting again if there is none or it was closed.
    fn conn(&self) -> Result<MutexGuard<'_, Option<Conn>>> {
        let mut guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        if guard.as_ref().is_none_or(|c| c.client.is_closed()) {
            *guard = None;
            let mut client = self.config.connect(NoTls)?;
            let schema = &self.schema;
            // Two processes may create the schema at once; the loser's error is harmless.
            if let Err(e) = client.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}")) {
                let raced = [
                    &postgres::error::SqlState::UNIQUE_VIOLATION,
                    &postgres::error::SqlState::DUPLICATE_SCHEMA,
                ];
                if !e.code().is_some_and(|c| raced.contains(&c)) {
                    return Err(e.into());
                }
            }
            client.batch_execute(&format!("SET search_path TO {schema}"))?;
            *guard = Some(Conn {
                client,
                statements: HashMap::new(),
            });
        }
        Ok(guard)
    }

    /// Run `op` on the connection; a failure that lost the connection drops it, so the next
    /// call connects afresh.
    fn with<T>(&self, op: impl FnOnce(&mut Conn) -> Result<T>) -> Result<T> {
        let mut guard = self.conn()?;
        let conn = guard.as_mut().expect("connected above");
        let out = op(conn);
        if let Err(SqlError::Postgres(e)) = &out {
            if is_unavailable(e) {
                *guard = None;
            }
        }
        out
    }

    pub fn batch(&self, sql: &str) -> Result<()> {
        self.with(|c| Ok(c.client.batch_execute(sql)?))
    }

    pub fn execute(&self, sql: &str, params: &[&dyn ToValue]) -> Result<u64> {
        self.with(|c| {
            let stmt = prepare(&mut c.statements, sql, |s| c.client.prepare(s))?;
            Ok(c.client.execute(&stmt, &pg_params(params).refs())?)
        })
    }

    pub fn rows(&self, sql: &str, params: &[&dyn ToValue]) -> Result<Vec<Row>> {
        self.with(|c| {
            let stmt = prepare(&mut c.statements, sql, |s| c.client.prepare(s))?;
            let rows = c.client.query(&stmt, &pg_params(params).refs())?;
            rows.iter().map(row).collect()
        })
    }

    pub fn transaction<T>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        self.with(|c| {
            let tx = c.client.transaction()?;
            let t = Tx {
                tx: RefCell::new(tx),
                statements: RefCell::new(&mut c.statements),
            };
            let out = f(&t)?;
            t.tx.into_inner().commit()?;
            Ok(out)
        })
    }
}

pub(crate) struct Tx<'a> {
    tx: RefCell<postgres::Transaction<'a>>,
    statements: RefCell<&'a mut HashMap<String, Statement>>,
}

/// What a transaction can run; a trait object so [`crate::Tx`] needs one lifetime only.
pub(crate) trait Statements {
    fn execute(&self, sql: &str, params: &[&dyn ToValue]) -> Result<u64>;
    fn rows(&self, sql: &str, params: &[&dyn ToValue]) -> Result<Vec<Row>>;
}

impl Statements for Tx<'_> {
    fn execute(&self, sql: &str, params: &[&dyn ToValue]) -> Result<u64> {
        let mut tx = self.tx.borrow_mut();
        let stmt = prepare(&mut self.statements.borrow_mut(), sql, |s| tx.prepare(s))?;
        Ok(tx.execute(&stmt, &pg_params(params).refs())?)
    }

    fn rows(&self, sql: &str, params: &[&dyn ToValue]) -> Result<Vec<Row>> {
        let mut tx = self.tx.borrow_mut();
        let stmt = prepare(&mut self.statements.borrow_mut(), sql, |s| tx.prepare(s))?;
        let rows = tx.query(&stmt, &pg_params(params).refs())?;
        rows.iter().map(row).collect()
    }
}

fn prepare(
    cache: &mut HashMap<String, Statement>,
    sql: &str,
    prepare: impl FnOnce(&str) -> std::result::Result<Statement, postgres::Error>,
) -> Result<Statement> {
    if let Some(s) = cache.get(sql) {
        return Ok(s.clone());
    }
    let stmt = prepare(&dialect::statement(sql))?;
    cache.insert(sql.to_string(), stmt.clone());
    Ok(stmt)
}

struct Params(Vec<Value>);

impl Params {
    fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.0.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
    }
}

fn pg_params(params: &[&dyn ToValue]) -> Params {
    Params(params.iter().map(|p| p.to_value()).collect())
}

/// Our loose values meet PostgreSQL's strict parameter types: an integer goes out as the
/// width the server asked for, text as text, and so on.
impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match (self, ty) {
            (Value::Null, _) => Ok(IsNull::Yes),
            (Value::Int(i), &Type::INT8) => i.to_sql(ty, out),
            (Value::Int(i), &Type::INT4) => i32::try_from(*i)?.to_sql(ty, out),
            (Value::Int(i), &Type::INT2) => i16::try_from(*i)?.to_sql(ty, out),
            (Value::Int(i), &Type::BOOL) => (*i != 0).to_sql(ty, out),
            (Value::Int(i), &Type::FLOAT8) => (*i as f64).to_sql(ty, out),
            (Value::Int(i), &Type::FLOAT4) => (*i as f32).to_sql(ty, out),
            (Value::Int(i), _) => i.to_string().to_sql(&Type::TEXT, out),
            (Value::Real(f), &Type::FLOAT4) => (*f as f32).to_sql(ty, out),
            (Value::Real(f), &Type::FLOAT8) => f.to_sql(ty, out),
            (Value::Real(f), _) => f.to_string().to_sql(&Type::TEXT, out),
            (Value::Text(s), &Type::BYTEA) => s.as_bytes().to_sql(ty, out),
            (Value::Text(s), _) => s.as_str().to_sql(&Type::TEXT, out),
            (Value::Blob(b), _) => b.as_slice().to_sql(&Type::BYTEA, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// NUMERIC, which PostgreSQL gives for `sum()` of integers, read from its binary form:
/// base-10000 digits with a weight and a sign.
struct Numeric(Value);

impl<'a> FromSql<'a> for Numeric {
    fn from_sql(
        _: &Type,
        raw: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let word = |i: usize| -> std::result::Result<i16, String> {
            raw.get(i * 2..i * 2 + 2)
                .map(|b| i16::from_be_bytes([b[0], b[1]]))
                .ok_or_else(|| "short NUMERIC".to_string())
        };
        let ndigits = word(0)? as usize;
        let weight = word(1)? as i32;
        let sign = word(2)? as u16;
        let scale = word(3)?;
        if sign == 0xC000 {
            return Ok(Numeric(Value::Real(f64::NAN)));
        }
        let mut value = 0f64;
        for i in 0..ndigits {
            value += f64::from(word(4 + i)?) * 10000f64.powi(weight - i as i32);
        }
        if sign == 0x4000 {
            value = -value;
        }
        Ok(Numeric(if scale == 0 && value.abs() < 9.0e15 {
            Value::Int(value as i64)
        } else {
            Value::Real(value)
        }))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
}

fn row(r: &postgres::Row) -> Result<Row> {
    let mut values = Vec::with_capacity(r.len());
    for (i, col) in r.columns().iter().enumerate() {
        let ty = col.type_();
        let v = match *ty {
            Type::BOOL => r.get::<_, Option<bool>>(i).map(|b| Value::Int(b as i64)),
            Type::INT2 => r.get::<_, Option<i16>>(i).map(|v| Value::Int(v.into())),
            Type::INT4 => r.get::<_, Option<i32>>(i).map(|v| Value::Int(v.into())),
            Type::INT8 => r.get::<_, Option<i64>>(i).map(Value::Int),
            Type::OID => r.get::<_, Option<u32>>(i).map(|v| Value::Int(v.into())),
            Type::FLOAT4 => r.get::<_, Option<f32>>(i).map(|v| Value::Real(v.into())),
            Type::FLOAT8 => r.get::<_, Option<f64>>(i).map(Value::Real),
            Type::NUMERIC => r.get::<_, Option<Numeric>>(i).map(|n| n.0),
            Type::BYTEA => r.get::<_, Option<Vec<u8>>>(i).map(Value::Blob),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                r.get::<_, Option<String>>(i).map(Value::Text)
            }
            _ => {
                return Err(SqlError::Type {
                    wanted: "integer, real, text or bytea",
                    found: "another PostgreSQL type",
                })
            }
        };
        values.push(v.unwrap_or(Value::Null));
    }
    Ok(Row { values })
}
