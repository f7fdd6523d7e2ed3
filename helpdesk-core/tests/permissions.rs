//! Who may do what: each role's allowed and refused actions.

#![allow(clippy::unwrap_used)]

use helpdesk_core::ErrorKind;
use helpdesk_core::actor::{Actor, BotAction, BotPermissions};
use helpdesk_core::domain::message::MessageContent;
use helpdesk_core::domain::team::{AutoReplies, Distribution, Presence, Role};
use helpdesk_core::memory::MemoryStore;
use helpdesk_core::service::*;
use helpdesk_core::testing::conformance::Fixture;
use std::sync::Arc;

struct World {
    f: Fixture,
    other_queue: helpdesk_core::domain::team::Queue,
    agent: Actor,
    outsider: Actor,
    supervisor: Actor,
    ticket: helpdesk_core::domain::ticket::Ticket,
    other_ticket: helpdesk_core::domain::ticket::Ticket,
}

async fn world() -> World {
    let f = Fixture::new(Arc::new(MemoryStore::new()), 0, 1).await;
    let mk = |name: &str, role: Role| NewAgent {
        name: name.into(),
        email: format!("{}@example.com", name.to_lowercase()),
        role,
        capacity: 10,
        presence: Presence::Online,
    };
    let other_queue =
        f.hd.create_queue(
            f.org.id,
            &f.admin,
            NewQueue {
                distribution: Distribution::Manual,
                auto_replies: AutoReplies::default(),
                ..NewQueue::new("Comercial")
            },
        )
        .await
        .unwrap();
    let agent =
        f.hd.create_agent(f.org.id, &f.admin, mk("Ana", Role::Agent))
            .await
            .unwrap();
    let outsider =
        f.hd.create_agent(f.org.id, &f.admin, mk("Otto", Role::Agent))
            .await
            .unwrap();
    let supervisor =
        f.hd.create_agent(f.org.id, &f.admin, mk("Sara", Role::Supervisor))
            .await
            .unwrap();
    f.hd.add_queue_member(f.org.id, &f.admin, f.queue.id, agent.id, vec![])
        .await
        .unwrap();
    f.hd.add_queue_member(f.org.id, &f.admin, f.queue.id, supervisor.id, vec![])
        .await
        .unwrap();
    f.hd.add_queue_member(f.org.id, &f.admin, other_queue.id, outsider.id, vec![])
        .await
        .unwrap();
    // Ana takes everything in Suporte (round robin, Sara offline for now).
    f.hd.set_presence(f.org.id, &Actor::System, supervisor.id, Presence::Offline)
        .await
        .unwrap();
    let ticket =
        f.hd.create_ticket(f.org.id, &Actor::System, NewTicket::new(f.lead(1)))
            .await
            .unwrap();
    let other_ticket =
        f.hd.create_ticket(
            f.org.id,
            &Actor::System,
            NewTicket {
                queue_id: Some(other_queue.id),
                ..NewTicket::new(f.lead(2))
            },
        )
        .await
        .unwrap();
    assert_eq!(ticket.assignee_id, Some(agent.id));
    World {
        f,
        other_queue,
        agent: Actor::agent(agent.id),
        outsider: Actor::agent(outsider.id),
        supervisor: Actor::agent(supervisor.id),
        ticket,
        other_ticket,
    }
}

fn forbidden<T: std::fmt::Debug>(r: helpdesk_core::Result<T>) {
    assert_eq!(r.unwrap_err().kind(), ErrorKind::Forbidden);
}

