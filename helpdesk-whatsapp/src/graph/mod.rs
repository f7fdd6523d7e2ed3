//! The Graph API client: sends, mark-as-read, media upload and download, with timeouts,
//! retries for what can succeed, and error classification.

mod error;

pub use error::{GraphError, classify};

use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Client settings. Base URL, API version, token and timeout are settings so tests (and
/// proxies) can point the client anywhere.
#[derive(Debug, Clone)]
pub struct GraphConfig {
    /// `https://graph.facebook.com` by default.
    pub base_url: String,
    /// `v26.0` by default.
    pub api_version: String,
    /// System-user or business access token (sent as a bearer token).
    pub access_token: String,
    /// How long one HTTP attempt may take (connect to last byte) before it fails as a timeout,
    /// which is retried; 10 s by default.
    pub timeout: Duration,
    /// Attempts for a retryable failure (1 = no retry).
    pub max_attempts: u32,
    /// First backoff; doubles each attempt, with up to 50 % jitter.
    pub backoff: Duration,
    /// Longest single wait between attempts.
    pub max_backoff: Duration,
}

impl GraphConfig {
    /// Defaults for the public Graph API with `access_token`.
    pub fn new(access_token: impl Into<String>) -> GraphConfig {
        GraphConfig {
            base_url: "https://graph.facebook.com".into(),
            api_version: "v26.0".into(),
            access_token: access_token.into(),
            timeout: Duration::from_secs(10),
            max_attempts: 3,
            backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
        }
    }
}

/// An inbound media file downloaded by [`GraphClient::download_media`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// The file's content, as downloaded.
    pub bytes: Vec<u8>,
    /// MIME type as Meta reported it (`image/jpeg`); `None` when Meta gave none.
    pub mime_type: Option<String>,
    /// SHA-256 as Meta reported it.
    pub sha256: Option<String>,
}

/// A client of Meta's Graph API for one access token: sends messages, marks them read, and
/// uploads and downloads media, retrying what can succeed. Share it behind an `Arc`.
#[derive(Debug)]
pub struct GraphClient {
    http: reqwest::Client,
    cfg: GraphConfig,
    jitter: AtomicU64,
}

impl GraphClient {
    /// Builds a client from its settings; fails only if the HTTP client cannot be built.
    pub fn new(cfg: GraphConfig) -> Result<GraphClient, GraphError> {
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .build()
            .map_err(|e| GraphError::transport(&e))?;
        Ok(GraphClient {
            http,
            cfg,
            jitter: AtomicU64::new(0x9e37_79b9_7f4a_7c15),
        })
    }

    /// The settings the client was built with.
    pub fn config(&self) -> &GraphConfig {
        &self.cfg
    }

    fn url(&self, path: &str) -> String {
        format!(
            "{}/{}/{}",
            self.cfg.base_url.trim_end_matches('/'),
            self.cfg.api_version,
            path.trim_start_matches('/')
        )
    }

    /// Next wait: exponential, capped, with jitter from a xorshift sequence (no clock, no
    /// global RNG needed).
    fn backoff(&self, attempt: u32, floor: Option<Duration>) -> Duration {
        let base = self
            .cfg
            .backoff
            .saturating_mul(1 << attempt.min(16))
            .min(self.cfg.max_backoff);
        let mut x = self.jitter.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.jitter.store(x, Ordering::Relaxed);
        let jitter = base.mul_f64((x % 1000) as f64 / 2000.0);
        (base + jitter).max(floor.unwrap_or_default())
    }

