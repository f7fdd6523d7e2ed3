//! SLA engine speed: `cargo bench -p helpdesk-core --bench sla`.
//!
//! The calendar is Mon–Fri 09:00–18:00 in New York (so DST transitions are crossed) with 10
//! holidays a year; starts are 1,024 instants spread over 2026, taken in turn.

#![allow(missing_docs, clippy::unwrap_used)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, black_box, criterion_group, criterion_main};
use helpdesk_core::sla::Calendar;

const CALENDAR: &str = r#"{"timezone": "America/New_York",
  "schedule": {"monday": {"start": "09:00", "end": "18:00"}, "tuesday": {"start": "09:00", "end": "18:00"},
               "wednesday": {"start": "09:00", "end": "18:00"}, "thursday": {"start": "09:00", "end": "18:00"},
               "friday": {"start": "09:00", "end": "18:00"}},
  "holidays": ["2026-01-01", "2026-01-19", "2026-02-16", "2026-05-25", "2026-07-03",
               "2026-09-07", "2026-10-12", "2026-11-11", "2026-11-26", "2026-12-25",
               {"month": 1, "day": 1}, {"month": 7, "day": 4}, {"month": 12, "day": 25},
               {"month": 11, "weekday": "thursday", "nth": 4}, {"month": 5, "weekday": "monday", "nth": -1},
               {"month": 9, "weekday": "monday", "nth": 1}, {"month": 1, "weekday": "monday", "nth": 3},
               {"month": 2, "weekday": "monday", "nth": 3}, {"month": 10, "weekday": "monday", "nth": 2},
               {"month": 11, "day": 11}]}"#;

fn starts() -> Vec<DateTime<Utc>> {
    let base = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    // A fixed linear congruential sequence: spread, repeatable, no dependency.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    (0..1024)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            base + Duration::seconds((x >> 33) as i64 % (365 * 86_400))
        })
        .collect()
}

fn bench_due(c: &mut Criterion) {
    let cal = Calendar::from_json_str(CALENDAR).unwrap();
    let starts = starts();
    // Warm the per-year caches the way a long-running service would have them.
    for s in &starts {
        cal.due(*s, 2000 * 3600).unwrap();
        cal.due_before(*s, 2000 * 3600).unwrap();
    }
    let mut g = c.benchmark_group("due");
    for hours in [8i64, 2000] {
        g.bench_with_input(
            BenchmarkId::from_parameter(format!("{hours}h")),
            &hours,
            |b, h| {
                let mut i = 0usize;
                b.iter(|| {
                    i = (i + 1) & 1023;
                    black_box(cal.due(black_box(starts[i]), h * 3600).unwrap())
                })
            },
        );
    }
    g.finish();
    c.bench_function("due_before/8h", |b| {
        let mut i = 0usize;
        b.iter(|| {
            i = (i + 1) & 1023;
            black_box(cal.due_before(black_box(starts[i]), 8 * 3600).unwrap())
        })
    });
    c.bench_function("elapsed/90d", |b| {
        let mut i = 0usize;
        b.iter(|| {
            i = (i + 1) & 1023;
            black_box(
                cal.elapsed(black_box(starts[i]), starts[i] + Duration::days(90))
                    .unwrap(),
            )
        })
    });
    c.bench_function("is_open", |b| {
        let mut i = 0usize;
        b.iter(|| {
            i = (i + 1) & 1023;
            black_box(cal.is_open(black_box(starts[i])).unwrap())
        })
    });
}

fn bench_compile(c: &mut Criterion) {
    c.bench_function("calendar/parse_and_compile", |b| {
        b.iter(|| black_box(Calendar::from_json_str(black_box(CALENDAR)).unwrap()))
    });
    let s = starts()[17];
    c.bench_function("calendar/compile_and_first_due_8h", |b| {
        b.iter(|| {
            let cal = Calendar::from_json_str(black_box(CALENDAR)).unwrap();
            black_box(cal.due(s, 8 * 3600).unwrap())
        })
    });
}

criterion_group!(benches, bench_due, bench_compile);
criterion_main!(benches);
