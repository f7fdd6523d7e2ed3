//! SLA cases: what a user configures is what tickets run under, on every store.

use super::*;
use crate::sla::{CalendarSpec, SlaTargets};

/// São Paulo wall-clock time (UTC-3, no DST since 2019).
fn sp(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h + 3, mi, 0).unwrap()
}

fn business_hours() -> CalendarSpec {
    CalendarSpec::weekdays(chrono_tz::America::Sao_Paulo, "09:00", "18:00").unwrap()
}

/// This tenant's `sla.warning` and `sla.breached` events so far. (Cases scan their own tenant
/// only: they share the database with other cases.)
async fn sla_events(f: &Fixture) -> (usize, usize) {
    let ev = f.events().await;
    let n = |k: EventKind| ev.iter().filter(|e| e.kind == k).count();
    (n(EventKind::SlaWarning), n(EventKind::SlaBreached))
}

fn first_response_target(t: &crate::domain::ticket::Ticket) -> Option<i64> {
    t.sla
        .as_ref()
        .and_then(|s| s.first_response.as_ref())
        .map(|c| c.target_secs)
}

/// A new queue named `name` whose tickets run under `policy`.
async fn queue_under(f: &Fixture, name: &str, policy: SlaPolicyId) -> crate::domain::team::Queue {
    let q =
        f.hd.create_queue(f.org.id, &f.admin, NewQueue::new(name))
            .await
            .unwrap();
    f.hd.set_queue_sla_policy(f.org.id, &f.admin, q.id, Some(policy))
        .await
        .unwrap();
    q
}

pub async fn sla_policy_targets_reach_tickets_as_configured(store: Arc<dyn Store>) {
    let f = Fixture::new(store, 1, 10).await;
    let (org, admin) = (f.org.id, &f.admin);
    let base =
        f.hd.create_sla_policy(
            org,
            admin,
            NewSlaPolicy::new(
                "Base",
                SlaTargets::replies_within(chrono::Duration::hours(8))
                    .with_resolution(chrono::Duration::hours(24)),
            )
            .as_default(),
        )
        .await
        .unwrap();
    // Only the policy's own targets: the per-priority table stays empty unless given.
    let two =
        f.hd.create_sla_policy(
            org,
            admin,
            NewSlaPolicy::new(
                "Duas horas",
                SlaTargets::replies_within(chrono::Duration::hours(2))
                    .with_resolution(chrono::Duration::hours(8)),
            ),
        )
        .await
        .unwrap();
    assert!(
        !two.is_default,
        "a policy created without is_default leaves the tenant's default alone"
    );
    let policies = f.hd.sla_policies(org).await.unwrap();
    assert!(
        policies.iter().any(|p| p.id == base.id && p.is_default),
        "the first default stays the default: {policies:?}"
    );
    f.hd.set_queue_sla_policy(org, admin, f.queue.id, Some(two.id))
        .await
        .unwrap();
    let r =
        f.hd.ingest(f.whatsapp("w1", "5511999990001", "oi"))
            .await
            .unwrap();
    let t = f.hd.ticket(org, admin, r.ticket_id).await.unwrap();
    assert_eq!(
        first_response_target(&t),
        Some(7200),
        "a 2-hour policy gives its tickets 2 hours"
    );
    assert_eq!(
        t.sla
            .as_ref()
            .unwrap()
            .resolution
            .as_ref()
            .unwrap()
            .target_secs,
        8 * 3600
    );
}

