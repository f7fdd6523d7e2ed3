//! Messages: inbound from customers, outbound from agents and automations, internal notes.

use crate::ids::*;
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Which way a message travels, which decides whether it is sent through the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Written by the customer and received through the channel.
    Inbound,
    /// Written by an agent, a bot or the system and sent to the customer through the channel.
    Outbound,
    /// Internal note: never sent to the customer.
    Note,
}

/// Who wrote a message, as recorded with it and shown in the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Author {
    /// The customer (the ticket's contact) wrote it.
    Contact(ContactId),
    /// An agent wrote it, by hand or from a canned response.
    Agent(AgentId),
    /// An AI assistant (named by the integrator).
    Bot(String),
    /// The system (auto-replies).
    System,
}

impl Author {
    /// Who writes a message when `actor` acts: an agent or a bot as themselves, anyone else
    /// (the system, a customer acting through an integration) as the system.
    pub fn of(actor: &crate::actor::Actor) -> Author {
        match actor {
            crate::actor::Actor::Agent { id } => Author::Agent(*id),
            crate::actor::Actor::Bot { name, .. } => Author::Bot(name.clone()),
            _ => Author::System,
        }
    }
}

/// Which kind of file a [`MessageContent::Media`] carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    /// A picture (JPEG, PNG…).
    Image,
    /// An audio file or a voice note.
    Audio,
    /// A video clip.
    Video,
    /// Any other file (PDF, spreadsheet…); usually comes with a file name.
    Document,
    /// A sticker (on WhatsApp, a WebP image).
    Sticker,
}

/// What a message carries. Channel adapters map their wire kinds onto these; a kind that has
/// no mapping is kept as [`MessageContent::Unknown`] with its raw payload, never dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MessageContent {
    /// Plain text; outbound text is 1 to 4096 characters.
    Text {
        /// The text as written, line breaks included.
        body: String,
    },
    /// Image, audio, video, document or sticker.
    Media {
        /// Which kind of file it is.
        media: MediaKind,
        /// Channel media id (to download) if known.
        media_id: Option<String>,
        /// Public link to the file when the channel gives one (or an outbound message sends by
        /// link); `None` otherwise.
        url: Option<String>,
        /// MIME type as the channel reported it (`image/jpeg`); `None` when unknown.
        mime_type: Option<String>,
        /// Text shown under the media; `None` when the sender wrote none.
        caption: Option<String>,
        /// File name (documents).
        filename: Option<String>,
    },
    /// A location pin shared or sent.
    Location {
        /// Latitude in decimal degrees (WGS 84).
        latitude: f64,
        /// Longitude in decimal degrees (WGS 84).
        longitude: f64,
        /// Name of the place; `None` for a bare pin.
        name: Option<String>,
        /// Street address of the place; `None` when not given.
        address: Option<String>,
    },
    /// Shared contact cards (kept as the channel sent them).
    Contacts {
        /// The contact cards in the channel's JSON shape, unparsed.
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
        /// Name of a message template approved for the sending account on the channel.
        name: String,
        /// Language code of the template translation to use (`pt_BR`).
        language: String,
        /// Components as the channel expects them.
        components: serde_json::Value,
    },
    /// Reply buttons (outbound): a text with one to three buttons.
    Buttons {
        /// Text shown above the buttons (1 to 1024 characters).
        body: String,
        /// The buttons (1 to 3).
        buttons: Vec<ReplyButton>,
    },
    /// A list menu (outbound): a text, a button that opens the list, sections of rows.
    List {
        /// Text shown above the list button (1 to 4096 characters).
        body: String,
        /// Label of the button that opens the list.
        button: String,
        /// Sections (at most 10 rows in all).
        sections: Vec<ListSection>,
    },
    /// An order placed from the business's product catalogue on the channel.
    Order {
        /// The order in the channel's JSON shape (products, quantities, prices), unparsed.
        order: serde_json::Value,
    },
    /// A system notice (number changed, auto-reply marker…).
    System {
        /// Human-readable text of the notice.
        body: String,
    },
    /// A kind this version does not model; the raw payload is kept.
    Unknown {
        /// The channel's kind name.
        channel_kind: String,
        /// The message as the channel sent it, so nothing is lost.
        raw: serde_json::Value,
    },
}

