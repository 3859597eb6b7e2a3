//! Welding: turn a stream of triangles (three corner positions each) into an indexed mesh in
//! which exactly coincident positions share one vertex.
//!
//! The table is open addressing with linear probing over `u32` vertex indices: positions live
//! once, in the vertex array, so the table costs 8 to 16 bytes per vertex and is freed before
//! the analysis starts; a streamed binary STL stays well under the file's size in memory (see
//! the README's benchmark table).
//!
//! On large files every table probe is a cache miss, and that is the whole cost of welding.
//! Files list neighbouring triangles together, so most corners were seen a few triangles ago:
//! a small direct-mapped cache of recent vertices (kept in L1) answers those without touching
//! the table.

use super::{MeshError, Triangle};

const EMPTY: u32 = u32::MAX;

/// A recently seen vertex: the position's bits and its index (`EMPTY` when unused).
#[derive(Clone, Copy)]
struct Recent {
    key: [u32; 3],
    index: u32,
}

const RECENT_SLOTS: usize = 1024;

/// Coordinates closer to zero than this (in millimetres) are welded as zero. CAD exporters leave
/// the rounding residue of rotations in their output (`cos 90° = 6e-17`), so one corner of a
/// face is written at `z = 0` and the same corner of its neighbour at `z = -2.7e-16`; welding
/// exactly would split them and open the surface. A nanometre is far below anything printable
/// and far above such residue.
pub const SNAP_TO_ZERO_MM: f32 = 1e-9;

/// Receives the triangles a parser decodes, in file order, already in millimetres, finite and
/// within the triangle limit (the parsers feed it through [`Checked`]).
pub(crate) trait TriangleSink {
    /// `face` is the triangle's number in the file (0-based).
    fn triangle(&mut self, face: u64, corners: Triangle);
}

/// Scales a triangle to millimetres and refuses non-finite coordinates, reporting the value as
/// written (scaling can only turn a huge value into infinity).
#[inline]
pub(crate) fn to_millimetres(
    face: u64,
    line: Option<u64>,
    corners: Triangle,
    scale: f32,
) -> Result<Triangle, MeshError> {
    let scaled = if scale == 1.0 {
        corners
    } else {
        corners.map(|p| p.map(|v| v * scale))
    };
    if scaled.as_flattened().iter().all(|v| v.is_finite()) {
        return Ok(scaled);
    }
    let value = corners
        .as_flattened()
        .iter()
        .copied()
        .find(|v| !v.is_finite())
        .unwrap_or(f32::INFINITY);
    Err(MeshError::NonFiniteCoordinate { face, value, line })
}

/// What every parser feeds: converts to millimetres, refuses non-finite coordinates (naming
/// the face and line) and enforces the triangle limit, then hands the triangle to the sink.
pub(crate) struct Checked<'a, S> {
    sink: &'a mut S,
    scale: f32,
    max_triangles: u64,
    seen: u64,
}

impl<'a, S: TriangleSink> Checked<'a, S> {
    pub(crate) fn new(sink: &'a mut S, scale: f32, max_triangles: u64) -> Checked<'a, S> {
        Checked {
            sink,
            scale,
            max_triangles,
            seen: 0,
        }
    }

    /// `line` is the triangle's line in a text format.
    pub(crate) fn triangle(
        &mut self,
        face: u64,
        line: Option<u64>,
        corners: Triangle,
    ) -> Result<(), MeshError> {
        self.seen += 1;
        if self.seen > self.max_triangles {
            return Err(MeshError::TooManyTriangles {
                limit: self.max_triangles,
            });
        }
        self.sink
            .triangle(face, to_millimetres(face, line, corners, self.scale)?);
        Ok(())
    }

    /// Triangles passed on so far.
    pub(crate) fn seen(&self) -> u64 {
        self.seen
    }
}

/// Builds the indexed mesh, welding exactly coincident positions. Vertices are numbered in
/// order of first appearance.
pub(crate) struct Welder {
    pub(crate) positions: Vec<[f32; 3]>,
    pub(crate) triangles: Vec<[u32; 3]>,
    /// Faces whose corners weld to fewer than three distinct vertices.
    pub(crate) collapsed_faces: u64,
    table: Vec<u32>,
    recent: Box<[Recent; RECENT_SLOTS]>,
    mask: usize,
}

impl Welder {
    /// `expected_triangles` sizes the buffers up front: a hint, clamped by `max_triangles`
    /// because it may come from an untrusted header.
    pub(crate) fn new(expected_triangles: u64, max_triangles: u64) -> Welder {
        let expected = expected_triangles.min(max_triangles).min(1 << 26) as usize;
        // A closed mesh has about half as many vertices as triangles; the table stays at most
        // half full.
        let slots = (expected + 16).next_power_of_two();
        Welder {
            positions: Vec::with_capacity(expected / 2 + 8),
            triangles: Vec::with_capacity(expected),
            collapsed_faces: 0,
            table: vec![EMPTY; slots],
            recent: Box::new(
                [Recent {
                    key: [0; 3],
                    index: EMPTY,
                }; RECENT_SLOTS],
            ),
            mask: slots - 1,
        }
    }

