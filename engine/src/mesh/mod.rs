//! `Mesh`: the welded, indexed triangles of a model, and the parsers that make one from bytes.
//!
//! The format is detected from the content, never from a file name:
//! 1. a binary STL when the length is exactly `84 + 50 x` the header's count (even when the
//!    header begins with `solid`, as SolidWorks writes it);
//! 2. a 3MF when the bytes are a zip archive;
//! 3. an ASCII STL when the text begins with the keyword `solid`;
//! 4. an OBJ when the first statement is an OBJ keyword;
//! 5. otherwise, an input long enough for a binary STL header is reported as a binary STL whose
//!    length disagrees with its count (the usual sign of a truncated upload).
//!
//! Every parser feeds the same `weld` step, which merges exactly coincident positions, drops
//! faces that collapse to a line or a point, refuses non-finite coordinates and enforces the
//! triangle limit as it goes, so no input can make the engine allocate past its [`Limits`].

mod error;
mod obj;
mod stl;
mod threemf;
mod weld;

use std::fmt;
use std::io::Read;
use std::sync::{Arc, OnceLock};

use crate::raycast::SharedBvh;

pub use error::MeshError;
pub use threemf::MAX_COMPRESSION_RATIO;
use weld::Welder;
pub(crate) use weld::{Checked, TriangleSink, to_millimetres};
pub use weld::{SNAP_TO_ZERO_MM, Soup};

/// Three corners, in millimetres once loaded.
pub type Triangle = [[f32; 3]; 3];

/// The file formats the engine reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    BinaryStl,
    AsciiStl,
    Obj,
    ThreeMf,
}

impl Format {
    /// The stable machine name used in JSON (`stl-binary`, `stl-ascii`, `obj`, `3mf`).
    pub fn name(self) -> &'static str {
        match self {
            Format::BinaryStl => "stl-binary",
            Format::AsciiStl => "stl-ascii",
            Format::Obj => "obj",
            Format::ThreeMf => "3mf",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::BinaryStl => "binary STL",
            Format::AsciiStl => "ASCII STL",
            Format::Obj => "OBJ",
            Format::ThreeMf => "3MF",
        })
    }
}

/// The length unit of a file that does not declare one (STL and OBJ). 3MF declares its own unit,
/// which always wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unit {
    #[default]
    Millimetre,
    Centimetre,
    Metre,
    Inch,
}

impl Unit {
    pub fn millimetres(self) -> f32 {
        match self {
            Unit::Millimetre => 1.0,
            Unit::Centimetre => 10.0,
            Unit::Metre => 1000.0,
            Unit::Inch => 25.4,
        }
    }

    /// The short name used on command lines: `mm`, `cm`, `m`, `in`.
    pub fn name(self) -> &'static str {
        match self {
            Unit::Millimetre => "mm",
            Unit::Centimetre => "cm",
            Unit::Metre => "m",
            Unit::Inch => "in",
        }
    }
}

impl std::str::FromStr for Unit {
    type Err = String;

    fn from_str(text: &str) -> Result<Unit, String> {
        match text.to_ascii_lowercase().as_str() {
            "mm" | "millimeter" | "millimetre" => Ok(Unit::Millimetre),
            "cm" | "centimeter" | "centimetre" => Ok(Unit::Centimetre),
            "m" | "meter" | "metre" => Ok(Unit::Metre),
            "in" | "inch" => Ok(Unit::Inch),
            other => Err(format!("unknown unit `{other}` (expected mm, cm, m or in)")),
        }
    }
}

/// Bounds on what one model may cost. Beyond them loading fails with an error; it never runs
/// the process out of memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest input, and the largest entry inflated from a 3MF archive.
    pub max_input_bytes: u64,
    /// The most triangles a model may have (after polygons are triangulated and 3MF components
    /// are placed).
    pub max_triangles: u64,
}

impl Limits {
    /// The most triangles the engine supports at all: vertex indices, at most three per
    /// triangle, must stay below 2^31 (the analysis uses the top bit).
    pub const MAX_SUPPORTED_TRIANGLES: u64 = 1 << 29;

    /// The triangle limit actually enforced.
    pub fn triangle_limit(&self) -> u64 {
        self.max_triangles.min(Self::MAX_SUPPORTED_TRIANGLES)
    }
}

