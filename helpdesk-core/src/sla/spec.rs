//! Calendar specification: what an integrator writes (JSON or Rust), validated.
//!
//! Accepted JSON (every field but `timezone` optional):
//!
//! ```json
//! {
//!   "timezone": "America/Sao_Paulo",
//!   "schedule": {
//!     "monday": {"start": "09:00", "end": "18:00"},
//!     "tuesday": [{"start": "09:00", "end": "12:00"}, {"start": "13:00", "end": "18:00"}],
//!     "saturday": []
//!   },
//!   "holidays": ["2024-12-25", {"date": "2025-01-01", "name": "Ano Novo"},
//!                {"month": 4, "day": 21}, {"easter": -2}, {"month": 11, "weekday": "thursday", "nth": 4}],
//!   "holiday_presets": ["BR"],
//!   "breaks": [{"date": "2024-03-08", "start": "12:00", "end": "13:00"}],
//!   "special_days": [{"date": "2024-12-24", "start": "09:00", "end": "13:00"}]
//! }
//! ```

use crate::{Error, Result};
use chrono::{Datelike, NaiveDate, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value, json};

/// Seconds since local midnight, 0 to 86,400 inclusive (`24:00` as an end).
pub type LocalSecs = u32;

/// A `[start, end)` local wall-clock interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Interval {
    /// Start, seconds since local midnight.
    pub start: LocalSecs,
    /// End (exclusive), up to 86,400.
    pub end: LocalSecs,
}

impl Interval {
    /// Builds an interval, refusing `end <= start` and ends past `24:00`.
    pub fn new(start: LocalSecs, end: LocalSecs) -> Result<Interval> {
        if end > 86_400 || start >= end {
            return Err(Error::invalid(
                "interval",
                format!(
                    "{} to {} is empty or past 24:00",
                    fmt_secs(start),
                    fmt_secs(end)
                ),
            ));
        }
        Ok(Interval { start, end })
    }

    /// Parses two `HH:MM[:SS]` strings.
    pub fn parse(start: &str, end: &str) -> Result<Interval> {
        let s = parse_time(start, "start", false)?;
        let e = parse_time(end, "end", true)?;
        if e <= s {
            return Err(Error::invalid(
                "end",
                format!("end {end} is not after start {start}"),
            ));
        }
        Ok(Interval { start: s, end: e })
    }
}

/// Formats seconds since midnight as `HH:MM` (or `HH:MM:SS` when seconds are set).
pub fn fmt_secs(s: LocalSecs) -> String {
    if s.is_multiple_of(60) {
        format!("{:02}:{:02}", s / 3600, s / 60 % 60)
    } else {
        format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    }
}

fn parse_time(v: &str, field: &str, allow_24: bool) -> Result<LocalSecs> {
    let bad = || {
        Error::invalid(
            field,
            format!(
                "{v:?} is not a time HH:MM or HH:MM:SS{}",
                if allow_24 { " (24:00 allowed)" } else { "" }
            ),
        )
    };
    let parts: Vec<&str> = v.trim().split(':').collect();
    if !(2..=3).contains(&parts.len())
        || parts
            .iter()
            .any(|p| p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad());
    }
    let n = |i: usize| {
        parts
            .get(i)
            .map_or(Ok(0), |p| p.parse::<u32>().map_err(|_| bad()))
    };
    let (h, m, s) = (n(0)?, n(1)?, n(2)?);
    if h == 24 && m == 0 && s == 0 && allow_24 {
        return Ok(86_400);
    }
    if h > 23 || m > 59 || s > 59 {
        return Err(bad());
    }
    Ok(h * 3600 + m * 60 + s)
}

