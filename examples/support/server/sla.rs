//! SLA policies over REST: the seed's body (`firstResponseHours`, `resolutionHours`,
//! `priorityOverrides`, `businessHoursOnly`, `isDefault`) in explicit wire types, and the
//! answer says what applies to each priority.

use super::{ApiError, AppState, Caller, body, camel_keys, uuid_of};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use helpdesk_core::domain::ticket::Priority;
use helpdesk_core::ids::SlaPolicyId;
use helpdesk_core::service::NewSlaPolicy;
use helpdesk_core::sla::{CalendarSpec, SlaPolicy, SlaTargets};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A value the body carries that the policy cannot take: 422 naming the field (as the
/// library's own validation errors).
fn invalid(field: &str, reason: &str) -> ApiError {
    helpdesk_core::Error::invalid(field, reason).into()
}

/// Targets in hours, as the seed writes them; a target left out is not tracked (in an
/// override: falls back to the policy's).
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetHours {
    /// First response, hours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_response_hours: Option<f64>,
    /// Next response, hours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_response_hours: Option<f64>,
    /// Resolution, hours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution_hours: Option<f64>,
}

impl TargetHours {
    /// Seconds, refusing hours that are not a positive finite number (`field` names the
    /// place in the body).
    fn to_targets(self, field: &str) -> Result<SlaTargets, ApiError> {
        let secs = |name: &str, h: Option<f64>| match h {
            None => Ok(None),
            Some(h) if h.is_finite() && h > 0.0 && h <= 87_600.0 => {
                Ok(Some((h * 3600.0).round() as i64))
            }
            Some(_) => Err(invalid(
                &format!("{field}{name}"),
                "hours must be a number above 0 and at most 87600 (10 years)",
            )),
        };
        Ok(SlaTargets {
            first_response: secs("firstResponseHours", self.first_response_hours)?,
            next_response: secs("nextResponseHours", self.next_response_hours)?,
            resolution: secs("resolutionHours", self.resolution_hours)?,
        })
    }

    fn of(t: SlaTargets) -> TargetHours {
        let h = |s: Option<i64>| s.map(|s| s as f64 / 3600.0);
        TargetHours {
            first_response_hours: h(t.first_response),
            next_response_hours: h(t.next_response),
            resolution_hours: h(t.resolution),
        }
    }
}

/// `POST /api/v1/sla-policies` and `PUT /api/v1/sla-policies/{id}` (a policy is replaced
/// whole, but for `isDefault`, which it keeps when left out).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SlaPolicyBody {
    name: String,
    first_response_hours: Option<f64>,
    next_response_hours: Option<f64>,
    resolution_hours: Option<f64>,
    /// Per priority (`urgent`, `high`, `medium`, `low`).
    #[serde(default)]
    priority_overrides: BTreeMap<String, TargetHours>,
    /// `true` counts in `businessHours` (required then); `false` counts 24 × 7. Left out:
    /// business hours when `businessHours` is given.
    business_hours_only: Option<bool>,
    #[serde(default, deserialize_with = "super::from_camel")]
    business_hours: Option<CalendarSpec>,
    /// Share of a target after which a clock is at risk (default 0.8).
    at_risk: Option<f64>,
    /// Make it the tenant's default. Left out: `false` on create (the current default
    /// stays); on replace, the policy keeps what it was.
    is_default: Option<bool>,
}

