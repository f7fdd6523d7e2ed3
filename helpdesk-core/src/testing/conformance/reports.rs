//! Reports: every store computes what the reference computes, and the reference credits what
//! happened to who did it and where.

use super::*;
use crate::domain::board::Category;
use crate::domain::records::{AssignmentCycle, Sale};
use crate::domain::ticket::{Priority, Ticket};
use crate::domain::tracking::AdPlatform;
use crate::sla::{CalendarSpec, SlaPolicy, SlaTargets};
use crate::store::query::DateRange;
use crate::store::report::{Report, ReportData, ReportQuery};

/// A tenant's rows, read back through the store, for the reference computation.
pub struct TenantRows {
    pub tickets: Vec<Ticket>,
    pub cycles: Vec<AssignmentCycle>,
    pub sales: Vec<Sale>,
    pub agents: Vec<crate::domain::team::Agent>,
    pub queues: Vec<crate::domain::team::Queue>,
    pub categories: Vec<Category>,
    pub channel_accounts: Vec<ChannelAccount>,
    pub policies: Vec<SlaPolicy>,
}

impl TenantRows {
    pub async fn read(f: &Fixture) -> TenantRows {
        let tickets: Vec<Ticket> = f
            .all_tickets()
            .await
            .into_iter()
            .map(|s| s.ticket)
            .collect();
        let mut tx = f.hd.store().begin(f.org.id).await.unwrap();
        let (mut cycles, mut sales) = (Vec::new(), Vec::new());
        for t in &tickets {
            cycles.extend(tx.cycles(t.id).await.unwrap());
            sales.extend(tx.sales(t.id).await.unwrap());
        }
        TenantRows {
            cycles,
            sales,
            agents: tx.agents().await.unwrap(),
            queues: tx.queues().await.unwrap(),
            categories: tx.categories().await.unwrap(),
            channel_accounts: tx.channel_accounts().await.unwrap(),
            policies: tx.sla_policies().await.unwrap(),
            tickets,
        }
    }

    pub fn data(&self) -> ReportData<'_> {
        ReportData {
            tickets: &self.tickets,
            cycles: &self.cycles,
            sales: &self.sales,
            agents: &self.agents,
            queues: &self.queues,
            categories: &self.categories,
            channel_accounts: &self.channel_accounts,
            policies: &self.policies,
        }
    }
}

/// The report a caller gets for an explicit range at the fixture clock's instant.
async fn report(f: &Fixture, range: DateRange, queue_id: Option<QueueId>) -> Report {
    f.hd.report(
        f.org.id,
        &f.admin,
        ReportRequest {
            date: DateFilter::Range(range),
            queue_id,
        },
    )
    .await
    .unwrap()
}

