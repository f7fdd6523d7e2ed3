//! Dispatch: every call id gets exactly one output, on every path.
//!
//! * Identical calls in one batch (same tool, same canonical arguments) run once; the copies
//!   get the same output.
//! * Errors are outputs the model can act on: `{ok: false, kind, retryable, message,
//!   allowed_values}`; an invalid setor × motivo lists the setor's motivos and the closest one.
//! * After [`DispatchSettings::max_invalid`] consecutive invalid calls in a turn the dispatcher
//!   hands the conversation to a human and answers every later call with `handed_off`.
//! * The conversation and the client's CPF/CNPJ come from the helpdesk, never from the model.
//!   Without a valid document, `abrir_ticket_crm` answers that the document is needed and
//!   does not call the CRM.
//!
//! Messages for the model are in Portuguese, like the tool descriptions.

use crate::calls::{ToolCall, ToolOutput, canonical, canonical_value};
use crate::crm::{CrmClient, CrmTicketRequest, idempotency_key};
use crate::tools::*;
use helpdesk_core::actor::{Actor, BotAction, BotPermissions};
use helpdesk_core::domain::catalogue::Catalogue;
use helpdesk_core::domain::text::fold;
use helpdesk_core::domain::ticket::{Ticket, TicketStatus};
use helpdesk_core::ids::{OrgId, QueueId, TicketId};
use helpdesk_core::service::TicketPatch;
use helpdesk_core::{Error, Helpdesk};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;

/// The answer `abrir_ticket_crm` gives the model when the conversation has no valid CPF/CNPJ:
/// our users' original Portuguese wording, which asks the customer for the document.
pub const DOCUMENT_NEEDED: &str = "Para abrir um ticket, preciso do seu CPF ou CNPJ.";

/// Which conversation the model is working on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolContext {
    /// Organization the conversation belongs to; every call is scoped by it.
    pub org: OrgId,
    /// The conversation's current ticket.
    pub ticket_id: TicketId,
    /// The conversation reference sent to the CRM as `conversationId` (default: the
    /// helpdesk's conversation id).
    pub crm_conversation_ref: Option<String>,
}

/// How a [`Dispatcher`] behaves: when it hands a conversation off, where to, and the name the
/// bot acts under.
#[derive(Debug, Clone)]
pub struct DispatchSettings {
    /// Consecutive invalid calls in one turn before handing off to a human.
    pub max_invalid: u32,
    /// Queue for hand-offs when the departamento's setor maps to none (and after repeated
    /// invalid calls). `None` leaves the ticket in its queue, unassigned from the bot.
    pub handoff_queue: Option<QueueId>,
    /// Name the bot acts under (audit trail).
    pub bot_name: String,
}

impl Default for DispatchSettings {
    fn default() -> Self {
        DispatchSettings {
            max_invalid: 3,
            handoff_queue: None,
            bot_name: "assistente".into(),
        }
    }
}

/// One executed call, for logs and summaries (no arguments: they may hold personal data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Executed {
    /// Id of the call answered (`call_id` / `id`).
    pub call_id: String,
    /// Name of the tool called, as the model wrote it.
    pub name: String,
    /// Whether the call succeeded (its output has `ok: true`).
    pub ok: bool,
    /// The error's `kind` when the call failed (`invalid_arguments`, `document_required`,
    /// `unavailable`…); `None` on success.
    pub kind: Option<String>,
    /// Answered with the output of an identical earlier call in the same batch.
    pub duplicate_of: Option<String>,
}

/// State of one turn (one customer message, any number of model round trips).
#[derive(Debug, Clone, Default)]
pub struct Turn {
    invalid_streak: u32,
    /// The conversation went to a human: stop calling the model.
    pub handed_off: bool,
    /// Every call answered in this turn.
    pub executed: Vec<Executed>,
}

/// An error returned to the model as an output it can act on (`{ok: false, kind, retryable,
/// message, allowed_values}`).
#[derive(Debug, Clone, PartialEq)]
struct ToolError {
    kind: &'static str,
    retryable: bool,
    message: String,
    allowed: Vec<String>,
    /// Counts toward the hand-off (the model sent something wrong).
    invalid: bool,
}

impl ToolError {
    fn invalid(kind: &'static str, message: impl Into<String>, allowed: Vec<String>) -> Self {
        ToolError {
            kind,
            retryable: false,
            message: message.into(),
            allowed,
            invalid: true,
        }
    }

