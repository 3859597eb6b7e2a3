//! `pricing-bench analyze`: one line of JSON, or a readable block, per file.

use std::fs::File;
use std::path::Path;

use pricing_engine::QuoteError;
use pricing_engine::analysis::{Analysis, QuickMeasure};
use pricing_engine::mesh::{self, LoadOptions, MeshError};
use serde_json::{Value, json};

/// Why a file could not be analysed or quoted.
#[derive(Debug)]
pub enum FileError {
    Io(std::io::Error),
    Mesh(MeshError),
    Quote(QuoteError),
}

impl FileError {
    pub fn kind(&self) -> &'static str {
        match self {
            FileError::Io(_) => "io",
            FileError::Mesh(err) => err.kind(),
            FileError::Quote(err) => err.kind(),
        }
    }
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileError::Io(err) => write!(f, "cannot read the file: {err}"),
            FileError::Mesh(err) => err.fmt(f),
            FileError::Quote(err) => err.fmt(f),
        }
    }
}

/// Loads and analyses one file. A binary STL is streamed, so the file is never in memory whole.
pub fn analyze_file(path: &Path, options: &LoadOptions) -> Result<Analysis, FileError> {
    let file = File::open(path).map_err(FileError::Io)?;
    let len = file.metadata().map_err(FileError::Io)?.len();
    let reader = std::io::BufReader::with_capacity(1 << 16, file);
    let mesh = mesh::parse_reader(reader, len, options).map_err(FileError::Mesh)?;
    Ok(pricing_engine::analyze(&mesh))
}

/// Volume, area and bounding box only, straight from the triangles.
pub fn quick_measure_file(
    path: &Path,
    options: &LoadOptions,
) -> Result<(mesh::Format, QuickMeasure), FileError> {
    // Streamed: a binary STL is measured in parallel as it is read.
    let file = File::open(path).map_err(FileError::Io)?;
    let len = file.metadata().map_err(FileError::Io)?.len();
    pricing_engine::analysis::quick_measure_reader(file, len, options).map_err(FileError::Mesh)
}

/// The JSON object of the `analyze --json` contract (DESIGN.md), plus a few extra fields.
pub fn analysis_json(file: &str, analysis: &Analysis) -> Value {
    json!({
        "file": file,
        "format": analysis.format.name(),
        "triangles": analysis.n_triangles_in_file,
        "vertices": analysis.n_vertices,
        "volume_mm3": analysis.volume_mm3,
        "area_mm2": analysis.area_mm2,
        "bbox_min": analysis.bbox_min,
        "bbox_max": analysis.bbox_max,
        "shells": analysis.shells.len(),
        "watertight": analysis.watertight,
        "winding_consistent": analysis.winding_consistent,
        "boundary_edges": analysis.boundary_edges,
        "non_manifold_edges": analysis.non_manifold_edges,
        "degenerate_triangles": analysis.degenerate_triangles,
        "warnings": analysis.warnings.iter().map(|w| json!({"kind": w.kind, "message": w.message})).collect::<Vec<_>>(),
        "centroid_mm": analysis.centroid_mm,
        "edges": analysis.n_edges,
        "euler_number": analysis.euler_number,
        "inverted_shells": analysis.inverted_shells(),
        "shell_volumes_mm3": analysis.shells.iter().map(|s| s.volume_mm3).collect::<Vec<_>>(),
    })
}

pub fn quick_json(file: &str, format: mesh::Format, measure: &QuickMeasure) -> Value {
    json!({
        "file": file,
        "format": format.name(),
        "triangles": measure.n_triangles,
        "volume_mm3": measure.volume_mm3,
        "area_mm2": measure.area_mm2,
        "bbox_min": measure.bbox_min,
        "bbox_max": measure.bbox_max,
    })
}

pub fn error_json(file: &str, error: &FileError) -> Value {
    json!({"file": file, "error": {"kind": error.kind(), "message": error.to_string()}})
}

/// The readable block for one file.
pub fn analysis_text(file: &str, a: &Analysis) -> String {
    let size = a.size_mm();
    let mut out = format!(
        "{file}\n  format        {}\n  triangles     {} ({} after welding), {} vertices, {} edges\n  volume        {:.3} mm3\n  area          {:.3} mm2\n  size          {:.3} x {:.3} x {:.3} mm (min {:?}, max {:?})\n  centroid      [{:.3}, {:.3}, {:.3}] mm\n  shells        {} ({} inverted)\n  watertight    {} ({} boundary, {} non-manifold edges)\n  winding       {}\n  degenerate    {}\n",
        a.format,
        a.n_triangles_in_file,
        a.n_triangles,
        a.n_vertices,
        a.n_edges,
        a.volume_mm3,
        a.area_mm2,
        size[0],
        size[1],
        size[2],
        a.bbox_min,
        a.bbox_max,
        a.centroid_mm[0],
        a.centroid_mm[1],
        a.centroid_mm[2],
        a.shells.len(),
        a.inverted_shells(),
        if a.watertight { "yes" } else { "no" },
        a.boundary_edges,
        a.non_manifold_edges,
        if a.winding_consistent {
            "consistent"
        } else {
            "inconsistent"
        },
        a.degenerate_triangles,
    );
    for warning in &a.warnings {
        out.push_str(&format!("  warning       {}\n", warning.message));
    }
    out
}
