//! Interaction logs and the sparse user × item matrix the models learn from: reading
//! `user<TAB>item<TAB>weight` lines (a header allowed, every bad line reported with its number),
//! mapping names to dense indices, and the compressed-row matrix with its weight transforms.

use std::collections::HashMap;
use std::io::BufRead;

/// Why an interaction log could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("line {line}: {reason}")]
    BadLine { line: usize, reason: String },
    #[error("cannot read the interactions: {0}")]
    Io(#[from] std::io::Error),
    #[error("the file has no interactions")]
    Empty,
}

/// An interaction log with users and items numbered densely in order of first appearance.
#[derive(Debug, Clone)]
pub struct Interactions {
    /// The name of user `u` as written in the file.
    pub user_names: Vec<String>,
    /// The name of item `i` as written in the file.
    pub item_names: Vec<String>,
    /// Every user's items and their summed weights, one row per user.
    pub matrix: SparseRows,
}

/// Reads `user<TAB>item<TAB>weight` lines. The first line may be a header (its weight is not a
/// number); blank lines are skipped; a weight must be a finite number ≥ 0; a pair that appears
/// twice has its weights summed. Carriage returns before the newline are ignored.
pub fn read_interactions(reader: impl BufRead) -> Result<Interactions, ReadError> {
    let mut user_index: HashMap<String, u32> = HashMap::new();
    let mut item_index: HashMap<String, u32> = HashMap::new();
    let mut user_names = Vec::new();
    let mut item_names = Vec::new();
    let mut triples: Vec<(u32, u32, f32)> = Vec::new();
    for (number, line) in reader.lines().enumerate() {
        let line_number = number + 1;
        let line = line.map_err(|error| match error.kind() {
            std::io::ErrorKind::InvalidData => {
                ReadError::BadLine { line: line_number, reason: "the line is not UTF-8 text".to_string() }
            }
            _ => ReadError::Io(error),
        })?;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let bad = |reason: String| ReadError::BadLine { line: line_number, reason };
        if fields.len() != 3 {
            return Err(bad(format!("expected 3 tab-separated fields (user, item, weight), found {}", fields.len())));
        }
        let (user, item, weight_text) = (fields[0].trim(), fields[1].trim(), fields[2].trim());
        let weight = match weight_text.parse::<f64>() {
            Ok(weight) => weight,
            Err(_) if line_number == 1 => continue,
            Err(_) => return Err(bad(format!("the weight {weight_text:?} is not a number"))),
        };
        if !weight.is_finite() || weight < 0.0 {
            return Err(bad(format!("the weight {weight_text:?} must be a finite number ≥ 0")));
        }
        if user.is_empty() || item.is_empty() {
            return Err(bad("the user and the item must not be empty".to_string()));
        }
        let user = *user_index.entry(user.to_string()).or_insert_with(|| {
            user_names.push(user.to_string());
            (user_names.len() - 1) as u32
        });
        let item = *item_index.entry(item.to_string()).or_insert_with(|| {
            item_names.push(item.to_string());
            (item_names.len() - 1) as u32
        });
        triples.push((user, item, weight as f32));
    }
    if triples.is_empty() {
        return Err(ReadError::Empty);
    }
    let matrix = SparseRows::from_triples(user_names.len(), item_names.len(), triples);
    Ok(Interactions { user_names, item_names, matrix })
}

/// A sparse matrix in compressed-row form: row `r`'s column indices (ascending, distinct) and
/// values are `indices[starts[r]..starts[r + 1]]` and the same range of `values`.
#[derive(Debug, Clone, PartialEq)]
pub struct SparseRows {
    columns: usize,
    starts: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<f32>,
}

impl SparseRows {
    /// Builds the matrix from `(row, column, value)` triples; duplicates are summed.
    pub fn from_triples(rows: usize, columns: usize, mut triples: Vec<(u32, u32, f32)>) -> Self {
        triples.sort_by_key(|&(row, column, _)| (row, column));
        let mut starts = vec![0usize; rows + 1];
        let mut indices = Vec::with_capacity(triples.len());
        let mut values: Vec<f32> = Vec::with_capacity(triples.len());
        let mut last: Option<(u32, u32)> = None;
        for (row, column, value) in triples {
            if last == Some((row, column)) {
                if let Some(summed) = values.last_mut() {
                    *summed += value;
                }
                continue;
            }
            last = Some((row, column));
            starts[row as usize + 1] += 1;
            indices.push(column);
            values.push(value);
        }
        for row in 0..rows {
            starts[row + 1] += starts[row];
        }
        SparseRows { columns, starts, indices, values }
    }

