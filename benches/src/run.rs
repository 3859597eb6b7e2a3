//! `pricing-bench run DIR`: time every stage of the engine on every model of a folder.
//!
//! Stages, each timed separately and reported as the median of `repeat` runs:
//! - `read`: the file into memory (from the page cache after the untimed warm-up run);
//! - `parse`: bytes to an unwelded list of triangles (format detection included);
//! - `quick`: bytes to volume, area and bounding box in one pass, without welding or topology
//!   (what `analyze --quick` does);
//! - `weld`: the triangles to an indexed mesh;
//! - `analyse`: the full analysis of the mesh (topology, shells, volumes, warnings).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use pricing_engine::analysis::{analyze, quick_measure};
use pricing_engine::mesh::{self, LoadOptions};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Table,
    Json,
    Csv,
}

/// The timings of one file.
#[derive(Debug, Clone)]
pub struct FileTimings {
    pub file: String,
    pub bytes: u64,
    pub triangles: u64,
    pub read: Duration,
    pub parse: Duration,
    /// Bytes to volume, area and bounding box, fused.
    pub measure: Duration,
    pub weld: Duration,
    pub analyse: Duration,
}

impl FileTimings {
    /// Parse, weld and analyse: the engine's work on bytes already in memory.
    pub fn engine(&self) -> Duration {
        self.parse + self.weld + self.analyse
    }

    pub fn triangles_per_s(&self) -> f64 {
        self.triangles as f64 / self.engine().as_secs_f64().max(1e-9)
    }

    pub fn megabytes_per_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.engine().as_secs_f64().max(1e-9)
    }
}

/// Every model file under `dir`, sorted by path.
pub fn model_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder)
            .with_context(|| format!("reading folder {}", folder.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "stl" | "obj" | "3mf"))
            {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Times one file: one untimed warm-up run, then `repeat` timed runs.
pub fn time_file(path: &Path, repeat: usize, options: &LoadOptions) -> anyhow::Result<FileTimings> {
    let mut samples: [Vec<Duration>; 5] = Default::default();
    let mut triangles = 0;
    let mut bytes_len = 0;
    for run in 0..=repeat {
        let start = Instant::now();
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let read = start.elapsed();
        let start = Instant::now();
        let (format, soup) = mesh::decode(&bytes, options)?;
        let parse = start.elapsed();
        let start = Instant::now();
        let measure = std::hint::black_box(quick_measure(&bytes, options)?.1);
        let measure_time = start.elapsed();
        let start = Instant::now();
        let welded = soup.weld(format)?;
        let weld = start.elapsed();
        let start = Instant::now();
        let analysis = std::hint::black_box(analyze(&welded));
        let analyse = start.elapsed();
        triangles = analysis.n_triangles_in_file.max(measure.n_triangles);
        bytes_len = bytes.len() as u64;
        if run > 0 {
            for (slot, value) in samples
                .iter_mut()
                .zip([read, parse, measure_time, weld, analyse])
            {
                slot.push(value);
            }
        }
    }
    let [read, parse, measure, weld, analyse] = samples.map(median);
    Ok(FileTimings {
        file: path.display().to_string(),
        bytes: bytes_len,
        triangles,
        read,
        parse,
        measure,
        weld,
        analyse,
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Runs the benchmark over a folder and prints the report; returns true when any file failed.
pub fn run(
    dir: &Path,
    repeat: usize,
    options: &LoadOptions,
    output: Output,
) -> anyhow::Result<bool> {
    let files = model_files(dir)?;
    if files.is_empty() {
        anyhow::bail!("no .stl, .obj or .3mf files under {}", dir.display());
    }
    let progress = ProgressBar::new(files.len() as u64);
    progress.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut results = Vec::new();
    let mut failures = Vec::new();
    for path in &files {
        progress.set_message(
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        match time_file(path, repeat, options) {
            Ok(timings) => results.push(timings),
            Err(err) => failures.push((path.display().to_string(), format!("{err:#}"))),
        }
        progress.inc(1);
    }
    progress.finish_and_clear();

    match output {
        Output::Json => {
            for t in &results {
                println!(
                    "{}",
                    json!({
                        "file": t.file, "bytes": t.bytes, "triangles": t.triangles,
                        "read_ms": ms(t.read), "parse_ms": ms(t.parse), "quick_ms": ms(t.measure),
                        "weld_ms": ms(t.weld), "analyse_ms": ms(t.analyse), "engine_ms": ms(t.engine()),
                        "triangles_per_s": t.triangles_per_s(), "mb_per_s": t.megabytes_per_s(),
                    })
                );
            }
            for (file, message) in &failures {
                println!("{}", json!({"file": file, "error": message}));
            }
        }
        Output::Csv => {
            println!(
                "file,bytes,triangles,read_ms,parse_ms,quick_ms,weld_ms,analyse_ms,engine_ms,triangles_per_s,mb_per_s"
            );
            for t in &results {
                println!(
                    "{},{},{},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.0},{:.1}",
                    t.file,
                    t.bytes,
                    t.triangles,
                    ms(t.read),
                    ms(t.parse),
                    ms(t.measure),
                    ms(t.weld),
                    ms(t.analyse),
                    ms(t.engine()),
                    t.triangles_per_s(),
                    t.megabytes_per_s()
                );
            }
        }
        Output::Table => {
            println!(
                "{:<48} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>8}",
                "file",
                "triangles",
                "read ms",
                "parse",
                "quick",
                "weld",
                "analyse",
                "engine ms",
                "Mtri/s",
                "MB/s"
            );
            for t in &results {
                let name = Path::new(&t.file)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                println!(
                    "{:<48} {:>9} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>9.2} {:>9.2} {:>8.0}",
                    name,
                    t.triangles,
                    ms(t.read),
                    ms(t.parse),
                    ms(t.measure),
                    ms(t.weld),
                    ms(t.analyse),
                    ms(t.engine()),
                    t.triangles_per_s() / 1e6,
                    t.megabytes_per_s()
                );
            }
            for (file, message) in &failures {
                println!("{file}: error: {message}");
            }
        }
    }
    Ok(!failures.is_empty())
}
