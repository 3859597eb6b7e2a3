//! `Analysis`: the exact geometry of a [`Mesh`]: volume, area, bounding box, centroid, shells,
//! watertightness, winding, edge defects and warnings a person should read before trusting the
//! numbers.

mod inside;
mod quick;
mod topology;
mod volume;

pub use quick::{QuickMeasure, quick_measure, quick_measure_reader};

use crate::mesh::{Format, Mesh, UnitNote};

/// Below this largest dimension a part was most likely drawn in metres or inches.
pub const TINY_PART_MM: f64 = 2.0;
/// Above this largest dimension no printer we know can make the part in one piece.
pub const HUGE_PART_MM: f64 = 5000.0;
/// Containment is checked for at most this many negative shells (each ray is tested against
/// every face); beyond it they are all reported as inverted without the check, and a warning
/// says so.
const MAX_CONTAINMENT_CANDIDATES: usize = 64;

/// One connected component of faces.
#[derive(Debug, Clone, PartialEq)]
pub struct Shell {
    pub n_triangles: u64,
    /// Signed: negative for a void (correct) or an inside-out shell (see `inverted`).
    pub volume_mm3: f64,
    pub area_mm2: f64,
    /// Every edge of the shell is shared by exactly two of its faces.
    pub closed: bool,
    /// A closed shell whose orientation contradicts its nesting: negative volume where it is not
    /// inside another shell (an inside-out part), as opposed to a void.
    pub inverted: bool,
}

/// Something the numbers alone do not say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Stable machine name: `open_mesh`, `inconsistent_winding`, `inverted_shells`,
    /// `degenerate_faces`, `tiny_part`, `huge_part`, `empty_mesh`.
    pub kind: &'static str,
    pub message: String,
}

/// The exact geometry of a mesh, in millimetres.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub format: Format,
    /// Triangles in the file (polygons triangulated), including any dropped as degenerate.
    pub n_triangles_in_file: u64,
    /// Triangles in the welded mesh.
    pub n_triangles: u64,
    pub n_vertices: u64,
    pub n_edges: u64,
    /// Signed volume of all shells; approximate when the mesh is not watertight (see warnings).
    pub volume_mm3: f64,
    pub area_mm2: f64,
    pub bbox_min: [f64; 3],
    pub bbox_max: [f64; 3],
    /// The centre of mass of the solid (uniform density), or of the surface when the volume is
    /// zero.
    pub centroid_mm: [f64; 3],
    pub shells: Vec<Shell>,
    /// Every edge is shared by exactly two faces.
    pub watertight: bool,
    /// No edge shared by two faces is walked the same way by both.
    pub winding_consistent: bool,
    pub boundary_edges: u64,
    pub non_manifold_edges: u64,
    /// Faces that collapsed when welded (dropped) plus faces of zero area (kept: their three
    /// distinct corners close T-junctions in the surface).
    pub degenerate_triangles: u64,
    pub euler_number: i64,
    pub warnings: Vec<Warning>,
}

impl Analysis {
    pub fn size_mm(&self) -> [f64; 3] {
        std::array::from_fn(|i| (self.bbox_max[i] - self.bbox_min[i]).max(0.0))
    }

    pub fn inverted_shells(&self) -> usize {
        self.shells.iter().filter(|s| s.inverted).count()
    }
}

