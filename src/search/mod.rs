//! Search over the catalog: tracks, artists, albums and public playlists — typo-tolerant,
//! prefix-matching (autocomplete), ranked by relevance then popularity, paged.
//!
//! The engine is an embedded [tantivy](https://docs.rs/tantivy) index: on disk under the data
//! dir in the embedded setup ([`SearchIndex::open_in_dir`]), in memory on cluster nodes that
//! rebuild it at start and in tests ([`SearchIndex::open_in_ram`]). It holds ids, the searchable
//! text and popularity, nothing else: it answers ids, and the caller reads the objects from the
//! store. The server keeps it in step with the catalog through [`IndexBatch`]es (upserts and
//! deletes, committed at once; a search right after [`IndexBatch::commit`] sees them).
//!
//! # One index, fields per kind
//!
//! All four kinds live in **one** index, each with fields of its own (`track_name`,
//! `album_artist`, …: see `schema.rs`). A term of `track_name` exists only in track documents, so
//! a search of one kind never needs a kind filter, and its term statistics are that kind's
//! alone; yet there is one writer (one memory budget, at most 2 threads), one reader, one
//! directory, and a batch that touches several kinds (an album with its tracks) commits
//! atomically. Four indexes would have meant four writers and four commits per batch.
//!
//! # Text
//!
//! Names are normalised the same way at indexing and at query time (`text.rs`): apostrophes
//! dropped inside words ("don't" = "dont"), split on every other non-alphanumeric character,
//! lowercased, ASCII-folded (é → e, ß → ss); numbers kept. A query is read up to
//! [`MAX_QUERY_CHARS`] characters and [`MAX_QUERY_TERMS`] terms; it is never given to a query
//! parser (queries are built programmatically, so quotes, `+`, `-`, `:` … are just separators).
//! A query with no term (empty, whitespace, punctuation only) answers an empty page.
//!
//! # Ranking
//!
//! A document matches a query term *exactly* (the term is one of its words), *by prefix* (only
//! the last query term: a word starts with it — autocomplete), or *with a typo* (a word within
//! Damerau-Levenshtein distance 1 of a term of 4 to 7 characters, 2 from 8 characters; for the
//! last term, a word *starting* within that distance; never for terms with digits). Tracks match
//! on name, artist and album; artists on name; albums on name and artist; playlists on name,
//! owner and description.
//!
//! Every term must match (AND). Results are ordered by, in turn:
//! 1. **Tier**: (1) every term exact; (2) every term exact except the last, a prefix
//!    ("dancing que" → "Dancing Queen"); (3) the rest: some term matched only with a typo —
//!    and within tier 3, fewer typo'd terms first. (4) Only when no document matches every
//!    term, the query is run again needing *any* term, more matched terms first.
//! 2. **Relevance**, an integer: for each term, the weight of the attribute of its best match
//!    (name 4; track/album artist and playlist owner 2; track album and playlist description
//!    1), plus the best of the name bonuses — the name *is* the query (+32), is the query with
//!    a typo or two (whole name within distance 1 from 4 characters, 2 from 8: +24), *starts
//!    with* the query (queries of 4 characters or more: +16) — plus +8 when the terms appear in
//!    the name as whole words, in query order, next to each other (2 terms or more).
//! 3. **Popularity** (0–100), higher first.
//! 4. **Id**, ascending: a total order, so pages are stable.
//!
//! Technically each term is a disjunction of constant-score alternatives scored by the best
//! one (10,000 + weight for an exact match, −1,000 for a prefix, −3,000 for a typo; `query.rs`)
//! and the bonuses are optional constant-score clauses; the sum is the score, exact in `f32`,
//! and tier and relevance both read off it: the penalties are larger than any relevance sum (at
//! most 32 × 4 + 40). A collector (`collector.rs`) counts every match and keeps the best
//! `offset + limit` by (score, popularity, id), so `total` is the number of matching documents
//! of the tiers used (1–3, or 4), and consecutive pages never repeat or skip an item (against
//! one index state). Pages reach at most [`MAX_WINDOW`] results deep.
//!
//! # Cost
//!
//! - Prefixes of 1 to 3 characters are indexed as terms of their own (edge n-grams in the
//!   `*_pre` fields): the shortest, broadest autocomplete prefixes read one posting list per
//!   attribute instead of expanding to thousands of words. Longer prefixes and typos expand over
//!   the term dictionary with one Levenshtein automaton per query term, shared by the attributes.
//! - Clauses that match a large share of a segment (a 1-letter prefix, "the") are materialised
//!   into a bitset and a score array (`max_of.rs`) instead of going through tantivy's union and
//!   intersection scorers, which cost 3–4 times more per document; a selective clause still
//!   drives a leapfrogging intersection.
//! - Popularity, read for every match, is copied per segment into a byte array when the reader
//!   loads the segment (a tantivy warmer), instead of being decoded from the fast field.
//!
//! Measured on this 2-core machine, release build, 1,000,000 synthetic tracks (39,446 artists,
//! 145,772 albums, 120,181 playlists), 2,000 queries per kind (exact titles, titles with one
//! typo, 1–3 letter prefixes, two-word prefixes; `tests/search_relevance.rs`): track search p50
//! 1.3 ms, p99 9.5 ms, max 11 ms (the worst: "T", 650,000 matches, and "Under the", whose
//! starts-with bonus expands to every name starting so); artists, albums and playlists p99
//! 1.6–4 ms; two threads searching at once, 1,150 track searches/s with the same p99. Building
//! that index: 16 s, plus 6.5 s for [`SearchIndex::compact`]; 139 MB on disk; the process
//! peaked at 430 MB resident, test data included.
//!
//! A search is synchronous CPU work: about 1 ms typically (p50 0.9 ms over the 28,356 real
//! tracks of the relevance test, 1.3 ms over a million synthetic ones), up to ~12 ms for the
//! broadest queries over a million tracks. Handlers should
//! run it on the blocking pool (`web::block`) so it never holds up the sockets of an async
//! worker; [`SearchIndex`] is `Clone + Send + Sync` for that.

