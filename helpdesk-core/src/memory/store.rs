//! The embedded in-memory store: every store guarantee, no setup.
//!
//! One async mutex guards the whole state and a transaction holds it from `begin` to commit or
//! drop, so transactions are serializable; writes are applied in place and recorded in an undo
//! journal that a dropped (uncommitted) transaction replays backwards. The async mutex (tokio's
//! `sync` feature only, no runtime) keeps transactions `Send` across `.await`s.

use crate::domain::board::{Category, Stage};
use crate::domain::canned::CannedResponse;
use crate::domain::message::Message;
use crate::domain::party::{
    ChannelAccount, ChannelKind, Contact, ContactKey, Conversation, Organization,
};
use crate::domain::records::{AssignmentCycle, AuditEntry, Event, Sale};
use crate::domain::team::{Agent, Queue, QueueMember};
use crate::domain::ticket::Ticket;
use crate::ids::*;
use crate::store::query::{Cursor, Facets, TicketPage, TicketQuery, TicketSummary};
use crate::store::{
    ClaimedEvent, ContactTx, EventClaim, EventOutcome, InboundFastPath, LockKey, MessageTx, Outbox,
    RecordTx, Reporting, SettingsTx, SlaSchedule, StoreCore, StoreTx, TeamTx, TicketTx, UniqueRule,
};
use crate::{Entity, Error, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::{Mutex, OwnedMutexGuard};

#[derive(Default)]
struct State {
    orgs: HashMap<OrgId, Organization>,
    counters: HashMap<OrgId, u64>,
    accounts: HashMap<ChannelAccountId, ChannelAccount>,
    contacts: HashMap<ContactId, Contact>,
    conversations: HashMap<ConversationId, Conversation>,
    tickets: HashMap<TicketId, Ticket>,
    messages: HashMap<MessageId, (u64, Message)>,
    message_keys: HashMap<(ChannelAccountId, String), MessageId>,
    stages: HashMap<StageId, Stage>,
    categories: HashMap<CategoryId, Category>,
    queues: HashMap<QueueId, Queue>,
    agents: HashMap<AgentId, Agent>,
    members: HashMap<(QueueId, AgentId), QueueMember>,
    canned: HashMap<CannedResponseId, CannedResponse>,
    sales: HashMap<SaleId, Sale>,
    cycles: HashMap<CycleId, (u64, AssignmentCycle)>,
    audit: Vec<AuditEntry>,
    sla_policies: HashMap<SlaPolicyId, crate::sla::SlaPolicy>,
    events: Vec<Event>,
    /// Outbox delivery state of committed events (absent = never claimed).
    outbox: HashMap<EventId, Delivery>,
    seq: u64,
}

#[derive(Default)]
struct Delivery {
    attempts: u32,
    next_at: Option<DateTime<Utc>>,
    claimed_until: Option<DateTime<Utc>>,
    token: Option<uuid::Uuid>,
    settled: bool,
}

type Undo = Box<dyn FnOnce(&mut State) + Send>;

/// The in-memory store. Clone it freely: clones share the data. Transactions run one at a
/// time: one holds the whole store from [`begin`](StoreCore::begin) until it commits or is
/// dropped, and the other store-level calls wait for it too.
#[derive(Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
    unavailable: Arc<AtomicBool>,
}

impl MemoryStore {
    /// An empty store, without any organization: create one (through the service, or
    /// [`create_organization`](StoreCore::create_organization)) before beginning a
    /// transaction.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Simulates an outage: while set, `begin` and `commit` fail with a retryable store error
    /// (tests use it to prove nothing accepted is lost).
    pub fn set_unavailable(&self, down: bool) {
        self.unavailable.store(down, Ordering::SeqCst);
    }

    fn check_up(&self) -> Result<()> {
        if self.unavailable.load(Ordering::SeqCst) {
            Err(Error::Store {
                message: "in-memory store is unavailable (simulated outage)".into(),
                retryable: true,
                source: None,
            })
        } else {
            Ok(())
        }
    }
}

