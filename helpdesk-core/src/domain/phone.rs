//! Phone numbers in E.164, with a default region for national input, and the Brazilian
//! ninth-digit rule: `+55 11 99999-8888` and the `wa_id` `551199998888` are one contact.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A region used to read numbers written without a country code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhoneRegion {
    /// ISO 3166-1 alpha-2 code (`BR`).
    pub iso: &'static str,
    /// Country calling code (`55`).
    pub calling_code: u16,
    /// National trunk prefix dropped from national input (`0` in Brazil).
    pub trunk_prefix: Option<char>,
    /// Longest national significant number; longer input that starts with the calling code
    /// is read as international without the `+` (how WhatsApp writes `wa_id`s).
    pub national_max: u8,
}

impl PhoneRegion {
    /// Brazil (+55).
    pub const BR: PhoneRegion = PhoneRegion {
        iso: "BR",
        calling_code: 55,
        trunk_prefix: Some('0'),
        national_max: 11,
    };
    /// United States / NANP (+1).
    pub const US: PhoneRegion = PhoneRegion {
        iso: "US",
        calling_code: 1,
        trunk_prefix: Some('1'),
        national_max: 10,
    };
    /// Portugal (+351).
    pub const PT: PhoneRegion = PhoneRegion {
        iso: "PT",
        calling_code: 351,
        trunk_prefix: None,
        national_max: 9,
    };
    /// Argentina (+54).
    pub const AR: PhoneRegion = PhoneRegion {
        iso: "AR",
        calling_code: 54,
        trunk_prefix: Some('0'),
        national_max: 11,
    };
    /// Mexico (+52).
    pub const MX: PhoneRegion = PhoneRegion {
        iso: "MX",
        calling_code: 52,
        trunk_prefix: None,
        national_max: 10,
    };
    /// Spain (+34).
    pub const ES: PhoneRegion = PhoneRegion {
        iso: "ES",
        calling_code: 34,
        trunk_prefix: None,
        national_max: 9,
    };

    /// Looks a region up by ISO code (case-insensitive).
    pub fn from_iso(iso: &str) -> Result<PhoneRegion> {
        let all = [Self::BR, Self::US, Self::PT, Self::AR, Self::MX, Self::ES];
        all.iter()
            .copied()
            .find(|r| r.iso.eq_ignore_ascii_case(iso.trim()))
            .ok_or_else(|| {
                Error::invalid_with(
                    "phone_region",
                    format!("unknown region {iso:?}"),
                    all.map(|r| r.iso),
                )
            })
    }
}

impl Default for PhoneRegion {
    fn default() -> Self {
        Self::BR
    }
}