mod collector;
mod max_of;
mod query;
mod schema;
mod text;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use tantivy::collector::Count;
use tantivy::directory::MmapDirectory;
use tantivy::directory::error::OpenDirectoryError;
use tantivy::merge_policy::{LogMergePolicy, NoMergePolicy};
use tantivy::query::{TermQuery, TermSetQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::tokenizer::WhitespaceTokenizer;
use tantivy::{
    Index, IndexReader, IndexSettings, IndexWriter, ReloadPolicy, TantivyDocument, TantivyError, Term, Warmer,
};

use crate::ids::{ID_LEN, Id};

use self::collector::{PopularityCache, TopHits};
use self::schema::{Fields, WS_TOKENIZER};
pub use self::text::{MAX_QUERY_CHARS, MAX_QUERY_TERMS};

/// Results are served at most this deep: `offset + limit` beyond it returns no more ids
/// (`total` still counts every match).
pub const MAX_WINDOW: usize = 10_000;
/// The writer's memory budget, shared by its threads; a segment is flushed when it is reached.
const WRITER_MEMORY_BYTES: usize = 80_000_000;
/// The writer's indexing threads, at most.
const WRITER_MAX_THREADS: usize = 2;
/// The index lives in this subdirectory of the directory given to [`SearchIndex::open_in_dir`];
/// bump it when the schema changes (an index with another schema is rebuilt empty anyway).
const INDEX_SUBDIR: &str = "v1";

/// What a search looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SearchKind {
    Track,
    Artist,
    Album,
    Playlist,
}

impl SearchKind {
    pub const ALL: [SearchKind; 4] = [SearchKind::Track, SearchKind::Artist, SearchKind::Album, SearchKind::Playlist];

    /// `"track"`, `"artist"`, `"album"` or `"playlist"` (the `type` values of `GET /v1/search`).
    pub fn parse(text: &str) -> Option<SearchKind> {
        Some(match text {
            "track" => SearchKind::Track,
            "artist" => SearchKind::Artist,
            "album" => SearchKind::Album,
            "playlist" => SearchKind::Playlist,
            _ => return None,
        })
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            SearchKind::Track => "track",
            SearchKind::Artist => "artist",
            SearchKind::Album => "album",
            SearchKind::Playlist => "playlist",
        }
    }

    const fn index(self) -> usize {
        self as usize
    }

    /// The prefix of this kind's keys, so ids of different kinds never collide.
    const fn letter(self) -> &'static str {
        match self {
            SearchKind::Track => "t",
            SearchKind::Artist => "a",
            SearchKind::Album => "l",
            SearchKind::Playlist => "p",
        }
    }
}