#[tokio::test]
async fn agents_work_tickets_of_their_queues_only() {
    let w = world().await;
    let (f, org) = (&w.f, w.f.org.id);
    f.hd.reply(org, &w.agent, w.ticket.id, MessageContent::text("oi"))
        .await
        .unwrap();
    f.hd.add_note(org, &w.agent, w.ticket.id, "nota")
        .await
        .unwrap();
    f.hd.classify(org, &w.agent, w.ticket.id, "SUPORTE", "LENTIDÃO")
        .await
        .unwrap();
    f.hd.set_pending(org, &w.agent, w.ticket.id).await.unwrap();
    forbidden(
        f.hd.reply(org, &w.agent, w.other_ticket.id, MessageContent::text("oi"))
            .await,
    );
    forbidden(f.hd.ticket(org, &w.agent, w.other_ticket.id).await);
    forbidden(
        f.hd.reply(org, &w.outsider, w.ticket.id, MessageContent::text("oi"))
            .await,
    );
    let page =
        f.hd.list_tickets(org, &w.agent, ListTickets::default())
            .await
            .unwrap();
    assert_eq!(
        page.items.iter().map(|s| s.ticket.id).collect::<Vec<_>>(),
        [w.ticket.id],
        "listing shows only visible tickets"
    );
}

#[tokio::test]
async fn agents_take_and_release_but_do_not_reassign_or_transfer() {
    let w = world().await;
    let (f, org) = (&w.f, w.f.org.id);
    let outsider_id = w.outsider.agent_id().unwrap();
    forbidden(
        f.hd.assign(org, &w.agent, w.ticket.id, w.supervisor.agent_id().unwrap())
            .await,
    );
    forbidden(
        f.hd.transfer(org, &w.agent, w.ticket.id, w.other_queue.id)
            .await,
    );
    forbidden(
        f.hd.merge(org, &w.agent, w.ticket.id, w.other_ticket.id)
            .await,
    );
    // The outsider takes the unassigned ticket of their own queue, then releases it.
    f.hd.assign(org, &w.outsider, w.other_ticket.id, outsider_id)
        .await
        .unwrap();
    forbidden(f.hd.unassign(org, &w.agent, w.other_ticket.id).await);
    f.hd.unassign(org, &w.outsider, w.other_ticket.id)
        .await
        .unwrap();
    forbidden(f.hd.create_queue(org, &w.agent, NewQueue::new("X")).await);
    forbidden(
        f.hd.set_presence(org, &w.agent, outsider_id, Presence::Away)
            .await,
    );
    f.hd.set_presence(org, &w.agent, w.agent.agent_id().unwrap(), Presence::Away)
        .await
        .unwrap();
}

#[tokio::test]
async fn supervisors_reassign_and_transfer_within_their_queues() {
    let w = world().await;
    let (f, org) = (&w.f, w.f.org.id);
    let sup = w.supervisor.agent_id().unwrap();
    f.hd.assign(org, &w.supervisor, w.ticket.id, sup)
        .await
        .unwrap();
    forbidden(
        f.hd.transfer(org, &w.supervisor, w.ticket.id, w.other_queue.id)
            .await,
    );
    forbidden(
        f.hd.reply(
            org,
            &w.supervisor,
            w.other_ticket.id,
            MessageContent::text("oi"),
        )
        .await,
    );
    forbidden(
        f.hd.create_agent(
            org,
            &w.supervisor,
            NewAgent {
                name: "Z".into(),
                email: "z@example.com".into(),
                role: Role::Agent,
                capacity: 1,
                presence: Presence::Online,
            },
        )
        .await,
    );
    let second =
        f.hd.create_queue(org, &f.admin, NewQueue::new("Suporte N2"))
            .await
            .unwrap();
    f.hd.add_queue_member(org, &f.admin, second.id, sup, vec![])
        .await
        .unwrap();
    let t =
        f.hd.transfer(org, &w.supervisor, w.ticket.id, second.id)
            .await
            .unwrap();
    assert_eq!(t.queue_id, Some(second.id));
}

#[tokio::test]
async fn admins_do_everything_in_their_organization() {
    let w = world().await;
    let (f, org) = (&w.f, w.f.org.id);
    f.hd.transfer(org, &f.admin, w.ticket.id, w.other_queue.id)
        .await
        .unwrap();
    f.hd.assign(org, &f.admin, w.ticket.id, w.outsider.agent_id().unwrap())
        .await
        .unwrap();
    f.hd.merge(org, &f.admin, w.other_ticket.id, w.ticket.id)
        .await
        .unwrap_err(); // different contacts: invalid, not forbidden
    f.hd.resolve(org, &f.admin, w.ticket.id).await.unwrap();
    f.hd.rate(org, &f.admin, w.ticket.id, 3, None)
        .await
        .unwrap();
}