/// A phone number in E.164 (`+5511999998888`), validated.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses `input` (any common formatting: spaces, dashes, dots, parentheses; `+CC…`,
    /// `00CC…`, or national with `region`'s trunk prefix) into E.164.
    ///
    /// ```
    /// use helpdesk_core::domain::phone::{PhoneNumber, PhoneRegion};
    /// let p = PhoneNumber::parse("(11) 99999-8888", PhoneRegion::BR).unwrap();
    /// assert_eq!(p.as_str(), "+5511999998888");
    /// let wa = PhoneNumber::parse("551199998888", PhoneRegion::BR).unwrap();
    /// assert_eq!(p.match_key(), wa.match_key());
    /// ```
    pub fn parse(input: &str, region: PhoneRegion) -> Result<PhoneNumber> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(Error::invalid("phone", "empty phone number"));
        }
        let mut digits = String::with_capacity(trimmed.len());
        for (i, c) in trimmed.chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if i == 0 => {}
                ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}' => {}
                _ => {
                    return Err(Error::invalid(
                        "phone",
                        format!("unexpected character {c:?} in phone number"),
                    ));
                }
            }
        }
        let international = trimmed.starts_with('+');
        let full = if international {
            digits
        } else if let Some(rest) = digits.strip_prefix("00") {
            rest.to_owned()
        } else {
            let cc = region.calling_code.to_string();
            let national = match region.trunk_prefix {
                Some(tp)
                    if digits.starts_with(tp)
                        && digits.len() > usize::from(region.national_max) =>
                {
                    &digits[1..]
                }
                _ => digits.as_str(),
            };
            // A national-length number gets the region's code. Input that already carries the
            // region's code at international length (a WhatsApp `wa_id`) is kept as it is.
            if national.starts_with(&cc) && national.len() > usize::from(region.national_max) {
                national.to_owned()
            } else {
                format!("{cc}{national}")
            }
        };
        Self::validate_digits(&full)?;
        Ok(PhoneNumber(format!("+{full}")))
    }

    fn validate_digits(full: &str) -> Result<()> {
        if !(8..=15).contains(&full.len()) {
            return Err(Error::invalid(
                "phone",
                format!("{} digits; E.164 numbers have 8 to 15", full.len()),
            ));
        }
        if full.starts_with('0') {
            return Err(Error::invalid("phone", "country code cannot start with 0"));
        }
        if let Some(national) = full.strip_prefix("55") {
            // Brazil: two-digit area code (11-99, no zero) + 8 (landline or old mobile) or 9
            // (mobile, starting with 9) digits.
            let area = national.get(..2).unwrap_or("");
            let sub = national.get(2..).unwrap_or("");
            let area_ok = area.len() == 2 && !area.contains('0');
            let sub_ok = match sub.len() {
                8 => true,
                9 => sub.starts_with('9'),
                _ => false,
            };
            if !area_ok || !sub_ok {
                return Err(Error::invalid(
                    "phone",
                    "Brazilian numbers are +55, a two-digit area code and 8 or 9 digits",
                ));
            }
        }
        Ok(())
    }

    /// The E.164 text, with the leading `+`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Digits only, as WhatsApp writes `wa_id`s.
    pub fn digits(&self) -> &str {
        &self.0[1..]
    }

    /// The key under which one person's number is matched: for Brazilian mobiles written
    /// without the ninth digit (8-digit subscriber starting 6-9) the 9 is inserted, so both
    /// spellings give the same key. Other numbers are their own key.
    pub fn match_key(&self) -> String {
        let d = self.digits();
        if let Some(national) = d.strip_prefix("55")
            && national.len() == 10
            && matches!(national.as_bytes()[2], b'6'..=b'9')
        {
            return format!("+55{}9{}", &national[..2], &national[2..]);
        }
        self.0.clone()
    }

    /// Masked for logs and displays: `+55 11 *****-8888` style (last four digits kept).
    pub fn masked(&self) -> String {
        let d = self.digits();
        let (cc, rest) = if d.starts_with("55") && d.len() >= 12 {
            (&d[..2], &d[2..])
        } else {
            (&d[..d.len().min(2)], &d[d.len().min(2)..])
        };
        if d.starts_with("55") && rest.len() >= 10 {
            let area = &rest[..2];
            let last = &rest[rest.len() - 4..];
            let hidden = "*".repeat(rest.len() - 6);
            return format!("+{cc} {area} {hidden}-{last}");
        }
        let keep = rest.len().saturating_sub(4);
        format!("+{cc} {}{}", "*".repeat(keep), &rest[keep..])
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Debug output ends up in logs: never the full number.
        write!(f, "PhoneNumber({})", self.masked())
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        if !s.starts_with('+') {
            return Err(Error::invalid(
                "phone",
                "stored phone numbers are E.164 with '+'",
            ));
        }
        PhoneNumber::parse(&s, PhoneRegion::BR)
    }
}

impl From<PhoneNumber> for String {
    fn from(p: PhoneNumber) -> String {
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn br(s: &str) -> Result<PhoneNumber> {
        PhoneNumber::parse(s, PhoneRegion::BR)
    }

    #[test]
    fn formats_of_one_brazilian_mobile_normalize_to_e164() {
        for s in [
            "+55 11 99999-8888",
            "5511999998888",
            "(11) 99999-8888",
            "011 99999 8888",
            "0055 11 999998888",
        ] {
            assert_eq!(br(s).unwrap().as_str(), "+5511999998888", "{s}");
        }
    }

    #[test]
    fn ninth_digit_variants_share_a_match_key() {
        let with9 = br("+55 11 99999-8888").unwrap();
        let without9 = br("551199998888").unwrap();
        assert_ne!(with9, without9);
        assert_eq!(with9.match_key(), without9.match_key());
        // Landlines (start 2-5) never get a ninth digit.
        let landline = br("+55 11 3333-4444").unwrap();
        assert_eq!(landline.match_key(), "+551133334444");
    }

    #[test]
    fn invalid_numbers_name_the_field() {
        for s in [
            "",
            "abc",
            "+55 11 1234",
            "+55 01 99999-8888",
            "+55 11 89999-8888",
            "+1234567890123456",
        ] {
            let e = br(s).unwrap_err();
            assert_eq!(e.field(), Some("phone"), "{s}: {e}");
        }
    }

    #[test]
    fn other_regions_and_international_input() {
        assert_eq!(
            PhoneNumber::parse("(415) 555-2671", PhoneRegion::US)
                .unwrap()
                .as_str(),
            "+14155552671"
        );
        assert_eq!(br("+351 912 345 678").unwrap().as_str(), "+351912345678");
    }

    #[test]
    fn masking_keeps_only_last_four_digits() {
        assert_eq!(br("+5511999994321").unwrap().masked(), "+55 11 *****-4321");
        assert!(!format!("{:?}", br("+5511999994321").unwrap()).contains("99999"));
    }
}
