//! Supports: the geometry under overhangs that a printer must fill before it can print them.
//!
//! A face overhangs when it faces down and its slope, measured from the horizontal, is below the
//! threshold (PrusaSlicer's `support_material_threshold`, 45 degrees in the reference profile): a
//! ceiling is 0 degrees, a wall 90. Over the projection of every overhanging face a square grid
//! of points is laid; from each point, just below the face, a column goes straight down to the
//! part below or, failing that, the build plate (the lowest point of the part). Each point
//! stands for a column of `grid_mm` x `grid_mm` x its height: their sum is the support volume.
//! Overhanging faces too small to hold a grid point still need holding up (a slicer finds them
//! in its layers, whatever their size): where no grid point stands for their cell, the cell
//! gets one column of their area (at most the cell's), at their mean height, under the cell's
//! centre. The contact area is the projected area of the overhanging faces that are not
//! resting on the plate.
//!
//! What a slicer prints is more than those columns, and [`Supports`] also says how much more
//! (the `pattern_` figures and the first layer), as PrusaSlicer's grid supports do it:
//!
//! - A column shorter than `min_gap_mm` (a layer) is no support: a slicer's layers do not see a
//!   gap that thin (a part's bottom that is not quite flat, two bodies a hair apart). Nor is a
//!   column on the plate lower than `min_plate_gap_mm` (the first layer and the contact gap): a
//!   slicer cannot put a support layer under its first (the Octopus bracket's 0.3 mm chamfers).
//! - Each remaining column is a contact, and a contact grows to the whole cells of the support
//!   pattern that it reaches (`pattern_cell_mm`: the line spacing plus one line; the pattern
//!   has a corner at the centre of the part's bounding box, as PrusaSlicer lays it). A contact
//!   under a flat ceiling reaches over its whole grid cell; under a slope, half a layer's
//!   step on the slope each way (the slicer's contact at a layer is the strip by which the
//!   layer's outline passes the one below): every grid point of those cells carries support from the contact's height down to
//!   the part below it or the plate, unless the point is inside the part at that height (the
//!   slicer trims supports by the part). So a small overhang beside a wall gets a cell-wide
//!   support beside the wall, down to the plate, as in PrusaSlicer's G-code.
//! - A support ends `contact_gap_mm` under the part it holds, and starts as far over the part
//!   it stands on; and it keeps `xy_gap_mm` from the part's walls beside it (where a grid
//!   cell's neighbour is inside the part, a strip that wide along their shared side holds
//!   none), so a slot narrower than two gaps holds no support.
//! - Under every contact it holds, `interface_depth_mm` of a support is dense interface: under
//!   its top, and under each lower contact of its pattern cell that it passes on its way down
//!   (PrusaSlicer's grid supports lay the interface over the whole grid cell under each layer's
//!   contact: a screw's thread, whose helix makes a contact at every layer, is supported by
//!   interface nearly all the way up). Only contacts under overhangs sloping less than
//!   `interface_angle_deg` get one (PrusaSlicer gives none to overhangs whose layers reach only
//!   a little past the layer below).
//! - The first layer of every support standing on the plate reaches `first_layer_expansion_mm`
//!   further out (PrusaSlicer's `raft_first_layer_expansion`, which holds without a raft too),
//!   but not into the part's own first layer nor within `xy_gap_mm` of it.
//!
//! The face below a point is found one of two ways, with the same answer: a ray cast down
//! through parry3d's BVH, for few points on a fine mesh; or, for many points, every face
//! rasterised into the same grid (the columns that are asked about only) and each column's
//! crossings sorted by height, so the face under a point is the crossing below it, at a cost of
//! one pass over the faces instead of a BVH walk per point.
//!
//! When the first face below also looks down, the point is inside the solid (shells that
//! overlap, as in many multi-body exports): that column is material, not support.
//!
//! Grid points on an edge shared by two faces belong to exactly one of them (the top-left rule
//! of rasterisers), so no column is counted twice. What fraction of this volume a slicer fills,
//! and with which pattern, belongs to the print estimate, not here.

use rayon::prelude::*;

use crate::mesh::{Mesh, face_normal};
use crate::raycast::Caster;

/// How supports are found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SupportSettings {
    /// Faces sloping less than this from the horizontal, facing down, need support.
    pub overhang_angle_deg: f64,
    /// The spacing of the columns.
    pub grid_mm: f64,
    /// The cell of the slicer's support pattern (its line spacing plus one extrusion's): a
    /// slicer lays support lines over every cell that a column touches, so small supports
    /// grow to whole cells. 0 for none (then no `pattern_` figures nor first layer).
    pub pattern_cell_mm: f64,
    /// Columns shorter than this hold no support (a slicer's layer height). 0 for none.
    pub min_gap_mm: f64,
    /// Supports standing on the plate need their top at least this high: the first layer and
    /// the contact gap under the part (a slicer does not support what lies lower). 0 for none.
    pub min_plate_gap_mm: f64,
    /// How far the first layer of the supports on the plate reaches beyond them.
    pub first_layer_expansion_mm: f64,
    /// How far supports keep from the part's walls beside them (PrusaSlicer's
    /// `support_material_xy_spacing`): a gap narrower than twice this holds none.
    pub xy_gap_mm: f64,
    /// Only supports under faces sloping less than this get dense interface layers on top
    /// (steeper overhangs, each layer reaching only a little past the one below, are held
    /// by the support's body alone).
    pub interface_angle_deg: f64,
    /// The gap a grown support leaves under the part it holds up, and over the part it stands
    /// on (PrusaSlicer's `support_material_contact_distance`; its bottom distance 0 means the
    /// same).
    pub contact_gap_mm: f64,
    /// How deep the dense interface under each contact is (a slicer's interface layers times
    /// their height); 0 for none.
    pub interface_depth_mm: f64,
}

impl Default for SupportSettings {
    fn default() -> SupportSettings {
        SupportSettings {
            overhang_angle_deg: 45.0,
            grid_mm: 0.5,
            pattern_cell_mm: 0.0,
            min_gap_mm: 0.0,
            min_plate_gap_mm: 0.0,
            first_layer_expansion_mm: 0.0,
            xy_gap_mm: 0.0,
            interface_angle_deg: 90.0,
            contact_gap_mm: 0.0,
            interface_depth_mm: 0.0,
        }
    }
}

/// The supports a part needs in its current orientation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Supports {
    pub volume_mm3: f64,
    pub contact_area_mm2: f64,
    /// Overhanging faces (resting on the plate excluded).
    pub n_overhanging_faces: u64,
    pub n_columns: u64,
    /// The volume and the top area of the supports grown to whole pattern cells and trimmed
    /// by the part (0 without a pattern cell).
    pub pattern_volume_mm3: f64,
    pub pattern_contact_area_mm2: f64,
    /// The part of their volume that is dense interface: `interface_depth_mm` under every
    /// contact that gets one (`SupportSettings::interface_angle_deg`), the highest and those
    /// that a support takes in on its way down.
    pub pattern_interface_volume_mm3: f64,
    /// The area of their sides (outline times height, summed over the layers): a slicer joins
    /// the lines of each layer's support along its outline.
    pub pattern_side_area_mm2: f64,
    /// The part of those sides that faces along x: where lines laid along x (PrusaSlicer's
    /// `support_material_angle` of 0) end, turn and join the next.
    pub pattern_x_side_area_mm2: f64,
    /// The area of the supports' first layer on the plate, its expansion included (0 without
    /// a pattern cell).
    pub first_layer_area_mm2: f64,
    /// The box (min x, min y, max x, max y) of the grid cells whose supports stand on the
    /// plate, before the first layer's expansion: `None` when none do (or without a pattern
    /// cell).
    pub first_layer_box_mm: Option<[f64; 4]>,
}

/// How far below a face a column's ray starts, and how close to the plate a face counts as
/// resting on it, in millimetres.
const EPSILON_MM: f64 = 1e-4;

