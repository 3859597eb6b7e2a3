//! Welding: turn a stream of triangles (three corner positions each) into an indexed mesh in
//! which exactly coincident positions share one vertex.
//!
//! The table is open addressing with linear probing over vertex indices: positions live once,
//! in the vertex array, so the table costs 16 to 32 bytes per vertex and is freed before
//! the analysis starts; analysing a streamed binary STL peaks near the file's size in memory
//! (see the README's benchmark table).
//!
//! On large files every table probe is a cache miss, and that is the whole cost of welding.
//! Three things keep it down:
//! - files list neighbouring triangles together, so most corners were seen a few triangles
//!   ago: a small direct-mapped cache of recent vertices (kept in L1) answers those (80% of
//!   the corners of the 754k-triangle gear) without touching the table;
//! - triangles are welded in batches whose corners are all hashed, and their slots prefetched,
//!   before the first lookup, so that the misses of a batch overlap;
//! - each slot keeps the top half of its position's hash beside the index, so that a probe
//!   past another vertex's slot does not read that vertex's position (a second miss).

use super::{MeshError, Triangle};

const EMPTY: u32 = u32::MAX;
/// An unused table slot: its low half is `EMPTY`.
const EMPTY_SLOT: u64 = u64::MAX;
/// Triangles whose corners are hashed, and their table slots fetched, before the first of them
/// is looked up.
const BATCH: usize = 32;

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
    /// Open addressing: each slot holds a vertex index in its low half and the top 32 bits of
    /// its position's hash in its high half, so that a probe reads a position only when the
    /// hashes agree.
    table: Vec<u64>,
    recent: Box<[Recent; RECENT_SLOTS]>,
    mask: usize,
    pending: Vec<Triangle>,
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
            table: vec![EMPTY_SLOT; slots],
            recent: Box::new(
                [Recent {
                    key: [0; 3],
                    index: EMPTY,
                }; RECENT_SLOTS],
            ),
            mask: slots - 1,
            pending: Vec::with_capacity(BATCH),
        }
    }

    /// Welds the pending triangles. Their corners are hashed first and their table slots
    /// prefetched, so that the cache misses of a batch overlap instead of following one another.
    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        self.weld_batch(&pending);
        self.pending = pending;
        self.pending.clear();
    }

    /// Welds triangles given together, in order, after any given one by one.
    pub(crate) fn triangles(&mut self, triangles: &[Triangle]) {
        self.flush();
        for batch in triangles.chunks(BATCH) {
            self.weld_batch(batch);
        }
    }

    /// Welds at most `BATCH` triangles.
    fn weld_batch(&mut self, batch: &[Triangle]) {
        let mut keys = [([0u32; 3], 0usize); 3 * BATCH];
        for (key, position) in keys.iter_mut().zip(batch.as_flattened()) {
            // -0.0 and 0.0 are the same point, and so is rounding residue next to zero.
            let bits = position.map(|v| {
                if v.abs() < SNAP_TO_ZERO_MM {
                    0
                } else {
                    v.to_bits()
                }
            });
            let hashed = hash(bits);
            prefetch(&self.table[hashed & self.mask]);
            *key = (bits, hashed);
        }
        for corners in keys[..3 * batch.len()].chunks_exact(3) {
            let idx = [0, 1, 2].map(|k| self.vertex(corners[k].0, corners[k].1));
            if idx[0] == idx[1] || idx[1] == idx[2] || idx[0] == idx[2] {
                self.collapsed_faces += 1;
            } else {
                self.triangles.push(idx);
            }
        }
    }

    fn vertex(&mut self, bits: [u32; 3], hashed: usize) -> u32 {
        let recent = &mut self.recent[(hashed >> 40) % RECENT_SLOTS];
        if recent.key == bits && recent.index != EMPTY {
            return recent.index;
        }
        let fingerprint = hashed as u64 >> 32;
        let mut slot = hashed & self.mask;
        loop {
            let entry = self.table[slot];
            let idx = entry as u32;
            if idx == EMPTY {
                break;
            }
            if entry >> 32 == fingerprint && self.positions[idx as usize].map(f32::to_bits) == bits
            {
                *recent = Recent {
                    key: bits,
                    index: idx,
                };
                return idx;
            }
            slot = (slot + 1) & self.mask;
        }
        let idx = self.positions.len() as u32;
        self.positions.push(bits.map(f32::from_bits));
        self.table[slot] = fingerprint << 32 | u64::from(idx);
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
        self.table = vec![EMPTY_SLOT; slots];
        self.mask = slots - 1;
        for (idx, position) in self.positions.iter().enumerate() {
            let hashed = hash(position.map(f32::to_bits));
            let mut slot = hashed & self.mask;
            while self.table[slot] != EMPTY_SLOT {
                slot = (slot + 1) & self.mask;
            }
            self.table[slot] = (hashed as u64 >> 32) << 32 | idx as u64;
        }
    }

    /// Frees the welding table; returns the positions and triangles.
    pub(crate) fn finish(mut self) -> (Vec<[f32; 3]>, Vec<[u32; 3]>, u64) {
        self.flush();
        let mut positions = self.positions;
        let mut triangles = self.triangles;
        positions.shrink_to_fit();
        triangles.shrink_to_fit();
        (positions, triangles, self.collapsed_faces)
    }
}

impl TriangleSink for Welder {
    fn triangle(&mut self, _face: u64, corners: Triangle) {
        self.pending.push(corners);
        if self.pending.len() == BATCH {
            self.flush();
        }
    }
}

/// Asks the processor to bring `item` into cache ahead of its use.
#[inline(always)]
#[allow(unsafe_code)]
fn prefetch<T>(item: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint: it cannot fault and changes no value the program
    // sees, and the address is that of a live reference.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>((item as *const T).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = item;
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
