//! An axum `Router` for the webhook (feature `axum`): `GET` answers the handshake, `POST`
//! verifies, stores and acknowledges, then sends auto-replies in the background. Nest it where
//! Meta should call: `Router::new().nest("/webhooks/whatsapp", helpdesk_whatsapp::router(h))`.

use crate::webhook::{PostOutcome, WebhookHandler};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use std::collections::HashMap;

async fn verify(
    State(h): State<WebhookHandler>,
    Query(q): Query<HashMap<String, String>>,
) -> (StatusCode, String) {
    match h.verify(
        q.get("hub.mode").map(String::as_str),
        q.get("hub.verify_token").map(String::as_str),
        q.get("hub.challenge").map(String::as_str),
    ) {
        Ok(challenge) => (StatusCode::OK, challenge.to_owned()),
        Err(e) => (StatusCode::FORBIDDEN, e.to_string()),
    }
}

async fn receive(
    State(h): State<WebhookHandler>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let sig = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    let (outcome, deliveries) = h.handle(sig, &body).await;
    if !deliveries.is_empty() {
        // Acknowledge first; the Graph API is called after the response.
        tokio::spawn(async move {
            for d in deliveries {
                d.run().await;
            }
        });
    }
    let code =
        StatusCode::from_u16(outcome.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let text = match outcome {
        PostOutcome::Accepted(_) => "ok",
        PostOutcome::Unauthorized(_) => "bad signature",
        PostOutcome::BadRequest(_) => "not a WhatsApp webhook",
        PostOutcome::Unavailable(_) => "temporarily unavailable",
    };
    (code, text)
}

/// The webhook routes at `/` (GET handshake, POST payloads).
pub fn router(handler: WebhookHandler) -> Router {
    Router::new()
        .route("/", get(verify).post(receive))
        .with_state(handler)
}
