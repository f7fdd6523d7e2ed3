//! The subscription handshake and the payload signature.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Why a webhook request was refused before parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// No `X-Hub-Signature-256` header.
    #[error("missing X-Hub-Signature-256 header")]
    Missing,
    /// The header is not `sha256=<64 hex digits>`.
    #[error("malformed X-Hub-Signature-256 header")]
    Malformed,
    /// The HMAC does not match the body.
    #[error("signature does not match the body")]
    Mismatch,
}

/// Why a subscription handshake was refused (answer 403).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("webhook verification refused: {0}")]
pub struct VerifyRefused(pub &'static str);

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks(2)
        .map(|p| Some(hex_digit(p[0])? << 4 | hex_digit(p[1])?))
        .collect()
}

/// Checks `X-Hub-Signature-256` (`sha256=<hex>`) against the HMAC-SHA256 of the raw `body`
/// keyed with the app secret. The comparison is constant-time. Never re-serialize the body
/// before calling this: Meta escapes `/` and non-ASCII characters, so re-encoded JSON has
/// other bytes and another signature.
pub fn verify_signature(
    app_secret: &[u8],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let hex = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed)?;
    let expected = decode_hex(hex)
        .filter(|v| v.len() == 32)
        .ok_or(SignatureError::Malformed)?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app_secret).map_err(|_| SignatureError::Mismatch)?;
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

/// The header value Meta would send for `body` (for tests and for signing outbound webhooks).
pub fn sign(app_secret: &[u8], body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(app_secret) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    let mut s = String::with_capacity(7 + 64);
    s.push_str("sha256=");
    for b in tag {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// The `GET` handshake: with `hub.mode=subscribe` and the right `hub.verify_token`, the
/// challenge to answer as plain text (200); otherwise refused (403). The token comparison is
/// constant-time.
pub fn verify_subscription<'a>(
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&'a str>,
    expected_token: &str,
) -> Result<&'a str, VerifyRefused> {
    if mode != Some("subscribe") {
        return Err(VerifyRefused("hub.mode is not subscribe"));
    }
    let token = token.ok_or(VerifyRefused("missing hub.verify_token"))?;
    let same = token.len() == expected_token.len()
        && token
            .bytes()
            .zip(expected_token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !same {
        return Err(VerifyRefused("hub.verify_token does not match"));
    }
    challenge
        .filter(|c| !c.is_empty())
        .ok_or(VerifyRefused("missing hub.challenge"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_made_for_a_body_verifies_and_any_change_fails() {
        let h = sign(b"secret", b"{\"a\":1}");
        assert!(h.starts_with("sha256=") && h.len() == 71);
        assert_eq!(verify_signature(b"secret", b"{\"a\":1}", Some(&h)), Ok(()));
        assert_eq!(
            verify_signature(b"secret", b"{\"a\":2}", Some(&h)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(b"other", b"{\"a\":1}", Some(&h)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(b"secret", b"{}", None),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_signature(b"secret", b"{}", Some("sha1=abc")),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_signature(b"secret", b"{}", Some("sha256=zz")),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_signature(
                b"secret",
                b"{\"a\":1}",
                Some(&h.to_uppercase().replace("SHA256=", "sha256="))
            ),
            Ok(()),
            "hex case does not matter"
        );
    }

    #[test]
    fn handshake_answers_the_challenge_only_for_the_right_token() {
        assert_eq!(
            verify_subscription(Some("subscribe"), Some("tok"), Some("123"), "tok"),
            Ok("123")
        );
        assert!(verify_subscription(Some("subscribe"), Some("bad"), Some("123"), "tok").is_err());
        assert!(verify_subscription(Some("unsubscribe"), Some("tok"), Some("123"), "tok").is_err());
        assert!(verify_subscription(Some("subscribe"), None, Some("123"), "tok").is_err());
        assert!(verify_subscription(Some("subscribe"), Some("tok"), None, "tok").is_err());
    }
}
