//! The external CRM call of `abrir_ticket_crm`: `POST` with the fields our users' CRM endpoints
//! take and their response shape (`[{"data":[{"resposta":[{"protocolo":"…"}]}]}]`), an
//! idempotency key sent as `Idempotency-Key` and remembered, retries only where a retry can
//! succeed (5xx, 429, timeouts, network) with exponential backoff and jitter, a timeout per
//! attempt, a total deadline, and a circuit breaker around the whole retry sequence.
//!
//! Logs (LGPD): conversation id, setor, motivo, protocol, attempts, timing. Never the resumo,
//! the document, a phone number or an amount.

use crate::breaker::{Breaker, BreakerSettings};
use helpdesk_core::clock::Clock;
use helpdesk_core::domain::document::Document;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Where the CRM is and how hard to try: attempts, per-attempt timeout, total deadline,
/// backoff and circuit breaker.
#[derive(Debug, Clone)]
pub struct CrmSettings {
    /// The endpoint (`POST`), e.g. `https://crm.example.com/webhook/abrir_ticket`.
    pub url: String,
    /// Attempts in all (first included).
    pub max_attempts: u32,
    /// How long one HTTP attempt may take before it counts as a timeout (retried); 5 s by default.
    pub attempt_timeout: Duration,
    /// Deadline of the whole call, retries included.
    pub deadline: Duration,
    /// Delay before the second attempt; doubled each time, with jitter.
    pub base_backoff: Duration,
    /// When the circuit breaker around the whole retry sequence opens, and for how long.
    pub breaker: BreakerSettings,
}

impl CrmSettings {
    /// Defaults for `url`: 3 attempts, 5 s each, 15 s in all, 250 ms base backoff.
    pub fn new(url: impl Into<String>) -> CrmSettings {
        CrmSettings {
            url: url.into(),
            max_attempts: 3,
            attempt_timeout: Duration::from_secs(5),
            deadline: Duration::from_secs(15),
            base_backoff: Duration::from_millis(250),
            breaker: BreakerSettings::default(),
        }
    }
}

/// A ticket to open in the external CRM; the conversation and the document come from the
/// helpdesk, the rest from the model's validated arguments.
#[derive(Debug, Clone)]
pub struct CrmTicketRequest {
    /// The conversation (from the helpdesk, never from the model).
    pub conversation_id: String,
    /// The client's CPF/CNPJ (from the conversation's contact, never from the model).
    pub client_document: Document,
    /// Summary written by the assistant.
    pub resumo: String,
    /// The setor as the catalogue spells it (`FINANCEIRO`).
    pub setor: String,
    /// The motivo as the catalogue spells it (`INFORMAR PAGAMENTO`).
    pub motivo: String,
}

/// The result of opening a ticket in the external CRM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrmTicket {
    /// The CRM's protocol number.
    pub protocolo: String,
    /// HTTP attempts made (0 when replayed from the idempotency ledger).
    pub attempts: u32,
    /// The same key had succeeded before: the remembered protocol, no new request.
    pub replayed: bool,
}

/// Why the CRM call failed, and so whether trying later can help ([`CrmError::retryable`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrmError {
    /// The circuit is open: the CRM failed repeatedly; not called.
    #[error("the CRM is unavailable (circuit open); try again later")]
    CircuitOpen,
    /// No answer in time (the deadline or every attempt timed out).
    #[error("the CRM did not answer in time after {attempts} attempt(s)")]
    Timeout {
        /// HTTP attempts made before giving up.
        attempts: u32,
    },
    /// 5xx or 429 on every attempt.
    #[error("the CRM failed with HTTP {status} after {attempts} attempt(s)")]
    Unavailable {
        /// HTTP status of the last attempt.
        status: u16,
        /// HTTP attempts made, all answered with 5xx or 429.
        attempts: u32,
    },
    /// The CRM could not be reached (connection refused or reset, DNS…) on every attempt.
    #[error("could not reach the CRM after {attempts} attempt(s): {message}")]
    Network {
        /// Last error (no personal data).
        message: String,
        /// HTTP attempts made.
        attempts: u32,
    },
    /// The CRM refused the request (4xx other than 429): retrying will not help.
    #[error("the CRM refused the request with HTTP {status}")]
    Rejected {
        /// The HTTP status the CRM answered with.
        status: u16,
    },
    /// A success without a protocol number.
    #[error("the CRM answered without a protocol number")]
    MissingProtocol,
}

