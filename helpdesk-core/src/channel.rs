//! The outbound side of a channel (WhatsApp, e-mail…). Inbound traffic arrives as
//! [`InboundMessage`] / [`InboundStatus`] values that channel adapters build from webhooks.

use crate::Result;
use crate::domain::message::{DeliveryError, DeliveryStatus, MessageContent};
use crate::domain::party::{ChannelAccount, ChannelKind};
use crate::domain::phone::PhoneNumber;
use crate::domain::tracking::Tracking;
use crate::ids::ChannelAccountId;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Why a send failed, and so whether a retry can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChannelFailure {
    /// Rate limited: retry later.
    RateLimited,
    /// Server error or timeout: retry.
    Transient,
    /// WhatsApp's 24-hour window is closed: send a template instead.
    OutsideWindow,
    /// The recipient cannot receive messages.
    InvalidRecipient,
    /// Credentials are wrong or expired.
    Unauthorized,
    /// The channel refused the content (bad parameter, template problem, media problem).
    Rejected,
    /// No channel is configured for the inbox's kind (see [`Channels`]).
    NotConfigured,
}

impl ChannelFailure {
    /// Whether repeating the same send can succeed.
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::RateLimited | Self::Transient)
    }
}

/// Who a message goes to, taken from the ticket's contact; each channel uses the address it
/// needs and fails with [`ChannelFailure::InvalidRecipient`] when it is missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// Phone in E.164; `None` when the contact has none.
    pub phone: Option<PhoneNumber>,
    /// WhatsApp business-scoped user id (the WhatsApp channel uses it when there is no
    /// phone); `None` when unknown.
    pub whatsapp_id: Option<String>,
    /// E-mail address, lower case; `None` when the contact has none.
    pub email: Option<String>,
    /// The opaque id a web chat or an integrator's channel knows the customer by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor_id: Option<String>,
}

impl Recipient {
    /// Every address the desk knows for `contact`; the inbox's channel picks the one it uses.
    pub fn of(contact: &crate::domain::party::Contact) -> Recipient {
        Recipient {
            phone: contact.phone.clone(),
            whatsapp_id: contact.whatsapp_id.clone(),
            email: contact.email.clone(),
            visitor_id: contact.visitor_id.clone(),
        }
    }
}

/// A message to deliver to a customer through a [`Channel`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboundMessage {
    /// What to send; channels refuse kinds they cannot send.
    pub content: MessageContent,
    /// Channel id of the message this one answers.
    pub reply_to_external_id: Option<String>,
}

/// What the channel answered to an accepted send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendReceipt {
    /// The channel's message id.
    pub external_id: String,
}

/// Sends messages. Implementations classify their failures as
/// [`Error::Channel`](crate::Error::Channel) with a [`ChannelFailure`].
#[async_trait]
pub trait Channel: Send + Sync + 'static {
    /// Delivers `message` from `account` to `to`.
    async fn send(
        &self,
        account: &ChannelAccount,
        to: &Recipient,
        message: &OutboundMessage,
    ) -> Result<SendReceipt>;
}

/// Several channels behind one: each reply goes out through the channel of its ticket's inbox,
/// chosen by the inbox itself when one was given for it, else by the inbox's kind (WhatsApp,
/// e-mail, web chat, the integrator's own). A send to an inbox nothing is configured for fails
/// as [`ChannelFailure::NotConfigured`]: stored as failed with the reason, never retried.
///
/// ```
/// use helpdesk_core::channel::Channels;
/// use helpdesk_core::domain::party::ChannelKind;
/// use helpdesk_core::memory::RecordingChannel;
/// use std::sync::Arc;
///
/// let whatsapp = Arc::new(RecordingChannel::new());
/// let email = Arc::new(RecordingChannel::new());
/// let channels = Channels::new()
///     .with_kind(ChannelKind::Whatsapp, whatsapp)
///     .with_kind(ChannelKind::Email, email);
/// // Helpdesk::new(store, Arc::new(channels), clock)
/// # let _ = channels;
/// ```
#[derive(Clone, Default)]
pub struct Channels {
    by_kind: std::collections::HashMap<ChannelKind, std::sync::Arc<dyn Channel>>,
    by_inbox: std::collections::HashMap<ChannelAccountId, std::sync::Arc<dyn Channel>>,
}