/// Whether two names are the same for a uniqueness rule: equal ignoring case, in every
/// script (as the Postgres store's lower-cased name keys compare).
fn same_name(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

#[async_trait]
impl StoreCore for MemoryStore {
    async fn begin(&self, org: OrgId) -> Result<Box<dyn StoreTx>> {
        self.check_up()?;
        let state = self.state.clone().lock_owned().await;
        if !state.orgs.contains_key(&org) {
            return Err(Error::not_found(Entity::Organization, org));
        }
        Ok(Box::new(MemoryTx {
            org,
            state,
            journal: Vec::new(),
            unavailable: self.unavailable.clone(),
            done: false,
        }))
    }

    async fn create_organization(&self, org: &Organization) -> Result<()> {
        self.check_up()?;
        let mut s = self.state.lock().await;
        if s.orgs.contains_key(&org.id) {
            return Err(Error::unique_violation(
                Entity::Organization,
                "id",
                UniqueRule::new(format!("{} exists", org.id)),
            ));
        }
        s.orgs.insert(org.id, org.clone());
        Ok(())
    }

    async fn find_channel_account(
        &self,
        kind: ChannelKind,
        external_id: &str,
    ) -> Result<Option<ChannelAccount>> {
        self.check_up()?;
        let s = self.state.lock().await;
        Ok(s.accounts
            .values()
            .find(|a| a.kind == kind && a.external_id == external_id)
            .cloned())
    }
}

#[async_trait]
impl Outbox for MemoryStore {
    async fn claim_events(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease: chrono::Duration,
    ) -> Result<Vec<ClaimedEvent>> {
        self.check_up()?;
        let mut guard = self.state.lock().await;
        let State { events, outbox, .. } = &mut *guard;
        let mut out = Vec::new();
        for e in events.iter() {
            if out.len() >= limit as usize {
                break;
            }
            let d = outbox.entry(e.id).or_default();
            let due = d.next_at.is_none_or(|t| t <= now);
            let free = d.claimed_until.is_none_or(|t| t <= now);
            if d.settled || !due || !free {
                continue;
            }
            let token = uuid::Uuid::now_v7();
            d.claimed_until = Some(now + lease);
            d.token = Some(token);
            out.push(ClaimedEvent {
                claim: EventClaim {
                    event_id: e.id,
                    token,
                },
                event: e.clone(),
                attempts: d.attempts,
            });
        }
        Ok(out)
    }

    async fn settle_event(
        &self,
        claim: &EventClaim,
        outcome: &EventOutcome,
        _now: DateTime<Utc>,
    ) -> Result<bool> {
        self.check_up()?;
        let mut s = self.state.lock().await;
        let Some(d) = s.outbox.get_mut(&claim.event_id) else {
            return Ok(false);
        };
        if d.token != Some(claim.token) || d.settled {
            return Ok(false);
        }
        d.token = None;
        d.claimed_until = None;
        match outcome {
            EventOutcome::Delivered => d.settled = true,
            EventOutcome::Retry { retry_at, .. } => {
                d.attempts += 1;
                d.next_at = Some(*retry_at);
            }
            EventOutcome::Dead { .. } => {
                d.attempts += 1;
                d.settled = true;
            }
        }
        Ok(true)
    }
}

#[async_trait]
impl SlaSchedule for MemoryStore {
    async fn orgs_with_sla_due(&self, until: DateTime<Utc>) -> Result<Vec<OrgId>> {
        self.check_up()?;
        let s = self.state.lock().await;
        let mut v: Vec<OrgId> = s
            .tickets
            .values()
            .filter(|t| t.sla_wake_at.is_some_and(|w| w <= until))
            .map(|t| t.org_id)
            .collect();
        v.sort();
        v.dedup();
        Ok(v)
    }

    async fn next_sla_wake(&self) -> Result<Option<DateTime<Utc>>> {
        self.check_up()?;
        let s = self.state.lock().await;
        Ok(s.tickets.values().filter_map(|t| t.sla_wake_at).min())
    }
}

#[async_trait]
impl Reporting for MemoryStore {
    async fn report(
        &self,
        org: OrgId,
        q: &crate::store::report::ReportQuery,
    ) -> Result<crate::store::report::Report> {
        self.check_up()?;
        let st = self.state.lock().await;
        fn mine<'a, T: Clone + 'a, I: IntoIterator<Item = &'a T>>(
            rows: I,
            org: OrgId,
            org_of: impl Fn(&T) -> OrgId,
        ) -> Vec<T> {
            rows.into_iter()
                .filter(|r| org_of(r) == org)
                .cloned()
                .collect()
        }
        let tickets = mine(st.tickets.values(), org, |t| t.org_id);
        let cycles = mine(st.cycles.values().map(|(_, c)| c), org, |c| c.org_id);
        let sales = mine(st.sales.values(), org, |s| s.org_id);
        let agents = mine(st.agents.values(), org, |a| a.org_id);
        let queues = mine(st.queues.values(), org, |q| q.org_id);
        let categories = mine(st.categories.values(), org, |c| c.org_id);
        let channel_accounts = mine(st.accounts.values(), org, |a| a.org_id);
        let policies = mine(st.sla_policies.values(), org, |p| p.org_id);
        Ok(crate::store::report::Report::compute(
            &crate::store::report::ReportData {
                tickets: &tickets,
                cycles: &cycles,
                sales: &sales,
                agents: &agents,
                queues: &queues,
                categories: &categories,
                channel_accounts: &channel_accounts,
                policies: &policies,
            },
            q,
        ))
    }
}

/// The defaults: the in-memory store serializes every transaction, so one read and one
/// write through the primitives are already as fast as it gets.
impl InboundFastPath for MemoryStore {}

struct MemoryTx {
    org: OrgId,
    state: OwnedMutexGuard<State>,
    journal: Vec<Undo>,
    unavailable: Arc<AtomicBool>,
    done: bool,
}

impl Drop for MemoryTx {
    fn drop(&mut self) {
        if !self.done {
            while let Some(undo) = self.journal.pop() {
                undo(&mut self.state);
            }
        }
    }
}

impl MemoryTx {
    fn put<K, V>(&mut self, table: fn(&mut State) -> &mut HashMap<K, V>, k: K, v: V)
    where
        K: Hash + Eq + Clone + Send + 'static,
        V: Send + 'static,
    {
        let old = table(&mut self.state).insert(k.clone(), v);
        self.journal.push(Box::new(move |s| {
            let t = table(s);
            match old {
                Some(o) => t.insert(k, o),
                None => t.remove(&k),
            };
        }));
    }