/// Finds the supports of `mesh` as it stands (z up, plate under its lowest point).
pub fn supports(mesh: &Mesh, settings: &SupportSettings) -> Supports {
    let empty = Supports {
        volume_mm3: 0.0,
        contact_area_mm2: 0.0,
        n_overhanging_faces: 0,
        n_columns: 0,
        pattern_volume_mm3: 0.0,
        pattern_contact_area_mm2: 0.0,
        pattern_interface_volume_mm3: 0.0,
        pattern_side_area_mm2: 0.0,
        pattern_x_side_area_mm2: 0.0,
        first_layer_area_mm2: 0.0,
        first_layer_box_mm: None,
    };
    let grid = settings.grid_mm;
    if mesh.triangles().is_empty() || grid.is_nan() || grid <= 0.0 {
        return empty;
    }
    let (plate, centre) = plate_and_centre(mesh);
    let overhangs = overhanging_faces(mesh, settings, plate);
    if overhangs.is_empty() {
        return empty;
    }
    let cell = settings.pattern_cell_mm;
    let grows = cell.is_finite() && cell > 0.0;
    // The grid reaches as far as the grown supports and their first layer can.
    let reach = if grows {
        cell + finite_or_zero(settings.first_layer_expansion_mm)
    } else {
        0.0
    };
    let (region, points) = overhang_points(
        mesh,
        &overhangs,
        grid,
        reach,
        settings.interface_angle_deg,
        finite_or_zero(settings.min_gap_mm),
    );
    let grid = region.grid;
    // A pattern cell is at least a grid cell.
    let pattern = grows.then(|| PatternCells::new(&region, cell.max(grid), centre));
    // With a gap to keep, the cells beside the grown ones are asked about too (is the part
    // there?).
    let gap = finite_or_zero(settings.xy_gap_mm);
    let grown_cells = pattern.as_ref().map(|pattern| {
        let cells = pattern.grid_cells_of(&points);
        if gap > 0.0 {
            cells.with_neighbours(region.columns, region.len())
        } else {
            cells
        }
    });
    let asked = points.len() + grown_cells.as_ref().map_or(0, Marks::count);
    // Each ray walks the BVH; the raster walks every face once. Rays win while the points are
    // few against the faces (a fine mesh with small overhangs), the raster otherwise.
    let columns = if asked * RAY_COST_IN_FACES < mesh.triangles().len() {
        Caster::new(mesh).map(|caster| Columns::Rays { caster, mesh })
    } else {
        let mut marks = Marks::of(region.len(), &points);
        if let Some(grown) = &grown_cells {
            marks.add(grown);
        }
        Some(Columns::raster(mesh, &region, marks))
    };
    let Some(columns) = columns else {
        return empty;
    };
    let small = points
        .iter()
        .any(|p| p.small_face.is_some())
        .then(|| Caster::new(mesh))
        .flatten();
    let hangs = hangs(mesh, &region, &points, &columns, small.as_ref(), plate);
    let mut result = Supports {
        n_overhanging_faces: overhangs.len() as u64,
        contact_area_mm2: overhangs
            .iter()
            .map(|&face| {
                let [a, b, c] = mesh.corners(face).map(|p| p.map(f64::from));
                (face_normal(a, b, c)[2] / 2.0).abs()
            })
            .sum(),
        n_columns: hangs.len() as u64,
        volume_mm3: hangs
            .iter()
            .map(|hang| hang.weight * hang.height.max(0.0))
            .sum(),
        ..empty
    };
    if let Some(pattern) = pattern {
        let grown = pattern.grow(&region, &hangs, &columns, settings, plate);
        result.pattern_volume_mm3 = grown.volume_mm3;
        result.pattern_contact_area_mm2 = grown.top_area_mm2;
        result.pattern_interface_volume_mm3 = grown.interface_volume_mm3;
        [result.pattern_side_area_mm2, result.pattern_x_side_area_mm2] = grown.side_area_mm2;
        result.first_layer_area_mm2 =
            first_layer_area(mesh, &region, &grown.on_plate, settings, plate);
        result.first_layer_box_mm = cells_box(&region, &grown.on_plate);
    }
    result
}

/// The box (min x, min y, max x, max y) of the marked grid cells.
fn cells_box(region: &Region, marks: &Marks) -> Option<[f64; 4]> {
    let half = region.grid / 2.0;
    let mut found: Option<[f64; 4]> = None;
    for (w, &word) in marks.0.iter().enumerate() {
        let mut bits = word;
        while bits != 0 {
            let [x, y] = region.centre(w * 64 + bits.trailing_zeros() as usize);
            bits &= bits - 1;
            let b = found.get_or_insert([x, y, x, y]);
            *b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
        }
    }
    found.map(|[x0, y0, x1, y1]| [x0 - half, y0 - half, x1 + half, y1 + half])
}

fn finite_or_zero(v: f64) -> f64 {
    if v.is_finite() { v.max(0.0) } else { 0.0 }
}

/// The cells of the slicer's support pattern over the region, numbered row by row; each holds
/// the grid cells whose centres fall in it. As PrusaSlicer's, the pattern has a corner at the
/// centre of the part's bounding box, so a part supported where it stands and moved across
/// the plate gets the same supports.
struct PatternCells {
    columns: usize,
    rows: usize,
    /// Per pattern column (row), the first grid column (row) in it, and one past the last.
    column_starts: Vec<usize>,
    row_starts: Vec<usize>,
    /// Along x and y: the grid's first cell, and the pattern's first cell (numbered from
    /// the origin).
    first: [i64; 2],
    base: [i64; 2],
    origin: [f64; 2],
    cell: f64,
    grid: f64,
    grid_columns: usize,
}

/// Supports grown to whole pattern cells and trimmed by the part.
struct Grown {
    volume_mm3: f64,
    top_area_mm2: f64,
    interface_volume_mm3: f64,
    /// All sides, and those facing along x.
    side_area_mm2: [f64; 2],
    /// The grid cells whose support stands on the plate.
    on_plate: Marks,
}

impl PatternCells {
    /// Pattern cells `cell` wide, with a corner at `origin` (x, y).
    fn new(region: &Region, cell: f64, origin: [f64; 2]) -> PatternCells {
        // Along each axis, the pattern cell of each grid cell's centre (never decreasing).
        let at = |x: f64, origin: f64| floor((x * region.grid - origin) / cell);
        let base = [0, 1].map(|axis| at(region.first[axis] as f64 + 0.5, origin[axis]));
        let axis = |axis: usize, count: usize| {
            let of: Vec<u32> = (0..count)
                .map(|n| {
                    (at(region.first[axis] as f64 + n as f64 + 0.5, origin[axis]) - base[axis])
                        as u32
                })
                .collect();
            let cells = of.last().map_or(0, |&last| last as usize + 1);
            (0..=cells)
                .map(|k| of.partition_point(|&p| (p as usize) < k))
                .collect::<Vec<usize>>()
        };
        let (column_starts, row_starts) = (axis(0, region.columns), axis(1, region.rows));
        PatternCells {
            columns: column_starts.len() - 1,
            rows: row_starts.len() - 1,
            column_starts,
            row_starts,
            first: region.first,
            base,
            origin,
            cell,
            grid: region.grid,
            grid_columns: region.columns,
        }
    }

    fn len(&self) -> usize {
        self.columns * self.rows
    }

