//! A signed fixture through the handler into core's in-memory store.

#![allow(clippy::unwrap_used)]

use helpdesk_core::actor::Actor;
use helpdesk_core::domain::message::{DeliveryStatus, Direction, MessageContent};
use helpdesk_core::domain::party::{ChannelKind, ContactKey};
use helpdesk_core::memory::MemoryStore;
use helpdesk_core::service::NewChannelAccount;
use helpdesk_core::testing::conformance::Fixture;
use helpdesk_whatsapp::webhook::{PostOutcome, WebhookHandler, sign};
use std::sync::Arc;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

async fn setup(store: MemoryStore) -> (Fixture, WebhookHandler) {
    let f = Fixture::new(Arc::new(store), 1, 10).await;
    // The fixtures' phone_number_id.
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
    let h = WebhookHandler::new(f.hd.clone(), "app-secret", "verify-me");
    (f, h)
}

#[tokio::test]
async fn a_signed_payload_creates_contact_ticket_and_message_once() {
    let (f, h) = setup(MemoryStore::new()).await;
    let body = fixture("inbound_text_ctwa_referral");
    let sig = sign(b"app-secret", &body);
    let (out, deliveries) = h.handle(Some(&sig), &body).await;
    match &out {
        PostOutcome::Accepted(r) => assert_eq!((r.messages, r.duplicates), (1, 0)),
        other => panic!("{other:?}"),
    }
    assert_eq!(out.status_code(), 200);
    assert_eq!(
        f.channel.sent().len(),
        0,
        "the greeting is not sent before acknowledging"
    );
    for d in deliveries {
        d.run().await;
    }
    assert_eq!(f.channel.sent().len(), 1, "then it is sent");
    let contact =
        f.hd.find_contact(
            f.org.id,
            &f.admin,
            &ContactKey::WhatsappId("US.13491208655302741918".into()),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(contact.name.as_deref(), Some("Test Name"));
    let tickets = f.all_tickets().await;
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0].ticket.tracking.click_ids[0].value, "CTWA_CLID");
    let msgs =
        f.hd.messages(f.org.id, &Actor::System, tickets[0].ticket.id)
            .await
            .unwrap();
    assert!(msgs.iter().any(|m| m.direction == Direction::Inbound && m.content == MessageContent::text("BODY")));
    // Posting it again changes nothing.
    let events = f.events().await.len();
    let (again, d2) = h.handle(Some(&sig), &body).await;
    assert!(matches!(again, PostOutcome::Accepted(ref r) if r.duplicates == 1 && r.messages == 0));
    assert!(d2.is_empty());
    assert_eq!(f.events().await.len(), events);
    assert_eq!(f.all_tickets().await.len(), 1);
}

#[tokio::test]
async fn forged_or_missing_signatures_store_nothing() {
    let (f, h) = setup(MemoryStore::new()).await;
    let body = fixture("inbound_text");
    for sig in [
        None,
        Some(sign(b"wrong-secret", &body)),
        Some("sha256=00".to_owned()),
    ] {
        let (out, _) = h.handle(sig.as_deref(), &body).await;
        assert_eq!(out.status_code(), 401);
    }
    assert!(f.all_tickets().await.is_empty());
    let (out, _) = h
        .handle(
            Some(&sign(b"app-secret", b"{\"object\":\"page\"}")),
            b"{\"object\":\"page\"}",
        )
        .await;
    assert_eq!(out.status_code(), 400);
}

#[tokio::test]
async fn unknown_phone_number_id_is_acknowledged_and_stored_nowhere() {
    let f = Fixture::new(Arc::new(MemoryStore::new()), 1, 10).await;
    let h = WebhookHandler::new(f.hd.clone(), "app-secret", "verify-me");
    let body = fixture("inbound_text");
    let (out, _) = h.handle(Some(&sign(b"app-secret", &body)), &body).await;
    assert!(
        matches!(out, PostOutcome::Accepted(ref r) if r.unknown_accounts == 1 && r.messages == 0)
    );
    assert!(f.all_tickets().await.is_empty());
}

