//! Service workflows on the in-memory store, one behaviour per test.

#![allow(clippy::unwrap_used)]

use chrono::{Duration, TimeZone, Utc};
use helpdesk_core::actor::Actor;
use helpdesk_core::channel::{ChannelFailure, InboundSender};
use helpdesk_core::domain::catalogue::Catalogue;
use helpdesk_core::domain::message::{DeliveryStatus, Direction, MessageContent};
use helpdesk_core::domain::party::{ChannelKind, ContactKey};
use helpdesk_core::domain::phone::{PhoneNumber, PhoneRegion};
use helpdesk_core::domain::records::EventKind;
use helpdesk_core::domain::team::{AutoReplies, Distribution, Presence, Role};
use helpdesk_core::domain::ticket::{Money, TicketStatus};
use helpdesk_core::domain::tracking::{ClickId, ClickIdKind, SourceType, Tracking};
use helpdesk_core::memory::MemoryStore;
use helpdesk_core::service::*;
use helpdesk_core::sla::CalendarSpec;
use helpdesk_core::testing::conformance::{Fixture, t0};
use helpdesk_core::{Entity, Error, ErrorKind};
use std::collections::BTreeMap;
use std::sync::Arc;

async fn fixture(agents: usize, capacity: u32) -> Fixture {
    Fixture::new(Arc::new(MemoryStore::new()), agents, capacity).await
}

async fn queue_with(
    f: &Fixture,
    name: &str,
    hours: Option<CalendarSpec>,
    replies: AutoReplies,
) -> helpdesk_core::domain::team::Queue {
    f.hd.create_queue(
        f.org.id,
        &f.admin,
        NewQueue {
            business_hours: hours,
            auto_replies: replies,
            distribution: Distribution::RoundRobin,
            ..NewQueue::new(name)
        },
    )
    .await
    .unwrap()
}

fn sp_weekdays() -> CalendarSpec {
    CalendarSpec::weekdays(chrono_tz::America::Sao_Paulo, "09:00", "18:00").unwrap()
}

#[tokio::test]
async fn second_inbound_message_reuses_the_live_ticket() {
    let f = fixture(1, 5).await;
    let a =
        f.hd.ingest(f.inbound("w1", "5511999990001", "oi"))
            .await
            .unwrap();
    let b =
        f.hd.ingest(f.inbound("w2", "5511999990001", "tudo bem?"))
            .await
            .unwrap();
    assert!(a.created_ticket && !b.created_ticket);
    assert_eq!(a.ticket_id, b.ticket_id);
    assert_eq!(
        f.channel.sent().len(),
        1,
        "greeting only for the new ticket"
    );
}

#[tokio::test]
async fn customer_message_reopens_resolved_and_pending_tickets_but_not_closed_ones() {
    let f = fixture(1, 5).await;
    let agent = Actor::agent(f.agents[0].id);
    let a =
        f.hd.ingest(f.inbound("w1", "5511999990002", "oi"))
            .await
            .unwrap();
    f.hd.set_pending(f.org.id, &agent, a.ticket_id)
        .await
        .unwrap();
    f.hd.ingest(f.inbound("w2", "5511999990002", "voltei"))
        .await
        .unwrap();
    assert_eq!(
        f.hd.ticket(f.org.id, &agent, a.ticket_id)
            .await
            .unwrap()
            .status,
        TicketStatus::Open
    );
    f.hd.resolve(f.org.id, &agent, a.ticket_id).await.unwrap();
    let again =
        f.hd.ingest(f.inbound("w3", "5511999990002", "ainda não funciona"))
            .await
            .unwrap();
    assert_eq!(again.ticket_id, a.ticket_id);
    assert_eq!(
        f.hd.ticket(f.org.id, &agent, a.ticket_id)
            .await
            .unwrap()
            .status,
        TicketStatus::Open
    );
    f.hd.resolve(f.org.id, &agent, a.ticket_id).await.unwrap();
    f.hd.close(f.org.id, &agent, a.ticket_id).await.unwrap();
    let fresh =
        f.hd.ingest(f.inbound("w4", "5511999990002", "novo assunto"))
            .await
            .unwrap();
    assert!(fresh.created_ticket);
    assert_ne!(fresh.ticket_id, a.ticket_id);
    // The closed ticket cannot be reopened while the conversation has another live ticket.
    let e =
        f.hd.reopen(f.org.id, &agent, a.ticket_id)
            .await
            .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
}

