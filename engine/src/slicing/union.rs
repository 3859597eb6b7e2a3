//! Overlapping shells, united layer by layer.
//!
//! A model made of shells that overlap (a teapot whose spout and handle are pushed into its
//! body, parts merged without a boolean union) prints as their union: a slicer unites the
//! contours of a layer by the non-zero winding rule before it lays perimeters. The per-face
//! sums of [`super::slice`] count every shell whole, its walls inside another shell included.
//! Here, on the layers where shells overlap, each contour segment is cut where it crosses
//! another shell's contour, and a piece whose both sides are inside the union (the winding
//! number of the layer's contours is non-zero on either side) is no wall: its length leaves
//! the layer's contour and its shoelace term the layer's area.
//!
//! The winding number is defined by closed contours only: a shell takes part on a layer where
//! its contour is closed, i.e. none of its segments there ends on an edge without exactly two
//! faces (an open contour is the slicer's to join or drop, see `open`; shells that
//! meet along a non-manifold edge, split there, are open where a layer crosses that edge).
//! Only where two bodies meet (their surfaces cross, or one holds the other: found once per
//! model, with a grid of faces) are contours kept and compared; a model of one shell, or of
//! bodies apart (parts nested on a plate), costs nothing more per layer.

use rayon::prelude::*;

use crate::mesh::{Mesh, Shells};

/// Beyond this many shells (a triangle soup, a scan in fragments) no union is attempted: the
/// shells are compared pairwise by their bounding boxes.
const MAX_SHELLS: usize = 4096;

/// How far beside a contour the winding of its own shell is taken, in millimetres.
const SIDE_STEP_MM: f64 = 1e-7;

/// One segment of a shell's contour on a layer: `p` to `q`, material on the left.
#[derive(Debug, Clone, Copy)]
pub(super) struct Segment {
    pub(super) layer: u32,
    pub(super) shell: u32,
    /// One of the two edges the plane crosses has no partner face: the contour is open here.
    pub(super) open: bool,
    pub(super) p: [f64; 2],
    pub(super) q: [f64; 2],
}

/// The shells whose contours the slicer must collect: those whose bounding box overlaps
/// another's, when two bodies (shells enclosing a volume) meet. `None` when no union can
/// change anything: one shell, bodies apart, voids inside a single body.
pub(super) fn involved_shells(
    mesh: &Mesh,
    local: &(impl Fn(u32) -> [f64; 3] + Sync),
) -> Option<Vec<bool>> {
    if bodies_meet(mesh) != Some(true) {
        return None;
    }
    let shells = mesh.shells();
    let boxes = shell_boxes(mesh, shells, local);
    let mut involved = vec![false; shells.count];
    for a in 0..shells.count {
        for b in a + 1..shells.count {
            if boxes_overlap(&boxes[a], &boxes[b]) {
                involved[a] = true;
                involved[b] = true;
            }
        }
    }
    Some(involved)
}

/// Whether two of the mesh's bodies meet (see [`Shells::is_body`]), found once per mesh;
/// `None` for a mesh of more than `MAX_SHELLS` shells, which are never compared.
pub(crate) fn bodies_meet(mesh: &Mesh) -> Option<bool> {
    let shells = mesh.shells();
    if shells.count < 2 {
        return Some(false);
    }
    if shells.count > MAX_SHELLS {
        return None;
    }
    Some(
        *shells
            .bodies_meet
            .get_or_init(|| any_bodies_meet(mesh, shells)),
    )
}

/// A box: its lowest and highest corners.
pub(crate) type Box3 = ([f64; 3], [f64; 3]);

/// Each shell's bounding box, from the vertices' coordinates given by `point`.
pub(crate) fn shell_boxes(
    mesh: &Mesh,
    shells: &Shells,
    point: &(impl Fn(u32) -> [f64; 3] + Sync),
) -> Vec<Box3> {
    let mut boxes = vec![([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]); shells.count];
    for (triangle, &shell) in mesh.triangles().iter().zip(&shells.of_face) {
        let (low, high) = &mut boxes[shell as usize];
        for &v in triangle {
            let p = point(v);
            for axis in 0..3 {
                low[axis] = low[axis].min(p[axis]);
                high[axis] = high[axis].max(p[axis]);
            }
        }
    }
    boxes
}

fn boxes_overlap(a: &Box3, b: &Box3) -> bool {
    (0..3).all(|axis| a.0[axis] < b.1[axis] && b.0[axis] < a.1[axis])
}

