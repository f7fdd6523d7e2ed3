//! Graph API errors and their classification: can a retry help, or not.

use helpdesk_core::channel::ChannelFailure;
use std::time::Duration;

/// A failed Graph API call, classified ([`GraphError::failure`]) so a sender knows whether a
/// retry can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Graph API error (HTTP {status:?}, code {code:?}): {message}")]
pub struct GraphError {
    /// HTTP status, when a response came back.
    pub status: Option<u16>,
    /// Graph `error.code`.
    pub code: Option<i64>,
    /// Graph `error.error_subcode`.
    pub subcode: Option<i64>,
    /// `error.message` (or the transport error).
    pub message: String,
    /// `error.error_data.details`.
    pub details: Option<String>,
    /// The failure in channel-neutral terms, from the HTTP status and Graph code; it decides
    /// retries.
    pub failure: ChannelFailure,
    /// Wait at least this long before retrying (pair rate limit 131056).
    pub retry_after: Option<Duration>,
}

impl GraphError {
    /// Whether repeating the call can succeed (rate limits, 5xx, timeouts, Meta's transient codes).
    pub fn is_retryable(&self) -> bool {
        self.failure.is_retryable()
    }

    /// A transport failure (timeout, connection refused/reset).
    pub(crate) fn transport(e: &reqwest::Error) -> GraphError {
        GraphError {
            status: None,
            code: None,
            subcode: None,
            message: if e.is_timeout() {
                "request timed out".into()
            } else {
                format!("transport error: {e}")
            },
            details: None,
            failure: ChannelFailure::Transient,
            retry_after: None,
        }
    }

    /// From an HTTP status and a Graph error body (`{"error": {...}}`), if any.
    pub(crate) fn from_response(status: u16, body: &serde_json::Value) -> GraphError {
        let e = body.get("error");
        let code = e
            .and_then(|e| e.get("code"))
            .and_then(serde_json::Value::as_i64);
        let details = e
            .and_then(|e| e.get("error_data"))
            .and_then(|d| d.get("details"))
            .and_then(|d| d.as_str())
            .map(str::to_owned);
        let failure = classify(Some(status), code);
        GraphError {
            status: Some(status),
            code,
            subcode: e
                .and_then(|e| e.get("error_subcode"))
                .and_then(serde_json::Value::as_i64),
            message: e
                .and_then(|e| e.get("message"))
                .and_then(|m| m.as_str())
                .unwrap_or("no error message")
                .to_owned(),
            details,
            failure,
            retry_after: (code == Some(131056)).then_some(Duration::from_secs(6)),
        }
    }
}

/// Maps a Graph error code (and the HTTP status) to what it means for a sender, following
/// Meta's code table: rate limits and server-side trouble are retryable; window, recipient,
/// token, parameter, template and media problems are not.
pub fn classify(status: Option<u16>, code: Option<i64>) -> ChannelFailure {
    use ChannelFailure::*;
    match code {
        Some(4 | 80007 | 130429 | 131056) => RateLimited,
        Some(1 | 2 | 131000 | 131016 | 131057 | 133004) => Transient,
        Some(131047) => OutsideWindow,
        Some(131026 | 131030 | 131031 | 131008 | 131009 | 131042 | 130472) => InvalidRecipient,
        Some(190 | 0 | 10 | 200..=299) => Unauthorized,
        Some(100 | 368 | 131049 | 131050 | 131051 | 131052 | 131053 | 131062 | 132000..=132999) => {
            Rejected
        }
        _ => match status {
            Some(429) => RateLimited,
            Some(s) if s >= 500 => Transient,
            Some(401 | 403) => Unauthorized,
            _ => Rejected,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_of_the_issue_are_classified() {
        for c in [1, 2, 4, 80007, 130429, 131000, 131016, 131056, 133004] {
            assert!(classify(Some(400), Some(c)).is_retryable(), "{c}");
        }
        for c in [131047, 131026, 190, 100, 132000, 132012, 131052, 131053] {
            assert!(!classify(Some(400), Some(c)).is_retryable(), "{c}");
        }
        assert_eq!(
            classify(Some(400), Some(131047)),
            ChannelFailure::OutsideWindow
        );
        assert_eq!(classify(Some(401), Some(190)), ChannelFailure::Unauthorized);
        assert_eq!(classify(Some(503), None), ChannelFailure::Transient);
        assert_eq!(classify(Some(429), None), ChannelFailure::RateLimited);
        assert_eq!(classify(Some(400), None), ChannelFailure::Rejected);
    }
}