impl fmt::Display for SearchKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A track as search sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackDoc {
    pub id: Id,
    pub name: String,
    /// The artist's name (several artists: join them with spaces or commas).
    pub artist: String,
    /// The album's name.
    pub album: String,
    pub popularity: u8,
}

/// An artist as search sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtistDoc {
    pub id: Id,
    pub name: String,
    pub popularity: u8,
}

/// An album as search sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlbumDoc {
    pub id: Id,
    pub name: String,
    /// The album artist's name.
    pub artist: String,
    pub popularity: u8,
}

/// A public playlist as search sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaylistDoc {
    pub id: Id,
    pub name: String,
    pub description: String,
    /// The owner's display name.
    pub owner: String,
    /// 0–100 (e.g. from followers), like the catalog's.
    pub popularity: u8,
}

/// One page of results.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchPage {
    /// The page's ids, best first.
    pub ids: Vec<Id>,
    /// How many documents match in all (every page).
    pub total: u64,
}

/// Why the index could not be opened, written or searched.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("cannot create the search index directory {path}: {source}")]
    Directory { path: PathBuf, source: std::io::Error },
    #[error("cannot open the search index directory: {0}")]
    Open(#[from] OpenDirectoryError),
    #[error("search index: {0}")]
    Index(#[from] TantivyError),
}

impl crate::error::ProtocolError for SearchError {
    fn code(&self) -> segue_protocol::ErrorCode {
        segue_protocol::ErrorCode::Internal
    }
}

crate::app_error_from!(SearchError);

/// The search index: cheap to clone (an `Arc`), `Send + Sync`; searches run concurrently with
/// each other and with a batch being written.
#[derive(Clone)]
pub struct SearchIndex {
    inner: Arc<Inner>,
}

struct Inner {
    index: Index,
    reader: IndexReader,
    /// `None` only after a failure while it was being replaced; recreated on next use.
    writer: Mutex<Option<IndexWriter>>,
    /// Whether an [`IndexBatch`] is open (one at a time).
    batch_open: Mutex<bool>,
    batch_closed: Condvar,
    fields: Fields,
    /// Also the reader's warmer (the reader holds it weakly).
    popularity: Arc<PopularityCache>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SearchIndex")
            .field("segments", &self.inner.reader.searcher().segment_readers().len())
            .finish_non_exhaustive()
    }
}

impl SearchIndex {
    /// Creates, or reopens, the index kept in `dir` (created if missing; the index owns it).
    /// An index written with another schema is discarded and recreated empty: check
    /// [`doc_count`](Self::doc_count) to know whether it needs feeding. Fails if another
    /// process has it open for writing.
    pub fn open_in_dir(dir: &Path) -> Result<SearchIndex, SearchError> {
        let path = dir.join(INDEX_SUBDIR);
        let create_dir = |path: &Path| {
            std::fs::create_dir_all(path).map_err(|source| SearchError::Directory { path: path.to_owned(), source })
        };
        create_dir(&path)?;
        let (schema, fields) = schema::build();
        let directory = MmapDirectory::open(&path)?;
        let existing = Index::exists(&directory).map_err(TantivyError::from)?;
        let index = if existing {
            let index = Index::open(directory)?;
            if index.schema() == schema {
                index
            } else {
                drop(index);
                tracing::warn!(path = %path.display(), "search index schema changed; rebuilding it empty");
                std::fs::remove_dir_all(&path)
                    .map_err(|source| SearchError::Directory { path: path.clone(), source })?;
                create_dir(&path)?;
                Index::create(MmapDirectory::open(&path)?, schema, IndexSettings::default())?
            }
        } else {
            Index::create(directory, schema, IndexSettings::default())?
        };
        SearchIndex::with_index(index, fields)
    }

    /// Creates an empty index in memory.
    pub fn open_in_ram() -> Result<SearchIndex, SearchError> {
        let (schema, fields) = schema::build();
        SearchIndex::with_index(Index::create_in_ram(schema), fields)
    }

