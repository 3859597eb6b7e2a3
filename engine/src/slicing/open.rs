//! Open contours: what a slicer makes of a layer's contour pieces that do not close.
//!
//! Where a plane cuts an open mesh, a contour stops at an edge with no partner face: the
//! segments from an edge without a face behind it to the next such edge form an open chain.
//! PrusaSlicer (`TriangleMeshSlicer`'s `make_loops`) joins open chains whose ends meet, then
//! closes gaps up to 2 mm (a chain seeks the nearest free chain end within the gap, longer
//! chains first, once keeping each chain's direction and once allowing reversed ones), and
//! drops the chains it cannot close: a tube's cut end, a surface's edge, the open spout of a
//! teapot pushed into its body print nothing. The per-face sums of [`super::slice`] count every
//! segment; here, layer by layer, the chains are walked across the mesh's faces from their
//! open starts, joined as the slicer joins them, and the layer's sums are corrected: a dropped
//! chain's length and shoelace term leave them, a gap that closes a loop joins them.
//!
//! A chain closes on itself over its own gap only when no other chain's end is nearer, and,
//! when one is there at all, only when the chain is long enough for its gap (more than 3.3
//! times it): the intent of PrusaSlicer's heuristics. (Its code compares a squared distance
//! with a plain one, so that in effect any chain closes on itself within 2 mm; PrusaSlicer
//! gets away with it because it welds nearby vertices when it loads a mesh, which we do not:
//! a triangle soup's pieces, hair-wide apart, must join each other, not each close alone.)
//!
//! A watertight mesh has no open chain and costs nothing here.

use rayon::prelude::*;

use crate::mesh::Mesh;

/// The largest gap the slicer closes between chain ends, in millimetres (PrusaSlicer's
/// `max_gap`).
const MAX_GAP_MM: f64 = 2.0;

/// One open chain of a layer: from `start` to `end`, its length and shoelace sum.
#[derive(Debug, Clone, Copy)]
struct Chain {
    start: [f64; 2],
    end: [f64; 2],
    length: f64,
    area2: f64,
    points: usize,
    first_face: u32,
    last_face: u32,
}

/// A closed-up or dropped contour's correction to one layer's sums.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Correction {
    pub(super) area2: f64,
    pub(super) contour: f64,
}

type Cut = fn(&[[f64; 3]; 3], f64) -> Option<([f64; 2], [f64; 2], usize, usize)>;

/// The corrections of the layers with open chains, from the chains' first faces per layer
/// (`starts`: `(layer, face)` of each segment whose entry edge has no partner face).
pub(super) fn corrections(
    mesh: &Mesh,
    cuts: &[f64],
    local: &(impl Fn(u32) -> [f64; 3] + Sync),
    cut_triangle: Cut,
    mut starts: Vec<(u32, u32)>,
) -> Vec<(usize, Correction)> {
    if starts.is_empty() {
        return Vec::new();
    }
    starts.par_sort_unstable();
    let layers: Vec<&[(u32, u32)]> = starts.chunk_by(|a, b| a.0 == b.0).collect();
    layers
        .par_iter()
        .map(|starts| {
            let layer = starts[0].0 as usize;
            let z = cuts[layer];
            let mut chains: Vec<Chain> = starts
                .iter()
                .filter_map(|&(_, face)| walk(mesh, local, cut_triangle, z, face))
                .collect();
            // A chain whose faces turn against each other can be found from both ends.
            chains.sort_unstable_by_key(|c| {
                (c.first_face.min(c.last_face), c.first_face.max(c.last_face))
            });
            chains.dedup_by_key(|c| (c.first_face.min(c.last_face), c.first_face.max(c.last_face)));
            (layer, close(chains))
        })
        .filter(|(_, correction)| *correction != Correction::default())
        .collect()
}

/// Follows the contour at height `z` from `face` (whose entry edge has no partner) across
/// the faces' shared edges to the edge where it stops. `None` when `face` is not cut there.
fn walk(
    mesh: &Mesh,
    local: &(impl Fn(u32) -> [f64; 3] + Sync),
    cut_triangle: Cut,
    z: f64,
    face: u32,
) -> Option<Chain> {
    let neighbours = mesh.neighbours();
    let triangles = mesh.triangles();
    let cut = |face: u32| cut_triangle(&triangles[face as usize].map(local), z);
    let (start, mut end, _, mut exit) = cut(face)?;
    let mut chain = Chain {
        start,
        end,
        length: distance(start, end),
        area2: cross(start, end),
        points: 2,
        first_face: face,
        last_face: face,
    };
    let mut current = face;
    // A chain crosses each face at most once per layer.
    for _ in 0..triangles.len() {
        let next = neighbours[current as usize][exit];
        if next == u32::MAX {
            break;
        }
        let Some((p, q, entry_edge, exit_edge)) = cut(next) else {
            break;
        };
        let back = |k: usize| neighbours[next as usize][k] == current;
        // Faces wound against each other walk the contour the other way.
        let (to, leave) = if back(entry_edge) {
            (q, exit_edge)
        } else if back(exit_edge) {
            (p, entry_edge)
        } else {
            break;
        };
        chain.length += distance(end, to);
        chain.area2 += cross(end, to);
        chain.points += 1;
        end = to;
        chain.end = to;
        chain.last_face = next;
        current = next;
        exit = leave;
        if next == face {
            break;
        }
    }
    Some(chain)
}

