//! Payload parsing: every entry, change, message and status, as typed items.

use chrono::{DateTime, Utc};
use helpdesk_core::channel::{InboundMessage, InboundSender, InboundStatus};
use helpdesk_core::domain::message::{DeliveryError, DeliveryStatus, MediaKind, MessageContent};
use helpdesk_core::domain::party::ChannelKind;
use helpdesk_core::domain::tracking::{ClickId, ClickIdKind, SourceType, Tracking};
use serde_json::Value;

/// The body is not a WhatsApp webhook at all (items inside a valid envelope never fail the
/// whole payload; they become [`WebhookItem::Malformed`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The body is not valid JSON; the text is the JSON parser's message.
    #[error("body is not JSON: {0}")]
    NotJson(String),
    /// JSON, but not `{"object": "whatsapp_business_account", "entry": [...]}`.
    #[error("not a WhatsApp Business Account webhook: {0}")]
    NotWhatsapp(&'static str),
}

/// WhatsApp-specific facts about an inbound message that core's types do not carry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageMeta {
    /// WhatsApp Business Account id (`entry[].id`).
    pub waba_id: Option<String>,
    /// The message `type` as Meta wrote it (`text`, `image`, `interactive`…), also for kinds
    /// core keeps as unknown.
    pub wa_type: String,
    /// Meta marked the message as forwarded (`context.forwarded`).
    pub forwarded: bool,
    /// Meta marked the message as forwarded many times (`context.frequently_forwarded`).
    pub frequently_forwarded: bool,
    /// Product inquiry: (catalog id, product retailer id).
    pub referred_product: Option<(String, String)>,
    /// For `edit`: the message edited.
    pub edits: Option<String>,
    /// For `revoke`: the message deleted.
    pub revokes: Option<String>,
    /// Errors attached to the message (unsupported kinds: 131051).
    pub errors: Vec<DeliveryError>,
}

/// Status facts that core's types do not carry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatusMeta {
    /// The raw status word (`played` maps to read).
    pub wa_status: String,
    /// The recipient's phone as WhatsApp wrote it (`recipient_id`, digits); `None` when Meta sent
    /// only the business-scoped user id.
    pub recipient_id: Option<String>,
    /// The recipient's WhatsApp business-scoped user id; `None` when Meta sent none.
    pub recipient_user_id: Option<String>,
    /// The `biz_opaque_callback_data` the sender attached to the outbound message, echoed back by
    /// Meta so a sender can match the status to its own records.
    pub biz_opaque_callback_data: Option<String>,
    /// `pricing.category` (service, marketing, utility, authentication…).
    pub pricing_category: Option<String>,
    /// Whether Meta bills the message (`pricing.billable`); `None` when not reported.
    pub billable: Option<bool>,
}

/// One thing a webhook payload says.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WebhookItem {
    /// A customer message, ready for `Helpdesk::ingest`.
    Message(Box<InboundMessage>, MessageMeta),
    /// A delivery status for an outbound message, ready for `Helpdesk::apply_status`.
    Status(InboundStatus, StatusMeta),
    /// The customer changed number (also delivered as a `system` message).
    NumberChanged {
        /// Inbox (`phone_number_id`).
        account_external_id: String,
        /// Old number (`from`).
        old_wa_id: String,
        /// The customer's new WhatsApp id (`system.wa_id`), the number they changed to.
        new_wa_id: String,
    },
    /// A message the business sent from the WhatsApp Business app (coexistence echo).
    Echo {
        /// The inbox's `phone_number_id` the echo was sent from.
        account_external_id: String,
        /// The customer's phone the business wrote to (`to`, digits); `None` when missing.
        to: Option<String>,
        /// The message's WhatsApp id (`wamid…`).
        external_id: String,
        /// What the business sent, mapped to core's content.
        content: MessageContent,
    },
    /// An error Meta attached to the change rather than to an item.
    Error {
        /// Inbox, when known.
        account_external_id: Option<String>,
        /// The error as Meta reported it (code, title, details).
        error: DeliveryError,
    },
    /// Another field (`message_template_status_update`, `account_update`, `user_preferences`…),
    /// kept as sent for the integrator to handle.
    Other {
        /// The change's field.
        field: String,
        /// The change's `value` object, unparsed.
        value: Value,
    },
    /// An item that could not be read; kept with the reason so nothing disappears silently.
    Malformed {
        /// Where it was (`entry[0].changes[1].messages[2]`).
        path: String,
        /// Why it could not be read, in words.
        reason: String,
        /// The item's JSON as it was in the payload.
        raw: Value,
    },
}

