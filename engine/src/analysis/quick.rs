//! The quick measure: volume, area and bounding box straight from the triangles of a file, in
//! one streaming pass, with no welding and no topology. For a binary STL the records are
//! measured in parallel as they are read, so the cost is close to reading the file.
//!
//! Sums are accumulated about a provisional reference, the first corner of the file (close to
//! the part, so nothing cancels), and moved exactly to the centre of the bounding box at the
//! end: for any shift `d` of the reference, `6 V(r0 + d) = 6 V(r0) - d · Σ N`, where `N` is
//! each face's doubled area normal. So the figures are the ones [`analyze`](super::analyze)
//! reports, open meshes included, to rounding; the one difference is that the welder snaps
//! coordinates within [`SNAP_TO_ZERO_MM`](crate::mesh::SNAP_TO_ZERO_MM) of zero to zero, and
//! this measure, which does not weld, keeps them as written.

use std::io::Read;

use rayon::prelude::*;

use crate::mesh::{self, Format, LoadOptions, MeshError, ReaderInput, Triangle, TriangleSink};

/// Volume, area and bounding box of unwelded triangles, without topology.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuickMeasure {
    pub n_triangles: u64,
    /// Signed; approximate for an open surface, exactly as in [`Analysis`](super::Analysis).
    pub volume_mm3: f64,
    pub area_mm2: f64,
    pub bbox_min: [f64; 3],
    pub bbox_max: [f64; 3],
}

/// Records per parallel task.
const RECORDS_PER_TASK: usize = 1024;
/// Records per chunk read: small enough that the kernel's copy and the measuring both stay in
/// L2 (`cat` reads 128 KiB at a time for the same reason).
const CHUNK_RECORDS: u64 = 8192;

#[derive(Debug, Clone, Copy)]
struct Running {
    volume6: f64,
    normal: [f64; 3],
    area2: f64,
    min: [f32; 3],
    max: [f32; 3],
    n: u64,
}

impl Running {
    fn new() -> Running {
        Running {
            volume6: 0.0,
            normal: [0.0; 3],
            area2: 0.0,
            min: [f32::INFINITY; 3],
            max: [f32::NEG_INFINITY; 3],
            n: 0,
        }
    }