fn distance(a: [f64; 2], b: [f64; 2]) -> f64 {
    ((b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2)).sqrt()
}

fn cross(a: [f64; 2], b: [f64; 2]) -> f64 {
    a[0] * b[1] - b[0] * a[1]
}

/// Joins a layer's open chains as the slicer does and returns the change to the layer's sums.
fn close(chains: Vec<Chain>) -> Correction {
    let mut correction = Correction::default();
    // Every chain's own length and area leave the sums; the loops it ends up in come back.
    for chain in &chains {
        correction.contour -= chain.length;
        correction.area2 -= chain.area2;
    }
    let mut pool = Pool::new(chains);
    for reversed in [false, true] {
        pool.join_all(reversed, &mut correction);
    }
    correction
}

/// Open chains being joined, with their free ends filed by cells of the gap's size
/// (`(cell, chain, is its start)`, sorted).
struct Pool {
    chains: Vec<Chain>,
    consumed: Vec<bool>,
    ends: Vec<((i64, i64), u32, bool)>,
}

impl Pool {
    fn new(chains: Vec<Chain>) -> Pool {
        let consumed = vec![false; chains.len()];
        Pool {
            chains,
            consumed,
            ends: Vec::new(),
        }
    }

    fn cell(p: [f64; 2]) -> (i64, i64) {
        (
            (p[0] / MAX_GAP_MM).floor() as i64,
            (p[1] / MAX_GAP_MM).floor() as i64,
        )
    }

    /// The free chain end nearest to `p` within the gap (chain, is its start, squared
    /// distance), starts only unless `reversed`.
    fn nearest(&self, p: [f64; 2], reversed: bool) -> Option<(usize, bool, f64)> {
        let (i, j) = Pool::cell(p);
        let mut best: Option<(usize, bool, f64)> = None;
        for di in -1..=1 {
            for dj in -1..=1 {
                let cell = (i + di, j + dj);
                let from = self.ends.partition_point(|e| e.0 < cell);
                let filed = self.ends[from..].iter().take_while(|e| e.0 == cell);
                for &(_, k, is_start) in filed {
                    let k = k as usize;
                    if self.consumed[k] || (!is_start && !reversed) {
                        continue;
                    }
                    let chain = &self.chains[k];
                    let at = if is_start { chain.start } else { chain.end };
                    let d2 = (at[0] - p[0]).powi(2) + (at[1] - p[1]).powi(2);
                    if d2 < MAX_GAP_MM * MAX_GAP_MM
                        && best.is_none_or(|(bk, bs, bd)| (d2, k, !is_start) < (bd, bk, !bs))
                    {
                        best = Some((k, is_start, d2));
                    }
                }
            }
        }
        best
    }

    /// One round of joining: longer chains first seek the nearest free end within the gap,
    /// until they close into a loop or find none.
    fn join_all(&mut self, reversed: bool, correction: &mut Correction) {
        let mut order: Vec<usize> = (0..self.chains.len())
            .filter(|&k| !self.consumed[k])
            .collect();
        self.ends = order
            .iter()
            .flat_map(|&k| {
                let chain = &self.chains[k];
                [
                    (Pool::cell(chain.start), k as u32, true),
                    (Pool::cell(chain.end), k as u32, false),
                ]
            })
            .collect();
        self.ends.sort_unstable();
        order.sort_by(|&a, &b| {
            self.chains[b]
                .length
                .total_cmp(&self.chains[a].length)
                .then(a.cmp(&b))
        });
        for k in order {
            if self.consumed[k] {
                continue;
            }
            self.consumed[k] = true;
            let mut chain = self.chains[k];
            let mut joined = 1;
            loop {
                let next = self.nearest(chain.end, reversed);
                let gap2 = (chain.end[0] - chain.start[0]).powi(2)
                    + (chain.end[1] - chain.start[1]).powi(2);
                // A chain closes on itself over a gap within reach, unless another chain's end
                // is nearer, or is there and the chain is too short for its gap (a loop of a
                // few segments across a 2 mm gap is a sliver, not a contour).
                let closes = gap2 < MAX_GAP_MM * MAX_GAP_MM
                    && next.is_none_or(|(_, _, d2)| gap2 <= d2 && gap2.sqrt() < 0.3 * chain.length);
                if closes {
                    let points = chain.points - usize::from(gap2 == 0.0);
                    if points >= 3 {
                        let mut area2 = chain.area2 + cross(chain.end, chain.start);
                        if reversed && joined > 1 && area2 < 0.0 {
                            area2 = -area2;
                        }
                        correction.contour += chain.length + gap2.sqrt();
                        correction.area2 += area2;
                    }
                    break;
                }
                let Some((other, is_start, _)) = next else {
                    self.consumed[k] = false;
                    self.chains[k] = chain;
                    if reversed {
                        let end = (Pool::cell(chain.end), k as u32, false);
                        let at = self.ends.partition_point(|e| *e < end);
                        self.ends.insert(at, end);
                    }
                    break;
                };
                let mut piece = self.chains[other];
                if !is_start {
                    piece = Chain {
                        start: piece.end,
                        end: piece.start,
                        area2: -piece.area2,
                        ..piece
                    };
                }
                let gap = distance(chain.end, piece.start);
                chain.length += gap + piece.length;
                chain.area2 += cross(chain.end, piece.start) + piece.area2;
                chain.points += piece.points - usize::from(gap == 0.0);
                chain.end = piece.end;
                self.consumed[other] = true;
                joined += 1;
            }
        }
    }
}
