//! A circuit breaker per downstream endpoint: closed → (consecutive failures) → open (fail
//! fast for a while) → half-open (one probe) → closed on success, open again on failure.
//! Only failures that show the endpoint is unhealthy count (5xx, 429, timeouts, network);
//! the caller decides. Time comes from core's [`Clock`], so tests drive it.

use chrono::{DateTime, Duration, Utc};
use helpdesk_core::clock::Clock;
use std::sync::{Arc, Mutex};

/// When a [`Breaker`] opens and for how long; defaults: 5 consecutive failures, 30 seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Consecutive failures that open the circuit.
    pub failure_threshold: u32,
    /// How long it stays open before a probe is let through.
    pub open_for: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        BreakerSettings {
            failure_threshold: 5,
            open_for: Duration::seconds(30),
        }
    }
}

/// The breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Healthy: calls go through, and consecutive failures are counted.
    Closed,
    /// Calls fail fast until the instant.
    Open {
        /// The instant after which the next call is let through as a probe (half-open).
        until: DateTime<Utc>,
    },
    /// One probe is in flight; other calls fail fast.
    HalfOpen,
}

#[derive(Debug)]
struct Inner {
    state: BreakerState,
    failures: u32,
}

/// A circuit breaker. Clone shares it.
#[derive(Clone)]
pub struct Breaker {
    settings: BreakerSettings,
    clock: Arc<dyn Clock>,
    inner: Arc<Mutex<Inner>>,
}

/// A permit to call; report the outcome with [`Breaker::record`].
#[derive(Debug)]
#[must_use]
pub struct Permit {
    probe: bool,
}

impl Breaker {
    /// A new breaker for one endpoint, closed, with no failure counted; time is read from `clock`.
    pub fn new(settings: BreakerSettings, clock: Arc<dyn Clock>) -> Breaker {
        Breaker {
            settings,
            clock,
            inner: Arc::new(Mutex::new(Inner {
                state: BreakerState::Closed,
                failures: 0,
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current state (an expired `Open` reads as half-open-ready `Open`).
    pub fn state(&self) -> BreakerState {
        self.lock().state
    }

    /// Asks to call. `Err(until)` while open (or while a probe is in flight).
    pub fn acquire(&self) -> Result<Permit, Option<DateTime<Utc>>> {
        let now = self.clock.now();
        let mut g = self.lock();
        match g.state {
            BreakerState::Closed => Ok(Permit { probe: false }),
            BreakerState::Open { until } if now >= until => {
                g.state = BreakerState::HalfOpen;
                tracing::info!(target: "helpdesk_openai_tools::breaker", "circuit half-open: probing");
                Ok(Permit { probe: true })
            }
            BreakerState::Open { until } => Err(Some(until)),
            BreakerState::HalfOpen => Err(None),
        }
    }

    /// Reports a call's outcome: `healthy` = the endpoint answered (success or a client
    /// error), not a 5xx/429/timeout/network failure.
    pub fn record(&self, permit: Permit, healthy: bool) {
        let now = self.clock.now();
        let mut g = self.lock();
        if healthy {
            if permit.probe || g.state != BreakerState::Closed {
                tracing::info!(target: "helpdesk_openai_tools::breaker", "circuit closed");
            }
            g.state = BreakerState::Closed;
            g.failures = 0;
            return;
        }
        g.failures += 1;
        if permit.probe || g.failures >= self.settings.failure_threshold {
            let until = now + self.settings.open_for;
            g.state = BreakerState::Open { until };
            tracing::warn!(target: "helpdesk_openai_tools::breaker", failures = g.failures, open_for_s = self.settings.open_for.num_seconds(), "circuit open");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use helpdesk_core::clock::ManualClock;

    #[test]
    fn opens_after_consecutive_failures_fails_fast_then_probes_once() {
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        ));
        let b = Breaker::new(
            BreakerSettings {
                failure_threshold: 3,
                open_for: Duration::seconds(10),
            },
            clock.clone(),
        );
        for _ in 0..2 {
            let p = b.acquire().unwrap();
            b.record(p, false);
        }
        let p = b.acquire().unwrap();
        b.record(p, true);
        assert_eq!(
            b.state(),
            BreakerState::Closed,
            "a success resets the count"
        );
        for _ in 0..3 {
            let p = b.acquire().unwrap();
            b.record(p, false);
        }
        assert!(matches!(b.state(), BreakerState::Open { .. }));
        assert!(b.acquire().is_err(), "fails fast while open");
        clock.advance(Duration::seconds(10));
        let probe = b.acquire().unwrap();
        assert!(b.acquire().is_err(), "one probe at a time");
        b.record(probe, false);
        assert!(b.acquire().is_err(), "a failed probe opens again");
        clock.advance(Duration::seconds(10));
        let probe = b.acquire().unwrap();
        b.record(probe, true);
        assert_eq!(b.state(), BreakerState::Closed);
        assert!(b.acquire().is_ok());
    }
}