    fn with_index(index: Index, fields: Fields) -> Result<SearchIndex, SearchError> {
        index.tokenizers().register(WS_TOKENIZER, WhitespaceTokenizer::default());
        let writer = new_writer(&index)?;
        let popularity = Arc::new(PopularityCache::default());
        let warmer: Arc<dyn Warmer> = popularity.clone();
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::OnCommitWithDelay)
            .warmers(vec![Arc::downgrade(&warmer)])
            .try_into()?;
        // Builds the Levenshtein automaton builders now rather than in the first search.
        query::warm_up()?;
        Ok(SearchIndex {
            inner: Arc::new(Inner {
                index,
                reader,
                writer: Mutex::new(Some(writer)),
                batch_open: Mutex::new(false),
                batch_closed: Condvar::new(),
                fields,
                popularity,
            }),
        })
    }

    /// Opens a batch of changes. One batch is open at a time: this waits (blocking the thread)
    /// until the open one is committed or dropped, so an async caller should not keep a batch
    /// open across long awaits (build the documents, then open, add, commit). Searches are
    /// never blocked by a batch.
    pub fn writer(&self) -> Result<IndexBatch<'_>, SearchError> {
        let mut open = lock(&self.inner.batch_open);
        while *open {
            open = self.inner.batch_closed.wait(open).unwrap_or_else(PoisonError::into_inner);
        }
        *open = true;
        Ok(IndexBatch { inner: &self.inner, pending: Pending::default(), error: None, written: false, finished: false })
    }

    /// One page of `kind` results for `query`, `limit` ids from `offset` (see the module
    /// documentation for the order). Never panics on any input.
    pub fn search(
        &self,
        kind: SearchKind,
        query: &str,
        limit: usize,
        offset: usize,
    ) -> Result<SearchPage, SearchError> {
        let terms = text::query_terms(query);
        if terms.is_empty() {
            return Ok(SearchPage::default());
        }
        let plan = query::plan(&self.inner.fields.kinds[kind.index()], &terms)?;
        let collector = TopHits {
            window: offset.saturating_add(limit).min(MAX_WINDOW),
            popularity: Arc::clone(&self.inner.popularity),
        };
        let searcher = self.inner.reader.searcher();
        let (mut hits, mut total) = searcher.search(plan.strict.as_ref(), &collector)?;
        if total == 0
            && let Some(fallback) = &plan.fallback
        {
            (hits, total) = searcher.search(fallback.as_ref(), &collector)?;
        }
        let ids = hits.iter().skip(offset).take(limit).filter_map(|hit| id_from_parts(hit.id)).collect();
        Ok(SearchPage { ids, total })
    }

    /// How many documents of `kind` the index holds (as of the last commit).
    pub fn doc_count(&self, kind: SearchKind) -> u64 {
        let query =
            TermQuery::new(Term::from_field_text(self.inner.fields.kind, kind.letter()), IndexRecordOption::Basic);
        let searcher = self.inner.reader.searcher();
        searcher.search(&query, &Count).map_or(0, |n| n as u64)
    }

    /// Merges every segment into one and waits for it: worth calling after a bulk (re)build,
    /// as searches cost a little per segment. Waits for an open batch first, like
    /// [`writer`](Self::writer); takes seconds on a million tracks.
    pub fn compact(&self) -> Result<(), SearchError> {
        let _exclusive = self.writer()?;
        let inner = &self.inner;
        let mut slot = lock(&inner.writer);
        if let Some(writer) = slot.take() {
            // Finishes the merges the merge policy started, which would conflict with ours.
            writer.wait_merging_threads()?;
        }
        let mut writer = new_writer(&inner.index)?;
        writer.set_merge_policy(Box::new(NoMergePolicy));
        let segments = inner.index.searchable_segment_ids()?;
        let merged = if segments.len() > 1 { writer.merge(&segments).wait().map(|_| ()) } else { Ok(()) };
        writer.set_merge_policy(Box::new(LogMergePolicy::default()));
        *slot = Some(writer);
        drop(slot);
        merged?;
        inner.reader.reload()?;
        Ok(())
    }

    /// Segments searched now (a measure of how much a [`compact`](Self::compact) would help).
    pub fn segment_count(&self) -> usize {
        self.inner.reader.searcher().segment_readers().len()
    }
}

fn new_writer(index: &Index) -> Result<IndexWriter, SearchError> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from).clamp(1, WRITER_MAX_THREADS);
    Ok(index.writer_with_num_threads(threads, WRITER_MEMORY_BYTES)?)
}

