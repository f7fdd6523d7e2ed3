//! The compiled business-hours calendar and its arithmetic.
//!
//! # Semantics (the contract every caller and store relies on)
//!
//! An instant is business time iff its local date is not a holiday, and its local wall-clock
//! time lies in one of that date's open intervals (the special-day hours for that date if any,
//! else the weekday's) and in no break of that date. Membership is by wall clock: an hour
//! repeated by a DST fall-back counts twice, an hour skipped by spring-forward does not exist.
//!
//! * `elapsed(a, b)`: business seconds in `[a, b)`; 0 when `b <= a`.
//! * `due(s, n)`: the earliest `t >= s` with `elapsed(s, t) >= n`. `n = 0` gives `s`, and a due
//!   time may be exactly an interval's end (08:00 of work from Monday 09:00 on a 09-17
//!   calendar is Monday 17:00, not Tuesday 09:00).
//! * `due_before(e, n)`: the latest `t <= e` with `elapsed(t, e) >= n`; `n = 0` gives `e`.
//! * `next_open(t)`: the earliest business instant `>= t`.
//!
//! Business-time engines often resolve DST-skipped interval bounds by moving them an hour, and
//! snap exact fits and `n = 0` to the next opening; we deliberately do neither.
//!
//! Resolution is one second: sub-second parts of inputs are dropped.
//!
//! # How it stays fast
//!
//! Time is cut into segments of constant UTC offset (found lazily per year and cached). Inside
//! a segment local time is UTC plus a constant, so the work is pure local-calendar arithmetic:
//! whole weeks are counted by multiplication, weekday remainders by prefix sums, and the days
//! that differ from their weekday (holidays, breaks, special days) by per-year prefix sums of
//! their differences. Cost grows with neither the target's length nor the number of holidays.

use super::spec::{CalendarSpec, Holiday, Interval};
use crate::{Error, Result};
use chrono::{DateTime, Datelike, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

const DAY: i64 = 86_400;
/// First year the engine computes in.
pub const MIN_YEAR: i32 = 1900;
/// Last year the engine computes in.
pub const MAX_YEAR: i32 = 2299;
/// Probe step when looking for UTC-offset transitions. Two transitions closer than this would
/// be seen as one; no zone in the tz database since 1970 has that.
const PROBE: i64 = 7 * DAY;

#[derive(Debug, Clone, Default)]
struct DayPlan {
    ivs: Box<[(u32, u32)]>,
    total: u32,
}

impl DayPlan {
    fn new(ivs: &[Interval]) -> DayPlan {
        let ivs: Box<[(u32, u32)]> = ivs.iter().map(|i| (i.start, i.end)).collect();
        let total = ivs.iter().map(|(a, b)| b - a).sum();
        DayPlan { ivs, total }
    }
}

#[derive(Debug)]
struct YearData {
    /// Local days of this local year that differ from their weekday's plan, sorted.
    ex_days: Vec<i64>,
    ex_plans: Vec<DayPlan>,
    /// `ex_prefix[i]` = sum of (exception total - weekday total) over `ex_days[..i]`.
    ex_prefix: Vec<i64>,
    /// UTC instants in this UTC year where the offset changes, sorted.
    transitions: Vec<i64>,
}

#[derive(Debug)]
struct Inner {
    spec: CalendarSpec,
    week: [DayPlan; 7],
    week_total: i64,
    /// Prefix sums over two weeks of weekday totals, Monday first.
    week_prefix: [i64; 15],
    holidays: Vec<Holiday>,
    breaks: BTreeMap<i64, Vec<Interval>>,
    specials: BTreeMap<i64, Vec<Interval>>,
    years: Vec<OnceLock<YearData>>,
    min_day: i64,
    max_day: i64,
}

/// A compiled calendar. Cheap to clone (shared), `Send + Sync`; per-year data is computed on
/// first use and cached.
#[derive(Debug, Clone)]
pub struct Calendar {
    inner: Arc<Inner>,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Year of a day number (days since 1970-01-01).
fn year_of_day(z: i64) -> i32 {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2)) as i32
}

fn weekday_index(day: i64) -> usize {
    (day + 3).rem_euclid(7) as usize
}

fn date_day(d: NaiveDate) -> i64 {
    days_from_civil(d.year(), d.month(), d.day())
}