/// A holiday: one date, or a rule that gives a date every year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HolidayRule {
    /// A single local date, closed that year only (`"2024-12-25"`).
    Date(NaiveDate),
    /// The same month and day every year (`{"month": 4, "day": 21}`).
    Fixed {
        /// 1-12.
        month: u32,
        /// 1-31 (a day that does not exist in a year, e.g. 29 Feb, is skipped that year).
        day: u32,
    },
    /// Days relative to Western Easter Sunday (Carnaval -48/-47, Good Friday -2, Corpus Christi +60).
    Easter {
        /// Days after Easter Sunday (negative for before: -2 is Good Friday).
        offset: i32,
    },
    /// The n-th (1-5) or last (-1) weekday of a month.
    NthWeekday {
        /// 1-12.
        month: u32,
        /// The weekday counted (`"thursday"`).
        weekday: Weekday,
        /// 1-5, or -1 for the last.
        nth: i8,
    },
}

/// A holiday with an optional name and the years it applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    /// Which date or dates the holiday falls on.
    pub rule: HolidayRule,
    /// Name (`Tiradentes`).
    pub name: Option<String>,
    /// First year the rule applies (inclusive).
    pub from_year: Option<i32>,
    /// Last year the rule applies (inclusive).
    pub until_year: Option<i32>,
}

impl Holiday {
    /// The holiday's date in `year`, if it falls in that year.
    pub fn date_in(&self, year: i32) -> Option<NaiveDate> {
        if self.from_year.is_some_and(|f| year < f) || self.until_year.is_some_and(|u| year > u) {
            return None;
        }
        match self.rule {
            HolidayRule::Date(d) => (d.year() == year).then_some(d),
            HolidayRule::Fixed { month, day } => NaiveDate::from_ymd_opt(year, month, day),
            HolidayRule::Easter { offset } => easter(year)
                .and_then(|e| e.checked_add_signed(chrono::Duration::days(i64::from(offset))))
                .filter(|d| d.year() == year),
            HolidayRule::NthWeekday {
                month,
                weekday,
                nth,
            } => {
                if nth > 0 {
                    NaiveDate::from_weekday_of_month_opt(year, month, weekday, nth as u8)
                } else {
                    let first_next = if month == 12 {
                        NaiveDate::from_ymd_opt(year + 1, 1, 1)
                    } else {
                        NaiveDate::from_ymd_opt(year, month + 1, 1)
                    }?;
                    let last = first_next.pred_opt()?;
                    let back = (last.weekday().num_days_from_monday() + 7
                        - weekday.num_days_from_monday())
                        % 7;
                    last.checked_sub_signed(chrono::Duration::days(i64::from(back)))
                }
            }
        }
    }
}

/// Western (Gregorian) Easter Sunday, by the anonymous Gregorian algorithm.
pub fn easter(year: i32) -> Option<NaiveDate> {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32)
}

/// Brazil's national holidays (fixed dates and Easter-relative days). Carnaval and Corpus
/// Christi are federal *pontos facultativos*, closed at nearly every desk, so they are in.
/// Consciência Negra (20 Nov) is national from 2024.
pub fn brazil_national_holidays() -> Vec<Holiday> {
    let h = |rule, name: &str| Holiday {
        rule,
        name: Some(name.to_owned()),
        from_year: None,
        until_year: None,
    };
    let fixed = |month, day, name: &str| h(HolidayRule::Fixed { month, day }, name);
    let mut v = vec![
        fixed(1, 1, "Confraternização Universal"),
        h(
            HolidayRule::Easter { offset: -48 },
            "Carnaval (segunda-feira)",
        ),
        h(
            HolidayRule::Easter { offset: -47 },
            "Carnaval (terça-feira)",
        ),
        h(HolidayRule::Easter { offset: -2 }, "Sexta-feira Santa"),
        fixed(4, 21, "Tiradentes"),
        fixed(5, 1, "Dia do Trabalho"),
        h(HolidayRule::Easter { offset: 60 }, "Corpus Christi"),
        fixed(9, 7, "Independência do Brasil"),
        fixed(10, 12, "Nossa Senhora Aparecida"),
        fixed(11, 2, "Finados"),
        fixed(11, 15, "Proclamação da República"),
        fixed(12, 25, "Natal"),
    ];
    let mut cn = fixed(11, 20, "Dia Nacional de Zumbi e da Consciência Negra");
    cn.from_year = Some(2024);
    v.push(cn);
    v
}