/// Whether two bodies (shells enclosing a volume) of the mesh meet: their surfaces cross, or
/// one holds the other. Bodies apart, however their bounding boxes overlap (parts nested on a
/// plate), never need uniting, in any orientation: found in the source's frame (bodies
/// touching face to face can cross by a rounding in one rotation and not in another).
fn any_bodies_meet(mesh: &Mesh, shells: &Shells) -> bool {
    let positions = mesh.source_positions();
    let point = |v: u32| positions[v as usize].map(f64::from);
    let boxes = shell_boxes(mesh, shells, &point);
    let bodies: Vec<usize> = (0..shells.count).filter(|&s| shells.is_body(s)).collect();
    let mut faces_of: Vec<Vec<u32>> = vec![Vec::new(); shells.count];
    for (face, &shell) in shells.of_face.iter().enumerate() {
        faces_of[shell as usize].push(face as u32);
    }
    let corners = |face: u32| mesh.triangles()[face as usize].map(point);
    bodies.iter().enumerate().any(|(k, &a)| {
        bodies[k + 1..].iter().any(|&b| {
            boxes_overlap(&boxes[a], &boxes[b])
                && (surfaces_cross(&faces_of[a], &faces_of[b], &boxes[a], &boxes[b], &corners)
                    || holds(
                        &faces_of[a],
                        point(mesh.triangles()[faces_of[b][0] as usize][0]),
                        &corners,
                    )
                    || holds(
                        &faces_of[b],
                        point(mesh.triangles()[faces_of[a][0] as usize][0]),
                        &corners,
                    ))
        })
    })
}

/// Whether a face of one list crosses a face of the other, for faces within both boxes (the
/// faces filed in a grid of about their own size).
fn surfaces_cross(
    a: &[u32],
    b: &[u32],
    box_a: &Box3,
    box_b: &Box3,
    corners: &impl Fn(u32) -> [[f64; 3]; 3],
) -> bool {
    let common: Box3 = (
        std::array::from_fn(|i| box_a.0[i].max(box_b.0[i])),
        std::array::from_fn(|i| box_a.1[i].min(box_b.1[i])),
    );
    let face_box = |face: u32| -> Box3 {
        let t = corners(face);
        (
            std::array::from_fn(|i| t[0][i].min(t[1][i]).min(t[2][i])),
            std::array::from_fn(|i| t[0][i].max(t[1][i]).max(t[2][i])),
        )
    };
    let touches = |k: &Box3| (0..3).all(|i| k.0[i] <= common.1[i] && common.0[i] <= k.1[i]);
    let near_a: Vec<(u32, Box3)> = a
        .iter()
        .map(|&f| (f, face_box(f)))
        .filter(|(_, k)| touches(k))
        .collect();
    let near_b: Vec<(u32, Box3)> = b
        .iter()
        .map(|&f| (f, face_box(f)))
        .filter(|(_, k)| touches(k))
        .collect();
    if near_a.is_empty() || near_b.is_empty() {
        return false;
    }
    // Cells as large as the faces are on average.
    let n = (near_a.len() + near_b.len()) as f64;
    let cell = near_a
        .iter()
        .chain(&near_b)
        .map(|(_, k)| (0..3).map(|i| k.1[i] - k.0[i]).fold(0.0, f64::max))
        .sum::<f64>()
        / n;
    let cell = if cell > 0.0 { cell } else { 1.0 };
    let cells = |k: &Box3| {
        let lo: [i64; 3] = std::array::from_fn(|i| {
            ((k.0[i].max(common.0[i]) - common.0[i]) / cell).floor() as i64
        });
        let hi: [i64; 3] = std::array::from_fn(|i| {
            ((k.1[i].min(common.1[i]) - common.0[i]) / cell).floor() as i64
        });
        (lo[0]..=hi[0]).flat_map(move |x| {
            (lo[1]..=hi[1]).flat_map(move |y| (lo[2]..=hi[2]).map(move |z| (x, y, z)))
        })
    };
    let mut grid: std::collections::HashMap<(i64, i64, i64), Vec<u32>> =
        std::collections::HashMap::new();
    for (face, k) in &near_b {
        for c in cells(k) {
            grid.entry(c).or_default().push(*face);
        }
    }
    near_a.iter().any(|(face, k)| {
        let t = corners(*face);
        cells(k).any(|c| {
            grid.get(&c).is_some_and(|faces| {
                faces
                    .iter()
                    .any(|&other| triangles_cross(&t, &corners(other)))
            })
        })
    })
}

/// Whether two triangles meet: an edge of one passes through the other.
fn triangles_cross(s: &[[f64; 3]; 3], t: &[[f64; 3]; 3]) -> bool {
    (0..3).any(|k| segment_hits(s[k], s[(k + 1) % 3], t) || segment_hits(t[k], t[(k + 1) % 3], s))
}