/// Removes `cut` from sorted, disjoint `ivs`.
fn subtract(ivs: &[Interval], cut: &Interval) -> Vec<Interval> {
    let mut out = Vec::with_capacity(ivs.len() + 1);
    for i in ivs {
        if cut.end <= i.start || cut.start >= i.end {
            out.push(*i);
            continue;
        }
        if cut.start > i.start {
            out.push(Interval {
                start: i.start,
                end: cut.start,
            });
        }
        if cut.end < i.end {
            out.push(Interval {
                start: cut.end,
                end: i.end,
            });
        }
    }
    out
}

impl Calendar {
    /// Compiles a spec. A calendar with no open hour in its week and no special day with
    /// hours is refused ([`Error::NoBusinessTime`]): every computation on it would fail.
    pub fn new(spec: CalendarSpec) -> Result<Calendar> {
        // A preset set in code (the JSON form is checked when parsed) must exist too: an
        // unknown one would silently leave its holidays open.
        for (i, p) in spec.presets.iter().enumerate() {
            super::spec::check_preset(format!("holiday_presets[{i}]"), p)?;
        }
        let week: [DayPlan; 7] = std::array::from_fn(|i| DayPlan::new(&spec.week[i]));
        let week_total: i64 = week.iter().map(|p| i64::from(p.total)).sum();
        if week_total == 0 && spec.special_days.iter().all(|s| s.intervals.is_empty()) {
            return Err(Error::NoBusinessTime(
                "in any week: the schedule has no open interval".into(),
            ));
        }
        let mut week_prefix = [0i64; 15];
        for i in 0..14 {
            week_prefix[i + 1] = week_prefix[i] + i64::from(week[i % 7].total);
        }
        let mut breaks: BTreeMap<i64, Vec<Interval>> = BTreeMap::new();
        for b in &spec.breaks {
            breaks.entry(date_day(b.date)).or_default().push(b.interval);
        }
        let mut specials: BTreeMap<i64, Vec<Interval>> = BTreeMap::new();
        for s in &spec.special_days {
            let e = specials.entry(date_day(s.date)).or_default();
            e.extend(s.intervals.iter().copied());
            *e = super::spec::merge_intervals(std::mem::take(e));
        }
        let holidays = spec.all_holidays();
        let years = (MIN_YEAR..=MAX_YEAR).map(|_| OnceLock::new()).collect();
        Ok(Calendar {
            inner: Arc::new(Inner {
                week,
                week_total,
                week_prefix,
                holidays,
                breaks,
                specials,
                years,
                min_day: days_from_civil(MIN_YEAR, 1, 2),
                max_day: days_from_civil(MAX_YEAR, 12, 30),
                spec,
            }),
        })
    }

    /// Parses and compiles the JSON form.
    pub fn from_json_str(s: &str) -> Result<Calendar> {
        Calendar::new(CalendarSpec::from_json_str(s)?)
    }

    /// Always open (24 × 7, no holidays).
    pub fn always_open() -> Calendar {
        Calendar::new(CalendarSpec::always_open())
            .unwrap_or_else(|_| unreachable!("24x7 has hours"))
    }

    /// The spec this calendar was compiled from.
    pub fn spec(&self) -> &CalendarSpec {
        &self.inner.spec
    }

    /// The calendar's time zone.
    pub fn timezone(&self) -> Tz {
        self.inner.spec.timezone
    }

    /// Open seconds in a week without exceptions.
    pub fn weekly_seconds(&self) -> i64 {
        self.inner.week_total
    }

    fn year_data(&self, y: i32) -> Result<&YearData> {
        if !(MIN_YEAR..=MAX_YEAR).contains(&y) {
            return Err(out_of_range());
        }
        Ok(self.inner.years[(y - MIN_YEAR) as usize].get_or_init(|| self.build_year(y)))
    }

