//! A support desk's morning, in memory, with no setup: `cargo run --example quickstart`.
//!
//! An internet provider with two queues (Suporte, Financeiro), four agents and an SLA policy of
//! 2 business hours receives WhatsApp messages, one of them at night; tickets are assigned
//! round robin, answered, classified (setor × motivo), transferred, resolved and rated; the
//! Kanban board and the week's report are printed.

use chrono::{DateTime, Duration, TimeZone, Utc};
use helpdesk_core::actor::Actor;
use helpdesk_core::async_trait;
use helpdesk_core::channel::{
    Channel, InboundMessage, InboundSender, OutboundMessage, Recipient, SendReceipt,
};
use helpdesk_core::clock::{Clock, ManualClock};
use helpdesk_core::domain::message::{MediaKind, MessageContent};
use helpdesk_core::domain::party::{ChannelAccount, ChannelKind};
use helpdesk_core::domain::team::{AutoReplies, Distribution, Presence, Role};
use helpdesk_core::domain::ticket::Priority;
use helpdesk_core::memory::MemoryStore;
use helpdesk_core::service::*;
use helpdesk_core::sla::{CalendarSpec, SlaMetric, SlaTargets};
use helpdesk_core::{Helpdesk, Result};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Prints what would go to WhatsApp (phone numbers masked, as in logs).
struct PrintingChannel(AtomicU64);

#[async_trait]
impl Channel for PrintingChannel {
    async fn send(
        &self,
        _from: &ChannelAccount,
        to: &Recipient,
        m: &OutboundMessage,
    ) -> Result<SendReceipt> {
        let who = to
            .phone
            .as_ref()
            .map_or_else(|| "?".to_owned(), |p| p.masked());
        let text = m.content.text_preview().unwrap_or("(media)");
        println!("      📤 to {who}: {text}");
        Ok(SendReceipt {
            external_id: format!("wamid.out.{}", self.0.fetch_add(1, Ordering::SeqCst)),
        })
    }
}

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    // Times in the story are São Paulo local.
    chrono_tz::America::Sao_Paulo
        .with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