    fn remove<K, V>(&mut self, table: fn(&mut State) -> &mut HashMap<K, V>, k: K) -> Option<()>
    where
        K: Hash + Eq + Clone + Send + 'static,
        V: Send + 'static,
    {
        let old = table(&mut self.state).remove(&k)?;
        self.journal.push(Box::new(move |s| {
            table(s).insert(k, old);
        }));
        Some(())
    }

    fn next_seq(&mut self) -> u64 {
        self.state.seq += 1;
        let v = self.state.seq;
        // The sequence only orders rows; a rolled-back value is never reused, which is fine.
        v
    }

    /// The row if it exists and belongs to this transaction's tenant; `NotFound` otherwise
    /// (another tenant's id looks exactly like an unknown one).
    fn mine<T>(
        &self,
        found: Option<T>,
        org_of: impl Fn(&T) -> OrgId,
        entity: Entity,
        id: impl std::fmt::Display,
    ) -> Result<T> {
        match found {
            Some(x) if org_of(&x) == self.org => Ok(x),
            _ => Err(Error::not_found(entity, id)),
        }
    }

    fn contact_clash(&self, c: &Contact) -> Option<&'static str> {
        let key = c.phone.as_ref().map(|p| p.match_key());
        self.state
            .contacts
            .values()
            .filter(|o| o.org_id == self.org && o.id != c.id)
            .find_map(|o| {
                if key.is_some() && o.phone.as_ref().map(|p| p.match_key()) == key {
                    Some("phone")
                } else if c.whatsapp_id.is_some() && o.whatsapp_id == c.whatsapp_id {
                    Some("whatsapp_id")
                } else if c.email.is_some() && o.email == c.email {
                    Some("email")
                } else if c.visitor_id.is_some() && o.visitor_id == c.visitor_id {
                    Some("visitor_id")
                } else {
                    None
                }
            })
    }

    fn check_version(stored: u64, new: u64, entity: Entity) -> Result<()> {
        if new != stored + 1 {
            return Err(Error::conflict(
                entity,
                format!("stale version {} (stored {stored})", new.saturating_sub(1)),
            ));
        }
        Ok(())
    }

    fn summary(&self, t: &Ticket, counts: &HashMap<TicketId, u64>) -> TicketSummary {
        let s = &self.state;
        let contact = s.contacts.get(&t.contact_id);
        let sales: Vec<&Sale> = s.sales.values().filter(|x| x.ticket_id == t.id).collect();
        TicketSummary {
            ticket: t.clone(),
            lead_name: contact.and_then(|c| c.name.clone()),
            lead_phone: contact.and_then(|c| c.phone.clone()),
            lead_email: contact.and_then(|c| c.email.clone()),
            assignee_name: t
                .assignee_id
                .and_then(|a| s.agents.get(&a))
                .map(|a| a.name.clone()),
            stage: t.stage_id.and_then(|x| s.stages.get(&x)).cloned(),
            messages_count: counts.get(&t.id).copied().unwrap_or(0),
            sales_count: sales.len() as u64,
            sales_total_minor: sales.iter().map(|x| x.amount.minor).sum(),
        }
    }

    fn sorted_stages(&self) -> Vec<Stage> {
        let mut v: Vec<Stage> = self
            .state
            .stages
            .values()
            .filter(|x| x.org_id == self.org)
            .cloned()
            .collect();
        v.sort_by_key(|s| (s.position, s.created_at, s.id));
        v
    }
}

#[async_trait]
impl StoreTx for MemoryTx {
    fn org_id(&self) -> OrgId {
        self.org
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        if self.unavailable.load(Ordering::SeqCst) {
            // Dropping without `done` rolls back, as a failed commit must.
            return Err(Error::Store {
                message: "in-memory store is unavailable (simulated outage)".into(),
                retryable: true,
                source: None,
            });
        }
        self.done = true;
        self.journal.clear();
        Ok(())
    }

    async fn lock(&mut self, _key: LockKey) -> Result<()> {
        // Every transaction already holds the store's one lock.
        Ok(())
    }
}

#[async_trait]
impl SettingsTx for MemoryTx {
    async fn organization(&mut self) -> Result<Organization> {
        self.state
            .orgs
            .get(&self.org)
            .cloned()
            .ok_or_else(|| Error::not_found(Entity::Organization, self.org))
    }

    async fn update_organization(&mut self, org: &Organization) -> Result<()> {
        if org.id != self.org {
            return Err(Error::not_found(Entity::Organization, org.id));
        }
        self.put(|s| &mut s.orgs, org.id, org.clone());
        Ok(())
    }

    async fn channel_accounts(&mut self) -> Result<Vec<ChannelAccount>> {
        let mut v: Vec<_> = self
            .state
            .accounts
            .values()
            .filter(|a| a.org_id == self.org)
            .cloned()
            .collect();
        v.sort_by_key(|a| (a.created_at, a.id));
        Ok(v)
    }

    async fn channel_account(&mut self, id: ChannelAccountId) -> Result<ChannelAccount> {
        let found = self.state.accounts.get(&id).cloned();
        self.mine(found, |x| x.org_id, Entity::ChannelAccount, id)
    }

    async fn insert_channel_account(&mut self, a: &ChannelAccount) -> Result<()> {
        if self
            .state
            .accounts
            .values()
            .any(|o| o.kind == a.kind && o.external_id == a.external_id)
        {
            return Err(Error::unique_violation(
                Entity::ChannelAccount,
                "external_id",
                UniqueRule::new(format!(
                    "{} {} is registered",
                    a.kind.as_str(),
                    a.external_id
                )),
            ));
        }
        self.put(
            |s| &mut s.accounts,
            a.id,
            ChannelAccount {
                org_id: self.org,
                ..a.clone()
            },
        );
        Ok(())
    }

