//! A channel that records what it was asked to send, and can be told to fail.

use crate::Result;
use crate::channel::{
    Channel, ChannelFailure, OutboundMessage, Recipient, SendReceipt, channel_error,
};
use crate::domain::party::ChannelAccount;
use async_trait::async_trait;
use std::collections::VecDeque;
use std::sync::Mutex;

/// One successful send a [`RecordingChannel`] recorded, for tests to inspect.
#[derive(Debug, Clone, PartialEq)]
pub struct SentMessage {
    /// The inbox (channel account) the message was sent from.
    pub account: ChannelAccount,
    /// The recipient as the desk addressed it.
    pub to: Recipient,
    /// The message as the desk asked to send it.
    pub message: OutboundMessage,
    /// The channel id the recording answered with (`rec-1`, `rec-2`…).
    pub external_id: String,
}

/// Records sends; answers `rec-1`, `rec-2`… as channel ids.
#[derive(Debug, Default)]
pub struct RecordingChannel {
    sent: Mutex<Vec<SentMessage>>,
    failures: Mutex<VecDeque<ChannelFailure>>,
    counter: Mutex<u64>,
}

impl RecordingChannel {
    /// A channel that records every send and succeeds until told to fail with
    /// [`RecordingChannel::fail_next`].
    pub fn new() -> RecordingChannel {
        RecordingChannel::default()
    }

    /// Makes the next sends fail, in order, with these failures.
    pub fn fail_next(&self, failures: impl IntoIterator<Item = ChannelFailure>) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(failures);
    }

    /// Every successful send so far, oldest first (scripted failures are not recorded).
    pub fn sent(&self) -> Vec<SentMessage> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[async_trait]
impl Channel for RecordingChannel {
    async fn send(
        &self,
        account: &ChannelAccount,
        to: &Recipient,
        message: &OutboundMessage,
    ) -> Result<SendReceipt> {
        if let Some(f) = self
            .failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front()
        {
            return Err(channel_error(f, format!("scripted failure {f:?}")));
        }
        let id = {
            let mut c = self.counter.lock().unwrap_or_else(|p| p.into_inner());
            *c += 1;
            format!("rec-{c}")
        };
        self.sent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(SentMessage {
                account: account.clone(),
                to: to.clone(),
                message: message.clone(),
                external_id: id.clone(),
            });
        Ok(SendReceipt { external_id: id })
    }
}
