//! Property: random operation sequences never reach an invalid state, every successful status
//! change emits exactly one event, refused moves change nothing, and agents' open-ticket
//! counts always equal what is assigned to them.

#![allow(clippy::unwrap_used)]

use helpdesk_core::actor::Actor;
use helpdesk_core::domain::message::MessageContent;
use helpdesk_core::domain::records::EventKind;
use helpdesk_core::domain::ticket::TicketStatus;
use helpdesk_core::memory::MemoryStore;
use helpdesk_core::testing::conformance::Fixture;
use proptest::prelude::*;
use std::sync::Arc;

#[derive(Debug, Clone)]
enum Op {
    Move(TicketStatus),
    Inbound,
    Reply,
    Assign(usize),
    Unassign,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => prop::sample::select(TicketStatus::ALL.to_vec()).prop_map(Op::Move),
        2 => Just(Op::Inbound),
        1 => Just(Op::Reply),
        1 => (0usize..2).prop_map(Op::Assign),
        1 => Just(Op::Unassign),
    ]
}

fn status_events(ev: &[helpdesk_core::domain::records::Event]) -> usize {
    ev.iter()
        .filter(|e| {
            matches!(
                e.kind,
                EventKind::TicketStatusChanged
                    | EventKind::TicketResolved
                    | EventKind::TicketClosed
            )
        })
        .count()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn random_operations_keep_the_lifecycle_valid(ops in prop::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async move {
            let f = Fixture::new(Arc::new(MemoryStore::new()), 2, 100).await;
            let org = f.org.id;
            let first = f.hd.ingest(f.inbound("w0", "5511999990000", "oi")).await.unwrap();
            let mut id = first.ticket_id;
            let mut n = 1;
            for op in ops {
                let before = f.hd.ticket(org, &Actor::System, id).await.unwrap();
                let ev_before = status_events(&f.events().await);
                let mut expected_status = before.status;
                let result = match op {
                    Op::Move(to) => {
                        if before.status.can_move_to(to) { expected_status = to; }
                        f.hd.change_status(org, &f.admin, id, to).await.map(|_| ())
                    }
                    Op::Inbound => {
                        n += 1;
                        let r = f.hd.ingest(f.inbound(&format!("w{n}"), "5511999990000", "msg")).await.unwrap();
                        if before.status == TicketStatus::Closed {
                            assert!(r.created_ticket, "a message after close opens a new ticket");
                            id = r.ticket_id;
                            expected_status = TicketStatus::New;
                        } else {
                            assert_eq!(r.ticket_id, id, "a live ticket continues");
                            if matches!(before.status, TicketStatus::Pending | TicketStatus::Resolved) { expected_status = TicketStatus::Open; }
                        }
                        Ok(())
                    }
                    Op::Reply => {
                        let r = f.hd.reply(org, &Actor::agent(f.agents[0].id), id, MessageContent::text("ok")).await;
                        if r.is_ok() && before.status == TicketStatus::New { expected_status = TicketStatus::Open; }
                        r.map(|_| ())
                    }
                    Op::Assign(i) => f.hd.assign(org, &f.admin, id, f.agents[i].id).await.map(|_| ()),
                    Op::Unassign => f.hd.unassign(org, &f.admin, id).await.map(|_| ()),
                };
                let after = f.hd.ticket(org, &Actor::System, id).await.unwrap();
                assert_eq!(after.status, expected_status, "{op:?} from {:?}: {result:?}", before.status);
                let ev_after = status_events(&f.events().await);
                let changed = after.id == before.id && after.status != before.status;
                let opened_new = after.id != before.id;
                if changed {
                    assert_eq!(ev_after - ev_before, 1, "{op:?}: exactly one event per status change");
                } else if !opened_new {
                    assert_eq!(ev_after, ev_before, "{op:?}: no status event without a change");
                }
                if let (Op::Move(_), Err(_)) = (&op, &result) {
                    assert_eq!(after.version, before.version, "a refused move writes nothing");
                }
                // Loads always match assignments.
                let tickets = f.all_tickets().await;
                for a in f.hd.agents(org).await.unwrap() {
                    let load = tickets.iter().filter(|s| s.ticket.assignee_id == Some(a.id) && s.ticket.status.counts_as_load()).count();
                    assert_eq!(a.open_tickets as usize, load, "load of {}", a.name);
                    assert!(a.open_tickets <= a.capacity);
                }
                let live = tickets.iter().filter(|s| s.ticket.status.is_live()).count();
                assert!(live <= 1, "one live ticket per conversation");
            }
        });
    }
}