/// A batch of changes, applied at once by [`commit`](IndexBatch::commit); dropping it without
/// committing discards them. Adding a document whose id is already indexed (with the same kind)
/// replaces it. Errors are kept and returned by `commit`.
///
/// Changes are staged [`CHUNK_DOCS`] at a time and handed to tantivy's writer as one delete of
/// the chunk's keys followed by the chunk's documents: one delete per document (tantivy keeps
/// about a kilobyte per pending delete until the commit) took 1.5 GB for a million-track
/// build; a chunked delete takes a few kilobytes.
pub struct IndexBatch<'a> {
    inner: &'a Inner,
    pending: Pending,
    error: Option<SearchError>,
    /// Whether this batch has handed anything to the writer (to roll back if not committed).
    written: bool,
    finished: bool,
}

/// Changes are handed to the writer this many documents (and deletes) at a time.
pub const CHUNK_DOCS: usize = 10_000;

/// The staged part of a batch: the keys to delete (every upserted or deleted key) and the
/// documents to add after that, the last one of each key only.
#[derive(Default)]
struct Pending {
    deletes: HashSet<String>,
    docs: Vec<Option<TantivyDocument>>,
    doc_of_key: HashMap<String, usize>,
}

impl Pending {
    fn len(&self) -> usize {
        self.deletes.len().max(self.docs.len())
    }
}

impl fmt::Debug for IndexBatch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IndexBatch")
            .field("pending", &self.pending.len())
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl IndexBatch<'_> {
    /// Adds or replaces a track.
    pub fn add_track(&mut self, doc: &TrackDoc) {
        self.upsert(SearchKind::Track, doc.id, doc.popularity, &[&doc.name, &doc.artist, &doc.album]);
    }

    /// Adds or replaces an artist.
    pub fn add_artist(&mut self, doc: &ArtistDoc) {
        self.upsert(SearchKind::Artist, doc.id, doc.popularity, &[&doc.name]);
    }

    /// Adds or replaces an album.
    pub fn add_album(&mut self, doc: &AlbumDoc) {
        self.upsert(SearchKind::Album, doc.id, doc.popularity, &[&doc.name, &doc.artist]);
    }

    /// Adds or replaces a playlist.
    pub fn upsert_playlist(&mut self, doc: &PlaylistDoc) {
        self.upsert(SearchKind::Playlist, doc.id, doc.popularity, &[&doc.name, &doc.owner, &doc.description]);
    }

    /// Removes a playlist (no error if it is not there).
    pub fn delete_playlist(&mut self, id: Id) {
        self.delete(SearchKind::Playlist, id);
    }

    /// Removes a document of any kind (no error if it is not there).
    pub fn delete(&mut self, kind: SearchKind, id: Id) {
        let key = key_text(kind, id);
        if let Some(at) = self.pending.doc_of_key.remove(&key)
            && let Some(slot) = self.pending.docs.get_mut(at)
        {
            *slot = None;
        }
        self.pending.deletes.insert(key);
        self.flush_if_full();
    }

    /// Removes every document, including what this batch added before (for a full rebuild:
    /// what the batch adds after it is kept).
    pub fn delete_all(&mut self) {
        self.pending = Pending::default();
        if self.written && self.error.is_none() {
            // tantivy only drops documents that already reached a segment: drop the batch's
            // earlier changes explicitly.
            if let Some(writer) = lock(&self.inner.writer).as_mut()
                && let Err(error) = writer.rollback()
            {
                self.error = Some(error.into());
            }
        }
        self.with_writer(|writer| writer.delete_all_documents().map(|_| ()));
    }

    /// Applies the batch; searches see it when this returns.
    pub fn commit(mut self) -> Result<(), SearchError> {
        self.finished = true;
        self.flush();
        if !self.written {
            return Ok(());
        }
        let mut slot = lock(&self.inner.writer);
        let Some(writer) = slot.as_mut() else {
            return Err(self.error.take().unwrap_or_else(writer_gone));
        };
        if let Some(error) = self.error.take() {
            let _ = writer.rollback();
            return Err(error);
        }
        if let Err(error) = writer.commit() {
            let _ = writer.rollback();
            return Err(error.into());
        }
        drop(slot);
        self.inner.reader.reload()?;
        Ok(())
    }

    fn with_writer(&mut self, op: impl FnOnce(&IndexWriter) -> tantivy::Result<()>) {
        self.written = true;
        if self.error.is_some() {
            return;
        }
        let mut slot = lock(&self.inner.writer);
        if slot.is_none() {
            match new_writer(&self.inner.index) {
                Ok(writer) => *slot = Some(writer),
                Err(error) => {
                    self.error = Some(error);
                    return;
                }
            }
        }
        if let Some(writer) = slot.as_ref()
            && let Err(error) = op(writer)
        {
            self.error = Some(error.into());
        }
    }

    fn flush_if_full(&mut self) {
        if self.pending.len() >= CHUNK_DOCS {
            self.flush();
        }
    }

    /// Hands the staged chunk to the writer: one delete of all its keys, then its documents
    /// (tantivy applies a delete to the documents added before it only).
    fn flush(&mut self) {
        let Pending { deletes, docs, .. } = std::mem::take(&mut self.pending);
        if deletes.is_empty() {
            return;
        }
        let key = self.inner.fields.key;
        let terms: Vec<Term> = deletes.iter().map(|k| Term::from_field_text(key, k)).collect();
        self.with_writer(|writer| {
            writer.delete_query(Box::new(TermSetQuery::new(terms)))?;
            for doc in docs.into_iter().flatten() {
                writer.add_document(doc)?;
            }
            Ok(())
        });
    }

    /// Stages the replacement of the document with this kind and id.
    fn upsert(&mut self, kind: SearchKind, id: Id, popularity: u8, texts: &[&str]) {
        let fields = &self.inner.fields;
        let kind_fields = &fields.kinds[kind.index()];
        let mut doc = TantivyDocument::new();
        let key = key_text(kind, id);
        doc.add_text(fields.key, &key);
        doc.add_text(fields.kind, kind.letter());
        doc.add_u64(fields.popularity, u64::from(popularity));
        for (field, part) in fields.id.iter().zip(id_parts(id)) {
            doc.add_u64(*field, part);
        }
        for (n, (attr, text)) in kind_fields.texts.iter().zip(texts).enumerate() {
            let terms = text::analyze(text);
            if terms.is_empty() {
                continue;
            }
            doc.add_text(attr.exact, terms.join(" "));
            doc.add_text(attr.prefix, text::edge_ngrams(&terms));
            if n == 0 {
                doc.add_text(kind_fields.full, text::joined(&terms));
            }
        }
        let pending = &mut self.pending;
        match pending.doc_of_key.get(&key) {
            Some(&at) => pending.docs[at] = Some(doc),
            None => {
                pending.doc_of_key.insert(key.clone(), pending.docs.len());
                pending.docs.push(Some(doc));
            }
        }
        pending.deletes.insert(key);
        self.flush_if_full();
    }
}