#[tokio::test]
async fn outside_business_hours_the_out_of_hours_reply_replaces_the_greeting() {
    let f = fixture(0, 1).await;
    let q = queue_with(&f, "Financeiro", Some(sp_weekdays()), AutoReplies {
        greeting: Some("Bem-vindo".into()),
        out_of_hours: Some("Olá {{customer_name}}, atendemos de 9h às 18h. Ticket #{{ticket_number}} ({{queue_name}}).".into()),
        no_agent: Some("Todos ocupados".into()),
    })
    .await;
    let acc =
        f.hd.add_channel_account(
            f.org.id,
            &f.admin,
            NewChannelAccount {
                kind: ChannelKind::Whatsapp,
                external_id: "pn-fin".into(),
                name: "Fin".into(),
                default_queue_id: Some(q.id),
            },
        )
        .await
        .unwrap();
    // Saturday 2026-03-07 15:00 in São Paulo.
    f.clock
        .set(Utc.with_ymd_and_hms(2026, 3, 7, 18, 0, 0).unwrap());
    let mut m = f.inbound("w1", "5511999990003", "oi");
    m.account_external_id = acc.external_id.clone();
    let r = f.hd.ingest(m).await.unwrap();
    let sent = f.channel.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].message.content,
        MessageContent::text("Olá Cliente, atendemos de 9h às 18h. Ticket #1 (Financeiro).")
    );
    assert_eq!(r.auto_replies.len(), 1);
    // Monday 10:00 in business hours with nobody online: greeting, then no-agent.
    f.clock
        .set(Utc.with_ymd_and_hms(2026, 3, 9, 13, 0, 0).unwrap());
    let mut m = f.inbound("w2", "5511999990004", "oi");
    m.account_external_id = acc.external_id;
    f.hd.ingest(m).await.unwrap();
    let texts: Vec<MessageContent> = f
        .channel
        .sent()
        .into_iter()
        .skip(1)
        .map(|s| s.message.content)
        .collect();
    assert_eq!(
        texts,
        [
            MessageContent::text("Bem-vindo"),
            MessageContent::text("Todos ocupados")
        ]
    );
}

