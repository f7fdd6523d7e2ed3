//! SLA clocks on tickets, driven through the service: start, meet, pause, resume, retarget,
//! and the scan's warning / breach events.

#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use helpdesk_core::actor::Actor;
use helpdesk_core::domain::message::MessageContent;
use helpdesk_core::domain::records::EventKind;
use helpdesk_core::domain::ticket::Priority;
use helpdesk_core::memory::MemoryStore;
use helpdesk_core::service::*;
use helpdesk_core::sla::clock::SlaMetric;
use helpdesk_core::sla::{CalendarSpec, SlaStatus, SlaTargets};
use helpdesk_core::testing::conformance::{Fixture, t0};
use std::sync::Arc;

async fn fixture_with(policy: NewSlaPolicy) -> Fixture {
    let f = Fixture::new(Arc::new(MemoryStore::new()), 1, 50).await;
    f.hd.create_sla_policy(f.org.id, &f.admin, policy)
        .await
        .unwrap();
    f
}

fn sla_events(ev: &[helpdesk_core::domain::records::Event]) -> Vec<(EventKind, String)> {
    ev.iter()
        .filter(|e| matches!(e.kind, EventKind::SlaWarning | EventKind::SlaBreached))
        .map(|e| {
            (
                e.kind,
                e.payload["metric"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn sp(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h + 3, mi, 0).unwrap()
}

#[tokio::test]
async fn first_response_is_counted_in_business_seconds() {
    let hours = CalendarSpec::weekdays(chrono_tz::America::Sao_Paulo, "09:00", "18:00").unwrap();
    let f = fixture_with(
        NewSlaPolicy::seed("Comercial")
            .with_business_hours(hours)
            .as_default(),
    )
    .await;
    // Friday 2026-03-06 17:00 São Paulo; the agent answers Monday 09:30.
    f.clock.set(sp(2026, 3, 6, 17, 0));
    let r =
        f.hd.ingest(f.inbound("w1", "5511999991001", "oi"))
            .await
            .unwrap();
    f.clock.set(sp(2026, 3, 9, 9, 30));
    f.hd.reply(
        f.org.id,
        &Actor::agent(f.agents[0].id),
        r.ticket_id,
        MessageContent::text("Bom dia"),
    )
    .await
    .unwrap();
    let t = f.hd.ticket(f.org.id, &f.admin, r.ticket_id).await.unwrap();
    assert_eq!(
        t.sla.as_ref().unwrap().first_response_secs(),
        Some(5400),
        "1 h on Friday + 30 min on Monday"
    );
    let view =
        f.hd.sla_state(f.org.id, &f.admin, t.id)
            .await
            .unwrap()
            .unwrap();
    let fr = view
        .clocks
        .iter()
        .find(|v| v.metric == SlaMetric::FirstResponse)
        .unwrap();
    assert_eq!(fr.met_at, Some(sp(2026, 3, 9, 9, 30)));
    assert_eq!(fr.status, SlaStatus::OnTrack, "medium: 8 business hours");
    // Resolution (24 business hours) is due after 23.5 more business hours from Monday 09:30.
    let res = view
        .clocks
        .iter()
        .find(|v| v.metric == SlaMetric::Resolution)
        .unwrap();
    assert_eq!(res.used_secs, 5400);
}

#[tokio::test]
async fn pending_pauses_every_clock_and_paused_time_never_counts() {
    let f = fixture_with(NewSlaPolicy::seed("Padrão").as_default()).await; // 24 × 7
    let agent = Actor::agent(f.agents[0].id);
    let r =
        f.hd.ingest(f.inbound("w1", "5511999991002", "oi"))
            .await
            .unwrap();
    f.clock.set(t0() + Duration::hours(2));
    f.hd.reply(
        f.org.id,
        &agent,
        r.ticket_id,
        MessageContent::text("precisa reiniciar o modem"),
    )
    .await
    .unwrap();
    f.hd.set_pending(f.org.id, &agent, r.ticket_id)
        .await
        .unwrap();
    let paused = f.hd.ticket(f.org.id, &agent, r.ticket_id).await.unwrap();
    assert_eq!(paused.sla_wake_at, None, "nothing to wake for while paused");
    f.clock.set(t0() + Duration::hours(30));
    f.hd.ingest(f.inbound("w2", "5511999991002", "reiniciei, nada"))
        .await
        .unwrap(); // leaves Pending
    f.clock.set(t0() + Duration::hours(31));
    let t = f.hd.resolve(f.org.id, &agent, r.ticket_id).await.unwrap();
    assert_eq!(
        t.sla.as_ref().unwrap().resolution_secs(),
        Some(3 * 3600),
        "2 h before the pause + 1 h after"
    );
    assert!(
        sla_events(&f.events().await).is_empty(),
        "24 h resolution target was never at risk"
    );
    // Reopening resumes the resolution clock where it stopped.
    f.clock.set(t0() + Duration::hours(40));
    f.hd.reopen(f.org.id, &agent, r.ticket_id).await.unwrap();
    f.clock.set(t0() + Duration::hours(41));
    let view =
        f.hd.sla_state(f.org.id, &agent, r.ticket_id)
            .await
            .unwrap()
            .unwrap();
    let res = view
        .clocks
        .iter()
        .find(|v| v.metric == SlaMetric::Resolution)
        .unwrap();
    assert_eq!(res.used_secs, 4 * 3600);
    assert!(res.running);
}

#[tokio::test]
async fn scan_emits_warning_then_breach_once_per_clock() {
    let f = fixture_with(NewSlaPolicy::seed("Padrão").as_default()).await;
    let r =
        f.hd.ingest(f.inbound("w1", "5511999991003", "urgente"))
            .await
            .unwrap();
    f.hd.update_ticket(
        f.org.id,
        &f.admin,
        r.ticket_id,
        TicketPatch {
            priority: Some(Priority::Urgent),
            ..TicketPatch::default()
        },
    )
    .await
    .unwrap();
    // Urgent: first response 1 h (at risk at 48 min), resolution 4 h (at risk at 3 h 12 min).
    assert_eq!(
        f.hd.next_sla_wake().await.unwrap(),
        Some(t0() + Duration::minutes(48))
    );
    assert_eq!(
        f.hd.scan_sla(t0() + Duration::minutes(47)).await.unwrap(),
        SlaScan::default()
    );
    let s = f.hd.scan_sla(t0() + Duration::minutes(48)).await.unwrap();
    assert_eq!((s.warnings, s.breaches), (1, 0));
    assert_eq!(
        f.hd.scan_sla(t0() + Duration::minutes(50))
            .await
            .unwrap()
            .warnings,
        0,
        "once"
    );
    assert_eq!(
        f.hd.next_sla_wake().await.unwrap(),
        Some(t0() + Duration::hours(1))
    );
    let s = f.hd.scan_sla(t0() + Duration::hours(1)).await.unwrap();
    assert_eq!((s.warnings, s.breaches), (0, 1));
    assert_eq!(
        f.hd.scan_sla(t0() + Duration::hours(2))
            .await
            .unwrap()
            .breaches,
        0,
        "once"
    );
    // A late scan that finds the resolution clock already breached emits only the breach.
    let s = f.hd.scan_sla(t0() + Duration::hours(5)).await.unwrap();
    assert_eq!((s.warnings, s.breaches), (0, 1));
    assert_eq!(
        sla_events(&f.events().await),
        [
            (EventKind::SlaWarning, "first_response".to_owned()),
            (EventKind::SlaBreached, "first_response".to_owned()),
            (EventKind::SlaBreached, "resolution".to_owned()),
        ]
    );
    assert_eq!(f.hd.next_sla_wake().await.unwrap(), None);
}

#[tokio::test]
async fn next_response_cycle_starts_after_a_customer_message_that_follows_an_agent_reply() {
    let f = fixture_with(
        NewSlaPolicy::new(
            "Padrão",
            SlaTargets::NONE
                .with_first_response(Duration::hours(1))
                .with_next_response(Duration::minutes(30))
                .with_resolution(Duration::hours(24)),
        )
        .as_default(),
    )
    .await;
    let agent = Actor::agent(f.agents[0].id);
    let r =
        f.hd.ingest(f.inbound("w1", "5511999991004", "oi"))
            .await
            .unwrap();
    f.hd.ingest(f.inbound("w2", "5511999991004", "alô?"))
        .await
        .unwrap();
    let t = f.hd.ticket(f.org.id, &agent, r.ticket_id).await.unwrap();
    assert!(
        t.sla.as_ref().unwrap().next_response.is_none(),
        "no agent reply yet: first response covers it"
    );
    f.clock.set(t0() + Duration::minutes(10));
    f.hd.reply(f.org.id, &agent, r.ticket_id, MessageContent::text("Olá"))
        .await
        .unwrap();
    f.clock.set(t0() + Duration::minutes(20));
    f.hd.ingest(f.inbound("w3", "5511999991004", "e agora?"))
        .await
        .unwrap();
    f.clock.set(t0() + Duration::minutes(25));
    f.hd.ingest(f.inbound("w4", "5511999991004", "??"))
        .await
        .unwrap();
    let t = f.hd.ticket(f.org.id, &agent, r.ticket_id).await.unwrap();
    let nr = t.sla.as_ref().unwrap().next_response.clone().unwrap();
    assert_eq!(
        nr.started_at,
        t0() + Duration::minutes(20),
        "the cycle starts at the first unanswered message"
    );
    assert_eq!(nr.due_at, Some(t0() + Duration::minutes(50)));
    f.clock.set(t0() + Duration::minutes(30));
    f.hd.reply(
        f.org.id,
        &agent,
        r.ticket_id,
        MessageContent::text("verificando"),
    )
    .await
    .unwrap();
    let t = f.hd.ticket(f.org.id, &agent, r.ticket_id).await.unwrap();
    assert_eq!(
        t.sla
            .as_ref()
            .unwrap()
            .next_response
            .as_ref()
            .unwrap()
            .met_at,
        Some(t0() + Duration::minutes(30))
    );
}

#[tokio::test]
async fn a_queue_policy_applies_to_tickets_transferred_into_it() {
    let f = fixture_with(NewSlaPolicy::seed("Padrão").as_default()).await;
    let vip =
        f.hd.create_sla_policy(
            f.org.id,
            &f.admin,
            NewSlaPolicy::new(
                "VIP",
                SlaTargets::replies_within(Duration::minutes(15))
                    .with_resolution(Duration::hours(2)),
            ),
        )
        .await
        .unwrap();
    let q =
        f.hd.create_queue(f.org.id, &f.admin, NewQueue::new("VIP"))
            .await
            .unwrap();
    f.hd.set_queue_sla_policy(f.org.id, &f.admin, q.id, Some(vip.id))
        .await
        .unwrap();
    let r =
        f.hd.ingest(f.inbound("w1", "5511999991005", "oi"))
            .await
            .unwrap();
    let t = f.hd.ticket(f.org.id, &f.admin, r.ticket_id).await.unwrap();
    assert_eq!(
        t.sla
            .as_ref()
            .unwrap()
            .first_response
            .as_ref()
            .unwrap()
            .target_secs,
        8 * 3600,
        "tenant default, medium"
    );
    f.clock.set(t0() + Duration::minutes(5));
    let t =
        f.hd.transfer(f.org.id, &f.admin, r.ticket_id, q.id)
            .await
            .unwrap();
    let sla = t.sla.unwrap();
    assert_eq!(sla.policy_id, vip.id);
    let fr = sla.first_response.unwrap();
    assert_eq!(fr.target_secs, 900);
    assert_eq!(
        fr.due_at,
        Some(t0() + Duration::minutes(15)),
        "time already used still counts"
    );
}

#[tokio::test]
async fn invalid_policies_are_refused() {
    let f = Fixture::new(Arc::new(MemoryStore::new()), 0, 1).await;
    let bad = NewSlaPolicy::seed("Padrão").with_at_risk(1.5);
    assert_eq!(
        f.hd.create_sla_policy(f.org.id, &f.admin, bad)
            .await
            .unwrap_err()
            .field(),
        Some("at_risk")
    );
    let bad = NewSlaPolicy::new(
        "Zero",
        SlaTargets {
            first_response: Some(0),
            ..SlaTargets::default()
        },
    );
    assert_eq!(
        f.hd.create_sla_policy(f.org.id, &f.admin, bad)
            .await
            .unwrap_err()
            .field(),
        Some("targets.first_response")
    );
    assert!(
        f.hd.create_sla_policy(f.org.id, &Actor::bot("x"), NewSlaPolicy::seed("Padrão"))
            .await
            .is_err()
    );
}
