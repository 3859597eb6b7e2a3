//! Estimates: how long a piece keeps its machine busy and what it uses, per technology, for a
//! part as it stands on the plate.
//!
//! - FDM ([`fdm`]): slicing-based print time and filament, modelled on PrusaSlicer's profile
//!   parameters; supports filled with lines and dense interface layers.
//! - SLA / DLP ([`sla`]): exposure and tilt per layer; resin including supports.
//! - SLS / MJF ([`sls`]): the piece's share of a packed build's time; powder with refresh.
//!
//! [`estimate`] runs the one that the machine's process names and returns an [`Estimate`], the
//! common shape the pricing and the orientation search use.

pub mod fdm;
pub mod sla;
pub mod sls;

use crate::mesh::Mesh;
use crate::pricing::{Machine, Material, Process, Technology, Usage};
use crate::support::{SupportSettings, Supports, supports};

/// What one piece takes, as oriented.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    pub technology: Technology,
    pub layers: usize,
    /// Machine time charged to one piece (for SLS, its share of the build).
    pub machine_time_s: f64,
    pub material_g: f64,
    pub support_g: f64,
    /// The supports found under the overhangs (`None` when supports are off or the technology
    /// needs none).
    pub supports: Option<Supports>,
    /// FDM only: the filament used, supports included.
    pub filament_mm: Option<f64>,
}

impl Estimate {
    pub fn usage(&self) -> Usage {
        Usage {
            material_g: self.material_g,
            support_g: self.support_g,
            machine_time_s: self.machine_time_s,
        }
    }

    /// The space under the overhangs, 0 without supports.
    pub fn support_volume_mm3(&self) -> f64 {
        self.supports.map_or(0.0, |s| s.volume_mm3)
    }
}

/// Estimates one piece of `mesh` as it stands (z up, on the plate under its lowest point) on
/// `machine` in `material`; `volume_mm3` is the part's volume (from the analysis).
/// `with_supports` asks for supports where the technology needs them. `None` when the process
/// cannot slice (a validated price book never has such).
pub fn estimate(
    mesh: &Mesh,
    volume_mm3: f64,
    machine: &Machine,
    material: &Material,
    with_supports: bool,
) -> Option<Estimate> {
    let grams = |mm3: f64| mm3.abs() * material.density_g_cm3 / 1000.0;
    Some(match &machine.process {
        Process::Fdm(process) => {
            let found = with_supports.then(|| supports(mesh, &fdm::support_settings(process)));
            let fdm = fdm::estimate(mesh, process, found.as_ref())?;
            Estimate {
                technology: Technology::Fdm,
                layers: fdm.layers,
                machine_time_s: fdm.print_time_s,
                material_g: grams(fdm.filament_mm3 - fdm.support_mm3),
                support_g: grams(fdm.support_mm3),
                supports: found,
                filament_mm: Some(fdm.filament_mm),
            }
        }
        Process::Sla(process) => {
            let found = with_supports.then(|| supports(mesh, &SupportSettings::default()));
            let sla = sla::estimate(mesh, process, found.as_ref())?;
            Estimate {
                technology: Technology::Sla,
                layers: sla.layers,
                machine_time_s: sla.print_time_s,
                material_g: grams(volume_mm3),
                support_g: grams(sla.support_mm3),
                supports: found,
                filament_mm: None,
            }
        }
        Process::Sls(process) => {
            let sls = sls::estimate(
                mesh_size(mesh),
                volume_mm3,
                machine.build_volume_mm,
                process,
            );
            Estimate {
                technology: Technology::Sls,
                layers: sls.layers,
                machine_time_s: sls.machine_time_s,
                material_g: grams(volume_mm3) + grams(sls.refresh_mm3),
                support_g: 0.0,
                supports: None,
                filament_mm: None,
            }
        }
    })
}

/// The size of the mesh's bounding box.
pub(crate) fn mesh_size(mesh: &Mesh) -> [f64; 3] {
    let mut low = [f64::INFINITY; 3];
    let mut high = [f64::NEG_INFINITY; 3];
    for p in mesh.positions() {
        for i in 0..3 {
            low[i] = low[i].min(f64::from(p[i]));
            high[i] = high[i].max(f64::from(p[i]));
        }
    }
    std::array::from_fn(|i| (high[i] - low[i]).max(0.0))
}