    /// The pattern cells that a contact at grid cell `g`, reaching `reach` from the cell's
    /// centre along x and y, overlaps (one to four): it holds up every one, as a slicer's
    /// contact area reaching into a cell does.
    fn reached(&self, g: usize, reach: f64) -> impl Iterator<Item = usize> + '_ {
        let index = [g % self.grid_columns, g / self.grid_columns];
        let counts = [self.columns, self.rows];
        let [[c0, c1], [r0, r1]] = [0, 1].map(|axis| {
            let centre = (self.first[axis] as f64 + index[axis] as f64 + 0.5) * self.grid;
            let last = counts[axis].saturating_sub(1) as i64;
            [centre - reach + 1e-9, centre + reach - 1e-9].map(|x| {
                (floor((x - self.origin[axis]) / self.cell) - self.base[axis]).clamp(0, last)
                    as usize
            })
        });
        (r0..=r1).flat_map(move |r| (c0..=c1).map(move |c| r * self.columns + c))
    }

    /// The grid cells whose centres are in pattern cell `index`.
    fn grid_cells(&self, index: usize) -> impl Iterator<Item = usize> + '_ {
        let (i, j) = (index % self.columns, index / self.columns);
        let columns = self.column_starts[i]..self.column_starts[i + 1];
        (self.row_starts[j]..self.row_starts[j + 1]).flat_map(move |row| {
            columns
                .clone()
                .map(move |column| row * self.grid_columns + column)
        })
    }

    /// The grid cells of every pattern cell that `points` touch.
    fn grid_cells_of(&self, points: &[Point]) -> Marks {
        let mut touched = vec![false; self.len()];
        for point in points {
            for k in self.reached(point.cell as usize, point.reach) {
                touched[k] = true;
            }
        }
        let rows = self.row_starts[self.rows];
        let mut marks = Marks::new(self.grid_columns * rows);
        for (index, _) in touched.iter().enumerate().filter(|(_, t)| **t) {
            for g in self.grid_cells(index) {
                marks.insert(g);
            }
        }
        marks
    }

    /// The columns grown to whole cells: every contact (a column at least `min_gap_mm` tall)
    /// holds up its whole cell at its height. At each grid point of the cell, from the highest
    /// contact down: where the point is in the open at a contact's height, support goes from
    /// there down to the first face below (or the plate), taking in the lower contacts on the
    /// way; where it is inside the part, the part holds it, and the next contact below the
    /// part's underside starts the next support.
    fn grow(
        &self,
        region: &Region,
        hangs: &[Hang],
        columns: &Columns<'_>,
        settings: &SupportSettings,
        plate: f64,
    ) -> Grown {
        let min_gap = finite_or_zero(settings.min_gap_mm).max(EPSILON_MM);
        let min_plate_gap = finite_or_zero(settings.min_plate_gap_mm);
        let contact_gap = finite_or_zero(settings.contact_gap_mm);
        let interface_depth = finite_or_zero(settings.interface_depth_mm).max(0.0);
        // Tall enough to hold a support: over the part, a layer; over the plate, the first layer
        // and the contact gap too.
        let holds = |top: f64, bottom: f64| {
            top - bottom >= min_gap && (bottom > plate || top - plate >= min_plate_gap)
        };
        let contacts: Vec<(usize, f64, bool)> = hangs
            .iter()
            .filter(|hang| hang.height > 0.0 && holds(hang.z, (hang.z - hang.height).max(plate)))
            .flat_map(|hang| {
                self.reached(hang.cell as usize, hang.reach)
                    .map(|k| (k, hang.z, hang.dense))
            })
            .collect();
        let (contacts, starts) = group_by_slot(&[&contacts], self.len(), |c| c.0);
        // Per pattern cell, its contacts' heights from the bottom up (and whether they get
        // an interface; at one height, those that do last).
        let mut heights: Vec<(f64, bool)> = contacts.iter().map(|c| (c.1, c.2)).collect();
        for bounds in starts.windows(2) {
            heights[bounds[0]..bounds[1]]
                .sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        }
        // Row by row of grid cells (in parallel by rows of pattern cells), so that the supports
        // come out sorted by cell.
        let supports: Vec<Support> = (0..self.rows)
            .into_par_iter()
            .flat_map_iter(|pattern_row| {
                let mut found = Vec::new();
                let cells: Vec<usize> = (pattern_row * self.columns
                    ..(pattern_row + 1) * self.columns)
                    .filter(|&k| starts[k] < starts[k + 1])
                    .collect();
                let bands: Vec<Bands> = cells
                    .iter()
                    .map(|&k| Bands::new(&heights[starts[k]..starts[k + 1]], interface_depth))
                    .collect();
                for row in self.row_starts[pattern_row]..self.row_starts[pattern_row + 1] {
                    for (&k, bands) in cells.iter().zip(&bands) {
                        let heights = &heights[starts[k]..starts[k + 1]];
                        let i = k % self.columns;
                        for column in self.column_starts[i]..self.column_starts[i + 1] {
                            let g = row * self.grid_columns + column;
                            let mut left = heights.len();
                            while left > 0 {
                                let top = heights[left - 1].0;
                                let (bottom, open) = match columns.below(region, g, top, plate) {
                                    None => (plate, true),
                                    Some((hit, down)) => (hit, !down),
                                };
                                let (low, high) = (
                                    if bottom > plate {
                                        bottom + contact_gap
                                    } else {
                                        bottom
                                    },
                                    top - contact_gap,
                                );
                                if open && holds(top, bottom) && high > low {
                                    found.push(Support {
                                        cell: g as u32,
                                        bottom: low,
                                        top: high,
                                        keep: 1.0,
                                        interface: bands.height(top, low, contact_gap),
                                    });
                                }
                                if bottom == plate {
                                    break;
                                }
                                // The next support starts below this one's foot (or the part's
                                // underside).
                                left = heights.partition_point(|h| h.0 < bottom - EPSILON_MM);
                            }
                        }
                    }
                }
                found
            })
            .collect();
        let gap = finite_or_zero(settings.xy_gap_mm);
        let supports = if gap > 0.0 {
            keep_gap(region, columns, &supports, gap, plate)
        } else {
            supports
        };
        let area = region.grid * region.grid;
        let mut on_plate = Marks::new(region.len());
        for support in supports.iter().filter(|s| s.bottom == plate) {
            on_plate.insert(support.cell as usize);
        }
        Grown {
            volume_mm3: supports
                .iter()
                .map(|s| (s.top - s.bottom) * s.keep)
                .sum::<f64>()
                * area,
            top_area_mm2: supports.iter().map(|s| s.keep).sum::<f64>() * area,
            interface_volume_mm3: supports.iter().map(|s| s.interface * s.keep).sum::<f64>() * area,
            side_area_mm2: side_area(region, &supports),
            on_plate,
        }
    }
}

/// One support at a grid point: from `bottom` (the part below, or the plate) up to `top`,
/// over `keep` of the grid cell's area (the rest is the gap it keeps from the part beside it).
#[derive(Clone, Copy)]
struct Support {
    cell: u32,
    bottom: f64,
    top: f64,
    keep: f64,
    /// How much of its height is dense interface.
    interface: f64,
}

/// The dense interface of the supports in one pattern cell: a band `depth` deep a contact gap
/// under each of its contacts that gets one (PrusaSlicer's interface layers), merged.
struct Bands {
    /// The heights of those contacts, from the bottom up.
    z: Vec<f64>,
    /// For each, how much the bands from the lowest up to it add below the highest's:
    /// `Σ min(depth, z[k] - z[k - 1])`, so that a run of them is measured at once.
    merged: Vec<f64>,
    depth: f64,
}

impl Bands {
    /// `heights`: a cell's contacts, sorted by height, and whether each gets an interface.
    fn new(heights: &[(f64, bool)], depth: f64) -> Bands {
        let z: Vec<f64> = heights.iter().filter(|h| h.1).map(|h| h.0).collect();
        let mut merged = Vec::with_capacity(z.len());
        let mut sum = 0.0;
        for k in 0..z.len() {
            if k > 0 {
                sum += (z[k] - z[k - 1]).min(depth);
            }
            merged.push(sum);
        }
        Bands { z, merged, depth }
    }

    /// The interface of a support from `low` up to a contact gap under `top`: the bands of
    /// the contacts it holds (the one at `top` and those it passes), above `low`. Every band
    /// of a contact at or under `top` ends under the support's top; the lowest band that
    /// reaches over `low` holds all of the union that lies under it.
    fn height(&self, top: f64, low: f64, contact_gap: f64) -> f64 {
        if self.depth <= 0.0 {
            return 0.0;
        }
        let above = self.z.partition_point(|&z| z <= top);
        let lowest = self.z.partition_point(|&z| z - contact_gap <= low);
        if lowest >= above {
            return 0.0;
        }
        let union = self.depth + self.merged[above - 1] - self.merged[lowest];
        let under_low = (low - (self.z[lowest] - contact_gap - self.depth)).max(0.0);
        (union - under_low).max(0.0)
    }
}

/// A neighbouring grid cell, and the group of supports it holds, if any.
type Beside = (usize, Option<usize>);