    fn other(kind: &'static str, retryable: bool, message: impl Into<String>) -> Self {
        ToolError {
            kind,
            retryable,
            message: message.into(),
            allowed: Vec::new(),
            invalid: false,
        }
    }

    fn json(&self) -> Value {
        json!({
            "ok": false,
            "kind": self.kind,
            "retryable": self.retryable,
            "message": self.message,
            "allowed_values": self.allowed,
        })
    }
}

impl From<Error> for ToolError {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidClassification {
                setor,
                motivo,
                allowed,
                closest,
            } => {
                let hint = closest
                    .map(|c| format!(" O mais próximo é \"{c}\"."))
                    .unwrap_or_default();
                ToolError::invalid(
                    "invalid_classification",
                    format!(
                        "\"{motivo}\" não é um motivo válido para o setor \"{setor}\". Use um dos valores permitidos.{hint}"
                    ),
                    allowed,
                )
            }
            Error::NotFound { entity, .. } => {
                ToolError::other("not_found", false, format!("{entity} não encontrado."))
            }
            Error::Forbidden { .. } => ToolError::other(
                "forbidden",
                false,
                "O assistente não tem permissão para esta ação.",
            ),
            e if e.is_retryable() => ToolError::other(
                "unavailable",
                true,
                "O sistema está temporariamente indisponível. Tente novamente.",
            ),
            e => ToolError::other("error", false, e.to_string()),
        }
    }
}

