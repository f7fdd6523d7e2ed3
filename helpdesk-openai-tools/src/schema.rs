//! The OpenAI strict-mode subset of JSON Schema, checked. Every tool this crate renders passes
//! [`check_strict`]; integrators can run it over their own tools too.
//!
//! Rules (the subset OpenAI's strict mode accepts): the root is an object and not an
//! `anyOf`; every object lists all its properties in `required` and has
//! `additionalProperties: false`; optional values are unions with `null`; no `default`,
//! `oneOf`, `allOf`, `not`, `if`/`then`/`else`, `dependentRequired`, `dependentSchemas`,
//! `patternProperties`; `format` only among the supported ones; at most 5,000 properties,
//! 10 levels of nesting, 120,000 characters of names and enum/const values, 1,000 enum values,
//! and a string enum of more than 250 values within 15,000 characters.

use serde_json::Value;

/// The `format` values strict mode accepts on strings; [`check_strict`] reports any other.
pub const ALLOWED_FORMATS: [&str; 9] = [
    "date-time",
    "time",
    "date",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uuid",
];

const FORBIDDEN: [&str; 10] = [
    "default",
    "oneOf",
    "allOf",
    "not",
    "if",
    "then",
    "else",
    "dependentRequired",
    "dependentSchemas",
    "patternProperties",
];

/// One broken rule, with the JSON pointer of the schema node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where (`/properties/setor`).
    pub path: String,
    /// The rule broken, in words (``format `uri` is not supported``).
    pub rule: String,
}

#[derive(Default)]
struct Totals {
    properties: usize,
    chars: usize,
    enum_values: usize,
}

/// Checks a function's `parameters` schema against the strict-mode subset. Empty = valid.
pub fn check_strict(schema: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut t = Totals::default();
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        out.push(v("", "the root must be an object"));
    }
    if schema.get("anyOf").is_some() {
        out.push(v("", "the root must not be anyOf"));
    }
    walk(schema, "", 1, &mut t, &mut out);
    if t.properties > 5000 {
        out.push(v("", "more than 5,000 properties"));
    }
    if t.chars > 120_000 {
        out.push(v("", "more than 120,000 characters of names and values"));
    }
    if t.enum_values > 1000 {
        out.push(v("", "more than 1,000 enum values"));
    }
    out
}

/// Whether a function name is valid for both APIs (`^[a-zA-Z0-9_-]{1,64}$`).
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn v(path: &str, rule: &str) -> Violation {
    Violation {
        path: if path.is_empty() {
            "/".into()
        } else {
            path.into()
        },
        rule: rule.into(),
    }
}

fn walk(node: &Value, path: &str, depth: usize, t: &mut Totals, out: &mut Vec<Violation>) {
    let Some(obj) = node.as_object() else {
        out.push(v(path, "a schema must be an object"));
        return;
    };
    if depth > 10 {
        out.push(v(path, "more than 10 levels of nesting"));
    }
    for k in FORBIDDEN {
        if obj.contains_key(k) {
            out.push(v(path, &format!("`{k}` is not supported in strict mode")));
        }
    }
    if let Some(f) = obj.get("format").and_then(Value::as_str)
        && !ALLOWED_FORMATS.contains(&f)
    {
        out.push(v(path, &format!("format `{f}` is not supported")));
    }
    for key in ["enum"] {
        if let Some(values) = obj.get(key).and_then(Value::as_array) {
            t.enum_values += values.len();
            let chars: usize = values
                .iter()
                .filter_map(Value::as_str)
                .map(|s| s.chars().count())
                .sum();
            t.chars += chars;
            if values.len() > 250 && chars > 15_000 {
                out.push(v(
                    path,
                    "a string enum of more than 250 values exceeds 15,000 characters",
                ));
            }
        }
    }
    if let Some(c) = obj.get("const").and_then(Value::as_str) {
        t.chars += c.chars().count();
    }
    let types: Vec<&str> = match obj.get("type") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if types.is_empty() && !obj.contains_key("anyOf") && !obj.contains_key("$ref") {
        out.push(v(path, "every schema needs a `type` (or `anyOf`)"));
    }
    if types.contains(&"object") {
        let props = obj.get("properties").and_then(Value::as_object);
        if obj.get("additionalProperties") != Some(&Value::Bool(false)) {
            out.push(v(path, "objects need `additionalProperties: false`"));
        }
        let required: Vec<&str> = obj
            .get("required")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        match props {
            None => out.push(v(path, "objects need `properties`")),
            Some(props) => {
                for (name, sub) in props {
                    t.properties += 1;
                    t.chars += name.chars().count();
                    if !required.contains(&name.as_str()) {
                        out.push(v(
                            &format!("{path}/properties/{name}"),
                            "every property must be in `required` (optional = union with null)",
                        ));
                    }
                    walk(sub, &format!("{path}/properties/{name}"), depth + 1, t, out);
                }
                for r in &required {
                    if !props.contains_key(*r) {
                        out.push(v(path, &format!("`required` names unknown property `{r}`")));
                    }
                }
            }
        }
    }
    if types.contains(&"array") {
        match obj.get("items") {
            Some(items) => walk(items, &format!("{path}/items"), depth + 1, t, out),
            None => out.push(v(path, "arrays need `items`")),
        }
    }
    if let Some(branches) = obj.get("anyOf").and_then(Value::as_array) {
        for (i, b) in branches.iter().enumerate() {
            walk(b, &format!("{path}/anyOf/{i}"), depth + 1, t, out);
        }
    }
    if let Some(defs) = obj.get("$defs").and_then(Value::as_object) {
        for (name, d) in defs {
            t.chars += name.chars().count();
            walk(d, &format!("{path}/$defs/{name}"), depth + 1, t, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_strict_schema_passes_and_each_broken_rule_is_named() {
        let ok = json!({"type": "object", "properties": {
            "a": {"type": "string"}, "b": {"type": ["integer", "null"]},
            "c": {"anyOf": [{"type": "object", "properties": {"x": {"type": "string", "enum": ["1"]}},
                             "required": ["x"], "additionalProperties": false}, {"type": "null"}]}},
            "required": ["a", "b", "c"], "additionalProperties": false});
        assert_eq!(check_strict(&ok), vec![]);
        let bad = json!({"type": "object", "properties": {
            "a": {"type": "string", "default": "x"}, "b": {"type": "string", "format": "uri"},
            "c": {"oneOf": [{"type": "string"}]}, "d": {"type": "object", "properties": {}}},
            "required": ["a", "b", "c"]});
        let rules: Vec<String> = check_strict(&bad)
            .into_iter()
            .map(|x| format!("{} {}", x.path, x.rule))
            .collect();
        let has = |s: &str| rules.iter().any(|r| r.contains(s));
        assert!(
            has("/ objects need `additionalProperties: false`"),
            "{rules:?}"
        );
        assert!(has("/properties/a `default`"), "{rules:?}");
        assert!(has("/properties/b format `uri`"), "{rules:?}");
        assert!(has("/properties/c `oneOf`"), "{rules:?}");
        assert!(
            has("/properties/d every property must be in `required`"),
            "{rules:?}"
        );
        assert!(
            has("/properties/d objects need `additionalProperties: false`"),
            "{rules:?}"
        );
        assert!(
            !check_strict(&json!({"anyOf": [ok]})).is_empty(),
            "root anyOf refused"
        );
    }

    #[test]
    fn names_follow_the_pattern() {
        assert!(valid_name("abrir_ticket_crm"));
        assert!(!valid_name("abrir ticket"));
        assert!(!valid_name(""));
        assert!(!valid_name(&"a".repeat(65)));
    }
}
