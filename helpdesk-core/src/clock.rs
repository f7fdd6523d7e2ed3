//! Time as a dependency: core never reads the clock itself.

use chrono::{DateTime, Duration, Timelike, Utc};
use std::sync::Mutex;

/// A source of "now".
pub trait Clock: Send + Sync + 'static {
    /// The current instant (UTC), which the service takes as `now` for the workflows it runs.
    fn now(&self) -> DateTime<Utc>;
}

/// The operating system's clock, truncated to whole microseconds so an instant stored in SQL
/// reads back exactly as written.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // The one place that may read the real clock.
    fn now(&self) -> DateTime<Utc> {
        // Microseconds: what SQL stores keep, so an instant reads back exactly as written.
        let t = Utc::now();
        t.with_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t)
    }
}

/// A clock that stays where it is put, for tests and simulations: it moves only through
/// [`ManualClock::set`] and [`ManualClock::advance`].
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    /// Starts at `t`.
    pub fn new(t: DateTime<Utc>) -> ManualClock {
        ManualClock(Mutex::new(t))
    }

    /// Jumps to `t` (backwards too).
    pub fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = t;
    }

    /// Moves the time forward by `d` (backwards when `d` is negative).
    pub fn advance(&self, d: Duration) {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *g += d;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}
