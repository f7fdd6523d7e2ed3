//! The SLA engine against a slow, obviously correct reference: minute by minute, each minute
//! converted to local wall-clock time with chrono-tz and checked against the spec directly.
//! Exact because every boundary in the generated calendars, and every UTC offset of the zones
//! used since 2000, falls on a whole minute, while the instants queried have any second.

#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use helpdesk_core::sla::Calendar;
use helpdesk_core::sla::spec::{
    Break, CalendarSpec, Holiday, HolidayRule, Interval, SpecialDay, merge_intervals,
};
use proptest::prelude::*;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

const ZONES: [&str; 12] = [
    "America/New_York",
    "America/Sao_Paulo",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "Pacific/Apia",
    "UTC",
    "Asia/Tehran",
    "America/Santiago",
    "Africa/Casablanca",
    "Europe/Berlin",
];

/// Local dates near interesting instants: DST changes, Apia's skipped 2011-12-30, others.
const ANCHORS: [(i32, u32, u32); 10] = [
    (2011, 12, 28),
    (2024, 3, 8),
    (2024, 10, 31),
    (2024, 4, 5),
    (2024, 10, 4),
    (2024, 9, 27),
    (2023, 3, 24),
    (2025, 2, 26),
    (2019, 11, 1),
    (2026, 12, 20),
];

struct Reference {
    spec: CalendarSpec,
    holidays: Vec<Holiday>,
    cache: RefCell<HashMap<i32, HashSet<NaiveDate>>>,
}

impl Reference {
    fn new(spec: CalendarSpec) -> Reference {
        Reference {
            holidays: spec.all_holidays(),
            spec,
            cache: RefCell::new(HashMap::new()),
        }
    }

    fn is_holiday(&self, d: NaiveDate) -> bool {
        let mut c = self.cache.borrow_mut();
        c.entry(d.year())
            .or_insert_with(|| {
                self.holidays
                    .iter()
                    .filter_map(|h| h.date_in(d.year()))
                    .collect()
            })
            .contains(&d)
    }

    /// Business time at instant `t`, straight from the definition.
    fn open(&self, t: i64) -> bool {
        let local = Utc
            .timestamp_opt(t, 0)
            .unwrap()
            .with_timezone(&self.spec.timezone)
            .naive_local();
        let (date, secs) = (local.date(), local.num_seconds_from_midnight());
        if self.is_holiday(date) {
            return false;
        }
        let special: Vec<&SpecialDay> = self
            .spec
            .special_days
            .iter()
            .filter(|s| s.date == date)
            .collect();
        let inside = |ivs: &[Interval]| ivs.iter().any(|i| i.start <= secs && secs < i.end);
        let open = if special.is_empty() {
            inside(&self.spec.week[date.weekday().num_days_from_monday() as usize])
        } else {
            special.iter().any(|s| inside(&s.intervals))
        };
        open && !self
            .spec
            .breaks
            .iter()
            .any(|b| b.date == date && b.interval.start <= secs && secs < b.interval.end)
    }

    fn elapsed(&self, a: i64, b: i64) -> i64 {
        let mut total = 0;
        let mut m = a.div_euclid(60) * 60;
        while m < b {
            let lo = m.max(a);
            let hi = (m + 60).min(b);
            if hi > lo && self.open(m) {
                total += hi - lo;
            }
            m += 60;
        }
        total
    }

    fn due(&self, s: i64, mut n: i64, max_minutes: i64) -> Option<i64> {
        if n == 0 {
            return Some(s);
        }
        let mut m = s.div_euclid(60) * 60;
        for _ in 0..max_minutes {
            if self.open(m) {
                let lo = m.max(s);
                let avail = m + 60 - lo;
                if n <= avail {
                    return Some(lo + n);
                }
                n -= avail;
            }
            m += 60;
        }
        None
    }

    fn due_before(&self, e: i64, mut n: i64, max_minutes: i64) -> Option<i64> {
        if n == 0 {
            return Some(e);
        }
        let mut m = (e - 1).div_euclid(60) * 60;
        for _ in 0..max_minutes {
            if self.open(m) {
                let hi = (m + 60).min(e);
                let avail = hi - m;
                if n <= avail {
                    return Some(hi - n);
                }
                n -= avail;
            }
            m -= 60;
        }
        None
    }
}

