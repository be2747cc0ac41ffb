//! The index's schema: one tantivy index for the four kinds, each kind with fields of its own.
//!
//! Every searchable attribute (a track's name, artist, album; a playlist's name, description,
//! owner; …) has two fields:
//! - `<kind>_<attr>`: the normalised terms ([`super::text::analyze`]), whitespace-joined and
//!   indexed by the whitespace tokenizer, doc ids only; the name field also keeps positions (for
//!   the phrase bonus).
//! - `<kind>_<attr>_pre`: the edge n-grams of those terms (prefixes of 1 to
//!   [`super::text::NGRAM_MAX_CHARS`] characters), doc ids only.
//!
//! plus `<kind>_full`, the whole normalised name as one term (exact / starts-with / typo-close
//! name bonuses). Shared by all kinds: `key` (`<kind letter><id>`, for upserts and deletes),
//! `kind` (for counts), and the fast fields `popularity` and `id0`/`id1`/`id2` (the id's 22
//! base62 characters as three numbers of 8, 7 and 7 digits: enough to rebuild it, and ordered
//! like the id itself).

use tantivy::schema::{FAST, Field, IndexRecordOption, STRING, Schema, TextFieldIndexing, TextOptions};

use super::SearchKind;

/// The tokenizer of the term fields: the terms are normalised before they reach tantivy.
pub const WS_TOKENIZER: &str = "segue_ws";

/// A searchable attribute of one kind.
#[derive(Debug, Clone, Copy)]
pub struct TextField {
    /// Whole terms.
    pub exact: Field,
    /// Edge n-grams of the terms.
    pub prefix: Field,
    /// Weight of a match in this attribute (the name weighs most).
    pub weight: u32,
}

/// The fields of one kind.
#[derive(Debug, Clone)]
pub struct KindFields {
    /// The searchable attributes; the first is the name.
    pub texts: Vec<TextField>,
    /// The whole normalised name as one term.
    pub full: Field,
}

impl KindFields {
    pub fn name(&self) -> TextField {
        self.texts[0]
    }
}

/// Every field of the index.
#[derive(Debug, Clone)]
pub struct Fields {
    pub key: Field,
    pub kind: Field,
    pub popularity: Field,
    pub id: [Field; 3],
    pub kinds: [KindFields; 4],
}

/// Names of the id fast fields.
pub const ID_FIELDS: [&str; 3] = ["id0", "id1", "id2"];
/// Name of the popularity fast field.
pub const POPULARITY: &str = "popularity";

/// Weight of a match in a name.
pub const NAME_WEIGHT: u32 = 4;
/// Weight of a match in a track's or album's artist, or a playlist's owner.
pub const CREDIT_WEIGHT: u32 = 2;
/// Weight of a match in a track's album or a playlist's description.
pub const OTHER_WEIGHT: u32 = 1;

fn attributes(kind: SearchKind) -> &'static [(&'static str, u32)] {
    match kind {
        SearchKind::Track => &[("name", NAME_WEIGHT), ("artist", CREDIT_WEIGHT), ("album", OTHER_WEIGHT)],
        SearchKind::Artist => &[("name", NAME_WEIGHT)],
        SearchKind::Album => &[("name", NAME_WEIGHT), ("artist", CREDIT_WEIGHT)],
        SearchKind::Playlist => &[("name", NAME_WEIGHT), ("owner", CREDIT_WEIGHT), ("description", OTHER_WEIGHT)],
    }
}

fn terms_options(positions: bool) -> TextOptions {
    let record = if positions { IndexRecordOption::WithFreqsAndPositions } else { IndexRecordOption::Basic };
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer(WS_TOKENIZER).set_index_option(record).set_fieldnorms(false),
    )
}

fn raw_options() -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("raw")
            .set_index_option(IndexRecordOption::Basic)
            .set_fieldnorms(false),
    )
}

/// The schema, and its fields.
pub fn build() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let key = builder.add_text_field("key", STRING);
    let kind = builder.add_text_field("kind", STRING);
    let popularity = builder.add_u64_field(POPULARITY, FAST);
    let id = ID_FIELDS.map(|name| builder.add_u64_field(name, FAST));
    let kinds = SearchKind::ALL.map(|kind| {
        let texts = attributes(kind)
            .iter()
            .enumerate()
            .map(|(n, &(attr, weight))| TextField {
                exact: builder.add_text_field(&format!("{}_{attr}", kind.as_str()), terms_options(n == 0)),
                prefix: builder.add_text_field(&format!("{}_{attr}_pre", kind.as_str()), terms_options(false)),
                weight,
            })
            .collect();
        let full = builder.add_text_field(&format!("{}_full", kind.as_str()), raw_options());
        KindFields { texts, full }
    });
    let fields = Fields { key, kind, popularity, id, kinds };
    (builder.build(), fields)
}