    fn build_year(&self, y: i32) -> YearData {
        let inner = &*self.inner;
        let first = days_from_civil(y, 1, 1);
        let next = days_from_civil(y + 1, 1, 1);
        let mut days: Vec<i64> = inner
            .holidays
            .iter()
            .filter_map(|h| h.date_in(y))
            .map(date_day)
            .collect();
        days.extend(inner.breaks.range(first..next).map(|(d, _)| *d));
        days.extend(inner.specials.range(first..next).map(|(d, _)| *d));
        days.sort_unstable();
        days.dedup();
        let holidays: Vec<i64> = inner
            .holidays
            .iter()
            .filter_map(|h| h.date_in(y))
            .map(date_day)
            .collect();
        let mut ex_plans = Vec::with_capacity(days.len());
        let mut ex_prefix = Vec::with_capacity(days.len() + 1);
        ex_prefix.push(0);
        for &d in &days {
            let plan = if holidays.contains(&d) {
                DayPlan::default()
            } else {
                let base: Vec<Interval> = match inner.specials.get(&d) {
                    Some(s) => s.clone(),
                    None => inner.spec.week[weekday_index(d)].clone(),
                };
                let cut = inner.breaks.get(&d).map_or(base.clone(), |bs| {
                    bs.iter().fold(base, |acc, b| subtract(&acc, b))
                });
                DayPlan::new(&cut)
            };
            let delta = i64::from(plan.total) - i64::from(inner.week[weekday_index(d)].total);
            ex_prefix.push(ex_prefix.last().copied().unwrap_or(0) + delta);
            ex_plans.push(plan);
        }
        YearData {
            ex_days: days,
            ex_plans,
            ex_prefix,
            transitions: self.find_transitions(first * DAY, next * DAY),
        }
    }