/// A closed local interval on one date (lunch break, staff meeting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Break {
    /// The local date (in the calendar's time zone) the break is on.
    pub date: NaiveDate,
    /// The local wall-clock interval that is closed that date, on top of the day's hours.
    pub interval: Interval,
}

/// Hours that replace one date's weekday hours (empty = closed that day).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecialDay {
    /// The local date (in the calendar's time zone) whose weekday hours are replaced.
    pub date: NaiveDate,
    /// Open intervals that date, sorted and merged; empty means closed all day.
    pub intervals: Vec<Interval>,
}

/// A business-hours calendar as written by an integrator. Compile it with
/// [`Calendar::new`](crate::sla::Calendar::new) to compute with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarSpec {
    /// IANA time zone every local date and wall-clock time of the spec is read in
    /// (`America/Sao_Paulo`).
    pub timezone: Tz,
    /// Open intervals per weekday, Monday first; sorted, merged.
    pub week: [Vec<Interval>; 7],
    /// Holidays (closed all day).
    pub holidays: Vec<Holiday>,
    /// Holiday presets by name (`BR`): their holidays close the calendar like the explicit
    /// ones ([`with_holiday_preset`](Self::with_holiday_preset) adds one, checked).
    pub presets: Vec<String>,
    /// Closed stretches on given dates (a lunch break on one date, a staff meeting), applied on top
    /// of the day's hours.
    pub breaks: Vec<Break>,
    /// Dates whose hours replace their weekday's hours (a short Christmas Eve, a closed day).
    pub special_days: Vec<SpecialDay>,
}

const DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// Sorts intervals and merges overlapping or touching ones.
pub fn merge_intervals(mut v: Vec<Interval>) -> Vec<Interval> {
    v.sort();
    let mut out: Vec<Interval> = Vec::with_capacity(v.len());
    for i in v {
        match out.last_mut() {
            Some(last) if i.start <= last.end => last.end = last.end.max(i.end),
            _ => out.push(i),
        }
    }
    out
}

impl CalendarSpec {
    /// Open 24 hours, 7 days, in UTC.
    pub fn always_open() -> CalendarSpec {
        let all = vec![Interval {
            start: 0,
            end: 86_400,
        }];
        CalendarSpec {
            timezone: Tz::UTC,
            week: std::array::from_fn(|_| all.clone()),
            holidays: Vec::new(),
            presets: Vec::new(),
            breaks: Vec::new(),
            special_days: Vec::new(),
        }
    }

    /// Same hours every weekday (Monday-Friday), closed on weekends.
    pub fn weekdays(timezone: Tz, start: &str, end: &str) -> Result<CalendarSpec> {
        let i = Interval::parse(start, end)?;
        let mut week: [Vec<Interval>; 7] = Default::default();
        for d in week.iter_mut().take(5) {
            d.push(i);
        }
        Ok(CalendarSpec {
            timezone,
            week,
            holidays: Vec::new(),
            presets: Vec::new(),
            breaks: Vec::new(),
            special_days: Vec::new(),
        })
    }

    /// This spec, with the holidays of the preset `name` (`"BR"`: Brazil's national
    /// holidays); an unknown preset is [`Error::Invalid`] naming the allowed ones.
    pub fn with_holiday_preset(mut self, name: &str) -> Result<CalendarSpec> {
        check_preset("holiday_presets".into(), name)?;
        let name = name.trim().to_ascii_uppercase();
        if !self.presets.contains(&name) {
            self.presets.push(name);
        }
        Ok(self)
    }