/// The `key` of a document: its kind's letter and its id.
fn key_text(kind: SearchKind, id: Id) -> String {
    let mut key = String::with_capacity(1 + ID_LEN);
    key.push_str(kind.letter());
    key.push_str(id.as_str());
    key
}

fn writer_gone() -> SearchError {
    SearchError::Index(TantivyError::InternalError("the index writer could not be recreated".to_owned()))
}

impl Drop for IndexBatch<'_> {
    fn drop(&mut self) {
        if !self.finished
            && self.written
            && let Some(writer) = lock(&self.inner.writer).as_mut()
        {
            let _ = writer.rollback();
        }
        *lock(&self.inner.batch_open) = false;
        self.inner.batch_closed.notify_one();
    }
}

/// The id's 22 base62 digits as three numbers of 8, 7 and 7 digits (each below 62^8 < 2^48):
/// comparing the triples compares the ids.
const ID_CHUNKS: [std::ops::Range<usize>; 3] = [0..8, 8..15, 15..22];

fn digit_value(byte: u8) -> u64 {
    u64::from(match byte {
        b'0'..=b'9' => byte - b'0',
        b'A'..=b'Z' => byte - b'A' + 10,
        _ => byte.wrapping_sub(b'a').wrapping_add(36),
    })
}

fn id_parts(id: Id) -> [u64; 3] {
    let bytes = id.as_str().as_bytes();
    ID_CHUNKS.map(|range| bytes[range].iter().fold(0u64, |acc, &b| acc * 62 + digit_value(b)))
}

fn id_from_parts(parts: [u64; 3]) -> Option<Id> {
    const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut bytes = [b'0'; ID_LEN];
    for (range, mut value) in ID_CHUNKS.into_iter().zip(parts) {
        for slot in bytes[range].iter_mut().rev() {
            *slot = BASE62[(value % 62) as usize];
            value /= 62;
        }
    }
    Id::parse(std::str::from_utf8(&bytes).ok()?)
}
