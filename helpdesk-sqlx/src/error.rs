//! sqlx errors as core errors.

use helpdesk_core::Error;

/// Maps a database error: unique violations and serialization failures are `Conflict` (the
/// service reruns the workflow), foreign-key violations `NotFound`, lost connections a
/// retryable store error, anything else a store error that a retry will not fix.
pub(crate) fn db(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Database(d) => match d.code().as_deref() {
            Some("23505") => Error::conflict(
                "row",
                d.constraint().map_or_else(
                    || d.message().to_owned(),
                    |c| format!("unique constraint {c}"),
                ),
            ),
            Some("40001" | "40P01") => Error::conflict("transaction", d.message().to_owned()),
            Some("23503") => Error::NotFound {
                entity: "referenced row",
                id: d.constraint().unwrap_or("foreign key").to_owned(),
            },
            // Admin shutdown, crash shutdown, cannot connect now, insufficient resources (too
            // many connections, disk full, out of memory), connection failures, and a database
            // not accepting connections (55000 at connect time).
            Some(
                "57P01" | "57P02" | "57P03" | "53000" | "53100" | "53200" | "53300" | "53400"
                | "08000" | "08001" | "08003" | "08004" | "08006" | "55000",
            ) => Error::store("database unavailable", true, e),
            _ => Error::store("database error", false, e),
        },
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_) => Error::store("database connection lost", true, e),
        _ => Error::store("database error", false, e),
    }
}

/// A stored document that does not decode: a bad row, reported, never a panic.
pub(crate) fn bad_row(table: &str, e: serde_json::Error) -> Error {
    Error::store(format!("row of {table} does not decode"), false, e)
}
