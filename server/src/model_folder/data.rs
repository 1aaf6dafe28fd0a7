//! A CSV of training (or test) data: a header of column names, then rows of
//! numbers; one column may be the target, kept as text (a class label or a
//! number).

use std::path::{Path, PathBuf};

use super::FolderError;

pub struct Data {
    pub path: PathBuf,
    /// The feature columns' names, in file order.
    pub columns: Vec<String>,
    /// Per row, one value per feature column.
    pub rows: Vec<Vec<f64>>,
    /// Per row, the target column's text, when there is one.
    pub target: Option<Vec<String>>,
}

impl Data {
    /// Reads `path`; `target` names the column to set apart, if any.
    pub fn read(path: &Path, target: Option<&str>) -> Result<Self, FolderError> {
        let error = |detail: String| FolderError::Data {
            path: path.to_owned(),
            detail,
        };
        let mut reader = csv::Reader::from_path(path).map_err(|e| error(e.to_string()))?;
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| error(e.to_string()))?
            .iter()
            .map(|h| h.trim().to_owned())
            .collect();
        let target_at = match target {
            None => None,
            Some(name) => Some(header.iter().position(|h| h == name).ok_or_else(|| {
                error(format!(
                    "has no column `{name}` for --target (columns: {})",
                    header.join(", ")
                ))
            })?),
        };
        let columns: Vec<String> = header
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != target_at)
            .map(|(_, h)| h.clone())
            .collect();
        let mut rows = Vec::new();
        let mut targets = Vec::new();
        for (line, record) in reader.records().enumerate() {
            let record = record.map_err(|e| error(e.to_string()))?;
            let mut row = Vec::with_capacity(columns.len());
            for (i, cell) in record.iter().enumerate() {
                if Some(i) == target_at {
                    targets.push(cell.trim().to_owned());
                    continue;
                }
                let value = cell.trim().parse::<f64>().ok().filter(|v| v.is_finite());
                row.push(value.ok_or_else(|| {
                    error(format!(
                        "row {} has `{cell}` in column `{}`, not a number (features must be numbers; \
                         name a text column with --target)",
                        line + 2,
                        header[i]
                    ))
                })?);
            }
            rows.push(row);
        }
        if rows.is_empty() {
            return Err(error("has no rows under its header".to_owned()));
        }
        Ok(Data {
            path: path.to_owned(),
            columns,
            rows,
            target: target_at.map(|_| targets),
        })
    }

    /// The target column as numbers, for a regressor; `None` without one.
    pub fn target_values(&self) -> Result<Option<Vec<f64>>, FolderError> {
        let Some(target) = &self.target else {
            return Ok(None);
        };
        target
            .iter()
            .enumerate()
            .map(|(row, text)| {
                text.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| FolderError::Data {
                        path: self.path.clone(),
                        detail: format!(
                            "row {} has the target `{text}`, not a number: a regressor's target \
                             column holds numbers",
                            row + 2
                        ),
                    })
            })
            .collect::<Result<_, _>>()
            .map(Some)
    }

    /// The values of feature column `c`.
    pub fn column(&self, c: usize) -> impl Iterator<Item = f64> + Clone + '_ {
        self.rows.iter().map(move |row| row[c])
    }
}
