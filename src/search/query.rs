//! Builds the tantivy query of a search, programmatically (user text never reaches a query
//! parser). See the module documentation of [`super`] for the ranking it encodes.

use std::fmt;
use std::sync::Arc;

use tantivy::Term;
use tantivy::query::{
    AutomatonWeight, BooleanQuery, ConstScoreQuery, DfaWrapper, EnableScoring, FuzzyTermQuery, Occur, PhraseQuery,
    Query, TermQuery, Weight,
};
use tantivy::schema::{Field, IndexRecordOption};

use super::max_of::{AllOf, AnyOf, MaxOf};
use super::schema::KindFields;
use super::text::{NGRAM_MAX_CHARS, char_len, joined, typo_budget};

/// What every matched query term is worth before penalties: keeps every score positive, and
/// the tiers apart from the relevance added to them.
pub const TERM_BASE: u32 = 10_000;
/// Taken off a term that matched only as a prefix (the last term).
pub const PREFIX_PENALTY: u32 = 1_000;
/// Taken off a term that matched only within its typo budget.
pub const TYPO_PENALTY: u32 = 3_000;
/// The name is exactly the query.
pub const EXACT_NAME_BONUS: u32 = 32;
/// The name is the query with a typo or two (see [`name_typo_budget`]).
pub const CLOSE_NAME_BONUS: u32 = 24;
/// The name starts with the query (queries of 4 characters or more).
pub const STARTS_NAME_BONUS: u32 = 16;
/// The query's terms appear in the name in order, next to each other (2 terms or more, all
/// whole words).
pub const PHRASE_BONUS: u32 = 8;
/// The starts-with bonus is only looked for from this many characters of query.
const STARTS_MIN_CHARS: usize = 4;

/// The queries of one search.
pub struct Plan {
    /// Tiers 1 to 3: every term matches (exactly, by prefix for the last, or with a typo).
    pub strict: Box<dyn Query>,
    /// Tier 4, run only when `strict` matches nothing: any term matches. `None` for one term.
    pub fallback: Option<Box<dyn Query>>,
}

/// A term query over a shared automaton (a Levenshtein DFA built once per query term and
/// used on every field, instead of once per field).
#[derive(Clone)]
struct AutomatonQuery {
    field: Field,
    automaton: Arc<DfaWrapper>,
}

impl fmt::Debug for AutomatonQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AutomatonQuery({:?})", self.field)
    }
}

impl Query for AutomatonQuery {
    fn weight(&self, _scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(AutomatonWeight::<DfaWrapper>::new(self.field, Arc::clone(&self.automaton))))
    }
}

fn constant(query: impl Query, score: u32) -> Box<dyn Query> {
    // Exact in f32: scores stay far below 2^24.
    Box::new(ConstScoreQuery::new(Box::new(query), score as f32))
}

/// An alternative of a [`MaxOf`]: a query and the score it gives.
fn alternative(query: impl Query, score: u32) -> (Box<dyn Query>, u16) {
    (Box::new(query), u16::try_from(score).unwrap_or(u16::MAX))
}

fn term(field: Field, text: &str) -> TermQuery {
    TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::Basic)
}

/// A Levenshtein automaton for `text` (any field: the field is not part of it).
fn dfa(field: Field, text: &str, distance: u8, prefix: bool) -> tantivy::Result<Arc<DfaWrapper>> {
    let term = Term::from_field_text(field, text);
    let query = if prefix {
        FuzzyTermQuery::new_prefix(term, distance, true)
    } else {
        FuzzyTermQuery::new(term, distance, true)
    };
    Ok(Arc::new(query.automaton()?))
}

/// Builds tantivy's Levenshtein automaton builders (once per process, tens of milliseconds for
/// distance 2) so that the first search does not pay for them.
pub fn warm_up() -> tantivy::Result<()> {
    let field = Field::from_field_id(0);
    for distance in 0..=2 {
        dfa(field, "warm", distance, false)?;
    }
    Ok(())
}

