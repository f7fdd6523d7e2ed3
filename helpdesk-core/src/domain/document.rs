//! Brazilian taxpayer documents: CPF (people) and CNPJ (companies), with check digits.
//!
//! From July 2026 Receita Federal issues alphanumeric CNPJs: the first 12 positions may be
//! letters A-Z or digits, the last two stay numeric check digits, and every character counts
//! as its ASCII code minus 48 in the modulo-11 computation. Numeric CNPJs are the special case
//! where every character is a digit, so one algorithm validates both.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Which document a [`Document`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// Cadastro de Pessoas Físicas: 11 digits.
    Cpf,
    /// Cadastro Nacional da Pessoa Jurídica: 14 characters.
    Cnpj,
}

/// A validated CPF or CNPJ, stored normalized (no punctuation, upper case).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Document {
    kind: DocumentKind,
    value: String,
}

impl Document {
    /// Parses and validates a CPF or CNPJ written with or without punctuation
    /// (`529.982.247-25`, `11.222.333/0001-81`, `12.ABC.345/01DE-35`).
    ///
    /// ```
    /// use helpdesk_core::domain::document::{Document, DocumentKind};
    /// let d = Document::parse("529.982.247-25").unwrap();
    /// assert_eq!(d.kind(), DocumentKind::Cpf);
    /// assert_eq!(d.masked(), "***.982.247-**");
    /// assert!(Document::parse("529.982.247-26").is_err());
    /// ```
    pub fn parse(input: &str) -> Result<Document> {
        let mut v = String::with_capacity(14);
        for c in input.trim().chars() {
            match c {
                '.' | '-' | '/' | ' ' => {}
                c if c.is_ascii_alphanumeric() => v.push(c.to_ascii_uppercase()),
                _ => {
                    return Err(Error::invalid(
                        "document",
                        format!(
                            "unexpected character {c:?}; CPF/CNPJ use digits, A-Z, '.', '/', '-'"
                        ),
                    ));
                }
            }
        }
        match v.len() {
            11 => Self::validate_cpf(&v).map(|()| Document {
                kind: DocumentKind::Cpf,
                value: v,
            }),
            14 => Self::validate_cnpj(&v).map(|()| Document {
                kind: DocumentKind::Cnpj,
                value: v,
            }),
            n => Err(Error::invalid(
                "document",
                format!("{n} characters; a CPF has 11 digits and a CNPJ 14 characters"),
            )),
        }
    }

    fn validate_cpf(v: &str) -> Result<()> {
        let d: Vec<u32> = v.chars().filter_map(|c| c.to_digit(10)).collect();
        if d.len() != 11 {
            return Err(Error::invalid("document", "a CPF has digits only"));
        }
        if d.iter().all(|x| *x == d[0]) {
            return Err(Error::invalid(
                "document",
                "CPF with all digits equal is not valid",
            ));
        }
        let dv = |n: usize| {
            let s: u32 = (0..n).map(|i| d[i] * (n as u32 + 1 - i as u32)).sum();
            let r = (s * 10) % 11;
            if r == 10 { 0 } else { r }
        };
        if dv(9) != d[9] || dv(10) != d[10] {
            return Err(Error::invalid("document", "CPF check digits do not match"));
        }
        Ok(())
    }

    fn validate_cnpj(v: &str) -> Result<()> {
        let b = v.as_bytes();
        if !b[12..].iter().all(u8::is_ascii_digit) {
            return Err(Error::invalid(
                "document",
                "the last two CNPJ characters are digits",
            ));
        }
        if b.iter().all(|c| *c == b[0]) {
            return Err(Error::invalid(
                "document",
                "CNPJ with all characters equal is not valid",
            ));
        }
        let val = |c: u8| u32::from(c) - 48;
        let dv = |n: usize| {
            // Weights run 2..=9 from the right, repeating.
            let s: u32 = (0..n)
                .map(|i| val(b[i]) * (2 + ((n - 1 - i) as u32 % 8)))
                .sum();
            let r = s % 11;
            if r < 2 { 0 } else { 11 - r }
        };
        if dv(12) != val(b[12]) || dv(13) != val(b[13]) {
            return Err(Error::invalid("document", "CNPJ check digits do not match"));
        }
        Ok(())
    }

