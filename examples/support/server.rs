//! The `helpdesk_server` example's parts: configuration from the environment, the service
//! wiring (store, WhatsApp channel, default organization), the HTTP API and its error shape.
//!
//! Configuration, storage selection, the WhatsApp webhook, the bearer-authenticated REST API
//! (camelCase JSON, `{error:{code,message,field?}}` errors), the background workers (SLA scan,
//! outbox relay to signed event webhooks) and graceful shutdown.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch};
use axum::{Json, Router};
use helpdesk_core::actor::Actor;
use helpdesk_core::clock::SystemClock;
use helpdesk_core::domain::party::ChannelKind;
use helpdesk_core::domain::ticket::Money;
use helpdesk_core::domain::ticket::{Priority, TicketStatus};
use helpdesk_core::domain::tracking::{ClickId, ClickIdKind, SourceType, Tracking};
use helpdesk_core::ids::{AgentId, OrgId, QueueId, StageId, TicketId};
use helpdesk_core::service::{
    DateFilter, LeadInput, ListTickets, NewChannelAccount, NewOrganization, NewQueue, NewTicket,
};
use helpdesk_core::store::Store;
use helpdesk_core::store::query::{AssigneeFilter, DateRangePreset, TicketSummary};
use helpdesk_core::{Entity, Error, Helpdesk};
use serde::Deserialize;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;

#[path = "server/analytics.rs"]
mod analytics;
#[path = "server/sla.rs"]
mod sla;

/// A setting that is missing or invalid: start-up stops and names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {reason}")]
pub struct ConfigError {
    /// The environment variable.
    pub name: &'static str,
    /// What is wrong.
    pub reason: String,
}

/// The server's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// `HELPDESK_BIND` (default `127.0.0.1:8080`).
    pub bind: SocketAddr,
    /// `HELPDESK_API_TOKEN`: bearer token of the REST API.
    pub api_token: String,
    /// `WHATSAPP_VERIFY_TOKEN`.
    pub verify_token: String,
    /// `WHATSAPP_APP_SECRET`.
    pub app_secret: String,
    /// `WHATSAPP_ACCESS_TOKEN`.
    pub access_token: String,
    /// `WHATSAPP_PHONE_NUMBER_ID`: the default organization's WhatsApp number.
    pub phone_number_id: String,
    /// `WHATSAPP_GRAPH_URL` (default `https://graph.facebook.com`).
    pub graph_url: String,
    /// `DATABASE_URL`: Postgres when set, the in-memory store otherwise.
    pub database_url: Option<String>,
    /// `HELPDESK_EVENT_URLS`: comma-separated URLs that receive every event (outbox relay).
    pub event_urls: Vec<String>,
    /// `HELPDESK_EVENT_SECRET`: key of the `X-Helpdesk-Signature-256` HMAC-SHA256 header
    /// (required with event URLs).
    pub event_secret: Option<String>,
}