    fn find_transitions(&self, start: i64, end: i64) -> Vec<i64> {
        let mut out = Vec::new();
        let mut cur = start;
        let mut prev = self.offset(cur);
        while cur < end {
            let p = (cur + PROBE).min(end);
            if self.offset(p) == prev {
                cur = p;
                continue;
            }
            let (mut lo, mut hi) = (cur, p);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if self.offset(mid) == prev {
                    lo = mid
                } else {
                    hi = mid
                }
            }
            if hi < end {
                out.push(hi);
            }
            prev = self.offset(hi);
            cur = hi;
        }
        out
    }

    /// UTC offset (seconds east) at instant `u`.
    fn offset(&self, u: i64) -> i64 {
        let ndt = DateTime::<Utc>::from_timestamp(u, 0)
            .map(|d| d.naive_utc())
            .unwrap_or_default();
        i64::from(
            self.inner
                .spec
                .timezone
                .offset_from_utc_datetime(&ndt)
                .fix()
                .local_minus_utc(),
        )
    }

    fn check(&self, u: i64) -> Result<()> {
        let d = u.div_euclid(DAY);
        if d < self.inner.min_day + 1 || d > self.inner.max_day - 1 {
            Err(out_of_range())
        } else {
            Ok(())
        }
    }

    /// First instant after `u` where the offset may change: the next transition or the next
    /// UTC new year, whichever is first.
    fn segment_end(&self, u: i64) -> Result<i64> {
        let y = year_of_day(u.div_euclid(DAY));
        let yd = self.year_data(y)?;
        let i = yd.transitions.partition_point(|t| *t <= u);
        Ok(yd
            .transitions
            .get(i)
            .copied()
            .unwrap_or(days_from_civil(y + 1, 1, 1) * DAY))
    }

    /// Start of the constant-offset segment holding `u`.
    fn segment_start(&self, u: i64) -> Result<i64> {
        let y = year_of_day(u.div_euclid(DAY));
        let yd = self.year_data(y)?;
        let i = yd.transitions.partition_point(|t| *t <= u);
        Ok(if i == 0 {
            days_from_civil(y, 1, 1) * DAY
        } else {
            yd.transitions[i - 1]
        })
    }

    fn plan(&self, d: i64) -> Result<&DayPlan> {
        let yd = self.year_data(year_of_day(d))?;
        Ok(match yd.ex_days.binary_search(&d) {
            Ok(i) => &yd.ex_plans[i],
            Err(_) => &self.inner.week[weekday_index(d)],
        })
    }

    /// Business seconds of whole local days `[d1, d2)`.
    fn full_days(&self, d1: i64, d2: i64) -> Result<i64> {
        if d2 <= d1 {
            return Ok(0);
        }
        let inner = &*self.inner;
        let n = d2 - d1;
        let wd = weekday_index(d1);
        let rem = (n % 7) as usize;
        let mut sum =
            (n / 7) * inner.week_total + inner.week_prefix[wd + rem] - inner.week_prefix[wd];
        for y in year_of_day(d1)..=year_of_day(d2 - 1) {
            let yd = self.year_data(y)?;
            let i = yd.ex_days.partition_point(|x| *x < d1);
            let j = yd.ex_days.partition_point(|x| *x < d2);
            sum += yd.ex_prefix[j] - yd.ex_prefix[i];
        }
        Ok(sum)
    }

    /// Business seconds of local wall time in `[la, lb)`.
    fn local_elapsed(&self, la: i64, lb: i64) -> Result<i64> {
        if lb <= la {
            return Ok(0);
        }
        let part = |d: i64, s: u32, e: u32| -> Result<i64> {
            Ok(self
                .plan(d)?
                .ivs
                .iter()
                .map(|&(a, b)| i64::from(b.min(e).saturating_sub(a.max(s))))
                .sum())
        };
        let (d1, s1) = (la.div_euclid(DAY), la.rem_euclid(DAY) as u32);
        let (d2, s2) = (lb.div_euclid(DAY), lb.rem_euclid(DAY) as u32);
        if d1 == d2 {
            return part(d1, s1, s2);
        }
        Ok(part(d1, s1, DAY as u32)? + self.full_days(d1 + 1, d2)? + part(d2, 0, s2)?)
    }

    /// Earliest local `L >= la` with `local_elapsed(la, L) >= r`.
    fn local_due(&self, la: i64, mut r: i64) -> Result<i64> {
        if r <= 0 {
            return Ok(la);
        }
        let inner = &*self.inner;
        let mut d = la.div_euclid(DAY);
        let s = la.rem_euclid(DAY) as u32;
        for &(a, b) in self.plan(d)?.ivs.iter() {
            let lo = a.max(s);
            if lo < b {
                let avail = i64::from(b - lo);
                if r <= avail {
                    return Ok(d * DAY + i64::from(lo) + r);
                }
                r -= avail;
            }
        }
        d += 1;
        let w = inner.week_total;
        loop {
            if d > inner.max_day {
                return Err(no_time_until());
            }
            if w > 0 && r > w {
                // Skip whole weeks that cannot reach the target; halve the jump if exceptions
                // with extra hours would overshoot.
                let mut k = ((r - 1) / w).min((inner.max_day - d) / 7);
                while k > 0 {
                    let c = self.full_days(d, d + 7 * k)?;
                    if c < r {
                        r -= c;
                        d += 7 * k;
                        break;
                    }
                    k /= 2;
                }
            }
            let plan = self.plan(d)?;
            if r <= i64::from(plan.total) {
                for &(a, b) in plan.ivs.iter() {
                    let avail = i64::from(b - a);
                    if r <= avail {
                        return Ok(d * DAY + i64::from(a) + r);
                    }
                    r -= avail;
                }
            }
            r -= i64::from(plan.total);
            d += 1;
            if w == 0 {
                d = self.next_day_with_time(d)?;
            }
        }
    }

    /// Latest local `L <= lb` with `local_elapsed(L, lb) >= r`.
    fn local_due_before(&self, lb: i64, mut r: i64) -> Result<i64> {
        if r <= 0 {
            return Ok(lb);
        }
        let inner = &*self.inner;
        let mut d = lb.div_euclid(DAY);
        let e = lb.rem_euclid(DAY) as u32;
        for &(a, b) in self.plan(d)?.ivs.iter().rev() {
            let hi = b.min(e);
            if a < hi {
                let avail = i64::from(hi - a);
                if r <= avail {
                    return Ok(d * DAY + i64::from(hi) - r);
                }
                r -= avail;
            }
        }
        d -= 1;
        let w = inner.week_total;
        loop {
            if d < inner.min_day {
                return Err(no_time_before());
            }
            if w > 0 && r > w {
                let mut k = ((r - 1) / w).min((d - inner.min_day) / 7);
                while k > 0 {
                    let c = self.full_days(d + 1 - 7 * k, d + 1)?;
                    if c < r {
                        r -= c;
                        d -= 7 * k;
                        break;
                    }
                    k /= 2;
                }
            }
            let plan = self.plan(d)?;
            if r <= i64::from(plan.total) {
                for &(a, b) in plan.ivs.iter().rev() {
                    let avail = i64::from(b - a);
                    if r <= avail {
                        return Ok(d * DAY + i64::from(b) - r);
                    }
                    r -= avail;
                }
            }
            r -= i64::from(plan.total);
            d -= 1;
            if w == 0 {
                d = self.prev_day_with_time(d)?;
            }
        }
    }

    /// First day `>= d` with open hours, for calendars whose weekly schedule is empty.
    fn next_day_with_time(&self, d: i64) -> Result<i64> {
        for y in year_of_day(d)..=MAX_YEAR {
            let yd = self.year_data(y)?;
            let i = yd.ex_days.partition_point(|x| *x < d);
            if let Some(k) = (i..yd.ex_days.len()).find(|k| yd.ex_plans[*k].total > 0) {
                return Ok(yd.ex_days[k]);
            }
        }
        Err(no_time_until())
    }

    /// Last day `<= d` with open hours, for calendars whose weekly schedule is empty.
    fn prev_day_with_time(&self, d: i64) -> Result<i64> {
        for y in (MIN_YEAR..=year_of_day(d)).rev() {
            let yd = self.year_data(y)?;
            let i = yd.ex_days.partition_point(|x| *x <= d);
            if let Some(k) = (0..i).rev().find(|k| yd.ex_plans[*k].total > 0) {
                return Ok(yd.ex_days[k]);
            }
        }
        Err(no_time_before())
    }

    /// Whether instant `t` (unix seconds) is business time.
    pub fn is_open_secs(&self, t: i64) -> Result<bool> {
        self.check(t)?;
        let l = t + self.offset(t);
        let s = l.rem_euclid(DAY) as u32;
        Ok(self
            .plan(l.div_euclid(DAY))?
            .ivs
            .iter()
            .any(|&(a, b)| a <= s && s < b))
    }

    /// Business seconds in `[a, b)` (unix seconds); 0 when `b <= a`.
    pub fn elapsed_secs(&self, a: i64, b: i64) -> Result<i64> {
        if b <= a {
            return Ok(0);
        }
        self.check(a)?;
        self.check(b)?;
        let mut u = a;
        let mut total = 0;
        while u < b {
            let o = self.offset(u);
            let end = self.segment_end(u)?.min(b);
            total += self.local_elapsed(u + o, end + o)?;
            u = end;
        }
        Ok(total)
    }

    /// Earliest `t >= s` with `elapsed(s, t) >= n` (unix seconds).
    pub fn due_secs(&self, s: i64, n: i64) -> Result<i64> {
        if n < 0 {
            return Err(Error::invalid("business_seconds", "must not be negative"));
        }
        self.check(s)?;
        let mut u = s;
        let mut r = n;
        loop {
            let o = self.offset(u);
            let end = self.segment_end(u)?;
            let avail = self.local_elapsed(u + o, end + o)?;
            if r <= avail {
                return Ok(self.local_due(u + o, r)? - o);
            }
            r -= avail;
            u = end;
            self.check(u).map_err(|_| no_time_until())?;
        }
    }

    /// Latest `t <= e` with `elapsed(t, e) >= n` (unix seconds).
    pub fn due_before_secs(&self, e: i64, n: i64) -> Result<i64> {
        if n < 0 {
            return Err(Error::invalid("business_seconds", "must not be negative"));
        }
        self.check(e)?;
        let mut u = e;
        let mut r = n;
        loop {
            let start = self.segment_start(u - 1)?;
            let o = self.offset(u - 1);
            let avail = self.local_elapsed(start + o, u + o)?;
            if r <= avail {
                return Ok(self.local_due_before(u + o, r)? - o);
            }
            r -= avail;
            u = start;
            self.check(u).map_err(|_| no_time_before())?;
        }
    }

    /// Earliest business instant `>= t` (unix seconds).
    pub fn next_open_secs(&self, t: i64) -> Result<i64> {
        if self.is_open_secs(t)? {
            return Ok(t);
        }
        // Boundaries are whole seconds: the second that completes one business second
        // started at the first business instant.
        Ok(self.due_secs(t, 1)? - 1)
    }

    /// Whether `t` is business time.
    pub fn is_open(&self, t: DateTime<Utc>) -> Result<bool> {
        self.is_open_secs(t.timestamp())
    }

    /// Business seconds in `[a, b)`.
    pub fn elapsed(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Result<i64> {
        self.elapsed_secs(a.timestamp(), b.timestamp())
    }

    /// Earliest `t >= s` with `n` business seconds in `[s, t)`.
    pub fn due(&self, s: DateTime<Utc>, n: i64) -> Result<DateTime<Utc>> {
        to_dt(self.due_secs(s.timestamp(), n)?)
    }

    /// Latest `t <= e` with `n` business seconds in `[t, e)`.
    pub fn due_before(&self, e: DateTime<Utc>, n: i64) -> Result<DateTime<Utc>> {
        to_dt(self.due_before_secs(e.timestamp(), n)?)
    }

    /// Earliest business instant `>= t`.
    pub fn next_open(&self, t: DateTime<Utc>) -> Result<DateTime<Utc>> {
        to_dt(self.next_open_secs(t.timestamp())?)
    }
}