/// Whether the segment from `p` to `q` passes through the triangle `t` (Möller and Trumbore's
/// test; a segment in the triangle's plane does not).
fn segment_hits(p: [f64; 3], q: [f64; 3], t: &[[f64; 3]; 3]) -> bool {
    let sub = |a: [f64; 3], b: [f64; 3]| [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    let dot = |a: [f64; 3], b: [f64; 3]| a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    let cross = |a: [f64; 3], b: [f64; 3]| {
        [
            a[1] * b[2] - a[2] * b[1],
            a[2] * b[0] - a[0] * b[2],
            a[0] * b[1] - a[1] * b[0],
        ]
    };
    let d = sub(q, p);
    let (e1, e2) = (sub(t[1], t[0]), sub(t[2], t[0]));
    let h = cross(d, e2);
    let det = dot(e1, h);
    if det == 0.0 {
        return false;
    }
    let s = sub(p, t[0]);
    let u = dot(s, h) / det;
    let r = cross(s, e1);
    let v = dot(d, r) / det;
    let along = dot(e2, r) / det;
    (0.0..=1.0).contains(&u) && v >= 0.0 && u + v <= 1.0 && (0.0..=1.0).contains(&along)
}

/// Whether the closed surface of `faces` holds `point`: a ray from it crosses the surface an
/// odd number of times (a direction no axis-aligned part lines up with).
fn holds(faces: &[u32], point: [f64; 3], corners: &impl Fn(u32) -> [[f64; 3]; 3]) -> bool {
    const FAR: f64 = 1e7;
    let direction = [0.577_215_664_9, 0.618_033_988_7, 0.533_012_989_1];
    let end = std::array::from_fn(|i| point[i] + FAR * direction[i]);
    faces
        .iter()
        .filter(|&&face| segment_hits(point, end, &corners(face)))
        .count()
        % 2
        == 1
}

/// For each layer, the shoelace term (twice the area) and the length of contour that lie
/// inside the union of the shells, to be taken off the layer's sums, from the involved
/// shells' segments (in any order, in batches).
pub(super) fn inner_walls(batches: Vec<Vec<Segment>>, n_layers: usize) -> Vec<(usize, f64, f64)> {
    // Filed by layer: a counting sort.
    let mut starts = vec![0usize; n_layers + 1];
    for segment in batches.iter().flatten() {
        starts[segment.layer as usize + 1] += 1;
    }
    for layer in 0..n_layers {
        starts[layer + 1] += starts[layer];
    }
    let Some(&first) = batches.iter().flatten().next() else {
        return Vec::new();
    };
    let mut filed = vec![first; starts[n_layers]];
    let mut next = starts.clone();
    for segment in batches.into_iter().flatten() {
        filed[next[segment.layer as usize]] = segment;
        next[segment.layer as usize] += 1;
    }
    let mut layers: Vec<&mut [Segment]> = Vec::with_capacity(n_layers);
    let mut rest = filed.as_mut_slice();
    for layer in 0..n_layers {
        let (this, others) = rest.split_at_mut(starts[layer + 1] - starts[layer]);
        layers.push(this);
        rest = others;
    }
    layers
        .into_par_iter()
        .enumerate()
        .filter_map(|(layer, segments)| {
            segments.sort_unstable_by_key(|s| s.shell);
            let (area2, length) = inside_union(segments);
            (length > 0.0).then_some((layer, area2, length))
        })
        .collect()
}

/// The shoelace term and the length of the pieces of one layer's contours (sorted by shell)
/// that lie inside the union of the shells.
fn inside_union(segments: &[Segment]) -> (f64, f64) {
    // Only closed contours take part: an open one is the slicer's to join or drop (see
    // `open`), and has no inside.
    let closed: Vec<(&[Segment], Extent)> = segments
        .chunk_by(|a, b| a.shell == b.shell)
        .filter(|group| !group.iter().any(|s| s.open))
        .map(|group| (group, Extent::of(group.iter().flat_map(|s| [s.p, s.q]))))
        .collect();
    if closed.len() < 2 {
        return (0.0, 0.0);
    }
    let closed = &closed;
    let overlapping =
        |i: usize| (0..closed.len()).filter(move |&j| j != i && closed[i].1.overlaps(&closed[j].1));
    let outlines: Vec<Option<Outline>> = (0..closed.len())
        .map(|i| {
            overlapping(i)
                .next()
                .is_some()
                .then(|| Outline::new(closed[i].0, closed[i].1))
        })
        .collect();
    let (mut area2, mut length) = (0.0, 0.0);
    let mut cuts = Vec::new();
    for (i, (group, _)) in closed.iter().enumerate() {
        let Some(own) = outlines[i].as_ref() else {
            continue;
        };
        let others: Vec<&Outline> = overlapping(i)
            .filter_map(|j| outlines[j].as_ref())
            .collect();
        for segment in group.iter() {
            let (p, q) = (segment.p, segment.q);
            let (dx, dy) = (q[0] - p[0], q[1] - p[1]);
            let len = (dx * dx + dy * dy).sqrt();
            if len == 0.0 {
                continue;
            }
            cuts.clear();
            cuts.extend([0.0, 1.0]);
            for outline in &others {
                outline.crossings(p, q, &mut cuts);
            }
            cuts.sort_unstable_by(f64::total_cmp);
            let at = |t: f64| [p[0] + t * dx, p[1] + t * dy];
            // A small step to the segment's right, outside its own shell.
            let right = [dy / len * SIDE_STEP_MM, -dx / len * SIDE_STEP_MM];
            for span in cuts.windows(2) {
                if span[1] <= span[0] {
                    continue;
                }
                let (a, b) = (at(span[0]), at(span[1]));
                let mid = at((span[0] + span[1]) / 2.0);
                let around: i32 = others.iter().map(|o| o.winding(mid)).sum();
                let own_right = own.winding([mid[0] + right[0], mid[1] + right[1]]);
                // The shell's own winding steps up by one across its contour to the left.
                let (outside, inside) = (around + own_right, around + own_right + 1);
                if outside != 0 && inside != 0 {
                    area2 += a[0] * b[1] - b[0] * a[1];
                    length += (span[1] - span[0]) * len;
                }
            }
        }
    }
    (area2, length)
}

#[derive(Debug, Clone, Copy)]
struct Extent {
    min: [f64; 2],
    max: [f64; 2],
}

impl Extent {
    fn of(points: impl Iterator<Item = [f64; 2]>) -> Extent {
        let mut extent = Extent {
            min: [f64::INFINITY; 2],
            max: [f64::NEG_INFINITY; 2],
        };
        for p in points {
            extent.min = [extent.min[0].min(p[0]), extent.min[1].min(p[1])];
            extent.max = [extent.max[0].max(p[0]), extent.max[1].max(p[1])];
        }
        extent
    }

    fn overlaps(&self, other: &Extent) -> bool {
        (0..2).all(|axis| self.min[axis] <= other.max[axis] && other.min[axis] <= self.max[axis])
    }
}

/// A closed contour of one shell on one layer, its segments filed in horizontal bands so that
/// a point's winding number and a segment's crossings look at one band's segments, not all.
struct Outline {
    segments: Vec<([f64; 2], [f64; 2])>,
    extent: Extent,
    band_height: f64,
    /// `band_starts[b]..band_starts[b + 1]` indexes `in_band` for band `b`.
    band_starts: Vec<u32>,
    in_band: Vec<u32>,
}

impl Outline {
    fn new(group: &[Segment], extent: Extent) -> Outline {
        let segments: Vec<_> = group.iter().map(|s| (s.p, s.q)).collect();
        let bands = (segments.len() / 2).clamp(1, 4096);
        let band_height = ((extent.max[1] - extent.min[1]) / bands as f64).max(f64::MIN_POSITIVE);
        let mut outline = Outline {
            segments,
            extent,
            band_height,
            band_starts: vec![0; bands + 1],
            in_band: Vec::new(),
        };
        for &(p, q) in &outline.segments {
            for band in outline.bands(p[1].min(q[1]), p[1].max(q[1])) {
                outline.band_starts[band + 1] += 1;
            }
        }
        for band in 0..bands {
            outline.band_starts[band + 1] += outline.band_starts[band];
        }
        let mut next = outline.band_starts.clone();
        outline.in_band = vec![0; outline.band_starts[bands] as usize];
        for (k, &(p, q)) in outline.segments.iter().enumerate() {
            for band in outline.bands(p[1].min(q[1]), p[1].max(q[1])) {
                outline.in_band[next[band] as usize] = k as u32;
                next[band] += 1;
            }
        }
        outline
    }

    /// The bands that heights from `low` to `high` touch.
    fn bands(&self, low: f64, high: f64) -> std::ops::RangeInclusive<usize> {
        let last = self.band_starts.len() - 2;
        let band = |y: f64| {
            (((y - self.extent.min[1]) / self.band_height)
                .floor()
                .max(0.0) as usize)
                .min(last)
        };
        band(low)..=band(high)
    }

    fn band_segments(&self, band: usize) -> impl Iterator<Item = &([f64; 2], [f64; 2])> {
        let range = self.band_starts[band] as usize..self.band_starts[band + 1] as usize;
        self.in_band[range]
            .iter()
            .map(|&k| &self.segments[k as usize])
    }

    /// The winding number of the contour around `point` (counter-clockwise counts one).
    fn winding(&self, point: [f64; 2]) -> i32 {
        let [x, y] = point;
        if x < self.extent.min[0]
            || x > self.extent.max[0]
            || y < self.extent.min[1]
            || y > self.extent.max[1]
        {
            return 0;
        }
        let band = *self.bands(y, y).start();
        let mut winding = 0;
        for &(p, q) in self.band_segments(band) {
            if (p[1] <= y) != (q[1] <= y) {
                let crossing = p[0] + (y - p[1]) * (q[0] - p[0]) / (q[1] - p[1]);
                if crossing > x {
                    winding += if q[1] > p[1] { 1 } else { -1 };
                }
            }
        }
        winding
    }

    /// Pushes the parameters `t` in (0, 1) at which `p + t (q - p)` crosses the contour.
    fn crossings(&self, p: [f64; 2], q: [f64; 2], out: &mut Vec<f64>) {
        let d = [q[0] - p[0], q[1] - p[1]];
        let cross = |u: [f64; 2], v: [f64; 2]| u[0] * v[1] - u[1] * v[0];
        for band in self.bands(p[1].min(q[1]), p[1].max(q[1])) {
            for &(a, b) in self.band_segments(band) {
                let e = [b[0] - a[0], b[1] - a[1]];
                let denominator = cross(d, e);
                if denominator == 0.0 {
                    continue;
                }
                let ap = [a[0] - p[0], a[1] - p[1]];
                let t = cross(ap, e) / denominator;
                let u = cross(ap, d) / denominator;
                if t > 0.0 && t < 1.0 && (0.0..=1.0).contains(&u) {
                    out.push(t);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::mesh::{LoadOptions, parse};
    use crate::orientation::{candidates, orient};

    /// A 20 x 20 x 4 mm cap resting on a 4 x 4 x 10 mm stem: two bodies touching face to face.
    fn mushroom() -> Vec<u8> {
        let cuboid = |[x, y, z]: [f32; 3], [w, d, h]: [f32; 3]| {
            let p = |i: usize| {
                [
                    x + w * (i & 1) as f32,
                    y + d * ((i >> 1) & 1) as f32,
                    z + h * (i >> 2) as f32,
                ]
            };
            let quads = [
                [0, 2, 3, 1],
                [4, 5, 7, 6],
                [0, 1, 5, 4],
                [2, 6, 7, 3],
                [0, 4, 6, 2],
                [1, 3, 7, 5],
            ];
            quads
                .iter()
                .flat_map(|q| [[q[0], q[1], q[2]], [q[0], q[2], q[3]]])
                .map(|t| t.map(p))
                .collect::<Vec<_>>()
        };
        let mut text = String::from("solid mushroom\n");
        for [a, b, c] in cuboid([8.0, 8.0, 0.0], [4.0, 4.0, 10.0])
            .into_iter()
            .chain(cuboid([0.0, 0.0, 10.0], [20.0, 20.0, 4.0]))
        {
            text.push_str("facet normal 0 0 0\nouter loop\n");
            for v in [a, b, c] {
                text.push_str(&format!("vertex {} {} {}\n", v[0], v[1], v[2]));
            }
            text.push_str("endloop\nendfacet\n");
        }
        text.push_str("endsolid mushroom\n");
        text.into_bytes()
    }

    /// Whether bodies meet is found once per model and shared by its rotations: the answer
    /// must not depend on which rotation asks first (quotes estimate the orientations in
    /// parallel). Bodies touching face to face are where rounding in a turned frame could tell
    /// them apart.
    #[test]
    fn bodies_meet_whichever_rotation_asks_first() {
        let bytes = mushroom();
        let source = parse(&bytes, &LoadOptions::default()).expect("mushroom");
        let expected = super::bodies_meet(&source);
        let candidates = candidates(&source);
        assert!(candidates.len() > 6, "{} candidates", candidates.len());
        for candidate in candidates {
            let fresh = parse(&bytes, &LoadOptions::default()).expect("mushroom");
            let turned = orient(&fresh, &candidate);
            assert_eq!(
                super::bodies_meet(&turned),
                expected,
                "asked first by {:?}",
                candidate.down
            );
        }
    }
}