fn interval() -> impl Strategy<Value = Interval> {
    // Minute-aligned, biased toward the small hours where DST changes happen, and toward 24:00.
    (0u32..=1440, 1u32..=600, any::<bool>()).prop_map(|(start_min, len, night)| {
        let start = if night {
            (start_min % 240) * 60
        } else {
            start_min.min(1439) * 60
        };
        let end = (start + len * 60).min(86_400);
        Interval::new(start, end.max(start + 60)).unwrap_or(Interval {
            start: 0,
            end: 86_400,
        })
    })
}

fn day() -> impl Strategy<Value = Vec<Interval>> {
    prop_oneof![
        1 => Just(vec![]),
        4 => prop::collection::vec(interval(), 1..3).prop_map(merge_intervals),
        1 => Just(vec![Interval { start: 0, end: 86_400 }]),
    ]
}

fn calendar(anchor: NaiveDate) -> impl Strategy<Value = CalendarSpec> {
    let date_near = move || (-20i64..60).prop_map(move |d| anchor + chrono::Duration::days(d));
    (
        prop::sample::select(ZONES.to_vec()),
        prop::array::uniform7(day()),
        prop::collection::vec(date_near(), 0..6),
        prop::collection::vec((date_near(), interval()), 0..4),
        prop::collection::vec((date_near(), day()), 0..3),
        prop::collection::vec(
            prop_oneof![
                (-60i32..70).prop_map(|o| HolidayRule::Easter { offset: o }),
                (1u32..=12, 1u32..=28).prop_map(|(month, day)| HolidayRule::Fixed { month, day }),
                (
                    1u32..=12,
                    0u8..7,
                    prop::sample::select(vec![1i8, 2, 3, 4, -1])
                )
                    .prop_map(|(month, w, nth)| HolidayRule::NthWeekday {
                        month,
                        weekday: Weekday::try_from(w).unwrap(),
                        nth
                    }),
            ],
            0..3,
        ),
    )
        .prop_map(|(zone, week, dates, breaks, specials, rules)| {
            let mut holidays: Vec<Holiday> = dates
                .into_iter()
                .map(|d| Holiday {
                    rule: HolidayRule::Date(d),
                    name: None,
                    from_year: None,
                    until_year: None,
                })
                .collect();
            holidays.extend(rules.into_iter().map(|rule| Holiday {
                rule,
                name: None,
                from_year: None,
                until_year: None,
            }));
            CalendarSpec {
                timezone: zone.parse::<Tz>().unwrap(),
                week,
                holidays,
                presets: vec![],
                breaks: breaks
                    .into_iter()
                    .map(|(date, interval)| Break { date, interval })
                    .collect(),
                special_days: specials
                    .into_iter()
                    .map(|(date, intervals)| SpecialDay { date, intervals })
                    .collect(),
            }
        })
        .prop_filter("needs some weekly hours", |s| {
            s.week
                .iter()
                .flatten()
                .map(|i| i.end - i.start)
                .sum::<u32>()
                >= 3 * 3600
        })
}

fn case() -> impl Strategy<Value = (CalendarSpec, i64, i64)> {
    prop::sample::select(ANCHORS.to_vec()).prop_flat_map(|(y, m, d)| {
        let anchor = NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let base = anchor.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp();
        let n = prop_oneof![
            Just(0i64),
            Just(1i64),
            Just(60),
            Just(3600),
            1i64..=300 * 3600,
            (1i64..=300).prop_map(|h| h * 3600)
        ];
        (calendar(anchor), base - 2 * 86_400..base + 20 * 86_400, n)
    })
}

