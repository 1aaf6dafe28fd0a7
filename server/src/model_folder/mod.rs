//! Making and checking model folders from the command line: `sepal model
//! init` (`init`) and `sepal model check` (`check`).

mod check;
mod classifier;
mod data;
mod from_data;
mod init;
mod names;
mod onnx_file;
mod regressor;

use std::{
    io,
    path::{Path, PathBuf},
};

pub use check::check;
pub use init::{Init, init};

use crate::inference::ModelError;

/// Why a folder could not be made or checked; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path} {detail}")]
    Data { path: PathBuf, detail: String },
    #[error("{path} {detail}")]
    Onnx { path: PathBuf, detail: String },
    #[error("{0} already holds a manifest.json; choose a new folder")]
    Exists(PathBuf),
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// A target value as a class name: `1.0` in a CSV is the int64 label `1`.
fn normalized(value: &str) -> String {
    match value.parse::<f64>() {
        Ok(v) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{}", v as i64),
        _ => value.to_owned(),
    }
}

/// What a folder's model answers, for the terminal: `3 classes`, or
/// `predicts Disease progression`.
fn answers(manifest: &app::model::Manifest) -> String {
    match (&manifest.target, manifest.task) {
        (Some(target), app::model::Task::Regression) => format!("predicts {}", target.label),
        _ => format!("{} classes", manifest.classes.len()),
    }
}

/// A path's last part, for messages.
fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}