/// Measures a mesh.
pub fn analyze(mesh: &Mesh) -> Analysis {
    let (bbox_min, bbox_max) = if mesh.positions().is_empty() {
        ([0.0; 3], [0.0; 3])
    } else {
        volume::bounding_box(mesh.positions())
    };
    let reference: [f64; 3] = std::array::from_fn(|i| (bbox_min[i] + bbox_max[i]) / 2.0);
    let topology = topology::topology(mesh.positions().len(), mesh.triangles());
    // Faces that contradict their neighbours' orientation are counted flipped, so that the
    // volume of a watertight but miswound shell is the volume of the solid it bounds.
    let flipped = (topology.miswound_edges > 0).then(|| topology::consistent_flips(mesh));
    let mut mass = volume::mass_properties(
        mesh,
        reference,
        &topology.shell_of_face,
        topology.n_shells,
        flipped.as_deref(),
    );

    let mut shells: Vec<Shell> = mass
        .per_shell
        .iter()
        .map(|sums| Shell {
            n_triangles: sums.n_triangles,
            volume_mm3: sums.volume6 / 6.0,
            area_mm2: sums.area2 / 2.0,
            closed: true,
            inverted: false,
        })
        .collect();
    let mut consistent = vec![true; shells.len()];
    for (flags, &shell) in topology.face_flags.iter().zip(&topology.shell_of_face) {
        if flags & topology::FLAG_OPEN != 0 {
            shells[shell as usize].closed = false;
        }
        if flags & topology::FLAG_MISWOUND != 0 {
            consistent[shell as usize] = false;
        }
    }
    // A re-oriented shell's sign comes from whichever face the walk started at: take the
    // orientation that encloses positive volume.
    let mut reoriented_shells = 0;
    for (idx, shell) in shells.iter_mut().enumerate() {
        if !consistent[idx] {
            reoriented_shells += 1;
            if mass.per_shell[idx].volume6 < 0.0 {
                mass.per_shell[idx].flip();
                shell.volume_mm3 = -shell.volume_mm3;
            }
        }
    }
    let (inverted, containment_skipped) = find_inverted(mesh, &topology, &shells, &consistent);
    for idx in inverted {
        shells[idx].inverted = true;
    }

    let total = mass.total();
    let volume_mm3 = total.volume6 / 6.0;
    let area_mm2 = total.area2 / 2.0;
    let centroid_mm = if total.volume6.abs() > 1e-12 * area_mm2.powf(1.5).max(f64::MIN_POSITIVE) {
        std::array::from_fn(|i| reference[i] + total.moment[i] / (4.0 * total.volume6))
    } else if total.area2 > 0.0 {
        std::array::from_fn(|i| reference[i] + total.area_moment[i] / (3.0 * total.area2))
    } else {
        reference
    };
    let n_vertices = mesh.positions().len() as u64;
    let n_triangles = mesh.triangles().len() as u64;
    let watertight =
        n_triangles > 0 && topology.boundary_edges == 0 && topology.non_manifold_edges == 0;
    let mut analysis = Analysis {
        format: mesh.format(),
        n_triangles_in_file: mesh.triangles_in_file(),
        n_triangles,
        n_vertices,
        n_edges: topology.n_edges,
        volume_mm3,
        area_mm2,
        bbox_min,
        bbox_max,
        centroid_mm,
        shells,
        watertight,
        winding_consistent: topology.miswound_edges == 0,
        boundary_edges: topology.boundary_edges,
        non_manifold_edges: topology.non_manifold_edges,
        degenerate_triangles: mesh.collapsed_triangles() + total.zero_area,
        euler_number: n_vertices as i64 - topology.n_edges as i64 + n_triangles as i64,
        warnings: Vec::new(),
    };
    let defects = Defects {
        zero_area: total.zero_area,
        miswound_edges: topology.miswound_edges,
        reoriented_shells,
        containment_skipped,
    };
    analysis.warnings = warnings(&analysis, mesh, &defects);
    analysis
}

/// The inside-out shells: closed, consistently wound, negative volume and not enclosed by an
/// odd number of other closed shells (which would make them voids). Returns them and the
/// number of shells reported without the containment check because there were too many.
fn find_inverted(
    mesh: &Mesh,
    topology: &topology::Topology,
    shells: &[Shell],
    consistent: &[bool],
) -> (Vec<usize>, usize) {
    let is_closed = |idx: usize| shells[idx].closed && consistent[idx];
    let negative: Vec<usize> = (0..shells.len())
        .filter(|&idx| is_closed(idx) && shells[idx].volume_mm3 < 0.0)
        .collect();
    if negative.is_empty() {
        return (negative, 0);
    }
    let mut closed_index = vec![u32::MAX; shells.len()];
    let mut n_closed = 0;
    for (idx, slot) in closed_index.iter_mut().enumerate() {
        if is_closed(idx) {
            *slot = n_closed as u32;
            n_closed += 1;
        }
    }
    if negative.len() > MAX_CONTAINMENT_CANDIDATES || negative.len() * n_closed > inside::MAX_PAIRS
    {
        let skipped = negative.len();
        return (negative, skipped);
    }
    // One vertex of each candidate shell: that of its first face.
    let mut first_face = vec![usize::MAX; shells.len()];
    for (face, &shell) in topology.shell_of_face.iter().enumerate().rev() {
        first_face[shell as usize] = face;
    }
    let candidates: Vec<(u32, [f64; 3])> = negative
        .iter()
        .map(|&idx| (idx as u32, mesh.corners(first_face[idx])[0].map(f64::from)))
        .collect();
    let counts = inside::enclosing_counts(
        mesh,
        &topology.shell_of_face,
        &closed_index,
        n_closed,
        &candidates,
    );
    // A void sits inside an odd number of shells; a negative shell at even depth is inside out.
    let inverted = negative
        .into_iter()
        .zip(counts)
        .filter(|(_, enclosing)| enclosing % 2 == 0)
        .map(|(idx, _)| idx)
        .collect();
    (inverted, 0)
}