    async fn stages(&mut self) -> Result<Vec<Stage>> {
        Ok(self.sorted_stages())
    }

    async fn update_stage(&mut self, st: &Stage) -> Result<()> {
        match self.state.stages.get(&st.id) {
            Some(x) if x.org_id == self.org => {}
            _ => return Err(Error::not_found(Entity::Stage, st.id)),
        }
        if self
            .state
            .stages
            .values()
            .any(|x| x.org_id == self.org && x.id != st.id && same_name(&x.name, &st.name))
        {
            return Err(Error::unique_violation(
                Entity::Stage,
                "name",
                UniqueRule::new(format!("{:?} exists", st.name)),
            ));
        }
        self.put(
            |s| &mut s.stages,
            st.id,
            Stage {
                org_id: self.org,
                ..st.clone()
            },
        );
        Ok(())
    }

    async fn delete_stage(&mut self, id: StageId) -> Result<()> {
        match self.state.stages.get(&id) {
            Some(x) if x.org_id == self.org => {
                self.remove(|s| &mut s.stages, id);
                Ok(())
            }
            _ => Err(Error::not_found(Entity::Stage, id)),
        }
    }

    async fn insert_stage(&mut self, st: &Stage) -> Result<()> {
        if self
            .state
            .stages
            .values()
            .any(|x| x.org_id == self.org && same_name(&x.name, &st.name))
        {
            return Err(Error::unique_violation(
                Entity::Stage,
                "name",
                UniqueRule::new(format!("{:?} exists", st.name)),
            ));
        }
        self.put(
            |s| &mut s.stages,
            st.id,
            Stage {
                org_id: self.org,
                ..st.clone()
            },
        );
        Ok(())
    }

    async fn categories(&mut self) -> Result<Vec<Category>> {
        let mut v: Vec<Category> = self
            .state
            .categories
            .values()
            .filter(|x| x.org_id == self.org)
            .cloned()
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(v)
    }

    async fn insert_category(&mut self, c: &Category) -> Result<()> {
        if self
            .state
            .categories
            .values()
            .any(|x| x.org_id == self.org && same_name(&x.name, &c.name))
        {
            return Err(Error::unique_violation(
                Entity::Category,
                "name",
                UniqueRule::new(format!("{:?} exists", c.name)),
            ));
        }
        self.put(
            |s| &mut s.categories,
            c.id,
            Category {
                org_id: self.org,
                ..c.clone()
            },
        );
        Ok(())
    }

    async fn canned_responses(&mut self) -> Result<Vec<CannedResponse>> {
        let mut v: Vec<CannedResponse> = self
            .state
            .canned
            .values()
            .filter(|x| x.org_id == self.org)
            .cloned()
            .collect();
        v.sort_by(|a, b| a.shortcut.cmp(&b.shortcut));
        Ok(v)
    }

    async fn canned_by_shortcut(&mut self, shortcut: &str) -> Result<Option<CannedResponse>> {
        let org = self.org;
        Ok(self
            .state
            .canned
            .values()
            .find(|x| x.org_id == org && x.shortcut == shortcut)
            .cloned())
    }

    async fn insert_canned(&mut self, c: &CannedResponse) -> Result<()> {
        if self.canned_by_shortcut(&c.shortcut).await?.is_some() {
            return Err(Error::unique_violation(
                Entity::CannedResponse,
                "shortcut",
                UniqueRule::new(format!("/{} exists", c.shortcut)),
            ));
        }
        self.put(
            |s| &mut s.canned,
            c.id,
            CannedResponse {
                org_id: self.org,
                ..c.clone()
            },
        );
        Ok(())
    }

    async fn delete_canned(&mut self, id: CannedResponseId) -> Result<()> {
        match self.state.canned.get(&id) {
            Some(c) if c.org_id == self.org => {
                self.remove(|s| &mut s.canned, id);
                Ok(())
            }
            _ => Err(Error::not_found(Entity::CannedResponse, id)),
        }
    }

    async fn sla_policies(&mut self) -> Result<Vec<crate::sla::SlaPolicy>> {
        let mut v: Vec<_> = self
            .state
            .sla_policies
            .values()
            .filter(|p| p.org_id == self.org)
            .cloned()
            .collect();
        v.sort_by_key(|p| (p.created_at, p.id));
        Ok(v)
    }

    async fn insert_sla_policy(&mut self, p: &crate::sla::SlaPolicy) -> Result<()> {
        if self
            .state
            .sla_policies
            .values()
            .any(|x| x.org_id == self.org && same_name(&x.name, &p.name))
        {
            return Err(Error::unique_violation(
                Entity::SlaPolicy,
                "name",
                UniqueRule::new(format!("{:?} exists", p.name)),
            ));
        }
        self.put(
            |s| &mut s.sla_policies,
            p.id,
            crate::sla::SlaPolicy {
                org_id: self.org,
                ..p.clone()
            },
        );
        Ok(())
    }

    async fn delete_sla_policy(&mut self, id: SlaPolicyId) -> Result<()> {
        match self.state.sla_policies.get(&id) {
            Some(x) if x.org_id == self.org => {
                self.remove(|s| &mut s.sla_policies, id);
                Ok(())
            }
            _ => Err(Error::not_found(Entity::SlaPolicy, id)),
        }
    }