    /// Parses the JSON text form shown in the module docs; invalid JSON or fields are
    /// [`Error::Invalid`] naming the field.
    pub fn from_json_str(s: &str) -> Result<CalendarSpec> {
        let v: Value =
            serde_json::from_str(s).map_err(|e| Error::invalid("calendar", e.to_string()))?;
        Self::from_json(&v)
    }

    /// Parses the JSON value form, naming the offending field on error.
    pub fn from_json(v: &Value) -> Result<CalendarSpec> {
        let obj = v
            .as_object()
            .ok_or_else(|| Error::invalid("calendar", "expected an object"))?;
        for k in obj.keys() {
            if ![
                "timezone",
                "schedule",
                "holidays",
                "holiday_presets",
                "breaks",
                "special_days",
            ]
            .contains(&k.as_str())
            {
                return Err(Error::invalid_with(
                    k.clone(),
                    "unknown calendar field",
                    [
                        "timezone",
                        "schedule",
                        "holidays",
                        "holiday_presets",
                        "breaks",
                        "special_days",
                    ],
                ));
            }
        }
        let tz_name = obj.get("timezone").and_then(Value::as_str).ok_or_else(|| {
            Error::invalid(
                "timezone",
                "required, an IANA zone name such as America/Sao_Paulo",
            )
        })?;
        let timezone: Tz = tz_name
            .parse()
            .map_err(|_| Error::invalid("timezone", format!("unknown time zone {tz_name:?}")))?;

        let mut week: [Vec<Interval>; 7] = Default::default();
        match obj.get("schedule") {
            None | Some(Value::Null) => {}
            Some(Value::Object(days)) => {
                for (k, dv) in days {
                    let idx = DAYS
                        .iter()
                        .position(|d| d.eq_ignore_ascii_case(k))
                        .ok_or_else(|| {
                            Error::invalid_with(format!("schedule.{k}"), "unknown day", DAYS)
                        })?;
                    week[idx] = merge_intervals(parse_day(dv, &format!("schedule.{k}"))?);
                }
            }
            Some(_) => return Err(Error::invalid("schedule", "expected an object of weekdays")),
        }

        let mut holidays = Vec::new();
        for (i, h) in array(obj, "holidays")?.iter().enumerate() {
            holidays.push(parse_holiday(h, &format!("holidays[{i}]"))?);
        }
        let mut presets = Vec::new();
        for (i, p) in array(obj, "holiday_presets")?.iter().enumerate() {
            let name = p.as_str().ok_or_else(|| {
                Error::invalid(format!("holiday_presets[{i}]"), "expected a string")
            })?;
            check_preset(format!("holiday_presets[{i}]"), name)?;
            presets.push(name.to_ascii_uppercase());
        }
        let mut breaks = Vec::new();
        for (i, b) in array(obj, "breaks")?.iter().enumerate() {
            let f = format!("breaks[{i}]");
            let o = b
                .as_object()
                .ok_or_else(|| Error::invalid(&f, "expected {date, start, end}"))?;
            let date = parse_date(o.get("date"), &format!("{f}.date"))?;
            let interval = parse_interval(b, &f)?;
            breaks.push(Break { date, interval });
        }
        let mut special_days = Vec::new();
        for (i, s) in array(obj, "special_days")?.iter().enumerate() {
            let f = format!("special_days[{i}]");
            let o = s.as_object().ok_or_else(|| {
                Error::invalid(&f, "expected {date, start, end} or {date, hours}")
            })?;
            let date = parse_date(o.get("date"), &format!("{f}.date"))?;
            let intervals = if let Some(h) = o.get("hours") {
                parse_day(h, &format!("{f}.hours"))?
            } else if o.get("closed").and_then(Value::as_bool) == Some(true) {
                Vec::new()
            } else {
                vec![parse_interval(s, &f)?]
            };
            special_days.push(SpecialDay {
                date,
                intervals: merge_intervals(intervals),
            });
        }
        Ok(CalendarSpec {
            timezone,
            week,
            holidays,
            presets,
            breaks,
            special_days,
        })
    }