/// The supports less the gap they keep from the part's walls: on each side of a support's
/// grid cell where the neighbouring cell is inside the part, the wall lies between the two
/// centres (half a cell away on average, where the cell ends), and a strip `gap` wide along
/// it holds no support, for as much of the support's height as the neighbour is inside the
/// part. A support left with nothing (a slot narrower than twice the gap) is dropped.
/// `supports` are sorted by cell.
fn keep_gap(
    region: &Region,
    columns: &Columns<'_>,
    supports: &[Support],
    gap: f64,
    plate: f64,
) -> Vec<Support> {
    let grid = region.grid;
    let (groups, neighbours) = cell_groups(region, supports);
    let stride = region.columns;
    groups
        .par_iter()
        .enumerate()
        .flat_map_iter(|(k, group)| {
            let c = group[0].cell as usize;
            // The neighbouring cells left, right, below and above (those in the region), and
            // the group each holds.
            let [left, right, below, above] = neighbours[k];
            let beside: [Option<Beside>; 4] = [
                (!c.is_multiple_of(stride)).then(|| (c - 1, left)),
                (!(c + 1).is_multiple_of(stride)).then_some((c + 1, right)),
                (c >= stride).then(|| (c - stride, below)),
                (c + stride < region.len()).then_some((c + stride, above)),
            ];
            let groups = &groups;
            group.iter().filter_map(move |&support| {
                let height = support.top - support.bottom;
                if height <= 0.0 {
                    return Some(support);
                }
                // How much of the height the neighbour is inside the part: none where it holds
                // a support over the whole height (most supports are inside a support region,
                // not at its edge), else asked of the columns.
                let walls = |side: Option<Beside>| {
                    let Some((n, group)) = side else { return 0.0 };
                    let open = group.is_some_and(|g| {
                        groups[g]
                            .iter()
                            .any(|s| s.bottom <= support.bottom && s.top >= support.top)
                    });
                    if open {
                        0.0
                    } else {
                        columns.inside_length(region, n, support.bottom, support.top, plate)
                    }
                };
                // What is left across each axis: a strip of the cell's width less the gaps from
                // the walls on either side (for a cell in a corner, the product is the corner
                // left).
                let left = |a: f64, b: f64| (1.0 - gap * (a + b) / (grid * height)).max(0.0);
                let keep = support.keep
                    * left(walls(beside[0]), walls(beside[1]))
                    * left(walls(beside[2]), walls(beside[3]));
                (keep > 0.0).then_some(Support { keep, ..support })
            })
        })
        .collect()
}

/// The area of the supports' sides: at each grid cell's four sides, the height its supports
/// rise where the neighbour's do not; all sides, and those facing along x (left and right).
/// `supports` are sorted by cell.
fn side_area(region: &Region, supports: &[Support]) -> [f64; 2] {
    let (groups, neighbours) = cell_groups(region, supports);
    let height = |group: &[Support]| group.iter().map(|s| s.top - s.bottom).sum::<f64>();
    let shared = |a: &[Support], b: &[Support]| {
        a.iter()
            .flat_map(|x| {
                b.iter()
                    .map(move |y| (x.top.min(y.top) - x.bottom.max(y.bottom)).max(0.0))
            })
            .sum::<f64>()
    };
    let mut exposed = 0.0;
    let mut exposed_x = 0.0;
    for (group, &[left, right, below, above]) in groups.iter().zip(&neighbours) {
        let rise = height(group);
        let exposed_on = |sides: [Option<usize>; 2]| {
            sides
                .into_iter()
                .map(|side| rise - side.map_or(0.0, |n| shared(group, groups[n])))
                .sum::<f64>()
        };
        let along_x = exposed_on([left, right]);
        exposed_x += along_x;
        exposed += along_x + exposed_on([below, above]);
    }
    [exposed * region.grid, exposed_x * region.grid]
}

/// The supports grouped by grid cell (`supports` are sorted by cell), and for each group the
/// groups in the cells left, right, below and above it, in the region's row and column
/// (`None` where such a cell holds no support). Those a row below and above are found by
/// walking along, as cells only grow.
fn cell_groups<'a>(
    region: &Region,
    supports: &'a [Support],
) -> (Vec<&'a [Support]>, Vec<[Option<usize>; 4]>) {
    let groups: Vec<&[Support]> = supports.chunk_by(|a, b| a.cell == b.cell).collect();
    let cell = |k: usize| groups[k][0].cell as usize;
    let stride = region.columns;
    let (mut above, mut below) = (0, 0);
    let find = |at: &mut usize, n: usize| {
        while *at < groups.len() && cell(*at) < n {
            *at += 1;
        }
        (*at < groups.len() && cell(*at) == n).then_some(*at)
    };
    let neighbours = (0..groups.len())
        .map(|k| {
            let c = cell(k);
            [
                (!c.is_multiple_of(stride) && k > 0 && cell(k - 1) == c - 1).then(|| k - 1),
                (!(c + 1).is_multiple_of(stride) && k + 1 < groups.len() && cell(k + 1) == c + 1)
                    .then_some(k + 1),
                c.checked_sub(stride).and_then(|n| find(&mut below, n)),
                find(&mut above, c + stride),
            ]
        })
        .collect();
    (groups, neighbours)
}

/// The area of the supports' first layer: the grid cells of the supports on the plate, grown
/// by the expansion (a disc), but not into the part's own first layer (its faces within
/// `min_gap_mm` of the plate) nor within the xy gap of it.
fn first_layer_area(
    mesh: &Mesh,
    region: &Region,
    on_plate: &Marks,
    settings: &SupportSettings,
    plate: f64,
) -> f64 {
    if on_plate.count() == 0 {
        return 0.0;
    }
    let grid = region.grid;
    let reach = floor(finite_or_zero(settings.first_layer_expansion_mm) / grid + 1e-9).max(0);
    // Rows first (each width the disc needs), then the rows shifted up and down.
    let stride = region.columns as isize;
    let mut wide: Vec<Vec<u64>> = vec![on_plate.0.clone()];
    for width in 1..=reach as isize {
        let last = &wide[wide.len() - 1];
        let mut next = last.clone();
        for (out, (l, r)) in next.iter_mut().zip(
            shifted(&on_plate.0, width)
                .iter()
                .zip(&shifted(&on_plate.0, -width)),
        ) {
            *out |= l | r;
        }
        wide.push(next);
    }
    let mut grown = vec![0u64; on_plate.0.len()];
    for dy in -reach..=reach {
        let half = floor(((reach * reach - dy * dy) as f64).sqrt() + 1e-9) as usize;
        for (out, word) in grown
            .iter_mut()
            .zip(shifted(&wide[half], dy as isize * stride))
        {
            *out |= word;
        }
    }
    // The part's first layer: its faces that look down within a layer of the plate.
    let layer = finite_or_zero(settings.min_gap_mm).max(EPSILON_MM);
    let mut part = Marks::new(region.len());
    for face in 0..mesh.triangles().len() {
        let [a, b, c] = mesh.corners(face).map(|p| p.map(f64::from));
        if [a, b, c].iter().any(|p| p[2] - plate > layer) || face_normal(a, b, c)[2] >= 0.0 {
            continue;
        }
        for_each_grid_point(a, b, c, grid, region.clip(), |i, j, _| {
            if let Some(g) = region.index(i, j) {
                part.insert(g);
            }
        });
    }
    let support: Vec<u64> = grown.iter().zip(&part.0).map(|(g, p)| g & !p).collect();
    let cells: u32 = support.iter().map(|w| w.count_ones()).sum();
    // Nor within the xy gap of the part's first layer: a strip `xy_gap_mm` wide along each
    // side of a cell that the part is beside (as in `keep_gap`).
    let stride = region.columns as isize;
    let beside_part: u32 = [1, -1, stride, -stride]
        .into_iter()
        .map(|by| {
            support
                .iter()
                .zip(shifted(&part.0, by))
                .map(|(s, p)| (s & p).count_ones())
                .sum::<u32>()
        })
        .sum();
    let gap = finite_or_zero(settings.xy_gap_mm).min(grid);
    (f64::from(cells) * grid * grid - f64::from(beside_part) * gap * grid).max(0.0)
}

/// `words` as one bit string moved `by` bits towards the higher ones (away with negative),
/// zeros shifted in.
fn shifted(words: &[u64], by: isize) -> Vec<u64> {
    let n = words.len();
    let mut out = vec![0u64; n];
    let (whole, part) = (by.unsigned_abs() / 64, (by.unsigned_abs() % 64) as u32);
    for (k, out) in out.iter_mut().enumerate() {
        let word = |at: Option<usize>| at.and_then(|at| words.get(at)).copied().unwrap_or(0);
        *out = if by >= 0 {
            let high = word(k.checked_sub(whole));
            let low = word(k.checked_sub(whole + 1));
            if part == 0 {
                high
            } else {
                (high << part) | (low >> (64 - part))
            }
        } else {
            let low = word(k.checked_add(whole));
            let high = word(k.checked_add(whole + 1));
            if part == 0 {
                low
            } else {
                (low >> part) | (high << (64 - part))
            }
        };
    }
    out
}