#[tokio::test]
async fn store_outage_answers_503_and_redelivery_stores_once() {
    let store = MemoryStore::new();
    let (f, h) = setup(store.clone()).await;
    let body = fixture("batch_two_messages_text_and_reaction");
    let body = {
        // Point the batch at our inbox whatever id it carried.
        let mut v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        v["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] =
            "1122334455667".into();
        serde_json::to_vec(&v).unwrap()
    };
    let sig = sign(b"app-secret", &body);
    store.set_unavailable(true);
    let (out, _) = h.handle(Some(&sig), &body).await;
    assert_eq!(out.status_code(), 503);
    store.set_unavailable(false);
    let (out, _) = h.handle(Some(&sig), &body).await;
    assert!(
        matches!(out, PostOutcome::Accepted(ref r) if r.messages == 2),
        "{out:?}"
    );
    let (out, _) = h.handle(Some(&sig), &body).await;
    assert!(matches!(out, PostOutcome::Accepted(ref r) if r.duplicates == 2));
    let t = &f.all_tickets().await[0];
    let kinds: Vec<&str> =
        f.hd.messages(f.org.id, &Actor::System, t.ticket.id)
            .await
            .unwrap()
            .iter()
            .filter(|m| m.direction == Direction::Inbound)
            .map(|m| m.content.kind_name())
            .collect();
    assert_eq!(kinds, ["text", "reaction"], "every item of the batch, once");
}

#[tokio::test]
async fn statuses_out_of_order_end_as_read_and_failures_are_events() {
    let (f, h) = setup(MemoryStore::new()).await;
    let body = fixture("inbound_text");
    h.handle(Some(&sign(b"app-secret", &body)), &body).await;
    let t = f.all_tickets().await[0].ticket.id;
    let reply =
        f.hd.reply(
            f.org.id,
            &Actor::agent(f.agents[0].id),
            t,
            MessageContent::text("oi"),
        )
        .await
        .unwrap();
    let ext = reply.external_id.unwrap();
    let status = |name: &str| {
        let mut v: serde_json::Value = serde_json::from_slice(&fixture(name)).unwrap();
        v["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = ext.clone().into();
        serde_json::to_vec(&v).unwrap()
    };
    for name in ["status_read", "status_delivered", "status_sent"] {
        let b = status(name);
        h.handle(Some(&sign(b"app-secret", &b)), &b).await;
    }
    let msgs = f.hd.messages(f.org.id, &Actor::System, t).await.unwrap();
    assert_eq!(
        msgs.iter()
            .find(|m| m.external_id.as_deref() == Some(ext.as_str()))
            .unwrap()
            .status,
        Some(DeliveryStatus::Read)
    );
}

#[tokio::test]
async fn handshake_answers_the_challenge() {
    let (_, h) = setup(MemoryStore::new()).await;
    assert_eq!(
        h.verify(Some("subscribe"), Some("verify-me"), Some("1158201444")),
        Ok("1158201444")
    );
    assert!(
        h.verify(Some("subscribe"), Some("nope"), Some("1"))
            .is_err()
    );
}

#[tokio::test]
async fn a_number_change_moves_the_contact_to_the_new_number() {
    let (f, h) = setup(MemoryStore::new()).await;
    let first = fixture("inbound_text");
    h.handle(Some(&sign(b"app-secret", &first)), &first).await;
    let body = fixture("inbound_system_user_changed_number");
    let (out, _) = h.handle(Some(&sign(b"app-secret", &body)), &body).await;
    assert!(
        matches!(out, PostOutcome::Accepted(ref r) if r.number_changes == 1 && r.messages == 1),
        "{out:?}"
    );
    let phone = |p: &str| {
        ContactKey::Phone(
            helpdesk_core::domain::phone::PhoneNumber::parse(
                p,
                helpdesk_core::domain::phone::PhoneRegion::BR,
            )
            .unwrap(),
        )
    };
    assert!(
        f.hd.find_contact(f.org.id, &f.admin, &phone("+972987654321"))
            .await
            .unwrap()
            .is_none()
    );
    let c =
        f.hd.find_contact(f.org.id, &f.admin, &phone("+972912345678"))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(c.name.as_deref(), Some("Test Name"));
    assert_eq!(
        f.all_tickets().await.len(),
        1,
        "the conversation continues on the same contact"
    );
}