/// What the analysis noticed beyond the figures it reports.
#[derive(Clone, Copy)]
struct Defects {
    zero_area: u64,
    miswound_edges: u64,
    reoriented_shells: usize,
    containment_skipped: usize,
}

fn warnings(a: &Analysis, mesh: &Mesh, defects: &Defects) -> Vec<Warning> {
    let Defects {
        zero_area,
        miswound_edges,
        reoriented_shells,
        containment_skipped,
    } = *defects;
    let mut out = Vec::new();
    let mut warn = |kind: &'static str, message: String| out.push(Warning { kind, message });
    if a.n_triangles == 0 {
        warn(
            "empty_mesh",
            "every face collapsed to a line or a point: the mesh has no surface".to_string(),
        );
        return out;
    }
    if !a.watertight {
        warn(
            "open_mesh",
            format!(
                "the mesh is not watertight ({} boundary edges, {} non-manifold edges): the volume {:.3} mm3 is the signed volume enclosed by its triangles measured about the centre of the bounding box, and is approximate",
                a.boundary_edges, a.non_manifold_edges, a.volume_mm3
            ),
        );
    }
    if miswound_edges > 0 {
        warn(
            "inconsistent_winding",
            format!(
                "{miswound_edges} edges are walked the same way by both of their faces: some faces point the wrong way; the volume was computed after orienting the faces of {reoriented_shells} shells consistently"
            ),
        );
    }
    let inverted = a.inverted_shells();
    if inverted > 0 {
        let extra = if containment_skipped > 0 {
            format!(
                " (containment was not checked: {containment_skipped} negative shells is above the limit of {MAX_CONTAINMENT_CANDIDATES})"
            )
        } else {
            String::new()
        };
        warn(
            "inverted_shells",
            format!(
                "{inverted} of {} shells are inside out (negative volume, yet not inside another shell): their volume counts as negative{extra}",
                a.shells.len()
            ),
        );
    }
    if a.degenerate_triangles > 0 {
        warn(
            "degenerate_faces",
            format!(
                "{} faces have no area: {} collapsed to a line or a point when their corners were welded and were dropped; {} have three distinct collinear corners and were kept because they close the surface",
                a.degenerate_triangles,
                mesh.collapsed_triangles(),
                zero_area
            ),
        );
    }
    let largest = a.size_mm().into_iter().fold(0.0f64, f64::max);
    let unit_hint = match mesh.unit_note() {
        UnitNote::Given(unit) => format!(" (read as {})", unit.name()),
        UnitNote::Declared => " (as the file's declared unit says)".to_string(),
    };
    if largest < TINY_PART_MM {
        warn(
            "tiny_part",
            format!(
                "the largest dimension is {largest:.4} mm{unit_hint}: the model was probably drawn in metres ({:.1} mm) or inches ({:.2} mm); give its unit",
                largest * 1000.0,
                largest * 25.4
            ),
        );
    } else if largest > HUGE_PART_MM {
        warn(
            "huge_part",
            format!(
                "the largest dimension is {largest:.0} mm{unit_hint}, larger than any printer: was the model drawn in a smaller unit (microns give {:.2} mm)?",
                largest / 1000.0
            ),
        );
    }
    out
}
