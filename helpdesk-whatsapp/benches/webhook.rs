//! Verify + parse of a typical text payload: `cargo bench -p helpdesk-whatsapp --bench webhook`.

#![allow(missing_docs, clippy::unwrap_used)]

use chrono::{TimeZone, Utc};
use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};
use helpdesk_whatsapp::webhook::{parse, sign, verify_signature};

fn bench(c: &mut Criterion) {
    let body = std::fs::read(format!(
        "{}/tests/fixtures/raw_inbound_image_bsuid_meta_escaping.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let text = std::fs::read(format!(
        "{}/tests/fixtures/inbound_text.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let mut g = c.benchmark_group("webhook");
    g.throughput(Throughput::Elements(1));
    for (name, b) in [
        ("verify_parse_text", &text),
        ("verify_parse_raw_image", &body),
    ] {
        let header = sign(b"app-secret", b);
        g.bench_function(name, |bench| {
            bench.iter(|| {
                verify_signature(b"app-secret", black_box(b), Some(&header)).unwrap();
                black_box(parse(b, now).unwrap())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