    /// Adds one face. Inlined into the loops that call it, so that the sums stay in registers.
    #[inline(always)]
    fn add(&mut self, reference: [f64; 3], triangle: &Triangle) {
        let [a, b, c] =
            triangle.map(|p| std::array::from_fn::<f64, 3, _>(|i| f64::from(p[i]) - reference[i]));
        let n = mesh::face_normal(a, b, c);
        // a · (b × c) = a · ((b - a) × (c - a)): the tetrahedron from the face's own normal.
        self.volume6 += a[0] * n[0] + a[1] * n[1] + a[2] * n[2];
        self.area2 += (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
        for axis in 0..3 {
            self.normal[axis] += n[axis];
            for p in triangle {
                // One `minss`/`maxss` each (the form `f32::min` is not, as it handles NaN; a
                // NaN coordinate is refused whatever the box says).
                let (min, max) = (&mut self.min[axis], &mut self.max[axis]);
                *min = if p[axis] < *min { p[axis] } else { *min };
                *max = if p[axis] > *max { p[axis] } else { *max };
            }
        }
        self.n += 1;
    }

    fn merge(&mut self, other: &Running) {
        self.volume6 += other.volume6;
        self.area2 += other.area2;
        for axis in 0..3 {
            self.normal[axis] += other.normal[axis];
            self.min[axis] = self.min[axis].min(other.min[axis]);
            self.max[axis] = self.max[axis].max(other.max[axis]);
        }
        self.n += other.n;
    }

    fn finish(self, reference: [f64; 3]) -> QuickMeasure {
        if self.n == 0 {
            return QuickMeasure {
                n_triangles: 0,
                volume_mm3: 0.0,
                area_mm2: 0.0,
                bbox_min: [0.0; 3],
                bbox_max: [0.0; 3],
            };
        }
        let bbox_min = self.min.map(f64::from);
        let bbox_max = self.max.map(f64::from);
        let shift: [f64; 3] =
            std::array::from_fn(|i| (bbox_min[i] + bbox_max[i]) / 2.0 - reference[i]);
        let volume6 = self.volume6
            - (shift[0] * self.normal[0] + shift[1] * self.normal[1] + shift[2] * self.normal[2]);
        QuickMeasure {
            n_triangles: self.n,
            volume_mm3: volume6 / 6.0,
            area_mm2: self.area2 / 2.0,
            bbox_min,
            bbox_max,
        }
    }
}

/// Accumulates triangles from any parser.
struct Sink {
    reference: Option<[f64; 3]>,
    running: Running,
}

impl TriangleSink for Sink {
    fn triangle(&mut self, _face: u64, corners: Triangle) {
        let reference = *self.reference.get_or_insert(corners[0].map(f64::from));
        self.running.add(reference, &corners);
    }
}

/// Measures a run of binary STL records on one thread, checking the coordinates once per run
/// rather than once each (with the sums in registers, the loop takes a third of the
/// instructions it took with a check per face).
///
/// The check: the doubled area sums `|N|` over the faces, where `N` is the cross product of two
/// edges. With finite `f32` coordinates every term is finite in `f64` (at most about 1e155). A
/// non-finite coordinate makes both edges from its corner non-finite in that axis, so each of
/// the two other components of `N` is a sum of infinite or NaN products, never finite; `|N|` is
/// then infinite or NaN, and a sum of non-negative terms stays so. So the area is finite exactly
/// when every coordinate is, and only a failed run is scanned again, face by face, for the first
/// bad one.
fn measure_chunk(
    records: &[u8],
    first_face: u64,
    scale: f32,
    reference: [f64; 3],
) -> Result<Running, MeshError> {
    if scale == 1.0 {
        measure_run::<false>(records, first_face, scale, reference)
    } else {
        measure_run::<true>(records, first_face, scale, reference)
    }
}

/// [`measure_chunk`], with the unit's scale decided once rather than per face.
fn measure_run<const SCALED: bool>(
    records: &[u8],
    first_face: u64,
    scale: f32,
    reference: [f64; 3],
) -> Result<Running, MeshError> {
    let mut running = Running::new();
    for record in records.chunks_exact(mesh::STL_RECORD_BYTES) {
        let mut triangle = mesh::decode_stl_record(record);
        if SCALED {
            triangle = triangle.map(|p| p.map(|v| v * scale));
        }
        running.add(reference, &triangle);
    }
    if !running.area2.is_finite() {
        for (offset, record) in records.chunks_exact(mesh::STL_RECORD_BYTES).enumerate() {
            let face = first_face + offset as u64;
            mesh::to_millimetres(face, None, mesh::decode_stl_record(record), scale)?;
        }
        unreachable!("a non-finite area comes from a non-finite coordinate");
    }
    Ok(running)
}

/// Measures binary STL records in parallel; errors are reported for the first bad face in file
/// order.
fn measure_records(
    records: &[u8],
    first_face: u64,
    scale: f32,
    reference: [f64; 3],
) -> Result<Running, MeshError> {
    let parts: Vec<Result<Running, MeshError>> = records
        .par_chunks(mesh::STL_RECORD_BYTES * RECORDS_PER_TASK)
        .enumerate()
        .map(|(task, chunk)| {
            let first = first_face + (task * RECORDS_PER_TASK) as u64;
            measure_chunk(chunk, first, scale, reference)
        })
        .collect();
    let mut total = Running::new();
    for part in parts {
        total.merge(&part?);
    }
    Ok(total)
}

/// Measures a model held in memory.
pub fn quick_measure(
    bytes: &[u8],
    options: &LoadOptions,
) -> Result<(Format, QuickMeasure), MeshError> {
    quick_measure_reader(bytes, bytes.len() as u64, options)
}

/// Measures a model from a reader of `len` bytes; a binary STL is streamed.
pub fn quick_measure_reader<R: Read + Send>(
    mut reader: R,
    len: u64,
    options: &LoadOptions,
) -> Result<(Format, QuickMeasure), MeshError> {
    let triangles = match mesh::open_reader(&mut reader, len, options)? {
        ReaderInput::Whole(bytes) => {
            let mut sink = Sink {
                reference: None,
                running: Running::new(),
            };
            let (format, _) = mesh::decode_with(&bytes, options, &mut sink)?;
            return measured(
                format,
                sink.running.finish(sink.reference.unwrap_or_default()),
            );
        }
        ReaderInput::BinaryStl { triangles } => triangles,
    };
    let scale = options.unit.millimetres();
    let record = mesh::STL_RECORD_BYTES;
    let chunk_len = |first_face: u64| (triangles - first_face).min(CHUNK_RECORDS) as usize * record;
    let mut current = vec![0u8; chunk_len(0)];
    let mut next = vec![0u8; chunk_len(0)];
    mesh::read_records(&mut reader, &mut current, 0, triangles)?;
    let reference = match current.get(..record) {
        Some(first) => {
            mesh::to_millimetres(0, None, mesh::decode_stl_record(first), scale)?[0].map(f64::from)
        }
        None => [0.0; 3],
    };
    let mut total = Running::new();
    let mut face = 0u64;
    // While one chunk is measured on the pool, the next is read: reading from the page cache is
    // a memory copy of the same order as the measuring itself. The loop runs on a worker of the
    // pool (`scope`), so that each `join` is a cheap local push rather than a cross-thread
    // wake-up.
    rayon::scope(|_| -> Result<(), MeshError> {
        while !current.is_empty() {
            let next_face = face + (current.len() / record) as u64;
            next.resize(chunk_len(next_face), 0);
            let (measured, read) = rayon::join(
                || measure_records(&current, face, scale, reference),
                || mesh::read_records(&mut reader, &mut next, next_face, triangles),
            );
            total.merge(&measured?);
            read?;
            std::mem::swap(&mut current, &mut next);
            face = next_face;
        }
        Ok(())
    })?;
    measured(Format::BinaryStl, total.finish(reference))
}

/// A file without a single triangle is refused, as the parser refuses it.
fn measured(format: Format, measure: QuickMeasure) -> Result<(Format, QuickMeasure), MeshError> {
    if measure.n_triangles == 0 {
        return Err(MeshError::NoTriangles { format });
    }
    Ok((format, measure))
}
