//! Text normalisation, shared by indexing and querying so both sides see the same terms.
//!
//! `"Beyoncé – Don't Stop (Live)"` becomes `["beyonce", "dont", "stop", "live"]`: apostrophes
//! are dropped inside words (so "don't" and "dont" are the same term), the text is split on
//! every other non-alphanumeric character, lowercased and ASCII-folded (é → e, ß → ss,
//! ø → o …, tantivy's `AsciiFoldingFilter`). Numbers are kept. Scripts without an ASCII folding
//! (CJK, Cyrillic, …) are kept as they are, lowercased.

use std::cell::RefCell;

use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer, TokenStream,
};

/// A query is cut to this many characters before it is analysed.
pub const MAX_QUERY_CHARS: usize = 200;
/// At most this many query terms are used; the rest are ignored.
pub const MAX_QUERY_TERMS: usize = 32;
/// Tokens of this many bytes or more are dropped. Generous, because scripts written without
/// spaces (Japanese, Chinese) make whole titles one token.
const MAX_TOKEN_BYTES: usize = 256;
/// Prefixes of up to this many characters are indexed as terms of their own (the `*_pre`
/// fields), so the shortest autocomplete prefixes, which would expand to thousands of terms,
/// are one posting list each. Longer prefixes expand over the term dictionary.
pub const NGRAM_MAX_CHARS: usize = 3;
/// The whole normalised name, indexed as one term, is cut to this many bytes.
const MAX_FULL_BYTES: usize = 255;

thread_local! {
    static ANALYZER: RefCell<TextAnalyzer> = RefCell::new(
        TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(LowerCaser)
            .filter(AsciiFoldingFilter)
            .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
            .build(),
    );
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{2018}' | '\u{02BC}' | '`' | '\u{00B4}')
}

/// The normalised terms of `text`, in order.
pub fn analyze(text: &str) -> Vec<String> {
    let cleaned: String;
    let text = if text.chars().any(is_apostrophe) {
        cleaned = text.chars().filter(|&c| !is_apostrophe(c)).collect();
        cleaned.as_str()
    } else {
        text
    };
    ANALYZER.with(|analyzer| {
        let mut analyzer = analyzer.borrow_mut();
        let mut stream = analyzer.token_stream(text);
        let mut terms = Vec::new();
        while stream.advance() {
            let token = &stream.token().text;
            if !token.is_empty() {
                terms.push(token.clone());
            }
        }
        terms
    })
}

/// The terms of a user's query: at most [`MAX_QUERY_CHARS`] characters are read and at most
/// [`MAX_QUERY_TERMS`] terms kept.
pub fn query_terms(query: &str) -> Vec<String> {
    let cut = query.char_indices().nth(MAX_QUERY_CHARS).map_or(query, |(at, _)| &query[..at]);
    let mut terms = analyze(cut);
    terms.truncate(MAX_QUERY_TERMS);
    terms
}

/// The terms joined by single spaces: what the `*_full` fields index (one term per document)
/// and what the query is compared with there.
pub fn joined(terms: &[String]) -> String {
    let mut out = terms.join(" ");
    if out.len() > MAX_FULL_BYTES {
        let mut end = MAX_FULL_BYTES;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    out
}

/// The edge n-grams (prefixes of 1..=[`NGRAM_MAX_CHARS`] characters) of every term, distinct,
/// space-separated, for a `*_pre` field.
pub fn edge_ngrams(terms: &[String]) -> String {
    let mut grams: Vec<&str> = Vec::with_capacity(terms.len() * NGRAM_MAX_CHARS);
    for term in terms {
        for (n, (at, c)) in term.char_indices().enumerate() {
            if n == NGRAM_MAX_CHARS {
                break;
            }
            grams.push(&term[..at + c.len_utf8()]);
        }
    }
    grams.sort_unstable();
    grams.dedup();
    grams.join(" ")
}

/// Number of characters of a term.
pub fn char_len(term: &str) -> usize {
    term.chars().count()
}

/// The edit distance a term may be typed with: 0 below 4 characters and for anything with a
/// digit in it (numbers are not typos), 1 from 4 characters, 2 from 8.
pub fn typo_budget(term: &str) -> u8 {
    if term.chars().any(|c| c.is_numeric()) {
        return 0;
    }
    match char_len(term) {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_accents_apostrophes_and_punctuation() {
        assert_eq!(analyze("Beyoncé – Don't Stop (Live) 1999"), ["beyonce", "dont", "stop", "live", "1999"]);
        assert_eq!(analyze("Straße ÆON Ångström"), ["strasse", "aeon", "angstrom"]);
        assert_eq!(analyze("AC/DC"), ["ac", "dc"]);
        assert_eq!(analyze("rock ’n’ roll"), ["rock", "n", "roll"]);
        assert!(analyze("  ...  \"\" ").is_empty());
        assert_eq!(analyze("東京 Москва"), ["東京", "москва"]);
    }

    #[test]
    fn caps_queries() {
        let long = "word ".repeat(100);
        assert_eq!(query_terms(&long).len(), MAX_QUERY_TERMS);
        let one = "a".repeat(1000);
        assert_eq!(query_terms(&one), ["a".repeat(MAX_QUERY_CHARS)]);
        let wide = "ö".repeat(1000);
        assert_eq!(query_terms(&wide), ["o".repeat(MAX_QUERY_CHARS)]);
        assert!(analyze(&"x".repeat(300)).is_empty());
    }

    #[test]
    fn ngrams_and_budgets() {
        let terms = analyze("Dancing Queen ab");
        assert_eq!(edge_ngrams(&terms), "a ab d da dan q qu que");
        assert_eq!(edge_ngrams(&analyze("Émile")), "e em emi");
        assert_eq!(typo_budget("abc"), 0);
        assert_eq!(typo_budget("abcd"), 1);
        assert_eq!(typo_budget("abcdefgh"), 2);
        assert_eq!(typo_budget("1999"), 0);
        assert_eq!(joined(&terms), "dancing queen ab");
        assert!(joined(&analyze(&"é ".repeat(300))).len() <= MAX_FULL_BYTES);
    }
}
