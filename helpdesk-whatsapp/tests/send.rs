//! Messages out, against a local mock of the Graph API: exact bodies and headers for every
//! kind, retries only for what can succeed.

#![allow(clippy::unwrap_used)]

use helpdesk_core::Error;
use helpdesk_core::channel::{Channel, ChannelFailure, OutboundMessage, Recipient};
use helpdesk_core::domain::message::{
    ListRow, ListSection, MediaKind, MessageContent, ReplyButton,
};
use helpdesk_core::domain::party::{ChannelAccount, ChannelKind};
use helpdesk_core::domain::phone::{PhoneNumber, PhoneRegion};
use helpdesk_core::ids::{ChannelAccountId, OrgId};
use helpdesk_whatsapp::WhatsappChannel;
use helpdesk_whatsapp::graph::{GraphClient, GraphConfig};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn account() -> ChannelAccount {
    ChannelAccount {
        id: ChannelAccountId::new(),
        org_id: OrgId::new(),
        kind: ChannelKind::Whatsapp,
        external_id: "1122334455667".into(),
        name: "WA".into(),
        default_queue_id: None,
        created_at: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
    }
}

fn to() -> Recipient {
    Recipient {
        phone: Some(PhoneNumber::parse("+5511987654321", PhoneRegion::BR).unwrap()),
        whatsapp_id: None,
        email: None,
        visitor_id: None,
    }
}

fn client(server: &MockServer) -> Arc<GraphClient> {
    let mut cfg = GraphConfig::new("test-token");
    cfg.base_url = server.uri();
    cfg.timeout = Duration::from_millis(300);
    cfg.backoff = Duration::from_millis(5);
    cfg.max_backoff = Duration::from_millis(20);
    Arc::new(GraphClient::new(cfg).unwrap())
}

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"messaging_product": "whatsapp", "contacts": [{"input": "5511987654321", "wa_id": "5511987654321"}], "messages": [{"id": "wamid.OUT1"}]}))
}

fn graph_error(status: u16, code: i64) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"error": {"message": "boom", "type": "OAuthException", "code": code, "error_data": {"details": "detail text"}, "fbtrace_id": "x"}}))
}

async fn expect_body(content: MessageContent, reply_to: Option<&str>, expected: Value) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v26.0/1122334455667/messages"))
        .and(header("authorization", "Bearer test-token"))
        .and(header("content-type", "application/json"))
        .and(body_json(&expected))
        .respond_with(ok())
        .expect(1)
        .mount(&server)
        .await;
    let ch = WhatsappChannel::new(client(&server));
    let r = ch
        .send(
            &account(),
            &to(),
            &OutboundMessage {
                content,
                reply_to_external_id: reply_to.map(str::to_owned),
            },
        )
        .await
        .unwrap();
    assert_eq!(r.external_id, "wamid.OUT1");
}

fn base(kind: &str, payload: Value) -> Value {
    let mut v = json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "5511987654321", "type": kind});
    v[kind] = payload;
    v
}

#[tokio::test]
async fn text_with_preview_and_reply_context() {
    let mut want = base(
        "text",
        json!({"body": "veja https://exemplo.com.br", "preview_url": true}),
    );
    want["context"] = json!({"message_id": "wamid.IN1"});
    expect_body(
        MessageContent::text("veja https://exemplo.com.br"),
        Some("wamid.IN1"),
        want,
    )
    .await;
    expect_body(
        MessageContent::text("oi"),
        None,
        base("text", json!({"body": "oi", "preview_url": false})),
    )
    .await;
}

#[tokio::test]
async fn media_by_id_and_by_link_with_caption_and_filename() {
    let doc = MessageContent::Media {
        media: MediaKind::Document,
        media_id: Some("MEDIA1".into()),
        url: None,
        mime_type: None,
        caption: Some("boleto".into()),
        filename: Some("boleto.pdf".into()),
    };
    expect_body(
        doc,
        None,
        base(
            "document",
            json!({"id": "MEDIA1", "caption": "boleto", "filename": "boleto.pdf"}),
        ),
    )
    .await;
    let img = MessageContent::Media {
        media: MediaKind::Image,
        media_id: None,
        url: Some("https://cdn.example/x.jpg".into()),
        mime_type: None,
        caption: Some("foto".into()),
        filename: None,
    };
    expect_body(
        img,
        None,
        base(
            "image",
            json!({"link": "https://cdn.example/x.jpg", "caption": "foto"}),
        ),
    )
    .await;
    let audio = MessageContent::Media {
        media: MediaKind::Audio,
        media_id: Some("A1".into()),
        url: None,
        mime_type: None,
        caption: Some("ignored".into()),
        filename: None,
    };
    expect_body(audio, None, base("audio", json!({"id": "A1"}))).await;
}

#[tokio::test]
async fn template_with_components() {
    let components = json!([{"type": "body", "parameters": [{"type": "text", "text": "Maria"}]}]);
    let t = MessageContent::Template {
        name: "retomar_atendimento".into(),
        language: "pt_BR".into(),
        components: components.clone(),
    };
    expect_body(t, None, base("template", json!({"name": "retomar_atendimento", "language": {"code": "pt_BR"}, "components": components}))).await;
}