/// The items of `parts` grouped by `slot` (below `slots`), in a counting sort straight from
/// the parts (no copy of them all first): the items, and where each slot's group starts
/// (`slots + 1` entries, the last the end).
fn group_by_slot<T: Copy>(
    parts: &[&[T]],
    slots: usize,
    slot: impl Fn(&T) -> usize,
) -> (Vec<T>, Vec<usize>) {
    let items = || parts.iter().flat_map(|part| part.iter());
    let mut starts = vec![0usize; slots + 1];
    for item in items() {
        starts[slot(item) + 1] += 1;
    }
    for k in 0..slots {
        starts[k + 1] += starts[k];
    }
    let Some(&first) = items().next() else {
        return (Vec::new(), starts);
    };
    let mut next = starts.clone();
    let mut grouped = vec![first; starts[slots]];
    for item in items() {
        let slot = slot(item);
        grouped[next[slot]] = *item;
        next[slot] += 1;
    }
    (grouped, starts)
}

/// The part's lowest point (the plate), and the centre of its bounding box in x and y, where
/// a slicer's support pattern has a corner (PrusaSlicer lays its grid from the object's
/// centre): one pass over the vertices.
fn plate_and_centre(mesh: &Mesh) -> (f64, [f64; 2]) {
    let (mut low, mut high) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
    for p in mesh.positions() {
        for axis in 0..3 {
            low[axis] = low[axis].min(f64::from(p[axis]));
            high[axis] = high[axis].max(f64::from(p[axis]));
        }
    }
    (low[2], [0, 1].map(|axis| (low[axis] + high[axis]) / 2.0))
}

/// The faces that need support: facing down, sloping less than the threshold from the
/// horizontal, not resting on the plate.
fn overhanging_faces(mesh: &Mesh, settings: &SupportSettings, plate: f64) -> Vec<usize> {
    let min_down = settings.overhang_angle_deg.to_radians().cos();
    (0..mesh.triangles().len())
        .into_par_iter()
        .with_min_len(4096)
        .filter(|&face| {
            let [a, b, c] = mesh.corners(face).map(|p| p.map(f64::from));
            let n = face_normal(a, b, c);
            // Most faces fail the first, cheap test.
            n[2] < 0.0
                && -n[2] > min_down * (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt()
                && ![a, b, c].iter().all(|p| p[2] - plate < EPSILON_MM)
        })
        .collect()
}

/// A question answered by rays costs about as much as rasterising this many faces (a grown
/// support's point may take several rays, one per support or solid it passes). Measured with
/// callgrind, one thread, whole quotes: at 4 the 80T gear took 2.54G instructions, at 16 2.08G,
/// at 64 2.09G; the robot 4.09G at 16, 4.59G at 64.
const RAY_COST_IN_FACES: usize = 16;

/// A grid point under an overhang, and the column of support that hangs from it.
struct Hang {
    cell: u32,
    /// The overhang's height at the point.
    z: f64,
    /// Down to the plate or to the part below; 0 inside the solid.
    height: f64,
    /// The area the column stands for: a grid cell's, or a small face's own.
    weight: f64,
    /// The overhang slopes less than `SupportSettings::interface_angle_deg`.
    dense: bool,
    /// How far its contact reaches from the grid cell's centre along x and y: half a grid
    /// cell under a flat ceiling; under a slope, half the step one layer makes on it (a
    /// slicer's contact at a layer is the strip its outline moves past the layer below).
    reach: f64,
}

/// A point under an overhang: its grid cell, the overhang's height there, and the area its
/// column stands for.
#[derive(Clone, Copy)]
struct Point {
    cell: u32,
    z: f64,
    weight: f64,
    /// The overhang slopes less than `SupportSettings::interface_angle_deg`.
    dense: bool,
    /// As `Hang::reach`.
    reach: f64,
    /// Stands for faces too small to hold a grid point (in the cell nearest their centroid):
    /// their centroid, where their column is found.
    small_face: Option<[f64; 2]>,
}

/// The grid around the overhangs (`reach` millimetres wider on every side), and their points:
/// the grid's, and one per cell for faces too small to hold a grid point. A huge part (far
/// beyond any machine) gets a coarser grid rather than an unbounded one.
fn overhang_points(
    mesh: &Mesh,
    overhangs: &[usize],
    grid: f64,
    reach: f64,
    interface_angle_deg: f64,
    layer_mm: f64,
) -> (Region, Vec<Point>) {
    let min_dense_down = interface_angle_deg.to_radians().cos();
    let mut bounds = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for &face in overhangs {
        for p in mesh.corners(face) {
            let (x, y) = (f64::from(p[0]), f64::from(p[1]));
            bounds = [
                bounds[0].min(x),
                bounds[1].min(y),
                bounds[2].max(x),
                bounds[3].max(y),
            ];
        }
    }
    let bounds = [
        bounds[0] - reach,
        bounds[1] - reach,
        bounds[2] + reach,
        bounds[3] + reach,
    ];
    let mut grid = grid;
    let mut region = Region::new(bounds, grid);
    while region.len() > MAX_CELLS {
        grid *= 2.0;
        region = Region::new(bounds, grid);
    }
    // Per task, its faces' grid points and small faces' points, in face order.
    let per_task: Vec<(Vec<Point>, Vec<Point>)> = overhangs
        .par_chunks(OVERHANGS_PER_TASK)
        .map(|faces| {
            let (mut grid_points, mut small) = (Vec::new(), Vec::new());
            for &face in faces {
                let before = grid_points.len();
                let [a, b, c] = mesh.corners(face).map(|p| p.map(f64::from));
                let n = face_normal(a, b, c);
                let dense =
                    -n[2] > min_dense_down * (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
                // Half a layer's step on the face (its run over its rise times half a layer).
                let horizontal = n[0].hypot(n[1]);
                let contact = if horizontal > 0.0 {
                    (layer_mm * n[2].abs() / horizontal / 2.0).min(grid / 2.0)
                } else {
                    grid / 2.0
                };
                for_each_grid_point(a, b, c, grid, region.clip(), |i, j, z| {
                    grid_points.extend(region.index(i, j).map(|cell| Point {
                        cell: cell as u32,
                        z,
                        weight: grid * grid,
                        dense,
                        reach: contact,
                        small_face: None,
                    }));
                });
                if grid_points.len() == before {
                    // A face smaller than the grid still needs holding up: one column of its own
                    // area, at the cell nearest its centroid.
                    let centroid: [f64; 3] = std::array::from_fn(|i| (a[i] + b[i] + c[i]) / 3.0);
                    let cell = region.index(floor(centroid[0] / grid), floor(centroid[1] / grid));
                    small.extend(cell.map(|cell| Point {
                        cell: cell as u32,
                        z: centroid[2],
                        weight: (n[2] / 2.0).abs(),
                        dense,
                        reach: contact,
                        small_face: Some([centroid[0], centroid[1]]),
                    }));
                }
            }
            (grid_points, small)
        })
        .collect();
    let grid_points: Vec<Point> = per_task.iter().flat_map(|t| t.0.iter().copied()).collect();
    let small: Vec<Point> = per_task.iter().flat_map(|t| t.1.iter().copied()).collect();
    // Small faces count only in cells no grid point stands for (elsewhere the cell's column
    // already covers them): per such cell, one column of their area (at most the cell's) at
    // their mean height.
    let mut points = grid_points;
    if small.is_empty() {
        return (region, points);
    }
    let taken = Marks::of(region.len(), &points);
    let mut small: Vec<Point> = small
        .into_iter()
        .filter(|p| !taken.contains(p.cell as usize))
        .collect();
    small.sort_by_key(|p| p.cell);
    for same_cell in small.chunk_by(|a, b| a.cell == b.cell) {
        let area: f64 = same_cell.iter().map(|p| p.weight).sum();
        if area > 0.0 {
            points.push(Point {
                cell: same_cell[0].cell,
                z: same_cell.iter().map(|p| p.z * p.weight).sum::<f64>() / area,
                weight: area.min(grid * grid),
                dense: same_cell.iter().any(|p| p.dense),
                reach: same_cell.iter().map(|p| p.reach).fold(0.0, f64::max),
                small_face: Some([0, 1].map(|axis| {
                    same_cell
                        .iter()
                        .map(|p| p.small_face.map_or(0.0, |xy| xy[axis]) * p.weight)
                        .sum::<f64>()
                        / area
                })),
            });
        }
    }
    (region, points)
}

/// What lies under a grid point: the part's faces along the vertical line through its centre.
enum Columns<'a> {
    /// A ray cast down through the BVH per question.
    Rays { caster: Caster<'a>, mesh: &'a Mesh },
    /// Every face rasterised into the marked cells: per column (numbered among the marked
    /// cells), its crossings from the bottom up.
    Raster {
        crossings: Vec<Crossing>,
        starts: Vec<usize>,
        marks: Marks,
        /// Marked cells before each word of `marks`.
        before: Vec<usize>,
    },
}

impl Columns<'_> {
    /// Every face rasterised into the `marks` cells of the region and sorted bottom to top per
    /// column: what a ray cast down from any point of them would meet, for all at once.
    fn raster<'a>(mesh: &'a Mesh, region: &Region, marks: Marks) -> Columns<'a> {
        let faces = mesh.triangles().len();
        let chunks: Vec<Vec<Crossing>> = (0..faces.div_ceil(FACES_PER_TASK))
            .into_par_iter()
            .map(|chunk| {
                let mut out = Vec::new();
                for face in chunk * FACES_PER_TASK..((chunk + 1) * FACES_PER_TASK).min(faces) {
                    let [a, b, c] = mesh.corners(face).map(|p| p.map(f64::from));
                    if !region.touches(a, b, c) {
                        continue;
                    }
                    let down = face_normal(a, b, c)[2] < 0.0;
                    let grid = region.grid;
                    for_each_grid_row(a, b, c, grid, region.clip(), |j, first, last, plane| {
                        let (Some(start), Some(end)) =
                            (region.index(first, j), region.index(last, j))
                        else {
                            return;
                        };
                        // Only the marked cells of the run, found 64 at a time.
                        let y = (j as f64 + 0.5) * grid;
                        let mut cell = start;
                        while cell <= end {
                            let bits = marks.0[cell / 64] >> (cell % 64);
                            if bits == 0 {
                                cell = (cell / 64 + 1) * 64;
                                continue;
                            }
                            cell += bits.trailing_zeros() as usize;
                            if cell > end {
                                break;
                            }
                            let i = first + (cell - start) as i64;
                            out.push(Crossing {
                                cell: cell as u32,
                                z: plane.z((i as f64 + 0.5) * grid, y),
                                down,
                            });
                            cell += 1;
                        }
                    });
                }
                out
            })
            .collect();
        // A counting sort by column, then each column's few crossings by height.
        let mut before = Vec::with_capacity(marks.0.len());
        let mut total = 0usize;
        for word in &marks.0 {
            before.push(total);
            total += word.count_ones() as usize;
        }
        let parts: Vec<&[Crossing]> = chunks.iter().map(Vec::as_slice).collect();
        let (mut crossings, starts) = group_by_slot(&parts, total, |c| {
            column_of(&marks, &before, c.cell as usize)
        });
        for bounds in starts.windows(2) {
            crossings[bounds[0]..bounds[1]].sort_unstable_by(|x, y| x.z.total_cmp(&y.z));
        }
        Columns::Raster {
            crossings,
            starts,
            marks,
            before,
        }
    }

    /// The crossings of grid cell `cell`'s column from the bottom up, when rasterised (only
    /// the cells the raster was built for are asked about).
    fn rasterised(&self, cell: usize) -> Option<&[Crossing]> {
        let Columns::Raster {
            crossings,
            starts,
            marks,
            before,
        } = self
        else {
            return None;
        };
        debug_assert!(marks.contains(cell), "cell {cell} was not rasterised");
        if !marks.contains(cell) {
            return None;
        }
        let column = column_of(marks, before, cell);
        Some(&crossings[starts[column]..starts[column + 1]])
    }

    /// The first face below height `z` (by more than a hair) at the centre of grid cell
    /// `cell`, above the plate: its height, and whether it looks down.
    fn below(&self, region: &Region, cell: usize, z: f64, plate: f64) -> Option<(f64, bool)> {
        match self {
            Columns::Rays { caster, mesh } => {
                ray_below(caster, mesh, region.centre(cell), z, plate)
            }
            Columns::Raster { .. } => {
                let column = self.rasterised(cell)?;
                let k = column.partition_point(|c| c.z < z - EPSILON_MM);
                (k > 0).then(|| (column[k - 1].z.max(plate), column[k - 1].down))
            }
        }
    }
}

