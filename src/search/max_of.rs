//! [`MaxOf`]: matches what any of its sub-queries matches, scoring a document with the
//! largest constant of the sub-queries that match it — tantivy's `DisjunctionMaxQuery` over
//! `ConstScoreQuery`s, made cheap for the broad clauses of autocomplete.
//!
//! Over a segment, when the sub-queries match few documents (their size hints add up to less
//! than 1/32 of the segment), it merges them like a union does. When they match many — "t", or
//! "the" over a million tracks — it marks them in a bitset and adds each document's best score
//! to an array indexed by doc id: one pass over the postings, then iteration on the bitset,
//! several times cheaper than tantivy's buffered union (and its seeks, under an intersection).
//!
//! [`AllOf`] intersects `MaxOf`s (the query terms, all required). When every clause is broad it
//! materialises them all into one bitset (the AND of theirs) and one array of summed scores;
//! when one is selective ("the" + "rooftop"), tantivy's intersection is driven by it and the
//! broad ones are only seeked into, which is cheaper than reading them whole.

use tantivy::query::{EmptyScorer, EnableScoring, Explanation, Query, Scorer, Weight, intersect_scorers};
use tantivy::{COLLECT_BLOCK_BUFFER_LEN, DocId, DocSet, Score, SegmentReader, TERMINATED, TantivyError};

/// A disjunction scored by the best matching constant.
#[derive(Debug)]
pub struct MaxOf {
    alternatives: Vec<(Box<dyn Query>, u16)>,
    may_be_dense: bool,
}

impl Clone for MaxOf {
    fn clone(&self) -> Self {
        MaxOf {
            alternatives: self.alternatives.iter().map(|(query, score)| (query.box_clone(), *score)).collect(),
            may_be_dense: self.may_be_dense,
        }
    }
}

impl MaxOf {
    /// `alternatives`: each query with the score a document matching it gets (the best wins).
    pub fn new(alternatives: Vec<(Box<dyn Query>, u16)>) -> MaxOf {
        MaxOf { alternatives, may_be_dense: true }
    }

    /// Never materialised: for optional clauses, which are only ever seeked into.
    pub fn sparse(mut self) -> MaxOf {
        self.may_be_dense = false;
        self
    }

    fn max_of_weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<MaxOfWeight> {
        // The sub-queries only select documents.
        let unscored = match scoring.searcher() {
            Some(searcher) => EnableScoring::disabled_from_searcher(searcher),
            None => EnableScoring::disabled_from_schema(scoring.schema()),
        };
        let weights = self
            .alternatives
            .iter()
            .map(|(query, score)| Ok((query.weight(unscored)?, *score)))
            .collect::<tantivy::Result<_>>()?;
        Ok(MaxOfWeight { weights, may_be_dense: self.may_be_dense })
    }
}

impl Query for MaxOf {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.max_of_weight(scoring)?))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a tantivy::Term, bool)) {
        for (query, _) in &self.alternatives {
            query.query_terms(visitor);
        }
    }
}

/// Every one of its clauses must match; the score is the sum of theirs.
#[derive(Debug, Clone)]
pub struct AllOf {
    clauses: Vec<MaxOf>,
}

impl AllOf {
    pub fn new(clauses: Vec<MaxOf>) -> AllOf {
        AllOf { clauses }
    }
}

impl Query for AllOf {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let clauses =
            self.clauses.iter().map(|clause| clause.max_of_weight(scoring)).collect::<tantivy::Result<_>>()?;
        Ok(Box::new(AllOfWeight { clauses }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a tantivy::Term, bool)) {
        for clause in &self.clauses {
            clause.query_terms(visitor);
        }
    }
}

struct AllOfWeight {
    clauses: Vec<MaxOfWeight>,
}

impl Weight for AllOfWeight {
    fn scorer(&self, reader: &SegmentReader, _boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let mut parts = Vec::with_capacity(self.clauses.len());
        for clause in &self.clauses {
            let part = clause.parts(reader)?;
            if part.scorers.is_empty() {
                return Ok(Box::new(EmptyScorer));
            }
            parts.push(part);
        }
        let max_doc = reader.max_doc();
        // Materialise only if no clause is selective enough to drive the intersection.
        if parts.iter().all(|part| part.is_broad(max_doc)) {
            return Ok(Box::new(DenseAll::build(parts, max_doc, true)));
        }
        let scorers = parts.into_iter().map(|part| part.into_scorer(false, max_doc)).collect();
        Ok(intersect_scorers(scorers, reader.num_docs()))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        explain(self.scorer(reader, 1.0)?, doc)
    }
}

/// At least one of its clauses must match; the score is the sum of those that do.
#[derive(Debug, Clone)]
pub struct AnyOf {
    clauses: Vec<MaxOf>,
}

impl AnyOf {
    pub fn new(clauses: Vec<MaxOf>) -> AnyOf {
        AnyOf { clauses }
    }
}

impl Query for AnyOf {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let clauses =
            self.clauses.iter().map(|clause| clause.max_of_weight(scoring)).collect::<tantivy::Result<_>>()?;
        Ok(Box::new(AnyOfWeight { clauses }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a tantivy::Term, bool)) {
        for clause in &self.clauses {
            clause.query_terms(visitor);
        }
    }
}