    /// Every holiday of the spec: the explicit ones, then those of each preset (`BR`). A
    /// preset this version does not know is skipped here; [`Calendar::new`](super::Calendar::new)
    /// refuses it.
    pub fn all_holidays(&self) -> Vec<Holiday> {
        let mut v = self.holidays.clone();
        for p in &self.presets {
            v.extend(preset(p).unwrap_or_default());
        }
        v
    }

    /// The canonical JSON form (lists per day, `HH:MM`).
    pub fn to_json(&self) -> Value {
        let iv = |i: &Interval| json!({"start": fmt_secs(i.start), "end": fmt_secs(i.end)});
        let mut sched = Map::new();
        for (d, ivs) in DAYS.iter().zip(&self.week) {
            if !ivs.is_empty() {
                sched.insert((*d).to_owned(), Value::Array(ivs.iter().map(iv).collect()));
            }
        }
        let holidays: Vec<Value> = self
            .holidays
            .iter()
            .map(|h| {
                let mut o = match &h.rule {
                    HolidayRule::Date(d) => json!({"date": d.to_string()}),
                    HolidayRule::Fixed { month, day } => json!({"month": month, "day": day}),
                    HolidayRule::Easter { offset } => json!({"easter": offset}),
                    HolidayRule::NthWeekday { month, weekday, nth } => {
                        json!({"month": month, "weekday": DAYS[weekday.num_days_from_monday() as usize], "nth": nth})
                    }
                };
                if let Some(m) = o.as_object_mut() {
                    if let Some(n) = &h.name {
                        m.insert("name".into(), json!(n));
                    }
                    if let Some(y) = h.from_year {
                        m.insert("from_year".into(), json!(y));
                    }
                    if let Some(y) = h.until_year {
                        m.insert("until_year".into(), json!(y));
                    }
                }
                o
            })
            .collect();
        json!({
            "timezone": self.timezone.name(),
            "schedule": sched,
            "holidays": holidays,
            "holiday_presets": self.presets,
            "breaks": self.breaks.iter().map(|b| json!({"date": b.date.to_string(), "start": fmt_secs(b.interval.start), "end": fmt_secs(b.interval.end)})).collect::<Vec<_>>(),
            "special_days": self.special_days.iter().map(|s| json!({"date": s.date.to_string(), "hours": s.intervals.iter().map(iv).collect::<Vec<_>>()})).collect::<Vec<_>>(),
        })
    }
}

/// The holiday presets this version knows (a new one adds its name here and its table in
/// [`preset`]).
const PRESETS: [&str; 1] = ["BR"];

/// Refuses, as `field`, a preset this version does not know (without building its
/// holidays): an unknown preset would leave its holidays open.
pub(crate) fn check_preset(field: String, name: &str) -> Result<()> {
    if PRESETS.contains(&name.trim().to_ascii_uppercase().as_str()) {
        Ok(())
    } else {
        Err(Error::invalid_with(
            field,
            format!("unknown preset {name:?}"),
            PRESETS,
        ))
    }
}

/// Holidays of a named preset (`BR`).
pub fn preset(name: &str) -> Result<Vec<Holiday>> {
    check_preset("holiday_presets".into(), name)?;
    // `BR` is the one name `check_preset` accepts.
    Ok(brazil_national_holidays())
}

fn array<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<&'a [Value]> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(Error::invalid(key, "expected a list")),
    }
}

fn parse_date(v: Option<&Value>, field: &str) -> Result<NaiveDate> {
    let s = v
        .and_then(Value::as_str)
        .ok_or_else(|| Error::invalid(field, "expected a date YYYY-MM-DD"))?;
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| Error::invalid(field, format!("{s:?} is not a date YYYY-MM-DD")))
}

