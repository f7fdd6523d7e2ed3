//! The store conformance suite: one set of cases every [`Store`] must pass, the concurrency
//! cases included. Run it from a store's tests with [`store_conformance_tests!`](crate::store_conformance_tests):
//!
//! ```ignore
//! helpdesk_core::store_conformance_tests!(async { std::sync::Arc::new(MyStore::connect().await) });
//! ```
//!
//! Every case creates its own organizations, so cases can share one database. Cases panic with
//! a message naming the broken guarantee.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::actor::Actor;
use crate::channel::{InboundMessage, InboundSender, InboundStatus};
use crate::clock::ManualClock;
use crate::domain::message::{DeliveryStatus, Direction, MessageContent};
use crate::domain::party::{
    ChannelAccount, ChannelKind, Contact, ContactKey, Conversation, Organization,
};
use crate::domain::phone::{PhoneNumber, PhoneRegion};
use crate::domain::records::EventKind;
use crate::domain::team::{Agent, AutoReplies, Distribution, Presence, Queue, Role};
use crate::domain::ticket::{Money, TicketStatus};
use crate::domain::tracking::{ClickId, ClickIdKind, SourceType, Tracking};
use crate::ids::*;
use crate::memory::RecordingChannel;
use crate::service::*;
use crate::store::query::{AssigneeFilter, TicketQuery};
use crate::store::{InboundFastPath, Outbox, Reporting, SlaSchedule, Store, StoreCore};
use crate::{Entity, Error, Helpdesk};
use chrono::{DateTime, Duration, TimeZone, Utc};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

mod reports;
mod sla;
pub use reports::*;
pub use sla::*;

/// A tenant set up for a case: an admin, one WhatsApp inbox, one queue with agents.
pub struct Fixture {
    pub hd: Helpdesk,
    pub channel: Arc<RecordingChannel>,
    pub clock: Arc<ManualClock>,
    pub org: Organization,
    pub admin: Actor,
    pub account: ChannelAccount,
    pub queue: Queue,
    pub agents: Vec<Agent>,
}

/// 2026-03-02 12:00 UTC, a Monday.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap()
}

impl Fixture {
    /// A tenant with `agents` online agents of `capacity` in one round-robin queue with a greeting.
    pub async fn new(store: Arc<dyn Store>, agents: usize, capacity: u32) -> Fixture {
        Fixture::with(store, agents, capacity, 1).await
    }

    pub async fn with(
        store: Arc<dyn Store>,
        agents: usize,
        capacity: u32,
        first_number: u64,
    ) -> Fixture {
        let channel = Arc::new(RecordingChannel::new());
        let clock = Arc::new(ManualClock::new(t0()));
        let hd = Helpdesk::new(store, channel.clone(), clock.clone());
        let mut new_org = NewOrganization::brazil(format!("conformance {}", uuid::Uuid::now_v7()));
        new_org.first_ticket_number = first_number;
        let org = hd.create_organization(new_org).await.unwrap();
        let sys = Actor::System;
        let admin_agent = hd
            .create_agent(
                org.id,
                &sys,
                NewAgent {
                    name: "Admin".into(),
                    email: "admin@example.com".into(),
                    role: Role::Admin,
                    capacity: 1,
                    presence: Presence::Offline,
                },
            )
            .await
            .unwrap();
        let admin = Actor::agent(admin_agent.id);
        let queue = hd
            .create_queue(
                org.id,
                &admin,
                NewQueue {
                    auto_replies: AutoReplies {
                        greeting: Some("Olá {{customer_name}}, ticket #{{ticket_number}}".into()),
                        ..AutoReplies::default()
                    },
                    distribution: Distribution::RoundRobin,
                    ..NewQueue::new("Suporte")
                },
            )
            .await
            .unwrap();
        let account = hd
            .add_channel_account(
                org.id,
                &admin,
                NewChannelAccount {
                    kind: ChannelKind::Whatsapp,
                    external_id: format!("pn-{}", uuid::Uuid::now_v7()),
                    name: "WhatsApp".into(),
                    default_queue_id: Some(queue.id),
                },
            )
            .await
            .unwrap();
        let mut list = Vec::new();
        for i in 0..agents {
            let a = hd
                .create_agent(
                    org.id,
                    &admin,
                    NewAgent {
                        name: format!("Agent {i}"),
                        email: format!("agent{i}@example.com"),
                        role: Role::Agent,
                        capacity,
                        presence: Presence::Online,
                    },
                )
                .await
                .unwrap();
            hd.add_queue_member(org.id, &admin, queue.id, a.id, vec![])
                .await
                .unwrap();
            list.push(a);
        }
        Fixture {
            hd,
            channel,
            clock,
            org,
            admin,
            account,
            queue,
            agents: list,
        }
    }

    /// A text message from `phone`, sent at the fixture clock's instant.
    pub fn inbound(&self, external_id: &str, phone: &str, text: &str) -> InboundMessage {
        InboundMessage {
            channel: ChannelKind::Whatsapp,
            account_external_id: self.account.external_id.clone(),
            external_id: external_id.to_owned(),
            from: InboundSender {
                phone: Some(phone.to_owned()),
                whatsapp_id: None,
                email: None,
                name: Some("Cliente".into()),
                visitor_id: None,
            },
            content: MessageContent::text(text),
            sent_at: crate::clock::Clock::now(&*self.clock),
            reply_to_external_id: None,
            tracking: None,
        }
    }

    /// A message as WhatsApp delivers it: the sender's `wa_id` is both its WhatsApp id and
    /// its phone, with a profile name.
    pub fn whatsapp(&self, external_id: &str, wa_id: &str, text: &str) -> InboundMessage {
        let mut m = self.inbound(external_id, wa_id, text);
        m.from.whatsapp_id = Some(wa_id.to_owned());
        m
    }

    /// A ticket opened by the system for lead `i`.
    pub async fn open_ticket(&self, i: usize) -> crate::domain::ticket::Ticket {
        self.try_open_ticket(i).await.unwrap()
    }

    /// [`open_ticket`](Self::open_ticket), handing back the error.
    pub async fn try_open_ticket(&self, i: usize) -> crate::Result<crate::domain::ticket::Ticket> {
        self.hd
            .create_ticket(self.org.id, &Actor::System, NewTicket::new(self.lead(i)))
            .await
    }

    pub fn lead(&self, i: usize) -> LeadInput {
        LeadInput {
            name: Some(format!("Lead {i}")),
            phone: Some(format!("+55119{i:08}")),
            ..LeadInput::default()
        }
    }

    pub async fn all_tickets(&self) -> Vec<crate::store::query::TicketSummary> {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .hd
                .list_tickets(
                    self.org.id,
                    &Actor::System,
                    ListTickets {
                        cursor,
                        page_size: Some(100),
                        ..ListTickets::default()
                    },
                )
                .await
                .unwrap();
            out.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return out,
            }
        }
    }

    pub async fn events(&self) -> Vec<crate::domain::records::Event> {
        self.hd.events(self.org.id, None, 1000).await.unwrap()
    }
}

pub async fn same_inbound_message_delivered_50_times_at_once_is_stored_once(store: Arc<dyn Store>) {
    let f = Fixture::new(store, 2, 10).await;
    let msg = f.inbound("wamid.SAME", "5511999998888", "oi");
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let hd = f.hd.clone();
        let m = msg.clone();
        tasks.push(tokio::spawn(async move { hd.ingest(m).await }));
    }
    let mut fresh = 0;
    let mut tickets = HashSet::new();
    for t in tasks {
        let r = t.await.unwrap().expect("every delivery is acknowledged");
        fresh += usize::from(!r.duplicate);
        tickets.insert(r.ticket_id);
    }
    assert_eq!(fresh, 1, "exactly one delivery stores the message");
    assert_eq!(tickets.len(), 1, "every delivery reports the same ticket");
    let ticket = *tickets.iter().next().unwrap();
    let msgs =
        f.hd.messages(f.org.id, &Actor::System, ticket)
            .await
            .unwrap();
    assert_eq!(
        msgs.iter()
            .filter(|m| m.direction == Direction::Inbound)
            .count(),
        1,
        "one inbound message stored"
    );
    assert_eq!(f.channel.sent().len(), 1, "the greeting is sent once");
    let ev = f.events().await;
    assert_eq!(
        ev.iter()
            .filter(|e| e.kind == EventKind::TicketCreated)
            .count(),
        1,
        "ticket.created once"
    );
    assert_eq!(
        ev.iter()
            .filter(|e| e.kind == EventKind::MessageAdded && e.payload["direction"] == "inbound")
            .count(),
        1,
        "message.added once"
    );
    assert_eq!(
        ev.iter()
            .filter(|e| e.kind == EventKind::TicketAssigned)
            .count(),
        1,
        "assigned once"
    );
}

pub async fn fifty_messages_from_a_new_contact_at_once_make_one_contact_and_one_ticket(
    store: Arc<dyn Store>,
) {
    let f = Fixture::new(store, 2, 10).await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let hd = f.hd.clone();
        // Half the deliveries spell the number without the ninth digit, as old WhatsApp ids do.
        let phone = if i % 2 == 0 {
            "5511987654321"
        } else {
            "551187654321"
        };
        let m = f.inbound(&format!("wamid.{i}"), phone, &format!("mensagem {i}"));
        tasks.push(tokio::spawn(async move { hd.ingest(m).await }));
    }
    let mut tickets = HashSet::new();
    let mut created = 0;
    for t in tasks {
        let r = t.await.unwrap().expect("ingest succeeds");
        assert!(!r.duplicate);
        created += usize::from(r.created_ticket);
        tickets.insert(r.ticket_id);
    }
    assert_eq!(tickets.len(), 1, "one ticket for the conversation");
    assert_eq!(created, 1, "one ticket created");
    let all = f.all_tickets().await;
    assert_eq!(all.len(), 1, "one ticket in the tenant");
    let phone = PhoneNumber::parse("+5511987654321", PhoneRegion::BR).unwrap();
    let contact =
        f.hd.find_contact(f.org.id, &f.admin, &ContactKey::Phone(phone))
            .await
            .unwrap()
            .expect("contact exists");
    let short = PhoneNumber::parse("+551187654321", PhoneRegion::BR).unwrap();
    let again =
        f.hd.find_contact(f.org.id, &f.admin, &ContactKey::Phone(short))
            .await
            .unwrap()
            .expect("found by the 8-digit spelling");
    assert_eq!(contact.id, again.id, "one contact for both spellings");
    let msgs =
        f.hd.messages(f.org.id, &Actor::System, *tickets.iter().next().unwrap())
            .await
            .unwrap();
    assert_eq!(
        msgs.iter()
            .filter(|m| m.direction == Direction::Inbound)
            .count(),
        50,
        "every message stored"
    );
}