    async fn update_sla_policy(&mut self, p: &crate::sla::SlaPolicy) -> Result<()> {
        match self.state.sla_policies.get(&p.id) {
            Some(x) if x.org_id == self.org => {}
            _ => return Err(Error::not_found(Entity::SlaPolicy, p.id)),
        }
        if self
            .state
            .sla_policies
            .values()
            .any(|x| x.org_id == self.org && x.id != p.id && same_name(&x.name, &p.name))
        {
            return Err(Error::unique_violation(
                Entity::SlaPolicy,
                "name",
                UniqueRule::new(format!("{:?} exists", p.name)),
            ));
        }
        self.put(
            |s| &mut s.sla_policies,
            p.id,
            crate::sla::SlaPolicy {
                org_id: self.org,
                ..p.clone()
            },
        );
        Ok(())
    }
}

#[async_trait]
impl TeamTx for MemoryTx {
    async fn queue(&mut self, id: QueueId) -> Result<Queue> {
        let found = self.state.queues.get(&id).cloned();
        self.mine(found, |x| x.org_id, Entity::Queue, id)
    }

    async fn queues(&mut self) -> Result<Vec<Queue>> {
        let mut v: Vec<Queue> = self
            .state
            .queues
            .values()
            .filter(|x| x.org_id == self.org)
            .cloned()
            .collect();
        v.sort_by_key(|q| (q.created_at, q.id));
        Ok(v)
    }

    async fn insert_queue(&mut self, q: &Queue) -> Result<()> {
        if self
            .state
            .queues
            .values()
            .any(|x| x.org_id == self.org && same_name(&x.name, &q.name))
        {
            return Err(Error::unique_violation(
                Entity::Queue,
                "name",
                UniqueRule::new(format!("{:?} exists", q.name)),
            ));
        }
        self.put(
            |s| &mut s.queues,
            q.id,
            Queue {
                org_id: self.org,
                version: 1,
                ..q.clone()
            },
        );
        Ok(())
    }

    async fn delete_queue(&mut self, id: QueueId) -> Result<()> {
        self.queue(id).await?;
        self.remove(|s| &mut s.queues, id);
        let members: Vec<(QueueId, AgentId)> = self
            .state
            .members
            .keys()
            .filter(|(q, _)| *q == id)
            .copied()
            .collect();
        for k in members {
            self.remove(|s| &mut s.members, k);
        }
        Ok(())
    }

    async fn update_queue(&mut self, q: &Queue) -> Result<()> {
        let stored = self.queue(q.id).await?;
        Self::check_version(stored.version, q.version, Entity::Queue)?;
        if self
            .state
            .queues
            .values()
            .any(|x| x.org_id == self.org && x.id != q.id && same_name(&x.name, &q.name))
        {
            return Err(Error::unique_violation(
                Entity::Queue,
                "name",
                UniqueRule::new(format!("{:?} exists", q.name)),
            ));
        }
        self.put(
            |s| &mut s.queues,
            q.id,
            Queue {
                org_id: self.org,
                ..q.clone()
            },
        );
        Ok(())
    }

    async fn agent(&mut self, id: AgentId) -> Result<Agent> {
        let found = self.state.agents.get(&id).cloned();
        self.mine(found, |x| x.org_id, Entity::Agent, id)
    }

    async fn agents(&mut self) -> Result<Vec<Agent>> {
        let mut v: Vec<Agent> = self
            .state
            .agents
            .values()
            .filter(|x| x.org_id == self.org)
            .cloned()
            .collect();
        v.sort_by_key(|a| (a.created_at, a.id));
        Ok(v)
    }

    async fn insert_agent(&mut self, a: &Agent) -> Result<()> {
        if self
            .state
            .agents
            .values()
            .any(|x| x.org_id == self.org && x.email == a.email)
        {
            return Err(Error::unique_violation(
                Entity::Agent,
                "email",
                UniqueRule::new(format!("{} exists", a.email)),
            ));
        }
        self.put(
            |s| &mut s.agents,
            a.id,
            Agent {
                org_id: self.org,
                version: 1,
                ..a.clone()
            },
        );
        Ok(())
    }

    async fn update_agent(&mut self, a: &Agent) -> Result<()> {
        let stored = self.agent(a.id).await?;
        Self::check_version(stored.version, a.version, Entity::Agent)?;
        self.put(
            |s| &mut s.agents,
            a.id,
            Agent {
                org_id: self.org,
                ..a.clone()
            },
        );
        Ok(())
    }

    async fn queue_members(&mut self, queue: QueueId) -> Result<Vec<QueueMember>> {
        let mut v: Vec<QueueMember> = self
            .state
            .members
            .values()
            .filter(|m| m.org_id == self.org && m.queue_id == queue)
            .cloned()
            .collect();
        v.sort_by_key(|m| (m.joined_at, m.agent_id));
        Ok(v)
    }

    async fn agent_queues(&mut self, agent: AgentId) -> Result<Vec<QueueId>> {
        let mut v: Vec<QueueId> = self
            .state
            .members
            .values()
            .filter(|m| m.org_id == self.org && m.agent_id == agent)
            .map(|m| m.queue_id)
            .collect();
        v.sort();
        Ok(v)
    }

