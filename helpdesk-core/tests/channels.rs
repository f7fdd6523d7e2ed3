//! One desk, several channels: each reply leaves through the channel of its ticket's inbox.

#![allow(clippy::unwrap_used)]

use helpdesk_core::Helpdesk;
use helpdesk_core::actor::Actor;
use helpdesk_core::channel::{Channels, InboundMessage, InboundSender};
use helpdesk_core::clock::ManualClock;
use helpdesk_core::domain::message::{DeliveryStatus, MessageContent};
use helpdesk_core::domain::party::ChannelKind;
use helpdesk_core::memory::{MemoryStore, RecordingChannel};
use helpdesk_core::service::{Desk, NewChannelAccount, NewOrganization, NewQueue};
use helpdesk_core::testing::conformance::t0;
use std::sync::Arc;

fn inbound(kind: ChannelKind, inbox: &str, id: &str, from: InboundSender) -> InboundMessage {
    InboundMessage {
        channel: kind,
        account_external_id: inbox.into(),
        external_id: id.into(),
        from,
        content: MessageContent::text("Preciso de ajuda"),
        sent_at: t0(),
        reply_to_external_id: None,
        tracking: None,
    }
}

/// A desk in memory sending through `channels`, with one queue that every inbox of `inboxes`
/// (kind, external id) routes to; the handle acts as the system.
async fn desk_with(channels: Channels, inboxes: &[(ChannelKind, &str)]) -> (Helpdesk, Desk) {
    let hd = Helpdesk::new(
        Arc::new(MemoryStore::new()),
        Arc::new(channels),
        Arc::new(ManualClock::new(t0())),
    );
    let org = hd
        .create_organization(NewOrganization::brazil("Acme"))
        .await
        .unwrap()
        .id;
    let admin = hd.desk(org, Actor::System);
    let queue = admin.create_queue(NewQueue::new("Suporte")).await.unwrap();
    for (kind, id) in inboxes {
        admin
            .add_channel_account(NewChannelAccount {
                kind: *kind,
                external_id: (*id).into(),
                name: (*id).into(),
                default_queue_id: Some(queue.id),
            })
            .await
            .unwrap();
    }
    (hd, admin)
}

#[tokio::test]
async fn replies_leave_through_the_channel_of_their_inbox() {
    let whatsapp = Arc::new(RecordingChannel::new());
    let email = Arc::new(RecordingChannel::new());
    let channels = Channels::new()
        .with_kind(ChannelKind::Whatsapp, whatsapp.clone())
        .with_kind(ChannelKind::Email, email.clone());
    let (hd, admin) = desk_with(
        channels,
        &[
            (ChannelKind::Whatsapp, "104000000000001"),
            (ChannelKind::Email, "suporte@acme.example"),
            (ChannelKind::WebChat, "site"),
        ],
    )
    .await;
    let by_phone = InboundSender {
        phone: Some("5511987654321".into()),
        ..InboundSender::default()
    };
    let by_mail = InboundSender {
        email: Some("maria@example.com".into()),
        ..InboundSender::default()
    };
    let wa = hd
        .ingest(inbound(
            ChannelKind::Whatsapp,
            "104000000000001",
            "wamid.1",
            by_phone,
        ))
        .await
        .unwrap();
    let mail = hd
        .ingest(inbound(
            ChannelKind::Email,
            "suporte@acme.example",
            "<m1@example.com>",
            by_mail.clone(),
        ))
        .await
        .unwrap();
    let chat = hd
        .ingest(inbound(ChannelKind::WebChat, "site", "chat-1", by_mail))
        .await
        .unwrap();
    let sent = admin
        .reply(wa.ticket_id, MessageContent::text("Pelo WhatsApp"))
        .await
        .unwrap();
    assert_eq!(sent.status, Some(DeliveryStatus::Sent));
    admin
        .reply(mail.ticket_id, MessageContent::text("Por e-mail"))
        .await
        .unwrap();
    let texts = |c: &RecordingChannel| -> Vec<(ChannelKind, String)> {
        c.sent()
            .into_iter()
            .map(|m| {
                let text = m
                    .message
                    .content
                    .text_preview()
                    .unwrap_or_default()
                    .to_owned();
                (m.account.kind, text)
            })
            .collect()
    };
    assert_eq!(
        texts(&whatsapp),
        vec![(ChannelKind::Whatsapp, "Pelo WhatsApp".to_owned())]
    );
    assert_eq!(
        texts(&email),
        vec![(ChannelKind::Email, "Por e-mail".to_owned())]
    );
    assert_eq!(
        email.sent()[0].to.email.as_deref(),
        Some("maria@example.com")
    );
    // Nothing sends for web chat here: the reply is kept, failed, with the reason.
    let kept = admin
        .reply(chat.ticket_id, MessageContent::text("Pelo chat"))
        .await
        .unwrap();
    assert_eq!(kept.status, Some(DeliveryStatus::Failed));
    let reason = kept.delivery_error.map(|e| e.title).unwrap_or_default();
    assert!(reason.contains("NotConfigured"), "{reason}");
    assert_eq!(whatsapp.sent().len() + email.sent().len(), 2);
}

#[tokio::test]
async fn a_web_chat_visitor_known_only_by_an_opaque_id_writes_in_and_is_answered() {
    let chat = Arc::new(RecordingChannel::new());
    let (hd, admin) = desk_with(
        Channels::new().with_kind(ChannelKind::WebChat, chat.clone()),
        &[(ChannelKind::WebChat, "site")],
    )
    .await;
    let visitor = |id: &str| InboundSender {
        visitor_id: Some(id.into()),
        ..InboundSender::default()
    };
    let first = hd
        .ingest(inbound(
            ChannelKind::WebChat,
            "site",
            "c-1",
            visitor("v-9a1"),
        ))
        .await
        .unwrap();
    let again = hd
        .ingest(inbound(
            ChannelKind::WebChat,
            "site",
            "c-2",
            visitor("v-9a1"),
        ))
        .await
        .unwrap();
    let other = hd
        .ingest(inbound(
            ChannelKind::WebChat,
            "site",
            "c-3",
            visitor("v-77b"),
        ))
        .await
        .unwrap();
    assert_eq!(first.ticket_id, again.ticket_id, "one visitor, one ticket");
    assert_ne!(first.ticket_id, other.ticket_id, "another visitor");
    let ticket = admin.ticket(first.ticket_id).await.unwrap();
    let contact = admin.contact(ticket.contact_id).await.unwrap();
    assert_eq!(contact.visitor_id.as_deref(), Some("v-9a1"));
    assert!(contact.phone.is_none() && contact.email.is_none());
    let sent = admin
        .reply(
            first.ticket_id,
            MessageContent::text("Olá! Como posso ajudar?"),
        )
        .await
        .unwrap();
    assert_eq!(sent.status, Some(DeliveryStatus::Sent));
    let out = chat.sent();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].to.visitor_id.as_deref(), Some("v-9a1"));
    // A sender with nothing to know them by is refused, naming what is missing.
    let nobody = hd
        .ingest(inbound(
            ChannelKind::WebChat,
            "site",
            "c-4",
            InboundSender::default(),
        ))
        .await;
    assert!(
        matches!(&nobody, Err(helpdesk_core::Error::Invalid { field, .. }) if field == "lead"),
        "{nobody:?}"
    );
}