impl Columns<'_> {
    /// How much of the height from `bottom` to `top` at the centre of grid cell `cell` is
    /// inside the part: every stretch whose first face below looks down.
    fn inside_length(
        &self,
        region: &Region,
        cell: usize,
        bottom: f64,
        top: f64,
        plate: f64,
    ) -> f64 {
        let overlap = |low: f64, high: f64| (high.min(top) - low.max(bottom)).max(0.0);
        match self {
            Columns::Rays { caster, mesh } => {
                let xy = region.centre(cell);
                let (mut z, mut inside) = (top, 0.0);
                while z > bottom {
                    let Some((at, down)) = ray_below(caster, mesh, xy, z, plate) else {
                        break;
                    };
                    if down {
                        inside += overlap(at, z);
                    }
                    if at <= plate {
                        break;
                    }
                    z = at;
                }
                inside
            }
            Columns::Raster { .. } => {
                let Some(column) = self.rasterised(cell) else {
                    return 0.0;
                };
                column
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.down)
                    .map(|(k, c)| overlap(c.z, column.get(k + 1).map_or(f64::INFINITY, |n| n.z)))
                    .sum()
            }
        }
    }
}

/// The first face below height `z` (by more than a hair) at `xy`, by a ray: its height, and
/// whether it looks down.
fn ray_below(
    caster: &Caster<'_>,
    mesh: &Mesh,
    [x, y]: [f64; 2],
    z: f64,
    plate: f64,
) -> Option<(f64, bool)> {
    let origin = [x as f32, y as f32, (z - EPSILON_MM) as f32];
    // A little past the plate, to see the bottom of a part the point may be in.
    let reach = (z - plate + EPSILON_MM) as f32;
    let hit = caster.cast(origin, [0.0, 0.0, -1.0], reach)?;
    let at = (z - EPSILON_MM - f64::from(hit.distance)).max(plate);
    Some((at, face_points_down(mesh, hit.face)))
}

/// The number of a marked cell among the marked cells.
fn column_of(marks: &Marks, before: &[usize], cell: usize) -> usize {
    let lower = marks.0[cell / 64] & ((1u64 << (cell % 64)) - 1);
    before[cell / 64] + lower.count_ones() as usize
}

/// The column under each point: down to the first face below, just under the point's own
/// face (0 when that face looks down too: the point is inside another part of the solid,
/// overlapping shells, which holds it up), or to the plate. The column of small faces is
/// found under their own centroid (by `small`, a ray, when given), not the cell's centre,
/// which may be inside the part beside them.
fn hangs(
    mesh: &Mesh,
    region: &Region,
    points: &[Point],
    columns: &Columns<'_>,
    small: Option<&Caster<'_>>,
    plate: f64,
) -> Vec<Hang> {
    points
        .par_iter()
        .map(
            |&Point {
                 cell,
                 z,
                 weight,
                 dense,
                 reach,
                 small_face,
             }| {
                let to_plate = z - plate;
                let below = match (small_face, small) {
                    (Some(xy), Some(caster)) => ray_below(caster, mesh, xy, z, plate),
                    _ => columns.below(region, cell as usize, z, plate),
                };
                let height = match below {
                    None => to_plate,
                    Some((_, true)) => 0.0,
                    Some((at, false)) => (z - at).min(to_plate),
                };
                Hang {
                    cell,
                    z,
                    height,
                    weight,
                    dense,
                    reach,
                }
            },
        )
        .collect()
}

fn face_points_down(mesh: &Mesh, face: usize) -> bool {
    if face >= mesh.triangles().len() {
        return false;
    }
    let [a, b, c] = mesh.corners(face).map(|p| p.map(f64::from));
    face_normal(a, b, c)[2] < 0.0
}

/// A set of grid cells, a bit each.
struct Marks(Vec<u64>);

impl Marks {
    fn new(len: usize) -> Marks {
        Marks(vec![0u64; len.div_ceil(64)])
    }

