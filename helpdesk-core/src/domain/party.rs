//! Organizations (tenants), channel accounts (inboxes), contacts (leads) and conversations.

use crate::domain::catalogue::Catalogue;
use crate::domain::document::Document;
use crate::domain::phone::{PhoneNumber, PhoneRegion};
use crate::ids::*;
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A tenant. Nothing crosses organizations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Organization {
    /// Identifies the organization; every store call and every other entity is scoped by it.
    pub id: OrgId,
    /// Name shown to people (the company's trade name, `Acme Internet`).
    pub name: String,
    /// Time zone for date presets and reports.
    pub timezone: Tz,
    /// Region (ISO code) used to read phone numbers written without a country code.
    pub phone_region: String,
    /// First ticket number (numbers then grow by one, gap-free).
    pub first_ticket_number: u64,
    /// The setor × motivo catalogue tickets are classified against (the default table until
    /// replaced).
    pub catalogue: Catalogue,
    /// When the organization was created (UTC).
    pub created_at: DateTime<Utc>,
}

impl Organization {
    /// [`Organization::phone_region`] parsed; an unknown code falls back to the default region
    /// (Brazil).
    pub fn region(&self) -> PhoneRegion {
        PhoneRegion::from_iso(&self.phone_region).unwrap_or_default()
    }
}

/// Kind of messaging channel an inbox runs on; it tells the desk which adapter sends its
/// messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// WhatsApp Cloud API (external id = `phone_number_id`).
    Whatsapp,
    /// E-mail (external id = address).
    Email,
    /// A chat widget on the business's own website.
    WebChat,
    /// Anything else the integrator brings.
    Other,
}

impl ChannelKind {
    /// Every kind, in declaration order.
    pub const ALL: [ChannelKind; 4] = [Self::Whatsapp, Self::Email, Self::WebChat, Self::Other];

    /// The kind whose [`ChannelKind::as_str`] is exactly `name`; `None` for any other text.
    pub fn from_name(name: &str) -> Option<ChannelKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Wire / storage name (`whatsapp`, `email`, `web_chat`, `other`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Whatsapp => "whatsapp",
            Self::Email => "email",
            Self::WebChat => "web_chat",
            Self::Other => "other",
        }
    }
}

/// An inbox: a WhatsApp number, an e-mail address, a web chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelAccount {
    /// Identifies the channel account; tickets, conversations and messages point at it.
    pub id: ChannelAccountId,
    /// Organization that owns the inbox.
    pub org_id: OrgId,
    /// Which channel the inbox runs on.
    pub kind: ChannelKind,
    /// The channel's own id (WhatsApp `phone_number_id`), unique per kind across tenants:
    /// inbound traffic is routed to its tenant by it.
    pub external_id: String,
    /// Name shown to agents for the inbox (`WhatsApp Vendas`).
    pub name: String,
    /// Queue that tickets opened on this inbox go to when no queue is given; when `None`,
    /// tickets opened by an inbound message go to the organization's first queue.
    pub default_queue_id: Option<QueueId>,
    /// When the channel account was added (UTC).
    pub created_at: DateTime<Utc>,
}

/// A customer (the lead of our users' CRMs): the person who writes in and whom tickets are
/// about. Found again by phone (ninth-digit variants included), WhatsApp user id or e-mail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// Identifies the contact.
    pub id: ContactId,
    /// Organization the contact belongs to; the same person writing to two tenants is two contacts.
    pub org_id: OrgId,
    /// Name as known: the channel profile name from the first message that had one, or what an
    /// agent set; `None` when neither is known.
    pub name: Option<String>,
    /// Phone in E.164 (Brazilian mobiles match with or without the ninth digit); `None` when
    /// unknown.
    pub phone: Option<PhoneNumber>,
    /// WhatsApp user id (the business-scoped id; messages may carry it without a phone).
    pub whatsapp_id: Option<String>,
    /// E-mail address, lower case; `None` when unknown.
    pub email: Option<String>,
    /// The opaque id a channel without phones or e-mails knows the customer by (a web-chat
    /// widget's visitor id, an integrator's own user id); unique in the tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor_id: Option<String>,
    /// CPF or CNPJ, validated and stored normalized; `None` when unknown.
    pub document: Option<Document>,
    /// VIP customers go first in queues.
    pub vip: bool,
    /// Free key/value attributes set by agents and integrations (plan, city, customer code…); the
    /// desk gives them no meaning.
    pub attributes: BTreeMap<String, String>,
    /// When the contact was first seen or created (UTC).
    pub created_at: DateTime<Utc>,
    /// When the contact last changed (UTC).
    pub updated_at: DateTime<Utc>,
}

/// Normalizes an e-mail address (trim, lower case) and checks its basic shape.
pub fn normalize_email(s: &str) -> Result<String> {
    let e = s.trim().to_lowercase();
    let valid = e.len() <= 254
        && e.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty()
                && d.contains('.')
                && !d.starts_with('.')
                && !d.ends_with('.')
                && !d.contains('@')
        })
        && !e.contains(char::is_whitespace);
    if valid {
        Ok(e)
    } else {
        Err(Error::invalid(
            "email",
            format!("{s:?} is not an e-mail address"),
        ))
    }
}

/// A key that identifies a contact within an organization, for looking one up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactKey {
    /// By phone (matches ninth-digit variants through [`PhoneNumber::match_key`]).
    Phone(PhoneNumber),
    /// By WhatsApp user id, exactly as the channel sent it.
    WhatsappId(String),
    /// By e-mail (normalized).
    Email(String),
    /// By the opaque id a web chat or an integrator's channel gives its visitor.
    VisitorId(String),
}

/// A conversation: one contact on one inbox. At most one live ticket at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// Identifies the conversation.
    pub id: ConversationId,
    /// Organization the conversation belongs to.
    pub org_id: OrgId,
    /// The customer on the conversation.
    pub contact_id: ContactId,
    /// Channel account (inbox) the customer writes to.
    pub channel_account_id: ChannelAccountId,
    /// Last inbound message (WhatsApp's 24-hour customer service window starts here).
    pub last_inbound_at: Option<DateTime<Utc>>,
    /// When the conversation was created, at the contact's first ticket on this inbox (UTC).
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_or_refused() {
        assert_eq!(
            normalize_email(" Joao@Email.com ").unwrap(),
            "joao@email.com"
        );
        for bad in ["", "joao", "joao@", "@x.com", "a@b", "a b@c.com", "a@.com"] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }
}