impl Default for Limits {
    fn default() -> Limits {
        // About 1.5 GiB of working memory for the largest model, and 2 GiB for the largest input.
        Limits {
            max_input_bytes: 2 << 30,
            max_triangles: 40_000_000,
        }
    }
}

/// How to read a model.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LoadOptions {
    pub unit: Unit,
    pub limits: Limits,
}

/// A validated, welded, indexed triangle mesh in millimetres.
///
/// Every coordinate is finite and every triangle has three distinct vertices. Faces that
/// collapsed to a line or a point when their corners were welded were dropped and counted in
/// [`Mesh::collapsed_triangles`].
#[derive(Debug, Clone)]
pub struct Mesh {
    /// Shared by clones (the file's own orientation in a quote is a clone).
    positions: Arc<Vec<[f32; 3]>>,
    /// Shared with the mesh's rotations, which keep the same triangles.
    triangles: Arc<Vec<[u32; 3]>>,
    format: Format,
    unit_note: UnitNote,
    triangles_in_file: u64,
    collapsed_triangles: u64,
    /// Built on first use, shared with the mesh's rotations (same triangles).
    caches: Caches,
}

/// What is derived from a mesh's triangles once and shared by its rotations. Everything here
/// is found from the source's own positions (`Mesh::source_positions`), so no rotation's
/// rounding decides it, whichever asks first (quotes estimate orientations in parallel).
#[derive(Debug, Clone, Default)]
struct Caches {
    bvh: SharedBvh,
    /// From this mesh's coordinates to the source's, the frame `bvh` is built in.
    to_bvh: Option<[[f64; 3]; 3]>,
    /// A rotation's source positions (`None`: this mesh's own).
    source: Option<Arc<Vec<[f32; 3]>>>,
    neighbours: Arc<OnceLock<Vec<[u32; 3]>>>,
    shells: Arc<OnceLock<Shells>>,
}

/// The shells of a mesh: faces joined across edges shared by exactly two faces, as the
/// analysis counts them.
#[derive(Debug, Default)]
pub(crate) struct Shells {
    /// The shell of each face, numbered in order of first face.
    pub(crate) of_face: Vec<u32>,
    pub(crate) count: usize,
    /// The signed volume each shell encloses (approximate for an open shell).
    pub(crate) volumes: Vec<f64>,
    /// Whether two bodies' surfaces cross or one holds another (found by the slicer when first
    /// needed: whether overlapping shells must be united).
    pub(crate) bodies_meet: OnceLock<bool>,
}

/// A shell enclosing less than this (cubic millimetres) is a sliver, not a body.
const MIN_BODY_MM3: f64 = 1e-3;

impl Shells {
    /// Whether shell `shell` is a body: it encloses a volume (a void or a sliver does not).
    pub(crate) fn is_body(&self, shell: usize) -> bool {
        self.volumes[shell] > MIN_BODY_MM3
    }
}

const IDENTITY: [[f64; 3]; 3] = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

/// Where the millimetre scale of a mesh came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UnitNote {
    /// The caller's unit for a format without one.
    Given(Unit),
    /// The unit declared in the file (3MF), already applied.
    Declared,
}

impl Mesh {
    /// Welds a list of triangles given in millimetres: for generated and transformed models.
    pub fn from_triangles(triangles: &[Triangle], format: Format) -> Result<Mesh, MeshError> {
        let limit = Limits::MAX_SUPPORTED_TRIANGLES;
        let mut welder = Welder::new(triangles.len() as u64, limit);
        let mut checked = Checked::new(&mut welder, 1.0, limit);
        for (face, triangle) in triangles.iter().enumerate() {
            checked.triangle(face as u64, None, *triangle)?;
        }
        Mesh::from_welder(
            welder,
            format,
            UnitNote::Given(Unit::Millimetre),
            triangles.len() as u64,
        )
    }

    /// Every undirected edge (its two vertices, smaller first) with the faces that use it, as
    /// `(face, k)` where the face's edge `k` runs from its corner `k` to corner `k + 1`. For the
    /// rarer questions that need a face's neighbours; the analysis's hot path does without.
    pub(crate) fn edge_users(&self) -> std::collections::HashMap<(u32, u32), Vec<(usize, usize)>> {
        let mut edges: std::collections::HashMap<(u32, u32), Vec<(usize, usize)>> =
            std::collections::HashMap::with_capacity(self.triangles.len() * 3 / 2);
        for (face, t) in self.triangles.iter().enumerate() {
            for k in 0..3 {
                let (a, b) = (t[k], t[(k + 1) % 3]);
                edges
                    .entry((a.min(b), a.max(b)))
                    .or_default()
                    .push((face, k));
            }
        }
        edges
    }