fn whatsapp(
    id: &str,
    phone: &str,
    name: &str,
    content: MessageContent,
    sent_at: DateTime<Utc>,
) -> InboundMessage {
    InboundMessage {
        channel: ChannelKind::Whatsapp,
        account_external_id: "104000000000001".into(),
        external_id: id.into(),
        from: InboundSender {
            phone: Some(phone.into()),
            name: Some(name.into()),
            ..InboundSender::default()
        },
        content,
        sent_at,
        reply_to_external_id: None,
        tracking: None,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let clock = Arc::new(ManualClock::new(at(2026, 3, 2, 7, 50)));
    let hd = Helpdesk::new(
        Arc::new(MemoryStore::new()),
        Arc::new(PrintingChannel(AtomicU64::new(1))),
        clock.clone(),
    );
    let sys = Actor::System;

    println!("== 1. Setting up \"Provedor Exemplo\" (São Paulo) ==");
    let org = hd
        .create_organization(NewOrganization::brazil("Provedor Exemplo"))
        .await?
        .id;
    let boss = hd
        .create_agent(
            org,
            &sys,
            NewAgent {
                name: "Gabriela (admin)".into(),
                email: "gabi@provedor.example".into(),
                role: Role::Admin,
                capacity: 5,
                presence: Presence::Online,
            },
        )
        .await?;
    let admin = Actor::agent(boss.id);
    let hours = CalendarSpec::from_json_str(
        r#"{"timezone": "America/Sao_Paulo",
        "schedule": {"monday": {"start": "08:00", "end": "18:00"}, "tuesday": {"start": "08:00", "end": "18:00"},
                     "wednesday": {"start": "08:00", "end": "18:00"}, "thursday": {"start": "08:00", "end": "18:00"},
                     "friday": {"start": "08:00", "end": "18:00"}},
        "holiday_presets": ["BR"]}"#,
    )?;
    let suporte = hd
        .create_queue(org, &admin, NewQueue { color: Some("#3b82f6".into()), business_hours: Some(hours.clone()), auto_replies: AutoReplies {
                greeting: Some("Olá {{customer_name}}! Seu atendimento é o #{{ticket_number}}. Já vamos te responder.".into()),
                out_of_hours: Some("Olá {{customer_name}}! Atendemos de segunda a sexta, das 8h às 18h. Seu protocolo é #{{ticket_number}}.".into()),
                no_agent: Some("Todos os atendentes estão ocupados; você é o próximo da fila.".into()),
            }, distribution: Distribution::RoundRobin, ..NewQueue::new("Suporte") })
        .await?;
    let financeiro = hd
        .create_queue(
            org,
            &admin,
            NewQueue {
                business_hours: Some(hours.clone()),
                distribution: Distribution::LeastBusy,
                ..NewQueue::new("Financeiro")
            },
        )
        .await?;
    let mut names = BTreeMap::new();
    names.insert(boss.id, boss.name.clone());
    let agent = |name: &str| NewAgent {
        name: name.into(),
        email: format!("{}@provedor.example", name.to_lowercase()),
        role: Role::Agent,
        capacity: 3,
        presence: Presence::Online,
    };
    let bruno = hd.create_agent(org, &admin, agent("Bruno")).await?;
    let carla = hd.create_agent(org, &admin, agent("Carla")).await?;
    let diego = hd.create_agent(org, &admin, agent("Diego")).await?;
    for a in [&bruno, &carla, &diego] {
        names.insert(a.id, a.name.clone());
    }
    hd.add_queue_member(org, &admin, suporte.id, bruno.id, vec![])
        .await?;
    hd.add_queue_member(org, &admin, suporte.id, carla.id, vec![])
        .await?;
    hd.add_queue_member(org, &admin, financeiro.id, diego.id, vec![])
        .await?;
    hd.map_setor_to_queue(org, &admin, "FINANCEIRO", Some(financeiro.id))
        .await?;
    hd.add_channel_account(
        org,
        &admin,
        NewChannelAccount {
            kind: ChannelKind::Whatsapp,
            external_id: "104000000000001".into(),
            name: "WhatsApp principal".into(),
            default_queue_id: Some(suporte.id),
        },
    )
    .await?;
    hd.create_canned_response(
        org,
        &admin,
        "/ola",
        "Saudação",
        "Oi {{customer_name}}, aqui é {{agent_name}}. Vou verificar sua conexão agora.",
        None,
    )
    .await?;
    println!(
        "   queues: Suporte (round robin: Bruno, Carla), Financeiro (least busy: Diego); setor FINANCEIRO -> Financeiro"
    );
    // The desk's promise: first response within 2 business hours, resolution within 8
    // (urgent: 30 minutes / 4 hours), counted in the desk's hours with Brazil's holidays.
    let policy = hd
        .create_sla_policy(
            org,
            &admin,
            NewSlaPolicy::new(
                "Comercial",
                SlaTargets::replies_within(Duration::hours(2)).with_resolution(Duration::hours(8)),
            )
            .with_priority(
                Priority::Urgent,
                SlaTargets::replies_within(Duration::minutes(30))
                    .with_resolution(Duration::hours(4)),
            )
            .with_business_hours(hours)
            .as_default(),
        )
        .await?;
    println!(
        "   SLA policy \"{}\": first response 2 business hours, resolution 8 (urgent 30 min / 4 h)",
        policy.name
    );

    println!("\n== 2. Monday 08:05: two customers write on WhatsApp ==");
    clock.set(at(2026, 3, 2, 8, 5));
    let maria = hd
        .ingest(whatsapp(
            "wamid.1",
            "5511987654321",
            "Maria",
            MessageContent::text("Minha internet caiu"),
            clock.now(),
        ))
        .await?;
    println!(
        "   Maria -> ticket #{} assigned to {}",
        number(&hd, org, maria.ticket_id).await?,
        names[&maria.assigned_to.unwrap_or(boss.id)]
    );
    let joao = hd
        .ingest(whatsapp(
            "wamid.2",
            "5521912345678",
            "João",
            MessageContent::text("Quero mudar meu plano"),
            clock.now(),
        ))
        .await?;
    println!(
        "   João  -> ticket #{} assigned to {}",
        number(&hd, org, joao.ticket_id).await?,
        names[&joao.assigned_to.unwrap_or(boss.id)]
    );
    let again = hd
        .ingest(whatsapp(
            "wamid.1",
            "5511987654321",
            "Maria",
            MessageContent::text("Minha internet caiu"),
            clock.now(),
        ))
        .await?;
    println!(
        "   Meta redelivers Maria's message: duplicate = {} (stored once)",
        again.duplicate
    );

    println!("\n== 3. Bruno answers Maria with the canned reply /ola ==");
    clock.set(at(2026, 3, 2, 8, 9));
    let bruno_actor = Actor::agent(bruno.id);
    hd.reply_canned(org, &bruno_actor, maria.ticket_id, "/ola", BTreeMap::new())
        .await?;

    let stages = hd.stages(org).await?;
    let carla_actor = Actor::agent(carla.id);
    hd.reply(
        org,
        &carla_actor,
        joao.ticket_id,
        MessageContent::text("Claro! Temos planos de 300 e 600 mega."),
    )
    .await?;
    hd.update_ticket(
        org,
        &carla_actor,
        joao.ticket_id,
        TicketPatch {
            stage_id: Some(stages[1].id),
            ..TicketPatch::default()
        },
    )
    .await?;
    println!(
        "   Carla answers João and moves #2 to \"{}\"",
        stages[1].name
    );

    println!(
        "\n== 4. Maria sends a payment receipt; the AI assistant classifies, the desk routes =="
    );
    clock.set(at(2026, 3, 2, 8, 20));
    let receipt = MessageContent::Media {
        media: MediaKind::Image,
        media_id: Some("media.123".into()),
        url: None,
        mime_type: Some("image/jpeg".into()),
        caption: Some("comprovante".into()),
        filename: None,
    };
    hd.ingest(whatsapp(
        "wamid.3",
        "551187654321",
        "Maria",
        receipt,
        clock.now(),
    ))
    .await?; // the 8-digit spelling: same contact
    let bot = Actor::bot("assistente-financeiro");
    match hd
        .classify(org, &bot, maria.ticket_id, "FINANCEIRO", "PAGAMENTO PIX")
        .await
    {
        Err(e) => println!("   assistant tried an invalid pair: {e}"),
        Ok(_) => println!("   unexpected: invalid pair accepted"),
    }
    let t = hd
        .classify(
            org,
            &bot,
            maria.ticket_id,
            "financeiro",
            "informar pagamento",
        )
        .await?;
    let c = t.classification.clone().unwrap_or_else(|| unreachable!());
    println!(
        "   classified {} × {} -> moved to Financeiro, assigned to {}",
        c.setor,
        c.motivo,
        names[&t.assignee_id.unwrap_or(boss.id)]
    );

    println!("\n== 5. Diego confirms, resolves; Maria rates the attendance ==");
    clock.set(at(2026, 3, 2, 8, 40));
    let diego_actor = Actor::agent(diego.id);
    hd.reply(
        org,
        &diego_actor,
        maria.ticket_id,
        MessageContent::text("Pagamento confirmado, sua conexão foi liberada!"),
    )
    .await?;
    hd.resolve(org, &diego_actor, maria.ticket_id).await?;
    hd.update_ticket(
        org,
        &diego_actor,
        maria.ticket_id,
        TicketPatch {
            stage_id: Some(stages[3].id),
            ..TicketPatch::default()
        },
    )
    .await?;
    let rated = hd
        .rate(
            org,
            &Actor::Customer { id: t.contact_id },
            maria.ticket_id,
            5,
            Some("Resolveram rápido!".into()),
        )
        .await?;
    println!(
        "   ticket #{} is {} with CSAT {}/5",
        rated.number,
        rated.status,
        rated.rating.map_or(0, |r| r.score)
    );

    println!("\n== 6. Saturday 22:30: Pedro writes outside business hours (agents offline) ==");
    clock.set(at(2026, 3, 7, 22, 30));
    for a in [&bruno, &carla, &diego] {
        hd.set_presence(org, &Actor::agent(a.id), a.id, Presence::Offline)
            .await?;
    }
    let pedro = hd
        .ingest(whatsapp(
            "wamid.4",
            "5531998887766",
            "Pedro",
            MessageContent::text("Boa noite, estou sem sinal"),
            clock.now(),
        ))
        .await?;
    println!(
        "   Pedro -> ticket #{} waiting (assigned: {})",
        number(&hd, org, pedro.ticket_id).await?,
        pedro.assigned_to.is_some()
    );
    if let Some(sla) = hd.sla_state(org, &admin, pedro.ticket_id).await? {
        for c in &sla.clocks {
            let metric = match c.metric {
                SlaMetric::FirstResponse => "first response",
                SlaMetric::NextResponse => "next response",
                SlaMetric::Resolution => "resolution",
            };
            println!(
                "   {metric} due {} (2 and 8 business hours: the desk opens Monday 08:00)",
                c.due_at
                    .map(|d| d
                        .with_timezone(&chrono_tz::America::Sao_Paulo)
                        .format("%a %H:%M")
                        .to_string())
                    .unwrap_or_default()
            );
        }
    }

    println!("\n== 7. The board ==");
    for col in hd.board(org, &admin).await? {
        let items: Vec<String> = col
            .tickets
            .iter()
            .map(|s| {
                format!(
                    "#{} {} ({}, {})",
                    s.ticket.number,
                    s.lead_name.clone().unwrap_or_default(),
                    s.ticket.status,
                    s.assignee_name.clone().unwrap_or_else(|| "waiting".into())
                )
            })
            .collect();
        println!(
            "   [{}] {}",
            col.stage.name,
            if items.is_empty() {
                "—".to_owned()
            } else {
                items.join(", ")
            }
        );
    }

    println!("\n== 8. Who did what on Maria's ticket ==");
    for a in hd.audit_trail(org, &admin, maria.ticket_id).await? {
        let who = match &a.actor {
            Actor::Agent { id } => names.get(id).cloned().unwrap_or_default(),
            Actor::Bot { name, .. } => format!("bot {name}"),
            Actor::Customer { .. } => "customer".into(),
            Actor::System => "system".into(),
        };
        println!(
            "   {} {:<22} by {}",
            a.at.with_timezone(&chrono_tz::America::Sao_Paulo)
                .format("%a %H:%M"),
            a.action,
            who
        );
    }
    println!("\n== 9. The week's report (who did what, SLA kept) ==");
    let week = hd
        .report(
            org,
            &admin,
            ReportRequest {
                date: DateFilter::Days {
                    from: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default(),
                    to: chrono::NaiveDate::from_ymd_opt(2026, 3, 8).unwrap_or_default(),
                },
                queue_id: None,
            },
        )
        .await?;
    let o = &week.overview;
    println!(
        "   {} tickets, {} resolved; first response median {} business min; CSAT {:.1}",
        o.created,
        o.resolved,
        o.first_response_business.p50_secs.unwrap_or(0) / 60,
        week.csat.average.unwrap_or(0.0)
    );
    let fr = &week.sla.overall.first_response;
    println!(
        "   first response SLA: {} met, {} breached, {} running",
        fr.met, fr.breached, fr.running
    );
    for a in &week.agents {
        println!(
            "   {:<6} first responses {}, resolved {}",
            a.name.clone().unwrap_or_default(),
            a.first_response_business.count,
            a.resolved
        );
    }
    println!(
        "\nDone: {} events in the outbox.",
        hd.events(org, None, 1000).await?.len()
    );
    Ok(())
}

async fn number(
    hd: &Helpdesk,
    org: helpdesk_core::ids::OrgId,
    id: helpdesk_core::ids::TicketId,
) -> Result<u64> {
    Ok(hd.ticket(org, &Actor::System, id).await?.number)
}