impl SlaPolicyBody {
    /// The library's input; `was_default` is what `isDefault` means when left out.
    fn into_new(self, was_default: bool) -> Result<NewSlaPolicy, ApiError> {
        let targets = TargetHours {
            first_response_hours: self.first_response_hours,
            next_response_hours: self.next_response_hours,
            resolution_hours: self.resolution_hours,
        }
        .to_targets("")?;
        let mut new = NewSlaPolicy::new(self.name, targets);
        for (name, o) in self.priority_overrides {
            let field = format!("priorityOverrides.{name}");
            let p = Priority::parse(&name).map_err(|e| match e {
                helpdesk_core::Error::Invalid {
                    reason, allowed, ..
                } => helpdesk_core::Error::Invalid {
                    field: field.clone(),
                    reason,
                    allowed,
                },
                e => e,
            })?;
            new = new.with_priority(p, o.to_targets(&format!("{field}."))?);
        }
        match (self.business_hours_only, self.business_hours) {
            (Some(true), None) => {
                return Err(invalid(
                    "businessHours",
                    "businessHoursOnly needs the business hours (a calendar)",
                ));
            }
            (Some(false), Some(_)) => {
                return Err(invalid(
                    "businessHoursOnly",
                    "false counts 24 × 7: leave businessHours out",
                ));
            }
            (_, Some(hours)) => new = new.with_business_hours(hours),
            (_, None) => {}
        }
        if let Some(r) = self.at_risk {
            if !(r > 0.0 && r <= 1.0) {
                return Err(invalid(
                    "atRisk",
                    "a share of the target above 0 and at most 1",
                ));
            }
            new = new.with_at_risk(r);
        }
        if self.is_default.unwrap_or(was_default) {
            new = new.as_default();
        }
        Ok(new)
    }
}

/// A policy as the API answers it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SlaPolicyWire {
    id: SlaPolicyId,
    name: String,
    #[serde(flatten)]
    targets: TargetHours,
    /// The overrides as given.
    priority_overrides: BTreeMap<Priority, TargetHours>,
    /// What applies to each priority (overrides merged with the policy's targets).
    targets_by_priority: BTreeMap<Priority, TargetHours>,
    business_hours_only: bool,
    business_hours: Option<Value>,
    at_risk: f64,
    is_default: bool,
    created_at: chrono::DateTime<chrono::Utc>,
}

impl From<&SlaPolicy> for SlaPolicyWire {
    fn from(p: &SlaPolicy) -> SlaPolicyWire {
        SlaPolicyWire {
            id: p.id,
            name: p.name.clone(),
            targets: TargetHours::of(p.targets),
            priority_overrides: p
                .priority_targets
                .iter()
                .map(|(k, t)| (*k, TargetHours::of(*t)))
                .collect(),
            targets_by_priority: Priority::ALL
                .iter()
                .map(|k| (*k, TargetHours::of(p.targets_for(*k))))
                .collect(),
            business_hours_only: p.business_hours.is_some(),
            business_hours: p.business_hours.as_ref().map(|c| camel_keys(c.to_json())),
            at_risk: f64::from(p.at_risk_permille) / 1000.0,
            is_default: p.is_default,
            created_at: p.created_at,
        }
    }
}

pub(super) async fn list_sla_policies(
    State(state): State<AppState>,
    _: Caller,
) -> Result<Json<Vec<SlaPolicyWire>>, ApiError> {
    let policies = state.hd.sla_policies(state.org).await?;
    Ok(Json(policies.iter().map(SlaPolicyWire::from).collect()))
}

pub(super) async fn create_sla_policy(
    State(state): State<AppState>,
    Caller(actor): Caller,
    bytes: axum::body::Bytes,
) -> Result<(StatusCode, Json<SlaPolicyWire>), ApiError> {
    let b: SlaPolicyBody = body(&bytes)?;
    let p = state
        .hd
        .create_sla_policy(state.org, &actor, b.into_new(false)?)
        .await?;
    Ok((StatusCode::CREATED, Json(SlaPolicyWire::from(&p))))
}

pub(super) async fn replace_sla_policy(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Json<SlaPolicyWire>, ApiError> {
    let b: SlaPolicyBody = body(&bytes)?;
    let id = SlaPolicyId(uuid_of("id", &id)?);
    let was_default = state
        .hd
        .sla_policies(state.org)
        .await?
        .iter()
        .any(|p| p.id == id && p.is_default);
    let p = state
        .hd
        .update_sla_policy(state.org, &actor, id, b.into_new(was_default)?)
        .await?;
    Ok(Json(SlaPolicyWire::from(&p)))
}

pub(super) async fn delete_sla_policy(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .hd
        .delete_sla_policy(state.org, &actor, SlaPolicyId(uuid_of("id", &id)?))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
