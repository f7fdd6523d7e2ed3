//! The axum router over real HTTP on loopback, with core's in-memory store.
#![cfg(feature = "axum")]
#![allow(clippy::unwrap_used)]

use helpdesk_core::domain::party::ChannelKind;
use helpdesk_core::memory::MemoryStore;
use helpdesk_core::service::NewChannelAccount;
use helpdesk_core::testing::conformance::Fixture;
use helpdesk_whatsapp::webhook::{WebhookHandler, sign};
use std::sync::Arc;

#[tokio::test]
async fn signed_post_creates_the_ticket_and_a_repost_changes_nothing() {
    let f = Fixture::new(Arc::new(MemoryStore::new()), 1, 10).await;
    f.hd.add_channel_account(
        f.org.id,
        &f.admin,
        NewChannelAccount {
            kind: ChannelKind::Whatsapp,
            external_id: "1122334455667".into(),
            name: "WA".into(),
            default_queue_id: Some(f.queue.id),
        },
    )
    .await
    .unwrap();
    let app = axum::Router::new().nest(
        "/webhooks/whatsapp",
        helpdesk_whatsapp::router(WebhookHandler::new(f.hd.clone(), "app-secret", "verify-me")),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::new();
    let url = format!("http://{addr}/webhooks/whatsapp");

    let r = http
        .get(format!(
            "{url}?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=4242"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "4242");
    let r = http
        .get(format!(
            "{url}?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=4242"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    let body = std::fs::read(format!(
        "{}/tests/fixtures/inbound_text.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let forged = http
        .post(&url)
        .header("x-hub-signature-256", sign(b"other", &body))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    assert!(f.all_tickets().await.is_empty());
    for _ in 0..2 {
        let r = http
            .post(&url)
            .header("x-hub-signature-256", sign(b"app-secret", &body))
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let tickets = f.all_tickets().await;
    assert_eq!(tickets.len(), 1);
    assert_eq!(
        tickets[0].messages_count, 2,
        "the inbound message and the greeting, each once"
    );
}