    /// The cells of `points`, among `len`.
    fn of(len: usize, points: &[Point]) -> Marks {
        let mut marks = Marks::new(len);
        for point in points {
            marks.insert(point.cell as usize);
        }
        marks
    }

    fn insert(&mut self, cell: usize) {
        self.0[cell / 64] |= 1 << (cell % 64);
    }

    fn add(&mut self, other: &Marks) {
        for (word, more) in self.0.iter_mut().zip(&other.0) {
            *word |= more;
        }
    }

    fn contains(&self, cell: usize) -> bool {
        self.0
            .get(cell / 64)
            .is_some_and(|word| word & (1 << (cell % 64)) != 0)
    }

    fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// These cells and their four neighbours, in a grid `columns` wide (a row's ends also
    /// take in the next row's first cell and the last row's last one: a few cells too many),
    /// among `len`.
    fn with_neighbours(&self, columns: usize, len: usize) -> Marks {
        let mut out = self.0.clone();
        for by in [1, -1, columns as isize, -(columns as isize)] {
            for (word, more) in out.iter_mut().zip(shifted(&self.0, by)) {
                *word |= more;
            }
        }
        if let Some(last) = out.last_mut()
            && !len.is_multiple_of(64)
        {
            *last &= (1u64 << (len % 64)) - 1;
        }
        Marks(out)
    }
}

/// A support grid never has more cells than this (2 MiB of marks; a metre square at the
/// default 0.5 mm is 4 million); a larger part (far beyond any machine) gets a grid coarser by
/// powers of two.
const MAX_CELLS: usize = 1 << 24;
/// Overhanging faces given grid points by one parallel task.
const OVERHANGS_PER_TASK: usize = 256;
/// Faces rasterised by one parallel task.
const FACES_PER_TASK: usize = 2048;

/// Where a face crosses a grid column.
#[derive(Clone, Copy)]
struct Crossing {
    cell: u32,
    z: f64,
    /// The face looks down.
    down: bool,
}

/// The grid cells around the overhangs, numbered row by row.
struct Region {
    grid: f64,
    first: [i64; 2],
    columns: usize,
    rows: usize,
    /// The overhangs' bounds in x and y, a cell wider on every side.
    bounds: [f64; 4],
}

impl Region {
    fn new(bounds: [f64; 4], grid: f64) -> Region {
        let first = [0, 1].map(|axis| cell_at(bounds[axis], grid).saturating_sub(1));
        let last = [2, 3].map(|axis| cell_at(bounds[axis], grid).saturating_add(1));
        let count = |axis: usize| last[axis].saturating_sub(first[axis]).saturating_add(1) as usize;
        Region {
            grid,
            first,
            columns: count(0),
            rows: count(1),
            bounds: [
                bounds[0] - grid,
                bounds[1] - grid,
                bounds[2] + grid,
                bounds[3] + grid,
            ],
        }
    }

    /// The first and last cell numbers in x and y.
    fn clip(&self) -> [i64; 4] {
        [
            self.first[0],
            self.first[1],
            self.first[0] + self.columns as i64 - 1,
            self.first[1] + self.rows as i64 - 1,
        ]
    }

    fn len(&self) -> usize {
        self.columns.saturating_mul(self.rows)
    }

    fn index(&self, i: i64, j: i64) -> Option<usize> {
        let (i, j) = (i.checked_sub(self.first[0])?, j.checked_sub(self.first[1])?);
        let (i, j) = (usize::try_from(i).ok()?, usize::try_from(j).ok()?);
        (i < self.columns && j < self.rows).then_some(j * self.columns + i)
    }

    /// The centre of cell `index`, in x and y.
    fn centre(&self, index: usize) -> [f64; 2] {
        let (i, j) = (index % self.columns, index / self.columns);
        [
            (self.first[0] as f64 + i as f64 + 0.5) * self.grid,
            (self.first[1] as f64 + j as f64 + 0.5) * self.grid,
        ]
    }

    /// Whether the triangle's projection can reach the region.
    fn touches(&self, a: [f64; 3], b: [f64; 3], c: [f64; 3]) -> bool {
        let [x0, y0, x1, y1] = self.bounds;
        let outside = |axis: usize, low: f64, high: f64| {
            [a, b, c].iter().all(|p| p[axis] < low) || [a, b, c].iter().all(|p| p[axis] > high)
        };
        !outside(0, x0, x1) && !outside(1, y0, y1)
    }
}

/// The first cell whose centre is at or after `v`.
fn cell_at(v: f64, grid: f64) -> i64 {
    floor(0.5 - v / grid).saturating_neg()
}

/// The last cell whose centre is at or before `v`.
fn last_cell_at(v: f64, grid: f64) -> i64 {
    floor(v / grid - 0.5)
}

/// `v.floor()` as an integer (saturating, NaN to 0): one `roundsd` on x86-64-v2, which
/// `.cargo/config.toml` builds for (a library call on baseline x86-64).
fn floor(v: f64) -> i64 {
    v.floor() as i64
}

/// Visits the grid points (centres of `grid`-sized cells, numbered `i`, `j`) inside the
/// triangle's projection, with the height of the triangle's plane there. A point on an edge
/// belongs to the triangle only on a top or left edge, so that triangles sharing an edge never
/// both claim it. Only cells within `clip` (first and last `i`, first and last `j`) are
/// visited.
fn for_each_grid_point(
    a: [f64; 3],
    b: [f64; 3],
    c: [f64; 3],
    grid: f64,
    clip: [i64; 4],
    mut visit: impl FnMut(i64, i64, f64),
) {
    for_each_grid_row(a, b, c, grid, clip, |j, first, last, plane| {
        let y = (j as f64 + 0.5) * grid;
        for i in first..=last {
            visit(i, j, plane.z((i as f64 + 0.5) * grid, y));
        }
    });
}

/// A triangle's plane, as heights over the xy plane.
struct Plane {
    corner: [f64; 3],
    /// How fast z falls along x and along y.
    slope: [f64; 2],
}

impl Plane {
    fn z(&self, x: f64, y: f64) -> f64 {
        let row = self.corner[2] - self.slope[1] * (y - self.corner[1]);
        row - self.slope[0] * (x - self.corner[0])
    }
}

