//! The whole data flow for one model: bytes ─▶ Mesh ─▶ Analysis ─▶ Estimate ─▶ Quote.
//!
//! [`quote_model`] reads the model, analyses it, applies the price book's policies (an open mesh
//! is priced with a warning or refused), then prices every candidate orientation that fits the
//! machine (or only the file's, with [`OrientationMode::Keep`]), in parallel: each is stood on
//! the plate, its supports found, its print estimated and priced. The best by the request's
//! [`Objective`] is the quote; the next ones are its alternatives, so a customer can trade price
//! against time or support. Walls thinner than the material's minimum are reported.
//!
//! Everything here is a pure function of the bytes, the options and the price book: the same
//! inputs give the same quote, with the same id.

use rayon::prelude::*;

use crate::analysis::{Analysis, Warning, analyze};
use crate::estimate::{Estimate, estimate, mesh_size};
use crate::manufacturability::{ThinWalls, fit::turn_that_fits, thin_walls};
use crate::mesh::{LoadOptions, MeshError, parse};
use crate::orientation::{self, Candidate, Source};
use crate::pricing::{
    OpenMeshPolicy, PriceBook, PricingError, Quote, QuoteRequest, bulk_digest, check_request,
    digest, quote,
};

/// What "best" means when orientations are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Objective {
    /// The lowest unit price (then the shortest time).
    #[default]
    Price,
    /// The shortest machine time (then the lowest price).
    Time,
    /// The least support (then the lowest price).
    Support,
}

impl Objective {
    pub fn name(self) -> &'static str {
        match self {
            Objective::Price => "price",
            Objective::Time => "time",
            Objective::Support => "support",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrientationMode {
    /// Search the candidates for the best by the objective.
    Auto(Objective),
    /// Price the part exactly as the file places it.
    Keep,
}

impl Default for OrientationMode {
    fn default() -> OrientationMode {
        OrientationMode::Auto(Objective::Price)
    }
}

/// How to quote a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteOptions {
    pub request: QuoteRequest,
    pub orientation: OrientationMode,
    /// Supports where the technology needs them (`false`: price without any).
    pub supports: bool,
    /// How many next-best orientations to report.
    pub alternatives: usize,
}

/// How the part stands on the plate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    pub source: Source,
    /// The direction, in the file's frame, that points down.
    pub down: [f64; 3],
    /// The rotation applied to the file's coordinates (row-major).
    pub rotation: [[f64; 3]; 3],
    /// The size of the part as it stands.
    pub size_mm: [f64; 3],
}

/// One orientation, estimated and priced.
#[derive(Debug, Clone, PartialEq)]
pub struct Priced {
    pub placement: Placement,
    pub estimate: Estimate,
    pub quote: Quote,
}

/// The quote of a model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelQuote {
    pub analysis: Analysis,
    pub chosen: Priced,
    /// The next best orientations, best first.
    pub alternatives: Vec<Priced>,
    /// Orientations that fit the machine and were priced.
    pub candidates_priced: usize,
    pub thin_walls: ThinWalls,
    /// The analysis's warnings, then the manufacturability findings (`thin_walls`).
    pub warnings: Vec<Warning>,
}

/// Why a model could not be quoted.
#[derive(Debug, thiserror::Error)]
pub enum QuoteError {
    /// The bytes are not a model we can read.
    #[error(transparent)]
    Mesh(#[from] MeshError),
    /// The request does not match the price book (unknown material, zero quantity...).
    #[error(transparent)]
    Pricing(#[from] PricingError),
    /// The model was read but cannot be made as asked: `empty_mesh`, `open_mesh` (refused by
    /// the price book's policy), `too_large`.
    #[error("{message}")]
    Refused { kind: &'static str, message: String },
    /// The observer asked to stop.
    #[error("stopped after the {} stage", after.name())]
    Stopped { after: Stage },
}

impl QuoteError {
    /// A stable machine name for the error.
    pub fn kind(&self) -> &'static str {
        match self {
            QuoteError::Mesh(err) => err.kind(),
            QuoteError::Pricing(PricingError::UnknownMaterial { .. }) => "unknown_material",
            QuoteError::Pricing(PricingError::UnknownLeadTime { .. }) => "unknown_lead_time",
            QuoteError::Pricing(PricingError::ZeroQuantity) => "zero_quantity",
            QuoteError::Pricing(PricingError::InvalidUsage { .. }) => "invalid_estimate",
            QuoteError::Refused { kind, .. } => kind,
            QuoteError::Stopped { .. } => "stopped",
        }
    }
}

/// The stages of [`quote_model_observed`], in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Bytes to `Mesh`.
    Parse,
    Analyze,
    /// Orientation candidates, the shared BVH and edge map.
    Prepare,
    /// Supports, estimate and price of every candidate.
    Estimate,
    /// Walls thinner than the material's minimum: found beside `Estimate`, reported after it.
    ThinWalls,
}

impl Stage {
    pub const ALL: [Stage; 5] = [
        Stage::Parse,
        Stage::Analyze,
        Stage::Prepare,
        Stage::Estimate,
        Stage::ThinWalls,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Parse => "parse",
            Stage::Analyze => "analyze",
            Stage::Prepare => "prepare",
            Stage::Estimate => "estimate",
            Stage::ThinWalls => "thin_walls",
        }
    }
}

