//! The powder-bed (SLS / MJF) estimate. A build fills the chamber with parts, packed so that
//! their bounding boxes take `packing_fraction` of its volume; the build's time (warm-up, every
//! layer of the chamber's height, cool-down) is shared among them by that volume. A piece is
//! charged its bounding box's share of the build. No supports: the powder holds the part.
//!
//! Powder: the part's volume, plus `powder_refresh` of it: the fresh powder mixed in to replace
//! what ageing in the hot chamber spoils.

use crate::pricing::SlsProcess;

#[derive(Debug, Clone, PartialEq)]
pub struct SlsEstimate {
    /// Layers of the part itself.
    pub layers: usize,
    /// The whole build's time, and the piece's share of it.
    pub build_time_s: f64,
    pub share_of_build: f64,
    pub machine_time_s: f64,
    /// Powder used beyond the part's own volume.
    pub refresh_mm3: f64,
}

/// Estimates a part of `size_mm` (its bounding box as oriented) and `volume_mm3` in a chamber
/// of `build_volume_mm`.
pub fn estimate(
    size_mm: [f64; 3],
    volume_mm3: f64,
    build_volume_mm: [f64; 3],
    process: &SlsProcess,
) -> SlsEstimate {
    let chamber_layers = (build_volume_mm[2] / process.layer_height_mm).ceil();
    let build_time_s =
        process.warmup_s + chamber_layers * process.layer_time_s + process.cooldown_s;
    let chamber_mm3: f64 = build_volume_mm.iter().product();
    let box_mm3: f64 = size_mm.iter().product();
    let share_of_build = box_mm3 / (chamber_mm3 * process.packing_fraction_percent / 100.0);
    SlsEstimate {
        layers: (size_mm[2] / process.layer_height_mm).ceil() as usize,
        build_time_s,
        share_of_build,
        machine_time_s: build_time_s * share_of_build,
        refresh_mm3: volume_mm3.abs() * process.powder_refresh_percent / 100.0,
    }
}