    fn vertex(&mut self, position: [f32; 3]) -> u32 {
        // -0.0 and 0.0 are the same point, and so is rounding residue next to zero.
        let key = position.map(|v| if v.abs() < SNAP_TO_ZERO_MM { 0.0 } else { v });
        let bits = key.map(f32::to_bits);
        let hashed = hash(bits);
        let recent = &mut self.recent[(hashed >> 40) % RECENT_SLOTS];
        if recent.key == bits && recent.index != EMPTY {
            return recent.index;
        }
        let mut slot = hashed & self.mask;
        loop {
            let idx = self.table[slot];
            if idx == EMPTY {
                break;
            }
            if self.positions[idx as usize].map(f32::to_bits) == bits {
                *recent = Recent {
                    key: bits,
                    index: idx,
                };
                return idx;
            }
            slot = (slot + 1) & self.mask;
        }
        let idx = self.positions.len() as u32;
        self.positions.push(key);
        self.table[slot] = idx;
        *recent = Recent {
            key: bits,
            index: idx,
        };
        if self.positions.len() * 2 > self.table.len() {
            self.grow();
        }
        idx
    }

    fn grow(&mut self) {
        let slots = self.table.len() * 2;
        self.table = vec![EMPTY; slots];
        self.mask = slots - 1;
        for (idx, position) in self.positions.iter().enumerate() {
            let mut slot = hash(position.map(f32::to_bits)) & self.mask;
            while self.table[slot] != EMPTY {
                slot = (slot + 1) & self.mask;
            }
            self.table[slot] = idx as u32;
        }
    }

    /// Frees the welding table; returns the positions and triangles.
    pub(crate) fn finish(self) -> (Vec<[f32; 3]>, Vec<[u32; 3]>, u64) {
        let mut positions = self.positions;
        let mut triangles = self.triangles;
        positions.shrink_to_fit();
        triangles.shrink_to_fit();
        (positions, triangles, self.collapsed_faces)
    }
}

impl TriangleSink for Welder {
    fn triangle(&mut self, _face: u64, corners: Triangle) {
        let idx = corners.map(|position| self.vertex(position));
        if idx[0] == idx[1] || idx[1] == idx[2] || idx[0] == idx[2] {
            self.collapsed_faces += 1;
        } else {
            self.triangles.push(idx);
        }
    }
}

fn hash(bits: [u32; 3]) -> usize {
    let mut h = u64::from(bits[0]).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^= u64::from(bits[1]).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    h ^= u64::from(bits[2]).wrapping_mul(0x1656_67B1_9E37_79F9);
    h ^= h >> 29;
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^= h >> 32;
    h as usize
}

/// A plain list of triangles in millimetres, before welding. Used to time parsing and welding
/// separately.
#[derive(Debug, Clone, Default)]
pub struct Soup {
    pub triangles: Vec<Triangle>,
}

impl TriangleSink for Soup {
    fn triangle(&mut self, _face: u64, corners: Triangle) {
        self.triangles.push(corners);
    }
}