impl MessageContent {
    /// Builds a [`MessageContent::Text`].
    pub fn text(body: impl Into<String>) -> Self {
        MessageContent::Text { body: body.into() }
    }

    /// Short wire name of the kind (`text`, `media`, `interactive_reply`…), as stored and used in
    /// events.
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
            Self::Buttons { .. } => "buttons",
            Self::List { .. } => "list",
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
            Self::Buttons { body, .. } | Self::List { body, .. } => Some(body),
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
            Self::Buttons { body, buttons } => {
                check_len("body", body, 1, 1024)?;
                if buttons.is_empty() || buttons.len() > 3 {
                    return Err(Error::invalid("buttons", "one to three buttons"));
                }
                for (i, b) in buttons.iter().enumerate() {
                    check_len(&format!("buttons[{i}].id"), &b.id, 1, 256)?;
                    check_len(&format!("buttons[{i}].title"), &b.title, 1, 20)?;
                }
                Ok(())
            }
            Self::List {
                body,
                button,
                sections,
            } => {
                check_len("body", body, 1, 4096)?;
                check_len("button", button, 1, 20)?;
                let rows: usize = sections.iter().map(|s| s.rows.len()).sum();
                if sections.is_empty() || sections.len() > 10 || rows == 0 || rows > 10 {
                    return Err(Error::invalid(
                        "sections",
                        "1 to 10 sections with 1 to 10 rows in all",
                    ));
                }
                for (i, s) in sections.iter().enumerate() {
                    check_len(&format!("sections[{i}].title"), &s.title, 0, 24)?;
                    for (j, r) in s.rows.iter().enumerate() {
                        check_len(&format!("sections[{i}].rows[{j}].id"), &r.id, 1, 200)?;
                        check_len(&format!("sections[{i}].rows[{j}].title"), &r.title, 1, 24)?;
                        if let Some(d) = &r.description {
                            check_len(&format!("sections[{i}].rows[{j}].description"), d, 0, 72)?;
                        }
                    }
                }
                Ok(())
            }
            Self::Unknown { .. } | Self::Order { .. } => Err(Error::invalid(
                "kind",
                format!("{} cannot be sent", self.kind_name()),
            )),
            _ => Ok(()),
        }
    }
}

/// A reply button of a [`MessageContent::Buttons`] message; the customer's press comes back as
/// an [`InteractiveReply`](MessageContent::InteractiveReply) with the button's id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyButton {
    /// Id sent back when pressed (1-256 chars).
    pub id: String,
    /// Label (1-20 chars).
    pub title: String,
}

/// A titled group of rows in a [`MessageContent::List`] menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListSection {
    /// Section title (up to 24 chars).
    pub title: String,
    /// Choices of the section (1 to 10 rows across all sections of a list).
    pub rows: Vec<ListRow>,
}

/// A choice in a [`MessageContent::List`] menu; the customer's choice comes back as an
/// [`InteractiveReply`](MessageContent::InteractiveReply) with the row's id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListRow {
    /// Id sent back when chosen (1-200 chars).
    pub id: String,
    /// Title (1-24 chars).
    pub title: String,
    /// Description (up to 72 chars).
    pub description: Option<String>,
}

fn check_len(field: &str, s: &str, min: usize, max: usize) -> Result<()> {
    let n = s.chars().count();
    if n < min || n > max {
        return Err(Error::invalid(
            field,
            format!("must be {min} to {max} characters, is {n}"),
        ));
    }
    Ok(())
}

/// Delivery status of an outbound message. It only moves forward
/// (`Queued < Sent < Delivered < Read`); `Failed` is terminal and is accepted from any state
/// before `Read` (a read message was delivered, whatever arrives later).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Stored, not yet accepted by the channel.
    Queued,
    /// Accepted by the channel, which gave it an id; not yet on the customer's device.
    Sent,
    /// On the customer's device.
    Delivered,
    /// Read (or played, for voice).
    Read,
    /// The channel gave up on it (see [`Message::delivery_error`]); no later status replaces it.
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
    /// Channel error code (`131047`); `None` when the send call itself failed (no code).
    pub code: Option<i64>,
    /// Short description of the error, as the channel gave it.
    pub title: String,
    /// Longer explanation from the channel; `None` when it gave none.
    pub details: Option<String>,
}