    async fn put_queue_member(&mut self, m: &QueueMember) -> Result<()> {
        self.queue(m.queue_id).await?;
        self.agent(m.agent_id).await?;
        self.put(
            |s| &mut s.members,
            (m.queue_id, m.agent_id),
            QueueMember {
                org_id: self.org,
                ..m.clone()
            },
        );
        Ok(())
    }

    async fn remove_queue_member(&mut self, queue: QueueId, agent: AgentId) -> Result<()> {
        if self
            .state
            .members
            .get(&(queue, agent))
            .is_some_and(|m| m.org_id == self.org)
        {
            self.remove(|s| &mut s.members, (queue, agent));
        }
        Ok(())
    }
}

#[async_trait]
impl ContactTx for MemoryTx {
    async fn contact(&mut self, id: ContactId) -> Result<Contact> {
        let found = self.state.contacts.get(&id).cloned();
        self.mine(found, |x| x.org_id, Entity::Contact, id)
    }

    async fn find_contact(&mut self, key: &ContactKey) -> Result<Option<Contact>> {
        let org = self.org;
        let mut it = self.state.contacts.values().filter(|c| c.org_id == org);
        Ok(match key {
            ContactKey::Phone(p) => {
                let k = p.match_key();
                it.find(|c| c.phone.as_ref().is_some_and(|x| x.match_key() == k))
            }
            ContactKey::WhatsappId(w) => it.find(|c| c.whatsapp_id.as_deref() == Some(w.as_str())),
            ContactKey::Email(e) => it.find(|c| c.email.as_deref() == Some(e.as_str())),
            ContactKey::VisitorId(v) => it.find(|c| c.visitor_id.as_deref() == Some(v.as_str())),
        }
        .cloned())
    }

    async fn insert_contact(&mut self, c: &Contact) -> Result<()> {
        if let Some(field) = self.contact_clash(c) {
            return Err(Error::unique_violation(
                Entity::Contact,
                field,
                UniqueRule::new(format!("{field} belongs to another contact")),
            ));
        }
        if self.state.contacts.contains_key(&c.id) {
            return Err(Error::unique_violation(
                Entity::Contact,
                "id",
                UniqueRule::new("id exists"),
            ));
        }
        self.put(
            |s| &mut s.contacts,
            c.id,
            Contact {
                org_id: self.org,
                ..c.clone()
            },
        );
        Ok(())
    }

    async fn update_contact(&mut self, c: &Contact) -> Result<()> {
        self.contact(c.id).await?;
        if let Some(field) = self.contact_clash(c) {
            return Err(Error::unique_violation(
                Entity::Contact,
                field,
                UniqueRule::new(format!("{field} belongs to another contact")),
            ));
        }
        self.put(
            |s| &mut s.contacts,
            c.id,
            Contact {
                org_id: self.org,
                ..c.clone()
            },
        );
        Ok(())
    }

    async fn conversation(&mut self, id: ConversationId) -> Result<Conversation> {
        let found = self.state.conversations.get(&id).cloned();
        self.mine(found, |x| x.org_id, Entity::Conversation, id)
    }

    async fn find_conversation(
        &mut self,
        contact: ContactId,
        account: ChannelAccountId,
    ) -> Result<Option<Conversation>> {
        let org = self.org;
        Ok(self
            .state
            .conversations
            .values()
            .find(|c| c.org_id == org && c.contact_id == contact && c.channel_account_id == account)
            .cloned())
    }

    async fn insert_conversation(&mut self, c: &Conversation) -> Result<()> {
        if self
            .find_conversation(c.contact_id, c.channel_account_id)
            .await?
            .is_some()
        {
            return Err(Error::unique_violation(
                Entity::Conversation,
                "contact and inbox",
                UniqueRule::new("contact already has a conversation on this inbox"),
            ));
        }
        self.contact(c.contact_id).await?;
        self.channel_account(c.channel_account_id).await?;
        self.put(
            |s| &mut s.conversations,
            c.id,
            Conversation {
                org_id: self.org,
                ..c.clone()
            },
        );
        Ok(())
    }

    async fn update_conversation(&mut self, c: &Conversation) -> Result<()> {
        self.conversation(c.id).await?;
        self.put(
            |s| &mut s.conversations,
            c.id,
            Conversation {
                org_id: self.org,
                ..c.clone()
            },
        );
        Ok(())
    }
}

#[async_trait]
impl TicketTx for MemoryTx {
    async fn ticket(&mut self, id: TicketId) -> Result<Ticket> {
        let found = self.state.tickets.get(&id).cloned();
        self.mine(found, |x| x.org_id, Entity::Ticket, id)
    }

    async fn ticket_by_number(&mut self, number: u64) -> Result<Option<Ticket>> {
        let org = self.org;
        Ok(self
            .state
            .tickets
            .values()
            .find(|t| t.org_id == org && t.number == number)
            .cloned())
    }

    async fn live_ticket(&mut self, conversation: ConversationId) -> Result<Option<Ticket>> {
        let org = self.org;
        Ok(self
            .state
            .tickets
            .values()
            .find(|t| t.org_id == org && t.conversation_id == conversation && t.status.is_live())
            .cloned())
    }

    async fn next_ticket_number(&mut self) -> Result<u64> {
        let first = self.organization().await?.first_ticket_number;
        let n = self.state.counters.get(&self.org).copied().unwrap_or(first);
        self.put(|s| &mut s.counters, self.org, n + 1);
        Ok(n)
    }