impl Channels {
    /// An empty set: every send fails as [`ChannelFailure::NotConfigured`] until channels are
    /// added.
    pub fn new() -> Channels {
        Channels::default()
    }

    /// Sends for every inbox of `kind` (unless an inbox has its own).
    pub fn with_kind(mut self, kind: ChannelKind, channel: std::sync::Arc<dyn Channel>) -> Self {
        self.by_kind.insert(kind, channel);
        self
    }

    /// Sends for this one inbox (a second WhatsApp business account with its own token).
    pub fn with_inbox(
        mut self,
        inbox: ChannelAccountId,
        channel: std::sync::Arc<dyn Channel>,
    ) -> Self {
        self.by_inbox.insert(inbox, channel);
        self
    }
}

#[async_trait]
impl Channel for Channels {
    async fn send(
        &self,
        account: &ChannelAccount,
        to: &Recipient,
        message: &OutboundMessage,
    ) -> Result<SendReceipt> {
        let channel = self
            .by_inbox
            .get(&account.id)
            .or_else(|| self.by_kind.get(&account.kind))
            .ok_or_else(|| {
                channel_error(
                    ChannelFailure::NotConfigured,
                    format!(
                        "no channel is configured for {} inboxes",
                        account.kind.as_str()
                    ),
                )
            })?;
        channel.send(account, to, message).await
    }
}

/// Who sent an inbound message, as the channel knows them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InboundSender {
    /// Phone as the channel wrote it (WhatsApp `wa_id` or `from`).
    pub phone: Option<String>,
    /// WhatsApp user id (may come without a phone).
    pub whatsapp_id: Option<String>,
    /// Sender's e-mail address (e-mail channels); `None` otherwise.
    pub email: Option<String>,
    /// Name the customer set on their channel profile (WhatsApp profile name); fills the contact's
    /// name when it has none.
    pub name: Option<String>,
    /// The opaque id of a sender with no phone or e-mail (a web-chat visitor, an integrator's
    /// own user id): the contact is found or created by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor_id: Option<String>,
}

/// One inbound message, channel-neutral.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundMessage {
    /// Which kind of channel the message arrived on.
    pub channel: ChannelKind,
    /// The inbox's external id (WhatsApp `phone_number_id`): routes to the tenant.
    pub account_external_id: String,
    /// The channel's message id (`wamid…`): the idempotency key.
    pub external_id: String,
    /// Who sent it, as the channel identifies them; the contact is found or created from it.
    pub from: InboundSender,
    /// What the message carries; kinds without a mapping arrive as
    /// [`MessageContent::Unknown`].
    pub content: MessageContent,
    /// When the customer sent it, by the channel's clock (UTC); SLA clocks of a ticket it opens
    /// start here (or now, if that is earlier).
    pub sent_at: DateTime<Utc>,
    /// Channel id of the message it replies to.
    pub reply_to_external_id: Option<String>,
    /// Attribution (Click-to-WhatsApp referral), applied to a ticket it creates.
    pub tracking: Option<Tracking>,
}

/// A delivery status report for an outbound message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundStatus {
    /// Which kind of channel reported the status.
    pub channel: ChannelKind,
    /// The inbox's external id (WhatsApp `phone_number_id`): routes the status to its tenant.
    pub account_external_id: String,
    /// Channel id of the outbound message the status is about ([`SendReceipt::external_id`]).
    pub external_id: String,
    /// The status the channel reports; it is applied only if it moves the message forward.
    pub status: DeliveryStatus,
    /// Why the delivery failed, when `status` is [`DeliveryStatus::Failed`]; `None` otherwise.
    pub error: Option<DeliveryError>,
    /// When the status changed, by the channel's clock (UTC).
    pub at: DateTime<Utc>,
    /// Billing category, when the channel reports one.
    pub pricing_category: Option<String>,
}

/// Convenience for adapters: a channel error.
pub fn channel_error(failure: ChannelFailure, message: impl Into<String>) -> crate::Error {
    crate::Error::Channel {
        message: message.into(),
        retryable: failure.is_retryable(),
        failure,
        source: None,
    }
}

/// Result alias for [`Channel::send`].
pub type SendResult = Result<SendReceipt>;
