//! Text folding used wherever our users type names: case, accents and spacing never matter.

use unicode_normalization::UnicodeNormalization;

/// Folds `s` for comparison: Unicode decomposition with combining marks removed, upper case,
/// surrounding spaces trimmed and inner runs of white space collapsed to one space.
///
/// ```
/// use helpdesk_core::domain::text::fold;
/// assert_eq!(fold("  técnico "), "TECNICO");
/// assert_eq!(fold("Informação   Login/Senha"), "INFORMACAO LOGIN/SENHA");
/// ```
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.nfd() {
        if ('\u{300}'..='\u{36f}').contains(&c) {
            continue;
        }
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.extend(c.to_uppercase());
    }
    out
}

/// Levenshtein edit distance over chars (used to suggest the closest valid value).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate closest to `given` after folding both; ties go to the earlier candidate.
/// A candidate that contains the folded input (or is contained in it) wins over edit distance.
pub fn closest<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let g = fold(given);
    candidates
        .into_iter()
        .map(|c| {
            let f = fold(c);
            let contained = !g.is_empty() && (f.contains(&g) || g.contains(&f));
            let d = edit_distance(&g, &f);
            ((usize::from(!contained), d), c)
        })
        .min_by_key(|(k, _)| *k)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_ignores_case_accents_and_spacing() {
        assert_eq!(fold("Cobrança"), "COBRANCA");
        assert_eq!(fold("\tRECEPÇÃO\n"), "RECEPCAO");
        assert_eq!(fold("a  b"), "A B");
        assert_eq!(fold(""), "");
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn closest_prefers_containment_then_distance() {
        let c = ["SEM CONEXAO", "SEM INTERNET", "LENTIDAO"];
        assert_eq!(closest("internet", c), Some("SEM INTERNET"));
        assert_eq!(closest("LENTIDAU", c), Some("LENTIDAO"));
    }
}