    /// The mesh with every position moved by `map` (a rotation, say), welded again: a map
    /// can bring two positions onto the same `f32`, and such faces are dropped as any other.
    pub fn transformed(&self, map: impl Fn([f64; 3]) -> [f64; 3]) -> Result<Mesh, MeshError> {
        let triangles: Vec<Triangle> = (0..self.triangles.len())
            .map(|idx| {
                self.corners(idx)
                    .map(|p| map(p.map(f64::from)).map(|v| v as f32))
            })
            .collect();
        let mut mesh = Mesh::from_triangles(&triangles, self.format)?;
        mesh.unit_note = self.unit_note;
        mesh.triangles_in_file = self.triangles_in_file;
        mesh.collapsed_triangles += self.collapsed_triangles;
        Ok(mesh)
    }

    /// The mesh with every face's winding reversed: an inside-out part turned right side out.
    pub fn flipped(&self) -> Mesh {
        let mut mesh = self.clone();
        for triangle in Arc::make_mut(&mut mesh.triangles) {
            triangle.swap(1, 2);
        }
        mesh.caches = Caches::default();
        mesh
    }

    /// The mesh turned by the rotation `r` (row-major, orthonormal) without welding again: the
    /// same vertices and triangles, so it shares this mesh's BVH and edge map. A rotation can
    /// move two positions that differ by an `f32` ulp onto one value; the estimates, which are
    /// all that use rotated meshes, do not see such a difference. ([`Mesh::transformed`] welds
    /// again, for any map.)
    pub fn rotated(&self, r: [[f64; 3]; 3]) -> Mesh {
        let positions: Vec<[f32; 3]> = self
            .positions
            .iter()
            .map(|p| {
                let p = p.map(f64::from);
                std::array::from_fn(|i| (r[i][0] * p[0] + r[i][1] * p[1] + r[i][2] * p[2]) as f32)
            })
            .collect();
        // New coordinates q = r p, so p = r^T q, and the BVH's frame is to_bvh(p).
        let to_bvh = self.caches.to_bvh.unwrap_or(IDENTITY);
        let composed = std::array::from_fn(|i| {
            std::array::from_fn(|j| (0..3).map(|m| to_bvh[i][m] * r[j][m]).sum())
        });
        Mesh {
            positions: Arc::new(positions),
            triangles: self.triangles.clone(),
            caches: Caches {
                to_bvh: Some(composed),
                source: Some(
                    self.caches
                        .source
                        .clone()
                        .unwrap_or_else(|| self.positions.clone()),
                ),
                ..self.caches.clone()
            },
            ..*self
        }
    }

    /// The BVH this mesh shares, and the rotation from its coordinates to the BVH's frame (the
    /// source's).
    pub(crate) fn bvh_frame(&self) -> (&SharedBvh, [[f32; 3]; 3]) {
        let r = self.caches.to_bvh.unwrap_or(IDENTITY);
        (&self.caches.bvh, r.map(|row| row.map(|v| v as f32)))
    }

    /// The positions of the mesh this one was rotated from (its own when it is no rotation):
    /// what the caches shared with the rotations are found from.
    pub(crate) fn source_positions(&self) -> &[[f32; 3]] {
        self.caches.source.as_deref().unwrap_or(&self.positions)
    }