    /// POSTs JSON to `path`, retrying retryable failures.
    pub async fn post_json(&self, path: &str, body: &Value) -> Result<Value, GraphError> {
        let url = self.url(path);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let res = self
                .http
                .post(&url)
                .bearer_auth(&self.cfg.access_token)
                .json(body)
                .send()
                .await;
            let err = match res {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let v: Value = r.json().await.unwrap_or(Value::Null);
                    if (200..300).contains(&status) && v.get("error").is_none() {
                        return Ok(v);
                    }
                    GraphError::from_response(status, &v)
                }
                Err(e) => GraphError::transport(&e),
            };
            if !err.is_retryable() || attempt >= self.cfg.max_attempts {
                return Err(err);
            }
            sleep(self.backoff(attempt - 1, err.retry_after)).await;
        }
    }

    /// GETs JSON from `path`, retrying retryable failures.
    async fn get_json(&self, url: &str) -> Result<Value, GraphError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let err = match self
                .http
                .get(url)
                .bearer_auth(&self.cfg.access_token)
                .send()
                .await
            {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let v: Value = r.json().await.unwrap_or(Value::Null);
                    if (200..300).contains(&status) && v.get("error").is_none() {
                        return Ok(v);
                    }
                    GraphError::from_response(status, &v)
                }
                Err(e) => GraphError::transport(&e),
            };
            if !err.is_retryable() || attempt >= self.cfg.max_attempts {
                return Err(err);
            }
            sleep(self.backoff(attempt - 1, err.retry_after)).await;
        }
    }

    /// Sends a message body (`messaging_product` is added); returns the `wamid`.
    pub async fn send_message(
        &self,
        phone_number_id: &str,
        mut body: Value,
    ) -> Result<String, GraphError> {
        if let Some(o) = body.as_object_mut() {
            o.insert("messaging_product".into(), json!("whatsapp"));
        }
        let v = self
            .post_json(&format!("{phone_number_id}/messages"), &body)
            .await?;
        v.pointer("/messages/0/id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| GraphError {
                status: Some(200),
                code: None,
                subcode: None,
                message: "send response has no messages[0].id".into(),
                details: None,
                failure: helpdesk_core::channel::ChannelFailure::Transient,
                retry_after: None,
            })
    }

    /// Marks an inbound message as read (blue ticks), optionally showing a typing indicator.
    pub async fn mark_read(
        &self,
        phone_number_id: &str,
        message_id: &str,
        typing_indicator: bool,
    ) -> Result<(), GraphError> {
        let mut body =
            json!({"messaging_product": "whatsapp", "status": "read", "message_id": message_id});
        if typing_indicator {
            body["typing_indicator"] = json!({"type": "text"});
        }
        self.post_json(&format!("{phone_number_id}/messages"), &body)
            .await
            .map(|_| ())
    }

    /// Uploads media; returns its id (send it by id: links are fetched by Meta's rate-limited
    /// proxy and fail with 131053 more often).
    pub async fn upload_media(
        &self,
        phone_number_id: &str,
        bytes: Vec<u8>,
        mime_type: &str,
        filename: &str,
    ) -> Result<String, GraphError> {
        let url = self.url(&format!("{phone_number_id}/media"));
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(filename.to_owned())
            .mime_str(mime_type)
            .map_err(|e| GraphError::transport(&e))?;
        let form = reqwest::multipart::Form::new()
            .text("messaging_product", "whatsapp")
            .text("type", mime_type.to_owned())
            .part("file", part);
        let r = self
            .http
            .post(&url)
            .bearer_auth(&self.cfg.access_token)
            .multipart(form)
            .send()
            .await
            .map_err(|e| GraphError::transport(&e))?;
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        if !(200..300).contains(&status) {
            return Err(GraphError::from_response(status, &v));
        }
        v.get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                GraphError::from_response(
                    status,
                    &json!({"error": {"message": "upload response has no id"}}),
                )
            })
    }

    /// Downloads inbound media: looks up its short-lived URL and fetches it right away with
    /// the bearer token (the URL expires in minutes).
    pub async fn download_media(&self, media_id: &str) -> Result<Media, GraphError> {
        let meta = self.get_json(&self.url(media_id)).await?;
        let url = meta.get("url").and_then(Value::as_str).ok_or_else(|| {
            GraphError::from_response(
                200,
                &json!({"error": {"message": "media lookup has no url"}}),
            )
        })?;
        let r = self
            .http
            .get(url)
            .bearer_auth(&self.cfg.access_token)
            .send()
            .await
            .map_err(|e| GraphError::transport(&e))?;
        let status = r.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(GraphError::from_response(status, &Value::Null));
        }
        let bytes = r
            .bytes()
            .await
            .map_err(|e| GraphError::transport(&e))?
            .to_vec();
        Ok(Media {
            bytes,
            mime_type: meta
                .get("mime_type")
                .and_then(Value::as_str)
                .map(str::to_owned),
            sha256: meta
                .get("sha256")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }
}

/// Waits between attempts (reqwest already runs on tokio).
async fn sleep(d: Duration) {
    tokio::time::sleep(d).await;
}
