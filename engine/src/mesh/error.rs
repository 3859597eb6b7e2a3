//! `MeshError`: everything that can be wrong with the bytes of a model, with where it is wrong.

use super::Format;

/// Why a model could not be turned into a [`Mesh`](super::Mesh).
///
/// Every variant names the place in the input (byte offset, line, face or archive entry) so
/// that a person can find the problem in the file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MeshError {
    #[error("the input is empty")]
    Empty,

    #[error("the input is {bytes} bytes, above the limit of {limit} bytes")]
    InputTooLarge { bytes: u64, limit: u64 },

    #[error("the model has more than {limit} triangles, the configured limit")]
    TooManyTriangles { limit: u64 },

    #[error("unrecognised format: {reason}")]
    UnknownFormat { reason: String },

    #[error(
        "binary STL is truncated: its header declares {declared} triangles ({expected_bytes} bytes) but the file has {actual_bytes} bytes"
    )]
    StlTruncated {
        declared: u64,
        expected_bytes: u64,
        actual_bytes: u64,
    },

    #[error(
        "binary STL header declares {declared} triangles ({expected_bytes} bytes) but the file has {actual_bytes} bytes; the count disagrees with the length"
    )]
    StlCountMismatch {
        declared: u64,
        expected_bytes: u64,
        actual_bytes: u64,
    },

    #[error("{format} line {line}: {message}")]
    Syntax {
        format: Format,
        line: u64,
        message: String,
    },

    #[error(
        "{format} line {line}: face {face} references vertex {index} but only {n_vertices} vertices are defined"
    )]
    IndexOutOfRange {
        format: Format,
        line: u64,
        face: u64,
        index: i64,
        n_vertices: u64,
    },

    #[error("face {face} has a non-finite coordinate ({value}){}", location_suffix(*line))]
    NonFiniteCoordinate {
        face: u64,
        value: f32,
        line: Option<u64>,
    },

    #[error("3MF archive: {message}")]
    Archive { message: String },

    #[error("3MF entry {entry}: {message}")]
    ThreeMf { entry: String, message: String },

    #[error("reading the input failed: {message}")]
    Read { message: String },

    #[error("the {format} file contains no triangles")]
    NoTriangles { format: Format },
}

fn location_suffix(line: Option<u64>) -> String {
    match line {
        Some(line) => format!(" on line {line}"),
        None => String::new(),
    }
}

impl MeshError {
    /// A short stable name for the kind of error, for JSON output and metrics labels.
    pub fn kind(&self) -> &'static str {
        match self {
            MeshError::Empty => "empty",
            MeshError::InputTooLarge { .. } => "input_too_large",
            MeshError::TooManyTriangles { .. } => "too_many_triangles",
            MeshError::UnknownFormat { .. } => "unknown_format",
            MeshError::StlTruncated { .. } => "stl_truncated",
            MeshError::StlCountMismatch { .. } => "stl_count_mismatch",
            MeshError::Syntax { .. } => "syntax",
            MeshError::IndexOutOfRange { .. } => "index_out_of_range",
            MeshError::NonFiniteCoordinate { .. } => "non_finite_coordinate",
            MeshError::Archive { .. } => "archive",
            MeshError::ThreeMf { .. } => "3mf",
            MeshError::Read { .. } => "read",
            MeshError::NoTriangles { .. } => "no_triangles",
        }
    }
}