/// Runs tool calls against the helpdesk and the CRM.
#[derive(Clone)]
pub struct Dispatcher {
    hd: Helpdesk,
    crm: Option<CrmClient>,
    settings: DispatchSettings,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Pair {
    setor: String,
    motivo: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PairArgs {
    setor: Option<String>,
    motivo: Option<String>,
    classificacao: Option<Pair>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AbrirArgs {
    resumo: String,
    setor: Option<String>,
    motivo: Option<String>,
    classificacao: Option<Pair>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HumanoArgs {
    departamento: String,
    motivo: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsultarArgs {
    numero: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NotaArgs {
    texto: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FilaArgs {
    fila: String,
    motivo: Option<String>,
}

fn pair_of(
    setor: Option<String>,
    motivo: Option<String>,
    c: Option<Pair>,
) -> Result<(String, String), ToolError> {
    match (setor, motivo, c) {
        (Some(s), Some(m), None) => Ok((s, m)),
        (None, None, Some(p)) => Ok((p.setor, p.motivo)),
        _ => Err(ToolError::invalid(
            "invalid_arguments",
            "Informe setor e motivo (ou classificacao com setor e motivo).",
            Vec::new(),
        )),
    }
}

fn parse<T: for<'de> Deserialize<'de>>(args: &str) -> Result<T, ToolError> {
    serde_json::from_str(args).map_err(|e| {
        ToolError::invalid(
            "invalid_arguments",
            format!("Argumentos inválidos: {e}. Envie um objeto JSON com os campos do esquema."),
            Vec::new(),
        )
    })
}

fn status_pt(s: TicketStatus) -> &'static str {
    match s {
        TicketStatus::New => "novo",
        TicketStatus::Open => "em atendimento",
        TicketStatus::Pending => "aguardando cliente",
        TicketStatus::Resolved => "resolvido",
        TicketStatus::Closed => "fechado",
    }
}

impl Dispatcher {
    /// A dispatcher over `hd`; `crm` is needed for `abrir_ticket_crm`.
    pub fn new(hd: Helpdesk, crm: Option<CrmClient>, settings: DispatchSettings) -> Dispatcher {
        Dispatcher { hd, crm, settings }
    }

    fn actor(&self) -> Actor {
        let mut p = BotPermissions::default();
        p.0.push(BotAction::Update);
        Actor::Bot {
            name: self.settings.bot_name.clone(),
            permissions: p,
        }
    }

    /// Answers a batch of calls (one model response), in order: one output per call id.
    pub async fn dispatch(
        &self,
        ctx: &ToolContext,
        turn: &mut Turn,
        calls: &[ToolCall],
    ) -> Vec<ToolOutput> {
        let mut seen: HashMap<(String, String), (String, Value)> = HashMap::new();
        let mut out = Vec::with_capacity(calls.len());
        for call in calls {
            let key = (
                call.name.clone(),
                canonical(&call.arguments).unwrap_or_else(|| call.arguments.clone()),
            );
            if let Some((first, output)) = seen.get(&key) {
                let ok = output["ok"] == Value::Bool(true);
                turn.executed.push(Executed {
                    call_id: call.call_id.clone(),
                    name: call.name.clone(),
                    ok,
                    kind: output["kind"].as_str().map(str::to_owned),
                    duplicate_of: Some(first.clone()),
                });
                out.push(ToolOutput {
                    call_id: call.call_id.clone(),
                    output: output.clone(),
                });
                continue;
            }
            let result = if turn.handed_off {
                Err(ToolError::other(
                    "handed_off",
                    false,
                    "A conversa foi transferida para um atendente humano; não chame mais ferramentas.",
                ))
            } else {
                self.run(ctx, turn, call).await
            };
            let output = match result {
                Ok(v) => {
                    turn.invalid_streak = 0;
                    v
                }
                Err(e) => {
                    if e.invalid {
                        turn.invalid_streak += 1;
                    }
                    let mut v = e.json();
                    if e.invalid
                        && turn.invalid_streak >= self.settings.max_invalid
                        && !turn.handed_off
                    {
                        self.hand_off(ctx, "chamadas inválidas repetidas do assistente")
                            .await;
                        turn.handed_off = true;
                        v["handed_off"] = Value::Bool(true);
                        v["message"] = Value::String(format!(
                            "{} A conversa foi transferida para um atendente humano.",
                            e.message
                        ));
                    }
                    v
                }
            };
            let ok = output["ok"] == Value::Bool(true);
            tracing::info!(tool = %call.name, ok, kind = output["kind"].as_str().unwrap_or(""), ticket_id = %ctx.ticket_id, "tool call answered");
            turn.executed.push(Executed {
                call_id: call.call_id.clone(),
                name: call.name.clone(),
                ok,
                kind: output["kind"].as_str().map(str::to_owned),
                duplicate_of: None,
            });
            seen.insert(key, (call.call_id.clone(), output.clone()));
            out.push(ToolOutput {
                call_id: call.call_id.clone(),
                output,
            });
        }
        out
    }

    async fn run(
        &self,
        ctx: &ToolContext,
        turn: &mut Turn,
        call: &ToolCall,
    ) -> Result<Value, ToolError> {
        match call.name.as_str() {
            ABRIR_TICKET_CRM => self.abrir_ticket_crm(ctx, call).await,
            TRANSFERIR_PARA_HUMANO => {
                let r = self.transferir_para_humano(ctx, call).await;
                if r.is_ok() {
                    turn.handed_off = true;
                }
                r
            }
            CONSULTAR_TICKET => self.consultar_ticket(ctx, call).await,
            CLASSIFICAR_TICKET => self.classificar_ticket(ctx, call).await,
            ADICIONAR_NOTA => self.adicionar_nota(ctx, call).await,
            TRANSFERIR_FILA => self.transferir_fila(ctx, call).await,
            other => Err(ToolError::invalid(
                "unknown_tool",
                format!("A ferramenta \"{other}\" não existe."),
                [
                    ABRIR_TICKET_CRM,
                    TRANSFERIR_PARA_HUMANO,
                    CONSULTAR_TICKET,
                    CLASSIFICAR_TICKET,
                    ADICIONAR_NOTA,
                    TRANSFERIR_FILA,
                ]
                .map(str::to_owned)
                .to_vec(),
            )),
        }
    }

    async fn catalogue(&self, ctx: &ToolContext) -> Result<Catalogue, ToolError> {
        Ok(self.hd.organization(ctx.org).await?.catalogue)
    }

    async fn ticket(&self, ctx: &ToolContext) -> Result<Ticket, ToolError> {
        Ok(self
            .hd
            .ticket(ctx.org, &Actor::System, ctx.ticket_id)
            .await?)
    }

    async fn abrir_ticket_crm(
        &self,
        ctx: &ToolContext,
        call: &ToolCall,
    ) -> Result<Value, ToolError> {
        let a: AbrirArgs = parse(&call.arguments)?;
        if a.resumo.trim().is_empty() {
            return Err(ToolError::invalid(
                "invalid_arguments",
                "O resumo não pode ser vazio.",
                Vec::new(),
            ));
        }
        let (setor, motivo) = pair_of(a.setor, a.motivo, a.classificacao)?;
        let pair = self.catalogue(ctx).await?.classify(&setor, &motivo)?;
        let Some(crm) = &self.crm else {
            return Err(ToolError::other(
                "not_configured",
                false,
                "A abertura de tickets no CRM não está configurada.",
            ));
        };
        let ticket = self.ticket(ctx).await?;
        let contact = self
            .hd
            .contact(ctx.org, &self.actor(), ticket.contact_id)
            .await?;
        let Some(document) = contact.document else {
            tracing::info!(ticket_id = %ctx.ticket_id, "CRM ticket not opened: the conversation has no CPF/CNPJ");
            return Err(ToolError::other(
                "document_required",
                false,
                DOCUMENT_NEEDED,
            ));
        };
        let conversation = ctx
            .crm_conversation_ref
            .clone()
            .unwrap_or_else(|| ticket.conversation_id.to_string());
        let args = json!({"resumo": a.resumo.trim(), "setor": pair.setor, "motivo": pair.motivo});
        let key = idempotency_key(&conversation, ABRIR_TICKET_CRM, &canonical_value(&args));
        let req = CrmTicketRequest {
            conversation_id: conversation,
            client_document: document,
            resumo: a.resumo.trim().to_owned(),
            setor: pair.setor.clone(),
            motivo: pair.motivo.clone(),
        };
        let opened = crm.open_ticket(&key, &req).await.map_err(|e| {
            ToolError::other(
                e.kind(),
                e.retryable(),
                match e.retryable() {
                    true => format!("Não foi possível abrir o ticket agora ({e}). Tente novamente mais tarde ou transfira para um humano."),
                    false => format!("O CRM recusou a abertura do ticket ({e})."),
                },
            )
        })?;
        if ticket.external_protocol.as_deref() != Some(opened.protocolo.as_str()) {
            self.hd
                .update_ticket(
                    ctx.org,
                    &self.actor(),
                    ctx.ticket_id,
                    TicketPatch {
                        external_protocol: Some(opened.protocolo.clone()),
                        ..TicketPatch::default()
                    },
                )
                .await?;
        }
        Ok(
            json!({"ok": true, "protocolo": opened.protocolo, "setor": pair.setor, "motivo": pair.motivo}),
        )
    }

    async fn transferir_para_humano(
        &self,
        ctx: &ToolContext,
        call: &ToolCall,
    ) -> Result<Value, ToolError> {
        let a: HumanoArgs = parse(&call.arguments)?;
        let catalogue = self.catalogue(ctx).await?;
        let Some(setor) = catalogue.setor(&a.departamento) else {
            return Err(ToolError::invalid(
                "invalid_arguments",
                format!("Departamento \"{}\" desconhecido.", a.departamento),
                catalogue
                    .setor_names()
                    .iter()
                    .map(|s| s.to_lowercase())
                    .collect(),
            ));
        };
        let queue = setor.queue_id.or(self.settings.handoff_queue);
        let setor_name = setor.name.clone();
        self.hd
            .add_note(
                ctx.org,
                &self.actor(),
                ctx.ticket_id,
                &format!(
                    "Transferido pelo assistente para {setor_name}: {}",
                    a.motivo.trim()
                ),
            )
            .await?;
        let fila = match queue {
            Some(q) => {
                let t = self
                    .hd
                    .transfer(ctx.org, &self.actor(), ctx.ticket_id, q)
                    .await?;
                self.queue_name(ctx, t.queue_id).await
            }
            None => None,
        };
        Ok(json!({"ok": true, "departamento": setor_name.to_lowercase(), "fila": fila}))
    }

    async fn queue_name(&self, ctx: &ToolContext, q: Option<QueueId>) -> Option<String> {
        let q = q?;
        self.hd
            .queues(ctx.org)
            .await
            .ok()?
            .into_iter()
            .find(|x| x.id == q)
            .map(|x| x.name)
    }

    async fn consultar_ticket(
        &self,
        ctx: &ToolContext,
        call: &ToolCall,
    ) -> Result<Value, ToolError> {
        let a: ConsultarArgs = parse(&call.arguments)?;
        let current = self.ticket(ctx).await?;
        let not_found = || {
            ToolError::other(
                "not_found",
                false,
                format!("Nenhum ticket deste cliente com o número {}.", a.numero),
            )
        };
        let t = match self
            .hd
            .ticket_by_number(ctx.org, &Actor::System, a.numero)
            .await
        {
            Ok(t) => t,
            Err(Error::NotFound { .. }) => return Err(not_found()),
            Err(e) => return Err(e.into()),
        };
        // Only the current contact's tickets: another customer's number is "not found".
        if t.contact_id != current.contact_id {
            return Err(not_found());
        }
        Ok(json!({
            "ok": true,
            "numero": t.number,
            "status": status_pt(t.status),
            "setor": t.classification.as_ref().map(|c| c.setor.clone()),
            "motivo": t.classification.as_ref().map(|c| c.motivo.clone()),
            "protocolo": t.external_protocol,
            "criado_em": t.created_at,
            "atualizado_em": t.updated_at,
        }))
    }

    async fn classificar_ticket(
        &self,
        ctx: &ToolContext,
        call: &ToolCall,
    ) -> Result<Value, ToolError> {
        let a: PairArgs = parse(&call.arguments)?;
        let (setor, motivo) = pair_of(a.setor, a.motivo, a.classificacao)?;
        let t = self
            .hd
            .classify(ctx.org, &self.actor(), ctx.ticket_id, &setor, &motivo)
            .await?;
        let c = t.classification.clone();
        let fila = self.queue_name(ctx, t.queue_id).await;
        Ok(json!({
            "ok": true,
            "setor": c.as_ref().map(|c| c.setor.clone()),
            "motivo": c.as_ref().map(|c| c.motivo.clone()),
            "fila": fila,
        }))
    }

    async fn adicionar_nota(&self, ctx: &ToolContext, call: &ToolCall) -> Result<Value, ToolError> {
        let a: NotaArgs = parse(&call.arguments)?;
        if a.texto.trim().is_empty() {
            return Err(ToolError::invalid(
                "invalid_arguments",
                "O texto da nota não pode ser vazio.",
                Vec::new(),
            ));
        }
        let m = self
            .hd
            .add_note(ctx.org, &self.actor(), ctx.ticket_id, a.texto.trim())
            .await?;
        Ok(json!({"ok": true, "nota_id": m.id}))
    }

    async fn transferir_fila(
        &self,
        ctx: &ToolContext,
        call: &ToolCall,
    ) -> Result<Value, ToolError> {
        let a: FilaArgs = parse(&call.arguments)?;
        let queues = self.hd.queues(ctx.org).await?;
        let want = fold(&a.fila);
        let Some(q) = queues.iter().find(|q| fold(&q.name) == want) else {
            return Err(ToolError::invalid(
                "invalid_arguments",
                format!("Fila \"{}\" desconhecida.", a.fila.trim()),
                queues.iter().map(|q| q.name.clone()).collect(),
            ));
        };
        if let Some(m) = a.motivo.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
            self.hd
                .add_note(
                    ctx.org,
                    &self.actor(),
                    ctx.ticket_id,
                    &format!("Transferido pelo assistente para {}: {m}", q.name),
                )
                .await?;
        }
        self.hd
            .transfer(ctx.org, &self.actor(), ctx.ticket_id, q.id)
            .await?;
        Ok(json!({"ok": true, "fila": q.name}))
    }

    /// Hands the conversation to humans after repeated invalid calls: a note, and the
    /// hand-off queue when one is set. Failures are logged (the turn stops either way).
    async fn hand_off(&self, ctx: &ToolContext, why: &str) {
        let note = self
            .hd
            .add_note(
                ctx.org,
                &self.actor(),
                ctx.ticket_id,
                &format!("Assistente parou ({why}); atendimento humano necessário."),
            )
            .await;
        let moved = match self.settings.handoff_queue {
            Some(q) => self
                .hd
                .transfer(ctx.org, &self.actor(), ctx.ticket_id, q)
                .await
                .map(|_| ()),
            None => Ok(()),
        };
        if note.is_err() || moved.is_err() {
            tracing::warn!(ticket_id = %ctx.ticket_id, "hand-off to a human could not be fully recorded");
        } else {
            tracing::info!(ticket_id = %ctx.ticket_id, "conversation handed off to a human");
        }
    }
}
