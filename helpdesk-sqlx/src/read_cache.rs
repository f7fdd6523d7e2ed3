//! Configuration a transaction has read already: queues, agents, queue members, SLA policies
//! and stages, by far the most re-read rows of a workflow (opening a ticket reads its queue
//! four times and the chosen agent three times).
//!
//! A cached row is what the transaction read or wrote last, so a second read costs no round
//! trip. Taking a lock empties the cache: what is read after `lock` is read fresh, under the
//! lock (automatic assignment reads the queue's rotation and the agents' loads that way).
//! Serving an earlier read is safe because every write that depends on one is versioned
//! (queues, agents, tickets) and fails with `Conflict` if the row changed meanwhile.

use helpdesk_core::domain::board::Stage;
use helpdesk_core::domain::team::{Agent, Queue, QueueMember};
use helpdesk_core::ids::{AgentId, QueueId};
use helpdesk_core::sla::SlaPolicy;
use std::collections::HashMap;

#[derive(Default)]
pub(crate) struct ReadCache {
    pub(crate) queues: HashMap<QueueId, Queue>,
    pub(crate) agents: HashMap<AgentId, Agent>,
    pub(crate) members: HashMap<QueueId, Vec<QueueMember>>,
    pub(crate) sla_policies: Option<Vec<SlaPolicy>>,
    pub(crate) stages: Option<Vec<Stage>>,
}

impl ReadCache {
    /// Forgets everything (the transaction took a lock).
    pub(crate) fn clear(&mut self) {
        *self = ReadCache::default();
    }

    /// These agents, when all of them are cached.
    pub(crate) fn agents_in(&self, ids: &[AgentId]) -> Option<Vec<Agent>> {
        ids.iter().map(|id| self.agents.get(id).cloned()).collect()
    }

    /// A membership was written: keeps the cached list when the member was in it at the same
    /// place (same joining instant), else forgets the list.
    pub(crate) fn put_member(&mut self, m: &QueueMember) {
        let Some(list) = self.members.get_mut(&m.queue_id) else {
            return;
        };
        match list.iter_mut().find(|x| x.agent_id == m.agent_id) {
            Some(x) if x.joined_at == m.joined_at => *x = m.clone(),
            _ => {
                self.members.remove(&m.queue_id);
            }
        }
    }
}