struct AnyOfWeight {
    clauses: Vec<MaxOfWeight>,
}

impl Weight for AnyOfWeight {
    fn scorer(&self, reader: &SegmentReader, _boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let mut parts = Vec::with_capacity(self.clauses.len());
        for clause in &self.clauses {
            let part = clause.parts(reader)?;
            if !part.scorers.is_empty() {
                parts.push(part);
            }
        }
        let max_doc = reader.max_doc();
        let hint: u64 = parts.iter().map(|part| part.hint).sum();
        if is_broad(hint, max_doc) {
            return Ok(Box::new(DenseAll::build(parts, max_doc, false)));
        }
        let scorers = parts.into_iter().map(|part| part.into_scorer(false, max_doc)).collect();
        Ok(Box::new(SparseSum::new(scorers)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        explain(self.scorer(reader, 1.0)?, doc)
    }
}

struct MaxOfWeight {
    weights: Vec<(Box<dyn Weight>, u16)>,
    may_be_dense: bool,
}

/// The sub-scorers of a [`MaxOf`] over one segment.
struct Parts {
    scorers: Vec<(Box<dyn Scorer>, u16)>,
    /// The sum of their size hints.
    hint: u64,
    may_be_dense: bool,
}

/// Dense from this share of the segment's documents (as 1/n).
const DENSE_FROM_ONE_IN: u64 = 32;

/// Whether `hint` documents are enough of a segment to materialise them.
fn is_broad(hint: u64, max_doc: DocId) -> bool {
    max_doc > 0 && hint.saturating_mul(dense_from_one_in()) >= u64::from(max_doc)
}

#[cfg(not(test))]
fn dense_from_one_in() -> u64 {
    DENSE_FROM_ONE_IN
}

#[cfg(test)]
thread_local! {
    /// Tests force one path or the other: 0 never materialises, `u64::MAX` always does.
    pub static DENSE_OVERRIDE: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
}

#[cfg(test)]
fn dense_from_one_in() -> u64 {
    DENSE_OVERRIDE.with(|o| o.get()).unwrap_or(DENSE_FROM_ONE_IN)
}

impl Parts {
    fn is_broad(&self, max_doc: DocId) -> bool {
        self.may_be_dense && is_broad(self.hint, max_doc)
    }

    fn into_scorer(self, dense: bool, max_doc: DocId) -> Box<dyn Scorer> {
        if dense && self.may_be_dense {
            Box::new(DenseAll::build(vec![self], max_doc, true))
        } else {
            Box::new(SparseMax::new(self.scorers))
        }
    }
}

impl MaxOfWeight {
    fn parts(&self, reader: &SegmentReader) -> tantivy::Result<Parts> {
        let mut scorers = Vec::with_capacity(self.weights.len());
        let mut hint = 0u64;
        for (weight, score) in &self.weights {
            let scorer = weight.scorer(reader, 1.0)?;
            if scorer.doc() != TERMINATED {
                hint += u64::from(scorer.size_hint());
                scorers.push((scorer, *score));
            }
        }
        Ok(Parts { scorers, hint, may_be_dense: self.may_be_dense })
    }
}

impl Weight for MaxOfWeight {
    fn scorer(&self, reader: &SegmentReader, _boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let parts = self.parts(reader)?;
        let dense = parts.is_broad(reader.max_doc());
        Ok(parts.into_scorer(dense, reader.max_doc()))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        explain(self.scorer(reader, 1.0)?, doc)
    }
}

fn explain(mut scorer: Box<dyn Scorer>, doc: DocId) -> tantivy::Result<Explanation> {
    if scorer.seek(doc) == doc {
        Ok(Explanation::new("segue search", scorer.score()))
    } else {
        Err(TantivyError::InvalidArgument(format!("document {doc} does not match")))
    }
}

/// Few matches: a k-way merge of the sub-scorers (k is at most a dozen).
struct SparseMax {
    scorers: Vec<(Box<dyn Scorer>, u16)>,
    doc: DocId,
    score: u16,
}

impl SparseMax {
    fn new(scorers: Vec<(Box<dyn Scorer>, u16)>) -> SparseMax {
        let mut max = SparseMax { scorers, doc: TERMINATED, score: 0 };
        max.settle();
        max
    }

    /// Takes the smallest current doc of the sub-scorers, and its best score.
    fn settle(&mut self) -> DocId {
        self.doc = TERMINATED;
        self.score = 0;
        for (scorer, score) in &self.scorers {
            let doc = scorer.doc();
            if doc < self.doc {
                self.doc = doc;
                self.score = *score;
            } else if doc == self.doc && *score > self.score {
                self.score = *score;
            }
        }
        self.doc
    }
}

impl DocSet for SparseMax {
    fn advance(&mut self) -> DocId {
        if self.doc == TERMINATED {
            return TERMINATED;
        }
        for (scorer, _) in &mut self.scorers {
            if scorer.doc() == self.doc {
                scorer.advance();
            }
        }
        self.settle()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc >= target {
            return self.doc;
        }
        for (scorer, _) in &mut self.scorers {
            if scorer.doc() < target {
                scorer.seek(target);
            }
        }
        self.settle()
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.scorers.iter().map(|(scorer, _)| scorer.size_hint()).fold(0u32, u32::saturating_add)
    }
}

impl Scorer for SparseMax {
    fn score(&mut self) -> Score {
        Score::from(self.score)
    }
}

/// Few matches, [`AnyOf`]: a k-way merge of the clauses, summing the scores of those on a doc.
struct SparseSum {
    scorers: Vec<Box<dyn Scorer>>,
    doc: DocId,
}

impl SparseSum {
    fn new(scorers: Vec<Box<dyn Scorer>>) -> SparseSum {
        let doc = scorers.iter().map(|s| s.doc()).min().unwrap_or(TERMINATED);
        SparseSum { scorers, doc }
    }

    fn settle(&mut self) -> DocId {
        self.doc = self.scorers.iter().map(|s| s.doc()).min().unwrap_or(TERMINATED);
        self.doc
    }
}

impl DocSet for SparseSum {
    fn advance(&mut self) -> DocId {
        if self.doc == TERMINATED {
            return TERMINATED;
        }
        for scorer in &mut self.scorers {
            if scorer.doc() == self.doc {
                scorer.advance();
            }
        }
        self.settle()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc >= target {
            return self.doc;
        }
        for scorer in &mut self.scorers {
            if scorer.doc() < target {
                scorer.seek(target);
            }
        }
        self.settle()
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.scorers.iter().map(|scorer| scorer.size_hint()).fold(0u32, u32::saturating_add)
    }
}

impl Scorer for SparseSum {
    fn score(&mut self) -> Score {
        let doc = self.doc;
        self.scorers.iter_mut().filter(|s| s.doc() == doc).map(|s| s.score()).sum()
    }
}

/// Many matches: the intersection of one or more [`MaxOf`]s over a segment, materialised as a
/// bitset of the matching documents and an array of their scores (the sum over the clauses of
/// each clause's best alternative). Memory: about 4.3 bytes per document of the segment,
/// whatever the number of clauses.
struct DenseAll {
    words: Vec<u64>,
    scores: Vec<u32>,
    doc: DocId,
    len: u32,
}

impl DenseAll {
    /// `all`: the intersection of the parts (else their union, for [`AnyOf`]).
    fn build(parts: Vec<Parts>, max_doc: DocId, all: bool) -> DenseAll {
        let num_words = (max_doc as usize).div_ceil(64);
        let mut words = vec![if all && !parts.is_empty() { u64::MAX } else { 0 }; num_words];
        let mut scores = vec![0u32; max_doc as usize];
        let mut clause = vec![0u64; num_words];
        let mut buffer = [0 as DocId; COLLECT_BLOCK_BUFFER_LEN];
        for part in parts {
            clause.fill(0);
            let mut scorers = part.scorers;
            // Best alternative first: a document takes the score of the first one that has it.
            scorers.sort_by_key(|&(_, score)| std::cmp::Reverse(score));
            for (mut scorer, score) in scorers {
                loop {
                    let filled = scorer.fill_buffer(&mut buffer);
                    for &doc in &buffer[..filled] {
                        let (word, bit) = ((doc / 64) as usize, 1u64 << (doc % 64));
                        if let (Some(seen), Some(total)) = (clause.get_mut(word), scores.get_mut(doc as usize))
                            && *seen & bit == 0
                        {
                            *seen |= bit;
                            *total += u32::from(score);
                        }
                    }
                    if filled < buffer.len() {
                        break;
                    }
                }
            }
            for (word, this) in words.iter_mut().zip(&clause) {
                if all {
                    *word &= *this;
                } else {
                    *word |= *this;
                }
            }
        }
        let len = words.iter().map(|w| w.count_ones()).sum();
        let mut dense = DenseAll { words, scores, doc: 0, len };
        dense.doc = dense.next_from(0);
        dense
    }

    /// The first document at or after `from`.
    fn next_from(&self, from: DocId) -> DocId {
        let mut index = (from / 64) as usize;
        let Some(&first) = self.words.get(index) else {
            return TERMINATED;
        };
        let mut bits = first & (u64::MAX << (from % 64));
        loop {
            if bits != 0 {
                return index as DocId * 64 + bits.trailing_zeros();
            }
            index += 1;
            match self.words.get(index) {
                Some(&next) => bits = next,
                None => return TERMINATED,
            }
        }
    }
}

impl DocSet for DenseAll {
    fn advance(&mut self) -> DocId {
        if self.doc != TERMINATED {
            self.doc = self.next_from(self.doc + 1);
        }
        self.doc
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if target > self.doc {
            self.doc = self.next_from(target);
        }
        self.doc
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.len
    }
}

impl Scorer for DenseAll {
    fn score(&mut self) -> Score {
        // Sums of a few dozen constants below 2^16: exact in f32.
        self.scores.get(self.doc as usize).map_or(0.0, |&s| s as Score)
    }
}
