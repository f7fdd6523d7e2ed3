//! Routing: pure functions over a snapshot of a queue. Stores make the choice atomic (the
//! service takes the queue lock and versions the rows it changes); these functions only decide.

use crate::domain::team::{Distribution, Presence};
use crate::domain::ticket::Priority;
use crate::ids::*;
use chrono::{DateTime, Utc};

/// One member of a queue as routing sees them: the snapshot of their agent record and
/// membership that [`round_robin`] and [`least_busy`] choose from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The agent this candidate stands for; the choice functions return it.
    pub agent_id: AgentId,
    /// The agent's presence; only [`Presence::Online`] agents are eligible.
    pub presence: Presence,
    /// Whether the agent account is active; deactivated agents are never eligible.
    pub active: bool,
    /// Open (New/Open/Pending) tickets now.
    pub open_tickets: u32,
    /// Most live (New/Open/Pending) tickets the agent may hold at once.
    pub capacity: u32,
    /// Last assignment instant (least-busy tie break: longest idle first).
    pub last_assigned_at: Option<DateTime<Utc>>,
    /// The queue's rotation counter at this member's last automatic assignment (0 = never).
    pub last_rotation: u64,
    /// When the agent joined the queue (round-robin tie break for members never served).
    pub joined_at: DateTime<Utc>,
    /// Skills in this queue (lower case).
    pub skills: Vec<String>,
}

impl Candidate {
    /// Online, active, with room, and holding every required skill.
    pub fn eligible(&self, required_skills: &[String]) -> bool {
        self.active
            && self.presence == Presence::Online
            && self.open_tickets < self.capacity
            && required_skills
                .iter()
                .all(|s| self.skills.iter().any(|k| k.eq_ignore_ascii_case(s)))
    }
}

/// Keeps candidates holding every required skill (presence and capacity ignored).
pub fn skills_filter<'a>(cands: &'a [Candidate], required: &[String]) -> Vec<&'a Candidate> {
    cands
        .iter()
        .filter(|c| {
            required
                .iter()
                .all(|s| c.skills.iter().any(|k| k.eq_ignore_ascii_case(s)))
        })
        .collect()
}

/// Round robin: among eligible agents, the one served longest ago in this queue's rotation
/// (never served first, in joining order). Offline and full agents are skipped and keep their
/// place, so they are next when they come back.
pub fn round_robin(cands: &[Candidate], required: &[String]) -> Option<AgentId> {
    cands
        .iter()
        .filter(|c| c.eligible(required))
        .min_by_key(|c| (c.last_rotation, c.joined_at, c.agent_id))
        .map(|c| c.agent_id)
}

/// Least busy: fewest open tickets, then longest idle (never assigned first), then id.
pub fn least_busy(cands: &[Candidate], required: &[String]) -> Option<AgentId> {
    cands
        .iter()
        .filter(|c| c.eligible(required))
        .min_by_key(|c| {
            (
                c.open_tickets,
                c.last_assigned_at.is_some(),
                c.last_assigned_at,
                c.agent_id,
            )
        })
        .map(|c| c.agent_id)
}

/// Applies a queue's strategy (`Manual` never picks).
pub fn choose(strategy: Distribution, cands: &[Candidate], required: &[String]) -> Option<AgentId> {
    match strategy {
        Distribution::RoundRobin => round_robin(cands, required),
        Distribution::LeastBusy => least_busy(cands, required),
        Distribution::Manual => None,
    }
}

/// A waiting ticket as ordering sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    /// The waiting ticket.
    pub ticket_id: TicketId,
    /// Its priority; higher goes first.
    pub priority: Priority,
    /// Whether its customer is VIP; among equal priorities VIPs go first.
    pub vip: bool,
    /// When it started waiting in the queue; among equals the longest waiting goes first.
    pub since: DateTime<Utc>,
}