#[tokio::test]
async fn bots_do_only_what_their_integrator_allows() {
    let w = world().await;
    let (f, org) = (&w.f, w.f.org.id);
    let bot = Actor::bot("assistente");
    f.hd.classify(org, &bot, w.ticket.id, "FINANCEIRO", "PAGAMENTO")
        .await
        .unwrap();
    f.hd.add_note(org, &bot, w.ticket.id, "resumo")
        .await
        .unwrap();
    f.hd.reply(
        org,
        &bot,
        w.ticket.id,
        MessageContent::text("Recebi seu comprovante"),
    )
    .await
    .unwrap();
    f.hd.transfer(org, &bot, w.ticket.id, w.other_queue.id)
        .await
        .unwrap();
    forbidden(f.hd.resolve(org, &bot, w.ticket.id).await);
    forbidden(
        f.hd.assign(org, &bot, w.ticket.id, w.outsider.agent_id().unwrap())
            .await,
    );
    forbidden(f.hd.create_queue(org, &bot, NewQueue::new("B")).await);
    let narrow = Actor::Bot {
        name: "triagem".into(),
        permissions: BotPermissions(vec![BotAction::View, BotAction::Classify]),
    };
    forbidden(
        f.hd.reply(org, &narrow, w.ticket.id, MessageContent::text("oi"))
            .await,
    );
    f.hd.classify(org, &narrow, w.ticket.id, "SUPORTE", "SEM INTERNET")
        .await
        .unwrap();
}

#[tokio::test]
async fn customers_see_and_rate_their_own_tickets_only() {
    let w = world().await;
    let (f, org) = (&w.f, w.f.org.id);
    let me = Actor::Customer {
        id: w.ticket.contact_id,
    };
    f.hd.ticket(org, &me, w.ticket.id).await.unwrap();
    forbidden(f.hd.ticket(org, &me, w.other_ticket.id).await);
    forbidden(
        f.hd.reply(org, &me, w.ticket.id, MessageContent::text("oi"))
            .await,
    );
    forbidden(f.hd.resolve(org, &me, w.ticket.id).await);
    let mine =
        f.hd.list_tickets(org, &me, ListTickets::default())
            .await
            .unwrap();
    assert_eq!(mine.total, 1);
}

