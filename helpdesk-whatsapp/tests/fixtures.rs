//! Every captured Meta payload in `tests/fixtures/` (see its SOURCES.md) parses to the
//! expected typed items: fields asserted, not just "no error".

#![allow(clippy::unwrap_used)]

use chrono::{DateTime, TimeZone, Utc};
use helpdesk_core::channel::InboundMessage;
use helpdesk_core::domain::message::{DeliveryStatus, MediaKind, MessageContent};
use helpdesk_core::domain::tracking::{ClickIdKind, SourceType};
use helpdesk_whatsapp::webhook::{MessageMeta, WebhookItem, parse, sign, verify_signature};
use serde_json::Value;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
}

fn raw(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn items(name: &str) -> Vec<WebhookItem> {
    parse(&raw(name), now()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn one_message(name: &str) -> (InboundMessage, MessageMeta) {
    let v = items(name);
    let msgs: Vec<_> = v
        .iter()
        .filter_map(|i| {
            if let WebhookItem::Message(m, meta) = i {
                Some((m.as_ref().clone(), meta.clone()))
            } else {
                None
            }
        })
        .collect();
    assert_eq!(msgs.len(), 1, "{name}: {v:?}");
    msgs.into_iter().next().unwrap()
}

#[test]
fn text_message_carries_sender_name_and_body() {
    let (m, meta) = one_message("inbound_text");
    assert_eq!(m.account_external_id, "1122334455667");
    assert_eq!(m.external_id, "wamid.xyzxyz");
    assert_eq!(m.from.phone.as_deref(), Some("972987654321"));
    assert_eq!(m.from.name.as_deref(), Some("Test Name"));
    assert_eq!(m.content, MessageContent::text("Body Text"));
    assert_eq!(meta.wa_type, "text");
    assert!(m.sent_at < now(), "the payload's own timestamp is used");
}

#[test]
fn media_messages_keep_id_mime_caption_and_filename() {
    let cases = [
        (
            "inbound_image",
            MediaKind::Image,
            Some("65463453"),
            None,
            None,
        ),
        (
            "inbound_audio",
            MediaKind::Audio,
            Some("1234567890987654321"),
            None,
            None,
        ),
        (
            "inbound_video",
            MediaKind::Video,
            Some("765756756"),
            Some("caption"),
            None,
        ),
        (
            "inbound_document_forwarded",
            MediaKind::Document,
            None,
            Some("caption"),
            Some("filename.pdf"),
        ),
        (
            "inbound_sticker_static",
            MediaKind::Sticker,
            Some("1234567890987654321"),
            None,
            None,
        ),
    ];
    for (name, kind, id, caption, filename) in cases {
        let (m, _) = one_message(name);
        match m.content {
            MessageContent::Media {
                media,
                media_id,
                caption: c,
                filename: f,
                mime_type,
                ..
            } => {
                assert_eq!(media, kind, "{name}");
                if let Some(id) = id {
                    assert_eq!(media_id.as_deref(), Some(id), "{name}");
                }
                assert!(media_id.is_some() && mime_type.is_some(), "{name}");
                assert_eq!(c.as_deref(), caption, "{name}");
                assert_eq!(f.as_deref(), filename, "{name}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    let (m, _) = one_message("inbound_image_with_url");
    assert!(
        matches!(m.content, MessageContent::Media { url: Some(ref u), .. } if u.starts_with("https://lookaside.fbsbx.com/"))
    );
}

#[test]
fn forwarded_flags_and_reply_context_are_kept() {
    assert!(one_message("inbound_text_forwarded").1.forwarded);
    assert!(one_message("inbound_document_forwarded").1.forwarded);
    let (_, meta) = one_message("inbound_text_frequently_forwarded");
    assert!(meta.frequently_forwarded);
    let (m, _) = one_message("inbound_text_reply_context");
    assert_eq!(m.reply_to_external_id.as_deref(), Some("wamid.xyzxyz=="));
    let (m, meta) = one_message("inbound_text_product_inquiry_referred_product");
    assert_eq!(
        meta.referred_product.as_ref().map(|(c, _)| c.as_str()),
        Some("CATALOG_9999")
    );
    assert_eq!(m.reply_to_external_id.as_deref(), Some("wamid.IDCONTEXT1"));
}

#[test]
fn click_to_whatsapp_referral_becomes_paid_meta_ads_tracking() {
    let (m, _) = one_message("inbound_text_ctwa_referral");
    let t = m.tracking.unwrap();
    assert_eq!(t.click_id(ClickIdKind::CtwaClid), Some("CTWA_CLID"));
    assert_eq!(
        t.click_ids[0].platform,
        helpdesk_core::domain::tracking::AdPlatform::MetaAds
    );
    assert_eq!(t.effective_source(), SourceType::Paid);
    assert_eq!(t.ad_headline.as_deref(), Some("AD_TITLE"));
    assert_eq!(t.ad_source_url.as_deref(), Some("AD_OR_POST_FB_URL"));
    assert_eq!(t.utm_campaign.as_deref(), Some("ADID"));
    assert_eq!(
        m.from.whatsapp_id.as_deref(),
        Some("US.13491208655302741918"),
        "BSUID from contacts[].user_id"
    );
}

#[test]
fn interactive_replies_of_every_kind() {
    let reply = |name: &str| match one_message(name).0.content {
        MessageContent::InteractiveReply {
            interactive,
            reply_id,
            title,
            payload,
        } => (interactive, reply_id, title, payload),
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(reply("inbound_interactive_button_reply").0, "button_reply");
    assert_eq!(
        reply("inbound_interactive_button_reply").1.as_deref(),
        Some("callback_data")
    );
    assert_eq!(reply("inbound_interactive_list_reply").0, "list_reply");
    assert_eq!(
        reply("inbound_interactive_list_reply").2.as_deref(),
        Some("title")
    );
    assert_eq!(
        reply("inbound_button_template_quick_reply"),
        (
            "button".into(),
            Some("callback_data".into()),
            Some("title".into()),
            None
        )
    );
    assert_eq!(
        reply("inbound_interactive_call_permission_reply_accept")
            .1
            .as_deref(),
        Some("accept")
    );
    assert_eq!(
        reply("inbound_interactive_call_permission_reply_reject")
            .1
            .as_deref(),
        Some("reject")
    );
    let flow = reply("inbound_interactive_nfm_reply_flow");
    assert_eq!(flow.0, "nfm_reply");
    assert_eq!(
        flow.3
            .as_ref()
            .and_then(|p| p.get("flow_token"))
            .and_then(Value::as_str),
        Some("AQAAAAACS5FpgQ_cAAAAAD0QI3s.")
    );
    let no_token = reply("inbound_interactive_nfm_reply_flow_no_token");
    assert_eq!(
        no_token
            .3
            .as_ref()
            .and_then(|p| p.get("delivery_rating"))
            .and_then(Value::as_str),
        Some("4")
    );
    assert!(no_token.3.unwrap().get("flow_token").is_none());
}

#[test]
fn value_level_errors_are_items_and_the_bodyless_message_is_kept_unknown() {
    let v = items("inbound_interactive_with_value_level_errors_131000");
    assert!(v.iter().any(|i| matches!(i, WebhookItem::Error { error, .. } if error.code == Some(131000) && error.details.as_deref() == Some("Unsupported webhook payload"))));
    let (m, _) = one_message("inbound_interactive_with_value_level_errors_131000");
    assert!(
        matches!(m.content, MessageContent::Unknown { ref channel_kind, .. } if channel_kind == "interactive")
    );
}

#[test]
fn location_contacts_order_and_reactions() {
    let (m, meta) = one_message("inbound_location_current_forwarded");
    assert_eq!(
        m.content,
        MessageContent::Location {
            latitude: 12.25089,
            longitude: 43.90539,
            name: None,
            address: None
        }
    );
    assert!(meta.forwarded);
    assert!(
        matches!(one_message("inbound_contacts").0.content, MessageContent::Contacts { ref cards } if cards[0]["name"]["formatted_name"] == "Chandler Bing")
    );
    assert!(
        matches!(one_message("inbound_order").0.content, MessageContent::Order { ref order } if order["catalog_id"] == "354160437058781")
    );
    assert_eq!(
        one_message("inbound_reaction").0.content,
        MessageContent::Reaction {
            emoji: Some("😮".into()),
            target_external_id: "wamid.yzxyzx=".into()
        }
    );
    assert_eq!(
        one_message("inbound_reaction_removed_empty_emoji")
            .0
            .content,
        MessageContent::Reaction {
            emoji: None,
            target_external_id: "wamid.yzxyzx=".into()
        }
    );
}

#[test]
fn edits_revokes_and_number_changes() {
    let (m, meta) = one_message("inbound_edit_image_caption");
    assert!(
        meta.edits
            .as_deref()
            .is_some_and(|o| o.starts_with("wamid.HBgLMTQx"))
    );
    assert!(
        matches!(m.content, MessageContent::Media { media: MediaKind::Image, caption: Some(ref c), .. } if c == "Updated image caption")
    );
    let (_, meta) = one_message("inbound_revoke_deleted_message");
    assert_eq!(
        meta.revokes.as_deref(),
        Some("<ORIGINAL_WHATSAPP_MESSAGE_ID>")
    );
    let v = items("inbound_system_user_changed_number");
    assert!(v.iter().any(|i| matches!(i, WebhookItem::NumberChanged { old_wa_id, new_wa_id, .. } if old_wa_id == "972987654321" && new_wa_id == "972912345678")));
    assert!(
        matches!(one_message("inbound_system_user_changed_number").0.content, MessageContent::System { ref body } if body.contains("972912345678"))
    );
}

#[test]
fn unsupported_kinds_are_kept_with_their_error() {
    let (m, _) = one_message("inbound_unsupported");
    assert!(
        matches!(m.content, MessageContent::Unknown { ref channel_kind, .. } if channel_kind == "unsupported")
    );
    let (m, meta) = one_message("inbound_unsupported_131051_legacy_shape");
    assert!(matches!(m.content, MessageContent::Unknown { .. }));
    assert_eq!(meta.errors[0].code, Some(131051));
    assert_eq!(
        meta.errors[0].details.as_deref(),
        Some("Message type is not currently supported"),
        "legacy top-level details"
    );
}

#[test]
fn statuses_map_forward_and_keep_failure_and_tracker() {
    let status = |name: &str| match &items(name)[..] {
        [WebhookItem::Status(s, meta)] => (s.clone(), meta.clone()),
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(status("status_sent").0.status, DeliveryStatus::Sent);
    assert_eq!(
        status("status_delivered").0.status,
        DeliveryStatus::Delivered
    );
    assert_eq!(status("status_read").0.status, DeliveryStatus::Read);
    let (played, meta) = status("status_played");
    assert_eq!(
        (played.status, meta.wa_status.as_str()),
        (DeliveryStatus::Read, "played")
    );
    let (failed, _) = status("status_failed_130472");
    assert_eq!(failed.status, DeliveryStatus::Failed);
    let e = failed.error.unwrap();
    assert_eq!(e.code, Some(130472));
    assert!(e.details.unwrap().contains("experiment"));
    assert_eq!(
        status("status_sent_biz_opaque_callback_data")
            .1
            .biz_opaque_callback_data
            .as_deref(),
        Some("some data")
    );
    assert_eq!(status("status_sent").0.external_id, "wamid.xyzxyz");
}

#[test]
fn batches_yield_every_item() {
    let v = items("batch_two_messages_text_and_reaction");
    let kinds: Vec<&str> = v
        .iter()
        .filter_map(|i| {
            if let WebhookItem::Message(m, _) = i {
                Some(m.content.kind_name())
            } else {
                None
            }
        })
        .collect();
    assert_eq!(kinds, ["text", "reaction"]);
    let v = items("batch_two_changes_messages_and_user_preferences");
    assert_eq!(v.len(), 2);
    assert!(matches!(&v[0], WebhookItem::Message(..)));
    assert!(matches!(&v[1], WebhookItem::Other { field, .. } if field == "user_preferences"));
}

#[test]
fn other_fields_and_echoes_are_kept_not_dropped() {
    for (name, field) in [
        ("other_account_settings_update", "account_settings_update"),
        ("other_account_update_restriction", "account_update"),
        (
            "other_template_status_approved",
            "message_template_status_update",
        ),
        (
            "other_template_status_rejected",
            "message_template_status_update",
        ),
        (
            "other_user_preferences_marketing_resume",
            "user_preferences",
        ),
        (
            "other_user_preferences_marketing_signup",
            "user_preferences",
        ),
    ] {
        assert!(
            matches!(&items(name)[..], [WebhookItem::Other { field: f, value }] if f == field && value.is_object()),
            "{name}"
        );
    }
    assert!(
        matches!(&items("echo_smb_message_echo_text")[..], [WebhookItem::Echo { content: MessageContent::Text { body }, .. }] if body == "Test message")
    );
    assert!(matches!(
        &items("echo_smb_message_echo_delete")[..],
        [WebhookItem::Echo { .. }]
    ));
}

#[test]
fn raw_meta_bytes_verify_and_the_reserialized_json_does_not() {
    let body = raw("raw_inbound_image_bsuid_meta_escaping");
    let header = sign(b"app-secret", &body);
    assert_eq!(
        verify_signature(b"app-secret", &body, Some(&header)),
        Ok(())
    );
    let reserialized =
        serde_json::to_vec(&serde_json::from_slice::<Value>(&body).unwrap()).unwrap();
    assert_ne!(
        reserialized, body,
        "Meta escapes / and non-ASCII; serde_json does not"
    );
    assert!(verify_signature(b"app-secret", &reserialized, Some(&header)).is_err());
    let (m, _) = match &parse(&body, now()).unwrap()[..] {
        [WebhookItem::Message(m, meta)] => (m.clone(), meta.clone()),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        m.from.whatsapp_id.as_deref(),
        Some("PE.100000000000001"),
        "from_user_id (BSUID)"
    );
    assert_eq!(m.account_external_id, "1025723653965602");
    assert!(
        matches!(m.content, MessageContent::Media { caption: Some(ref c), url: Some(ref u), .. } if c == "Hola quiero un café" && u.contains("mid=27251809591111687"))
    );
    assert_eq!(m.sent_at.timestamp(), 1_778_766_865);
}

#[test]
fn every_fixture_parses_without_malformed_items() {
    let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "json") {
            let v = parse(&std::fs::read(&p).unwrap(), now()).unwrap();
            assert!(!v.is_empty(), "{p:?}");
            assert!(
                !v.iter().any(|i| matches!(i, WebhookItem::Malformed { .. })),
                "{p:?}: {v:?}"
            );
            n += 1;
        }
    }
    assert_eq!(n, 47);
}
