//! A framework-free webhook handler: what an HTTP route does, minus the HTTP.
//!
//! `GET` → [`WebhookHandler::verify`]; `POST` → [`WebhookHandler::handle`], which checks the
//! signature before parsing, processes every item of the payload, and says which status to
//! answer. It never waits on the Graph API: auto-replies come back as [`Deliveries`] to run
//! after the response is sent.

use super::{
    ParseError, SignatureError, VerifyRefused, WebhookItem, parse, verify_signature,
    verify_subscription,
};
use helpdesk_core::service::Deliveries;
use helpdesk_core::{Error, Helpdesk};

/// What processing one accepted payload did, item by item, for logs and metrics.
#[derive(Debug, Default)]
pub struct Report {
    /// Customer messages stored by this delivery (first time seen).
    pub messages: usize,
    /// Messages stored before (redeliveries).
    pub duplicates: usize,
    /// Statuses applied (forward moves).
    pub statuses: usize,
    /// Statuses ignored (out of order, repeated, or for messages sent elsewhere).
    pub statuses_ignored: usize,
    /// Items for a `phone_number_id` no tenant registered: acknowledged, stored nowhere.
    pub unknown_accounts: usize,
    /// Contacts whose phone number changed.
    pub number_changes: usize,
    /// Items that could not be read, value-level errors, and other fields: kept in the report.
    pub not_processed: Vec<WebhookItem>,
    /// Items refused for good (bad data), with why.
    pub refused: Vec<(String, Error)>,
}

/// How to answer a `POST`.
#[derive(Debug)]
pub enum PostOutcome {
    /// 200: processed (or refused for good: a retry would not help).
    Accepted(Report),
    /// 401: missing or wrong signature; nothing was parsed or stored.
    Unauthorized(SignatureError),
    /// 400: signed, but not a WhatsApp webhook.
    BadRequest(ParseError),
    /// 503: the store could not be reached; Meta redelivers and duplicates are recognized.
    Unavailable(Error),
}

impl PostOutcome {
    /// The HTTP status code to answer Meta with (200, 401, 400 or 503).
    pub fn status_code(&self) -> u16 {
        match self {
            PostOutcome::Accepted(_) => 200,
            PostOutcome::Unauthorized(_) => 401,
            PostOutcome::BadRequest(_) => 400,
            PostOutcome::Unavailable(_) => 503,
        }
    }
}

/// Verifies and processes WhatsApp webhooks for a [`Helpdesk`].
#[derive(Clone)]
pub struct WebhookHandler {
    hd: Helpdesk,
    app_secret: Vec<u8>,
    verify_token: String,
}

impl WebhookHandler {
    /// A handler with the app secret (signatures) and the verify token (handshake).
    pub fn new(
        hd: Helpdesk,
        app_secret: impl Into<Vec<u8>>,
        verify_token: impl Into<String>,
    ) -> WebhookHandler {
        WebhookHandler {
            hd,
            app_secret: app_secret.into(),
            verify_token: verify_token.into(),
        }
    }

    /// The `GET` handshake: the challenge (answer 200, plain text) or a refusal (answer 403).
    pub fn verify<'a>(
        &self,
        mode: Option<&str>,
        token: Option<&str>,
        challenge: Option<&'a str>,
    ) -> Result<&'a str, VerifyRefused> {
        verify_subscription(mode, token, challenge, &self.verify_token)
    }

    /// The `POST`: signature first, then every item. Returns the outcome and the auto-replies
    /// to send once the response is out.
    pub async fn handle(
        &self,
        signature: Option<&str>,
        body: &[u8],
    ) -> (PostOutcome, Vec<Deliveries>) {
        if let Err(e) = verify_signature(&self.app_secret, body, signature) {
            return (PostOutcome::Unauthorized(e), Vec::new());
        }
        let items = match parse(body, self.hd.now()) {
            Ok(items) => items,
            Err(e) => return (PostOutcome::BadRequest(e), Vec::new()),
        };
        let mut report = Report::default();
        let mut deliveries = Vec::new();
        for item in items {
            let result = match &item {
                WebhookItem::Message(m, _) => {
                    match self.hd.ingest_deferred(m.as_ref().clone()).await {
                        Ok((out, d)) => {
                            if out.duplicate {
                                report.duplicates += 1;
                            } else {
                                report.messages += 1;
                            }
                            if !d.is_empty() {
                                deliveries.push(d);
                            }
                            Ok(())
                        }
                        Err(e) => Err(e),
                    }
                }
                WebhookItem::Status(st, _) => match self.hd.apply_status(st.clone()).await {
                    Ok(helpdesk_core::service::StatusOutcome::Applied(_)) => {
                        report.statuses += 1;
                        Ok(())
                    }
                    Ok(_) => {
                        report.statuses_ignored += 1;
                        Ok(())
                    }
                    Err(e) => Err(e),
                },
                WebhookItem::NumberChanged {
                    account_external_id,
                    old_wa_id,
                    new_wa_id,
                } => {
                    match self
                        .hd
                        .change_contact_phone(
                            helpdesk_core::domain::party::ChannelKind::Whatsapp,
                            account_external_id,
                            old_wa_id,
                            new_wa_id,
                        )
                        .await
                    {
                        Ok(_) => {
                            report.number_changes += 1;
                            Ok(())
                        }
                        Err(e) => Err(e),
                    }
                }
                WebhookItem::Malformed { path, reason, .. } => {
                    tracing::warn!(%path, %reason, "unreadable webhook item kept in the report");
                    report.not_processed.push(item.clone());
                    Ok(())
                }
                _ => {
                    report.not_processed.push(item.clone());
                    Ok(())
                }
            };
            match result {
                Ok(()) => {}
                Err(Error::NotFound {
                    entity: helpdesk_core::Entity::ChannelAccount,
                    ..
                }) => report.unknown_accounts += 1,
                // The store is down (or failed in a way no item is to blame for): answer 503 so
                // Meta redelivers the whole payload; what was stored already is recognized as a
                // duplicate then. Nothing is acknowledged that was not stored.
                Err(e) if e.is_retryable() || e.kind() == helpdesk_core::ErrorKind::Store => {
                    tracing::warn!(error_kind = %e.kind(), "store unavailable while processing a webhook; answering 503 for redelivery");
                    return (PostOutcome::Unavailable(e), deliveries);
                }
                Err(e) => {
                    tracing::warn!(item = %describe(&item), error_kind = %e.kind(), field = e.field().unwrap_or(""), "webhook item refused");
                    report.refused.push((describe(&item), e));
                }
            }
        }
        (PostOutcome::Accepted(report), deliveries)
    }
}

fn describe(item: &WebhookItem) -> String {
    match item {
        WebhookItem::Message(m, _) => format!("message {}", m.external_id),
        WebhookItem::Status(s, _) => format!("status of {}", s.external_id),
        _ => "item".into(),
    }
}