pub async fn deleting_a_policy_keeps_its_tickets_clocks(store: Arc<dyn Store>) {
    let f = Fixture::new(store, 1, 10).await;
    let (org, admin) = (f.org.id, &f.admin);
    let p =
        f.hd.create_sla_policy(
            org,
            admin,
            NewSlaPolicy::new(
                "Comercial",
                SlaTargets::replies_within(chrono::Duration::hours(2))
                    .with_resolution(chrono::Duration::hours(16)),
            )
            .with_business_hours(business_hours())
            .as_default(),
        )
        .await
        .unwrap();
    // Friday 17:00: one business hour left this week, so 2 business hours are due Monday 10:00.
    f.clock.set(sp(2026, 3, 6, 17, 0));
    let mut m = f.whatsapp("w1", "5511999990002", "sem internet");
    m.sent_at = sp(2026, 3, 6, 17, 0);
    let r = f.hd.ingest(m).await.unwrap();
    f.clock.set(sp(2026, 3, 6, 17, 30));
    f.hd.delete_sla_policy(org, admin, p.id).await.unwrap();
    // 24 × 7 would breach on Friday at 19:00.
    f.hd.scan_sla_in(org, sp(2026, 3, 6, 20, 0)).await.unwrap();
    assert_eq!(
        sla_events(&f).await,
        (0, 0),
        "no false breach: the ticket still runs on business hours"
    );
    let t = f.hd.ticket(org, admin, r.ticket_id).await.unwrap();
    assert_eq!(
        t.sla_wake_at,
        Some(sp(2026, 3, 9, 9, 36)),
        "at risk after 96 business minutes"
    );
    f.hd.scan_sla_in(org, sp(2026, 3, 9, 9, 36)).await.unwrap();
    assert_eq!(
        sla_events(&f).await,
        (1, 0),
        "at risk on Monday 09:36, not breached"
    );
    f.hd.scan_sla_in(org, sp(2026, 3, 9, 10, 0)).await.unwrap();
    assert_eq!(sla_events(&f).await, (1, 1));
    // Its next events still run under what it started with.
    f.clock.set(sp(2026, 3, 9, 10, 30));
    f.hd.reply(
        org,
        &Actor::agent(f.agents[0].id),
        r.ticket_id,
        MessageContent::text("Bom dia"),
    )
    .await
    .unwrap();
    let t = f.hd.ticket(org, admin, r.ticket_id).await.unwrap();
    assert_eq!(
        t.sla.as_ref().unwrap().first_response_secs(),
        Some(150 * 60),
        "1 h on Friday + 1.5 h on Monday"
    );
}

