//! `pricing-bench accuracy`: the FDM estimate against PrusaSlicer's figures for the same
//! models with the same profile (`../shared/refs/dev_slicer_reference.json`).

use std::path::{Path, PathBuf};

use anyhow::Context;
use pricing_engine::estimate::fdm;
use pricing_engine::mesh::LoadOptions;
use pricing_engine::pricing::{FdmProcess, PriceBook, Process};
use pricing_engine::support::supports;
use serde_json::{Value, json};

/// One model's estimate next to PrusaSlicer's.
pub struct Row {
    pub model: String,
    pub time_s: f64,
    pub reference_time_s: f64,
    pub filament_mm: f64,
    pub reference_filament_mm: f64,
    /// Supports on (PrusaSlicer's `_supports` profile), where the reference has the run.
    pub supported: Option<Supported>,
}

/// The supports-on estimate next to PrusaSlicer's.
pub struct Supported {
    pub time_s: f64,
    pub reference_time_s: f64,
    pub support_g: f64,
    pub reference_support_g: f64,
}

/// Below this, a support mass is too small for a relative error to mean anything (PrusaSlicer
/// reports hundredths of a gram).
pub const SUPPORT_G_FLOOR: f64 = 0.1;

impl Supported {
    pub fn time_error(&self) -> f64 {
        self.time_s / self.reference_time_s - 1.0
    }

    /// `None` when the reference's support is under [`SUPPORT_G_FLOOR`].
    pub fn support_error(&self) -> Option<f64> {
        (self.reference_support_g >= SUPPORT_G_FLOOR)
            .then(|| self.support_g / self.reference_support_g - 1.0)
    }
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

/// Estimates every model the reference sliced, with supports off and, where the reference
/// has the run, on. Each model is read from the first of the `models` folders that has it.
pub fn rows(reference: &Path, models: &[PathBuf]) -> anyhow::Result<Vec<Row>> {
    let text = std::fs::read_to_string(reference)
        .with_context(|| format!("reading {}", reference.display()))?;
    let refs: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", reference.display()))?;
    let table = refs["table"]
        .as_array()
        .context("the reference has no `table`")?;
    let process = reference_process()?;
    let density = PriceBook::built_in()
        .material("pla")
        .context("the built-in price book has no `pla`")?
        .density_g_cm3;
    let mut out = Vec::new();
    for row in table {
        let (Some(model), Some(time), Some(filament)) = (
            row["model"].as_str(),
            row["prusa_time_s"].as_f64(),
            row["prusa_filament_mm"].as_f64(),
        ) else {
            continue;
        };
        let path = models
            .iter()
            .map(|folder| folder.join(model))
            .find(|path| path.is_file())
            .with_context(|| format!("{model} is in none of {models:?}"))?;
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let mesh = pricing_engine::parse(&bytes, &LoadOptions::default())
            .with_context(|| model.to_string())?;
        let estimate = fdm::estimate(&mesh, &process, None)
            .context("the reference process has invalid layer heights")?;
        let supported = match (
            row["prusa_time_sup_s"].as_f64(),
            row["prusa_support_g"].as_f64(),
        ) {
            (Some(reference_time_s), Some(reference_support_g)) => {
                let found = supports(&mesh, &fdm::support_settings(&process));
                let with = fdm::estimate(&mesh, &process, Some(&found))
                    .context("the reference process has invalid layer heights")?;
                Some(Supported {
                    time_s: with.print_time_s,
                    reference_time_s,
                    support_g: with.support_mm3 * density / 1000.0,
                    reference_support_g,
                })
            }
            _ => None,
        };
        out.push(Row {
            model: model.to_string(),
            time_s: estimate.print_time_s,
            reference_time_s: time,
            filament_mm: estimate.filament_mm,
            reference_filament_mm: filament,
            supported,
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

/// Median and worst absolute errors.
pub struct Summary {
    pub time: (f64, f64),
    pub filament: (f64, f64),
    pub supported_time: (f64, f64),
    pub support_mass: (f64, f64),
}

pub fn summary(rows: &[Row]) -> Summary {
    let supported = || rows.iter().filter_map(|r| r.supported.as_ref());
    Summary {
        time: median_and_worst(rows.iter().map(|r| r.time_error().abs()).collect()),
        filament: median_and_worst(rows.iter().map(|r| r.filament_error().abs()).collect()),
        supported_time: median_and_worst(supported().map(|s| s.time_error().abs()).collect()),
        support_mass: median_and_worst(
            supported()
                .filter_map(|s| s.support_error())
                .map(f64::abs)
                .collect(),
        ),
    }
}

pub fn report(rows: &[Row], json_lines: bool) -> String {
    let Summary {
        time: (time_median, time_worst),
        filament: (fil_median, fil_worst),
        supported_time: (sup_time_median, sup_time_worst),
        support_mass: (mass_median, mass_worst),
    } = summary(rows);
    let mut out = String::new();
    if json_lines {
        for r in rows {
            let supported = r.supported.as_ref().map(|s| json!({"time_s": s.time_s, "prusa_time_s": s.reference_time_s, "time_error": s.time_error(),
                "support_g": s.support_g, "prusa_support_g": s.reference_support_g, "support_error": s.support_error()}));
            let line = json!({"model": r.model, "time_s": r.time_s, "prusa_time_s": r.reference_time_s, "time_error": r.time_error(),
                "filament_mm": r.filament_mm, "prusa_filament_mm": r.reference_filament_mm, "filament_error": r.filament_error(),
                "supports_on": supported});
            out.push_str(&format!("{line}\n"));
        }
        let summary = json!({"summary": {"models": rows.len(), "time_median_abs_error": time_median, "time_worst_abs_error": time_worst,
            "filament_median_abs_error": fil_median, "filament_worst_abs_error": fil_worst,
            "supports_on_time_median_abs_error": sup_time_median, "supports_on_time_worst_abs_error": sup_time_worst,
            "support_mass_median_abs_error": mass_median, "support_mass_worst_abs_error": mass_worst,
            "support_mass_floor_g": SUPPORT_G_FLOOR}});
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
        "{} models: time median {:.1}%, worst {:.1}%; filament median {:.1}%, worst {:.1}%\n\nsupports on\n",
        rows.len(),
        time_median * 100.0,
        time_worst * 100.0,
        fil_median * 100.0,
        fil_worst * 100.0
    ));
    out.push_str(&format!(
        "{:<54} {:>9} {:>9} {:>7} {:>9} {:>9} {:>7}\n",
        "model", "time s", "prusa s", "error", "sup g", "prusa g", "error"
    ));
    for r in rows {
        let Some(s) = &r.supported else { continue };
        out.push_str(&format!(
            "{:<54} {:>9.0} {:>9.0} {:>+6.1}% {:>9.2} {:>9.2} {:>7}\n",
            r.model,
            s.time_s,
            s.reference_time_s,
            s.time_error() * 100.0,
            s.support_g,
            s.reference_support_g,
            s.support_error()
                .map_or("-".to_string(), |e| format!("{:+.1}%", e * 100.0))
        ));
    }
    out.push_str(&format!(
        "supports on: time median {:.1}%, worst {:.1}%; support mass median {:.1}%, worst {:.1}% (references of {SUPPORT_G_FLOOR} g or more)\n",
        sup_time_median * 100.0,
        sup_time_worst * 100.0,
        mass_median * 100.0,
        mass_worst * 100.0
    ));
    out
}