fn s(v: &Value, k: &str) -> Option<String> {
    match v.get(k)? {
        Value::String(x) => Some(x.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn timestamp(v: &Value) -> Option<DateTime<Utc>> {
    let t: i64 = match v.get("timestamp")? {
        Value::String(x) => x.trim().parse().ok()?,
        Value::Number(n) => n.as_i64()?,
        _ => return None,
    };
    DateTime::<Utc>::from_timestamp(t, 0)
}

fn error_of(e: &Value) -> DeliveryError {
    DeliveryError {
        code: e.get("code").and_then(Value::as_i64),
        title: s(e, "title")
            .or_else(|| s(e, "message"))
            .unwrap_or_else(|| "unknown error".into()),
        // Current shape: error_data.details; legacy shape: details at the top.
        details: e
            .get("error_data")
            .and_then(|d| s(d, "details"))
            .or_else(|| s(e, "details")),
    }
}

fn errors_of(v: &Value) -> Vec<DeliveryError> {
    v.get("errors")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(error_of).collect())
        .unwrap_or_default()
}

/// Parses a webhook body (the raw bytes, after [`verify_signature`](super::verify_signature)).
/// `received_at` stands in for a message without a usable timestamp.
pub fn parse(body: &[u8], received_at: DateTime<Utc>) -> Result<Vec<WebhookItem>, ParseError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| ParseError::NotJson(e.to_string()))?;
    parse_value(&v, received_at)
}

/// Parses an already decoded webhook body.
pub fn parse_value(v: &Value, received_at: DateTime<Utc>) -> Result<Vec<WebhookItem>, ParseError> {
    if v.get("object").and_then(Value::as_str) != Some("whatsapp_business_account") {
        return Err(ParseError::NotWhatsapp(
            "object is not whatsapp_business_account",
        ));
    }
    let entries = v
        .get("entry")
        .and_then(Value::as_array)
        .ok_or(ParseError::NotWhatsapp("no entry list"))?;
    let mut out = Vec::new();
    for (ei, entry) in entries.iter().enumerate() {
        let waba = s(entry, "id");
        let Some(changes) = entry.get("changes").and_then(Value::as_array) else {
            out.push(WebhookItem::Malformed {
                path: format!("entry[{ei}]"),
                reason: "no changes list".into(),
                raw: entry.clone(),
            });
            continue;
        };
        for (ci, change) in changes.iter().enumerate() {
            let path = format!("entry[{ei}].changes[{ci}]");
            let field = s(change, "field").unwrap_or_default();
            let value = change.get("value").cloned().unwrap_or(Value::Null);
            match field.as_str() {
                "messages" => {
                    messages_change(&value, waba.as_deref(), &path, received_at, &mut out)
                }
                "smb_message_echoes" => echoes_change(&value, &path, &mut out),
                _ => out.push(WebhookItem::Other { field, value }),
            }
        }
    }
    Ok(out)
}

fn messages_change(
    value: &Value,
    waba: Option<&str>,
    path: &str,
    received_at: DateTime<Utc>,
    out: &mut Vec<WebhookItem>,
) {
    let Some(account) = value.get("metadata").and_then(|m| s(m, "phone_number_id")) else {
        out.push(WebhookItem::Malformed {
            path: path.to_owned(),
            reason: "no metadata.phone_number_id".into(),
            raw: value.clone(),
        });
        return;
    };
    let contacts: &[Value] = value
        .get("contacts")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    for e in value
        .get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out.push(WebhookItem::Error {
            account_external_id: Some(account.clone()),
            error: error_of(e),
        });
    }
    for (mi, m) in value
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let p = format!("{path}.messages[{mi}]");
        match message(m, &account, contacts, waba, received_at) {
            Ok(items) => out.extend(items),
            Err(reason) => out.push(WebhookItem::Malformed {
                path: p,
                reason,
                raw: m.clone(),
            }),
        }
    }
    for (si, st) in value
        .get("statuses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        match status(st, &account, received_at) {
            Ok(item) => out.push(item),
            Err(reason) => out.push(WebhookItem::Malformed {
                path: format!("{path}.statuses[{si}]"),
                reason,
                raw: st.clone(),
            }),
        }
    }
}

