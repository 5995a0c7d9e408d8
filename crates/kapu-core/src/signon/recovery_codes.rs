//! One-time recovery codes: shown once, kept only as digests, each good for one login.

use crate::error::{Error, Result};
use crate::platform::crypto::sha256_hex;

/// Codes made at a time.
pub const COUNT: usize = 10;
/// Crockford's base32: no I, L, O or U, and a misread O, I or L is taken for 0 or 1, so a
/// code copied from paper still matches.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const GROUPS: usize = 3;
const GROUP_LEN: usize = 4;

/// New codes, written `XXXX-XXXX-XXXX` (60 bits each).
pub fn generate() -> Result<Vec<String>> {
    let mut codes = Vec::with_capacity(COUNT);
    for _ in 0..COUNT {
        let mut raw = [0u8; GROUPS * GROUP_LEN];
        getrandom::fill(&mut raw).map_err(|e| Error::Internal(format!("rng: {e}")))?;
        let mut code = String::with_capacity(GROUPS * (GROUP_LEN + 1));
        for (i, b) in raw.iter().enumerate() {
            if i > 0 && i % GROUP_LEN == 0 {
                code.push('-');
            }
            code.push(char::from(ALPHABET[usize::from(b & 31)]));
        }
        codes.push(code);
    }
    Ok(codes)
}

/// What a person typed, the way codes are compared: dashes and spaces dropped, upper case.
pub fn normalise(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect()
}

/// Whether the input could be a code at all (so that junk is refused before any lookup).
pub fn well_formed(code: &str) -> bool {
    let n = normalise(code);
    n.len() == GROUPS * GROUP_LEN && n.bytes().all(|b| ALPHABET.contains(&b))
}

/// The digest a code is stored and looked up by.
pub fn digest(code: &str) -> String {
    sha256_hex(normalise(code).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_well_formed_and_match_however_typed() {
        let codes = generate().unwrap();
        assert_eq!(codes.len(), COUNT);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), COUNT);
        for c in &codes {
            assert_eq!(c.len(), 14);
            assert!(well_formed(c));
            let typed = c.to_lowercase().replace('-', " ");
            assert!(well_formed(&typed));
            assert_eq!(digest(&typed), digest(c));
        }
        assert!(!well_formed("123456"));
        assert!(!well_formed("UUUU-UUUU-UUUU"));
        assert_eq!(digest("OIL0-0000-0000"), digest("0110-0000-0000"));
    }
}
