//! `sla_calc`: one JSON request per line in, one JSON answer per line out.
//!
//! ```text
//! {"op":"due","calendar":{…},"start":"2024-03-08T21:30:00Z","business_seconds":7200}  -> {"due":"2024-03-11T14:30:00Z"}
//! {"op":"due_before","calendar":{…},"end":"…","business_seconds":N}                   -> {"due_before":"…"}
//! {"op":"elapsed","calendar":{…},"from":"…","to":"…"}                                 -> {"business_seconds":N}
//! {"op":"is_open","calendar":{…},"at":"…"}                                            -> {"open":true}
//! {"op":"next_open","calendar":{…},"at":"…"}                                          -> {"next_open":"…"}
//! ```
//!
//! A bad line gets `{"error": "…"}` and the next line is read as usual.

use chrono::{DateTime, SecondsFormat, Utc};
use helpdesk_core::sla::{Calendar, CalendarSpec};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::collections::HashMap;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request<'a> {
    op: &'a str,
    #[serde(borrow)]
    calendar: &'a RawValue,
    start: Option<&'a str>,
    end: Option<&'a str>,
    from: Option<&'a str>,
    to: Option<&'a str>,
    at: Option<&'a str>,
    business_seconds: Option<i64>,
}

/// Answers lines, keeping compiled calendars by their JSON text (requests usually repeat a
/// handful of calendars).
#[derive(Default)]
pub struct SlaCalc {
    calendars: HashMap<String, Calendar>,
}

fn instant(v: Option<&str>, field: &str) -> Result<DateTime<Utc>, String> {
    let s = v.ok_or_else(|| format!("missing field {field:?}"))?;
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| format!("{field}: {s:?} is not an RFC 3339 instant ({e})"))
}

fn fmt(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl SlaCalc {
    /// A calculator with an empty cache.
    pub fn new() -> SlaCalc {
        SlaCalc::default()
    }

    fn calendar(&mut self, raw: &RawValue) -> Result<&Calendar, String> {
        let key = raw.get();
        if !self.calendars.contains_key(key) {
            let v: Value = serde_json::from_str(key).map_err(|e| e.to_string())?;
            let cal = CalendarSpec::from_json(&v)
                .and_then(Calendar::new)
                .map_err(|e| format!("calendar: {e}"))?;
            if self.calendars.len() >= 4096 {
                self.calendars.clear();
            }
            self.calendars.insert(key.to_owned(), cal);
        }
        self.calendars
            .get(key)
            .ok_or_else(|| "calendar cache".to_owned())
    }

    fn try_answer(&mut self, line: &str) -> Result<Value, String> {
        if line.trim().is_empty() {
            return Err("empty line".into());
        }
        let req: Request = serde_json::from_str(line).map_err(|e| format!("bad request: {e}"))?;
        let n = || {
            req.business_seconds
                .ok_or_else(|| "missing field \"business_seconds\"".to_owned())
        };
        let op = req.op;
        let cal = self.calendar(req.calendar)?;
        let e = |e: helpdesk_core::Error| e.to_string();
        Ok(match op {
            "due" => json!({"due": fmt(cal.due(instant(req.start, "start")?, n()?).map_err(e)?)}),
            "due_before" => {
                json!({"due_before": fmt(cal.due_before(instant(req.end, "end")?, n()?).map_err(e)?)})
            }
            "elapsed" => {
                json!({"business_seconds": cal.elapsed(instant(req.from, "from")?, instant(req.to, "to")?).map_err(e)?})
            }
            "is_open" => json!({"open": cal.is_open(instant(req.at, "at")?).map_err(e)?}),
            "next_open" => {
                json!({"next_open": fmt(cal.next_open(instant(req.at, "at")?).map_err(e)?)})
            }
            other => {
                return Err(format!(
                    "unknown op {other:?}; expected due, due_before, elapsed, is_open or next_open"
                ));
            }
        })
    }

    /// The answer line (without newline) for one request line.
    pub fn answer(&mut self, line: &str) -> String {
        match self.try_answer(line) {
            Ok(v) => v.to_string(),
            Err(e) => json!({"error": e}).to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NY: &str = r#"{"timezone":"America/New_York","schedule":{"monday":{"start":"09:00","end":"18:00"},"tuesday":{"start":"09:00","end":"18:00"},"wednesday":{"start":"09:00","end":"18:00"},"thursday":{"start":"09:00","end":"18:00"},"friday":{"start":"09:00","end":"17:00"}},"holidays":["2024-12-25"]}"#;

    #[test]
    fn answers_the_design_examples() {
        let mut c = SlaCalc::new();
        let q = |op: &str, rest: &str| format!(r#"{{"op":"{op}","calendar":{NY},{rest}}}"#);
        assert_eq!(
            c.answer(&q(
                "due",
                r#""start":"2024-03-08T21:30:00Z","business_seconds":7200"#
            )),
            r#"{"due":"2024-03-11T14:30:00Z"}"#
        );
        assert_eq!(
            c.answer(&q(
                "elapsed",
                r#""from":"2024-03-08T21:30:00Z","to":"2024-03-11T14:30:00Z""#
            )),
            r#"{"business_seconds":7200}"#
        );
        assert_eq!(
            c.answer(&q("is_open", r#""at":"2024-03-11T14:30:00Z""#)),
            r#"{"open":true}"#
        );
        assert_eq!(
            c.answer(&q("next_open", r#""at":"2024-03-09T12:00:00Z""#)),
            r#"{"next_open":"2024-03-11T13:00:00Z"}"#
        );
        assert_eq!(
            c.answer(&q(
                "due_before",
                r#""end":"2024-03-11T14:30:00Z","business_seconds":7200"#
            )),
            r#"{"due_before":"2024-03-08T21:30:00Z"}"#
        );
    }

    #[test]
    fn bad_lines_get_an_error_and_do_not_stop_the_stream() {
        let mut c = SlaCalc::new();
        for bad in [
            "",
            "not json",
            r#"{"op":"due"}"#,
            &format!(r#"{{"op":"due","calendar":{NY},"start":"yesterday","business_seconds":1}}"#),
            &format!(r#"{{"op":"due","calendar":{NY},"start":"2024-03-08T21:30:00Z"}}"#),
            &format!(r#"{{"op":"fly","calendar":{NY}}}"#),
            r#"{"op":"is_open","calendar":{"timezone":"Mars/Base"},"at":"2024-01-01T00:00:00Z"}"#,
            r#"{"op":"is_open","calendar":{"timezone":"UTC","schedule":{"monday":{"start":"25:00","end":"26:00"}}},"at":"2024-01-01T00:00:00Z"}"#,
            r#"{"op":"is_open","calendar":{"timezone":"UTC"},"at":"2024-01-01T00:00:00Z"}"#,
        ] {
            let a: Value = serde_json::from_str(&c.answer(bad)).unwrap();
            assert!(a["error"].is_string(), "{bad} -> {a}");
        }
        let ok = c.answer(&format!(
            r#"{{"op":"is_open","calendar":{NY},"at":"2024-03-11T14:30:00Z"}}"#
        ));
        assert_eq!(ok, r#"{"open":true}"#);
    }
}