/// Watches a quote as it runs: how long each stage took, and whether to stop (the caller went
/// away, or its deadline passed). Stopping happens between stages.
pub trait Observer: Sync {
    fn stage_done(&self, _stage: Stage, _elapsed: std::time::Duration) {}
    fn should_stop(&self) -> bool {
        false
    }
}

/// Watches nothing and never stops.
pub struct Unobserved;

impl Observer for Unobserved {}

/// Quotes the model in `bytes`.
pub fn quote_model(
    bytes: &[u8],
    load: &LoadOptions,
    options: &QuoteOptions,
    book: &PriceBook,
) -> Result<ModelQuote, QuoteError> {
    quote_model_observed(bytes, load, options, book, &Unobserved)
}

/// Times `stage`, and stops after it when the observer says so.
fn staged<T>(
    observer: &dyn Observer,
    stage: Stage,
    work: impl FnOnce() -> T,
) -> Result<T, QuoteError> {
    let start = std::time::Instant::now();
    let out = work();
    observer.stage_done(stage, start.elapsed());
    if observer.should_stop() {
        return Err(QuoteError::Stopped { after: stage });
    }
    Ok(out)
}

/// [`quote_model`], reporting each stage to `observer` and stopping between stages when it
/// asks to ([`QuoteError::Stopped`]).
pub fn quote_model_observed(
    bytes: &[u8],
    load: &LoadOptions,
    options: &QuoteOptions,
    book: &PriceBook,
    observer: &dyn Observer,
) -> Result<ModelQuote, QuoteError> {
    // The request is checked against the book before any geometry work.
    let (material, _) = check_request(&options.request, book)?;
    let machine = &book.machines[&material.machine];
    let mesh = staged(observer, Stage::Parse, || parse(bytes, load))??;
    let analysis = staged(observer, Stage::Analyze, || analyze(&mesh))?;
    // Supports look at which way faces point: an inside-out part is estimated right side out
    // (the analysis warns about it).
    let mesh = if analysis.volume_mm3 < 0.0 {
        mesh.flipped()
    } else {
        mesh
    };
    if analysis.n_triangles == 0 {
        return Err(QuoteError::Refused {
            kind: "empty_mesh",
            message: "the model has no triangles to print".to_string(),
        });
    }
    if !analysis.watertight && book.open_mesh == OpenMeshPolicy::Refuse {
        return Err(QuoteError::Refused {
            kind: "open_mesh",
            message: format!(
                "the mesh is not watertight ({} boundary and {} non-manifold edges) and the \
                 price book ({}) refuses open meshes: repair the model and upload it again",
                analysis.boundary_edges, analysis.non_manifold_edges, book.version
            ),
        });
    }
    // The BVH (for supports and thin walls), the edge map and the shells (for slicing) are
    // built once and shared by every orientation; built beside the candidate search, not in a
    // candidate's way while the other threads wait for it.
    let ((candidates, hull), ()) = staged(observer, Stage::Prepare, || {
        rayon::join(
            || match options.orientation {
                OrientationMode::Keep => (
                    vec![Candidate {
                        down: [0.0, 0.0, -1.0],
                        source: Source::File,
                    }],
                    orientation::hull_point_indices(&mesh),
                ),
                OrientationMode::Auto(_) => orientation::candidates_and_hull(&mesh),
            },
            || {
                crate::raycast::Caster::new(&mesh);
                mesh.shells();
            },
        )
    })?;
    let hull: Vec<[f64; 3]> = hull
        .into_iter()
        .map(|idx| mesh.positions()[idx].map(f64::from))
        .collect();
    let model_digest = digest(&[
        &bulk_digest(bytes).to_le_bytes(),
        format!("{:?}", load.unit).as_bytes(),
    ])
    .to_le_bytes();
    let volume = analysis.volume_mm3.abs();
    // The thin walls do not depend on the orientation: found beside the estimates, they fill
    // the cores the candidates leave idle (the last candidates, the serial parts of each).
    let thin_walls_timed = || {
        let start = std::time::Instant::now();
        (thin_walls(&mesh, material.min_wall_mm), start.elapsed())
    };
    let estimate_start = std::time::Instant::now();
    let price = |candidate: &Candidate| -> Result<Option<Priced>, QuoteError> {
        let rotation = orientation::rotation_to_down(candidate.down);
        let turned: Vec<[f64; 3]> = hull
            .iter()
            .map(|p| std::array::from_fn(|i| (0..3).map(|j| rotation[i][j] * p[j]).sum()))
            .collect();
        if turn_that_fits(&turned, machine.build_volume_mm).is_none() {
            return Ok(None);
        }
        let oriented = orientation::orient(&mesh, candidate);
        let estimate = estimate(&oriented, volume, machine, material, options.supports)
            .ok_or_else(|| QuoteError::Refused {
                kind: "invalid_process",
                message: format!("machine `{}` has a process that cannot slice", machine.id),
            })?;
        let down_bits: Vec<u8> = candidate
            .down
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let identity = digest(&[&model_digest, options_tag(options).as_bytes(), &down_bits]);
        let quote = quote(
            &estimate.usage(),
            &options.request,
            book,
            &identity.to_le_bytes(),
        )?;
        Ok(Some(Priced {
            placement: Placement {
                source: candidate.source,
                down: candidate.down,
                rotation,
                size_mm: mesh_size(&oriented),
            },
            estimate,
            quote,
        }))
    };
    let (priced, (thin, thin_elapsed)) = rayon::join(
        || candidates.par_iter().map(price).collect::<Vec<_>>(),
        thin_walls_timed,
    );
    observer.stage_done(Stage::Estimate, estimate_start.elapsed());
    if observer.should_stop() {
        return Err(QuoteError::Stopped {
            after: Stage::Estimate,
        });
    }
    let mut fitting = Vec::new();
    for result in priced {
        if let Some(priced) = result? {
            fitting.push(priced);
        }
    }
    if fitting.is_empty() {
        return Err(too_large(&analysis, machine, options.orientation));
    }
    let objective = match options.orientation {
        OrientationMode::Auto(objective) => objective,
        OrientationMode::Keep => Objective::Price,
    };
    // Stable: among equals the earlier candidate (the file's own first) wins.
    fitting.sort_by(|a, b| {
        let price = a.quote.unit_price_minor.cmp(&b.quote.unit_price_minor);
        let time = a
            .estimate
            .machine_time_s
            .total_cmp(&b.estimate.machine_time_s);
        let support = a
            .estimate
            .support_volume_mm3()
            .total_cmp(&b.estimate.support_volume_mm3());
        match objective {
            Objective::Price => price.then(time),
            Objective::Time => time.then(price),
            Objective::Support => support.then(price),
        }
    });
    let candidates_priced = fitting.len();
    let mut ranked = fitting.into_iter();
    let chosen = ranked.next().expect("not empty");
    let alternatives: Vec<Priced> = ranked.take(options.alternatives).collect();
    observer.stage_done(Stage::ThinWalls, thin_elapsed);
    let mut warnings = analysis.warnings.clone();
    if let Some(spot) = thin.thinnest {
        warnings.push(Warning {
            kind: "thin_walls",
            message: format!(
                "{:.1} mm² of wall ({} faces) is thinner than the {:.2} mm that {} needs; the \
                 thinnest is {:.2} mm at ({:.2}, {:.2}, {:.2}) mm in the file's coordinates",
                thin.area_mm2,
                thin.n_faces,
                material.min_wall_mm,
                material.name,
                spot.thickness_mm,
                spot.at_mm[0],
                spot.at_mm[1],
                spot.at_mm[2]
            ),
        });
    }
    Ok(ModelQuote {
        analysis,
        chosen,
        alternatives,
        candidates_priced,
        thin_walls: thin,
        warnings,
    })
}

/// The estimate options, as they feed the quote id.
fn options_tag(options: &QuoteOptions) -> String {
    let orientation = match options.orientation {
        OrientationMode::Keep => "keep",
        OrientationMode::Auto(objective) => objective.name(),
    };
    format!("orientation={orientation};supports={}", options.supports)
}

fn too_large(
    analysis: &Analysis,
    machine: &crate::pricing::Machine,
    mode: OrientationMode,
) -> QuoteError {
    let size = analysis.size_mm();
    let volume = machine.build_volume_mm;
    let how = match mode {
        OrientationMode::Keep => {
            "as the file places it, even turned on the plate (try letting the orientation be \
             chosen)"
        }
        OrientationMode::Auto(_) => "in any orientation tried",
    };
    QuoteError::Refused {
        kind: "too_large",
        message: format!(
            "the part ({:.1} x {:.1} x {:.1} mm) does not fit machine `{}` ({:.0} x {:.0} x {:.0} \
             mm) {how}",
            size[0], size[1], size[2], machine.id, volume[0], volume[1], volume[2]
        ),
    }
}