fn to_dt(s: i64) -> Result<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp(s, 0).ok_or_else(out_of_range)
}

fn out_of_range() -> Error {
    Error::invalid(
        "instant",
        format!("outside the supported years {MIN_YEAR}-{MAX_YEAR}"),
    )
}

fn no_time_until() -> Error {
    Error::NoBusinessTime(format!("before the end of {MAX_YEAR}"))
}

fn no_time_before() -> Error {
    Error::NoBusinessTime(format!("after the start of {MIN_YEAR}"))
}

/// Compiles `spec` (or the 24 × 7 calendar for `None`) once per process and shares it: the
/// service asks for a policy's calendar on every ticket change. The cache keeps at most 1,024
/// distinct calendars and starts over when full.
pub fn cached(spec: Option<&CalendarSpec>) -> Result<Calendar> {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static ALWAYS: OnceLock<Calendar> = OnceLock::new();
    static CACHE: OnceLock<Mutex<HashMap<String, Calendar>>> = OnceLock::new();
    let Some(spec) = spec else {
        return Ok(ALWAYS.get_or_init(Calendar::always_open).clone());
    };
    let key = spec.to_json().to_string();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(c) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return Ok(c.clone());
    }
    let cal = Calendar::new(spec.clone())?;
    let mut g = cache.lock().unwrap_or_else(|p| p.into_inner());
    if g.len() >= 1024 {
        g.clear();
    }
    g.insert(key, cal.clone());
    Ok(cal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn ny() -> Calendar {
        Calendar::from_json_str(r#"{"timezone": "America/New_York", "schedule": {
            "monday": {"start": "09:00", "end": "18:00"}, "tuesday": {"start": "09:00", "end": "18:00"},
            "wednesday": {"start": "09:00", "end": "18:00"}, "thursday": {"start": "09:00", "end": "18:00"},
            "friday": {"start": "09:00", "end": "17:00"}}, "holidays": ["2024-12-25"]}"#).unwrap()
    }

    #[test]
    fn civil_day_conversions_agree_with_chrono() {
        for (y, m, d) in [
            (1970, 1, 1),
            (2000, 2, 29),
            (1900, 3, 1),
            (2299, 12, 31),
            (2024, 12, 31),
        ] {
            let n = days_from_civil(y, m, d);
            let c = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            assert_eq!(
                n,
                (c - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days()
            );
            assert_eq!(year_of_day(n), y);
            assert_eq!(
                weekday_index(n),
                c.weekday().num_days_from_monday() as usize
            );
        }
    }

    #[test]
    fn friday_afternoon_plus_two_hours_lands_monday_after_dst_change() {
        // Friday 2024-03-08 16:30 EST; DST starts Sunday 2024-03-10. Friday closes at 17:00,
        // so 30 min on Friday and 90 min on Monday: 10:30 EDT = 14:30Z.
        let c = ny();
        assert_eq!(
            c.due(t("2024-03-08T21:30:00Z"), 7200).unwrap(),
            t("2024-03-11T14:30:00Z")
        );
        assert_eq!(
            c.elapsed(t("2024-03-08T21:30:00Z"), t("2024-03-11T14:30:00Z"))
                .unwrap(),
            7200
        );
    }

    #[test]
    fn exact_fit_ends_at_the_interval_end_and_zero_is_the_start() {
        let c = ny();
        // Monday 2024-03-04 09:00 EST = 14:00Z; 9 hours is the whole day -> 18:00 EST = 23:00Z.
        assert_eq!(
            c.due(t("2024-03-04T14:00:00Z"), 9 * 3600).unwrap(),
            t("2024-03-04T23:00:00Z")
        );
        // n = 0 returns the start even when closed.
        assert_eq!(
            c.due(t("2024-03-03T05:00:00Z"), 0).unwrap(),
            t("2024-03-03T05:00:00Z")
        );
        assert_eq!(
            c.due_before(t("2024-03-03T05:00:00Z"), 0).unwrap(),
            t("2024-03-03T05:00:00Z")
        );
        // Backward exact fit: 9 hours before Monday 18:00 is Monday 09:00.
        assert_eq!(
            c.due_before(t("2024-03-04T23:00:00Z"), 9 * 3600).unwrap(),
            t("2024-03-04T14:00:00Z")
        );
    }

    #[test]
    fn holidays_are_skipped_and_next_open_finds_the_opening() {
        let c = ny();
        // Tuesday 2024-12-24 17:00 EST + 2h: 1h on the 24th, 25th is a holiday, 1h on the 26th.
        assert_eq!(
            c.due(t("2024-12-24T22:00:00Z"), 7200).unwrap(),
            t("2024-12-26T15:00:00Z")
        );
        assert!(!c.is_open(t("2024-12-25T15:00:00Z")).unwrap());
        assert_eq!(
            c.next_open(t("2024-12-25T15:00:00Z")).unwrap(),
            t("2024-12-26T14:00:00Z")
        );
        assert_eq!(
            c.next_open(t("2024-12-26T15:00:00Z")).unwrap(),
            t("2024-12-26T15:00:00Z")
        );
    }

    #[test]
    fn long_targets_jump_weeks() {
        let c = ny();
        // 44 business hours a week; 2,000 hours from a Monday opening with one holiday inside.
        let s = t("2024-01-01T14:00:00Z");
        let due = c.due(s, 2000 * 3600).unwrap();
        assert_eq!(c.elapsed(s, due).unwrap(), 2000 * 3600);
        assert_eq!(c.due_before(due, 2000 * 3600).unwrap(), s);
    }

    #[test]
    fn never_open_calendar_is_refused_and_out_of_range_is_an_error() {
        let e = Calendar::from_json_str(r#"{"timezone": "UTC", "schedule": {}}"#).unwrap_err();
        assert!(matches!(e, Error::NoBusinessTime(_)));
        let c = ny();
        assert!(c.due(t("2299-12-29T00:00:00Z"), 1_000_000).is_err());
        assert!(c.is_open(t("1800-01-01T00:00:00Z")).is_err());
    }

    #[test]
    fn only_special_days_open_works_without_a_week() {
        let c = Calendar::from_json_str(
            r#"{"timezone": "UTC", "special_days": [
            {"date": "2030-05-01", "start": "10:00", "end": "11:00"}]}"#,
        )
        .unwrap();
        assert_eq!(
            c.due(t("2024-01-01T00:00:00Z"), 1800).unwrap(),
            t("2030-05-01T10:30:00Z")
        );
        assert_eq!(
            c.due_before(t("2040-01-01T00:00:00Z"), 1800).unwrap(),
            t("2030-05-01T10:30:00Z")
        );
        assert!(c.due(t("2031-01-01T00:00:00Z"), 1).is_err());
    }

    #[test]
    fn fall_back_hour_counts_twice_and_spring_gap_does_not_exist() {
        // Open 01:00-03:00 every day in New York.
        let c = Calendar::from_json_str(
            r#"{"timezone": "America/New_York", "schedule": {
            "sunday": {"start": "01:00", "end": "03:00"}}}"#,
        )
        .unwrap();
        // 2024-11-03 (fall back at 02:00 EDT -> 01:00 EST): 01:00-02:00 happens twice, plus 02:00-03:00 EST.
        assert_eq!(
            c.elapsed(t("2024-11-03T00:00:00Z"), t("2024-11-04T00:00:00Z"))
                .unwrap(),
            3 * 3600
        );
        // 2024-03-10 (spring forward 02:00 -> 03:00): only 01:00-02:00 exists.
        assert_eq!(
            c.elapsed(t("2024-03-10T00:00:00Z"), t("2024-03-11T00:00:00Z"))
                .unwrap(),
            3600
        );
    }
}
