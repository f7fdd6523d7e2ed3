//! What the Postgres benchmarks share: their settings from the environment and the server.

/// The setting `name` from the environment, or `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// DATABASE_URL, or a hint how to get one and exit status 2.
pub fn database_url(bench: &str) -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        eprintln!("DATABASE_URL is not set: run `bash tests/bench.sh {bench}`");
        std::process::exit(2);
    })
}