#[tokio::test]
async fn buttons_list_reaction_and_location() {
    let b = MessageContent::Buttons {
        body: "Resolvido?".into(),
        buttons: vec![
            ReplyButton {
                id: "yes".into(),
                title: "Sim".into(),
            },
            ReplyButton {
                id: "no".into(),
                title: "Não".into(),
            },
        ],
    };
    expect_body(b, None, base("interactive", json!({"type": "button", "body": {"text": "Resolvido?"}, "action": {"buttons": [
        {"type": "reply", "reply": {"id": "yes", "title": "Sim"}}, {"type": "reply", "reply": {"id": "no", "title": "Não"}}]}}))).await;
    let l = MessageContent::List {
        body: "Setor?".into(),
        button: "Ver setores".into(),
        sections: vec![ListSection {
            title: "Setores".into(),
            rows: vec![
                ListRow {
                    id: "fin".into(),
                    title: "Financeiro".into(),
                    description: Some("boletos".into()),
                },
                ListRow {
                    id: "sup".into(),
                    title: "Suporte".into(),
                    description: None,
                },
            ],
        }],
    };
    expect_body(l, None, base("interactive", json!({"type": "list", "body": {"text": "Setor?"}, "action": {"button": "Ver setores", "sections": [
        {"title": "Setores", "rows": [{"id": "fin", "title": "Financeiro", "description": "boletos"}, {"id": "sup", "title": "Suporte"}]}]}}))).await;
    expect_body(
        MessageContent::Reaction {
            emoji: Some("👍".into()),
            target_external_id: "wamid.IN1".into(),
        },
        None,
        base(
            "reaction",
            json!({"message_id": "wamid.IN1", "emoji": "👍"}),
        ),
    )
    .await;
    expect_body(
        MessageContent::Location {
            latitude: -23.5,
            longitude: -46.6,
            name: Some("Loja".into()),
            address: None,
        },
        None,
        base(
            "location",
            json!({"latitude": -23.5, "longitude": -46.6, "name": "Loja", "address": null}),
        ),
    )
    .await;
}

#[tokio::test]
async fn a_recipient_known_only_by_user_id_goes_in_recipient() {
    let body = helpdesk_whatsapp::message_body(
        &Recipient {
            phone: None,
            whatsapp_id: Some("BR.123".into()),
            email: None,
            visitor_id: None,
        },
        &OutboundMessage {
            content: MessageContent::text("oi"),
            reply_to_external_id: None,
        },
    )
    .unwrap();
    assert_eq!(body["recipient"], "BR.123");
    assert!(body.get("to").is_none());
    let none = helpdesk_whatsapp::message_body(
        &Recipient {
            phone: None,
            whatsapp_id: None,
            email: None,
            visitor_id: None,
        },
        &OutboundMessage {
            content: MessageContent::text("oi"),
            reply_to_external_id: None,
        },
    );
    assert!(matches!(
        none,
        Err(Error::Channel {
            failure: ChannelFailure::InvalidRecipient,
            ..
        })
    ));
}

async fn send_through(server: &MockServer) -> Result<String, Error> {
    WhatsappChannel::new(client(server))
        .send(
            &account(),
            &to(),
            &OutboundMessage {
                content: MessageContent::text("oi"),
                reply_to_external_id: None,
            },
        )
        .await
        .map(|r| r.external_id)
}

#[tokio::test]
async fn rate_limits_server_errors_and_timeouts_are_retried() {
    for first in [
        graph_error(429, 130429),
        ResponseTemplate::new(500),
        graph_error(400, 131000),
        ok().set_delay(Duration::from_millis(800)),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(first)
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ok())
            .expect(1)
            .mount(&server)
            .await;
        assert_eq!(send_through(&server).await.unwrap(), "wamid.OUT1");
    }
}

#[tokio::test]
async fn retries_stop_after_the_attempt_limit_with_a_retryable_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .expect(3)
        .mount(&server)
        .await;
    let e = send_through(&server).await.unwrap_err();
    assert!(e.is_retryable(), "{e}");
}

#[tokio::test]
async fn outside_window_and_bad_token_are_not_retried_and_typed() {
    for (status, code, failure) in [
        (400, 131047, ChannelFailure::OutsideWindow),
        (401, 190, ChannelFailure::Unauthorized),
        (400, 100, ChannelFailure::Rejected),
        (400, 131026, ChannelFailure::InvalidRecipient),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(graph_error(status, code))
            .expect(1)
            .mount(&server)
            .await;
        match send_through(&server).await.unwrap_err() {
            Error::Channel {
                failure: f,
                retryable,
                message,
                ..
            } => {
                assert_eq!(f, failure, "{code}");
                assert!(!retryable);
                assert!(message.contains(&code.to_string()));
            }
            e => panic!("{e}"),
        }
    }
}

#[tokio::test]
async fn mark_read_with_typing_indicator() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v26.0/1122334455667/messages"))
        .and(body_json(json!({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN1", "typing_indicator": {"type": "text"}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .expect(1)
        .mount(&server)
        .await;
    client(&server)
        .mark_read("1122334455667", "wamid.IN1", true)
        .await
        .unwrap();
}

#[tokio::test]
async fn media_download_fetches_the_short_lived_url_with_the_token_and_upload_returns_an_id() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v26.0/27251809591111687"))
        .and(header("authorization", "Bearer test-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"url": format!("{}/lookaside/img?mid=1", server.uri()), "mime_type": "image/jpeg", "sha256": "abc", "file_size": 4, "id": "27251809591111687"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/lookaside/img"))
        .and(header("authorization", "Bearer test-token"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![1u8, 2, 3, 4]))
        .expect(1)
        .mount(&server)
        .await;
    let m = client(&server)
        .download_media("27251809591111687")
        .await
        .unwrap();
    assert_eq!(m.bytes, [1, 2, 3, 4]);
    assert_eq!(m.mime_type.as_deref(), Some("image/jpeg"));
    Mock::given(method("POST"))
        .and(path("/v26.0/1122334455667/media"))
        .and(header("authorization", "Bearer test-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "MEDIA9"})))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        client(&server)
            .upload_media(
                "1122334455667",
                b"%PDF".to_vec(),
                "application/pdf",
                "boleto.pdf"
            )
            .await
            .unwrap(),
        "MEDIA9"
    );
}