impl Config {
    /// Reads the settings through `var` (the process environment in `main`).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &'static str| {
            var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let required = |name: &'static str| {
            get(name).ok_or_else(|| ConfigError {
                name,
                reason: "is required".into(),
            })
        };
        let bind = match get("HELPDESK_BIND") {
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
            Some(b) => b.parse().map_err(|_| ConfigError {
                name: "HELPDESK_BIND",
                reason: format!("{b:?} is not an address such as 127.0.0.1:8080"),
            })?,
        };
        let api_token = required("HELPDESK_API_TOKEN")?;
        if api_token.len() < 16 {
            return Err(ConfigError {
                name: "HELPDESK_API_TOKEN",
                reason: "must be at least 16 characters".into(),
            });
        }
        let graph_url =
            get("WHATSAPP_GRAPH_URL").unwrap_or_else(|| "https://graph.facebook.com".into());
        if !(graph_url.starts_with("http://") || graph_url.starts_with("https://")) {
            return Err(ConfigError {
                name: "WHATSAPP_GRAPH_URL",
                reason: format!("{graph_url:?} is not an http(s) URL"),
            });
        }
        let phone_number_id = required("WHATSAPP_PHONE_NUMBER_ID")?;
        if !phone_number_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ConfigError {
                name: "WHATSAPP_PHONE_NUMBER_ID",
                reason: "must be the numeric id Meta shows for the number".into(),
            });
        }
        let event_urls: Vec<String> = get("HELPDESK_EVENT_URLS")
            .map(|v| {
                v.split(',')
                    .map(|u| u.trim().to_owned())
                    .filter(|u| !u.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if let Some(u) = event_urls
            .iter()
            .find(|u| !(u.starts_with("http://") || u.starts_with("https://")))
        {
            return Err(ConfigError {
                name: "HELPDESK_EVENT_URLS",
                reason: format!("{u:?} is not an http(s) URL"),
            });
        }
        let event_secret = get("HELPDESK_EVENT_SECRET");
        if !event_urls.is_empty() && event_secret.is_none() {
            return Err(ConfigError {
                name: "HELPDESK_EVENT_SECRET",
                reason: "is required with HELPDESK_EVENT_URLS (events are signed)".into(),
            });
        }
        Ok(Config {
            event_urls,
            event_secret,
            bind,
            api_token,
            verify_token: required("WHATSAPP_VERIFY_TOKEN")?,
            app_secret: required("WHATSAPP_APP_SECRET")?,
            access_token: required("WHATSAPP_ACCESS_TOKEN")?,
            phone_number_id,
            graph_url,
            database_url: get("DATABASE_URL"),
        })
    }
}

/// What the routes share.
#[derive(Clone)]
pub struct AppState {
    /// The service.
    pub hd: Helpdesk,
    /// The default organization (the one of `WHATSAPP_PHONE_NUMBER_ID`).
    pub org: OrgId,
    api_token: Arc<str>,
}

/// A built service: its router, state and event sink.
pub struct App {
    /// The outbox relay's sink (with `HELPDESK_EVENT_URLS`).
    pub sink: Option<Arc<WebhookSink>>,
    /// The routes.
    pub router: Router,
    /// The shared state.
    pub state: AppState,
    /// Which store it runs on (`postgres` or `memory`).
    pub storage: &'static str,
}

/// Wires the service: store (migrated Postgres or memory), WhatsApp channel, default
/// organization, routes.
pub async fn build(cfg: &Config) -> Result<App, String> {
    let (store, storage): (Arc<dyn Store>, &'static str) = match &cfg.database_url {
        Some(url) => {
            let pg = helpdesk_sqlx::PgStore::connect(url)
                .await
                .map_err(|e| format!("DATABASE_URL: cannot connect: {e}"))?;
            pg.migrate()
                .await
                .map_err(|e| format!("DATABASE_URL: migrations failed: {e}"))?;
            (Arc::new(pg), "postgres")
        }
        None => (
            Arc::new(helpdesk_core::memory::MemoryStore::new()),
            "memory",
        ),
    };
    let mut graph = helpdesk_whatsapp::graph::GraphConfig::new(cfg.access_token.clone());
    graph.base_url = cfg.graph_url.clone();
    let client = helpdesk_whatsapp::graph::GraphClient::new(graph)
        .map_err(|e| format!("WHATSAPP_GRAPH_URL: {e}"))?;
    let channel = helpdesk_whatsapp::WhatsappChannel::new(Arc::new(client));
    let hd = Helpdesk::new(store.clone(), Arc::new(channel), Arc::new(SystemClock));
    let org = default_org(&hd, &store, &cfg.phone_number_id)
        .await
        .map_err(|e| format!("setting up the default organization: {e}"))?;
    let webhook = helpdesk_whatsapp::webhook::WebhookHandler::new(
        hd.clone(),
        cfg.app_secret.as_bytes().to_vec(),
        cfg.verify_token.clone(),
    );
    let state = AppState {
        hd,
        org,
        api_token: cfg.api_token.clone().into(),
    };
    let api = Router::new()
        .route("/tickets", get(list_tickets).post(create_ticket))
        .route("/tickets/inbounds", get(inbounds))
        .route("/tickets/{id}", get(get_ticket).patch(patch_ticket))
        .route(
            "/tickets/{id}/messages",
            get(list_messages).post(post_message),
        )
        .route("/tickets/{id}/rating", axum::routing::post(rate_ticket))
        .route("/tickets/{id}/{action}", axum::routing::post(ticket_action))
        .route("/analytics/overview", get(analytics::overview))
        .route("/analytics/volume", get(analytics::volume))
        .route("/analytics/distribution", get(analytics::distribution))
        .route("/analytics/agents", get(analytics::agents))
        .route("/analytics/sla", get(analytics::sla))
        .route("/analytics/sla/detailed", get(analytics::sla))
        .route("/analytics/csat", get(analytics::csat))
        .route("/analytics/peak-hours", get(analytics::peak_hours))
        .route("/analytics/campaigns", get(analytics::campaigns))
        .route("/analytics/export", get(analytics::export))
        .route("/queues", get(list_queues).post(create_queue))
        .route("/queues/{id}", patch(update_queue).delete(delete_queue))
        .route("/queues/{id}/members", axum::routing::post(add_member))
        .route(
            "/queues/{id}/members/{agent}",
            axum::routing::delete(remove_member),
        )
        .route("/agents", get(list_agents).post(create_agent))
        .route("/agents/{id}", patch(update_agent).delete(deactivate_agent))
        .route("/agents/{id}/presence", axum::routing::post(set_presence))
        .route("/stages", get(list_stages).post(create_stage))
        .route("/stages/{id}", patch(update_stage).delete(delete_stage))
        .route("/canned-responses", get(list_canned).post(create_canned))
        .route(
            "/canned-responses/{id}",
            patch(update_canned).delete(delete_canned),
        )
        .route(
            "/sla-policies",
            get(sla::list_sla_policies).post(sla::create_sla_policy),
        )
        .route(
            "/sla-policies/{id}",
            axum::routing::put(sla::replace_sla_policy).delete(sla::delete_sla_policy),
        )
        .with_state(state.clone());
    let router = Router::new()
        .nest("/webhooks/whatsapp", helpdesk_whatsapp::router(webhook))
        .nest("/api/v1", api)
        .route("/health", get(|| async { "ok" }));
    let sink = cfg
        .event_secret
        .as_ref()
        .filter(|_| !cfg.event_urls.is_empty())
        .map(|secret| Arc::new(WebhookSink::new(cfg.event_urls.clone(), secret)));
    Ok(App {
        sink,
        router,
        state,
        storage,
    })
}

/// The organization that owns the WhatsApp number, created (with a queue and the inbox) the
/// first time. Several instances starting at once converge on one inbox: the inbox is unique.
async fn default_org(
    hd: &Helpdesk,
    store: &Arc<dyn Store>,
    phone_number_id: &str,
) -> Result<OrgId, Error> {
    if let Some(a) = store
        .find_channel_account(ChannelKind::Whatsapp, phone_number_id)
        .await?
    {
        return Ok(a.org_id);
    }
    let org = hd
        .create_organization(NewOrganization::brazil("Helpdesk"))
        .await?
        .id;
    let queue = hd
        .create_queue(org, &Actor::System, NewQueue::new("Atendimento"))
        .await?;
    let added = hd
        .add_channel_account(
            org,
            &Actor::System,
            NewChannelAccount {
                kind: ChannelKind::Whatsapp,
                external_id: phone_number_id.to_owned(),
                name: "WhatsApp".into(),
                default_queue_id: Some(queue.id),
            },
        )
        .await;
    match added {
        Ok(_) => Ok(org),
        // Another instance registered it first: use theirs.
        Err(Error::AlreadyExists {
            entity: Entity::ChannelAccount,
            ..
        }) => store
            .find_channel_account(ChannelKind::Whatsapp, phone_number_id)
            .await?
            .map(|a| a.org_id)
            .ok_or_else(|| Error::not_found(Entity::ChannelAccount, phone_number_id)),
        Err(e) => Err(e),
    }
}

/// An error answer: `{error: {code, message, field?}}` with its status.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        use helpdesk_core::ErrorKind as K;
        let (status, code) = match e.kind() {
            K::Invalid | K::InvalidClassification => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            K::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            K::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            K::AlreadyExists => (StatusCode::CONFLICT, "already_exists"),
            K::Refused => (StatusCode::CONFLICT, "refused"),
            K::Conflict | K::InvalidTransition => (StatusCode::CONFLICT, "conflict"),
            _ if e.is_retryable() => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %e, "request failed");
            "internal error".to_owned()
        } else {
            e.to_string()
        };
        ApiError {
            status,
            code,
            message,
            field: e.field().map(str::to_owned),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut err = json!({"code": self.code, "message": self.message});
        if let Some(f) = self.field {
            err["field"] = json!(f);
        }
        (self.status, Json(json!({"error": err}))).into_response()
    }
}