/// A message of a ticket: something the customer sent, something sent to them, or an internal
/// note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Identifies the message (UUID v7, so ids sort by creation).
    pub id: MessageId,
    /// Organization the message belongs to.
    pub org_id: OrgId,
    /// Ticket it belongs to (moves on merge).
    pub ticket_id: TicketId,
    /// Conversation the message was exchanged in; it stays when a merge moves the message to
    /// another ticket.
    pub conversation_id: ConversationId,
    /// Channel account (inbox) it arrived on or leaves through.
    pub channel_account_id: ChannelAccountId,
    /// Inbound, outbound or note.
    pub direction: Direction,
    /// Who wrote it.
    pub author: Author,
    /// What the message carries.
    pub content: MessageContent,
    /// Channel message id (`wamid…`), unique per channel account.
    pub external_id: Option<String>,
    /// Channel id of the message this one replies to.
    pub reply_to_external_id: Option<String>,
    /// Delivery status of an outbound message; `None` for inbound messages and notes.
    pub status: Option<DeliveryStatus>,
    /// Why delivery failed; `None` unless the status is [`DeliveryStatus::Failed`].
    pub delivery_error: Option<DeliveryError>,
    /// When the channel says it was sent (inbound) or when it was created (others).
    pub created_at: DateTime<Utc>,
    /// When [`Message::status`] last changed; `None` for messages without a delivery status.
    pub status_at: Option<DateTime<Utc>>,
    /// How the channel bills the message, when it says (WhatsApp `pricing.category`:
    /// service, marketing, utility, authentication…).
    pub pricing_category: Option<String>,
}

impl Message {
    /// A message the desk writes on `ticket` at `now` (a reply, an auto-reply, an internal
    /// note): an outbound one starts `queued`, to be sent after its transaction commits; a
    /// note is never sent and has no delivery status.
    pub fn written(
        ticket: &crate::domain::ticket::Ticket,
        direction: Direction,
        author: Author,
        content: MessageContent,
        now: DateTime<Utc>,
    ) -> Message {
        let sent = direction == Direction::Outbound;
        Message {
            id: MessageId::new(),
            org_id: ticket.org_id,
            ticket_id: ticket.id,
            conversation_id: ticket.conversation_id,
            channel_account_id: ticket.channel_account_id,
            direction,
            author,
            content,
            external_id: None,
            reply_to_external_id: None,
            status: sent.then_some(DeliveryStatus::Queued),
            delivery_error: None,
            created_at: now,
            status_at: sent.then_some(now),
            pricing_category: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DeliveryStatus::*;

    #[test]
    fn interactive_limits_are_checked() {
        use super::{ListRow, ListSection, MessageContent, ReplyButton};
        let b = |t: &str| ReplyButton {
            id: "x".into(),
            title: t.into(),
        };
        assert!(
            MessageContent::Buttons {
                body: "Escolha".into(),
                buttons: vec![b("Sim"), b("Não")]
            }
            .validate_outbound()
            .is_ok()
        );
        let four = MessageContent::Buttons {
            body: "x".into(),
            buttons: vec![b("a"), b("b"), b("c"), b("d")],
        };
        assert_eq!(
            four.validate_outbound().unwrap_err().field(),
            Some("buttons")
        );
        let long = MessageContent::Buttons {
            body: "x".into(),
            buttons: vec![b("um título longo demais aqui")],
        };
        assert_eq!(
            long.validate_outbound().unwrap_err().field(),
            Some("buttons[0].title")
        );
        let row = |i: usize| ListRow {
            id: format!("r{i}"),
            title: "Opção".into(),
            description: None,
        };
        let eleven = MessageContent::List {
            body: "x".into(),
            button: "Ver".into(),
            sections: vec![ListSection {
                title: "A".into(),
                rows: (0..11).map(row).collect(),
            }],
        };
        assert_eq!(
            eleven.validate_outbound().unwrap_err().field(),
            Some("sections")
        );
    }

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