    async fn insert_ticket(&mut self, t: &Ticket) -> Result<()> {
        if t.status.is_live() && self.live_ticket(t.conversation_id).await?.is_some() {
            return Err(Error::unique_violation(
                Entity::Ticket,
                "live ticket of the conversation",
                UniqueRule::new("the conversation already has a live ticket"),
            ));
        }
        if self.ticket_by_number(t.number).await?.is_some() {
            return Err(Error::unique_violation(
                Entity::Ticket,
                "number",
                UniqueRule::new(format!("number {} is taken", t.number)),
            ));
        }
        self.conversation(t.conversation_id).await?;
        self.put(
            |s| &mut s.tickets,
            t.id,
            Ticket {
                org_id: self.org,
                version: 1,
                ..t.clone()
            },
        );
        Ok(())
    }

    async fn update_ticket(&mut self, t: &Ticket) -> Result<()> {
        let stored = self.ticket(t.id).await?;
        Self::check_version(stored.version, t.version, Entity::Ticket)?;
        if t.status.is_live()
            && let Some(other) = self.live_ticket(t.conversation_id).await?
            && other.id != t.id
        {
            return Err(Error::unique_violation(
                Entity::Ticket,
                "live ticket of the conversation",
                UniqueRule::new("the conversation already has a live ticket"),
            ));
        }
        self.put(
            |s| &mut s.tickets,
            t.id,
            Ticket {
                org_id: self.org,
                ..t.clone()
            },
        );
        Ok(())
    }

    async fn list_tickets(&mut self, q: &TicketQuery) -> Result<TicketPage> {
        let org = self.org;
        let mut counts: HashMap<TicketId, u64> = HashMap::new();
        for (_, m) in self.state.messages.values() {
            if m.org_id == org {
                *counts.entry(m.ticket_id).or_default() += 1;
            }
        }
        let visible: Vec<TicketSummary> = self
            .state
            .tickets
            .values()
            .filter(|t| t.org_id == org && q.visible(t))
            .map(|t| self.summary(t, &counts))
            .collect();
        let mut origins: Vec<String> = visible
            .iter()
            .filter_map(|s| s.ticket.tracking.utm_source.clone())
            .collect();
        origins.sort();
        origins.dedup();
        let mut sources: Vec<_> = visible
            .iter()
            .map(|s| s.ticket.tracking.effective_source())
            .collect();
        sources.sort_by_key(|s| s.as_str());
        sources.dedup();
        let mut matching: Vec<TicketSummary> =
            visible.into_iter().filter(|s| q.matches(s)).collect();
        matching.sort_by_key(|s| std::cmp::Reverse((s.ticket.created_at, s.ticket.id)));
        let total = matching.len().min(q.count_limit as usize) as u64;
        let total_exact = matching.len() <= q.count_limit as usize;
        let mut items: Vec<TicketSummary> = matching
            .into_iter()
            .filter(|s| q.after_cursor(&s.ticket))
            .take(q.limit as usize + 1)
            .collect();
        let next_cursor = if items.len() > q.limit as usize {
            items.truncate(q.limit as usize);
            items.last().map(|s| Cursor::after(&s.ticket).encode())
        } else {
            None
        };
        Ok(TicketPage {
            items,
            next_cursor,
            total,
            total_exact,
            facets: Facets {
                origins,
                sources,
                stages: self.sorted_stages(),
            },
        })
    }

    async fn waiting_tickets(&mut self, queue: QueueId) -> Result<Vec<Ticket>> {
        let org = self.org;
        Ok(self
            .state
            .tickets
            .values()
            .filter(|t| {
                t.org_id == org
                    && t.queue_id == Some(queue)
                    && t.assignee_id.is_none()
                    && t.status.counts_as_load()
            })
            .cloned()
            .collect())
    }

    async fn tickets_due_for_sla(
        &mut self,
        until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Ticket>> {
        let org = self.org;
        let mut v: Vec<Ticket> = self
            .state
            .tickets
            .values()
            .filter(|t| t.org_id == org && t.sla_wake_at.is_some_and(|w| w <= until))
            .cloned()
            .collect();
        v.sort_by_key(|t| (t.sla_wake_at, t.id));
        v.truncate(limit as usize);
        Ok(v)
    }
}

#[async_trait]
impl MessageTx for MemoryTx {
    async fn message(&mut self, id: MessageId) -> Result<Message> {
        let found = self.state.messages.get(&id).map(|(_, m)| m.clone());
        self.mine(found, |x| x.org_id, Entity::Message, id)
    }

    async fn message_by_external_id(
        &mut self,
        account: ChannelAccountId,
        external_id: &str,
    ) -> Result<Option<Message>> {
        let id = self
            .state
            .message_keys
            .get(&(account, external_id.to_owned()))
            .copied();
        Ok(id
            .and_then(|id| self.state.messages.get(&id))
            .map(|(_, m)| m.clone())
            .filter(|m| m.org_id == self.org))
    }

