//! The collector of a page: counts every match and keeps the best `window` of them in the
//! total order (score, popularity, id), reading popularity and id from fast fields.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::ColumnValues;
use tantivy::index::SegmentId;
use tantivy::{DocId, Score, Searcher, SearcherGeneration, SegmentOrdinal, SegmentReader, Warmer};

use super::schema::{ID_FIELDS, POPULARITY};

/// One match: its rank key (score, then popularity) and its id as three numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub rank: u64,
    pub id: [u64; 3],
}

/// Best first: higher rank, then lower id (the id's own order, see `schema`).
pub fn best_first(a: &Hit, b: &Hit) -> Ordering {
    b.rank.cmp(&a.rank).then_with(|| a.id.cmp(&b.id))
}

/// The rank key of a match: the integral query score, then popularity (0..=255).
fn rank(score: Score, popularity: u8) -> u64 {
    // Scores are sums of small integral constants, exact in f32 (`as` saturates below 0).
    ((score as u64) << 8) | u64::from(popularity)
}

/// Every segment's popularity column as a plain array, one byte per document: read for every
/// match, it is the collector's hottest load (the column codec costs about 3 times more).
/// Filled by the reader's warming, before a new segment is searched.
#[derive(Default)]
pub struct PopularityCache {
    by_segment: RwLock<HashMap<SegmentId, Arc<[u8]>>>,
}

impl PopularityCache {
    fn get(&self, reader: &SegmentReader) -> tantivy::Result<Arc<[u8]>> {
        let id = reader.segment_id();
        if let Some(found) = self.by_segment.read().unwrap_or_else(PoisonError::into_inner).get(&id) {
            return Ok(Arc::clone(found));
        }
        let column = reader.fast_fields().u64(POPULARITY)?.first_or_default_col(0);
        let values: Arc<[u8]> =
            (0..reader.max_doc()).map(|doc| u8::try_from(column.get_val(doc)).unwrap_or(u8::MAX)).collect();
        self.by_segment.write().unwrap_or_else(PoisonError::into_inner).insert(id, Arc::clone(&values));
        Ok(values)
    }
}

impl Warmer for PopularityCache {
    fn warm(&self, searcher: &Searcher) -> tantivy::Result<()> {
        for reader in searcher.segment_readers() {
            self.get(reader)?;
        }
        Ok(())
    }

    fn garbage_collect(&self, live_generations: &[&SearcherGeneration]) {
        self.by_segment
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|id, _| live_generations.iter().any(|generation| generation.segments().contains_key(id)));
    }
}

/// Counts the matches and keeps the best `window`.
pub struct TopHits {
    pub window: usize,
    pub popularity: Arc<PopularityCache>,
}

impl Collector for TopHits {
    type Fruit = (Vec<Hit>, u64);
    type Child = SegmentTopHits;

    fn for_segment(&self, _segment: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<SegmentTopHits> {
        let fast = reader.fast_fields();
        let popularity = self.popularity.get(reader)?;
        let id = [
            fast.u64(ID_FIELDS[0])?.first_or_default_col(0),
            fast.u64(ID_FIELDS[1])?.first_or_default_col(0),
            fast.u64(ID_FIELDS[2])?.first_or_default_col(0),
        ];
        Ok(SegmentTopHits {
            window: self.window,
            popularity,
            id,
            buffer: Vec::with_capacity(self.window.saturating_mul(2).min(1 << 16)),
            threshold: None,
            count: 0,
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, fruits: Vec<(Vec<Hit>, u64)>) -> tantivy::Result<(Vec<Hit>, u64)> {
        let mut count = 0;
        let mut hits = Vec::new();
        for (segment_hits, segment_count) in fruits {
            count += segment_count;
            hits.extend(segment_hits);
        }
        hits.sort_unstable_by(best_first);
        hits.truncate(self.window);
        Ok((hits, count))
    }
}

/// [`TopHits`] within one segment.
pub struct SegmentTopHits {
    window: usize,
    popularity: Arc<[u8]>,
    id: [Arc<dyn ColumnValues<u64>>; 3],
    /// Candidates; truncated to the best `window` whenever it holds twice that.
    buffer: Vec<Hit>,
    /// The rank of the worst hit kept at the last truncation: anything ranked lower cannot
    /// make the window.
    threshold: Option<u64>,
    count: u64,
}

impl SegmentTopHits {
    fn truncate(&mut self) {
        if self.buffer.len() > self.window {
            self.buffer.select_nth_unstable_by(self.window, best_first);
            self.buffer.truncate(self.window);
        }
    }
}

impl SegmentCollector for SegmentTopHits {
    type Fruit = (Vec<Hit>, u64);

    fn collect(&mut self, doc: DocId, score: Score) {
        self.count += 1;
        if self.window == 0 {
            return;
        }
        let popularity = self.popularity.get(doc as usize).copied().unwrap_or(0);
        let rank = rank(score, popularity);
        if self.threshold.is_some_and(|threshold| rank < threshold) {
            return;
        }
        if self.buffer.len() >= self.window.saturating_mul(2) {
            self.truncate();
            self.threshold = self.buffer.iter().map(|hit| hit.rank).min();
            if self.threshold.is_some_and(|threshold| rank < threshold) {
                return;
            }
        }
        let id = [self.id[0].get_val(doc), self.id[1].get_val(doc), self.id[2].get_val(doc)];
        self.buffer.push(Hit { rank, id });
    }

    fn harvest(mut self) -> (Vec<Hit>, u64) {
        self.truncate();
        (self.buffer, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_orders_score_then_popularity() {
        assert!(rank(10_004.0, 0) > rank(10_003.0, 100));
        assert!(rank(10_004.0, 50) > rank(10_004.0, 49));
        let a = Hit { rank: 5, id: [1, 0, 0] };
        let b = Hit { rank: 5, id: [2, 0, 0] };
        let c = Hit { rank: 6, id: [3, 0, 0] };
        let mut hits = vec![b, a, c];
        hits.sort_unstable_by(best_first);
        assert_eq!(hits, vec![c, a, b]);
    }
}