impl CrmError {
    /// Whether calling again later can succeed.
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            CrmError::CircuitOpen
                | CrmError::Timeout { .. }
                | CrmError::Unavailable { .. }
                | CrmError::Network { .. }
        )
    }

    /// Short machine name (`crm_unavailable`, `timeout`…).
    pub fn kind(&self) -> &'static str {
        match self {
            CrmError::CircuitOpen => "crm_circuit_open",
            CrmError::Timeout { .. } => "timeout",
            CrmError::Unavailable { .. } => "crm_unavailable",
            CrmError::Network { .. } => "crm_unreachable",
            CrmError::Rejected { .. } => "crm_rejected",
            CrmError::MissingProtocol => "crm_missing_protocol",
        }
    }
}

/// The idempotency key of a call: SHA-256 (hex) of conversation, tool and canonical arguments.
pub fn idempotency_key(conversation: &str, tool: &str, canonical_args: &str) -> String {
    let mut h = Sha256::new();
    for part in [conversation, tool, canonical_args] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads the protocol number from the CRM's response shape (a string or a number, as
/// `[{"data":[{"resposta":[{"protocolo":…}]}]}]` or the same object without the outer array);
/// `None` when it is missing or empty.
pub fn parse_protocol(body: &Value) -> Option<String> {
    let p = body
        .pointer("/0/data/0/resposta/0/protocolo")
        .or_else(|| body.pointer("/data/0/resposta/0/protocolo"))?;
    match p {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The CRM client. Clone shares the breaker and the idempotency ledger.
#[derive(Clone)]
pub struct CrmClient {
    http: reqwest::Client,
    settings: Arc<CrmSettings>,
    breaker: Breaker,
    ledger: Arc<Mutex<HashMap<String, String>>>,
}

enum Attempt {
    Done(Result<String, CrmError>),
    Retry(CrmError),
}

impl CrmClient {
    /// A client; `clock` drives the breaker (inject a manual clock in tests).
    pub fn new(settings: CrmSettings, clock: Arc<dyn Clock>) -> CrmClient {
        let breaker = Breaker::new(settings.breaker, clock);
        CrmClient {
            http: reqwest::Client::new(),
            settings: Arc::new(settings),
            breaker,
            ledger: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The breaker (for state checks and metrics).
    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }

    /// Opens a ticket. A key that succeeded before returns its protocol without calling.
    pub async fn open_ticket(
        &self,
        key: &str,
        req: &CrmTicketRequest,
    ) -> Result<CrmTicket, CrmError> {
        if let Some(p) = self.remembered(key) {
            tracing::info!(conversation_id = %req.conversation_id, setor = %req.setor, motivo = %req.motivo,
                protocolo = %p, "CRM ticket already opened for this call; protocol reused");
            return Ok(CrmTicket {
                protocolo: p,
                attempts: 0,
                replayed: true,
            });
        }
        let permit = match self.breaker.acquire() {
            Ok(p) => p,
            Err(_) => {
                tracing::warn!(conversation_id = %req.conversation_id, setor = %req.setor, motivo = %req.motivo,
                    "CRM circuit open: not called");
                return Err(CrmError::CircuitOpen);
            }
        };
        let started = Instant::now();
        let deadline = started + self.settings.deadline;
        let body = json!({
            "conversationId": req.conversation_id,
            "clientDocument": req.client_document.as_str(),
            "resumo": req.resumo,
            "setor": req.setor,
            "motivo": req.motivo,
        });
        let mut attempts = 0;
        let result = loop {
            attempts += 1;
            let now = Instant::now();
            if now >= deadline {
                break Err(CrmError::Timeout {
                    attempts: attempts - 1,
                });
            }
            let budget = self.settings.attempt_timeout.min(deadline - now);
            match self.attempt(key, &body, budget, attempts).await {
                Attempt::Done(r) => break r,
                Attempt::Retry(e) => {
                    let delay = self.backoff(key, attempts);
                    if attempts >= self.settings.max_attempts || Instant::now() + delay >= deadline
                    {
                        break Err(e);
                    }
                    tracing::info!(conversation_id = %req.conversation_id, attempt = attempts, kind = e.kind(),
                        delay_ms = delay.as_millis() as u64, "CRM call failed; retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        };
        let healthy = match &result {
            Ok(_) => true,
            Err(e) => !e.retryable(),
        };
        self.breaker.record(permit, healthy);
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match result {
            Ok(protocolo) => {
                self.remember(key, &protocolo);
                tracing::info!(conversation_id = %req.conversation_id, setor = %req.setor, motivo = %req.motivo,
                    protocolo = %protocolo, attempts, elapsed_ms, "CRM ticket opened");
                Ok(CrmTicket {
                    protocolo,
                    attempts,
                    replayed: false,
                })
            }
            Err(e) => {
                tracing::warn!(conversation_id = %req.conversation_id, setor = %req.setor, motivo = %req.motivo,
                    kind = e.kind(), attempts, elapsed_ms, "CRM ticket not opened");
                Err(e)
            }
        }
    }

    async fn attempt(&self, key: &str, body: &Value, budget: Duration, n: u32) -> Attempt {
        let send = self
            .http
            .post(&self.settings.url)
            .header("Idempotency-Key", key)
            .json(body)
            .send();
        let resp = match tokio::time::timeout(budget, send).await {
            Err(_) => return Attempt::Retry(CrmError::Timeout { attempts: n }),
            Ok(Err(e)) if e.is_timeout() => {
                return Attempt::Retry(CrmError::Timeout { attempts: n });
            }
            Ok(Err(e)) => {
                return Attempt::Retry(CrmError::Network {
                    message: without_url(&e),
                    attempts: n,
                });
            }
            Ok(Ok(r)) => r,
        };
        let status = resp.status().as_u16();
        if status == 429 || resp.status().is_server_error() {
            return Attempt::Retry(CrmError::Unavailable {
                status,
                attempts: n,
            });
        }
        if !resp.status().is_success() {
            return Attempt::Done(Err(CrmError::Rejected { status }));
        }
        let text = match tokio::time::timeout(budget, resp.text()).await {
            Err(_) => return Attempt::Retry(CrmError::Timeout { attempts: n }),
            Ok(Err(e)) => {
                return Attempt::Retry(CrmError::Network {
                    message: without_url(&e),
                    attempts: n,
                });
            }
            Ok(Ok(t)) => t,
        };
        let parsed: Option<Value> = serde_json::from_str(&text).ok();
        Attempt::Done(
            parsed
                .as_ref()
                .and_then(parse_protocol)
                .ok_or(CrmError::MissingProtocol),
        )
    }

    /// `base · 2^(attempt-1)`, with "equal jitter" (half fixed, half pseudo-random from the
    /// key and attempt, so concurrent calls spread out).
    fn backoff(&self, key: &str, attempt: u32) -> Duration {
        let exp = self
            .settings
            .base_backoff
            .saturating_mul(1u32 << (attempt.saturating_sub(1)).min(16));
        let mut h = Sha256::new();
        h.update(key.as_bytes());
        h.update(attempt.to_be_bytes());
        let d = h.finalize();
        let r = u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]);
        let half = exp / 2;
        half + Duration::from_nanos(r % (half.as_nanos().max(1) as u64))
    }

    fn remembered(&self, key: &str) -> Option<String> {
        self.ledger
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }

    fn remember(&self, key: &str, protocolo: &str) {
        self.ledger
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_owned(), protocolo.to_owned());
    }
}

/// What kind of network failure (no URL: it could carry query parameters).
fn without_url(e: &reqwest::Error) -> String {
    if e.is_connect() {
        "connection failed".into()
    } else if e.is_body() || e.is_decode() {
        "response body failed".into()
    } else if e.is_request() {
        "request failed".into()
    } else {
        "transport error".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_response_shape_gives_the_protocol() {
        let v: Value =
            serde_json::from_str(r#"[{"data":[{"resposta":[{"protocolo":"2510271534789012"}]}]}]"#)
                .unwrap();
        assert_eq!(parse_protocol(&v).as_deref(), Some("2510271534789012"));
        assert_eq!(
            parse_protocol(&serde_json::json!([{"data":[{"resposta":[]}]}])),
            None
        );
        assert_eq!(
            parse_protocol(&serde_json::json!([{"data":[{"resposta":[{"protocolo":""}]}]}])),
            None
        );
    }

    #[test]
    fn keys_depend_on_every_part() {
        let a = idempotency_key("c1", "abrir_ticket_crm", "{}");
        assert_eq!(a.len(), 64);
        assert_ne!(a, idempotency_key("c2", "abrir_ticket_crm", "{}"));
        assert_ne!(a, idempotency_key("c1", "abrir_ticket_crm", "{\"a\":1}"));
        assert_eq!(a, idempotency_key("c1", "abrir_ticket_crm", "{}"));
    }
}
