//! `pricing-bench accuracy`: the FDM estimate against PrusaSlicer's figures for the same
//! models with the same profile (`../shared/refs/dev_slicer_reference.json`).

use std::path::Path;

use anyhow::Context;
use pricing_engine::estimate::fdm;
use pricing_engine::mesh::LoadOptions;
use pricing_engine::pricing::{FdmProcess, PriceBook, Process};
use serde_json::{Value, json};

/// One model's estimate next to PrusaSlicer's.
pub struct Row {
    pub model: String,
    pub time_s: f64,
    pub reference_time_s: f64,
    pub filament_mm: f64,
    pub reference_filament_mm: f64,
}

impl Row {
    pub fn time_error(&self) -> f64 {
        self.time_s / self.reference_time_s - 1.0
    }

    pub fn filament_error(&self) -> f64 {
        self.filament_mm / self.reference_filament_mm - 1.0
    }
}

/// The built-in book's FDM process (the reference profile).
pub fn reference_process() -> anyhow::Result<FdmProcess> {
    match PriceBook::built_in()
        .machines
        .get("mk3s")
        .map(|m| m.process)
    {
        Some(Process::Fdm(process)) => Ok(process),
        _ => anyhow::bail!("the built-in price book has no FDM machine `mk3s`"),
    }
}

/// Estimates every model the reference sliced, supports off.
pub fn rows(reference: &Path, models: &Path) -> anyhow::Result<Vec<Row>> {
    let text = std::fs::read_to_string(reference)
        .with_context(|| format!("reading {}", reference.display()))?;
    let refs: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", reference.display()))?;
    let table = refs["table"]
        .as_array()
        .context("the reference has no `table`")?;
    let process = reference_process()?;
    let mut out = Vec::new();
    for row in table {
        let (Some(model), Some(time), Some(filament)) = (
            row["model"].as_str(),
            row["prusa_time_s"].as_f64(),
            row["prusa_filament_mm"].as_f64(),
        ) else {
            continue;
        };
        let bytes =
            std::fs::read(models.join(model)).with_context(|| format!("reading {model}"))?;
        let mesh = pricing_engine::parse(&bytes, &LoadOptions::default())
            .with_context(|| model.to_string())?;
        let estimate = fdm::estimate(&mesh, &process)
            .context("the reference process has invalid layer heights")?;
        out.push(Row {
            model: model.to_string(),
            time_s: estimate.print_time_s,
            reference_time_s: time,
            filament_mm: estimate.filament_mm,
            reference_filament_mm: filament,
        });
    }
    Ok(out)
}

fn median_and_worst(mut errors: Vec<f64>) -> (f64, f64) {
    errors.sort_by(f64::total_cmp);
    let median = if errors.is_empty() {
        f64::NAN
    } else {
        errors[errors.len() / 2]
    };
    (median, errors.last().copied().unwrap_or(f64::NAN))
}

pub fn report(rows: &[Row], json_lines: bool) -> String {
    let (time_median, time_worst) =
        median_and_worst(rows.iter().map(|r| r.time_error().abs()).collect());
    let (fil_median, fil_worst) =
        median_and_worst(rows.iter().map(|r| r.filament_error().abs()).collect());
    let mut out = String::new();
    if json_lines {
        for r in rows {
            let line = json!({"model": r.model, "time_s": r.time_s, "prusa_time_s": r.reference_time_s, "time_error": r.time_error(),
                "filament_mm": r.filament_mm, "prusa_filament_mm": r.reference_filament_mm, "filament_error": r.filament_error()});
            out.push_str(&format!("{line}\n"));
        }
        let summary = json!({"summary": {"models": rows.len(), "time_median_abs_error": time_median, "time_worst_abs_error": time_worst,
            "filament_median_abs_error": fil_median, "filament_worst_abs_error": fil_worst}});
        out.push_str(&format!("{summary}\n"));
        return out;
    }
    out.push_str(&format!(
        "{:<54} {:>9} {:>9} {:>7} {:>9} {:>9} {:>7}\n",
        "model", "time s", "prusa s", "error", "fil mm", "prusa mm", "error"
    ));
    for r in rows {
        out.push_str(&format!(
            "{:<54} {:>9.0} {:>9.0} {:>+6.1}% {:>9.0} {:>9.0} {:>+6.1}%\n",
            r.model,
            r.time_s,
            r.reference_time_s,
            r.time_error() * 100.0,
            r.filament_mm,
            r.reference_filament_mm,
            r.filament_error() * 100.0
        ));
    }
    out.push_str(&format!(
        "{} models: time median {:.1}%, worst {:.1}%; filament median {:.1}%, worst {:.1}%\n",
        rows.len(),
        time_median * 100.0,
        time_worst * 100.0,
        fil_median * 100.0,
        fil_worst * 100.0
    ));
    out
}