/// The rows of [`for_each_grid_point`]: for each row `j` the triangle covers, the first and
/// last cell `i` inside it (every cell between is inside), and the triangle's plane. Row by
/// row, over the span the edges leave open, so a long thin triangle costs its rows, not its
/// bounding box.
fn for_each_grid_row(
    a: [f64; 3],
    b: [f64; 3],
    c: [f64; 3],
    grid: f64,
    clip: [i64; 4],
    mut visit: impl FnMut(i64, i64, i64, &Plane),
) {
    // The cells whose centres the bounding box holds: none for most faces of a fine mesh,
    // which the bounds as floats tell before any becomes a cell number (`cell_at` is the
    // ceiling of `v / grid - 0.5`, `last_cell_at` its floor).
    let bounds = |axis: usize| {
        (
            a[axis].min(b[axis]).min(c[axis]),
            a[axis].max(b[axis]).max(c[axis]),
        )
    };
    let ((x_low, x_high), (y_low, y_high)) = (bounds(0), bounds(1));
    let holds_centre =
        |low: f64, high: f64| (low / grid - 0.5).ceil() <= (high / grid - 0.5).floor();
    if !holds_centre(x_low, x_high) || !holds_centre(y_low, y_high) {
        return;
    }
    let (x0, x1) = (
        cell_at(x_low, grid).max(clip[0]),
        last_cell_at(x_high, grid).min(clip[2]),
    );
    let (y0, y1) = (
        cell_at(y_low, grid).max(clip[1]),
        last_cell_at(y_high, grid).min(clip[3]),
    );
    if x0 > x1 || y0 > y1 {
        return;
    }
    // Counter-clockwise in the xy projection.
    let orient = |p: [f64; 3], q: [f64; 3], x: f64, y: f64| {
        (q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0])
    };
    let (a, b, c) = if orient(a, b, c[0], c[1]) < 0.0 {
        (a, c, b)
    } else {
        (a, b, c)
    };
    let area2 = orient(a, b, c[0], c[1]);
    if area2 <= 0.0 {
        return;
    }
    let n = face_normal(a, b, c);
    let plane = Plane {
        corner: a,
        slope: [n[0] / area2, n[1] / area2],
    };
    // A top edge is horizontal with the triangle below it; a left edge goes down (CCW).
    let top_left = |p: [f64; 3], q: [f64; 3]| (p[1] == q[1] && q[0] < p[0]) || q[1] < p[1];
    let edges = [(b, c), (c, a), (a, b)];
    for j in y0..=y1 {
        let y = (j as f64 + 0.5) * grid;
        // Along the row each edge bounds x on one side (where it crosses the row). The bounds
        // are widened by a cell; the exact test below decides.
        let (mut low, mut high) = (x0, x1);
        for (p, q) in edges {
            let s = q[1] - p[1];
            if s == 0.0 {
                continue;
            }
            let x = p[0] + (q[0] - p[0]) * (y - p[1]) / s;
            if s > 0.0 {
                high = high.min(last_cell_at(x, grid).saturating_add(1));
            } else {
                low = low.max(cell_at(x, grid).saturating_sub(1));
            }
        }
        // The cells inside form one run (the triangle is convex, and each edge function is
        // monotonic along the row even in floating point): find its ends.
        let inside = |i: i64| {
            let x = (i as f64 + 0.5) * grid;
            edges.iter().all(|&(p, q)| {
                let w = orient(p, q, x, y);
                w > 0.0 || (w == 0.0 && top_left(p, q))
            })
        };
        let Some(first) = (low..=high).find(|&i| inside(i)) else {
            continue;
        };
        let last = (first..=high).rev().find(|&i| inside(i)).unwrap_or(first);
        visit(j, first, last, &plane);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::{LoadOptions, parse};

    #[test]
    fn the_interface_lies_under_every_contact_a_support_takes_in() {
        // A contact gap of 0.2 mm and bands 0.4 mm deep; contacts from the bottom up.
        let height = |contacts: &[(f64, bool)], top: f64, low: f64| {
            Bands::new(contacts, 0.4).height(top, low, 0.2)
        };
        let near = |a: f64, b: f64| (a - b).abs() < 1e-12;
        // One contact at 10: 0.4 under its gap, from 9.4 to 9.8.
        assert!(near(height(&[(10.0, true)], 10.0, 0.0), 0.4));
        // Two far apart: a band under each; a support from under the lower holds only its.
        assert!(near(height(&[(5.0, true), (10.0, true)], 10.0, 0.0), 0.8));
        assert!(near(height(&[(5.0, true), (10.0, true)], 5.0, 0.0), 0.4));
        // Two 0.3 apart: 9.4 to 9.8 and 9.1 to 9.5 merge to 0.7.
        assert!(near(height(&[(9.7, true), (10.0, true)], 10.0, 0.0), 0.7));
        // A contact without one (a steep overhang) adds none.
        assert!(near(height(&[(5.0, false), (10.0, true)], 10.0, 0.0), 0.4));
        assert_eq!(height(&[(10.0, false)], 10.0, 0.0), 0.0);
        // A support shorter than its interface is all interface, and never more.
        assert!(near(height(&[(10.0, true)], 10.0, 9.6), 0.2));
        let close = [(9.8, true), (9.9, true), (10.0, true)];
        assert!(near(height(&close, 10.0, 9.5), 0.3));
        // Bands wholly under the support's foot count nothing.
        assert!(near(height(&[(5.0, true), (10.0, true)], 10.0, 6.0), 0.4));
        // Without a depth there is none.
        assert_eq!(Bands::new(&[(10.0, true)], 0.0).height(10.0, 0.0, 0.2), 0.0);
    }

    /// Both ways of finding the face under each point agree, on real models in several
    /// orientations (each model is large enough that `supports` picks only one of them).
    #[test]
    fn rays_and_raster_agree() {
        let Some(dir) = crate::shared_models() else {
            return;
        };
        let settings = SupportSettings::default();
        let cell = 2.3;
        let grow_settings = SupportSettings {
            pattern_cell_mm: cell,
            min_gap_mm: 0.2,
            xy_gap_mm: 0.27,
            ..settings
        };
        for name in [
            "prusai3__x-end-idler.stl",
            "voron2__Octopus_bracket_set.stl",
            "voron2__a_drive_frame_lower.stl",
        ] {
            let bytes = std::fs::read(dir.join(name)).expect("model");
            let mesh = parse(&bytes, &LoadOptions::default()).expect("parses");
            for (turn, r) in [
                [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
                [[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]],
                [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]],
                [[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]],
            ]
            .into_iter()
            .enumerate()
            {
                let mesh = mesh.rotated(r);
                let (plate, centre) = plate_and_centre(&mesh);
                let overhangs = overhanging_faces(&mesh, &settings, plate);
                // The region reaches as far as grown supports do, and both ways see the
                // pattern cells' points too.
                let (region, points) =
                    overhang_points(&mesh, &overhangs, settings.grid_mm, cell + 3.0, 90.0, 0.2);
                let pattern = PatternCells::new(&region, cell, centre);
                let mut marks = Marks::of(region.len(), &points);
                marks.add(
                    &pattern
                        .grid_cells_of(&points)
                        .with_neighbours(region.columns, region.len()),
                );
                let key = |h: &Hang| (h.cell, h.z.to_bits());
                let caster = Caster::new(&mesh).expect("bvh");
                let by_rays = Columns::Rays {
                    caster,
                    mesh: &mesh,
                };
                let by_raster = Columns::raster(&mesh, &region, marks);
                let mut rays = hangs(&mesh, &region, &points, &by_rays, None, plate);
                let mut raster = hangs(&mesh, &region, &points, &by_raster, None, plate);
                rays.sort_by_key(key);
                raster.sort_by_key(key);
                assert_eq!(rays.len(), raster.len(), "{name}, turn {turn}");
                assert!(
                    !rays.is_empty(),
                    "{name}, turn {turn}: no overhangs to compare"
                );
                let differ = rays
                    .iter()
                    .zip(&raster)
                    .filter(|(x, y)| {
                        assert_eq!((x.cell, x.z), (y.cell, y.z));
                        (x.height - y.height).abs() > 1e-3
                    })
                    .count();
                let volume = |hangs: &[Hang]| {
                    hangs
                        .iter()
                        .map(|h| h.weight * h.height.max(0.0))
                        .sum::<f64>()
                };
                let (v_rays, v_raster) = (volume(&rays), volume(&raster));
                eprintln!(
                    "{name}, turn {turn}: {} points, {differ} differ, volume {v_rays:.1} vs {v_raster:.1}",
                    rays.len()
                );
                // A point exactly on the line of a face's edge (x = 21.25 on the x-end-idler
                // turned on its side) is in that face for parry's ray and not for the
                // top-left rule; such points are rare and their volume is tiny.
                assert!(
                    differ * 100 <= rays.len(),
                    "{name}, turn {turn}: {differ} of {}",
                    rays.len()
                );
                assert!(
                    (v_rays - v_raster).abs() <= 1e-3 * v_rays.max(1.0),
                    "{name}, turn {turn}"
                );
                // The supports grown from those columns agree too (within 2%: the few points on
                // a face's edge line, above, are whole lines of grid points, and a line more or
                // less of support changes its sides most).
                let grown = |columns: &Columns<'_>, hangs: &[Hang]| {
                    pattern.grow(&region, hangs, columns, &grow_settings, plate)
                };
                let (g_rays, g_raster) = (grown(&by_rays, &rays), grown(&by_raster, &raster));
                eprintln!(
                    "  grown: volume {:.1} vs {:.1}, sides {:?} vs {:?}",
                    g_rays.volume_mm3,
                    g_raster.volume_mm3,
                    g_rays.side_area_mm2,
                    g_raster.side_area_mm2
                );
                assert!(g_rays.volume_mm3 > 0.0, "{name}, turn {turn}");
                // The sides facing along x, about half of them, within 5%: the same cells
                // weigh twice as much in a sum half as large.
                for (x, y, within) in [
                    (g_rays.volume_mm3, g_raster.volume_mm3, 2e-2),
                    (g_rays.top_area_mm2, g_raster.top_area_mm2, 2e-2),
                    (g_rays.side_area_mm2[0], g_raster.side_area_mm2[0], 2e-2),
                    (g_rays.side_area_mm2[1], g_raster.side_area_mm2[1], 5e-2),
                ] {
                    assert!(
                        (x - y).abs() <= within * x.max(1.0),
                        "{name}, turn {turn}: {x} vs {y}"
                    );
                }
            }
        }
    }
}