    /// Whether the document is a CPF (a person) or a CNPJ (a company).
    pub fn kind(&self) -> DocumentKind {
        self.kind
    }

    /// Normalized value (`52998224725`, `12ABC34501DE35`).
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// Formatted with the usual punctuation (`529.982.247-25`, `12.ABC.345/01DE-35`).
    pub fn formatted(&self) -> String {
        let v = &self.value;
        match self.kind {
            DocumentKind::Cpf => format!("{}.{}.{}-{}", &v[..3], &v[3..6], &v[6..9], &v[9..]),
            DocumentKind::Cnpj => {
                format!(
                    "{}.{}.{}/{}-{}",
                    &v[..2],
                    &v[2..5],
                    &v[5..8],
                    &v[8..12],
                    &v[12..]
                )
            }
        }
    }

    /// Masked for logs and displays (LGPD): `***.982.247-**` for a CPF,
    /// `**.ABC.345/****-**` for a CNPJ.
    pub fn masked(&self) -> String {
        let v = &self.value;
        match self.kind {
            DocumentKind::Cpf => format!("***.{}.{}-**", &v[3..6], &v[6..9]),
            DocumentKind::Cnpj => format!("**.{}.{}/****-**", &v[2..5], &v[5..8]),
        }
    }
}

impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.formatted())
    }
}

impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Document({:?}, {})", self.kind, self.masked())
    }
}

impl TryFrom<String> for Document {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Document::parse(&s)
    }
}

impl From<Document> for String {
    fn from(d: Document) -> String {
        d.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_cpfs_are_accepted_and_normalized() {
        for s in ["529.982.247-25", "52998224725", " 111.444.777-35 "] {
            let d = Document::parse(s).unwrap();
            assert_eq!(d.kind(), DocumentKind::Cpf);
            assert_eq!(d.as_str().len(), 11);
        }
        assert_eq!(
            Document::parse("52998224725").unwrap().formatted(),
            "529.982.247-25"
        );
    }

    #[test]
    fn cpf_with_wrong_check_digit_or_repeated_digits_is_rejected() {
        for s in [
            "529.982.247-24",
            "111.111.111-11",
            "000.000.000-00",
            "5299822472A",
        ] {
            assert!(Document::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn numeric_cnpj_validates() {
        let d = Document::parse("11.222.333/0001-81").unwrap();
        assert_eq!(d.kind(), DocumentKind::Cnpj);
        assert_eq!(d.as_str(), "11222333000181");
        assert!(Document::parse("11.222.333/0001-82").is_err());
        assert!(Document::parse("00.000.000/0000-00").is_err());
    }

    #[test]
    fn alphanumeric_cnpj_from_july_2026_validates() {
        // Receita Federal's published example.
        let d = Document::parse("12.ABC.345/01DE-35").unwrap();
        assert_eq!(d.as_str(), "12ABC34501DE35");
        assert_eq!(d.formatted(), "12.ABC.345/01DE-35");
        // Lower case input is normalized.
        assert_eq!(Document::parse("12abc34501de35").unwrap(), d);
        // A changed letter breaks the check digits; letters in the check digits are refused.
        assert!(Document::parse("12.ABD.345/01DE-35").is_err());
        assert!(Document::parse("12.ABC.345/01DE-3A").is_err());
    }

    #[test]
    fn masks_hide_leading_and_check_digits() {
        assert_eq!(
            Document::parse("529.982.247-25").unwrap().masked(),
            "***.982.247-**"
        );
        assert_eq!(
            Document::parse("11.222.333/0001-81").unwrap().masked(),
            "**.222.333/****-**"
        );
        assert!(!format!("{:?}", Document::parse("52998224725").unwrap()).contains("52998224725"));
    }

    #[test]
    fn wrong_length_names_the_field() {
        let e = Document::parse("123").unwrap_err();
        assert_eq!(e.field(), Some("document"));
    }
}