    /// For each face and each of its edges (edge `k` runs from corner `k` to corner `k + 1`),
    /// the face across it when exactly two faces share the edge, else `u32::MAX`. Found once
    /// per mesh and its rotations.
    pub(crate) fn neighbours(&self) -> &[[u32; 3]] {
        self.caches.neighbours.get_or_init(|| {
            // A counting sort of the half-edges by their smaller vertex: every edge's
            // half-edges meet in one small bucket.
            let edge = |t: &[u32; 3], k: usize| {
                let (a, b) = (t[k], t[(k + 1) % 3]);
                (a.min(b) as usize, a.max(b))
            };
            let mut starts = vec![0usize; self.positions.len() + 1];
            for t in self.triangles.iter() {
                for k in 0..3 {
                    starts[edge(t, k).0 + 1] += 1;
                }
            }
            for v in 0..self.positions.len() {
                starts[v + 1] += starts[v];
            }
            let mut next = starts.clone();
            let mut filed = vec![(0u32, 0u32, 0u8); self.triangles.len() * 3];
            for (face, t) in self.triangles.iter().enumerate() {
                for k in 0..3 {
                    let (low, high) = edge(t, k);
                    filed[next[low]] = (high, face as u32, k as u8);
                    next[low] += 1;
                }
            }
            let mut neighbours = vec![[u32::MAX; 3]; self.triangles.len()];
            for bounds in starts.windows(2) {
                let bucket = &mut filed[bounds[0]..bounds[1]];
                bucket.sort_unstable();
                for run in bucket.chunk_by(|x, y| x.0 == y.0) {
                    if let [x, y] = run {
                        neighbours[x.1 as usize][x.2 as usize] = y.1;
                        neighbours[y.1 as usize][y.2 as usize] = x.1;
                    }
                }
            }
            neighbours
        })
    }

    /// The mesh's shells, found once per mesh and its rotations (a walk across
    /// [`Mesh::neighbours`]).
    pub(crate) fn shells(&self) -> &Shells {
        self.caches.shells.get_or_init(|| {
            let neighbours = self.neighbours();
            let mut of_face = vec![u32::MAX; self.triangles.len()];
            let mut count = 0u32;
            let mut stack = Vec::new();
            for seed in 0..of_face.len() {
                if of_face[seed] != u32::MAX {
                    continue;
                }
                of_face[seed] = count;
                stack.push(seed as u32);
                while let Some(face) = stack.pop() {
                    for &next in &neighbours[face as usize] {
                        if next != u32::MAX && of_face[next as usize] == u32::MAX {
                            of_face[next as usize] = count;
                            stack.push(next);
                        }
                    }
                }
                count += 1;
            }
            let mut volumes = vec![0.0; count as usize];
            let positions = self.source_positions();
            // About one of the mesh's points, so that the terms stay small.
            let origin = positions.first().map_or([0.0; 3], |p| p.map(f64::from));
            for (triangle, &shell) in self.triangles.iter().zip(&of_face) {
                let [a, b, c] = triangle.map(|v| {
                    let p = positions[v as usize];
                    std::array::from_fn::<f64, 3, _>(|i| f64::from(p[i]) - origin[i])
                });
                volumes[shell as usize] += (a[0] * (b[1] * c[2] - b[2] * c[1])
                    + a[1] * (b[2] * c[0] - b[0] * c[2])
                    + a[2] * (b[0] * c[1] - b[1] * c[0]))
                    / 6.0;
            }
            Shells {
                of_face,
                count: count as usize,
                volumes,
                bodies_meet: OnceLock::new(),
            }
        })
    }

    fn from_welder(
        welder: Welder,
        format: Format,
        unit_note: UnitNote,
        triangles_in_file: u64,
    ) -> Result<Mesh, MeshError> {
        let (mut positions, mut triangles, collapsed_triangles) = welder.finish();
        if collapsed_triangles > 0 {
            drop_unreferenced(&mut positions, &mut triangles);
        }
        if triangles.is_empty() && collapsed_triangles == 0 {
            return Err(MeshError::NoTriangles { format });
        }
        Ok(Mesh {
            positions: Arc::new(positions),
            triangles: Arc::new(triangles),
            format,
            unit_note,
            triangles_in_file,
            collapsed_triangles,
            caches: Caches::default(),
        })
    }

    pub fn positions(&self) -> &[[f32; 3]] {
        &self.positions
    }

    pub fn triangles(&self) -> &[[u32; 3]] {
        &self.triangles
    }