    async fn insert_message(&mut self, m: &Message) -> Result<()> {
        if let Some(x) = &m.external_id
            && self
                .state
                .message_keys
                .contains_key(&(m.channel_account_id, x.clone()))
        {
            return Err(Error::unique_violation(
                Entity::Message,
                "external_id",
                UniqueRule::new("channel message id already stored"),
            ));
        }
        self.ticket(m.ticket_id).await?;
        let seq = self.next_seq();
        if let Some(x) = &m.external_id {
            self.put(
                |s| &mut s.message_keys,
                (m.channel_account_id, x.clone()),
                m.id,
            );
        }
        self.put(
            |s| &mut s.messages,
            m.id,
            (
                seq,
                Message {
                    org_id: self.org,
                    ..m.clone()
                },
            ),
        );
        Ok(())
    }

    async fn update_message(&mut self, m: &Message) -> Result<()> {
        let old = self.message(m.id).await?;
        let seq = self.state.messages.get(&m.id).map_or(0, |(s, _)| *s);
        if old.external_id != m.external_id {
            if let Some(x) = &m.external_id {
                if self
                    .state
                    .message_keys
                    .contains_key(&(m.channel_account_id, x.clone()))
                {
                    return Err(Error::unique_violation(
                        Entity::Message,
                        "external_id",
                        UniqueRule::new("channel message id already stored"),
                    ));
                }
                self.put(
                    |s| &mut s.message_keys,
                    (m.channel_account_id, x.clone()),
                    m.id,
                );
            }
            if let Some(x) = old.external_id {
                self.remove(|s| &mut s.message_keys, (old.channel_account_id, x));
            }
        }
        self.put(
            |s| &mut s.messages,
            m.id,
            (
                seq,
                Message {
                    org_id: self.org,
                    ..m.clone()
                },
            ),
        );
        Ok(())
    }

    async fn messages(&mut self, ticket: TicketId) -> Result<Vec<Message>> {
        let org = self.org;
        let mut v: Vec<&(u64, Message)> = self
            .state
            .messages
            .values()
            .filter(|(_, m)| m.org_id == org && m.ticket_id == ticket)
            .collect();
        v.sort_by_key(|(seq, m)| (m.created_at, *seq));
        Ok(v.into_iter().map(|(_, m)| m.clone()).collect())
    }
}

#[async_trait]
impl RecordTx for MemoryTx {
    async fn insert_sale(&mut self, sale: &Sale) -> Result<()> {
        self.ticket(sale.ticket_id).await?;
        self.put(
            |s| &mut s.sales,
            sale.id,
            Sale {
                org_id: self.org,
                ..sale.clone()
            },
        );
        Ok(())
    }

    async fn sales(&mut self, ticket: TicketId) -> Result<Vec<Sale>> {
        let mut v: Vec<Sale> = self
            .state
            .sales
            .values()
            .filter(|x| x.org_id == self.org && x.ticket_id == ticket)
            .cloned()
            .collect();
        v.sort_by_key(|x| (x.created_at, x.id));
        Ok(v)
    }

    async fn insert_cycle(&mut self, c: &AssignmentCycle) -> Result<()> {
        self.ticket(c.ticket_id).await?;
        let seq = self.next_seq();
        self.put(
            |s| &mut s.cycles,
            c.id,
            (
                seq,
                AssignmentCycle {
                    org_id: self.org,
                    ..c.clone()
                },
            ),
        );
        Ok(())
    }

    async fn update_cycle(&mut self, c: &AssignmentCycle) -> Result<()> {
        let seq = match self.state.cycles.get(&c.id) {
            Some((seq, x)) if x.org_id == self.org => *seq,
            _ => return Err(Error::not_found(Entity::AssignmentCycle, c.id)),
        };
        self.put(
            |s| &mut s.cycles,
            c.id,
            (
                seq,
                AssignmentCycle {
                    org_id: self.org,
                    ..c.clone()
                },
            ),
        );
        Ok(())
    }

    async fn cycles(&mut self, ticket: TicketId) -> Result<Vec<AssignmentCycle>> {
        let mut v: Vec<&(u64, AssignmentCycle)> = self
            .state
            .cycles
            .values()
            .filter(|(_, c)| c.org_id == self.org && c.ticket_id == ticket)
            .collect();
        v.sort_by_key(|(seq, _)| *seq);
        Ok(v.into_iter().map(|(_, c)| c.clone()).collect())
    }

    async fn insert_audit(&mut self, a: &AuditEntry) -> Result<()> {
        self.state.audit.push(AuditEntry {
            org_id: self.org,
            ..a.clone()
        });
        self.journal.push(Box::new(|s| {
            s.audit.pop();
        }));
        Ok(())
    }

    async fn audit_trail(&mut self, ticket: TicketId) -> Result<Vec<AuditEntry>> {
        Ok(self
            .state
            .audit
            .iter()
            .filter(|a| a.org_id == self.org && a.ticket_id == Some(ticket))
            .cloned()
            .collect())
    }

    async fn insert_event(&mut self, e: &Event) -> Result<()> {
        self.state.events.push(Event {
            org_id: self.org,
            ..e.clone()
        });
        self.journal.push(Box::new(|s| {
            s.events.pop();
        }));
        Ok(())
    }

    async fn events(&mut self, after: Option<EventId>, limit: u32) -> Result<Vec<Event>> {
        let org = self.org;
        let start = match after {
            Some(id) => self
                .state
                .events
                .iter()
                .position(|e| e.id == id)
                .map_or(0, |p| p + 1),
            None => 0,
        };
        Ok(self.state.events[start..]
            .iter()
            .filter(|e| e.org_id == org)
            .take(limit as usize)
            .cloned()
            .collect())
    }
}