/// An authenticated request: the bearer token checked, and the actor it acts as (the agent named
/// by `X-Helpdesk-Agent`, else the system). Every API handler takes one.
pub struct Caller(pub Actor);

impl axum::extract::FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        authorize(state, &parts.headers)?;
        Ok(Caller(actor(&parts.headers)?))
    }
}

fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    // Constant-time comparison: the token is a secret.
    let ok = given.is_some_and(|g| {
        let (a, b) = (g.as_bytes(), state.api_token.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    });
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid bearer token is required",
        ))
    }
}

/// A query parameter that does not parse: 400 naming the parameter.
fn param<T>(field: &str, parsed: Result<T, Error>) -> Result<T, ApiError> {
    parsed.map_err(|e| bad(field, e.to_string()))
}

fn bad(field: &str, message: impl Into<String>) -> ApiError {
    ApiError {
        field: Some(field.to_owned()),
        ..ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
}

/// A ticket as the list shows it.
fn item(s: &TicketSummary) -> Value {
    let t = &s.ticket;
    json!({
        "id": t.id,
        "number": t.number,
        "status": t.status,
        "priority": t.priority,
        "leadName": s.lead_name,
        "leadPhone": s.lead_phone.as_ref().map(|p| p.as_str().to_owned()),
        "utmSource": t.tracking.utm_source,
        "sourceType": t.tracking.effective_source(),
        "stage": s.stage.as_ref().map(|st| json!({"id": st.id, "name": st.name, "color": st.color})),
        "assigneeId": t.assignee_id,
        "assigneeName": s.assignee_name,
        "queueId": t.queue_id,
        "dealValue": t.deal_value.as_ref().map(|m| m.minor as f64 / 100.0),
        "messagesCount": s.messages_count,
        "salesCount": s.sales_count,
        "totalValue": s.sales_total_minor as f64 / 100.0,
        "createdAt": t.created_at,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    q: Option<String>,
    page_size: Option<u32>,
    date_range: Option<String>,
    stage_id: Option<String>,
    origin: Option<String>,
    source: Option<String>,
    has_sales: Option<bool>,
    cursor: Option<String>,
    /// Comma-separated statuses (`open,pending`).
    status: Option<String>,
    priority: Option<String>,
    queue_id: Option<String>,
    /// An agent id, or `none` for unassigned tickets.
    assignee_id: Option<String>,
    /// `gclid`, `fbclid` or `ctwaclid`: tickets that carry that click id.
    click_id: Option<String>,
    /// Count the total exactly up to this many tickets (default 1,000).
    count_limit: Option<u32>,
}

impl ListQuery {
    /// The query string as core's request; a parameter that does not parse is a 400 naming it.
    fn into_request(q: Result<Query<ListQuery>, QueryRejection>) -> Result<ListTickets, ApiError> {
        let Query(q) = q.map_err(|e| bad("query", e.body_text()))?;
        let statuses = q
            .status
            .iter()
            .flat_map(|s| s.split(','))
            .filter(|s| !s.trim().is_empty())
            .map(|s| param("status", TicketStatus::parse(s)))
            .collect::<Result<Vec<_>, _>>()?;
        let assignee = match q.assignee_id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some("none") | Some("unassigned") => Some(AssigneeFilter::Unassigned),
            Some(id) => Some(AssigneeFilter::Agent(AgentId(uuid_of("assigneeId", id)?))),
        };
        let req = ListTickets {
            statuses,
            priority: q
                .priority
                .as_deref()
                .map(|p| param("priority", Priority::parse(p)))
                .transpose()?,
            queue_id: q
                .queue_id
                .as_deref()
                .map(|id| uuid_of("queueId", id).map(QueueId))
                .transpose()?,
            assignee,
            click_id: q
                .click_id
                .as_deref()
                .map(|c| param("clickId", ClickIdKind::parse(c)))
                .transpose()?,
            count_limit: q.count_limit,
            q: q.q.filter(|s| !s.trim().is_empty()),
            date: q
                .date_range
                .map(|d| param("dateRange", DateRangePreset::parse(&d)).map(DateFilter::Preset))
                .transpose()?,
            stage_id: q
                .stage_id
                .as_deref()
                .map(|s| uuid_of("stageId", s).map(StageId))
                .transpose()?,
            origin: q.origin,
            source: q
                .source
                .as_deref()
                .map(|s| param("source", SourceType::parse(s)))
                .transpose()?,
            has_sales: q.has_sales,
            cursor: q.cursor,
            page_size: q.page_size,
        };
        Ok(req)
    }
}

/// A cursor that does not decode is a malformed parameter (400), like the others.
fn list_error(e: Error) -> ApiError {
    match e.field() {
        Some("cursor") => bad("cursor", e.to_string()),
        _ => e.into(),
    }
}

async fn list_tickets(
    State(state): State<AppState>,
    Caller(actor): Caller,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let req = ListQuery::into_request(q)?;
    let page_size = req.page_size.unwrap_or(20);
    let page = state
        .hd
        .list_tickets(state.org, &actor, req)
        .await
        .map_err(list_error)?;
    Ok(Json(json!({
        "items": page.items.iter().map(item).collect::<Vec<_>>(),
        "total": page.total,
        "totalExact": page.total_exact,
        "pageSize": page_size,
        "nextCursor": page.next_cursor,
        "origins": page.facets.origins,
        "sources": page.facets.sources,
        "stages": page.facets.stages.iter().map(|s| json!({"id": s.id, "name": s.name, "color": s.color})).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LeadBody {
    name: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    document: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TicketBody {
    utm_source: Option<String>,
    utm_medium: Option<String>,
    utm_campaign: Option<String>,
    utm_term: Option<String>,
    utm_content: Option<String>,
    gclid: Option<String>,
    fbclid: Option<String>,
    ctwaclid: Option<String>,
    source_type: Option<String>,
    stage_id: Option<uuid::Uuid>,
    deal_value: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    lead: LeadBody,
    #[serde(default)]
    ticket: TicketBody,
}

async fn create_ticket(
    State(state): State<AppState>,
    _: Caller,
    bytes: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let b: CreateBody = body(&bytes)?;
    let t = b.ticket;
    let mut click_ids = Vec::new();
    for (kind, v) in [
        (ClickIdKind::Gclid, t.gclid),
        (ClickIdKind::Fbclid, t.fbclid),
        (ClickIdKind::CtwaClid, t.ctwaclid),
    ] {
        if let Some(v) = v {
            click_ids.push(ClickId::new(kind, &v)?);
        }
    }
    let tracking = Tracking {
        utm_source: t.utm_source,
        utm_medium: t.utm_medium,
        utm_campaign: t.utm_campaign,
        utm_term: t.utm_term,
        utm_content: t.utm_content,
        click_ids,
        source_type: t.source_type.map(|s| SourceType::parse(&s)).transpose()?,
        ..Tracking::default()
    };
    let ticket = state
        .hd
        .create_ticket(
            state.org,
            &Actor::System,
            NewTicket {
                stage_id: t.stage_id.map(StageId),
                deal_value: t
                    .deal_value
                    .map(|v| Money::from_decimal(v, "BRL"))
                    .transpose()?,
                tracking,
                ..NewTicket::new(LeadInput {
                    name: b.lead.name,
                    phone: b.lead.phone,
                    email: b.lead.email,
                    document: b.lead.document,
                    whatsapp_id: None,
                    visitor_id: None,
                })
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": ticket.id, "number": ticket.number, "status": ticket.status})),
    ))
}

async fn get_ticket(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = ticket_id(&id)?;
    let t = state.hd.ticket(state.org, &actor, id).await?;
    let sla = state.hd.sla_state(state.org, &actor, id).await?;
    let Json(mut v) = to_json(&t)?;
    // What the clocks say now: each one's status, due and at-risk instants, seconds used
    // and left (`null` when no policy applies to the ticket).
    v["slaState"] = to_json(&sla)?.0;
    Ok(Json(v))
}

/// The actor of a request: the agent named by `X-Helpdesk-Agent` (an agent id), else the
/// system (the integration holding the API token).
fn actor(headers: &HeaderMap) -> Result<Actor, ApiError> {
    match headers
        .get("x-helpdesk-agent")
        .and_then(|v| v.to_str().ok())
    {
        None => Ok(Actor::System),
        Some(v) => v
            .parse::<uuid::Uuid>()
            .map(|u| Actor::agent(helpdesk_core::ids::AgentId(u)))
            .map_err(|_| bad("X-Helpdesk-Agent", "not an agent id")),
    }
}

fn ticket_id(id: &str) -> Result<TicketId, ApiError> {
    id.parse()
        .map(TicketId)
        .map_err(|_| bad("id", "not a ticket id"))
}

fn body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.is_empty() {
        return serde_json::from_slice(b"{}").map_err(|e| bad("body", e.to_string()));
    }
    serde_json::from_slice(bytes).map_err(|e| bad("body", e.to_string()))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PatchBody {
    stage_id: Option<uuid::Uuid>,
    assignee_id: Option<uuid::Uuid>,
    #[serde(default, deserialize_with = "nullable")]
    deal_value: Option<Option<f64>>,
    priority: Option<String>,
}

/// `null` → `Some(None)`, absent → `None`.
fn nullable<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<f64>>, D::Error> {
    Option::<f64>::deserialize(d).map(Some)
}

async fn patch_ticket(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let id = ticket_id(&id)?;
    let b: PatchBody = body(&bytes)?;
    let patch = helpdesk_core::service::TicketPatch {
        stage_id: b.stage_id.map(StageId),
        priority: b
            .priority
            .map(|p| helpdesk_core::domain::ticket::Priority::parse(&p))
            .transpose()?,
        deal_value: b
            .deal_value
            .map(|v| v.map(|v| Money::from_decimal(v, "BRL")).transpose())
            .transpose()?,
        ..helpdesk_core::service::TicketPatch::default()
    };
    let mut t = state.hd.update_ticket(state.org, &actor, id, patch).await?;
    if let Some(a) = b.assignee_id {
        t = state
            .hd
            .assign(state.org, &actor, id, helpdesk_core::ids::AgentId(a))
            .await?;
    }
    to_json(&t)
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ActionBody {
    agent_id: Option<uuid::Uuid>,
    queue_id: Option<uuid::Uuid>,
    target_id: Option<uuid::Uuid>,
}

async fn ticket_action(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((id, action)): Path<(String, String)>,
    bytes: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let id = ticket_id(&id)?;
    let b: ActionBody = body(&bytes)?;
    let (hd, org) = (&state.hd, state.org);
    let t = match action.as_str() {
        "assign" => {
            let a = b.agent_id.ok_or_else(|| bad("agentId", "is required"))?;
            hd.assign(org, &actor, id, helpdesk_core::ids::AgentId(a))
                .await?
        }
        "transfer" => {
            let q = b.queue_id.ok_or_else(|| bad("queueId", "is required"))?;
            hd.transfer(org, &actor, id, helpdesk_core::ids::QueueId(q))
                .await?
        }
        "pending" => hd.set_pending(org, &actor, id).await?,
        "resolve" => hd.resolve(org, &actor, id).await?,
        "close" => hd.close(org, &actor, id).await?,
        "reopen" => hd.reopen(org, &actor, id).await?,
        "merge" => {
            let target = b.target_id.ok_or_else(|| bad("targetId", "is required"))?;
            hd.merge(org, &actor, id, TicketId(target)).await?
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!(
                    "no action {action:?} (assign, transfer, pending, resolve, close, reopen, merge)"
                ),
            ));
        }
    };
    to_json(&t)
}

async fn list_messages(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let msgs = state
        .hd
        .messages(state.org, &actor, ticket_id(&id)?)
        .await?;
    to_json(&json!({"items": msgs}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MessageBody {
    text: String,
    #[serde(default)]
    is_internal: bool,
}

async fn post_message(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let id = ticket_id(&id)?;
    let b: MessageBody = body(&bytes)?;
    // A note is never sent; a reply goes to WhatsApp (stored first, sent after commit).
    let m = if b.is_internal {
        state.hd.add_note(state.org, &actor, id, &b.text).await?
    } else {
        state
            .hd
            .reply(
                state.org,
                &actor,
                id,
                helpdesk_core::domain::message::MessageContent::text(b.text),
            )
            .await?
    };
    created(&m)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RatingBody {
    score: u8,
    feedback: Option<String>,
}

async fn rate_ticket(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let b: RatingBody = body(&bytes)?;
    let t = state
        .hd
        .rate(state.org, &actor, ticket_id(&id)?, b.score, b.feedback)
        .await?;
    to_json(&t)
}

async fn inbounds(
    State(state): State<AppState>,
    Caller(actor): Caller,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let req = ListQuery::into_request(q)?;
    let page = state
        .hd
        .inbounds(state.org, &actor, req)
        .await
        .map_err(list_error)?;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|r| {
            json!({
                "id": r.ticket_id, "number": r.number, "status": r.status,
                "gclid": r.gclid, "fbclid": r.fbclid, "ctwaclid": r.ctwa_clid, "ttclid": r.ttclid,
                "utmSource": r.utm_source, "utmMedium": r.utm_medium, "utmCampaign": r.utm_campaign,
                "utmTerm": r.utm_term, "utmContent": r.utm_content, "sourceType": r.source_type,
                "leadId": r.lead_id, "leadName": r.lead_name, "createdAt": r.created_at,
            })
        })
        .collect();
    Ok(Json(
        json!({"items": items, "total": page.total, "totalExact": page.total_exact, "nextCursor": page.next_cursor}),
    ))
}

/// Delivers events to the subscribed URLs: `POST` of the event JSON, signed with
/// `X-Helpdesk-Signature-256: sha256=<hex HMAC-SHA256 of the body>`, with `X-Helpdesk-Event-Id`
/// and `X-Helpdesk-Event-Version` (the payload version, `EventData`'s documentation shows each).
/// All URLs must accept (2xx) for the event to count as delivered; otherwise the relay retries
/// it later (so a URL may see an event twice: dedupe by the id).
pub struct WebhookSink {
    http: reqwest::Client,
    urls: Vec<String>,
    secret: Vec<u8>,
}

impl WebhookSink {
    /// A sink for `urls`, signing with `secret`.
    pub fn new(urls: Vec<String>, secret: &str) -> WebhookSink {
        WebhookSink {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            urls,
            secret: secret.as_bytes().to_vec(),
        }
    }
}

#[async_trait::async_trait]
impl helpdesk_core::service::EventSink for WebhookSink {
    async fn deliver(
        &self,
        event: &helpdesk_core::domain::records::Event,
    ) -> Result<(), helpdesk_core::service::SinkError> {
        use helpdesk_core::service::SinkError;
        let body = serde_json::to_vec(event).map_err(|e| SinkError::permanent(e.to_string()))?;
        let signature = helpdesk_whatsapp::webhook::sign(&self.secret, &body);
        for url in &self.urls {
            let resp = self
                .http
                .post(url)
                .header("content-type", "application/json")
                .header("x-helpdesk-event-id", event.id.to_string())
                .header(
                    "x-helpdesk-event-version",
                    helpdesk_core::domain::records::EVENT_PAYLOAD_VERSION.to_string(),
                )
                .header("x-helpdesk-signature-256", &signature)
                .body(body.clone())
                .send()
                .await
                .map_err(|e| {
                    SinkError::retryable(if e.is_timeout() {
                        "timeout"
                    } else {
                        "network error"
                    })
                })?;
            let s = resp.status();
            if s.is_success() {
                continue;
            }
            let msg = format!("subscriber answered HTTP {}", s.as_u16());
            return Err(
                if s.is_server_error() || s.as_u16() == 429 || s.as_u16() == 408 {
                    SinkError::retryable(msg)
                } else {
                    SinkError::permanent(msg)
                },
            );
        }
        Ok(())
    }
}

/// Background workers: the SLA scan (sleeps until the next SLA change, at most a minute) and,
/// with subscribers, the outbox relay. They stop after their current item when `stop` turns
/// true.
pub fn spawn_workers(
    hd: Helpdesk,
    sink: Option<Arc<WebhookSink>>,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut out = Vec::new();
    {
        let (hd, mut stop) = (hd.clone(), stop.clone());
        out.push(tokio::spawn(async move {
            while !*stop.borrow() {
                let now = hd.now();
                if let Err(e) = hd.scan_sla(now).await {
                    tracing::warn!(error = %e, "SLA scan failed; retrying");
                }
                let wait = match hd.next_sla_wake().await {
                    Ok(Some(t)) => (t - hd.now()).to_std().unwrap_or_default(),
                    _ => std::time::Duration::from_secs(60),
                }
                .clamp(
                    std::time::Duration::from_millis(200),
                    std::time::Duration::from_secs(60),
                );
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.changed() => {}
                }
            }
        }));
    }
    if let Some(sink) = sink {
        let mut stop = stop;
        out.push(tokio::spawn(async move {
            let opts = helpdesk_core::service::RelayOptions::default();
            while !*stop.borrow() {
                let idle = match hd.relay_events(sink.as_ref(), &opts).await {
                    Ok(r) => r.claimed == 0,
                    Err(e) => {
                        tracing::warn!(error = %e, "event relay failed; retrying");
                        true
                    }
                };
                if idle {
                    tokio::select! {
                        _ = tokio::time::sleep(std::time::Duration::from_millis(250)) => {}
                        _ = stop.changed() => {}
                    }
                }
            }
        }));
    }
    out
}

/// Serializes a domain value for the API: the domain's snake_case field names become the API's
/// camelCase (`deal_value` → `dealValue`). Enum values stay as they are (`in_progress`), and the
/// keys of free-form maps (a contact's `attributes`) are the user's data, never rewritten.
fn to_json<T: serde::Serialize>(v: &T) -> Result<Json<Value>, ApiError> {
    serde_json::to_value(v)
        .map(|v| Json(camel_keys(v)))
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))
}

/// Maps whose keys are data, not field names.
const DATA_MAPS: [&str; 2] = ["attributes", "priority_targets"];

fn camel_keys(v: Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.into_iter().map(camel_keys).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = match (DATA_MAPS.contains(&k.as_str()), v) {
                        (true, Value::Object(m)) => {
                            Value::Object(m.into_iter().map(|(k, v)| (k, camel_keys(v))).collect())
                        }
                        (_, v) => camel_keys(v),
                    };
                    (camel(&k), v)
                })
                .collect(),
        ),
        v => v,
    }
}

fn camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' && !out.is_empty() {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn created<T: serde::Serialize>(v: &T) -> Result<(StatusCode, Json<Value>), ApiError> {
    to_json(v).map(|j| (StatusCode::CREATED, j))
}

fn uuid_of(field: &'static str, s: &str) -> Result<uuid::Uuid, ApiError> {
    s.parse().map_err(|_| bad(field, "not an id"))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct QueueBody {
    name: String,
    color: Option<String>,
    #[serde(default)]
    distribution: helpdesk_core::domain::team::Distribution,
    #[serde(default, deserialize_with = "from_camel")]
    auto_replies: helpdesk_core::domain::team::AutoReplies,
    #[serde(default, deserialize_with = "from_camel")]
    business_hours: Option<helpdesk_core::sla::CalendarSpec>,
    /// `{"mode": "always"}` (default), `{"mode": "within", "minutes": 30}` or `{"mode": "never"}`.
    #[serde(default)]
    reopen: helpdesk_core::domain::team::Reopen,
}

async fn list_queues(State(state): State<AppState>, _: Caller) -> Result<Json<Value>, ApiError> {
    to_json(&state.hd.queues(state.org).await?)
}

async fn create_queue(
    State(state): State<AppState>,
    Caller(actor): Caller,
    bytes: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let b: QueueBody = body(&bytes)?;
    let q = state
        .hd
        .create_queue(
            state.org,
            &actor,
            NewQueue {
                name: b.name,
                color: b.color,
                business_hours: b.business_hours,
                auto_replies: b.auto_replies,
                distribution: b.distribution,
                reopen: b.reopen,
            },
        )
        .await?;
    created(&q)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MemberBody {
    agent_id: uuid::Uuid,
    #[serde(default)]
    skills: Vec<String>,
}

async fn add_member(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let b: MemberBody = body(&bytes)?;
    let m = state
        .hd
        .add_queue_member(
            state.org,
            &actor,
            helpdesk_core::ids::QueueId(uuid_of("id", &id)?),
            helpdesk_core::ids::AgentId(b.agent_id),
            b.skills,
        )
        .await?;
    created(&m)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AgentBody {
    name: String,
    email: String,
    role: helpdesk_core::domain::team::Role,
    capacity: u32,
    presence: helpdesk_core::domain::team::Presence,
}

async fn list_agents(State(state): State<AppState>, _: Caller) -> Result<Json<Value>, ApiError> {
    to_json(&state.hd.agents(state.org).await?)
}

async fn create_agent(
    State(state): State<AppState>,
    Caller(actor): Caller,
    bytes: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let b: AgentBody = body(&bytes)?;
    let a = state
        .hd
        .create_agent(
            state.org,
            &actor,
            helpdesk_core::service::NewAgent {
                name: b.name,
                email: b.email,
                role: b.role,
                capacity: b.capacity,
                presence: b.presence,
            },
        )
        .await?;
    created(&a)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PresenceBody {
    presence: helpdesk_core::domain::team::Presence,
}

async fn set_presence(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let b: PresenceBody = body(&bytes)?;
    let a = state
        .hd
        .set_presence(
            state.org,
            &actor,
            helpdesk_core::ids::AgentId(uuid_of("id", &id)?),
            b.presence,
        )
        .await?;
    to_json(&a)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StageBody {
    name: String,
    color: String,
    position: i32,
}

async fn list_stages(State(state): State<AppState>, _: Caller) -> Result<Json<Value>, ApiError> {
    to_json(&state.hd.ensure_stages(state.org).await?)
}

async fn create_stage(
    State(state): State<AppState>,
    Caller(actor): Caller,
    bytes: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let b: StageBody = body(&bytes)?;
    let s = state
        .hd
        .create_stage(state.org, &actor, &b.name, &b.color, b.position)
        .await?;
    created(&s)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CannedBody {
    shortcut: String,
    title: String,
    body: String,
    category: Option<String>,
}

async fn list_canned(State(state): State<AppState>, _: Caller) -> Result<Json<Value>, ApiError> {
    to_json(&state.hd.canned_responses(state.org).await?)
}

async fn create_canned(
    State(state): State<AppState>,
    Caller(actor): Caller,
    bytes: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let b: CannedBody = body(&bytes)?;
    let c = state
        .hd
        .create_canned_response(
            state.org,
            &actor,
            &b.shortcut,
            &b.title,
            &b.body,
            b.category,
        )
        .await?;
    created(&c)
}

async fn delete_canned(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .hd
        .delete_canned_response(
            state.org,
            &actor,
            helpdesk_core::ids::CannedResponseId(uuid_of("id", &id)?),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A nested domain object sent in camelCase (`outOfHours`, `specialDays`): its keys become the
/// domain's snake_case before it is read, so requests and responses speak the same JSON.
fn from_camel<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let v = Value::deserialize(d)?;
    serde_json::from_value(snake_keys(v)).map_err(serde::de::Error::custom)
}

/// [`from_camel`] for a field that may be sent as `null` to clear it: present → `Some(value)`.
fn present_camel<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    from_camel(d).map(Some)
}

/// A field that may be sent as `null` to clear it: absent → `None`, `null` → `Some(None)`.
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

fn snake_keys(v: Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.into_iter().map(snake_keys).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let k = snake(&k);
                    let v = match (DATA_MAPS.contains(&k.as_str()), v) {
                        (true, Value::Object(m)) => {
                            Value::Object(m.into_iter().map(|(k, v)| (k, snake_keys(v))).collect())
                        }
                        (_, v) => snake_keys(v),
                    };
                    (k, v)
                })
                .collect(),
        ),
        v => v,
    }
}

fn snake(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            if !out.is_empty() {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct QueuePatch {
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    color: Option<Option<String>>,
    distribution: Option<helpdesk_core::domain::team::Distribution>,
    #[serde(default, deserialize_with = "present_camel")]
    auto_replies: Option<helpdesk_core::domain::team::AutoReplies>,
    #[serde(default, deserialize_with = "present_camel")]
    business_hours: Option<Option<helpdesk_core::sla::CalendarSpec>>,
    #[serde(default, deserialize_with = "present")]
    sla_policy_id: Option<Option<uuid::Uuid>>,
    reopen: Option<helpdesk_core::domain::team::Reopen>,
}

async fn update_queue(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let id = QueueId(uuid_of("id", &id)?);
    let b: QueuePatch = body(&bytes)?;
    // One transaction: an unknown policy leaves the queue as it was.
    let q = state
        .hd
        .update_queue(
            state.org,
            &actor,
            id,
            helpdesk_core::service::QueueChanges {
                name: b.name,
                color: b.color,
                business_hours: b.business_hours,
                auto_replies: b.auto_replies,
                distribution: b.distribution,
                sla_policy_id: b
                    .sla_policy_id
                    .map(|p| p.map(helpdesk_core::ids::SlaPolicyId)),
                reopen: b.reopen,
            },
        )
        .await?;
    to_json(&q)
}

async fn delete_queue(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .hd
        .delete_queue(state.org, &actor, QueueId(uuid_of("id", &id)?))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_member(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((id, agent)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .hd
        .remove_queue_member(
            state.org,
            &actor,
            QueueId(uuid_of("id", &id)?),
            AgentId(uuid_of("agent", &agent)?),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AgentPatch {
    name: Option<String>,
    role: Option<helpdesk_core::domain::team::Role>,
    capacity: Option<u32>,
    active: Option<bool>,
}

async fn update_agent(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let b: AgentPatch = body(&bytes)?;
    let a = state
        .hd
        .update_agent(
            state.org,
            &actor,
            AgentId(uuid_of("id", &id)?),
            helpdesk_core::service::AgentChanges {
                name: b.name,
                role: b.role,
                capacity: b.capacity,
                active: b.active,
            },
        )
        .await?;
    to_json(&a)
}

/// Agents are deactivated, not erased: tickets and the audit trail keep naming them.
async fn deactivate_agent(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let a = state
        .hd
        .update_agent(
            state.org,
            &actor,
            AgentId(uuid_of("id", &id)?),
            helpdesk_core::service::AgentChanges {
                active: Some(false),
                ..Default::default()
            },
        )
        .await?;
    to_json(&a)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StagePatch {
    name: Option<String>,
    color: Option<String>,
    position: Option<i32>,
}

async fn update_stage(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let b: StagePatch = body(&bytes)?;
    let s = state
        .hd
        .update_stage(
            state.org,
            &actor,
            StageId(uuid_of("id", &id)?),
            helpdesk_core::service::StageChanges {
                name: b.name,
                color: b.color,
                position: b.position,
            },
        )
        .await?;
    to_json(&s)
}

async fn delete_stage(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .hd
        .delete_stage(state.org, &actor, StageId(uuid_of("id", &id)?))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CannedPatch {
    shortcut: Option<String>,
    title: Option<String>,
    body: Option<String>,
    #[serde(default, deserialize_with = "present")]
    category: Option<Option<String>>,
}

async fn update_canned(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let b: CannedPatch = body(&bytes)?;
    let c = state
        .hd
        .update_canned_response(
            state.org,
            &actor,
            helpdesk_core::ids::CannedResponseId(uuid_of("id", &id)?),
            helpdesk_core::service::CannedChanges {
                shortcut: b.shortcut,
                title: b.title,
                body: b.body,
                category: b.category,
            },
        )
        .await?;
    to_json(&c)
}

/// Serves until `shutdown` completes; in-flight requests finish first.
pub async fn serve(
    app: App,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app.router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// The whole service: the workers (SLA scan, event relay) and the HTTP server, until
/// `shutdown` completes. Then the listener closes, in-flight requests finish, and the workers
/// stop after their current item (an event being delivered is delivered and settled); `run`
/// returns when all of that is done.
pub async fn run(
    app: App,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let workers = spawn_workers(app.state.hd.clone(), app.sink.clone(), stop_rx);
    let served = serve(app, listener, shutdown).await;
    let _ = stop_tx.send(true);
    for w in workers {
        if let Err(e) = w.await {
            tracing::error!(error = %e, "a worker panicked");
        }
    }
    served
}

/// Completes on SIGTERM or Ctrl-C. The handlers are installed when this is called (not when
/// the future is first polled), so a signal that arrives right after is not lost.
pub fn terminate_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static>
{
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
                _ = int.recv() => tracing::info!("SIGINT: shutting down"),
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_requests_read_as_the_domain() {
        let sent = json!({"outOfHours": "Fechado", "specialDays": [{"opensAt": "09:00"}],
            "attributes": {"planoContratado": 1}});
        assert_eq!(
            snake_keys(sent.clone()),
            json!({"out_of_hours": "Fechado", "special_days": [{"opens_at": "09:00"}],
                "attributes": {"planoContratado": 1}})
        );
        assert_eq!(camel_keys(snake_keys(sent.clone())), sent, "round trip");
        let q: QueuePatch = serde_json::from_value(
            json!({"autoReplies": {"outOfHours": "Fechado"}, "color": null}),
        )
        .unwrap();
        assert_eq!(
            q.auto_replies.unwrap().out_of_hours.as_deref(),
            Some("Fechado")
        );
        assert_eq!(q.color, Some(None), "null clears");
        assert!(q.business_hours.is_none(), "absent keeps");
    }

    #[test]
    fn domain_fields_become_camel_case_and_data_keys_stay() {
        let v = json!({
            "deal_value": {"minor": 150},
            "sla_state": [{"due_at": "x", "kind": "first_response"}],
            "attributes": {"plano_contratado": {"inner_key": 1}},
            "priority_targets": {"urgent": {"first_response_minutes": 15}},
            "id": "a",
            "_private": 1
        });
        assert_eq!(
            camel_keys(v),
            json!({
                "dealValue": {"minor": 150},
                "slaState": [{"dueAt": "x", "kind": "first_response"}],
                "attributes": {"plano_contratado": {"innerKey": 1}},
                "priorityTargets": {"urgent": {"firstResponseMinutes": 15}},
                "id": "a",
                "_private": 1
            })
        );
    }
}