#[tokio::test]
async fn unknown_or_deactivated_agents_are_refused() {
    let w = world().await;
    let (f, org) = (&w.f, w.f.org.id);
    let ghost = Actor::agent(helpdesk_core::ids::AgentId::new());
    forbidden(
        f.hd.reply(org, &ghost, w.ticket.id, MessageContent::text("oi"))
            .await,
    );
    forbidden(f.hd.list_tickets(org, &ghost, ListTickets::default()).await);
    // A deactivated agent reads nothing any more: not the list, not a customer.
    let contact = w.ticket.contact_id;
    assert!(f.hd.contact(org, &w.agent, contact).await.is_ok());
    let Actor::Agent { id } = w.agent else {
        unreachable!()
    };
    f.hd.update_agent(
        org,
        &f.admin,
        id,
        helpdesk_core::service::AgentChanges {
            active: Some(false),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    forbidden(
        f.hd.list_tickets(org, &w.agent, ListTickets::default())
            .await,
    );
    forbidden(f.hd.board(org, &w.agent).await);
    forbidden(f.hd.contact(org, &w.agent, contact).await);
    forbidden(f.hd.ticket(org, &w.agent, w.ticket.id).await);
}

#[tokio::test]
async fn contacts_are_read_by_those_who_may_see_their_tickets() {
    use helpdesk_core::domain::party::ContactKey;
    use helpdesk_core::domain::phone::{PhoneNumber, PhoneRegion};
    use helpdesk_core::{Entity, Error};
    let w = world().await;
    let org = w.f.org.id;
    let mine = w.ticket.contact_id;
    let theirs = w.other_ticket.contact_id;
    let key_of = |n: usize| {
        let phone = w.f.lead(n).phone.unwrap();
        ContactKey::Phone(PhoneNumber::parse(&phone, PhoneRegion::BR).unwrap())
    };
    // Ana (Suporte) sees her ticket's customer, not Comercial's, by id or by phone; an
    // unseen contact looks exactly like an unknown one.
    assert_eq!(w.f.hd.contact(org, &w.agent, mine).await.unwrap().id, mine);
    assert!(matches!(
        w.f.hd.contact(org, &w.agent, theirs).await,
        Err(Error::NotFound {
            entity: Entity::Contact,
            ..
        })
    ));
    let found =
        w.f.hd
            .find_contact(org, &w.agent, &key_of(1))
            .await
            .unwrap();
    assert_eq!(found.map(|c| c.id), Some(mine));
    assert_eq!(
        w.f.hd
            .find_contact(org, &w.agent, &key_of(2))
            .await
            .unwrap(),
        None
    );
    // Otto (Comercial) the other way round.
    assert!(w.f.hd.contact(org, &w.outsider, theirs).await.is_ok());
    assert!(w.f.hd.contact(org, &w.outsider, mine).await.is_err());
    // Admins and the system see everyone; a customer sees itself only.
    for all in [&w.f.admin, &Actor::System] {
        assert!(w.f.hd.contact(org, all, theirs).await.is_ok());
        assert!(
            w.f.hd
                .find_contact(org, all, &key_of(1))
                .await
                .unwrap()
                .is_some()
        );
    }
    let customer = Actor::Customer { id: mine };
    assert!(w.f.hd.contact(org, &customer, mine).await.is_ok());
    assert!(w.f.hd.contact(org, &customer, theirs).await.is_err());
    // A bot that may not view tickets may not read contacts.
    let blind = Actor::Bot {
        name: "cego".into(),
        permissions: BotPermissions(vec![BotAction::Reply]),
    };
    forbidden(w.f.hd.contact(org, &blind, mine).await);
    forbidden(w.f.hd.find_contact(org, &blind, &key_of(1)).await);
    // Editing is reading too: Ana may edit her customer, not one she may not see (which
    // looks unknown, and stays unchanged).
    let vip = || helpdesk_core::service::ContactPatch {
        vip: Some(true),
        ..Default::default()
    };
    assert!(
        w.f.hd
            .update_contact(org, &w.agent, mine, vip())
            .await
            .unwrap()
            .vip
    );
    assert!(matches!(
        w.f.hd.update_contact(org, &w.agent, theirs, vip()).await,
        Err(Error::NotFound {
            entity: Entity::Contact,
            ..
        })
    ));
    assert!(!w.f.hd.contact(org, &w.f.admin, theirs).await.unwrap().vip);
}

#[tokio::test]
async fn a_desk_handle_acts_as_its_actor_in_its_tenant() {
    use helpdesk_core::ErrorKind;
    let w = world().await;
    let org = w.f.org.id;
    let ana = w.f.hd.desk(org, w.agent.clone());
    assert_eq!((ana.org(), ana.actor()), (org, &w.agent));
    // What Ana may do through the long form she may do through her desk, and nothing more.
    assert_eq!(ana.ticket(w.ticket.id).await.unwrap().id, w.ticket.id);
    ana.reply(w.ticket.id, MessageContent::text("Olá"))
        .await
        .unwrap();
    forbidden(ana.ticket(w.other_ticket.id).await);
    forbidden(ana.transfer(w.ticket.id, w.other_queue.id).await);
    forbidden(ana.create_queue(NewQueue::new("Proibida")).await);
    let listed = ana.list_tickets(ListTickets::default()).await.unwrap();
    assert!(
        listed
            .items
            .iter()
            .all(|t| t.ticket.queue_id == Some(w.f.queue.id))
    );
    // The same handle as someone else, and in another tenant nothing is found.
    let admin = ana.as_actor(w.f.admin.clone());
    assert!(admin.ticket(w.other_ticket.id).await.is_ok());
    let other = Fixture::new(w.f.hd.store().clone(), 0, 1).await;
    let elsewhere = w.f.hd.desk(other.org.id, Actor::System);
    assert_eq!(
        elsewhere.ticket(w.ticket.id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}
