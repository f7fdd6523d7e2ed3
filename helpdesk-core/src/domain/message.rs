//! Messages: inbound from customers, outbound from agents and automations, internal notes.

use crate::ids::*;
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Which way a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the customer.
    Inbound,
    /// To the customer.
    Outbound,
    /// Internal note: never sent to the customer.
    Note,
}

/// Who wrote a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Author {
    /// The customer.
    Contact(ContactId),
    /// An agent.
    Agent(AgentId),
    /// An AI assistant (named by the integrator).
    Bot(String),
    /// The system (auto-replies).
    System,
}

/// Media kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    /// Picture.
    Image,
    /// Audio or voice note.
    Audio,
    /// Video.
    Video,
    /// File.
    Document,
    /// Sticker.
    Sticker,
}

/// What a message carries. Channel adapters map their wire kinds onto these; a kind that has
/// no mapping is kept as [`MessageContent::Unknown`] with its raw payload, never dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MessageContent {
    /// Plain text.
    Text {
        /// The text.
        body: String,
    },
    /// Image, audio, video, document or sticker.
    Media {
        /// Kind of media.
        media: MediaKind,
        /// Channel media id (to download) if known.
        media_id: Option<String>,
        /// Public link if known.
        url: Option<String>,
        /// MIME type.
        mime_type: Option<String>,
        /// Caption.
        caption: Option<String>,
        /// File name (documents).
        filename: Option<String>,
    },
    /// A location pin.
    Location {
        /// Latitude.
        latitude: f64,
        /// Longitude.
        longitude: f64,
        /// Place name.
        name: Option<String>,
        /// Address.
        address: Option<String>,
    },
    /// Shared contact cards (kept as the channel sent them).
    Contacts {
        /// Raw cards.
        cards: serde_json::Value,
    },
    /// A reply to buttons, lists, flows, or a template quick reply.
    InteractiveReply {
        /// Interactive kind (`button_reply`, `list_reply`, `nfm_reply`, `button`…).
        interactive: String,
        /// Id of the chosen option, if any.
        reply_id: Option<String>,
        /// Title or text of the chosen option.
        title: Option<String>,
        /// Extra payload (flow response JSON…).
        payload: Option<serde_json::Value>,
    },
    /// An emoji reaction to another message (an empty emoji removes it).
    Reaction {
        /// The emoji; `None` means removed.
        emoji: Option<String>,
        /// Channel id of the message reacted to.
        target_external_id: String,
    },
    /// A template message (outbound, e.g. outside the 24-hour window).
    Template {
        /// Template name.
        name: String,
        /// Language code.
        language: String,
        /// Components as the channel expects them.
        components: serde_json::Value,
    },
    /// An order from a catalogue.
    Order {
        /// Raw order.
        order: serde_json::Value,
    },
    /// A system notice (number changed, auto-reply marker…).
    System {
        /// Human readable text.
        body: String,
    },
    /// A kind this version does not model; the raw payload is kept.
    Unknown {
        /// The channel's kind name.
        channel_kind: String,
        /// Raw payload.
        raw: serde_json::Value,
    },
}

impl MessageContent {
    /// Text convenience constructor.
    pub fn text(body: impl Into<String>) -> Self {
        MessageContent::Text { body: body.into() }
    }

    /// Short wire name of the kind.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::Text { .. } => "text",
            Self::Media { .. } => "media",
            Self::Location { .. } => "location",
            Self::Contacts { .. } => "contacts",
            Self::InteractiveReply { .. } => "interactive_reply",
            Self::Reaction { .. } => "reaction",
            Self::Template { .. } => "template",
            Self::Order { .. } => "order",
            Self::System { .. } => "system",
            Self::Unknown { .. } => "unknown",
        }
    }

    /// Readable text of the message, when it has some (body, caption, reply title).
    pub fn text_preview(&self) -> Option<&str> {
        match self {
            Self::Text { body } | Self::System { body } => Some(body),
            Self::Media { caption, .. } => caption.as_deref(),
            Self::InteractiveReply { title, .. } => title.as_deref(),
            Self::Location { name, .. } => name.as_deref(),
            _ => None,
        }
    }

    /// Validates outbound content written by people (not channel input).
    pub fn validate_outbound(&self) -> Result<()> {
        match self {
            Self::Text { body } if body.trim().is_empty() => {
                Err(Error::invalid("body", "empty message"))
            }
            Self::Text { body } if body.chars().count() > 4096 => {
                Err(Error::invalid("body", "longer than 4096 characters"))
            }
            Self::Media {
                media_id: None,
                url: None,
                ..
            } => Err(Error::invalid("media", "either media_id or url is needed")),
            Self::Unknown { .. } | Self::Order { .. } => Err(Error::invalid(
                "kind",
                format!("{} cannot be sent", self.kind_name()),
            )),
            _ => Ok(()),
        }
    }
}

/// Delivery status of an outbound message. It only moves forward
/// (`Queued < Sent < Delivered < Read`); `Failed` is terminal and is accepted from any state
/// before `Read` (a read message was delivered, whatever arrives later).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Stored, not yet accepted by the channel.
    Queued,
    /// Accepted by the channel.
    Sent,
    /// On the customer's device.
    Delivered,
    /// Read (or played, for voice).
    Read,
    /// Failed for good.
    Failed,
}

impl DeliveryStatus {
    /// Whether `self -> next` is a forward move.
    pub fn can_advance_to(self, next: DeliveryStatus) -> bool {
        use DeliveryStatus::*;
        match (self, next) {
            (Failed, _) => false,
            (Read, Failed) => false,
            (_, Failed) => true,
            (a, b) => b > a,
        }
    }
}

/// Why a delivery failed, as the channel reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryError {
    /// Channel error code (`131047`).
    pub code: Option<i64>,
    /// Title.
    pub title: String,
    /// Details.
    pub details: Option<String>,
}

/// A message of a ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Id.
    pub id: MessageId,
    /// Tenant.
    pub org_id: OrgId,
    /// Ticket it belongs to (moves on merge).
    pub ticket_id: TicketId,
    /// Conversation.
    pub conversation_id: ConversationId,
    /// Inbox.
    pub channel_account_id: ChannelAccountId,
    /// Inbound, outbound or note.
    pub direction: Direction,
    /// Writer.
    pub author: Author,
    /// Payload.
    pub content: MessageContent,
    /// Channel message id (`wamid…`), unique per channel account.
    pub external_id: Option<String>,
    /// Channel id of the message this one replies to.
    pub reply_to_external_id: Option<String>,
    /// Delivery status (outbound only).
    pub status: Option<DeliveryStatus>,
    /// Failure details, when failed.
    pub delivery_error: Option<DeliveryError>,
    /// When the channel says it was sent (inbound) or when it was created (others).
    pub created_at: DateTime<Utc>,
    /// Last status change.
    pub status_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::DeliveryStatus::*;

    #[test]
    fn delivery_status_only_moves_forward() {
        assert!(Sent.can_advance_to(Delivered));
        assert!(Sent.can_advance_to(Read));
        assert!(!Read.can_advance_to(Delivered));
        assert!(!Delivered.can_advance_to(Sent));
        assert!(!Delivered.can_advance_to(Delivered));
        assert!(Delivered.can_advance_to(Failed));
        assert!(!Read.can_advance_to(Failed));
        assert!(!Failed.can_advance_to(Read));
    }
}