    pub fn rows(&self) -> usize {
        self.starts.len() - 1
    }

    pub fn columns(&self) -> usize {
        self.columns
    }

    /// How many entries are stored.
    pub fn entries(&self) -> usize {
        self.indices.len()
    }

    /// Row `row`'s columns (ascending) and values.
    pub fn row(&self, row: usize) -> (&[u32], &[f32]) {
        let range = self.starts[row]..self.starts[row + 1];
        (&self.indices[range.clone()], &self.values[range])
    }

    /// The matrix with rows and columns swapped.
    pub fn transpose(&self) -> SparseRows {
        let mut triples = Vec::with_capacity(self.entries());
        for row in 0..self.rows() {
            let (columns, values) = self.row(row);
            for (&column, &value) in columns.iter().zip(values) {
                triples.push((column, row as u32, value));
            }
        }
        SparseRows::from_triples(self.columns, self.rows(), triples)
    }

    /// The same pattern with every value passed through `transform`.
    pub fn map_values(&self, transform: impl Fn(f32) -> f32) -> SparseRows {
        SparseRows { values: self.values.iter().map(|&v| transform(v)).collect(), ..self.clone() }
    }

    /// How many rows hold each column.
    pub fn column_counts(&self) -> Vec<u32> {
        let mut counts = vec![0u32; self.columns];
        for &column in &self.indices {
            counts[column as usize] += 1;
        }
        counts
    }
}

/// How raw weights (play counts) become the values a model learns from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WeightTransform {
    /// 1 for every interaction, whatever its weight.
    Binary,
    /// `ln(1 + weight)`: counts matter, but a thousand plays are not a thousand times one.
    Log1p,
    /// The weight as given.
    Raw,
}

impl WeightTransform {
    pub fn apply(self, matrix: &SparseRows) -> SparseRows {
        match self {
            WeightTransform::Binary => matrix.map_values(|_| 1.0),
            WeightTransform::Log1p => matrix.map_values(|w| w.ln_1p()),
            WeightTransform::Raw => matrix.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_is_skipped_and_duplicates_are_summed() {
        let text = "userID\tartistID\tweight\r\nu1\ta\t3\r\nu1\tb\t1\nu2\ta\t2\n\nu1\ta\t4\n";
        let log = read_interactions(text.as_bytes()).unwrap();
        assert_eq!(log.user_names, ["u1", "u2"]);
        assert_eq!(log.item_names, ["a", "b"]);
        assert_eq!(log.matrix.row(0), (&[0u32, 1][..], &[7.0f32, 1.0][..]));
        assert_eq!(log.matrix.row(1), (&[0u32][..], &[2.0f32][..]));
        assert_eq!(log.matrix.column_counts(), [2, 1]);
    }

    #[test]
    fn bad_lines_are_reported_with_their_number() {
        for (text, line, fragment) in [
            ("u\ti\t1\nu\ti\n", 2, "3 tab-separated"),
            ("u\ti\t1\nu\ti\tlots\n", 2, "not a number"),
            ("u\ti\t-1\n", 1, "≥ 0"),
            ("u\ti\tNaN\n", 1, "finite"),
            ("u\ti\t1\n\ti\t1\n", 2, "empty"),
        ] {
            let error = read_interactions(text.as_bytes()).unwrap_err();
            let message = error.to_string();
            assert!(message.starts_with(&format!("line {line}:")), "{message}");
            assert!(message.contains(fragment), "{message}");
        }
        assert!(matches!(read_interactions("user\titem\tweight\n".as_bytes()), Err(ReadError::Empty)));
        let latin1 = b"u\ti\t1\nu\tBj\xf6rk\t2\n";
        let message = read_interactions(&latin1[..]).unwrap_err().to_string();
        assert!(message.starts_with("line 2:") && message.contains("UTF-8"), "{message}");
    }

    #[test]
    fn transpose_swaps_rows_and_columns() {
        let matrix = SparseRows::from_triples(2, 3, vec![(0, 2, 1.0), (1, 0, 2.0), (0, 0, 3.0)]);
        let transposed = matrix.transpose();
        assert_eq!(transposed.rows(), 3);
        assert_eq!(transposed.row(0), (&[0u32, 1][..], &[3.0f32, 2.0][..]));
        assert_eq!(transposed.row(2), (&[0u32][..], &[1.0f32][..]));
        assert_eq!(transposed.transpose(), matrix);
    }
}