fn echoes_change(value: &Value, path: &str, out: &mut Vec<WebhookItem>) {
    let account = value
        .get("metadata")
        .and_then(|m| s(m, "phone_number_id"))
        .unwrap_or_default();
    for (i, m) in value
        .get("message_echoes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        match (s(m, "id"), s(m, "type")) {
            (Some(id), Some(kind)) => {
                let (content, _) = content(m, &kind);
                out.push(WebhookItem::Echo {
                    account_external_id: account.clone(),
                    to: s(m, "to"),
                    external_id: id,
                    content,
                });
            }
            _ => out.push(WebhookItem::Malformed {
                path: format!("{path}.message_echoes[{i}]"),
                reason: "no id or type".into(),
                raw: m.clone(),
            }),
        }
    }
}

fn media_kind(kind: &str) -> Option<MediaKind> {
    Some(match kind {
        "image" => MediaKind::Image,
        "audio" => MediaKind::Audio,
        "video" => MediaKind::Video,
        "document" => MediaKind::Document,
        "sticker" => MediaKind::Sticker,
        _ => return None,
    })
}

/// Core content of a message of `kind` (or of the inner message of an edit).
fn content(m: &Value, kind: &str) -> (MessageContent, MessageMeta) {
    let mut meta = MessageMeta {
        wa_type: kind.to_owned(),
        ..MessageMeta::default()
    };
    let unknown = || MessageContent::Unknown {
        channel_kind: kind.to_owned(),
        raw: m.clone(),
    };
    let body = m.get(kind);
    let c = match (kind, body) {
        ("text", Some(b)) => match s(b, "body") {
            Some(body) => MessageContent::Text { body },
            None => unknown(),
        },
        (k, Some(b)) if media_kind(k).is_some() => MessageContent::Media {
            media: media_kind(k).unwrap_or(MediaKind::Document),
            media_id: s(b, "id"),
            url: s(b, "url").or_else(|| s(b, "link")),
            mime_type: s(b, "mime_type"),
            caption: s(b, "caption"),
            filename: s(b, "filename"),
        },
        ("location", Some(b)) => match (
            b.get("latitude").and_then(Value::as_f64),
            b.get("longitude").and_then(Value::as_f64),
        ) {
            (Some(latitude), Some(longitude)) => MessageContent::Location {
                latitude,
                longitude,
                name: s(b, "name"),
                address: s(b, "address"),
            },
            _ => unknown(),
        },
        ("contacts", Some(b)) => MessageContent::Contacts { cards: b.clone() },
        ("interactive", Some(b)) => {
            let it = s(b, "type").unwrap_or_default();
            match (it.as_str(), b.get(&it)) {
                ("button_reply" | "list_reply", Some(r)) => MessageContent::InteractiveReply {
                    interactive: it.clone(),
                    reply_id: s(r, "id"),
                    title: s(r, "title"),
                    payload: s(r, "description").map(Value::String),
                },
                ("nfm_reply", Some(r)) => MessageContent::InteractiveReply {
                    interactive: it.clone(),
                    reply_id: s(r, "name"),
                    title: s(r, "body"),
                    // Flows send their answers as a JSON string; keep it as JSON when it is.
                    payload: s(r, "response_json")
                        .map(|j| serde_json::from_str(&j).unwrap_or(Value::String(j))),
                },
                (_, Some(r)) => MessageContent::InteractiveReply {
                    interactive: it.clone(),
                    reply_id: s(r, "response").or_else(|| s(r, "id")),
                    title: s(r, "title"),
                    payload: Some(r.clone()),
                },
                _ => unknown(),
            }
        }
        ("button", Some(b)) => MessageContent::InteractiveReply {
            interactive: "button".into(),
            reply_id: s(b, "payload"),
            title: s(b, "text"),
            payload: None,
        },
        ("reaction", Some(b)) => match s(b, "message_id") {
            Some(target) => MessageContent::Reaction {
                emoji: s(b, "emoji").filter(|e| !e.is_empty()),
                target_external_id: target,
            },
            None => unknown(),
        },
        ("order", Some(b)) => MessageContent::Order { order: b.clone() },
        ("system", Some(b)) => MessageContent::System {
            body: s(b, "body").unwrap_or_else(|| s(b, "type").unwrap_or_default()),
        },
        ("request_welcome", _) => MessageContent::System {
            body: "request_welcome: the customer opened the chat".into(),
        },
        ("revoke", Some(b)) => {
            meta.revokes = s(b, "original_message_id");
            MessageContent::System {
                body: "the customer deleted a message".into(),
            }
        }
        ("edit", Some(b)) => {
            meta.edits = s(b, "original_message_id");
            match b.get("message") {
                Some(inner) => {
                    let inner_kind = s(inner, "type").unwrap_or_default();
                    content(inner, &inner_kind).0
                }
                None => unknown(),
            }
        }
        _ => unknown(),
    };
    (c, meta)
}

