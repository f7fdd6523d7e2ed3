//! Marketing attribution: UTM fields, ad click ids and their platforms, paid or organic.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// Ad platforms a click id can come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdPlatform {
    /// Google Ads (`gclid`).
    GoogleAds,
    /// Meta Ads (`fbclid`, `ctwa_clid`).
    MetaAds,
    /// TikTok Ads (`ttclid`).
    TiktokAds,
}

impl AdPlatform {
    /// Every platform, in declaration order.
    pub const ALL: [AdPlatform; 3] = [Self::GoogleAds, Self::MetaAds, Self::TiktokAds];

    /// Wire / storage name (`google_ads`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GoogleAds => "google_ads",
            Self::MetaAds => "meta_ads",
            Self::TiktokAds => "tiktok_ads",
        }
    }
}

/// Which URL parameter (or channel field) a click id came in, which also names its ad platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClickIdKind {
    /// Google Ads click id (`gclid`).
    Gclid,
    /// Meta (Facebook / Instagram) ad click id (`fbclid`).
    Fbclid,
    /// Click-to-WhatsApp ad click id.
    CtwaClid,
    /// TikTok Ads click id (`ttclid`).
    Ttclid,
}

impl ClickIdKind {
    /// Every kind, in declaration order.
    pub const ALL: [ClickIdKind; 4] = [Self::Gclid, Self::Fbclid, Self::CtwaClid, Self::Ttclid];

    /// The wire name (`gclid`, `fbclid`, `ctwa_clid`, `ttclid`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gclid => "gclid",
            Self::Fbclid => "fbclid",
            Self::CtwaClid => "ctwa_clid",
            Self::Ttclid => "ttclid",
        }
    }

    /// Parses a wire name as [`ClickIdKind::as_str`] writes it (case ignored); `ctwaclid`, the
    /// spelling of our users' REST APIs, is accepted too.
    pub fn parse(s: &str) -> Result<ClickIdKind> {
        let k = s.trim().to_ascii_lowercase();
        if k == "ctwaclid" {
            return Ok(Self::CtwaClid);
        }
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == k)
            .ok_or_else(|| {
                Error::invalid_with(
                    "clickId",
                    format!("unknown click id kind {s:?}"),
                    Self::ALL.map(|x| x.as_str()),
                )
            })
    }

    /// The ad platform that issues this kind of click id.
    pub fn platform(self) -> AdPlatform {
        match self {
            Self::Gclid => AdPlatform::GoogleAds,
            Self::Fbclid | Self::CtwaClid => AdPlatform::MetaAds,
            Self::Ttclid => AdPlatform::TiktokAds,
        }
    }
}

/// One ad click id with the platform it came from, as carried in a ticket's [`Tracking`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClickId {
    /// Which click id parameter it is.
    pub kind: ClickIdKind,
    /// The id as the ad platform issued it, trimmed, 1 to 512 characters.
    pub value: String,
    /// The ad platform (derived from the kind).
    pub platform: AdPlatform,
}

impl ClickId {
    /// Builds a click id; empty values are refused.
    pub fn new(kind: ClickIdKind, value: &str) -> Result<ClickId> {
        let v = value.trim();
        if v.is_empty() || v.len() > 512 {
            return Err(Error::invalid(
                format!("{kind:?}").to_lowercase(),
                "empty or longer than 512 characters",
            ));
        }
        Ok(ClickId {
            kind,
            value: v.to_owned(),
            platform: kind.platform(),
        })
    }
}

/// Whether a ticket came from paid advertising or not (our users' `TicketSourceType`); see
/// [`Tracking::effective_source`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceType {
    /// The customer came from an ad (a click id or an ad referral).
    Paid,
    /// Anything else: the customer came without an ad.
    Organic,
}

impl SourceType {
    /// Wire / storage name (`paid`, `organic`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Paid => "paid",
            Self::Organic => "organic",
        }
    }
    /// Parses a wire name (case and surrounding spaces ignored); anything else is
    /// [`Error::Invalid`] listing `paid` and `organic`.
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "paid" => Ok(Self::Paid),
            "organic" => Ok(Self::Organic),
            _ => Err(Error::invalid_with(
                "sourceType",
                format!("unknown source {s:?}"),
                ["paid", "organic"],
            )),
        }
    }
}

/// A ticket's marketing attribution: the UTM fields, ad click ids and ad referral it came
/// with, and whether it counts as paid or organic. Every text field is `None` when unknown.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Tracking {
    /// `utm_source` (the "origin" facet).
    pub utm_source: Option<String>,
    /// `utm_medium` (`cpc`, `social`…).
    pub utm_medium: Option<String>,
    /// `utm_campaign`: the campaign name, which reports group by.
    pub utm_campaign: Option<String>,
    /// `utm_term`: the paid keyword.
    pub utm_term: Option<String>,
    /// `utm_content`: which ad or link variant was clicked.
    pub utm_content: Option<String>,
    /// Ad click ids that came with the customer; one per kind once [`Tracking::normalized`].
    pub click_ids: Vec<ClickId>,
    /// Paid or organic; when unset, paid if a click id is present, organic otherwise.
    pub source_type: Option<SourceType>,
    /// Headline of the ad the customer clicked (Click-to-WhatsApp referral); `None` when unknown.
    pub ad_headline: Option<String>,
    /// Source URL or id of the ad the customer clicked (Click-to-WhatsApp referral); `None` when
    /// unknown.
    pub ad_source_url: Option<String>,
}

impl Tracking {
    /// Effective source type (explicit, else derived from click ids).
    pub fn effective_source(&self) -> SourceType {
        self.source_type.unwrap_or(if self.click_ids.is_empty() {
            SourceType::Organic
        } else {
            SourceType::Paid
        })
    }

    /// The ad platform of the first click id (what reports attribute the ticket to).
    pub fn ad_platform(&self) -> Option<AdPlatform> {
        self.click_ids.first().map(|c| c.kind.platform())
    }

    /// The value of a click id kind, if present.
    pub fn click_id(&self, kind: ClickIdKind) -> Option<&str> {
        self.click_ids
            .iter()
            .find(|c| c.kind == kind)
            .map(|c| c.value.as_str())
    }

    /// The longest a text field is kept, in characters (ad links carry what anyone puts in
    /// them; reports index these fields).
    pub const MAX_FIELD_CHARS: usize = 256;

    /// Trims fields, drops empty ones, keeps at most [`MAX_FIELD_CHARS`](Self::MAX_FIELD_CHARS)
    /// characters of each, and de-duplicates click ids by kind (last wins).
    pub fn normalized(mut self) -> Tracking {
        for f in [
            &mut self.utm_source,
            &mut self.utm_medium,
            &mut self.utm_campaign,
            &mut self.utm_term,
            &mut self.utm_content,
            &mut self.ad_headline,
            &mut self.ad_source_url,
        ] {
            *f = f
                .take()
                .map(|s| {
                    s.trim()
                        .chars()
                        .take(Self::MAX_FIELD_CHARS)
                        .collect::<String>()
                })
                .map(|s| s.trim_end().to_owned())
                .filter(|s| !s.is_empty());
        }
        let mut out: Vec<ClickId> = Vec::new();
        for c in self.click_ids.drain(..).rev() {
            if !out.iter().any(|o| o.kind == c.kind) {
                out.push(c);
            }
        }
        out.reverse();
        self.click_ids = out;
        self
    }
}