pub async fn transferred_and_older_tickets_get_clocks_as_documented(store: Arc<dyn Store>) {
    let f = Fixture::new(store, 1, 10).await;
    let (org, admin) = (f.org.id, &f.admin);
    // No policy yet: no clocks.
    let a =
        f.hd.ingest(f.whatsapp("w1", "5511999990003", "oi"))
            .await
            .unwrap();
    let b =
        f.hd.ingest(f.whatsapp("w2", "5511999990004", "oi"))
            .await
            .unwrap();
    assert!(
        f.hd.ticket(org, admin, a.ticket_id)
            .await
            .unwrap()
            .sla
            .is_none()
    );
    let vip =
        f.hd.create_sla_policy(
            org,
            admin,
            NewSlaPolicy::new(
                "VIP",
                SlaTargets::replies_within(chrono::Duration::minutes(30))
                    .with_resolution(chrono::Duration::hours(4)),
            ),
        )
        .await
        .unwrap();
    let q = queue_under(&f, "VIP", vip.id).await;
    // Transferred into a queue with a policy: the clocks start at the transfer.
    f.clock.set(t0() + Duration::minutes(10));
    let t = f.hd.transfer(org, admin, a.ticket_id, q.id).await.unwrap();
    let sla = t
        .sla
        .as_ref()
        .expect("a transferred ticket gets the queue's clocks");
    assert_eq!(sla.policy_id, vip.id);
    let fr = sla.first_response.as_ref().unwrap();
    assert_eq!(fr.target_secs, 1800);
    assert_eq!(fr.started_at, t0() + Duration::minutes(10));
    assert_eq!(fr.due_at, Some(t0() + Duration::minutes(40)));
    // A default policy created later: the older ticket gets it when its policy is looked at
    // again (a transfer or a priority change), not before.
    f.hd.create_sla_policy(
        org,
        admin,
        NewSlaPolicy::new(
            "Padrão",
            SlaTargets::replies_within(chrono::Duration::hours(8))
                .with_resolution(chrono::Duration::hours(24)),
        )
        .as_default(),
    )
    .await
    .unwrap();
    assert!(
        f.hd.ticket(org, admin, b.ticket_id)
            .await
            .unwrap()
            .sla
            .is_none()
    );
    f.clock.set(t0() + Duration::minutes(20));
    let t =
        f.hd.update_ticket(
            org,
            admin,
            b.ticket_id,
            TicketPatch {
                priority: Some(crate::domain::ticket::Priority::High),
                ..TicketPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(first_response_target(&t), Some(8 * 3600));
    assert_eq!(
        t.sla
            .as_ref()
            .unwrap()
            .first_response
            .as_ref()
            .unwrap()
            .started_at,
        t0() + Duration::minutes(20)
    );
}

pub async fn clocks_start_when_the_customer_wrote(store: Arc<dyn Store>) {
    let f = Fixture::new(store, 1, 10).await;
    let (org, admin) = (f.org.id, &f.admin);
    f.hd.create_sla_policy(
        org,
        admin,
        NewSlaPolicy::new(
            "Padrão",
            SlaTargets::NONE
                .with_first_response(chrono::Duration::hours(2))
                .with_next_response(chrono::Duration::hours(1))
                .with_resolution(chrono::Duration::hours(24)),
        )
        .as_default(),
    )
    .await
    .unwrap();
    // Meta redelivers after an outage: the customer wrote 3 hours before the webhook arrived.
    let now = t0() + Duration::hours(3);
    f.clock.set(now);
    let mut late = f.whatsapp("w1", "5511999990005", "sem internet desde cedo");
    late.sent_at = t0();
    let r = f.hd.ingest(late).await.unwrap();
    let t = f.hd.ticket(org, admin, r.ticket_id).await.unwrap();
    let fr = t.sla.as_ref().unwrap().first_response.clone().unwrap();
    assert_eq!(fr.started_at, t0(), "the customer's waiting time counts");
    assert_eq!(fr.due_at, Some(t0() + Duration::hours(2)));
    f.hd.scan_sla_in(org, now).await.unwrap();
    assert_eq!(sla_events(&f).await, (0, 1), "already past the 2 hours");
    // A sender's clock ahead of ours: the clock starts now, not in the future.
    let mut ahead = f.whatsapp("w2", "5511999990006", "oi");
    ahead.sent_at = now + Duration::minutes(30);
    let r = f.hd.ingest(ahead).await.unwrap();
    let t = f.hd.ticket(org, admin, r.ticket_id).await.unwrap();
    assert_eq!(
        t.sla
            .as_ref()
            .unwrap()
            .first_response
            .as_ref()
            .unwrap()
            .started_at,
        now
    );
    // A next-response cycle starts when the customer wrote too, never before the reply it
    // follows.
    let agent = Actor::agent(f.agents[0].id);
    f.clock.set(now + Duration::hours(1));
    f.hd.reply(org, &agent, r.ticket_id, MessageContent::text("Olá"))
        .await
        .unwrap();
    f.clock.set(now + Duration::hours(2));
    let mut again = f.whatsapp("w3", "5511999990006", "e aí?");
    again.sent_at = now + Duration::minutes(90);
    f.hd.ingest(again).await.unwrap();
    let mut older = f.whatsapp("w4", "5511999990006", "escrito antes da resposta");
    older.sent_at = now + Duration::minutes(50);
    f.hd.ingest(older).await.unwrap();
    let t = f.hd.ticket(org, admin, r.ticket_id).await.unwrap();
    let nr = t.sla.as_ref().unwrap().next_response.clone().unwrap();
    assert_eq!(nr.started_at, now + Duration::minutes(90));
}

pub async fn sla_state_says_when_each_clock_is_due(store: Arc<dyn Store>) {
    use crate::sla::{SlaMetric, SlaStatus};
    let f = Fixture::new(store, 1, 10).await;
    let (org, admin) = (f.org.id, &f.admin);
    f.hd.create_sla_policy(
        org,
        admin,
        NewSlaPolicy::new(
            "Comercial",
            SlaTargets::NONE
                .with_first_response(chrono::Duration::hours(2))
                .with_next_response(chrono::Duration::hours(1))
                .with_resolution(chrono::Duration::hours(16)),
        )
        .with_business_hours(business_hours())
        .as_default(),
    )
    .await
    .unwrap();
    f.clock.set(sp(2026, 3, 6, 17, 0));
    let r =
        f.hd.ingest(f.whatsapp("w1", "5511999990007", "boleto"))
            .await
            .unwrap();
    f.clock.set(sp(2026, 3, 6, 17, 30));
    let view =
        f.hd.sla_state(org, admin, r.ticket_id)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(view.policy_name, "Comercial");
    assert!(view.business_hours);
    let fr = view
        .clocks
        .iter()
        .find(|c| c.metric == SlaMetric::FirstResponse)
        .unwrap();
    assert_eq!(fr.status, SlaStatus::OnTrack);
    assert!(fr.running);
    assert_eq!(fr.started_at, sp(2026, 3, 6, 17, 0));
    assert_eq!(
        (fr.used_secs, fr.remaining_secs, fr.target_secs),
        (1800, 5400, 7200)
    );
    assert_eq!(fr.due_at, Some(sp(2026, 3, 9, 10, 0)), "Monday 10:00");
    assert_eq!(fr.at_risk_at, Some(sp(2026, 3, 9, 9, 36)));
    assert_eq!(fr.changes_at, fr.at_risk_at);
    let res = view
        .clocks
        .iter()
        .find(|c| c.metric == SlaMetric::Resolution)
        .unwrap();
    assert_eq!(
        res.due_at,
        Some(sp(2026, 3, 10, 15, 0)),
        "16 business hours: 1 on Friday, 9 on Monday, 6 on Tuesday"
    );
    // Past the target: breached, nothing left, the due instant still says when it was.
    f.clock.set(sp(2026, 3, 9, 11, 0));
    let view =
        f.hd.sla_state(org, admin, r.ticket_id)
            .await
            .unwrap()
            .unwrap();
    let fr = &view.clocks[0];
    assert_eq!(fr.metric, SlaMetric::FirstResponse);
    assert_eq!(
        (fr.status, fr.used_secs, fr.remaining_secs),
        (SlaStatus::Breached, 3 * 3600, 0)
    );
    assert_eq!(fr.due_at, Some(sp(2026, 3, 9, 10, 0)));
    assert_eq!(fr.changes_at, None);
    // Pending: paused clocks have no due instant.
    f.hd.set_pending(org, admin, r.ticket_id).await.unwrap();
    let view =
        f.hd.sla_state(org, admin, r.ticket_id)
            .await
            .unwrap()
            .unwrap();
    assert!(view.clocks.iter().all(|c| !c.running && c.due_at.is_none()));
    // A ticket no policy applies to has no SLA state.
    let other = Fixture::new(f.hd.store().clone(), 1, 10).await;
    let r = other
        .hd
        .ingest(other.whatsapp("w1", "5511999990008", "oi"))
        .await
        .unwrap();
    assert_eq!(
        other
            .hd
            .sla_state(other.org.id, &other.admin, r.ticket_id)
            .await
            .unwrap(),
        None
    );
}

pub async fn reopening_follows_the_queue_setting(store: Arc<dyn Store>) {
    use crate::domain::team::Reopen;
    let f = Fixture::new(store, 1, 10).await;
    let (org, admin) = (f.org.id, &f.admin);
    let agent = Actor::agent(f.agents[0].id);
    f.hd.create_sla_policy(
        org,
        admin,
        NewSlaPolicy::new(
            "Padrão",
            SlaTargets::NONE
                .with_first_response(chrono::Duration::hours(2))
                .with_next_response(chrono::Duration::hours(1))
                .with_resolution(chrono::Duration::hours(8)),
        )
        .as_default(),
    )
    .await
    .unwrap();
    let phone = "5511999990009";
    let mut k = 0;
    let mut write = |minutes: i64| {
        k += 1;
        f.clock.set(t0() + Duration::minutes(minutes));
        f.whatsapp(&format!("w{k}"), phone, "obrigado")
    };
    let first = f.hd.ingest(write(0)).await.unwrap();
    f.clock.set(t0() + Duration::minutes(30));
    f.hd.resolve(org, &agent, first.ticket_id).await.unwrap();
    // The default (as before the setting existed): a reply reopens the ticket.
    let r = f.hd.ingest(write(40)).await.unwrap();
    assert_eq!(r.ticket_id, first.ticket_id);
    assert!(!r.created_ticket);
    let t = f.hd.ticket(org, admin, first.ticket_id).await.unwrap();
    assert_eq!(t.status, TicketStatus::Open);
    assert!(
        t.sla
            .as_ref()
            .unwrap()
            .resolution
            .as_ref()
            .unwrap()
            .running_since
            .is_some(),
        "the resolution clock resumed"
    );
    // Within 30 minutes of the resolution.
    f.hd.update_queue(
        org,
        admin,
        f.queue.id,
        QueueChanges {
            reopen: Some(Reopen::Within { minutes: 30 }),
            ..QueueChanges::default()
        },
    )
    .await
    .unwrap();
    f.clock.set(t0() + Duration::minutes(50));
    f.hd.resolve(org, &agent, first.ticket_id).await.unwrap();
    let r = f.hd.ingest(write(80)).await.unwrap();
    assert_eq!(r.ticket_id, first.ticket_id, "30 minutes after: reopens");
    f.clock.set(t0() + Duration::minutes(90));
    f.hd.resolve(org, &agent, first.ticket_id).await.unwrap();
    let r = f.hd.ingest(write(121)).await.unwrap();
    assert!(r.created_ticket, "31 minutes after: a new ticket");
    let old = f.hd.ticket(org, admin, first.ticket_id).await.unwrap();
    assert_eq!(old.status, TicketStatus::Closed);
    let new = f.hd.ticket(org, admin, r.ticket_id).await.unwrap();
    assert_eq!(new.number, old.number + 1);
    assert_eq!(new.status, TicketStatus::New);
    assert_eq!(
        new.sla
            .as_ref()
            .unwrap()
            .first_response
            .as_ref()
            .unwrap()
            .started_at,
        t0() + Duration::minutes(121),
        "the new ticket's clocks start with its message"
    );
    let msgs = f.hd.messages(org, admin, new.id).await.unwrap();
    assert!(msgs.iter().any(|m| m.external_id.as_deref() == Some("w4")));
    // Never: even a reply a minute after the resolution opens a new ticket.
    f.hd.update_queue(
        org,
        admin,
        f.queue.id,
        QueueChanges {
            reopen: Some(Reopen::Never),
            ..QueueChanges::default()
        },
    )
    .await
    .unwrap();
    f.clock.set(t0() + Duration::minutes(130));
    f.hd.resolve(org, &agent, new.id).await.unwrap();
    let r = f.hd.ingest(write(131)).await.unwrap();
    assert!(r.created_ticket);
    assert_ne!(r.ticket_id, new.id);
    // A pending ticket always reopens.
    f.clock.set(t0() + Duration::minutes(140));
    f.hd.set_pending(org, &agent, r.ticket_id).await.unwrap();
    let again = f.hd.ingest(write(141)).await.unwrap();
    assert_eq!(again.ticket_id, r.ticket_id);
    // A window outside 1 minute to a year is refused.
    assert_eq!(
        f.hd.update_queue(
            org,
            admin,
            f.queue.id,
            QueueChanges {
                reopen: Some(Reopen::Within { minutes: 0 }),
                ..QueueChanges::default()
            },
        )
        .await
        .unwrap_err()
        .field(),
        Some("reopen.minutes")
    );
}

pub async fn retargeting_keeps_what_already_happened(store: Arc<dyn Store>) {
    use crate::domain::ticket::Priority;
    use crate::sla::{ClockOutcome, SlaMetric};
    let f = Fixture::new(store, 1, 10).await;
    let (org, admin) = (f.org.id, &f.admin);
    let agent = Actor::agent(f.agents[0].id);
    f.hd.create_sla_policy(
        org,
        admin,
        NewSlaPolicy::new(
            "Padrão",
            SlaTargets::replies_within(chrono::Duration::hours(8))
                .with_resolution(chrono::Duration::hours(24)),
        )
        .with_priority(
            Priority::Urgent,
            SlaTargets::replies_within(chrono::Duration::hours(1))
                .with_resolution(chrono::Duration::hours(4)),
        )
        .with_priority(
            Priority::Low,
            SlaTargets::replies_within(chrono::Duration::hours(24))
                .with_resolution(chrono::Duration::hours(72)),
        )
        .as_default(),
    )
    .await
    .unwrap();
    let outcome = |t: &crate::domain::ticket::Ticket, m: SlaMetric, at| {
        t.sla.as_ref().unwrap().clock(m).map(|c| c.outcome(at))
    };
    // Answered in 3 hours (in time for medium's 8), then made urgent: still met.
    let a =
        f.hd.ingest(f.whatsapp("w1", "5511999990010", "oi"))
            .await
            .unwrap();
    f.clock.set(t0() + Duration::hours(3));
    f.hd.reply(org, &agent, a.ticket_id, MessageContent::text("Olá"))
        .await
        .unwrap();
    let t =
        f.hd.update_ticket(
            org,
            admin,
            a.ticket_id,
            TicketPatch {
                priority: Some(Priority::Urgent),
                ..TicketPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        outcome(
            &t,
            SlaMetric::FirstResponse,
            crate::clock::Clock::now(&*f.clock)
        ),
        Some(ClockOutcome::Met),
        "a met clock keeps its result"
    );
    // Breached at 8 hours, then made low priority (24 hours): on track again, and its breach
    // is due again at the new target.
    f.clock.set(t0());
    let b =
        f.hd.ingest(f.whatsapp("w2", "5511999990011", "oi"))
            .await
            .unwrap();
    f.hd.scan_sla_in(org, t0() + Duration::hours(9))
        .await
        .unwrap();
    let breaches = |ev: &[crate::domain::records::Event]| {
        ev.iter()
            .filter(|e| {
                e.kind == EventKind::SlaBreached
                    && e.ticket_id == Some(b.ticket_id)
                    && e.payload["metric"] == "first_response"
            })
            .count()
    };
    assert_eq!(breaches(&f.events().await), 1);
    f.clock.set(t0() + Duration::hours(10));
    let t =
        f.hd.update_ticket(
            org,
            admin,
            b.ticket_id,
            TicketPatch {
                priority: Some(Priority::Low),
                ..TicketPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        outcome(&t, SlaMetric::FirstResponse, t0() + Duration::hours(10)),
        Some(ClockOutcome::Running)
    );
    assert_eq!(
        t.sla
            .as_ref()
            .unwrap()
            .first_response
            .as_ref()
            .unwrap()
            .due_at,
        Some(t0() + Duration::hours(24))
    );
    f.hd.scan_sla_in(org, t0() + Duration::hours(24))
        .await
        .unwrap();
    assert_eq!(
        breaches(&f.events().await),
        2,
        "breached again at the low target"
    );
    // A policy that tracks no resolution: the running resolution clock goes.
    let quick =
        f.hd.create_sla_policy(
            org,
            admin,
            NewSlaPolicy::new(
                "Só resposta",
                SlaTargets {
                    first_response: Some(1800),
                    ..SlaTargets::NONE
                },
            ),
        )
        .await
        .unwrap();
    let q = queue_under(&f, "Rápida", quick.id).await;
    let t = f.hd.transfer(org, admin, b.ticket_id, q.id).await.unwrap();
    let sla = t.sla.as_ref().unwrap();
    assert!(
        sla.resolution.is_none(),
        "the new policy tracks no resolution"
    );
    assert_eq!(sla.first_response.as_ref().unwrap().target_secs, 1800);
    // A resolved ticket moved under a policy with more targets gets no new running clock;
    // it does again once it reopens.
    let c =
        f.hd.ingest(f.whatsapp("w3", "5511999990012", "oi"))
            .await
            .unwrap();
    f.hd.transfer(org, admin, c.ticket_id, q.id).await.unwrap();
    f.hd.reply(org, &agent, c.ticket_id, MessageContent::text("Olá"))
        .await
        .ok();
    f.hd.resolve(org, admin, c.ticket_id).await.unwrap();
    let t =
        f.hd.transfer(org, admin, c.ticket_id, f.queue.id)
            .await
            .unwrap();
    assert!(
        t.sla.as_ref().unwrap().resolution.is_none(),
        "no resolution clock starts for a resolved ticket"
    );
    // Under a policy without first response, a customer's second message before any reply
    // starts no next-response cycle.
    let d =
        f.hd.ingest(f.whatsapp("w4", "5511999990013", "oi"))
            .await
            .unwrap();
    let none =
        f.hd.create_sla_policy(
            org,
            admin,
            NewSlaPolicy::new(
                "Sem primeira resposta",
                SlaTargets {
                    next_response: Some(600),
                    resolution: Some(7200),
                    ..SlaTargets::NONE
                },
            ),
        )
        .await
        .unwrap();
    let q2 = queue_under(&f, "Sem primeira", none.id).await;
    f.hd.transfer(org, admin, d.ticket_id, q2.id).await.unwrap();
    f.hd.ingest(f.whatsapp("w5", "5511999990013", "alô?"))
        .await
        .unwrap();
    let t = f.hd.ticket(org, admin, d.ticket_id).await.unwrap();
    assert!(
        t.sla.as_ref().unwrap().next_response.is_none(),
        "nobody has answered yet"
    );
}

/// A scan goes on past a batch made only of tickets without clocks (a stale wake instant
/// left by an older version): the clock due behind them still breaches.
pub async fn a_scan_goes_past_tickets_without_clocks(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone(), 1, 500).await;
    let org = f.org.id;
    f.hd.create_sla_policy(
        org,
        &f.admin,
        NewSlaPolicy::new(
            "Uma hora",
            SlaTargets::replies_within(Duration::hours(1)).with_resolution(Duration::hours(8)),
        )
        .as_default(),
    )
    .await
    .unwrap();
    let real =
        f.hd.ingest(f.whatsapp("w1", "5511999990031", "oi"))
            .await
            .unwrap();
    // More stale tickets than one scan batch holds, all due before the real clock.
    let mut stale = Vec::new();
    for i in 0..120 {
        stale.push(f.open_ticket(100 + i).await.id);
    }
    let mut tx = store.begin(org).await.unwrap();
    for id in &stale {
        let mut t = tx.ticket(*id).await.unwrap();
        t.sla = None;
        t.sla_wake_at = Some(t0() - Duration::hours(1));
        t.version += 1;
        tx.update_ticket(&t).await.unwrap();
    }
    tx.commit().await.unwrap();
    f.hd.scan_sla_in(org, t0() + Duration::hours(2))
        .await
        .unwrap();
    let breached = f
        .events()
        .await
        .iter()
        .filter(|e| e.kind == EventKind::SlaBreached && e.ticket_id == Some(real.ticket_id))
        .count();
    assert!(
        breached >= 1,
        "the real clock breached behind the stale batch"
    );
    let mut tx = store.begin(org).await.unwrap();
    for id in &stale {
        assert_eq!(
            tx.ticket(*id).await.unwrap().sla_wake_at,
            None,
            "stale wake cleared"
        );
    }
}