    /// The corners of triangle `idx`.
    pub fn corners(&self, idx: usize) -> Triangle {
        self.triangles[idx].map(|v| self.positions[v as usize])
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub fn unit_note(&self) -> UnitNote {
        self.unit_note
    }

    /// The triangles the file held (after polygons were triangulated).
    pub fn triangles_in_file(&self) -> u64 {
        self.triangles_in_file
    }

    /// Faces dropped because their corners welded to fewer than three distinct vertices.
    pub fn collapsed_triangles(&self) -> u64 {
        self.collapsed_triangles
    }
}

/// A triangle's normal, twice its area long: `(b - a) x (c - a)`, outward for a
/// counter-clockwise triangle.
pub(crate) fn face_normal(a: [f64; 3], b: [f64; 3], c: [f64; 3]) -> [f64; 3] {
    let (u, v) = (
        [b[0] - a[0], b[1] - a[1], b[2] - a[2]],
        [c[0] - a[0], c[1] - a[1], c[2] - a[2]],
    );
    [
        u[1] * v[2] - u[2] * v[1],
        u[2] * v[0] - u[0] * v[2],
        u[0] * v[1] - u[1] * v[0],
    ]
}

/// Removes vertices that only dropped (collapsed) faces used, keeping the order of the rest.
fn drop_unreferenced(positions: &mut Vec<[f32; 3]>, triangles: &mut [[u32; 3]]) {
    let mut new_index = vec![u32::MAX; positions.len()];
    for triangle in triangles.iter() {
        for &v in triangle {
            new_index[v as usize] = 0;
        }
    }
    let mut next = 0u32;
    for slot in &mut new_index {
        if *slot == 0 {
            *slot = next;
            next += 1;
        }
    }
    let mut kept = 0;
    for old in 0..positions.len() {
        if new_index[old] != u32::MAX {
            positions[kept] = positions[old];
            kept += 1;
        }
    }
    positions.truncate(kept);
    for triangle in triangles.iter_mut() {
        *triangle = triangle.map(|v| new_index[v as usize]);
    }
}

/// Tells the format of a model from its bytes.
pub fn detect(bytes: &[u8]) -> Result<Format, MeshError> {
    if bytes.is_empty() {
        return Err(MeshError::Empty);
    }
    if stl::is_exact_binary(bytes) {
        return Ok(Format::BinaryStl);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return Ok(Format::ThreeMf);
    }
    if stl::starts_like_ascii(bytes) {
        return Ok(Format::AsciiStl);
    }
    if obj::looks_like_obj(bytes) {
        return Ok(Format::Obj);
    }
    if let Some(declared) = stl::declared_count(bytes) {
        return Err(stl::length_error(declared, bytes.len() as u64));
    }
    Err(MeshError::UnknownFormat {
        reason: format!(
            "{} bytes that are not a binary STL (shorter than its 84-byte header), an ASCII STL (no `solid`), an OBJ or a 3MF",
            bytes.len()
        ),
    })
}

/// Runs the parser for `format` into any sink.
fn decode_into<S: TriangleSink>(
    bytes: &[u8],
    format: Format,
    limits: &Limits,
    sink: &mut Checked<'_, S>,
) -> Result<(), MeshError> {
    match format {
        Format::BinaryStl => stl::parse_binary(bytes, sink),
        Format::AsciiStl => {
            stl::parse_ascii(bytes, sink).map_err(|err| explain_ascii_failure(bytes, err))
        }
        Format::Obj => obj::parse_obj(bytes, limits.triangle_limit(), sink),
        Format::ThreeMf => threemf::parse_3mf(bytes, limits, sink),
    }
}

/// A file that begins with `solid`, fails as ASCII and holds binary bytes is a binary STL
/// whose length disagrees with its count (SolidWorks and others begin binary headers with
/// `solid`): report that, which is what the person needs to know.
fn explain_ascii_failure(bytes: &[u8], err: MeshError) -> MeshError {
    let looks_binary = bytes.iter().take(4096).any(|b| *b == 0 || *b >= 0x80);
    match stl::declared_count(bytes) {
        Some(declared) if looks_binary && matches!(err, MeshError::Syntax { .. }) => {
            stl::length_error(declared, bytes.len() as u64)
        }
        _ => err,
    }
}

fn check_size(len: u64, limits: &Limits) -> Result<(), MeshError> {
    if len > limits.max_input_bytes {
        return Err(MeshError::InputTooLarge {
            bytes: len,
            limit: limits.max_input_bytes,
        });
    }
    Ok(())
}

fn unit_for(format: Format, options: &LoadOptions) -> (f32, UnitNote) {
    match format {
        Format::ThreeMf => (1.0, UnitNote::Declared),
        _ => (options.unit.millimetres(), UnitNote::Given(options.unit)),
    }
}

fn expected_triangles(bytes: &[u8], format: Format) -> u64 {
    match format {
        Format::BinaryStl => stl::declared_count(bytes).unwrap_or(0),
        // About 250 bytes per facet in ASCII STL and 40 bytes per face in OBJ: a hint only.
        Format::AsciiStl => bytes.len() as u64 / 250,
        Format::Obj => bytes.len() as u64 / 40,
        Format::ThreeMf => 0,
    }
}

/// Decodes a model into any sink, in millimetres, checked; returns the format and the number of
/// triangles decoded.
pub(crate) fn decode_with<S: TriangleSink>(
    bytes: &[u8],
    options: &LoadOptions,
    sink: &mut S,
) -> Result<(Format, u64), MeshError> {
    check_size(bytes.len() as u64, &options.limits)?;
    let format = detect(bytes)?;
    let triangles = decode_format_with(bytes, format, options, sink)?;
    Ok((format, triangles))
}

/// Decodes a model of a known format into a sink; returns the number of triangles decoded.
fn decode_format_with<S: TriangleSink>(
    bytes: &[u8],
    format: Format,
    options: &LoadOptions,
    sink: &mut S,
) -> Result<u64, MeshError> {
    let (scale, _) = unit_for(format, options);
    let mut checked = Checked::new(sink, scale, options.limits.triangle_limit());
    decode_into(bytes, format, &options.limits, &mut checked)?;
    Ok(checked.seen())
}

/// Parses a model into a welded mesh in millimetres.
pub fn parse(bytes: &[u8], options: &LoadOptions) -> Result<Mesh, MeshError> {
    check_size(bytes.len() as u64, &options.limits)?;
    let format = detect(bytes)?;
    let mut welder = Welder::new(
        expected_triangles(bytes, format),
        options.limits.triangle_limit(),
    );
    let triangles_in_file = decode_format_with(bytes, format, options, &mut welder)?;
    let (_, unit_note) = unit_for(format, options);
    Mesh::from_welder(welder, format, unit_note, triangles_in_file)
}

/// What a reader holds: a binary STL to stream record by record, or the whole input of any
/// other format.
pub(crate) enum ReaderInput {
    BinaryStl { triangles: u64 },
    Whole(Vec<u8>),
}

/// Reads the head of an input of `len` bytes and decides how to read the rest.
pub(crate) fn open_reader<R: Read>(
    reader: &mut R,
    len: u64,
    options: &LoadOptions,
) -> Result<ReaderInput, MeshError> {
    check_size(len, &options.limits)?;
    let mut head = vec![0u8; len.min(stl::HEADER_BYTES as u64) as usize];
    reader.read_exact(&mut head).map_err(read_error)?;
    if let Some(triangles) =
        stl::declared_count(&head).filter(|&count| stl::binary_len(count) == len)
    {
        if triangles > options.limits.triangle_limit() {
            return Err(MeshError::TooManyTriangles {
                limit: options.limits.triangle_limit(),
            });
        }
        return Ok(ReaderInput::BinaryStl { triangles });
    }
    let mut bytes = head;
    bytes.reserve(len.saturating_sub(bytes.len() as u64) as usize);
    reader
        .take(len - bytes.len() as u64)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if (bytes.len() as u64) < len {
        return Err(read_error(std::io::ErrorKind::UnexpectedEof.into()));
    }
    Ok(ReaderInput::Whole(bytes))
}

fn read_error(err: std::io::Error) -> MeshError {
    MeshError::Read {
        message: err.to_string(),
    }
}

/// Records per chunk when a binary STL is streamed: 400 kB, so that the chunks in flight
/// between the reading and the welding thread add little to the peak memory.
pub(crate) const CHUNK_RECORDS: u64 = 1 << 13;

/// Fills `buffer` (a whole number of records) with the records from `first_face` on; a short
/// read is the truncated file it means.
pub(crate) fn read_records<R: Read>(
    reader: &mut R,
    buffer: &mut [u8],
    first_face: u64,
    triangles: u64,
) -> Result<(), MeshError> {
    reader.read_exact(buffer).map_err(|err| match err.kind() {
        std::io::ErrorKind::UnexpectedEof => {
            stl::length_error(triangles, stl::binary_len(first_face))
        }
        _ => read_error(err),
    })
}

pub(crate) use stl::{RECORD_BYTES as STL_RECORD_BYTES, decode_record as decode_stl_record};

/// Parses a model from a reader of `len` bytes. A binary STL is streamed straight into the
/// welder, so the file is never held in memory whole; other formats are read first.
pub fn parse_reader<R: Read>(
    mut reader: R,
    len: u64,
    options: &LoadOptions,
) -> Result<Mesh, MeshError> {
    let triangles = match open_reader(&mut reader, len, options)? {
        ReaderInput::Whole(bytes) => return parse(&bytes, options),
        ReaderInput::BinaryStl { triangles } => triangles,
    };
    let (scale, unit_note) = unit_for(Format::BinaryStl, options);
    let limit = options.limits.triangle_limit();
    let mut welder = Welder::new(triangles, limit);
    let decode = |reader: &mut R, face: u64, buffer: &mut Vec<u8>, into: &mut Soup| {
        let records = (triangles - face).min(CHUNK_RECORDS) as usize;
        buffer.resize(records * stl::RECORD_BYTES, 0);
        read_records(reader, buffer, face, triangles)?;
        let mut checked = Checked::new(into, scale, limit);
        stl::parse_binary_records(buffer, face, &mut checked)
    };
    let mut buffer = Vec::new();
    if triangles <= PIPELINE_MIN_RECORDS {
        let mut soup = Soup::default();
        let mut face = 0u64;
        while face < triangles {
            soup.triangles.clear();
            decode(&mut reader, face, &mut buffer, &mut soup)?;
            welder.triangles(&soup.triangles);
            face += soup.triangles.len() as u64;
        }
        return Mesh::from_welder(welder, Format::BinaryStl, unit_note, triangles);
    }
    // Reading and decoding (this thread) overlap welding (a second thread), which is the
    // longest stage: chunks go over a channel and come back empty to be refilled.
    let welder = std::thread::scope(|scope| {
        let (full, to_weld) = std::sync::mpsc::sync_channel::<Soup>(1);
        let (welded, empty) = std::sync::mpsc::channel::<Soup>();
        let welding = scope.spawn(move || {
            for mut soup in to_weld {
                welder.triangles(&soup.triangles);
                soup.triangles.clear();
                // The reader may have stopped on an error; its end of the channel is gone then.
                let _ = welded.send(soup);
            }
            welder
        });
        let mut face = 0u64;
        let read = loop {
            if face == triangles {
                break Ok(());
            }
            let mut soup = empty.try_recv().unwrap_or_default();
            if let Err(err) = decode(&mut reader, face, &mut buffer, &mut soup) {
                break Err(err);
            }
            face += soup.triangles.len() as u64;
            if full.send(soup).is_err() {
                break Ok(());
            }
        };
        drop(full);
        let welder = welding
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        read.map(|()| welder)
    })?;
    Mesh::from_welder(welder, Format::BinaryStl, unit_note, triangles)
}

/// Files with more records than this weld on a second thread while the next chunk is read.
const PIPELINE_MIN_RECORDS: u64 = 4 * CHUNK_RECORDS;

/// Parses a model into an unwelded list of triangles in millimetres, to time parsing and
/// welding separately.
pub fn decode(bytes: &[u8], options: &LoadOptions) -> Result<(Format, Soup), MeshError> {
    let mut soup = Soup::default();
    let (format, _) = decode_with(bytes, options, &mut soup)?;
    Ok((format, soup))
}

impl Soup {
    /// Welds the triangles into a mesh (the second half of [`parse`]).
    pub fn weld(&self, format: Format) -> Result<Mesh, MeshError> {
        Mesh::from_triangles(&self.triangles, format)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Mesh::shells` walks the edge map the slicer uses; the analysis finds shells with its own
    /// union-find. Both must count the same shells (trimesh's bodies), on every fixture and
    /// shared model.
    #[test]
    fn the_slicer_and_the_analysis_count_the_same_shells() {
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/models");
        let mut files: Vec<std::path::PathBuf> = Vec::new();
        for dir in std::iter::once(fixtures).chain(crate::shared_models()) {
            let entries = std::fs::read_dir(&dir).expect("a folder of models");
            files.extend(entries.map(|entry| entry.expect("entry").path()));
        }
        let mut compared = 0;
        for path in files {
            let Ok(mesh) = parse(
                &std::fs::read(&path).expect("file"),
                &LoadOptions::default(),
            ) else {
                continue;
            };
            let analysis = crate::analyze(&mesh);
            assert_eq!(
                mesh.shells().count,
                analysis.shells.len(),
                "{}",
                path.display()
            );
            compared += 1;
        }
        assert!(compared >= 10, "{compared} models");
    }
}