pub async fn reports_agree_with_the_reference_semantics(store: Arc<dyn Store>) {
    let f = Fixture::new(store, 2, 100).await;
    let (org, admin) = (f.org.id, &f.admin);
    let (a0, a1) = (f.agents[0].id, f.agents[1].id);
    let hours = CalendarSpec::weekdays(chrono_tz::America::Sao_Paulo, "09:00", "18:00").unwrap();
    f.hd.create_sla_policy(
        org,
        admin,
        NewSlaPolicy::new(
            "Padrão",
            SlaTargets::replies_within(chrono::Duration::hours(1))
                .with_resolution(chrono::Duration::hours(8)),
        )
        .with_business_hours(hours)
        .with_priority(
            Priority::Urgent,
            SlaTargets {
                first_response: Some(900),
                ..SlaTargets::NONE
            },
        )
        .as_default(),
    )
    .await
    .unwrap();
    let fin_policy =
        f.hd.create_sla_policy(
            org,
            admin,
            NewSlaPolicy::new(
                "Financeiro 24x7",
                SlaTargets::replies_within(chrono::Duration::minutes(30))
                    .with_resolution(chrono::Duration::hours(4)),
            ),
        )
        .await
        .unwrap();
    let fin =
        f.hd.create_queue(
            org,
            admin,
            NewQueue {
                distribution: Distribution::Manual,
                ..NewQueue::new("Financeiro")
            },
        )
        .await
        .unwrap();
    f.hd.add_queue_member(org, admin, fin.id, a1, vec![])
        .await
        .unwrap();
    f.hd.set_queue_sla_policy(org, admin, fin.id, Some(fin_policy.id))
        .await
        .unwrap();
    let billing =
        f.hd.create_category(org, admin, "Cobrança", None, None, None)
            .await
            .unwrap();
    let email =
        f.hd.add_channel_account(
            org,
            admin,
            NewChannelAccount {
                kind: ChannelKind::Email,
                external_id: format!("suporte-{}@example.com", uuid::Uuid::now_v7()),
                name: "E-mail".into(),
                default_queue_id: Some(f.queue.id),
            },
        )
        .await
        .unwrap();
    let tracking = |i: i64| {
        let mut t = Tracking {
            utm_source: [Some("Google"), Some("google"), Some("facebook"), None][i as usize % 4]
                .map(str::to_owned),
            utm_campaign: [Some("lead_gen"), None, Some("promo")][i as usize % 3]
                .map(str::to_owned),
            ..Tracking::default()
        };
        if i % 4 == 0 {
            t.click_ids
                .push(ClickId::new(ClickIdKind::Gclid, &format!("g{i}")).unwrap());
        } else if i % 4 == 2 {
            t.click_ids
                .push(ClickId::new(ClickIdKind::CtwaClid, &format!("c{i}")).unwrap());
        }
        t
    };
    // t0 is Monday 09:00 in São Paulo; a ticket arrives every 7 hours, nights included.
    let mut ids = Vec::new();
    for i in 0..12i64 {
        f.clock.set(t0() + Duration::hours(7 * i));
        let t =
            f.hd.create_ticket(
                org,
                &Actor::System,
                NewTicket {
                    channel_account_id: (i == 4 || i == 7).then_some(email.id),
                    queue_id: Some(if i == 9 { fin.id } else { f.queue.id }),
                    priority: (i % 6 == 5).then_some(Priority::Urgent),
                    deal_value: match i % 3 {
                        0 => Some(Money::new(10_000 * (i + 1), "BRL").unwrap()),
                        1 => Some(Money::new(5_000, "USD").unwrap()),
                        _ => None,
                    },
                    tracking: tracking(i),
                    category_id: (i % 2 == 1).then_some(billing.id),
                    ..NewTicket::new(f.lead(i as usize))
                },
            )
            .await
            .unwrap();
        ids.push(t.id);
        if i == 9 {
            // Financeiro assigns by hand: two hours waiting in the queue.
            f.clock.advance(Duration::hours(2));
            f.hd.assign(org, admin, t.id, a1).await.unwrap();
        }
        let assignee = t.assignee_id;
        // The first reply: by the other agent every third ticket (credited to who sent it).
        if i % 4 != 3 {
            f.clock.advance(Duration::minutes(35 + 10 * i));
            let by = match (i % 3, assignee) {
                _ if i == 9 => a1, // Financeiro's only member
                (0, Some(a)) if a == a0 => a1,
                (0, _) => a0,
                (_, Some(a)) => a,
                (_, None) => a1,
            };
            f.hd.reply(org, &Actor::agent(by), t.id, MessageContent::text("Olá"))
                .await
                .unwrap();
        }
        // Transferred to Financeiro after the first reply: resolution is credited there.
        if i % 5 == 1 {
            f.clock.advance(Duration::minutes(10));
            f.hd.transfer(org, admin, t.id, fin.id).await.unwrap();
            f.clock.advance(Duration::minutes(20));
            f.hd.assign(org, admin, t.id, a1).await.unwrap();
        }
        if i % 3 == 0 {
            f.clock.advance(Duration::hours(1));
            f.hd.set_pending(org, admin, t.id).await.unwrap();
            f.clock.advance(Duration::hours(5));
            // The customer answers: a next-response cycle, answered late or in time.
            f.hd.ingest(f.inbound(&format!("nr{i}"), &format!("55119{i:08}"), "e aí?"))
                .await
                .unwrap();
            f.clock
                .advance(Duration::minutes(if i % 2 == 0 { 20 } else { 200 }));
            f.hd.reply(org, &Actor::agent(a1), t.id, MessageContent::text("pronto"))
                .await
                .unwrap();
        }
        if i == 6 {
            f.hd.record_sale(org, admin, t.id, Money::new(120_000, "BRL").unwrap(), None)
                .await
                .unwrap();
            f.hd.record_sale(org, admin, t.id, Money::new(3_000, "USD").unwrap(), None)
                .await
                .unwrap();
        }
        if i % 2 == 0 {
            f.clock.advance(Duration::minutes(90));
            let by = if i % 4 == 0 {
                Actor::agent(a1)
            } else {
                Actor::System
            };
            f.hd.resolve(org, &by, t.id).await.unwrap();
            if i % 4 == 0 {
                f.hd.rate(org, &Actor::System, t.id, (1 + i % 5) as u8, None)
                    .await
                    .unwrap();
            }
            if i == 8 {
                // Moved after its rating: the rating stays Suporte's.
                f.clock.advance(Duration::minutes(5));
                f.hd.transfer(org, admin, t.id, fin.id).await.unwrap();
            }
        }
    }
    // A policy deleted since: its tickets keep their clocks and their compliance, unnamed.
    f.hd.set_queue_sla_policy(org, admin, fin.id, None)
        .await
        .unwrap();
    f.hd.delete_sla_policy(org, admin, fin_policy.id)
        .await
        .unwrap();
    let end = t0() + Duration::hours(7 * 12);
    f.clock.set(end);
    let rows = TenantRows::read(&f).await;
    let ranges = [
        DateRange {
            from: t0() - Duration::days(1),
            to: t0() + Duration::days(5),
        },
        DateRange {
            from: t0() + Duration::hours(20),
            to: t0() + Duration::hours(50),
        },
        DateRange {
            from: t0() + Duration::days(30),
            to: t0() + Duration::days(31),
        },
        // Ticket 9 entered Financeiro before it, and was taken in it.
        DateRange {
            from: t0() + Duration::hours(64),
            to: t0() + Duration::days(5),
        },
    ];
    for (k, range) in ranges.into_iter().enumerate() {
        for queue_id in [None, Some(f.queue.id), Some(fin.id), Some(QueueId::new())] {
            let got = report(&f, range, queue_id).await;
            let want = Report::compute(
                &rows.data(),
                &ReportQuery {
                    range,
                    timezone: f.org.timezone,
                    queue_id,
                    now: end,
                },
            );
            assert_eq!(got, want, "range {k}, queue {queue_id:?}");
        }
    }

    // The reference itself, on the whole period, against what the script did.
    let all = report(&f, ranges[0], None).await;
    let o = &all.overview;
    assert_eq!((o.created, o.resolved, o.created_and_done), (12, 6, 6));
    assert_eq!(o.resolution_rate, Some(0.5));
    assert_eq!(
        o.first_response_wall.count, 10,
        "tickets 7 and 11 got no reply (3 got its first after pending)"
    );
    assert_eq!(all.volume.iter().map(|d| d.created).sum::<u64>(), 12);
    assert_eq!(all.peak_hours.by_hour.iter().sum::<u64>(), 12);
    assert_eq!(
        all.peak_hours.by_weekday_hour[0][9], 1,
        "ticket 0: Monday 09:00 in São Paulo"
    );
    assert_eq!(all.csat.responses, 3, "tickets 0, 4 and 8 were rated");
    assert_eq!(all.csat.distribution, [1, 0, 0, 1, 1], "scores 1, 5 and 4");
    assert!(
        o.resolution_business.sum_secs < o.resolution_wall.sum_secs,
        "nights and pending time are not business time"
    );
    // Credit goes to who did it: a1 resolved tickets 0, 4 and 8 (the system the others), the
    // ratings go to the agents the rated tickets were assigned to.
    let agent = |id| all.agents.iter().find(|a| a.agent_id == id);
    assert_eq!(agent(a1).unwrap().resolved, 3);
    assert_eq!(agent(a1).unwrap().name.as_deref(), Some("Agent 1"));
    for a in [a0, a1] {
        // The attendance (cycle) the customer rated says who it was with.
        let rated = rows
            .cycles
            .iter()
            .filter(|c| c.rating.is_some() && c.agent_id == Some(a))
            .count() as u64;
        assert_eq!(
            agent(a).map_or(0, |r| r.csat.responses),
            rated,
            "ratings of {a}'s tickets"
        );
    }
    let sent_by = |a| {
        rows.tickets
            .iter()
            .filter(|t| t.first_response_by == Some(a))
            .count() as u64
    };
    assert_eq!(sent_by(a0) + sent_by(a1), 10);
    for a in [a0, a1] {
        assert_eq!(
            agent(a).map_or(0, |r| r.first_response_business.count),
            sent_by(a),
            "first responses {a} sent"
        );
    }
    assert!(
        rows.tickets
            .iter()
            .any(|t| t.first_response_by.is_some() && t.first_response_by != t.assignee_id),
        "the script has first replies by someone else than the assignee"
    );
    // Financeiro: where tickets 1, 6 and 11 were transferred (and 9 was created); the
    // resolution of ticket 6 is credited there, its arrival to Suporte.
    let fin_report = all
        .queues
        .iter()
        .find(|q| q.queue_id == Some(fin.id))
        .unwrap();
    assert_eq!(fin_report.created, 1, "ticket 9 arrived there");
    assert_eq!(fin_report.resolved, 1, "ticket 6 was resolved there");
    assert_eq!(fin_report.name.as_deref(), Some("Financeiro"));
    let only_fin = report(&f, ranges[0], Some(fin.id)).await;
    assert_eq!(only_fin.overview.created, 1);
    assert_eq!(
        only_fin
            .distribution
            .by_queue
            .iter()
            .map(|c| c.count)
            .sum::<u64>(),
        5,
        "tickets 1, 6, 8, 9 and 11 are there now"
    );
    assert_eq!(
        only_fin.csat.responses, 0,
        "ticket 8 was rated before it moved there"
    );
    let waited = report(&f, ranges[3], Some(fin.id)).await;
    assert_eq!(
        (
            waited.overview.wait_in_queue.count,
            waited.overview.wait_in_queue.sum_secs
        ),
        (2, 2 * 3600 + 20 * 60),
        "ticket 9 waited two hours there, ticket 11 twenty minutes after its transfer"
    );
    // Distribution: now, by what the tickets are.
    assert_eq!(
        all.distribution.by_status.get(&TicketStatus::Resolved),
        Some(&6)
    );
    assert_eq!(
        all.distribution.by_priority.get(&Priority::Urgent),
        Some(&2)
    );
    let by_channel: Vec<(Option<ChannelKind>, u64)> = all
        .distribution
        .by_channel
        .iter()
        .map(|c| (c.kind, c.count))
        .collect();
    assert!(
        by_channel.contains(&(Some(ChannelKind::Email), 2)),
        "{by_channel:?}"
    );
    assert_eq!(
        all.distribution
            .by_category
            .iter()
            .find(|c| c.id == Some(billing.id))
            .map(|c| (c.name.as_deref(), c.count)),
        Some((Some("Cobrança"), 6))
    );
    // SLA compliance: every ticket has clocks; the deleted policy keeps its tickets, unnamed.
    let sla = &all.sla.overall;
    assert_eq!(
        sla.first_response.met + sla.first_response.breached + sla.first_response.running,
        12
    );
    assert_eq!(
        sla.next_response.met + sla.next_response.breached,
        3,
        "tickets 0, 6 and 9 had a reply, then a customer message answered"
    );
    assert!(
        all.sla
            .policies
            .iter()
            .any(|p| p.policy_id == fin_policy.id && p.name.is_none()),
        "{:?}",
        all.sla.policies
    );
    // Campaigns: "Google" and "google" are one source; gclid is Google Ads.
    let google: Vec<_> = all
        .campaigns
        .iter()
        .filter(|c| c.utm_source.as_deref() == Some("google"))
        .collect();
    assert_eq!(google.iter().map(|c| c.tickets).sum::<u64>(), 6);
    assert!(
        all.campaigns
            .iter()
            .any(|c| c.ad_platform == Some(AdPlatform::MetaAds))
    );
    let won: i64 = all
        .campaigns
        .iter()
        .filter_map(|c| c.value.get("BRL"))
        .map(|m| m.won_minor)
        .sum();
    assert_eq!(won, 120_000);
    // Agents without a supervisor role may not see reports.
    assert!(matches!(
        f.hd.report(
            org,
            &Actor::agent(a0),
            ReportRequest {
                date: DateFilter::Range(ranges[0]),
                queue_id: None,
            },
        )
        .await,
        Err(Error::Forbidden { .. })
    ));
}