fn iso(t: i64) -> String {
    DateTime::<Utc>::from_timestamp(t, 0).unwrap().to_rfc3339()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, max_shrink_iters: 2000, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_the_minute_stepping_reference((spec, start, n) in case()) {
        let cal = Calendar::new(spec.clone()).unwrap();
        let r = Reference::new(spec);
        let limit = 60 * 24 * 366 * 3;
        // is_open and next_open around the start.
        for dt in [0i64, 1, 59, 61, 1800, 3599, 7200, 86_399] {
            let t = start + dt;
            prop_assert_eq!(cal.is_open_secs(t).unwrap(), r.open(t), "is_open at {}", iso(t));
        }
        let no = cal.next_open_secs(start).unwrap();
        prop_assert_eq!(Some(no), if r.open(start) { Some(start) } else { r.due(start, 1, limit).map(|x| x - 1) }, "next_open from {}", iso(start));
        // due forward, against the reference and against elapsed.
        let due = cal.due_secs(start, n);
        let want = r.due(start, n, limit);
        prop_assert_eq!(due.as_ref().ok().copied(), want, "due({}, {}) = {:?}", iso(start), n, due.as_ref().map(|t| iso(*t)));
        let due = due.unwrap();
        prop_assert_eq!(cal.elapsed_secs(start, due).unwrap(), n, "elapsed(s, due(s, n)) == n");
        prop_assert_eq!(r.elapsed(start, due), n, "reference agrees on elapsed");
        // due_before from the due time, against the reference.
        let back = cal.due_before_secs(due, n).unwrap();
        prop_assert_eq!(Some(back), r.due_before(due, n, limit), "due_before({}, {})", iso(due), n);
        prop_assert!(back >= start, "going back n from due(s, n) never passes s");
        // elapsed over an arbitrary window.
        let end = start + (n % (9 * 86_400)) + 7;
        prop_assert_eq!(cal.elapsed_secs(start, end).unwrap(), r.elapsed(start, end), "elapsed({}, {})", iso(start), iso(end));
        prop_assert_eq!(cal.elapsed_secs(end, start).unwrap(), 0, "elapsed is 0 when b <= a");
    }

    #[test]
    fn due_is_monotonic_in_target_and_start((spec, start, n) in case(), dn in 0i64..50_000, ds in 0i64..200_000) {
        let cal = Calendar::new(spec).unwrap();
        let a = cal.due_secs(start, n).unwrap();
        prop_assert!(cal.due_secs(start, n + dn).unwrap() >= a, "monotonic in n");
        prop_assert!(cal.due_secs(start + ds, n).unwrap() >= a, "monotonic in s");
        prop_assert!(cal.due_before_secs(start + ds, n).unwrap() >= cal.due_before_secs(start, n).unwrap(), "due_before monotonic in e");
    }
}

#[test]
fn starts_inside_skipped_and_repeated_hours() {
    // New York: 2024-03-10 02:30 local does not exist; 2024-11-03 01:30 happens twice.
    let cal = Calendar::from_json_str(r#"{"timezone": "America/New_York", "schedule": {"sunday": {"start": "00:00", "end": "24:00"}}}"#).unwrap();
    let r = Reference::new(cal.spec().clone());
    for s in [
        "2024-03-10T06:59:30Z",
        "2024-03-10T07:00:00Z",
        "2024-11-03T05:30:00Z",
        "2024-11-03T06:30:00Z",
    ] {
        let s = DateTime::parse_from_rfc3339(s).unwrap().timestamp();
        for n in [0, 1, 1800, 3600, 5400, 20 * 3600] {
            assert_eq!(
                Some(cal.due_secs(s, n).unwrap()),
                r.due(s, n, 60 * 24 * 400),
                "due({}, {n})",
                iso(s)
            );
        }
    }
    // The fall-back Sunday has 25 business hours, the spring-forward one 23.
    let day = |d: &str| {
        let tz: Tz = "America/New_York".parse().unwrap();
        let date = NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
        let a = tz
            .from_local_datetime(&date.and_hms_opt(0, 0, 0).unwrap())
            .earliest()
            .unwrap()
            .timestamp();
        let b = tz
            .from_local_datetime(
                &(date + chrono::Duration::days(1))
                    .and_hms_opt(0, 0, 0)
                    .unwrap(),
            )
            .earliest()
            .unwrap()
            .timestamp();
        cal.elapsed_secs(a, b).unwrap()
    };
    assert_eq!(day("2024-11-03"), 25 * 3600);
    assert_eq!(day("2024-03-10"), 23 * 3600);
}

#[test]
fn apia_skipped_day_has_no_business_time() {
    // Samoa skipped 2011-12-30 entirely (UTC-10 to UTC+14).
    let cal = Calendar::from_json_str(r#"{"timezone": "Pacific/Apia", "schedule": {
        "thursday": {"start": "09:00", "end": "17:00"}, "friday": {"start": "09:00", "end": "17:00"},
        "saturday": {"start": "09:00", "end": "17:00"}}}"#).unwrap();
    let thu_open = DateTime::parse_from_rfc3339("2011-12-29T09:00:00-10:00")
        .unwrap()
        .timestamp();
    // 8 h on Thursday the 29th, Friday the 30th does not exist, so the next 8 h are Saturday the 31st.
    let due = cal.due_secs(thu_open, 16 * 3600).unwrap();
    assert_eq!(iso(due), "2011-12-31T03:00:00+00:00"); // Saturday 17:00 at UTC+14
}
