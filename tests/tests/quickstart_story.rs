//! End to end across crates: the quickstart's story through the public API of the workspace.

#![allow(clippy::unwrap_used)]

use helpdesk_core::actor::Actor;
use helpdesk_core::domain::message::MessageContent;
use helpdesk_core::memory::MemoryStore;
use helpdesk_core::service::NewTicket;
use helpdesk_core::testing::conformance::Fixture;
use std::sync::Arc;

#[tokio::test]
async fn a_ticket_lives_from_first_message_to_rating() {
    let f = Fixture::new(Arc::new(MemoryStore::new()), 2, 5).await;
    let got =
        f.hd.ingest(f.inbound("wamid.1", "5511987654321", "sem internet"))
            .await
            .unwrap();
    let agent = Actor::agent(got.assigned_to.expect("assigned on arrival"));
    f.hd.reply(
        f.org.id,
        &agent,
        got.ticket_id,
        MessageContent::text("Vamos verificar"),
    )
    .await
    .unwrap();
    f.hd.resolve(f.org.id, &agent, got.ticket_id).await.unwrap();
    let customer = Actor::Customer {
        id: f
            .hd
            .ticket(f.org.id, &agent, got.ticket_id)
            .await
            .unwrap()
            .contact_id,
    };
    let t =
        f.hd.rate(f.org.id, &customer, got.ticket_id, 5, None)
            .await
            .unwrap();
    assert_eq!(t.rating.map(|r| r.score), Some(5));
    let other =
        f.hd.create_ticket(f.org.id, &f.admin, NewTicket::new(f.lead(7)))
            .await
            .unwrap();
    assert_eq!(other.number, 2);
}
