//! The outbox relay: delivers committed events to an [`EventSink`] (a webhook dispatcher, a
//! message bus…) from any number of app instances.
//!
//! Events are written in the transaction of the change that caused them, so none is lost.
//! [`Helpdesk::relay_events`] claims a batch ([`Outbox::claim_events`](crate::store::Outbox::claim_events):
//! a lease no other instance can take, `FOR UPDATE SKIP LOCKED` in SQL), hands each event to
//! the sink in order, and settles it: delivered, retried later with exponential backoff and
//! jitter, or dead after a permanent failure or too many attempts. Each event is delivered
//! once while relays live; a relay that dies mid-batch leaves its claims to expire and another
//! relay redelivers them, so sinks should treat the event id as an idempotency key.

use super::*;
use crate::store::{ClaimedEvent, EventOutcome};
use async_trait::async_trait;

/// A delivery failure reported by a sink; it decides whether the relay retries the event or
/// declares it dead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkError {
    /// Whether a later attempt can succeed (timeouts, 5xx, 429).
    pub retryable: bool,
    /// What went wrong (no personal data: it is stored).
    pub message: String,
}

impl SinkError {
    /// A failure a later attempt may fix.
    pub fn retryable(message: impl Into<String>) -> SinkError {
        SinkError {
            retryable: true,
            message: message.into(),
        }
    }

    /// A failure no retry will fix.
    pub fn permanent(message: impl Into<String>) -> SinkError {
        SinkError {
            retryable: false,
            message: message.into(),
        }
    }
}

/// Where the relay delivers events: a webhook dispatcher, a message bus, a test recorder.
#[async_trait]
pub trait EventSink: Send + Sync {
    /// Delivers one event. Called at most once per claim, never inside a store transaction.
    async fn deliver(&self, event: &Event) -> std::result::Result<(), SinkError>;
}

/// How [`Helpdesk::relay_events`] claims and retries events; the [`Default`] is 100 events
/// per batch, a 2-minute lease, 15 attempts, backoff from 2 s up to 1 h.
#[derive(Debug, Clone)]
pub struct RelayOptions {
    /// Events claimed per batch.
    pub batch: u32,
    /// How long a claim keeps other relays away; longer than a batch's worst delivery time.
    pub lease: chrono::Duration,
    /// Most delivery attempts an event gets: a retryable failure of the last one makes it
    /// dead.
    pub max_attempts: u32,
    /// Delay after the first failure; doubled after each further one.
    pub base_backoff: chrono::Duration,
    /// Cap of the exponential delay; the jitter may add up to a quarter of it.
    pub max_backoff: chrono::Duration,
}

impl Default for RelayOptions {
    fn default() -> Self {
        RelayOptions {
            batch: 100,
            lease: chrono::Duration::seconds(120),
            max_attempts: 15,
            base_backoff: chrono::Duration::seconds(2),
            max_backoff: chrono::Duration::hours(1),
        }
    }
}

/// What one relay pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayReport {
    /// Events claimed in this pass; 0 means nothing was due (sleep before the next pass).
    pub claimed: usize,
    /// Events the sink accepted.
    pub delivered: usize,
    /// Events that failed with a retryable error and were scheduled again after a backoff.
    pub retried: usize,
    /// Events that failed permanently or ran out of attempts; they are kept, marked dead,
    /// and never retried.
    pub dead: usize,
    /// Claims that expired before they were settled (another relay owns the event now).
    pub lost: usize,
}

impl RelayOptions {
    /// The delay before attempt `attempts + 1` of `event`: `base · 2^attempts`, capped, plus a
    /// jitter of up to a quarter derived from the event id (so relays do not retry in step).
    pub fn backoff(&self, event: EventId, attempts: u32) -> chrono::Duration {
        let base = self.base_backoff.num_milliseconds().max(1);
        let cap = self.max_backoff.num_milliseconds().max(base);
        let exp = base.saturating_mul(1i64 << attempts.min(40)).min(cap);
        let bits =
            event.0.as_u128() as u64 ^ u64::from(attempts).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let jitter = (bits % 1000) as i64 * (exp / 4) / 1000;
        chrono::Duration::milliseconds(exp + jitter)
    }
}

impl Helpdesk {
    /// One relay pass: claims up to `opts.batch` due events across every tenant, delivers
    /// them in outbox order (a retried event may arrive after later ones), and settles each. Call it in a loop (sleep when `claimed` is 0).
    pub async fn relay_events(
        &self,
        sink: &dyn EventSink,
        opts: &RelayOptions,
    ) -> Result<RelayReport> {
        let claimed = self
            .store
            .claim_events(self.clock.now(), opts.batch, opts.lease)
            .await?;
        let mut report = RelayReport {
            claimed: claimed.len(),
            ..RelayReport::default()
        };
        for ClaimedEvent {
            claim,
            event,
            attempts,
        } in claimed
        {
            let outcome = match sink.deliver(&event).await {
                Ok(()) => {
                    report.delivered += 1;
                    EventOutcome::Delivered
                }
                Err(e) if e.retryable && attempts + 1 < opts.max_attempts => {
                    report.retried += 1;
                    EventOutcome::Retry {
                        retry_at: self.clock.now() + opts.backoff(event.id, attempts),
                        error: e.message,
                    }
                }
                Err(e) => {
                    report.dead += 1;
                    EventOutcome::Dead { error: e.message }
                }
            };
            if !self
                .store
                .settle_event(&claim, &outcome, self.clock.now())
                .await?
            {
                report.lost += 1;
            }
        }
        Ok(report)
    }
}