fn message(
    m: &Value,
    account: &str,
    contacts: &[Value],
    waba: Option<&str>,
    received_at: DateTime<Utc>,
) -> Result<Vec<WebhookItem>, String> {
    let id = s(m, "id")
        .filter(|x| !x.is_empty())
        .ok_or("no message id")?;
    let kind = s(m, "type").unwrap_or_else(|| "unknown".into());
    let from = s(m, "from");
    let from_user = s(m, "from_user_id");
    if from.is_none() && from_user.is_none() {
        return Err("no sender (from or from_user_id)".into());
    }
    let contact = contacts
        .iter()
        .find(|c| {
            (from.is_some() && s(c, "wa_id") == from)
                || (from_user.is_some() && s(c, "user_id") == from_user)
        })
        .or(if contacts.len() == 1 {
            contacts.first()
        } else {
            None
        });
    let name = contact
        .and_then(|c| c.get("profile"))
        .and_then(|p| s(p, "name"));
    let (content, mut meta) = content(m, &kind);
    meta.waba_id = waba.map(str::to_owned);
    meta.errors = errors_of(m);
    let ctx = m.get("context");
    meta.forwarded = ctx
        .and_then(|c| c.get("forwarded"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    meta.frequently_forwarded = ctx
        .and_then(|c| c.get("frequently_forwarded"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    meta.referred_product = ctx
        .and_then(|c| c.get("referred_product"))
        .and_then(|r| Some((s(r, "catalog_id")?, s(r, "product_retailer_id")?)));
    let tracking = m.get("referral").map(|r| {
        let mut t = Tracking {
            utm_source: Some("meta_ads".into()),
            utm_medium: Some("click_to_whatsapp".into()),
            utm_campaign: s(r, "source_id"),
            source_type: Some(SourceType::Paid),
            ad_headline: s(r, "headline"),
            ad_source_url: s(r, "source_url"),
            ..Tracking::default()
        };
        if let Some(c) =
            s(r, "ctwa_clid").and_then(|c| ClickId::new(ClickIdKind::CtwaClid, &c).ok())
        {
            t.click_ids.push(c);
        }
        t
    });
    let mut items = Vec::with_capacity(2);
    if kind == "system"
        && let Some(sys) = m.get("system")
        && s(sys, "type").as_deref() == Some("user_changed_number")
        && let (Some(old), Some(new)) = (from.clone(), s(sys, "wa_id"))
    {
        items.push(WebhookItem::NumberChanged {
            account_external_id: account.to_owned(),
            old_wa_id: old,
            new_wa_id: new,
        });
    }
    let inbound = InboundMessage {
        channel: ChannelKind::Whatsapp,
        account_external_id: account.to_owned(),
        external_id: id,
        from: InboundSender {
            phone: from.or_else(|| contact.and_then(|c| s(c, "wa_id"))),
            whatsapp_id: from_user.or_else(|| contact.and_then(|c| s(c, "user_id"))),
            email: None,
            name,
            visitor_id: None,
        },
        content,
        sent_at: timestamp(m).unwrap_or(received_at),
        reply_to_external_id: ctx.and_then(|c| s(c, "id")),
        tracking,
    };
    items.insert(0, WebhookItem::Message(Box::new(inbound), meta));
    Ok(items)
}

fn status(st: &Value, account: &str, received_at: DateTime<Utc>) -> Result<WebhookItem, String> {
    let id = s(st, "id")
        .filter(|x| !x.is_empty())
        .ok_or("no message id")?;
    let word = s(st, "status").ok_or("no status")?;
    let status = match word.as_str() {
        "sent" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "read" | "played" => DeliveryStatus::Read,
        "failed" => DeliveryStatus::Failed,
        other => return Err(format!("unknown status {other:?}")),
    };
    let errors = errors_of(st);
    let pricing = st.get("pricing");
    Ok(WebhookItem::Status(
        InboundStatus {
            channel: ChannelKind::Whatsapp,
            account_external_id: account.to_owned(),
            external_id: id,
            status,
            error: errors.into_iter().next(),
            at: timestamp(st).unwrap_or(received_at),
            pricing_category: pricing.and_then(|p| s(p, "category")),
        },
        StatusMeta {
            wa_status: word,
            recipient_id: s(st, "recipient_id"),
            recipient_user_id: s(st, "recipient_user_id"),
            biz_opaque_callback_data: s(st, "biz_opaque_callback_data"),
            pricing_category: pricing.and_then(|p| s(p, "category")),
            billable: pricing
                .and_then(|p| p.get("billable"))
                .and_then(Value::as_bool),
        },
    ))
}