fn parse_interval(v: &Value, field: &str) -> Result<Interval> {
    let o = v.as_object().ok_or_else(|| {
        Error::invalid(field, "expected {\"start\": \"HH:MM\", \"end\": \"HH:MM\"}")
    })?;
    let s = o
        .get("start")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::invalid(format!("{field}.start"), "expected \"HH:MM\""))?;
    let e = o
        .get("end")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::invalid(format!("{field}.end"), "expected \"HH:MM\""))?;
    let start = parse_time(s, &format!("{field}.start"), false)?;
    let end = parse_time(e, &format!("{field}.end"), true)?;
    if end <= start {
        return Err(Error::invalid(
            format!("{field}.end"),
            format!("end {e} is not after start {s}; split overnight hours over two days"),
        ));
    }
    Ok(Interval { start, end })
}

fn parse_day(v: &Value, field: &str) -> Result<Vec<Interval>> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Object(_) => Ok(vec![parse_interval(v, field)?]),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, x)| parse_interval(x, &format!("{field}[{i}]")))
            .collect(),
        _ => Err(Error::invalid(
            field,
            "expected {start, end}, a list of them, or null",
        )),
    }
}

fn parse_weekday(s: &str, field: &str) -> Result<Weekday> {
    DAYS.iter()
        .position(|d| d.eq_ignore_ascii_case(s.trim()))
        .map(|i| Weekday::try_from(i as u8).unwrap_or(Weekday::Mon))
        .ok_or_else(|| Error::invalid_with(field, format!("unknown weekday {s:?}"), DAYS))
}

fn parse_holiday(v: &Value, field: &str) -> Result<Holiday> {
    if let Some(s) = v.as_str() {
        return Ok(Holiday {
            rule: HolidayRule::Date(
                parse_date(Some(v), field).map_err(|_| {
                    Error::invalid(field, format!("{s:?} is not a date YYYY-MM-DD"))
                })?,
            ),
            name: None,
            from_year: None,
            until_year: None,
        });
    }
    let o = v
        .as_object()
        .ok_or_else(|| Error::invalid(field, "expected a date string or a rule object"))?;
    let int = |k: &str| -> Result<Option<i64>> {
        match o.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(x) => x
                .as_i64()
                .map(Some)
                .ok_or_else(|| Error::invalid(format!("{field}.{k}"), "expected an integer")),
        }
    };
    let month = int("month")?;
    let check_month = |m: i64| -> Result<u32> {
        if (1..=12).contains(&m) {
            Ok(m as u32)
        } else {
            Err(Error::invalid(
                format!("{field}.month"),
                format!("{m} is not a month 1-12"),
            ))
        }
    };
    let rule = if o.contains_key("date") {
        HolidayRule::Date(parse_date(o.get("date"), &format!("{field}.date"))?)
    } else if let Some(off) = int("easter")? {
        if off.abs() > 200 {
            return Err(Error::invalid(
                format!("{field}.easter"),
                "offset beyond 200 days",
            ));
        }
        HolidayRule::Easter { offset: off as i32 }
    } else if let Some(wd) = o.get("weekday") {
        let m =
            check_month(month.ok_or_else(|| {
                Error::invalid(format!("{field}.month"), "required with weekday")
            })?)?;
        let weekday = parse_weekday(wd.as_str().unwrap_or(""), &format!("{field}.weekday"))?;
        let nth = int("nth")?.ok_or_else(|| {
            Error::invalid(
                format!("{field}.nth"),
                "required with weekday: 1-5, or -1 for the last",
            )
        })?;
        if !(1..=5).contains(&nth) && nth != -1 {
            return Err(Error::invalid(
                format!("{field}.nth"),
                format!("{nth} is not 1-5 or -1"),
            ));
        }
        HolidayRule::NthWeekday {
            month: m,
            weekday,
            nth: nth as i8,
        }
    } else if let Some(m) = month {
        let m = check_month(m)?;
        let d = int("day")?
            .ok_or_else(|| Error::invalid(format!("{field}.day"), "required with month"))?;
        if !(1..=31).contains(&d) || NaiveDate::from_ymd_opt(2024, m, d as u32).is_none() {
            return Err(Error::invalid(
                format!("{field}.day"),
                format!("{d} is not a day of month {m}"),
            ));
        }
        HolidayRule::Fixed {
            month: m,
            day: d as u32,
        }
    } else {
        return Err(Error::invalid(
            field,
            "expected one of date, {month, day}, {easter}, {month, weekday, nth}",
        ));
    };
    let year = |k: &str| -> Result<Option<i32>> { Ok(int(k)?.map(|y| y as i32)) };
    Ok(Holiday {
        rule,
        name: o.get("name").and_then(Value::as_str).map(str::to_owned),
        from_year: year("from_year")?,
        until_year: year("until_year")?,
    })
}