pub async fn round_robin_over_1000_tickets_from_8_tasks_is_exact(store: Arc<dyn Store>) {
    let f = Arc::new(Fixture::new(store, 5, 250).await);
    let mut tasks = Vec::new();
    for w in 0..8usize {
        let f = f.clone();
        tasks.push(tokio::spawn(async move {
            for i in (w..1000).step_by(8) {
                f.open_ticket(i).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let all = f.all_tickets().await;
    assert_eq!(all.len(), 1000);
    let mut per: HashMap<AgentId, usize> = HashMap::new();
    for s in &all {
        *per.entry(s.ticket.assignee_id.expect("every ticket assigned"))
            .or_default() += 1;
    }
    let agents = f.hd.agents(f.org.id).await.unwrap();
    for a in agents.iter().filter(|a| a.role == Role::Agent) {
        let n = per.get(&a.id).copied().unwrap_or(0);
        assert!(
            (199..=201).contains(&n),
            "agent got {n} tickets, expected 200 ± 1"
        );
        assert_eq!(
            a.open_tickets as usize, n,
            "open-ticket count kept with the assignments"
        );
        assert!(a.open_tickets <= a.capacity, "never over capacity");
    }
}

pub async fn assignment_never_exceeds_capacity(store: Arc<dyn Store>) {
    let f = Arc::new(Fixture::new(store, 3, 2).await);
    let mut tasks = Vec::new();
    for i in 0..10usize {
        let f = f.clone();
        tasks.push(tokio::spawn(async move { f.try_open_ticket(i).await }));
    }
    for t in tasks {
        t.await.unwrap().expect("create ticket");
    }
    let all = f.all_tickets().await;
    assert_eq!(
        all.iter()
            .filter(|s| s.ticket.assignee_id.is_some())
            .count(),
        6,
        "3 agents × capacity 2"
    );
    assert_eq!(
        all.iter()
            .filter(|s| s.ticket.assignee_id.is_none())
            .count(),
        4,
        "the rest wait"
    );
    let waiting = all
        .iter()
        .find(|s| s.ticket.assignee_id.is_none())
        .unwrap()
        .ticket
        .id;
    let e =
        f.hd.assign(f.org.id, &f.admin, waiting, f.agents[0].id)
            .await
            .unwrap_err();
    assert_eq!(
        e.field(),
        Some("assigneeId"),
        "manual assignment over capacity is refused: {e}"
    );
    for a in
        f.hd.agents(f.org.id)
            .await
            .unwrap()
            .iter()
            .filter(|a| a.role == Role::Agent)
    {
        assert_eq!(a.open_tickets, 2);
    }
}

pub async fn ticket_numbers_are_unique_increasing_and_gap_free_per_tenant(store: Arc<dyn Store>) {
    let a = Arc::new(Fixture::with(store.clone(), 0, 1, 1).await);
    let b = Arc::new(Fixture::with(store, 0, 1, 1001).await);
    let mut tasks = Vec::new();
    for w in 0..8usize {
        for f in [a.clone(), b.clone()] {
            tasks.push(tokio::spawn(async move {
                for i in (w..100).step_by(8) {
                    f.open_ticket(i).await;
                }
            }));
        }
    }
    // Lost races must not burn numbers: a concurrent duplicate create for one lead fails.
    for t in tasks {
        t.await.unwrap();
    }
    let dup = a.try_open_ticket(0).await;
    assert!(
        matches!(
            dup,
            Err(Error::AlreadyExists {
                entity: Entity::Ticket,
                ..
            })
        ),
        "second live ticket for one conversation is refused: {dup:?}"
    );
    for (f, first) in [(&a, 1u64), (&b, 1001u64)] {
        let mut nums: Vec<u64> = f
            .all_tickets()
            .await
            .iter()
            .map(|s| s.ticket.number)
            .collect();
        nums.sort_unstable();
        assert_eq!(
            nums,
            (first..first + 100).collect::<Vec<_>>(),
            "numbers are {first}..{} with no gap",
            first + 99
        );
    }
    let next = a.open_ticket(500).await;
    assert_eq!(next.number, 101, "the refused create did not burn a number");
}

pub async fn another_tenants_ids_are_not_found(store: Arc<dyn Store>) {
    let a = Fixture::new(store.clone(), 1, 5).await;
    let b = Fixture::new(store.clone(), 1, 5).await;
    let ing =
        a.hd.ingest(a.inbound("wamid.A1", "5511911112222", "oi"))
            .await
            .unwrap();
    assert_eq!(ing.org_id, a.org.id);
    let ticket =
        a.hd.ticket(a.org.id, &Actor::System, ing.ticket_id)
            .await
            .unwrap();
    let mut tx = store.begin(b.org.id).await.unwrap();
    assert!(
        matches!(tx.ticket(ticket.id).await, Err(Error::NotFound { .. })),
        "ticket"
    );
    assert!(
        matches!(
            tx.contact(ticket.contact_id).await,
            Err(Error::NotFound { .. })
        ),
        "contact"
    );
    assert!(
        matches!(
            tx.conversation(ticket.conversation_id).await,
            Err(Error::NotFound { .. })
        ),
        "conversation"
    );
    assert!(
        matches!(tx.queue(a.queue.id).await, Err(Error::NotFound { .. })),
        "queue"
    );
    assert!(
        matches!(tx.agent(a.agents[0].id).await, Err(Error::NotFound { .. })),
        "agent"
    );
    assert!(
        matches!(
            tx.message(ing.message_id).await,
            Err(Error::NotFound { .. })
        ),
        "message"
    );
    assert!(
        matches!(
            tx.channel_account(a.account.id).await,
            Err(Error::NotFound { .. })
        ),
        "channel account"
    );
    assert!(
        tx.ticket_by_number(ticket.number)
            .await
            .unwrap()
            .is_none_or(|t| t.org_id == b.org.id),
        "number lookup stays in tenant"
    );
    assert!(
        tx.message_by_external_id(a.account.id, "wamid.A1")
            .await
            .unwrap()
            .is_none(),
        "external id lookup"
    );
    assert!(
        tx.messages(ticket.id).await.unwrap().is_empty(),
        "messages of a foreign ticket"
    );
    assert!(
        tx.find_contact(&ContactKey::Phone(
            PhoneNumber::parse("+5511911112222", PhoneRegion::BR).unwrap()
        ))
        .await
        .unwrap()
        .is_none(),
        "contact by phone"
    );
    assert!(
        tx.queue_members(a.queue.id).await.unwrap().is_empty(),
        "members"
    );
    assert!(
        tx.events(None, 1000)
            .await
            .unwrap()
            .iter()
            .all(|e| e.org_id == b.org.id),
        "events"
    );
    let page = tx
        .list_tickets(&TicketQuery {
            limit: 100,
            ..TicketQuery::default()
        })
        .await
        .unwrap();
    assert!(page.items.is_empty(), "listing shows no foreign ticket");
    assert!(
        tx.live_ticket(ticket.conversation_id)
            .await
            .unwrap()
            .is_none(),
        "live ticket of a foreign conversation"
    );
    assert!(
        tx.find_conversation(ticket.contact_id, a.account.id)
            .await
            .unwrap()
            .is_none(),
        "conversation by foreign contact and inbox"
    );
    assert!(
        tx.waiting_tickets(a.queue.id).await.unwrap().is_empty(),
        "waiting tickets of a foreign queue"
    );
    assert!(
        tx.agent_queues(a.agents[0].id).await.unwrap().is_empty(),
        "queues of a foreign agent"
    );
    assert!(tx.sales(ticket.id).await.unwrap().is_empty(), "sales");
    assert!(tx.cycles(ticket.id).await.unwrap().is_empty(), "cycles");
    assert!(
        tx.audit_trail(ticket.id).await.unwrap().is_empty(),
        "audit trail"
    );
    assert!(
        tx.tickets_due_for_sla(t0() + Duration::days(3650), 1000)
            .await
            .unwrap()
            .iter()
            .all(|t| t.org_id == b.org.id),
        "SLA scan stays in tenant"
    );
    // Writes naming another tenant's rows fail too.
    let mut moved = ticket.clone();
    moved.version += 1;
    assert!(
        matches!(tx.update_ticket(&moved).await, Err(Error::NotFound { .. })),
        "update of a foreign ticket"
    );
    drop(tx);
    // Through the service: B's admin cannot touch A's ticket, and A's agent is unknown in B.
    assert!(matches!(
        b.hd.resolve(b.org.id, &b.admin, ticket.id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        b.hd.ticket(b.org.id, &Actor::agent(a.agents[0].id), ticket.id)
            .await,
        Err(Error::NotFound { .. } | Error::Forbidden { .. })
    ));
    assert!(matches!(
        b.hd.assign(b.org.id, &b.admin, ticket.id, a.agents[0].id)
            .await,
        Err(Error::NotFound { .. })
    ));
    // An unknown organization is not found either.
    assert!(matches!(
        store.begin(OrgId::new()).await,
        Err(Error::NotFound { .. })
    ));
}

pub async fn dropped_transaction_leaves_no_trace(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone(), 0, 1).await;
    {
        let mut tx = store.begin(f.org.id).await.unwrap();
        let n = tx.next_ticket_number().await.unwrap();
        assert_eq!(n, 1);
        let c = Contact {
            id: ContactId::new(),
            org_id: f.org.id,
            name: Some("Ghost".into()),
            phone: Some(PhoneNumber::parse("+5511900000001", PhoneRegion::BR).unwrap()),
            whatsapp_id: None,
            email: None,
            visitor_id: None,
            document: None,
            vip: false,
            attributes: BTreeMap::new(),
            created_at: t0(),
            updated_at: t0(),
        };
        tx.insert_contact(&c).await.unwrap();
        // dropped here without commit
    }
    let mut tx = store.begin(f.org.id).await.unwrap();
    assert!(
        tx.find_contact(&ContactKey::Phone(
            PhoneNumber::parse("+5511900000001", PhoneRegion::BR).unwrap()
        ))
        .await
        .unwrap()
        .is_none(),
        "contact rolled back"
    );
    assert_eq!(
        tx.next_ticket_number().await.unwrap(),
        1,
        "number given back"
    );
}

/// Every business key the contract makes unique answers `AlreadyExists` naming the same
/// entity and key on every store, with the store's own error as its source; the taken key is
/// not a lost race, so it is not retryable.
pub async fn taken_keys_name_the_same_entity_on_every_store(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone(), 1, 5).await;
    let (org, admin) = (f.org.id, &f.admin);
    let t = f.open_ticket(1).await;
    f.hd.create_category(org, admin, "Cobrança", None, None, None)
        .await
        .unwrap();
    f.hd.create_canned_response(org, admin, "/ola", "Olá", "Olá!", None)
        .await
        .unwrap();
    f.hd.create_sla_policy(
        org,
        admin,
        NewSlaPolicy::new(
            "Padrão",
            crate::sla::SlaTargets::NONE
                .with_first_response(Duration::hours(1))
                .with_next_response(Duration::hours(4))
                .with_resolution(Duration::hours(8)),
        ),
    )
    .await
    .unwrap();
    let taken = |r: crate::Result<()>, entity: Entity, key: &str| match r {
        Err(
            ref e @ Error::AlreadyExists {
                entity: got,
                key: k,
                source: Some(_),
                ..
            },
        ) if got == entity && k == key && !e.is_retryable() => {}
        other => panic!("{entity} {key}: {other:?}"),
    };
    let mut tx = store.begin(org).await.unwrap();
    let mut account = tx.channel_account(f.account.id).await.unwrap();
    account.id = ChannelAccountId::new();
    taken(
        tx.insert_channel_account(&account).await,
        Entity::ChannelAccount,
        "external_id",
    );
    drop(tx);
    let mut tx = store.begin(org).await.unwrap();
    let conv = tx.conversation(t.conversation_id).await.unwrap();
    let mut contact = tx.contact(conv.contact_id).await.unwrap();
    contact.id = ContactId::new();
    taken(tx.insert_contact(&contact).await, Entity::Contact, "phone");
    drop(tx);
    let mut tx = store.begin(org).await.unwrap();
    let mut again = conv.clone();
    again.id = ConversationId::new();
    taken(
        tx.insert_conversation(&again).await,
        Entity::Conversation,
        "contact and inbox",
    );
    drop(tx);
    let mut tx = store.begin(org).await.unwrap();
    let mut numbered = tx.ticket(t.id).await.unwrap();
    numbered.id = TicketId::new();
    numbered.status = TicketStatus::Closed;
    taken(tx.insert_ticket(&numbered).await, Entity::Ticket, "number");
    drop(tx);
    let mut tx = store.begin(org).await.unwrap();
    let mut stage = tx.stages().await.unwrap().remove(0);
    stage.id = StageId::new();
    stage.position += 100;
    taken(tx.insert_stage(&stage).await, Entity::Stage, "name");
    drop(tx);
    let mut tx = store.begin(org).await.unwrap();
    let mut category = tx.categories().await.unwrap().remove(0);
    category.id = CategoryId::new();
    taken(
        tx.insert_category(&category).await,
        Entity::Category,
        "name",
    );
    drop(tx);
    let mut tx = store.begin(org).await.unwrap();
    let mut queue = tx.queue(f.queue.id).await.unwrap();
    queue.id = QueueId::new();
    taken(tx.insert_queue(&queue).await, Entity::Queue, "name");
    drop(tx);
    let mut tx = store.begin(org).await.unwrap();
    let mut agent = tx.agent(f.agents[0].id).await.unwrap();
    agent.id = AgentId::new();
    taken(tx.insert_agent(&agent).await, Entity::Agent, "email");
    drop(tx);
    let mut tx = store.begin(org).await.unwrap();
    let mut canned = tx.canned_responses().await.unwrap().remove(0);
    canned.id = CannedResponseId::new();
    taken(
        tx.insert_canned(&canned).await,
        Entity::CannedResponse,
        "shortcut",
    );
    drop(tx);
    let mut tx = store.begin(org).await.unwrap();
    let mut policy = tx.sla_policies().await.unwrap().remove(0);
    policy.id = SlaPolicyId::new();
    policy.is_default = false;
    taken(
        tx.insert_sla_policy(&policy).await,
        Entity::SlaPolicy,
        "name",
    );
    drop(tx);
    // Names compare without case in every script, not only ASCII: "PÓS-VENDA" is taken by
    // "pós-venda".
    let mut tx = store.begin(org).await.unwrap();
    let mut accented = tx.stages().await.unwrap().remove(0);
    accented.id = StageId::new();
    accented.name = "pós-venda".into();
    accented.position += 200;
    tx.insert_stage(&accented).await.unwrap();
    let mut upper = accented.clone();
    upper.id = StageId::new();
    upper.name = "PÓS-VENDA".into();
    upper.position += 1;
    taken(tx.insert_stage(&upper).await, Entity::Stage, "name");
    drop(tx);
    // Renaming a policy to another policy's name is taken like creating it.
    let mut tx = store.begin(org).await.unwrap();
    let mut other = tx.sla_policies().await.unwrap().remove(0);
    let taken_name = other.name.clone();
    other.id = SlaPolicyId::new();
    other.name = "Outra".into();
    other.is_default = false;
    tx.insert_sla_policy(&other).await.unwrap();
    other.name = taken_name.to_uppercase();
    taken(
        tx.update_sla_policy(&other).await,
        Entity::SlaPolicy,
        "name",
    );
    drop(tx);
    // Through the service: a workflow that meets a taken key answers it at once (no rerun
    // loop), with the entity the caller can match.
    let dup =
        f.hd.create_queue(org, admin, NewQueue::new(f.queue.name.to_uppercase()))
            .await;
    assert!(
        matches!(
            dup,
            Err(Error::AlreadyExists {
                entity: Entity::Queue,
                key: "name",
                ..
            })
        ),
        "{dup:?}"
    );
}

pub async fn store_constraints_refuse_duplicates_and_stale_versions(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone(), 1, 5).await;
    let t = f.open_ticket(1).await;
    let mut tx = store.begin(f.org.id).await.unwrap();
    // Stale version.
    let mut stale = t.clone();
    stale.version = t.version; // not +1
    assert!(
        matches!(tx.update_ticket(&stale).await, Err(Error::Conflict { .. })),
        "stale version refused"
    );
    drop(tx);
    let mut tx = store.begin(f.org.id).await.unwrap();
    // Second live ticket in the same conversation.
    let conv: Conversation = tx.conversation(t.conversation_id).await.unwrap();
    let mut other = t.clone();
    other.id = TicketId::new();
    other.number = 999_999;
    let r = tx.insert_ticket(&other).await;
    assert!(
        matches!(
            r,
            Err(Error::AlreadyExists {
                entity: Entity::Ticket,
                key: "live ticket of the conversation",
                source: Some(_),
                ..
            })
        ),
        "second live ticket refused: {r:?}"
    );
    drop(tx);
    let mut tx = store.begin(f.org.id).await.unwrap();
    // Same phone key, other spelling.
    let c = Contact {
        id: ContactId::new(),
        org_id: f.org.id,
        name: None,
        phone: Some(
            PhoneNumber::parse("+55119000000001", PhoneRegion::BR)
                .unwrap_or_else(|_| PhoneNumber::parse("+5511900000001", PhoneRegion::BR).unwrap()),
        ),
        whatsapp_id: None,
        email: None,
        visitor_id: None,
        document: None,
        vip: false,
        attributes: BTreeMap::new(),
        created_at: t0(),
        updated_at: t0(),
    };
    let existing = tx.contact(conv.contact_id).await.unwrap();
    let clash = Contact {
        id: ContactId::new(),
        phone: existing.phone.clone(),
        ..c.clone()
    };
    let r = tx.insert_contact(&clash).await;
    assert!(
        matches!(
            r,
            Err(Error::AlreadyExists {
                entity: Entity::Contact,
                key: "phone",
                source: Some(_),
                ..
            })
        ),
        "phone key taken: {r:?}"
    );
    drop(tx);
    // A visitor id is a key too, found and refused like the others.
    let mut tx = store.begin(f.org.id).await.unwrap();
    let visitor = Contact {
        id: ContactId::new(),
        phone: None,
        visitor_id: Some("visitor-7f3a".into()),
        ..c.clone()
    };
    tx.insert_contact(&visitor).await.unwrap();
    let found = tx
        .find_contact(&ContactKey::VisitorId("visitor-7f3a".into()))
        .await
        .unwrap();
    assert_eq!(found.map(|c| c.id), Some(visitor.id), "found by visitor id");
    let r = tx
        .insert_contact(&Contact {
            id: ContactId::new(),
            ..visitor.clone()
        })
        .await;
    assert!(
        matches!(
            r,
            Err(Error::AlreadyExists {
                entity: Entity::Contact,
                key: "visitor_id",
                source: Some(_),
                ..
            })
        ),
        "visitor id taken: {r:?}"
    );
    drop(tx);
    // Duplicate channel message id.
    f.hd.ingest(f.inbound("wamid.X", "5511955554444", "a"))
        .await
        .unwrap();
    let mut tx = store.begin(f.org.id).await.unwrap();
    let mut m = tx
        .message_by_external_id(f.account.id, "wamid.X")
        .await
        .unwrap()
        .unwrap();
    m.id = MessageId::new();
    let r = tx.insert_message(&m).await;
    assert!(
        matches!(
            r,
            Err(Error::AlreadyExists {
                entity: Entity::Message,
                key: "external_id",
                source: Some(_),
                ..
            })
        ),
        "duplicate channel message id refused: {r:?}"
    );
    // A stale version is a lost race, which a retry can win; a taken key is not.
    assert!(r.is_err_and(|e| !e.is_retryable()));
}

pub async fn delivery_status_never_moves_backwards(store: Arc<dyn Store>) {
    let f = Fixture::new(store, 1, 5).await;
    let ing =
        f.hd.ingest(f.inbound("wamid.in", "5511944443333", "oi"))
            .await
            .unwrap();
    let agent = Actor::agent(f.agents[0].id);
    let reply =
        f.hd.reply(
            f.org.id,
            &agent,
            ing.ticket_id,
            MessageContent::text("Olá!"),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, Some(DeliveryStatus::Sent));
    let ext = reply.external_id.clone().unwrap();
    let st = |s: DeliveryStatus| InboundStatus {
        channel: ChannelKind::Whatsapp,
        account_external_id: f.account.external_id.clone(),
        external_id: ext.clone(),
        status: s,
        error: None,
        at: t0(),
        pricing_category: Some("service".into()),
    };
    assert_eq!(
        f.hd.apply_status(st(DeliveryStatus::Read)).await.unwrap(),
        StatusOutcome::Applied(DeliveryStatus::Read)
    );
    assert_eq!(
        f.hd.apply_status(st(DeliveryStatus::Delivered))
            .await
            .unwrap(),
        StatusOutcome::Ignored
    );
    assert_eq!(
        f.hd.apply_status(st(DeliveryStatus::Sent)).await.unwrap(),
        StatusOutcome::Ignored
    );
    assert_eq!(
        f.hd.apply_status(st(DeliveryStatus::Failed)).await.unwrap(),
        StatusOutcome::Ignored
    );
    let msgs =
        f.hd.messages(f.org.id, &Actor::System, ing.ticket_id)
            .await
            .unwrap();
    assert_eq!(
        msgs.iter().find(|m| m.id == reply.id).unwrap().status,
        Some(DeliveryStatus::Read)
    );
    assert_eq!(
        msgs.iter()
            .find(|m| m.id == reply.id)
            .unwrap()
            .pricing_category
            .as_deref(),
        Some("service"),
        "the billing category is kept"
    );
    let unknown = InboundStatus {
        external_id: "wamid.nope".into(),
        ..st(DeliveryStatus::Read)
    };
    assert_eq!(
        f.hd.apply_status(unknown).await.unwrap(),
        StatusOutcome::UnknownMessage
    );
}

pub async fn listing_filters_paginates_and_counts_facets(store: Arc<dyn Store>) {
    let f = Fixture::new(store, 2, 100).await;
    let stages = f.hd.ensure_stages(f.org.id).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..30usize {
        f.clock.set(t0() + Duration::minutes(i as i64));
        let tracking = match i % 3 {
            0 => Tracking {
                utm_source: Some("google".into()),
                click_ids: vec![ClickId::new(ClickIdKind::Gclid, "g1").unwrap()],
                ..Tracking::default()
            },
            1 => Tracking {
                utm_source: Some("facebook".into()),
                source_type: Some(SourceType::Organic),
                ..Tracking::default()
            },
            _ => Tracking::default(),
        };
        let t =
            f.hd.create_ticket(
                f.org.id,
                &Actor::System,
                NewTicket {
                    tracking,
                    stage_id: Some(stages[i % 2].id),
                    ..NewTicket::new(f.lead(i))
                },
            )
            .await
            .unwrap();
        if i % 5 == 0 {
            f.hd.record_sale(
                f.org.id,
                &f.admin,
                t.id,
                Money::new(10_000, "BRL").unwrap(),
                None,
            )
            .await
            .unwrap();
        }
        ids.push(t);
    }
    let list = |req: ListTickets| {
        let hd = f.hd.clone();
        let org = f.org.id;
        async move { hd.list_tickets(org, &Actor::System, req).await.unwrap() }
    };
    // Pagination: 7 per page, newest first, every ticket once.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let p = list(ListTickets {
            cursor: cursor.clone(),
            page_size: Some(7),
            ..ListTickets::default()
        })
        .await;
        assert_eq!(p.total, 30);
        seen.extend(p.items.iter().map(|s| s.ticket.number));
        match p.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(
        seen,
        (1..=30).rev().collect::<Vec<u64>>(),
        "pages cover every ticket once, newest first"
    );
    let capped = list(ListTickets {
        count_limit: Some(12),
        page_size: Some(5),
        ..ListTickets::default()
    })
    .await;
    assert_eq!(
        (capped.total, capped.total_exact, capped.items.len()),
        (12, false, 5),
        "the total stops at the count limit and says so"
    );
    let exact = list(ListTickets {
        count_limit: Some(30),
        ..ListTickets::default()
    })
    .await;
    assert_eq!((exact.total, exact.total_exact), (30, true));
    let p = list(ListTickets {
        origin: Some("GOOGLE".into()),
        ..ListTickets::default()
    })
    .await;
    assert_eq!(p.total, 10, "origin filter is case-insensitive");
    assert_eq!(p.facets.origins, ["facebook", "google"]);
    assert_eq!(p.facets.sources, [SourceType::Organic, SourceType::Paid]);
    assert_eq!(p.facets.stages.len(), stages.len());
    assert_eq!(
        list(ListTickets {
            source: Some(SourceType::Paid),
            ..ListTickets::default()
        })
        .await
        .total,
        10,
        "gclid makes paid"
    );
    let inb =
        f.hd.inbounds(
            f.org.id,
            &Actor::System,
            ListTickets {
                click_id: Some(ClickIdKind::Gclid),
                page_size: Some(4),
                ..ListTickets::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(inb.total, 10, "inbounds filtered by click id kind");
    assert_eq!(inb.items.len(), 4);
    assert!(inb.next_cursor.is_some());
    assert!(inb.items.iter().all(|r| r.gclid.as_deref() == Some("g1")
        && r.utm_source.as_deref() == Some("google")
        && r.source_type == SourceType::Paid
        && r.fbclid.is_none()));
    assert_eq!(
        list(ListTickets {
            click_id: Some(ClickIdKind::CtwaClid),
            ..ListTickets::default()
        })
        .await
        .total,
        0
    );
    assert_eq!(
        list(ListTickets {
            has_sales: Some(true),
            ..ListTickets::default()
        })
        .await
        .total,
        6
    );
    assert_eq!(
        list(ListTickets {
            has_sales: Some(false),
            ..ListTickets::default()
        })
        .await
        .total,
        24
    );
    let with_sale = list(ListTickets {
        has_sales: Some(true),
        page_size: Some(1),
        ..ListTickets::default()
    })
    .await;
    assert_eq!(with_sale.items[0].sales_count, 1);
    assert_eq!(with_sale.items[0].sales_total_minor, 10_000);
    assert_eq!(
        list(ListTickets {
            stage_id: Some(stages[1].id),
            ..ListTickets::default()
        })
        .await
        .total,
        15
    );
    assert_eq!(
        list(ListTickets {
            q: Some("#7".into()),
            ..ListTickets::default()
        })
        .await
        .items[0]
            .ticket
            .number,
        7
    );
    assert_eq!(
        list(ListTickets {
            q: Some("lead 12".into()),
            ..ListTickets::default()
        })
        .await
        .total,
        1,
        "name search"
    );
    assert_eq!(
        list(ListTickets {
            q: Some("90000-0012".into()),
            ..ListTickets::default()
        })
        .await
        .total,
        1,
        "phone search"
    );
    let first_agent = f.agents[0].id;
    let mine = list(ListTickets {
        assignee: Some(AssigneeFilter::Agent(first_agent)),
        ..ListTickets::default()
    })
    .await;
    assert_eq!(mine.total, 15, "round robin over two agents");
    assert!(
        mine.items
            .iter()
            .all(|s| s.ticket.assignee_id == Some(first_agent))
    );
    assert_eq!(
        list(ListTickets {
            q: Some("agent 0".into()),
            ..ListTickets::default()
        })
        .await
        .total,
        15,
        "assignee name search"
    );
    f.hd.resolve(f.org.id, &f.admin, ids[0].id).await.unwrap();
    assert_eq!(
        list(ListTickets {
            statuses: vec![TicketStatus::Resolved],
            ..ListTickets::default()
        })
        .await
        .total,
        1
    );
    let range = crate::store::query::DateRange {
        from: t0() + Duration::minutes(10),
        to: t0() + Duration::minutes(20),
    };
    assert_eq!(
        list(ListTickets {
            date: Some(DateFilter::Range(range)),
            ..ListTickets::default()
        })
        .await
        .total,
        10,
        "[from, to) range"
    );
    assert!(
        f.hd.list_tickets(
            f.org.id,
            &Actor::System,
            ListTickets {
                cursor: Some("garbage".into()),
                ..ListTickets::default()
            }
        )
        .await
        .is_err()
    );
    assert!(
        f.hd.list_tickets(
            f.org.id,
            &Actor::System,
            ListTickets {
                page_size: Some(101),
                ..ListTickets::default()
            }
        )
        .await
        .is_err()
    );
}

pub async fn failed_workflow_writes_nothing(store: Arc<dyn Store>) {
    let f = Fixture::new(store, 1, 1).await;
    let t1 = f.open_ticket(1).await;
    assert!(t1.assignee_id.is_some());
    let before = f.events().await.len();
    // The agent is full: creating a ticket assigned to them fails as a whole.
    let r =
        f.hd.create_ticket(
            f.org.id,
            &Actor::System,
            NewTicket {
                assignee_id: Some(f.agents[0].id),
                ..NewTicket::new(f.lead(2))
            },
        )
        .await;
    assert!(r.is_err());
    assert_eq!(
        f.events().await.len(),
        before,
        "no event from the failed workflow"
    );
    assert_eq!(
        f.all_tickets().await.len(),
        1,
        "no ticket from the failed workflow"
    );
    let phone = PhoneNumber::parse("+5511900000002", PhoneRegion::BR).unwrap();
    assert!(
        f.hd.find_contact(f.org.id, &f.admin, &ContactKey::Phone(phone))
            .await
            .unwrap()
            .is_none(),
        "no contact from the failed workflow"
    );
    let next = f.open_ticket(3).await;
    assert_eq!(next.number, 2, "no number burnt");
}

pub async fn events_are_committed_in_order_with_their_change(store: Arc<dyn Store>) {
    let f = Fixture::new(store, 1, 5).await;
    let ing =
        f.hd.ingest(f.inbound("wamid.e1", "5511933332222", "oi"))
            .await
            .unwrap();
    let agent = Actor::agent(f.agents[0].id);
    f.hd.reply(f.org.id, &agent, ing.ticket_id, MessageContent::text("Olá"))
        .await
        .unwrap();
    f.hd.resolve(f.org.id, &agent, ing.ticket_id).await.unwrap();
    f.hd.close(f.org.id, &agent, ing.ticket_id).await.unwrap();
    let kinds: Vec<EventKind> = f
        .events()
        .await
        .into_iter()
        .filter(|e| e.ticket_id == Some(ing.ticket_id))
        .map(|e| e.kind)
        .collect();
    let pos = |k: EventKind| {
        kinds
            .iter()
            .position(|x| *x == k)
            .unwrap_or_else(|| panic!("{k} missing from {kinds:?}"))
    };
    assert!(pos(EventKind::TicketCreated) < pos(EventKind::TicketAssigned));
    assert!(pos(EventKind::TicketAssigned) < pos(EventKind::TicketStatusChanged));
    assert!(pos(EventKind::TicketStatusChanged) < pos(EventKind::TicketResolved));
    assert!(pos(EventKind::TicketResolved) < pos(EventKind::TicketClosed));
    let page1 = f.hd.events(f.org.id, None, 2).await.unwrap();
    let page2 =
        f.hd.events(f.org.id, Some(page1[1].id), 1000)
            .await
            .unwrap();
    assert_eq!(
        page1.len() + page2.len(),
        f.events().await.len(),
        "reading after an event id continues exactly"
    );
}

/// A sink that records what it is given and fails this tenant's events while told to.
struct TestSink {
    org: OrgId,
    got: std::sync::Mutex<Vec<EventId>>,
    fail: std::sync::Mutex<Option<bool>>,
}

#[async_trait::async_trait]
impl EventSink for TestSink {
    async fn deliver(&self, e: &crate::domain::records::Event) -> Result<(), SinkError> {
        if e.org_id != self.org {
            return Ok(()); // another case's tenant, in a shared database
        }
        match *self.fail.lock().unwrap() {
            Some(true) => return Err(SinkError::retryable("HTTP 503")),
            Some(false) => return Err(SinkError::permanent("HTTP 410")),
            None => {}
        }
        self.got.lock().unwrap().push(e.id);
        Ok(())
    }
}

pub async fn outbox_relay_delivers_each_event_once_across_relays(store: Arc<dyn Store>) {
    let f = Arc::new(Fixture::new(store.clone(), 2, 100).await);
    for i in 0..20 {
        f.open_ticket(i).await;
    }
    let sink = Arc::new(TestSink {
        org: f.org.id,
        got: Default::default(),
        fail: Default::default(),
    });
    let opts = RelayOptions {
        batch: 7,
        ..RelayOptions::default()
    };
    // Four relays (think: four app instances) drain the outbox concurrently.
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (f, sink, opts) = (f.clone(), sink.clone(), opts.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let r = f.hd.relay_events(sink.as_ref(), &opts).await.unwrap();
                assert_eq!(r.lost, 0, "no claim expires within its lease");
                if r.claimed == 0 {
                    break;
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mine: Vec<EventId> = f.events().await.iter().map(|e| e.id).collect();
    assert!(mine.len() >= 40, "tickets made events");
    let got = sink.got.lock().unwrap().clone();
    let mut once: Vec<EventId> = got.clone();
    once.sort();
    once.dedup();
    assert_eq!(once.len(), got.len(), "no event delivered twice");
    let mut want = mine.clone();
    want.sort();
    assert_eq!(once, want, "every committed event delivered");
    let again = f.hd.relay_events(sink.as_ref(), &opts).await.unwrap();
    assert_eq!(
        sink.got.lock().unwrap().len(),
        got.len(),
        "nothing redelivered: {again:?}"
    );

    // A retryable failure schedules a later attempt with backoff.
    sink.got.lock().unwrap().clear();
    *sink.fail.lock().unwrap() = Some(true);
    let t = f.open_ticket(100).await;
    let fresh: Vec<EventId> = f
        .events()
        .await
        .iter()
        .filter(|e| e.ticket_id == Some(t.id))
        .map(|e| e.id)
        .collect();
    // (Loops: in a shared database the batch may hold other tenants' events too.)
    let mut retried = 0;
    loop {
        let r = f.hd.relay_events(sink.as_ref(), &opts).await.unwrap();
        retried += r.retried;
        if r.claimed == 0 {
            break;
        }
    }
    assert!(retried >= fresh.len(), "failed events are retried later");
    *sink.fail.lock().unwrap() = None;
    f.hd.relay_events(sink.as_ref(), &opts).await.unwrap();
    assert!(
        sink.got.lock().unwrap().is_empty(),
        "no attempt before the backoff has passed"
    );
    f.clock.advance(Duration::seconds(10));
    while f
        .hd
        .relay_events(sink.as_ref(), &opts)
        .await
        .unwrap()
        .claimed
        > 0
    {}
    let mut got = sink.got.lock().unwrap().clone();
    got.sort();
    let mut want = fresh.clone();
    want.sort();
    assert_eq!(got, want, "delivered once after the backoff");

    // A permanent failure is a dead letter: never attempted again.
    sink.got.lock().unwrap().clear();
    *sink.fail.lock().unwrap() = Some(false);
    f.open_ticket(101).await;
    let mut dead = 0;
    loop {
        let r = f.hd.relay_events(sink.as_ref(), &opts).await.unwrap();
        dead += r.dead;
        if r.claimed == 0 {
            break;
        }
    }
    assert!(dead >= 1, "a permanent failure makes a dead letter");
    *sink.fail.lock().unwrap() = None;
    f.clock.advance(Duration::days(2));
    while f
        .hd
        .relay_events(sink.as_ref(), &opts)
        .await
        .unwrap()
        .claimed
        > 0
    {}
    assert!(sink.got.lock().unwrap().is_empty(), "dead events stay dead");

    // Leases: a claim keeps others away until it expires; an expired claim cannot settle.
    f.open_ticket(102).await;
    let now = f.hd.now();
    let lease = Duration::seconds(30);
    let first: Vec<_> = store
        .claim_events(now, 10_000, lease)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.event.org_id == f.org.id)
        .collect();
    assert!(!first.is_empty());
    let during = store
        .claim_events(now + Duration::seconds(29), 10_000, lease)
        .await
        .unwrap();
    assert!(
        during.iter().all(|c| c.event.org_id != f.org.id),
        "claimed events are invisible to other relays during the lease"
    );
    let later: Vec<_> = store
        .claim_events(now + Duration::seconds(31), 10_000, lease)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.event.org_id == f.org.id)
        .collect();
    assert_eq!(
        later.len(),
        first.len(),
        "expired claims are claimable again"
    );
    let done = crate::store::EventOutcome::Delivered;
    assert!(
        !store
            .settle_event(&first[0].claim, &done, now)
            .await
            .unwrap(),
        "the expired claim cannot settle"
    );
    assert!(
        store
            .settle_event(&later[0].claim, &done, now)
            .await
            .unwrap()
    );
    assert!(
        !store
            .settle_event(&later[0].claim, &done, now)
            .await
            .unwrap(),
        "a settled event stays settled"
    );
}

/// Within one transaction every write is read back (before and after a lock), every write is
/// visible after the commit, and a stale queue or agent version fails by the commit at the
/// latest, leaving nothing. (A store may keep writes back and send them later.)
pub async fn a_transaction_reads_its_own_writes(store: Arc<dyn Store>) {
    use crate::domain::message::{Author, Message};
    use crate::domain::records::{AssignmentCycle, AuditEntry, Event};
    use crate::store::LockKey;
    let f = Fixture::new(store.clone(), 2, 5).await;
    let t = f.open_ticket(1).await;
    let events_before = f.events().await.len();
    let mut tx = store.begin(f.org.id).await.unwrap();
    // Configuration changes, read back before and after a lock; a second change follows the
    // first.
    let mut q = tx.queue(f.queue.id).await.unwrap();
    q.rotation += 7;
    q.version += 1;
    tx.update_queue(&q).await.unwrap();
    assert_eq!(tx.queue(q.id).await.unwrap(), q, "queue read back");
    let mut a = tx.agent(f.agents[0].id).await.unwrap();
    a.open_tickets += 3;
    a.version += 1;
    tx.update_agent(&a).await.unwrap();
    let mut m = tx
        .queue_members(q.id)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.agent_id == a.id)
        .unwrap();
    m.last_rotation = 99;
    tx.put_queue_member(&m).await.unwrap();
    for when in ["before the lock", "after the lock"] {
        assert_eq!(tx.queue(q.id).await.unwrap(), q, "queue {when}");
        assert_eq!(tx.agent(a.id).await.unwrap(), a, "agent {when}");
        assert_eq!(
            tx.agents_in(&[a.id]).await.unwrap(),
            vec![a.clone()],
            "agents_in {when}"
        );
        assert!(tx.agents().await.unwrap().contains(&a), "agents {when}");
        assert!(
            tx.queue_members(q.id).await.unwrap().contains(&m),
            "member {when}"
        );
        assert!(tx.queues().await.unwrap().contains(&q), "queues {when}");
        // Changes right before the lock (no read in between) are read back after it too.
        q.rotation += 1;
        q.version += 1;
        tx.update_queue(&q).await.unwrap();
        a.open_tickets += 1;
        a.version += 1;
        tx.update_agent(&a).await.unwrap();
        m.last_rotation += 1;
        tx.put_queue_member(&m).await.unwrap();
        tx.lock(LockKey::Queue(q.id)).await.unwrap();
    }
    a.open_tickets -= 1;
    a.version += 1;
    tx.update_agent(&a).await.unwrap();
    assert_eq!(tx.agent(a.id).await.unwrap(), a, "second change read back");
    // Appended rows, and an outbound message (no channel id yet).
    let event = Event {
        id: EventId::new(),
        org_id: f.org.id,
        kind: EventKind::TicketUpdated,
        ticket_id: Some(t.id),
        actor: Actor::System,
        payload: serde_json::json!({"n": 1}),
        occurred_at: t0(),
    };
    tx.insert_event(&event).await.unwrap();
    let entry = AuditEntry {
        id: AuditId::new(),
        org_id: f.org.id,
        ticket_id: Some(t.id),
        actor: Actor::System,
        action: "ticket.test".into(),
        details: serde_json::json!({}),
        at: t0(),
    };
    tx.insert_audit(&entry).await.unwrap();
    let mut cycle = AssignmentCycle {
        id: CycleId::new(),
        org_id: f.org.id,
        ticket_id: t.id,
        queue_id: Some(q.id),
        agent_id: None,
        queued_at: t0(),
        started_at: None,
        finished_at: None,
        rating: None,
    };
    tx.insert_cycle(&cycle).await.unwrap();
    cycle.finished_at = Some(t0() + Duration::minutes(1));
    tx.update_cycle(&cycle).await.unwrap();
    let reply = Message {
        id: MessageId::new(),
        org_id: f.org.id,
        ticket_id: t.id,
        conversation_id: t.conversation_id,
        channel_account_id: f.account.id,
        direction: Direction::Outbound,
        author: Author::System,
        content: MessageContent::text("kept"),
        external_id: None,
        reply_to_external_id: None,
        status: Some(DeliveryStatus::Queued),
        delivery_error: None,
        created_at: t0() + Duration::days(1),
        status_at: Some(t0()),
        pricing_category: None,
    };
    tx.insert_message(&reply).await.unwrap();
    async fn check(
        tx: &mut dyn crate::store::StoreTx,
        ids: (EventId, AuditId),
        cycle: &AssignmentCycle,
        reply: &Message,
        when: &str,
    ) {
        assert_eq!(
            tx.events(None, 10_000).await.unwrap().last().map(|e| e.id),
            Some(ids.0),
            "event {when}"
        );
        assert_eq!(
            tx.audit_trail(cycle.ticket_id)
                .await
                .unwrap()
                .last()
                .map(|e| e.id),
            Some(ids.1),
            "audit entry {when}"
        );
        assert_eq!(
            tx.cycles(cycle.ticket_id).await.unwrap().last(),
            Some(cycle),
            "cycle {when}"
        );
        assert_eq!(
            &tx.message(reply.id).await.unwrap(),
            reply,
            "message {when}"
        );
        assert_eq!(
            tx.messages(reply.ticket_id).await.unwrap().last(),
            Some(reply),
            "messages {when}"
        );
    }
    check(
        &mut *tx,
        (event.id, entry.id),
        &cycle,
        &reply,
        "in the transaction",
    )
    .await;
    tx.commit().await.unwrap();
    let mut tx = store.begin(f.org.id).await.unwrap();
    check(
        &mut *tx,
        (event.id, entry.id),
        &cycle,
        &reply,
        "after the commit",
    )
    .await;
    assert_eq!(tx.queue(q.id).await.unwrap(), q, "queue committed");
    assert_eq!(tx.agent(a.id).await.unwrap(), a, "agent committed");
    assert!(
        tx.queue_members(q.id).await.unwrap().contains(&m),
        "member committed"
    );
    drop(tx);
    assert_eq!(f.events().await.len(), events_before + 1);

    // A stale version: refused by the call or by the commit, and nothing of the transaction
    // stays.
    for which in ["queue", "agent"] {
        let mut tx = store.begin(f.org.id).await.unwrap();
        tx.insert_event(&Event {
            id: EventId::new(),
            ..event.clone()
        })
        .await
        .unwrap();
        let r = if which == "queue" {
            let stale = tx.queue(q.id).await.unwrap(); // version not moved on
            tx.update_queue(&stale).await
        } else {
            let stale = tx.agent(a.id).await.unwrap();
            tx.update_agent(&stale).await
        };
        let r = match r {
            Ok(()) => tx.commit().await,
            Err(e) => {
                drop(tx);
                Err(e)
            }
        };
        assert!(
            matches!(r, Err(Error::Conflict { .. })),
            "stale {which}: {r:?}"
        );
        assert_eq!(
            f.events().await.len(),
            events_before + 1,
            "stale {which}: nothing stays"
        );
    }
    let mut tx = store.begin(f.org.id).await.unwrap();
    assert_eq!(tx.queue(q.id).await.unwrap(), q, "queue unchanged");
    assert_eq!(tx.agent(a.id).await.unwrap(), a, "agent unchanged");
}

/// A lock orders what is read after it: a transaction that waited for a queue's lock reads
/// the queue, its members and their agents as the holder committed them (the rotation and
/// loads automatic assignment decides on), not as they were when it started waiting.
pub async fn reads_after_a_lock_see_what_the_holder_committed(store: Arc<dyn Store>) {
    use crate::store::LockKey;
    let f = Fixture::new(store.clone(), 2, 5).await;
    let q = f.queue.id;
    let mut holder = store.begin(f.org.id).await.unwrap();
    holder.lock(LockKey::Queue(q)).await.unwrap();
    let waiter = {
        let store = store.clone();
        let org = f.org.id;
        tokio::spawn(async move {
            let mut tx = store.begin(org).await.unwrap();
            tx.lock(LockKey::Queue(q)).await.unwrap();
            let queue = tx.queue(q).await.unwrap();
            let members = tx.queue_members(q).await.unwrap();
            let ids: Vec<AgentId> = members.iter().map(|m| m.agent_id).collect();
            let agents = tx.agents_in(&ids).await.unwrap();
            tx.commit().await.unwrap();
            (queue, members, agents)
        })
    };
    // Give the waiter time to queue up behind the lock (if it has not by then, it reads
    // after the commit, which must give the same answer).
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let mut queue = holder.queue(q).await.unwrap();
    queue.rotation += 1;
    queue.version += 1;
    holder.update_queue(&queue).await.unwrap();
    let mut agent = holder.agent(f.agents[1].id).await.unwrap();
    agent.open_tickets += 1;
    agent.version += 1;
    holder.update_agent(&agent).await.unwrap();
    let mut member = holder
        .queue_members(q)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.agent_id == agent.id)
        .unwrap();
    member.last_rotation = queue.rotation;
    holder.put_queue_member(&member).await.unwrap();
    holder.commit().await.unwrap();
    let (read_queue, members, agents) = waiter.await.unwrap();
    assert_eq!(
        read_queue, queue,
        "the queue as committed by the lock's holder"
    );
    assert!(members.contains(&member), "the membership as committed");
    assert!(agents.contains(&agent), "the agent as committed");
}

pub async fn configuration_changes_and_removals_keep_tickets_whole(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone(), 2, 10).await;
    let other = Fixture::new(store, 1, 10).await;
    let (org, admin) = (f.org.id, &f.admin);
    let refused =
        |r: crate::Result<()>| matches!(&r, Err(e @ Error::Refused { .. }) if !e.is_retryable());
    // Queues: rename (a taken name is refused), then removal rules.
    let spare =
        f.hd.create_queue(org, admin, NewQueue::new("Financeiro"))
            .await
            .unwrap();
    let taken =
        f.hd.update_queue(
            org,
            admin,
            spare.id,
            QueueChanges {
                name: Some("suporte".into()),
                ..QueueChanges::default()
            },
        )
        .await;
    assert!(
        matches!(
            taken,
            Err(Error::AlreadyExists {
                entity: Entity::Queue,
                key: "name",
                ..
            })
        ),
        "{taken:?}"
    );
    let renamed =
        f.hd.update_queue(
            org,
            admin,
            spare.id,
            QueueChanges {
                name: Some("Cobrança".into()),
                auto_replies: Some(AutoReplies {
                    greeting: Some("Olá {{customer_name}}".into()),
                    ..AutoReplies::default()
                }),
                ..QueueChanges::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (renamed.name.as_str(), renamed.version),
        ("Cobrança", spare.version + 1)
    );
    let bad =
        f.hd.update_queue(
            org,
            admin,
            spare.id,
            QueueChanges {
                auto_replies: Some(AutoReplies {
                    greeting: Some("{{cpf}}".into()),
                    ..AutoReplies::default()
                }),
                ..QueueChanges::default()
            },
        )
        .await;
    assert!(matches!(bad, Err(Error::Invalid { .. })), "{bad:?}");
    assert!(
        refused(f.hd.delete_queue(org, admin, f.queue.id).await),
        "the inbox's default queue stays"
    );
    f.hd.add_queue_member(org, admin, spare.id, f.agents[0].id, vec![])
        .await
        .unwrap();
    let t =
        f.hd.create_ticket(
            org,
            admin,
            NewTicket {
                queue_id: Some(spare.id),
                ..NewTicket::new(f.lead(1))
            },
        )
        .await
        .unwrap();
    assert!(
        refused(f.hd.delete_queue(org, admin, spare.id).await),
        "a queue with tickets stays"
    );
    f.hd.transfer(org, admin, t.id, f.queue.id).await.unwrap();
    f.hd.delete_queue(org, admin, spare.id).await.unwrap();
    assert!(
        !f.hd
            .queues(org)
            .await
            .unwrap()
            .iter()
            .any(|q| q.id == spare.id)
    );
    let mut tx = f.hd.store().begin(org).await.unwrap();
    assert!(
        tx.agent_queues(f.agents[0].id)
            .await
            .unwrap()
            .iter()
            .all(|q| *q != spare.id),
        "memberships go with the queue"
    );
    drop(tx);
    // Agents: a deactivated agent goes offline and is never assigned again.
    let off =
        f.hd.update_agent(
            org,
            admin,
            f.agents[0].id,
            AgentChanges {
                active: Some(false),
                capacity: Some(3),
                ..AgentChanges::default()
            },
        )
        .await
        .unwrap();
    assert!(!off.active && off.presence == Presence::Offline && off.capacity == 3);
    for i in 10..14 {
        let t =
            f.hd.create_ticket(org, admin, NewTicket::new(f.lead(i)))
                .await
                .unwrap();
        assert_eq!(
            t.assignee_id,
            Some(f.agents[1].id),
            "only the active agent is assigned"
        );
    }
    let zero =
        f.hd.update_agent(
            org,
            admin,
            f.agents[1].id,
            AgentChanges {
                capacity: Some(0),
                ..AgentChanges::default()
            },
        )
        .await;
    assert!(matches!(zero, Err(Error::Invalid { .. })));
    // Stages: rename, a taken name, removal only when empty.
    let stages = f.hd.stages(org).await.unwrap();
    let (first, second) = (&stages[0], &stages[1]);
    let dup =
        f.hd.update_stage(
            org,
            admin,
            second.id,
            StageChanges {
                name: Some(first.name.to_uppercase()),
                ..StageChanges::default()
            },
        )
        .await;
    assert!(
        matches!(
            dup,
            Err(Error::AlreadyExists {
                entity: Entity::Stage,
                key: "name",
                ..
            })
        ),
        "{dup:?}"
    );
    let moved =
        f.hd.update_stage(
            org,
            admin,
            second.id,
            StageChanges {
                name: Some("Negociação".into()),
                position: Some(99),
                ..StageChanges::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((moved.name.as_str(), moved.position), ("Negociação", 99));
    assert_eq!(
        f.hd.stages(org).await.unwrap().last().unwrap().id,
        second.id,
        "board order follows position"
    );
    assert!(
        refused(f.hd.delete_stage(org, admin, first.id).await),
        "the first stage holds the new tickets"
    );
    f.hd.delete_stage(org, admin, second.id).await.unwrap();
    assert_eq!(f.hd.stages(org).await.unwrap().len(), stages.len() - 1);
    // SLA policies: update in place; a policy a queue uses stays.
    let p =
        f.hd.create_sla_policy(org, admin, NewSlaPolicy::seed("Padrão").as_default())
            .await
            .unwrap();
    let changed =
        f.hd.update_sla_policy(
            org,
            admin,
            p.id,
            NewSlaPolicy::seed("Ouro").with_at_risk(0.5).as_default(),
        )
        .await
        .unwrap();
    assert_eq!(
        (changed.id, changed.name.as_str(), changed.at_risk_permille),
        (p.id, "Ouro", 500)
    );
    let gold =
        f.hd.create_sla_policy(org, admin, NewSlaPolicy::seed("Prata").as_default())
            .await
            .unwrap();
    f.hd.update_sla_policy(
        org,
        admin,
        p.id,
        NewSlaPolicy::seed("Ouro").with_at_risk(0.5).as_default(),
    )
    .await
    .unwrap();
    let defaults: Vec<_> =
        f.hd.sla_policies(org)
            .await
            .unwrap()
            .into_iter()
            .filter(|x| x.is_default)
            .map(|x| x.id)
            .collect();
    assert_eq!(
        defaults,
        vec![p.id],
        "one default policy: {} is no longer",
        gold.name
    );
    f.hd.set_queue_sla_policy(org, admin, f.queue.id, Some(p.id))
        .await
        .unwrap();
    assert!(refused(f.hd.delete_sla_policy(org, admin, p.id).await));
    f.hd.set_queue_sla_policy(org, admin, f.queue.id, None)
        .await
        .unwrap();
    f.hd.delete_sla_policy(org, admin, p.id).await.unwrap();
    assert!(
        f.hd.sla_policies(org)
            .await
            .unwrap()
            .iter()
            .all(|x| x.id != p.id)
    );
    // Canned responses: edit keeps the id; a taken shortcut is refused.
    let a =
        f.hd.create_canned_response(org, admin, "/oi", "Oi", "Olá!", None)
            .await
            .unwrap();
    f.hd.create_canned_response(org, admin, "/tchau", "Tchau", "Até logo", None)
        .await
        .unwrap();
    let edited =
        f.hd.update_canned_response(
            org,
            admin,
            a.id,
            CannedChanges {
                body: Some("Olá, tudo bem?".into()),
                ..CannedChanges::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((edited.id, edited.body.as_str()), (a.id, "Olá, tudo bem?"));
    let clash =
        f.hd.update_canned_response(
            org,
            admin,
            a.id,
            CannedChanges {
                shortcut: Some("/tchau".into()),
                ..CannedChanges::default()
            },
        )
        .await;
    assert!(
        matches!(
            clash,
            Err(Error::AlreadyExists {
                entity: Entity::CannedResponse,
                key: "shortcut",
                ..
            })
        ),
        "{clash:?}"
    );
    assert_eq!(
        f.hd.canned_responses(org).await.unwrap().len(),
        2,
        "a refused edit changes nothing"
    );
    // Another tenant's ids are unknown here, and agents cannot configure.
    let foreign = other
        .hd
        .update_queue(
            other.org.id,
            &other.admin,
            f.queue.id,
            QueueChanges::default(),
        )
        .await;
    assert!(
        matches!(foreign, Err(Error::NotFound { .. })),
        "{foreign:?}"
    );
    assert!(matches!(
        other
            .hd
            .delete_stage(other.org.id, &other.admin, first.id)
            .await,
        Err(Error::NotFound { .. })
    ));
    let agent = Actor::agent(f.agents[1].id);
    assert!(matches!(
        f.hd.update_queue(org, &agent, f.queue.id, QueueChanges::default())
            .await,
        Err(Error::Forbidden { .. })
    ));
}

/// A store that counts the fast path's writes (to know which path a message took).
struct CountingStore {
    inner: Arc<dyn Store>,
    fast_writes: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl StoreCore for CountingStore {
    async fn begin(&self, org: OrgId) -> crate::Result<Box<dyn crate::store::StoreTx>> {
        self.inner.begin(org).await
    }

    async fn create_organization(&self, org: &Organization) -> crate::Result<()> {
        self.inner.create_organization(org).await
    }

    async fn find_channel_account(
        &self,
        kind: ChannelKind,
        external_id: &str,
    ) -> crate::Result<Option<ChannelAccount>> {
        self.inner.find_channel_account(kind, external_id).await
    }
}

#[async_trait::async_trait]
impl Outbox for CountingStore {
    async fn claim_events(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease: Duration,
    ) -> crate::Result<Vec<crate::store::ClaimedEvent>> {
        self.inner.claim_events(now, limit, lease).await
    }

    async fn settle_event(
        &self,
        claim: &crate::store::EventClaim,
        outcome: &crate::store::EventOutcome,
        now: DateTime<Utc>,
    ) -> crate::Result<bool> {
        self.inner.settle_event(claim, outcome, now).await
    }
}

#[async_trait::async_trait]
impl SlaSchedule for CountingStore {
    async fn orgs_with_sla_due(&self, until: DateTime<Utc>) -> crate::Result<Vec<OrgId>> {
        self.inner.orgs_with_sla_due(until).await
    }

    async fn next_sla_wake(&self) -> crate::Result<Option<DateTime<Utc>>> {
        self.inner.next_sla_wake().await
    }
}

#[async_trait::async_trait]
impl Reporting for CountingStore {
    async fn report(
        &self,
        org: OrgId,
        q: &crate::store::report::ReportQuery,
    ) -> crate::Result<crate::store::report::Report> {
        self.inner.report(org, q).await
    }
}

#[async_trait::async_trait]
impl InboundFastPath for CountingStore {
    async fn inbound_snapshot(
        &self,
        kind: ChannelKind,
        account_external_id: &str,
        whatsapp_id: &str,
        external_id: &str,
    ) -> crate::Result<Option<crate::store::inbound::InboundSnapshot>> {
        self.inner
            .inbound_snapshot(kind, account_external_id, whatsapp_id, external_id)
            .await
    }

    async fn write_inbound(
        &self,
        w: &crate::store::inbound::InboundWrite,
    ) -> crate::Result<crate::store::inbound::InboundWritten> {
        let r = self.inner.write_inbound(w).await;
        if matches!(r, Ok(crate::store::inbound::InboundWritten::Stored)) {
            self.fast_writes
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        r
    }
}

/// `a` and `b` are equal up to a consistent renaming of ids (two tenants that lived the same
/// story: every uuid of one maps to exactly one uuid of the other).
fn assert_same_up_to_ids(
    a: &serde_json::Value,
    b: &serde_json::Value,
    ids: &mut HashMap<String, String>,
    path: &str,
) {
    use serde_json::Value as V;
    match (a, b) {
        (V::String(x), V::String(y)) if uuid::Uuid::parse_str(x).is_ok() && x.len() == 36 => {
            assert!(uuid::Uuid::parse_str(y).is_ok(), "{path}: id {x} vs {y}");
            let known = ids.entry(x.clone()).or_insert_with(|| y.clone());
            assert_eq!(known, y, "{path}: id {x} maps to two ids");
        }
        (V::Array(x), V::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{path}: lengths differ\n{a}\n{b}");
            for (i, (x, y)) in x.iter().zip(y).enumerate() {
                assert_same_up_to_ids(x, y, ids, &format!("{path}[{i}]"));
            }
        }
        (V::Object(x), V::Object(y)) => {
            let kx: Vec<&String> = x.keys().collect();
            let ky: Vec<&String> = y.keys().collect();
            assert_eq!(kx, ky, "{path}: fields differ");
            for (k, v) in x {
                assert_same_up_to_ids(v, &y[k], ids, &format!("{path}.{k}"));
            }
        }
        _ => assert_eq!(a, b, "{path}"),
    }
}

/// One step of an inbound script (see [`fast_path_matches_workflow`]).
#[derive(Debug, Clone)]
pub enum InboundOp {
    /// Contact `contact` (0–2) sends message `id`, written `minutes` after t0 (so possibly
    /// before messages already delivered). Sending an id again is a redelivery.
    Message { contact: u8, id: u16, minutes: i64 },
    /// The assignee (or the admin when nobody is) replies on the contact's latest ticket.
    Reply { contact: u8 },
    /// The contact's latest ticket is set pending.
    Pending { contact: u8 },
    /// … resolved.
    Resolve { contact: u8 },
    /// … closed.
    Close { contact: u8 },
    /// The clock moves on.
    Advance { minutes: i64 },
}

/// Random inbound scripts: three contacts, 30 message ids (so redeliveries), messages written
/// up to 10 hours apart (so out of order), replies, status moves and time passing.
pub fn inbound_ops() -> impl proptest::strategy::Strategy<Value = Vec<InboundOp>> {
    use proptest::prelude::*;
    let contact = 0u8..3;
    let op = prop_oneof![
        6 => (contact.clone(), 0u16..30, 0i64..600)
            .prop_map(|(contact, id, minutes)| InboundOp::Message { contact, id, minutes }),
        2 => contact.clone().prop_map(|contact| InboundOp::Reply { contact }),
        1 => contact.clone().prop_map(|contact| InboundOp::Pending { contact }),
        1 => contact.clone().prop_map(|contact| InboundOp::Resolve { contact }),
        1 => contact.prop_map(|contact| InboundOp::Close { contact }),
        2 => (1i64..600).prop_map(|minutes| InboundOp::Advance { minutes }),
    ];
    proptest::collection::vec(op, 1..40)
}

/// Runs `ops` in a fresh tenant and returns every delivery's report, every ticket, message
/// and conversation of its contacts, and its events, as JSON.
async fn run_inbound_script(f: &Fixture, ops: &[InboundOp]) -> serde_json::Value {
    let wa = |c: u8| format!("55119876500{c:02}");
    let mut now = t0();
    f.clock.set(now);
    let mut latest: HashMap<u8, TicketId> = HashMap::new();
    let mut log = Vec::new();
    for op in ops {
        let outcome = match op {
            InboundOp::Message {
                contact,
                id,
                minutes,
            } => {
                let mut m = f.whatsapp(&format!("wamid.{id}"), &wa(*contact), &format!("m{id}"));
                m.from.name = Some(format!("Cliente {contact}"));
                m.sent_at = t0() + Duration::minutes(*minutes);
                match f.hd.ingest(m).await {
                    Ok(r) => {
                        latest.insert(*contact, r.ticket_id);
                        serde_json::json!([r.duplicate, r.created_ticket, r.assigned_to.is_some()])
                    }
                    Err(e) => serde_json::json!(e.to_string()),
                }
            }
            InboundOp::Advance { minutes } => {
                now += Duration::minutes(*minutes);
                f.clock.set(now);
                serde_json::Value::Null
            }
            InboundOp::Reply { contact }
            | InboundOp::Pending { contact }
            | InboundOp::Resolve { contact }
            | InboundOp::Close { contact } => {
                let Some(t) = latest.get(contact).copied() else {
                    log.push(serde_json::Value::Null);
                    continue;
                };
                let ticket = f.hd.ticket(f.org.id, &Actor::System, t).await.unwrap();
                let actor = ticket
                    .assignee_id
                    .map(Actor::agent)
                    .unwrap_or_else(|| f.admin.clone());
                let r = match op {
                    InboundOp::Reply { .. } => {
                        f.hd.reply(f.org.id, &actor, t, MessageContent::text("Olá"))
                            .await
                            .map(|_| ())
                    }
                    InboundOp::Pending { .. } => {
                        f.hd.set_pending(f.org.id, &actor, t).await.map(|_| ())
                    }
                    InboundOp::Resolve { .. } => {
                        f.hd.resolve(f.org.id, &actor, t).await.map(|_| ())
                    }
                    _ => f.hd.close(f.org.id, &actor, t).await.map(|_| ()),
                };
                serde_json::json!(r.map_err(|e| e.kind()).err().map(|k| format!("{k:?}")))
            }
        };
        log.push(outcome);
    }
    let mut tickets = Vec::new();
    let mut messages = Vec::new();
    let mut conversations = Vec::new();
    let mut summaries = f.all_tickets().await;
    summaries.sort_by_key(|s| s.ticket.number);
    let mut conversation_ids = Vec::new();
    for s in &summaries {
        let t =
            f.hd.ticket(f.org.id, &Actor::System, s.ticket.id)
                .await
                .unwrap();
        messages.push(serde_json::json!(
            f.hd.messages(f.org.id, &Actor::System, t.id).await.unwrap()
        ));
        conversation_ids.push(t.conversation_id);
        tickets.push(serde_json::json!(t));
    }
    // Read only, and no other call while it is open (the memory store has one lock).
    let mut tx = f.hd.store().begin(f.org.id).await.unwrap();
    for c in conversation_ids {
        conversations.push(serde_json::json!(tx.conversation(c).await.unwrap()));
    }
    drop(tx);
    let events = f.events().await;
    serde_json::json!({
        "log": log,
        "tickets": tickets,
        "messages": messages,
        "conversations": conversations,
        "events": events.iter().map(|e| serde_json::json!([e.kind, e.ticket_id, e.payload, e.occurred_at])).collect::<Vec<_>>(),
    })
}

/// Runs `ops` twice on `store`, in two fresh tenants (with an SLA policy): once with the
/// inbound fast path, once with the workflow only. Panics unless both leave the same rows
/// (up to ids). Returns how many messages the fast path stored.
pub async fn fast_path_matches_workflow(store: Arc<dyn Store>, ops: &[InboundOp]) -> usize {
    let counting = Arc::new(CountingStore {
        inner: store.clone(),
        fast_writes: 0.into(),
    });
    let fast = Fixture::new(counting.clone(), 2, 10).await;
    let mut slow = Fixture::new(store, 2, 10).await;
    slow.hd = slow.hd.clone().with_inbound_fast_path(false);
    for f in [&fast, &slow] {
        f.hd.create_sla_policy(
            f.org.id,
            &f.admin,
            NewSlaPolicy::seed("Padrão").as_default(),
        )
        .await
        .unwrap();
    }
    let a = run_inbound_script(&fast, ops).await;
    let b = run_inbound_script(&slow, ops).await;
    assert_same_up_to_ids(&a, &b, &mut HashMap::new(), "$");
    counting
        .fast_writes
        .load(std::sync::atomic::Ordering::SeqCst)
}

pub async fn inbound_fast_path_leaves_what_the_workflow_leaves(store: Arc<dyn Store>) {
    use InboundOp::*;
    let m = |id: u16, minutes: i64| Message {
        contact: 0,
        id,
        minutes,
    };
    // A contact writes, is answered, waits, is resolved, writes again; messages are
    // redelivered and arrive out of order (9 is written at minute 2, delivered at minute 10).
    let fast = fast_path_matches_workflow(
        store.clone(),
        &[
            m(1, 0),
            Advance { minutes: 1 },
            m(2, 1),
            m(3, 1),
            m(2, 1),
            Advance { minutes: 4 },
            Reply { contact: 0 },
            Advance { minutes: 5 },
            m(4, 10),
            m(9, 2),
            Advance { minutes: 10 },
            Pending { contact: 0 },
            Advance { minutes: 10 },
            m(5, 30),
            m(6, 30),
            Advance { minutes: 10 },
            Resolve { contact: 0 },
            Advance { minutes: 10 },
            m(7, 50),
            Advance { minutes: 130 },
            m(8, 180),
            m(8, 180),
        ],
    )
    .await;
    // 2, 3, 4, 9, 6 and 8 continue an open ticket; 1 opens it, 5 and 7 reopen it.
    assert_eq!(
        fast, 6,
        "the fast path took the messages that continue an open ticket"
    );
    // A second contact, a close and a new ticket.
    let fast = fast_path_matches_workflow(
        store,
        &[
            m(1, 0),
            Message {
                contact: 1,
                id: 2,
                minutes: 0,
            },
            m(3, 1),
            Advance { minutes: 5 },
            Reply { contact: 0 },
            m(4, 6),
            Message {
                contact: 1,
                id: 2,
                minutes: 0,
            },
            Resolve { contact: 0 },
            Close { contact: 0 },
            m(5, 7),
            m(6, 7),
        ],
    )
    .await;
    assert_eq!(fast, 3, "messages 3, 4 and 6 continue an open ticket");
}

pub async fn album_of_messages_at_once_on_a_live_ticket_is_stored_once_each(store: Arc<dyn Store>) {
    let f = Fixture::new(store, 2, 10).await;
    let wa = "5521998877665";
    let msg = |i: usize| InboundMessage {
        from: InboundSender {
            phone: Some(wa.into()),
            whatsapp_id: Some(wa.into()),
            email: None,
            name: Some("Ana".into()),
            visitor_id: None,
        },
        sent_at: t0() + Duration::seconds(i as i64),
        ..f.inbound(&format!("wamid.album.{i}"), wa, "foto")
    };
    let first = f.hd.ingest(msg(0)).await.unwrap();
    let before =
        f.hd.ticket(f.org.id, &Actor::System, first.ticket_id)
            .await
            .unwrap();
    // 30 photos, each delivered 3 times, all at once.
    let mut tasks = Vec::new();
    for round in 0..3 {
        for i in 1..=30 {
            let (hd, m) = (f.hd.clone(), msg(i));
            tasks.push(tokio::spawn(async move { (round, hd.ingest(m).await) }));
        }
    }
    let mut fresh = 0;
    for t in tasks {
        let (_, r) = t.await.unwrap();
        let r = r.expect("every delivery is acknowledged");
        assert_eq!(r.ticket_id, first.ticket_id, "one ticket");
        assert!(!r.created_ticket);
        fresh += usize::from(!r.duplicate);
    }
    assert_eq!(fresh, 30, "each photo stored by exactly one delivery");
    let msgs =
        f.hd.messages(f.org.id, &Actor::System, first.ticket_id)
            .await
            .unwrap();
    let inbound: HashSet<_> = msgs
        .iter()
        .filter(|m| m.direction == Direction::Inbound)
        .map(|m| m.external_id.clone().unwrap())
        .collect();
    assert_eq!(inbound.len(), 31);
    assert_eq!(
        msgs.iter()
            .filter(|m| m.direction == Direction::Inbound)
            .count(),
        31,
        "no photo stored twice"
    );
    let after =
        f.hd.ticket(f.org.id, &Actor::System, first.ticket_id)
            .await
            .unwrap();
    assert_eq!(
        after.version,
        before.version + 30,
        "one ticket update per photo"
    );
    assert_eq!(
        after.last_customer_message_at,
        Some(t0() + Duration::seconds(30)),
        "the latest photo's instant, whatever order they landed in"
    );
    let added = f
        .events()
        .await
        .iter()
        .filter(|e| e.kind == EventKind::MessageAdded && e.payload["direction"] == "inbound")
        .count();
    assert_eq!(added, 31, "message.added once per photo");
}

/// Generates one `#[tokio::test]` per conformance case for the store built by `$make`
/// (an expression of type `impl Future<Output = Arc<dyn Store>>`, evaluated once per case).
#[macro_export]
macro_rules! store_conformance_tests {
    ($make:expr) => {
        $crate::store_conformance_tests!(@cases $make;
            same_inbound_message_delivered_50_times_at_once_is_stored_once,
            fifty_messages_from_a_new_contact_at_once_make_one_contact_and_one_ticket,
            round_robin_over_1000_tickets_from_8_tasks_is_exact,
            assignment_never_exceeds_capacity,
            ticket_numbers_are_unique_increasing_and_gap_free_per_tenant,
            another_tenants_ids_are_not_found,
            dropped_transaction_leaves_no_trace,
            store_constraints_refuse_duplicates_and_stale_versions,
            taken_keys_name_the_same_entity_on_every_store,
            delivery_status_never_moves_backwards,
            listing_filters_paginates_and_counts_facets,
            failed_workflow_writes_nothing,
            events_are_committed_in_order_with_their_change,
            outbox_relay_delivers_each_event_once_across_relays,
            reports_agree_with_the_reference_semantics,
            inbound_fast_path_leaves_what_the_workflow_leaves,
            album_of_messages_at_once_on_a_live_ticket_is_stored_once_each,
            configuration_changes_and_removals_keep_tickets_whole,
            a_transaction_reads_its_own_writes,
            reads_after_a_lock_see_what_the_holder_committed,
            sla_policy_targets_reach_tickets_as_configured,
            deleting_a_policy_keeps_its_tickets_clocks,
            transferred_and_older_tickets_get_clocks_as_documented,
            clocks_start_when_the_customer_wrote,
            sla_state_says_when_each_clock_is_due,
            reopening_follows_the_queue_setting,
            retargeting_keeps_what_already_happened,
            a_scan_goes_past_tickets_without_clocks,
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let store: ::std::sync::Arc<dyn $crate::store::Store> = $make.await;
                $crate::testing::conformance::$case(store).await;
            }
        )*
    };
}