/// Orders waiting tickets: higher priority first, then VIP, then longest waiting, then id.
pub fn order_waiting(v: &mut [Waiting]) {
    v.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then(b.vip.cmp(&a.vip))
            .then(a.since.cmp(&b.since))
            .then(a.ticket_id.cmp(&b.ticket_id))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn cand(i: u8, presence: Presence, open: u32, cap: u32, rot: u64) -> Candidate {
        Candidate {
            agent_id: AgentId(uuid::Uuid::from_u128(u128::from(i))),
            presence,
            active: true,
            open_tickets: open,
            capacity: cap,
            last_assigned_at: None,
            last_rotation: rot,
            joined_at: DateTime::<Utc>::UNIX_EPOCH + Duration::seconds(i64::from(i)),
            skills: vec![],
        }
    }

    #[test]
    fn round_robin_skips_offline_and_full_agents() {
        let c = vec![
            cand(1, Presence::Offline, 0, 5, 0),
            cand(2, Presence::Online, 5, 5, 0),
            cand(3, Presence::Online, 1, 5, 7),
            cand(4, Presence::Online, 0, 5, 3),
        ];
        assert_eq!(round_robin(&c, &[]), Some(c[3].agent_id));
        let none = vec![cand(1, Presence::Away, 0, 5, 0)];
        assert_eq!(round_robin(&none, &[]), None);
    }

    #[test]
    fn round_robin_rotates_through_everyone() {
        let mut c: Vec<Candidate> = (1..=3)
            .map(|i| cand(i, Presence::Online, 0, 100, 0))
            .collect();
        let mut seq = Vec::new();
        for rot in 1..=6u64 {
            let a = round_robin(&c, &[]).unwrap();
            seq.push(a);
            c.iter_mut()
                .find(|x| x.agent_id == a)
                .unwrap()
                .last_rotation = rot;
        }
        assert_eq!(seq[..3], seq[3..]);
        assert_eq!(
            seq[..3]
                .iter()
                .collect::<std::collections::HashSet<_>>()
                .len(),
            3
        );
    }

    #[test]
    fn least_busy_prefers_fewest_open_then_longest_idle() {
        let t0 = DateTime::<Utc>::UNIX_EPOCH;
        let mut a = cand(1, Presence::Online, 2, 5, 0);
        let mut b = cand(2, Presence::Online, 1, 5, 0);
        let mut c = cand(3, Presence::Online, 1, 5, 0);
        b.last_assigned_at = Some(t0 + Duration::hours(2));
        c.last_assigned_at = Some(t0 + Duration::hours(1));
        a.last_assigned_at = None;
        assert_eq!(
            least_busy(&[a.clone(), b.clone(), c.clone()], &[]),
            Some(c.agent_id)
        );
        c.open_tickets = 3;
        assert_eq!(least_busy(&[a, b.clone(), c], &[]), Some(b.agent_id));
    }

    #[test]
    fn skills_are_required() {
        let mut a = cand(1, Presence::Online, 0, 5, 0);
        let mut b = cand(2, Presence::Online, 0, 5, 5);
        a.skills = vec!["fibra".into()];
        b.skills = vec!["fibra".into(), "pppoe".into()];
        let req = vec!["PPPoE".to_owned()];
        assert_eq!(round_robin(&[a.clone(), b.clone()], &req), Some(b.agent_id));
        assert_eq!(skills_filter(&[a, b], &req).len(), 1);
    }

    #[test]
    fn waiting_order_is_priority_then_vip_then_age() {
        let t0 = DateTime::<Utc>::UNIX_EPOCH;
        let w = |i: u128, p, vip, mins| Waiting {
            ticket_id: TicketId(uuid::Uuid::from_u128(i)),
            priority: p,
            vip,
            since: t0 + Duration::minutes(mins),
        };
        let mut v = vec![
            w(1, Priority::Medium, false, 0),
            w(2, Priority::Urgent, false, 30),
            w(3, Priority::Medium, true, 20),
            w(4, Priority::Medium, false, -10),
        ];
        order_waiting(&mut v);
        let ids: Vec<u128> = v.iter().map(|x| x.ticket_id.0.as_u128()).collect();
        assert_eq!(ids, [2, 3, 4, 1]);
    }
}