impl Serialize for CalendarSpec {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for CalendarSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        CalendarSpec::from_json(&v).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A preset added in code applies its holidays, and an unknown one is refused by name
    /// instead of leaving its holidays open.
    #[test]
    fn holiday_presets_set_in_code_apply_or_are_refused() {
        use crate::sla::Calendar;
        let base = CalendarSpec::weekdays(chrono_tz::America::Sao_Paulo, "09:00", "18:00").unwrap();
        // 2026-09-07 (Independence Day) is a Monday: open without the preset, closed with it.
        let noon = chrono::DateTime::parse_from_rfc3339("2026-09-07T12:00:00-03:00")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert!(Calendar::new(base.clone()).unwrap().is_open(noon).unwrap());
        let br = base.clone().with_holiday_preset("br").unwrap();
        assert_eq!(br.presets, vec!["BR".to_owned()]);
        assert!(!Calendar::new(br).unwrap().is_open(noon).unwrap());
        assert!(base.clone().with_holiday_preset("XX").is_err());
        let mut typo = base;
        typo.presets.push("BRR".into());
        let refused = Calendar::new(typo);
        assert!(
            matches!(&refused, Err(Error::Invalid { field, .. }) if field == "holiday_presets[0]"),
            "{:?}",
            refused.err()
        );
    }

    #[test]
    fn seed_shape_parses() {
        let s = CalendarSpec::from_json_str(r#"{
            "timezone": "America/New_York",
            "schedule": {"monday": {"start": "09:00", "end": "18:00"}, "friday": {"start": "09:00", "end": "17:00"}},
            "holidays": ["2024-12-25", "2024-01-01"]
        }"#).unwrap();
        assert_eq!(
            s.week[0],
            vec![Interval {
                start: 9 * 3600,
                end: 18 * 3600
            }]
        );
        assert_eq!(
            s.week[4],
            vec![Interval {
                start: 9 * 3600,
                end: 17 * 3600
            }]
        );
        assert!(s.week[1].is_empty());
        assert_eq!(s.holidays.len(), 2);
    }