/// The typo budget of the whole name for the close-name bonus: 1 from 4 characters, 2 from 8.
fn name_typo_budget(full: &str) -> u8 {
    match char_len(full) {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// The clause of one query term: the best of its alternatives over every attribute.
fn term_clause(fields: &KindFields, text: &str, last: bool) -> tantivy::Result<MaxOf> {
    let budget = typo_budget(text);
    let any = fields.name().exact;
    let typo = if budget > 0 { Some(dfa(any, text, budget, last)?) } else { None };
    let long_prefix = if last && char_len(text) > NGRAM_MAX_CHARS { Some(dfa(any, text, 0, true)?) } else { None };
    let mut alternatives = Vec::new();
    for attr in &fields.texts {
        alternatives.push(alternative(term(attr.exact, text), TERM_BASE + attr.weight));
        if last {
            let score = TERM_BASE - PREFIX_PENALTY + attr.weight;
            match &long_prefix {
                Some(automaton) => alternatives
                    .push(alternative(AutomatonQuery { field: attr.exact, automaton: Arc::clone(automaton) }, score)),
                None => alternatives.push(alternative(term(attr.prefix, text), score)),
            }
        }
        if let Some(automaton) = &typo {
            alternatives.push(alternative(
                AutomatonQuery { field: attr.exact, automaton: Arc::clone(automaton) },
                TERM_BASE - TYPO_PENALTY + attr.weight,
            ));
        }
    }
    Ok(MaxOf::new(alternatives))
}

/// The bonuses of the name: exact / typo-close / starts-with (the best of them), and phrase.
fn name_bonuses(fields: &KindFields, terms: &[String]) -> tantivy::Result<Vec<Box<dyn Query>>> {
    let full = joined(terms);
    let mut whole = vec![alternative(term(fields.full, &full), EXACT_NAME_BONUS)];
    let budget = name_typo_budget(&full);
    if budget > 0 {
        whole.push(alternative(
            AutomatonQuery { field: fields.full, automaton: dfa(fields.full, &full, budget, false)? },
            CLOSE_NAME_BONUS,
        ));
    }
    if char_len(&full) >= STARTS_MIN_CHARS {
        whole.push(alternative(
            AutomatonQuery { field: fields.full, automaton: dfa(fields.full, &full, 0, true)? },
            STARTS_NAME_BONUS,
        ));
    }
    let mut bonuses: Vec<Box<dyn Query>> = vec![Box::new(MaxOf::new(whole).sparse())];
    if terms.len() >= 2 {
        let name = fields.name().exact;
        let phrase = PhraseQuery::new(terms.iter().map(|t| Term::from_field_text(name, t)).collect());
        bonuses.push(constant(phrase, PHRASE_BONUS));
    }
    Ok(bonuses)
}

/// The queries for `terms` (non-empty, already normalised and capped) over one kind.
pub fn plan(fields: &KindFields, terms: &[String]) -> tantivy::Result<Plan> {
    let mut clauses = Vec::with_capacity(terms.len());
    for (n, text) in terms.iter().enumerate() {
        clauses.push(term_clause(fields, text, n + 1 == terms.len())?);
    }
    let bonuses = name_bonuses(fields, terms)?;
    let with_bonuses = |required: Vec<(Occur, Box<dyn Query>)>| -> Box<dyn Query> {
        let mut all = required;
        all.extend(bonuses.iter().map(|b| (Occur::Should, b.box_clone())));
        Box::new(BooleanQuery::new(all))
    };
    let fallback = (clauses.len() >= 2).then(|| {
        let any: Box<dyn Query> = Box::new(AnyOf::new(clauses.clone()));
        with_bonuses(vec![(Occur::Must, any)])
    });
    let strict = with_bonuses(vec![(Occur::Must, Box::new(AllOf::new(clauses)))]);
    Ok(Plan { strict, fallback })
}
