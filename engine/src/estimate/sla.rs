//! The resin (SLA / DLP) estimate: every layer is exposed, then the vat tilts to peel it off the
//! film, slowly when the layer's area is large (the peel force grows with it); the first
//! `initial_layers` are exposed longer so the part holds on the platform.
//!
//! Resin: the part's volume, plus the supports: a share (`support_fill_percent`) of the space
//! under the overhangs, which the pillars and their lattice fill.

use crate::mesh::Mesh;
use crate::pricing::SlaProcess;
use crate::slicing::{LayerPlan, slice};
use crate::support::Supports;

#[derive(Debug, Clone, PartialEq)]
pub struct SlaEstimate {
    pub layers: usize,
    pub print_time_s: f64,
    /// Layers peeled with the slow tilt.
    pub slow_tilt_layers: usize,
    pub support_mm3: f64,
}

/// Estimates printing `mesh` as it stands with `process`. `None` when the layer height is not
/// valid (a validated price book never has such).
pub fn estimate(
    mesh: &Mesh,
    process: &SlaProcess,
    supports: Option<&Supports>,
) -> Option<SlaEstimate> {
    let plan = LayerPlan::new(process.layer_height_mm, process.layer_height_mm).ok()?;
    let layers = slice(mesh, &plan).layers;
    let mut time = 0.0;
    let mut slow = 0;
    for (i, layer) in layers.iter().enumerate() {
        time += if i < process.initial_layers as usize {
            process.initial_exposure_s
        } else {
            process.exposure_s
        };
        if layer.area_mm2.abs() > process.slow_tilt_above_area_mm2 {
            slow += 1;
            time += process.tilt_slow_s;
        } else {
            time += process.tilt_fast_s;
        }
    }
    Some(SlaEstimate {
        layers: layers.len(),
        print_time_s: time,
        slow_tilt_layers: slow,
        support_mm3: supports.map_or(0.0, |s| s.volume_mm3 * process.support_fill_percent / 100.0),
    })
}
