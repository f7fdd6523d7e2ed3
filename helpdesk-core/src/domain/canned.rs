//! Canned responses: `/shortcut` lookup and `{{variable}}` rendering.

use crate::ids::*;
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A saved reply that agents insert by its `/shortcut`; its body is rendered with
/// [`render`] before it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CannedResponse {
    /// Identifies the canned response.
    pub id: CannedResponseId,
    /// Organization the canned response belongs to; shortcuts are unique within it.
    pub org_id: OrgId,
    /// Shortcut without the slash, lower case, unique per tenant (`thanks`).
    pub shortcut: String,
    /// Human-readable name shown in pickers next to the shortcut, trimmed, 1 to 120 characters.
    pub title: String,
    /// Body with `{{variables}}`.
    pub body: String,
    /// Free label that groups canned responses in pickers (`Cobrança`); `None` when ungrouped.
    pub category: Option<String>,
    /// When the canned response was created (UTC).
    pub created_at: DateTime<Utc>,
}

/// Normalizes a shortcut: optional leading `/`, lower case, `[a-z0-9_-]`, 1-32 chars.
pub fn normalize_shortcut(s: &str) -> Result<String> {
    let t = s.trim().trim_start_matches('/').to_lowercase();
    let ok = !t.is_empty()
        && t.len() <= 32
        && t.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(t)
    } else {
        Err(Error::invalid(
            "shortcut",
            "1-32 characters among a-z, 0-9, '_' and '-'",
        ))
    }
}

/// What [`render`] produced from a canned response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Text with known variables replaced; unknown ones stay as written.
    pub text: String,
    /// Names of variables that had no value, in order of first appearance.
    pub unknown: Vec<String>,
}

/// Replaces `{{ name }}` placeholders (spaces inside the braces allowed) with `vars`.
///
/// ```
/// use helpdesk_core::domain::canned::render;
/// let vars = [("customer_name".to_string(), "Maria".to_string())].into_iter().collect();
/// let r = render("Olá {{customer_name}}, ticket {{ ticket_number }}", &vars);
/// assert_eq!(r.text, "Olá Maria, ticket {{ ticket_number }}");
/// assert_eq!(r.unknown, ["ticket_number"]);
/// ```
pub fn render(body: &str, vars: &BTreeMap<String, String>) -> Rendered {
    let mut text = String::with_capacity(body.len());
    let mut unknown: Vec<String> = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        text.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let raw = &after[..end];
                let name = raw.trim();
                let valid = !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
                match vars.get(name) {
                    Some(v) if valid => text.push_str(v),
                    _ => {
                        text.push_str(&rest[start..start + 2 + end + 2]);
                        if valid && !unknown.iter().any(|u| u == name) {
                            unknown.push(name.to_owned());
                        }
                    }
                }
                rest = &after[end + 2..];
            }
            None => {
                text.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    text.push_str(rest);
    Rendered { text, unknown }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(p: &[(&str, &str)]) -> BTreeMap<String, String> {
        p.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn known_variables_are_replaced_and_unknown_reported_once() {
        let r = render(
            "{{customer_name}} #{{ticket_number}} {{agent_name}} {{x}} {{x}}",
            &vars(&[
                ("customer_name", "Ana"),
                ("ticket_number", "1001"),
                ("agent_name", "Bia"),
            ]),
        );
        assert_eq!(r.text, "Ana #1001 Bia {{x}} {{x}}");
        assert_eq!(r.unknown, ["x"]);
    }

    #[test]
    fn unbalanced_braces_are_kept_verbatim() {
        let r = render("a {{b", &vars(&[]));
        assert_eq!(r.text, "a {{b");
        assert!(r.unknown.is_empty());
    }

    #[test]
    fn shortcuts_normalize() {
        assert_eq!(normalize_shortcut("/Thanks").unwrap(), "thanks");
        assert!(normalize_shortcut("/").is_err());
        assert!(normalize_shortcut("olá").is_err());
    }
}
