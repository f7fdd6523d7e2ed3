//! Arbitrary bytes and mutated real payloads never panic the parser; a bad signature is
//! refused before parsing.

#![allow(clippy::unwrap_used)]

use chrono::{TimeZone, Utc};
use helpdesk_whatsapp::webhook::{WebhookItem, parse, sign, verify_signature};
use proptest::prelude::*;
use serde_json::Value;

fn fixtures() -> Vec<Vec<u8>> {
    let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    v.sort();
    v.into_iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// Replaces the value at a pseudo-random path of `v` with `with`.
fn mutate(v: &mut Value, pick: u64, with: Value) {
    let has_children = match v {
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => false,
    };
    if pick.is_multiple_of(5) || !has_children {
        *v = with;
        return;
    }
    match v {
        Value::Object(m) => {
            let k = m
                .keys()
                .nth((pick % m.len() as u64) as usize)
                .cloned()
                .unwrap();
            mutate(m.get_mut(&k).unwrap(), pick / 3, with);
        }
        Value::Array(a) => {
            let i = (pick % a.len() as u64) as usize;
            mutate(&mut a[i], pick / 3, with);
        }
        _ => *v = with,
    }
}

fn junk() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        ".{0,20}".prop_map(Value::String),
        Just(serde_json::json!([])),
        Just(serde_json::json!({})),
        Just(serde_json::json!({"type": "zzz"})),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse(&bytes, Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
    }

    #[test]
    fn mutated_fixtures_never_panic_and_keep_the_other_items(which in 0usize..47, picks in prop::collection::vec((any::<u64>(), junk()), 1..4)) {
        let all = fixtures();
        let mut v: Value = serde_json::from_slice(&all[which % all.len()]).unwrap();
        for (pick, with) in picks {
            mutate(&mut v, pick, with);
        }
        let bytes = serde_json::to_vec(&v).unwrap();
        if let Ok(items) = parse(&bytes, Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()) {
            for i in items {
                if let WebhookItem::Message(m, _) = i {
                    prop_assert!(!m.external_id.is_empty());
                }
            }
        }
    }

    #[test]
    fn a_flipped_byte_fails_the_signature(pos in any::<usize>(), bit in 0u8..8) {
        let body = fixtures()[0].clone();
        let header = sign(b"s3cret", &body);
        let mut bad = body.clone();
        let i = pos % bad.len();
        bad[i] ^= 1 << bit;
        prop_assert!(verify_signature(b"s3cret", &bad, Some(&header)).is_err());
    }
}