#[tokio::test]
async fn auto_reply_with_unknown_variable_is_refused_at_queue_creation() {
    let f = fixture(0, 1).await;
    let e =
        f.hd.create_queue(
            f.org.id,
            &f.admin,
            NewQueue {
                auto_replies: AutoReplies {
                    greeting: Some("Oi {{nome}}".into()),
                    ..AutoReplies::default()
                },
                ..NewQueue::new("X")
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("auto_replies.greeting"));
    assert!(e.allowed_values().contains(&"customer_name".to_owned()));
}

#[tokio::test]
async fn reply_is_sent_once_and_first_reply_opens_the_ticket() {
    let f = fixture(1, 5).await;
    let agent = Actor::agent(f.agents[0].id);
    let r =
        f.hd.ingest(f.inbound("w1", "5511999990005", "oi"))
            .await
            .unwrap();
    f.clock.advance(Duration::minutes(3));
    let m =
        f.hd.reply(
            f.org.id,
            &agent,
            r.ticket_id,
            MessageContent::text("Olá! Como posso ajudar?"),
        )
        .await
        .unwrap();
    assert_eq!(m.status, Some(DeliveryStatus::Sent));
    assert!(m.external_id.is_some());
    let t = f.hd.ticket(f.org.id, &agent, r.ticket_id).await.unwrap();
    assert_eq!(t.status, TicketStatus::Open);
    assert_eq!(t.first_response_at, Some(t0() + Duration::minutes(3)));
    let sent = f.channel.sent();
    assert_eq!(
        sent.last().unwrap().to.phone.as_ref().map(|p| p.as_str()),
        Some("+5511999990005")
    );
    let note =
        f.hd.add_note(f.org.id, &agent, r.ticket_id, "cliente VIP")
            .await
            .unwrap();
    assert_eq!(note.direction, Direction::Note);
    assert_eq!(f.channel.sent().len(), sent.len(), "notes are never sent");
    let customer = Actor::Customer { id: t.contact_id };
    let seen = f.hd.messages(f.org.id, &customer, t.id).await.unwrap();
    assert!(
        seen.iter().all(|m| m.direction != Direction::Note),
        "customers do not see notes"
    );
}

#[tokio::test]
async fn failed_send_is_recorded_on_the_message_and_reported() {
    let f = fixture(1, 5).await;
    let agent = Actor::agent(f.agents[0].id);
    let r =
        f.hd.ingest(f.inbound("w1", "5511999990006", "oi"))
            .await
            .unwrap();
    f.channel.fail_next([ChannelFailure::OutsideWindow]);
    let m =
        f.hd.reply(
            f.org.id,
            &agent,
            r.ticket_id,
            MessageContent::text("tarde demais"),
        )
        .await
        .unwrap();
    assert_eq!(m.status, Some(DeliveryStatus::Failed));
    assert!(
        m.delivery_error
            .as_ref()
            .unwrap()
            .title
            .contains("OutsideWindow")
    );
    let stored = f.hd.messages(f.org.id, &agent, r.ticket_id).await.unwrap();
    assert!(
        stored
            .iter()
            .any(|x| x.id == m.id && x.status == Some(DeliveryStatus::Failed)),
        "the reply is kept, not lost"
    );
    assert!(
        f.events()
            .await
            .iter()
            .any(|e| e.kind == EventKind::MessageStatusChanged && e.payload["status"] == "failed")
    );
}

#[tokio::test]
async fn store_outage_loses_nothing_and_redelivery_stores_once() {
    let store = MemoryStore::new();
    let f = Fixture::new(Arc::new(store.clone()), 1, 5).await;
    store.set_unavailable(true);
    let e = f.hd.ingest(f.inbound("w1", "5511999990007", "oi")).await;
    // Routing lookup itself fails while the store is down: a retryable error, so the webhook
    // answers 5xx and Meta redelivers.
    assert!(e.as_ref().is_err_and(|e| e.is_retryable()), "{e:?}");
    store.set_unavailable(false);
    let a =
        f.hd.ingest(f.inbound("w1", "5511999990007", "oi"))
            .await
            .unwrap();
    let b =
        f.hd.ingest(f.inbound("w1", "5511999990007", "oi"))
            .await
            .unwrap();
    assert!(!a.duplicate && b.duplicate);
    assert_eq!(f.all_tickets().await.len(), 1);
}

#[tokio::test]
async fn create_ticket_follows_the_prd_flow() {
    let f = fixture(1, 5).await;
    let stages = f.hd.ensure_stages(f.org.id).await.unwrap();
    assert_eq!(
        stages.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["Novo", "Em Andamento", "Aguardando Cliente", "Fechado"]
    );
    let tracking = Tracking {
        utm_source: Some("google".into()),
        utm_medium: Some("cpc".into()),
        utm_campaign: Some("lead_gen".into()),
        click_ids: vec![ClickId::new(ClickIdKind::Gclid, "EAIaIQobChMI").unwrap()],
        source_type: Some(SourceType::Paid),
        ..Tracking::default()
    };
    let t =
        f.hd.create_ticket(
            f.org.id,
            &f.admin,
            NewTicket {
                deal_value: Some(Money::from_decimal(1500.00, "BRL").unwrap()),
                tracking,
                ..NewTicket::new(LeadInput {
                    name: Some("João Silva".into()),
                    phone: Some("+5511999998888".into()),
                    email: Some("joao@email.com".into()),
                    ..LeadInput::default()
                })
            },
        )
        .await
        .unwrap();
    assert_eq!(t.stage_id, Some(stages[0].id), "first stage by default");
    assert_eq!(t.deal_value.as_ref().unwrap().minor, 150_000);
    assert_eq!(
        t.tracking.click_id(ClickIdKind::Gclid),
        Some("EAIaIQobChMI")
    );
    assert_eq!(
        t.channel_account_id, f.account.id,
        "the organization's first inbox"
    );
    assert_eq!(t.queue_id, Some(f.queue.id), "the inbox's default queue");
    assert!(t.assignee_id.is_some(), "the queue assigned it");
    // The lead is found again by the 8-digit WhatsApp spelling of the same mobile.
    let c =
        f.hd.find_contact(
            f.org.id,
            &f.admin,
            &ContactKey::Phone(PhoneNumber::parse("551199998888", PhoneRegion::BR).unwrap()),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.id, t.contact_id);
    assert_eq!(c.email.as_deref(), Some("joao@email.com"));
    // Same lead again (by e-mail) while the ticket is live: refused, nothing written.
    let e =
        f.hd.create_ticket(
            f.org.id,
            &f.admin,
            NewTicket::new(LeadInput {
                email: Some("JOAO@email.com".into()),
                ..LeadInput::default()
            }),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
}

#[tokio::test]
async fn bad_input_is_a_typed_error_naming_the_field() {
    let f = fixture(1, 5).await;
    let bad = |lead: LeadInput| NewTicket::new(lead);
    let cases = [
        (
            LeadInput {
                phone: Some("123".into()),
                ..LeadInput::default()
            },
            "lead.phone",
        ),
        (
            LeadInput {
                email: Some("nope".into()),
                ..LeadInput::default()
            },
            "lead.email",
        ),
        (
            LeadInput {
                phone: Some("+5511999990009".into()),
                document: Some("111.111.111-11".into()),
                ..LeadInput::default()
            },
            "lead.document",
        ),
        (LeadInput::default(), "lead"),
    ];
    for (lead, field) in cases {
        let e =
            f.hd.create_ticket(f.org.id, &f.admin, bad(lead))
                .await
                .unwrap_err();
        assert_eq!(e.field(), Some(field), "{e}");
    }
    assert!(f.all_tickets().await.is_empty(), "nothing half-written");
    let unknown = helpdesk_core::ids::TicketId::new();
    assert_eq!(
        f.hd.resolve(f.org.id, &f.admin, unknown)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    let e =
        f.hd.ticket(helpdesk_core::ids::OrgId::new(), &Actor::System, unknown)
            .await
            .unwrap_err();
    assert!(
        matches!(
            e,
            Error::NotFound {
                entity: Entity::Organization,
                ..
            }
        ),
        "unknown tenant: {e}"
    );
    let t =
        f.hd.create_ticket(f.org.id, &f.admin, NewTicket::new(f.lead(1)))
            .await
            .unwrap();
    let e = f.hd.close(f.org.id, &f.admin, t.id).await.unwrap_err();
    assert_eq!(e.to_string(), "invalid transition from new to closed");
    assert_eq!(
        f.hd.rate(f.org.id, &Actor::System, t.id, 6, None)
            .await
            .unwrap_err()
            .field(),
        Some("rating")
    );
}

#[tokio::test]
async fn unknown_inbox_is_not_found_and_stores_nothing() {
    let f = fixture(1, 5).await;
    let mut m = f.inbound("w1", "5511999990010", "oi");
    m.account_external_id = "pn-unknown".into();
    let e = f.hd.ingest(m).await.unwrap_err();
    assert!(matches!(
        e,
        Error::NotFound {
            entity: Entity::ChannelAccount,
            ..
        }
    ));
    assert!(f.all_tickets().await.is_empty());
}

#[tokio::test]
async fn whatsapp_user_id_without_phone_makes_a_contact_that_a_later_phone_joins() {
    let f = fixture(1, 5).await;
    let mut m = f.inbound("w1", "x", "oi");
    m.from = InboundSender {
        phone: None,
        whatsapp_id: Some("BR.123abc".into()),
        name: Some("Ana".into()),
        ..InboundSender::default()
    };
    let a = f.hd.ingest(m).await.unwrap();
    let mut m2 = f.inbound("w2", "5511999990011", "meu número");
    m2.from.whatsapp_id = Some("BR.123abc".into());
    let b = f.hd.ingest(m2).await.unwrap();
    assert_eq!(a.ticket_id, b.ticket_id);
    let c =
        f.hd.find_contact(
            f.org.id,
            &f.admin,
            &ContactKey::WhatsappId("BR.123abc".into()),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.phone.as_ref().map(|p| p.as_str()), Some("+5511999990011"));
    assert_eq!(c.name.as_deref(), Some("Ana"));
}

#[tokio::test]
async fn transfer_moves_the_ticket_and_the_new_queue_assigns_it() {
    let f = fixture(1, 5).await;
    let fin = queue_with(&f, "Financeiro", None, AutoReplies::default()).await;
    let fin_agent =
        f.hd.create_agent(
            f.org.id,
            &f.admin,
            NewAgent {
                name: "Fin".into(),
                email: "fin@example.com".into(),
                role: Role::Agent,
                capacity: 3,
                presence: Presence::Online,
            },
        )
        .await
        .unwrap();
    f.hd.add_queue_member(f.org.id, &f.admin, fin.id, fin_agent.id, vec![])
        .await
        .unwrap();
    let r =
        f.hd.ingest(f.inbound("w1", "5511999990012", "quero pagar"))
            .await
            .unwrap();
    let before = f.hd.ticket(f.org.id, &f.admin, r.ticket_id).await.unwrap();
    assert_eq!(before.assignee_id, Some(f.agents[0].id));
    let t =
        f.hd.transfer(f.org.id, &f.admin, r.ticket_id, fin.id)
            .await
            .unwrap();
    assert_eq!(t.queue_id, Some(fin.id));
    assert_eq!(t.assignee_id, Some(fin_agent.id));
    let agents = f.hd.agents(f.org.id).await.unwrap();
    assert_eq!(
        agents
            .iter()
            .find(|a| a.id == f.agents[0].id)
            .unwrap()
            .open_tickets,
        0,
        "load released"
    );
    assert_eq!(
        agents
            .iter()
            .find(|a| a.id == fin_agent.id)
            .unwrap()
            .open_tickets,
        1
    );
    let cycles =
        f.hd.assignment_cycles(f.org.id, &f.admin, t.id)
            .await
            .unwrap();
    assert_eq!(cycles.len(), 2);
    assert!(cycles[0].finished_at.is_some() && cycles[0].agent_id == Some(f.agents[0].id));
    assert_eq!(cycles[1].queue_id, Some(fin.id));
}

#[tokio::test]
async fn merge_moves_messages_and_closes_the_source_as_merged() {
    let f = fixture(1, 10).await;
    let a =
        f.hd.ingest(f.inbound("w1", "5511999990013", "primeiro"))
            .await
            .unwrap();
    let email =
        f.hd.add_channel_account(
            f.org.id,
            &f.admin,
            NewChannelAccount {
                kind: ChannelKind::Email,
                external_id: "suporte@example.com".into(),
                name: "E-mail".into(),
                default_queue_id: Some(f.queue.id),
            },
        )
        .await
        .unwrap();
    let b =
        f.hd.create_ticket(
            f.org.id,
            &f.admin,
            NewTicket {
                channel_account_id: Some(email.id),
                ..NewTicket::new(LeadInput {
                    phone: Some("+5511999990013".into()),
                    ..LeadInput::default()
                })
            },
        )
        .await
        .unwrap();
    f.hd.add_note(f.org.id, &f.admin, b.id, "duplicado")
        .await
        .unwrap();
    let target =
        f.hd.merge(f.org.id, &f.admin, b.id, a.ticket_id)
            .await
            .unwrap();
    let source = f.hd.ticket(f.org.id, &f.admin, b.id).await.unwrap();
    assert_eq!(source.status, TicketStatus::Closed);
    assert_eq!(source.merged_into, Some(target.id));
    let msgs = f.hd.messages(f.org.id, &f.admin, target.id).await.unwrap();
    assert!(
        msgs.iter()
            .any(|m| m.content == MessageContent::text("duplicado"))
    );
    assert!(
        f.hd.messages(f.org.id, &f.admin, source.id)
            .await
            .unwrap()
            .is_empty()
    );
    let agent =
        f.hd.agents(f.org.id)
            .await
            .unwrap()
            .into_iter()
            .find(|x| x.id == f.agents[0].id)
            .unwrap();
    assert_eq!(agent.open_tickets, 1, "the merged ticket no longer counts");
    assert!(
        f.hd.merge(f.org.id, &f.admin, target.id, target.id)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn rating_after_resolution_is_kept_on_the_ticket_and_its_cycle() {
    let f = fixture(1, 5).await;
    let r =
        f.hd.ingest(f.inbound("w1", "5511999990014", "oi"))
            .await
            .unwrap();
    let contact =
        f.hd.ticket(f.org.id, &f.admin, r.ticket_id)
            .await
            .unwrap()
            .contact_id;
    let customer = Actor::Customer { id: contact };
    assert_eq!(
        f.hd.rate(f.org.id, &customer, r.ticket_id, 5, None)
            .await
            .unwrap_err()
            .field(),
        Some("status")
    );
    f.hd.resolve(f.org.id, &f.admin, r.ticket_id).await.unwrap();
    let t =
        f.hd.rate(f.org.id, &customer, r.ticket_id, 4, Some("rápido".into()))
            .await
            .unwrap();
    assert_eq!(t.rating.as_ref().unwrap().score, 4);
    let cycles =
        f.hd.assignment_cycles(f.org.id, &f.admin, t.id)
            .await
            .unwrap();
    assert_eq!(cycles.last().unwrap().rating, Some(4));
    let other = Actor::Customer {
        id: helpdesk_core::ids::ContactId::new(),
    };
    assert_eq!(
        f.hd.rate(f.org.id, &other, t.id, 1, None)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Forbidden
    );
}

#[tokio::test]
async fn classification_validates_the_pair_and_routes_to_the_mapped_queue() {
    let f = fixture(1, 5).await;
    let fin = queue_with(&f, "Financeiro", None, AutoReplies::default()).await;
    f.hd.map_setor_to_queue(f.org.id, &f.admin, "financeiro", Some(fin.id))
        .await
        .unwrap();
    let r =
        f.hd.ingest(f.inbound("w1", "5511999990015", "paguei"))
            .await
            .unwrap();
    let bot = Actor::bot("assistente-financeiro");
    let e =
        f.hd.classify(f.org.id, &bot, r.ticket_id, "FINANCEIRO", "SEM CONEXÃO")
            .await
            .unwrap_err();
    match e {
        Error::InvalidClassification { allowed, .. } => {
            assert!(allowed.contains(&"INFORMAR PAGAMENTO".to_owned()))
        }
        e => panic!("{e}"),
    }
    let t =
        f.hd.classify(
            f.org.id,
            &bot,
            r.ticket_id,
            "financeiro",
            "informar pagamento",
        )
        .await
        .unwrap();
    let c = t.classification.unwrap();
    assert_eq!(
        (c.setor.as_str(), c.motivo.as_str()),
        ("FINANCEIRO", "INFORMAR PAGAMENTO")
    );
    assert_eq!(t.queue_id, Some(fin.id));
    // A tenant catalogue replaces the default.
    let custom = Catalogue::new(vec![helpdesk_core::domain::catalogue::Setor {
        name: "Vendas".into(),
        motivos: vec!["Orçamento".into()],
        queue_id: None,
    }])
    .unwrap();
    f.hd.set_catalogue(f.org.id, &f.admin, custom)
        .await
        .unwrap();
    assert!(
        f.hd.classify(f.org.id, &bot, r.ticket_id, "FINANCEIRO", "PAGAMENTO")
            .await
            .is_err()
    );
    assert!(
        f.hd.classify(f.org.id, &bot, r.ticket_id, "vendas", "orcamento")
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn canned_reply_fills_variables_and_refuses_missing_ones() {
    let f = fixture(1, 5).await;
    let agent = Actor::agent(f.agents[0].id);
    f.hd.create_canned_response(
        f.org.id,
        &f.admin,
        "/thanks",
        "Obrigado",
        "Obrigado {{customer_name}}! Ticket #{{ticket_number}}, {{agent_name}}.",
        None,
    )
    .await
    .unwrap();
    f.hd.create_canned_response(
        f.org.id,
        &f.admin,
        "promo",
        "Promo",
        "Use o cupom {{cupom}}",
        None,
    )
    .await
    .unwrap();
    assert!(
        f.hd.create_canned_response(f.org.id, &f.admin, "THANKS", "dup", "x", None)
            .await
            .is_err(),
        "shortcut unique after normalizing"
    );
    let r =
        f.hd.ingest(f.inbound("w1", "5511999990016", "oi"))
            .await
            .unwrap();
    let m =
        f.hd.reply_canned(f.org.id, &agent, r.ticket_id, "/thanks", BTreeMap::new())
            .await
            .unwrap();
    assert_eq!(
        m.content,
        MessageContent::text("Obrigado Cliente! Ticket #1, Agent 0.")
    );
    let e =
        f.hd.reply_canned(f.org.id, &agent, r.ticket_id, "/promo", BTreeMap::new())
            .await
            .unwrap_err();
    assert_eq!(e.allowed_values(), ["cupom"]);
    let sent_before = f.channel.sent().len();
    let vars = BTreeMap::from([("cupom".to_owned(), "BEMVINDO".to_owned())]);
    f.hd.reply_canned(f.org.id, &agent, r.ticket_id, "promo", vars)
        .await
        .unwrap();
    assert_eq!(f.channel.sent().len(), sent_before + 1);
}

#[tokio::test]
async fn audit_trail_names_the_actor_of_every_change() {
    let f = fixture(1, 5).await;
    let agent = Actor::agent(f.agents[0].id);
    let r =
        f.hd.ingest(f.inbound("w1", "5511999990017", "oi"))
            .await
            .unwrap();
    f.hd.update_ticket(
        f.org.id,
        &agent,
        r.ticket_id,
        TicketPatch {
            priority: Some(helpdesk_core::domain::ticket::Priority::High),
            ..TicketPatch::default()
        },
    )
    .await
    .unwrap();
    f.hd.resolve(f.org.id, &f.admin, r.ticket_id).await.unwrap();
    let trail =
        f.hd.audit_trail(f.org.id, &f.admin, r.ticket_id)
            .await
            .unwrap();
    let who: Vec<(String, Actor)> = trail.into_iter().map(|a| (a.action, a.actor)).collect();
    assert!(who.contains(&("ticket.create".into(), Actor::System)));
    assert!(who.contains(&("ticket.assign".into(), Actor::System)));
    assert!(who.contains(&("ticket.update".into(), agent.clone())));
    assert!(who.contains(&("ticket.status".into(), f.admin.clone())));
}

#[tokio::test]
async fn board_shows_live_tickets_per_stage() {
    let f = fixture(2, 10).await;
    let stages = f.hd.ensure_stages(f.org.id).await.unwrap();
    for i in 0..3 {
        f.hd.create_ticket(
            f.org.id,
            &f.admin,
            NewTicket {
                stage_id: Some(stages[i % 2].id),
                ..NewTicket::new(f.lead(i))
            },
        )
        .await
        .unwrap();
    }
    let board = f.hd.board(f.org.id, &f.admin).await.unwrap();
    let counts: Vec<u64> = board.iter().map(|c| c.total).collect();
    assert_eq!(counts, [2, 1, 0, 0]);
}

#[tokio::test]
async fn distribute_queue_serves_urgent_then_vip_then_oldest() {
    let f = fixture(1, 10).await;
    let sys = Actor::System;
    f.hd.set_presence(f.org.id, &sys, f.agents[0].id, Presence::Offline)
        .await
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..3 {
        f.clock.advance(Duration::minutes(1));
        ids.push(
            f.hd.create_ticket(f.org.id, &sys, NewTicket::new(f.lead(i)))
                .await
                .unwrap(),
        );
    }
    f.hd.update_ticket(
        f.org.id,
        &sys,
        ids[2].id,
        TicketPatch {
            priority: Some(helpdesk_core::domain::ticket::Priority::Urgent),
            ..TicketPatch::default()
        },
    )
    .await
    .unwrap();
    f.hd.update_contact(
        f.org.id,
        &sys,
        ids[1].contact_id,
        ContactPatch {
            vip: Some(true),
            ..ContactPatch::default()
        },
    )
    .await
    .unwrap();
    f.hd.set_presence(f.org.id, &sys, f.agents[0].id, Presence::Online)
        .await
        .unwrap();
    let order: Vec<u64> =
        f.hd.distribute_queue(f.org.id, f.queue.id)
            .await
            .unwrap()
            .iter()
            .map(|t| t.number)
            .collect();
    assert_eq!(order, [3, 2, 1]);
}

#[tokio::test]
async fn an_external_protocol_is_counted_in_characters() {
    let f = fixture(1, 5).await;
    let r =
        f.hd.ingest(f.inbound("w1", "5511999990018", "oi"))
            .await
            .unwrap();
    let set = |p: String| TicketPatch {
        external_protocol: Some(p),
        ..TicketPatch::default()
    };
    // 64 characters of two bytes each: within the limit the error message states.
    let accented = "ç".repeat(64);
    let t =
        f.hd.update_ticket(f.org.id, &f.admin, r.ticket_id, set(accented.clone()))
            .await
            .unwrap();
    assert_eq!(t.external_protocol, Some(accented));
    let long =
        f.hd.update_ticket(f.org.id, &f.admin, r.ticket_id, set("9".repeat(65)))
            .await;
    assert!(
        matches!(&long, Err(helpdesk_core::Error::Invalid { field, .. }) if field == "external_protocol"),
        "{long:?}"
    );
}