    #[test]
    fn lists_per_day_merge_overlaps_and_allow_24_00() {
        let s = CalendarSpec::from_json_str(r#"{"timezone": "UTC", "schedule": {"sunday": [
            {"start": "13:00", "end": "24:00"}, {"start": "08:00", "end": "12:00"}, {"start": "11:00", "end": "13:00"}]}}"#).unwrap();
        assert_eq!(
            s.week[6],
            vec![Interval {
                start: 8 * 3600,
                end: 86_400
            }]
        );
    }

    #[test]
    fn invalid_input_names_the_field() {
        let cases = [
            (r#"{"timezone": "Mars/Olympus"}"#, "timezone"),
            (
                r#"{"timezone": "UTC", "schedule": {"monday": {"start": "25:00", "end": "26:00"}}}"#,
                "schedule.monday.start",
            ),
            (
                r#"{"timezone": "UTC", "schedule": {"monday": {"start": "18:00", "end": "09:00"}}}"#,
                "schedule.monday.end",
            ),
            (
                r#"{"timezone": "UTC", "schedule": {"monday": [{"start": "09:00", "end": "9"}]}}"#,
                "schedule.monday[0].end",
            ),
            (
                r#"{"timezone": "UTC", "schedule": {"funday": []}}"#,
                "schedule.funday",
            ),
            (
                r#"{"timezone": "UTC", "holidays": ["2024-13-01"]}"#,
                "holidays[0]",
            ),
            (
                r#"{"timezone": "UTC", "holidays": [{"month": 2, "day": 30}]}"#,
                "holidays[0].day",
            ),
            (
                r#"{"timezone": "UTC", "breaks": [{"date": "2024-01-01", "start": "12:00"}]}"#,
                "breaks[0].end",
            ),
            (
                r#"{"timezone": "UTC", "special_days": [{"date": "x", "start": "09:00", "end": "10:00"}]}"#,
                "special_days[0].date",
            ),
            (
                r#"{"timezone": "UTC", "holiday_presets": ["XX"]}"#,
                "holiday_presets[0]",
            ),
            (r#"{"schedule": {}}"#, "timezone"),
        ];
        for (json, field) in cases {
            let e = CalendarSpec::from_json_str(json).unwrap_err();
            assert_eq!(e.field(), Some(field), "{json}: {e}");
        }
    }

    #[test]
    fn easter_dates_are_right() {
        for (y, m, d) in [
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2000, 4, 23),
            (2019, 4, 21),
            (1961, 4, 2),
        ] {
            assert_eq!(easter(y), NaiveDate::from_ymd_opt(y, m, d));
        }
    }

    #[test]
    fn holiday_rules_give_the_right_dates() {
        let carnaval = Holiday {
            rule: HolidayRule::Easter { offset: -47 },
            name: None,
            from_year: None,
            until_year: None,
        };
        assert_eq!(carnaval.date_in(2025), NaiveDate::from_ymd_opt(2025, 3, 4));
        let thanksgiving = Holiday {
            rule: HolidayRule::NthWeekday {
                month: 11,
                weekday: Weekday::Thu,
                nth: 4,
            },
            name: None,
            from_year: None,
            until_year: None,
        };
        assert_eq!(
            thanksgiving.date_in(2024),
            NaiveDate::from_ymd_opt(2024, 11, 28)
        );
        let memorial = Holiday {
            rule: HolidayRule::NthWeekday {
                month: 5,
                weekday: Weekday::Mon,
                nth: -1,
            },
            name: None,
            from_year: None,
            until_year: None,
        };
        assert_eq!(memorial.date_in(2024), NaiveDate::from_ymd_opt(2024, 5, 27));
        let cn = brazil_national_holidays()
            .into_iter()
            .find(|h| h.from_year.is_some())
            .unwrap();
        assert_eq!(cn.date_in(2023), None);
        assert_eq!(cn.date_in(2024), NaiveDate::from_ymd_opt(2024, 11, 20));
        let leap = Holiday {
            rule: HolidayRule::Fixed { month: 2, day: 29 },
            name: None,
            from_year: None,
            until_year: None,
        };
        assert_eq!(leap.date_in(2023), None);
    }

    #[test]
    fn json_round_trips() {
        let s = CalendarSpec::from_json_str(r#"{"timezone": "America/Sao_Paulo",
            "schedule": {"monday": {"start": "09:00", "end": "18:00"}, "saturday": [{"start": "08:00", "end": "12:00:30"}]},
            "holidays": ["2024-12-25", {"easter": -2, "name": "Sexta-feira Santa"}, {"month": 11, "weekday": "thursday", "nth": 4}, {"month": 11, "day": 20, "from_year": 2024}],
            "holiday_presets": ["br"],
            "breaks": [{"date": "2024-03-08", "start": "12:00", "end": "13:00"}],
            "special_days": [{"date": "2024-12-24", "start": "09:00", "end": "13:00"}, {"date": "2024-12-31", "closed": true}]}"#).unwrap();
        let back = CalendarSpec::from_json(&s.to_json()).unwrap();
        assert_eq!(s, back);
    }
}
