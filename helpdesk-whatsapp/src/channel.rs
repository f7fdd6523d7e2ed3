//! Core's [`Channel`] over the Graph API.

use crate::graph::{GraphClient, GraphError};
use async_trait::async_trait;
use helpdesk_core::channel::{
    Channel, ChannelFailure, OutboundMessage, Recipient, SendReceipt, channel_error,
};
use helpdesk_core::domain::message::{MediaKind, MessageContent};
use helpdesk_core::domain::party::ChannelAccount;
use helpdesk_core::{Error, Result};
use serde_json::{Value, json};
use std::sync::Arc;

/// Sends core messages as WhatsApp messages from the account's `phone_number_id`.
#[derive(Debug, Clone)]
pub struct WhatsappChannel {
    client: Arc<GraphClient>,
}

impl WhatsappChannel {
    /// A channel over `client`.
    pub fn new(client: Arc<GraphClient>) -> WhatsappChannel {
        WhatsappChannel { client }
    }

    /// The Graph client (media, mark as read).
    pub fn client(&self) -> &Arc<GraphClient> {
        &self.client
    }
}

fn media_type(m: MediaKind) -> &'static str {
    match m {
        MediaKind::Image => "image",
        MediaKind::Audio => "audio",
        MediaKind::Video => "video",
        MediaKind::Document => "document",
        MediaKind::Sticker => "sticker",
    }
}

/// The Graph `/messages` body for `message` to `to` (without `messaging_product`, which the
/// client adds). Phone recipients go in `to` (digits); recipients known only by their
/// business-scoped user id go in `recipient`.
pub fn message_body(to: &Recipient, message: &OutboundMessage) -> Result<Value> {
    let mut body = json!({"recipient_type": "individual"});
    match (&to.phone, &to.whatsapp_id) {
        (Some(p), _) => body["to"] = json!(p.digits()),
        (None, Some(id)) => body["recipient"] = json!(id),
        (None, None) => {
            return Err(channel_error(
                ChannelFailure::InvalidRecipient,
                "the contact has no phone or WhatsApp id",
            ));
        }
    }
    if let Some(ctx) = &message.reply_to_external_id {
        body["context"] = json!({"message_id": ctx});
    }
    let (kind, payload) = match &message.content {
        MessageContent::Text { body: text } => (
            "text",
            json!({"body": text, "preview_url": text.contains("http://") || text.contains("https://")}),
        ),
        MessageContent::Media {
            media,
            media_id,
            url,
            caption,
            filename,
            ..
        } => {
            let mut m = match (media_id, url) {
                (Some(id), _) => json!({"id": id}),
                (None, Some(link)) => json!({"link": link}),
                (None, None) => {
                    return Err(Error::invalid("media", "either media_id or url is needed"));
                }
            };
            // WhatsApp takes captions on image, video and document; filenames on documents.
            if let Some(c) = caption.as_ref().filter(|_| {
                matches!(
                    media,
                    MediaKind::Image | MediaKind::Video | MediaKind::Document
                )
            }) {
                m["caption"] = json!(c);
            }
            if let Some(f) = filename.as_ref().filter(|_| *media == MediaKind::Document) {
                m["filename"] = json!(f);
            }
            (media_type(*media), m)
        }
        MessageContent::Location {
            latitude,
            longitude,
            name,
            address,
        } => (
            "location",
            json!({"latitude": latitude, "longitude": longitude, "name": name, "address": address}),
        ),
        MessageContent::Template {
            name,
            language,
            components,
        } => (
            "template",
            json!({"name": name, "language": {"code": language}, "components": components}),
        ),
        MessageContent::Reaction {
            emoji,
            target_external_id,
        } => (
            "reaction",
            json!({"message_id": target_external_id, "emoji": emoji.clone().unwrap_or_default()}),
        ),
        MessageContent::Buttons {
            body: text,
            buttons,
        } => (
            "interactive",
            json!({"type": "button", "body": {"text": text}, "action": {"buttons": buttons.iter().map(|b| json!({"type": "reply", "reply": {"id": b.id, "title": b.title}})).collect::<Vec<_>>()}}),
        ),
        MessageContent::List {
            body: text,
            button,
            sections,
        } => (
            "interactive",
            json!({"type": "list", "body": {"text": text}, "action": {"button": button, "sections": sections.iter().map(|s| json!({
                "title": s.title,
                "rows": s.rows.iter().map(|r| {
                    let mut row = json!({"id": r.id, "title": r.title});
                    if let Some(d) = &r.description { row["description"] = json!(d); }
                    row
                }).collect::<Vec<_>>(),
            })).collect::<Vec<_>>()}}),
        ),
        MessageContent::Contacts { cards } => ("contacts", cards.clone()),
        other => {
            return Err(channel_error(
                ChannelFailure::Rejected,
                format!("WhatsApp cannot send {} messages", other.kind_name()),
            ));
        }
    };
    body["type"] = json!(kind);
    body[kind] = payload;
    Ok(body)
}

fn to_core(e: GraphError) -> Error {
    Error::Channel {
        failure: e.failure,
        retryable: e.is_retryable(),
        message: e.to_string(),
        source: Some(Box::new(e)),
    }
}

#[async_trait]
impl Channel for WhatsappChannel {
    async fn send(
        &self,
        account: &ChannelAccount,
        to: &Recipient,
        message: &OutboundMessage,
    ) -> Result<SendReceipt> {
        let body = message_body(to, message)?;
        let id = self
            .client
            .send_message(&account.external_id, body)
            .await
            .map_err(to_core)?;
        Ok(SendReceipt { external_id: id })
    }
}
