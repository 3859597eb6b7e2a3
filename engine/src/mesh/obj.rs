//! Wavefront OBJ: `v` positions and `f` faces; everything else (normals, texture coordinates,
//! groups, materials, smoothing, lines, points) is read past.
//!
//! Faces may be triangles, quads or any polygon (fan-triangulated from their first corner, as
//! tobj and trimesh do), with corners written `v`, `v/vt`, `v//vn` or `v/vt/vn`. A negative index
//! counts back from the last vertex read so far; a positive index may refer to a vertex defined
//! later in the file, so positive indices are checked once the whole file is read. A line that
//! ends with a backslash continues on the next line.

use super::stl::{parse_f32, printable};
use super::weld::{Checked, TriangleSink};
use super::{Format, MeshError};

struct Polygon {
    first_corner: u32,
    n_corners: u32,
    line: u64,
}

/// Parses an OBJ file and emits its triangles in file order.
pub(crate) fn parse_obj<S: TriangleSink>(
    bytes: &[u8],
    max_triangles: u64,
    sink: &mut Checked<'_, S>,
) -> Result<(), MeshError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut positions: Vec<[f32; 3]> = Vec::new();
    let mut corners: Vec<u32> = Vec::new();
    let mut polygons: Vec<Polygon> = Vec::new();
    let mut n_triangles: u64 = 0;
    let mut continued: Vec<u8> = Vec::new();

    for (line, text) in Lines::new(bytes) {
        // Join continuation lines ("\" at the end) before reading the statement.
        let text: &[u8] = if text.ends_with(b"\\") || !continued.is_empty() {
            continued.extend_from_slice(text.strip_suffix(b"\\").unwrap_or(text));
            continued.push(b' ');
            if text.ends_with(b"\\") {
                continue;
            }
            &continued
        } else {
            text
        };
        let mut words = text
            .split(|b| *b == b' ' || *b == b'\t')
            .filter(|w| !w.is_empty());
        let syntax = |message: String| MeshError::Syntax {
            format: Format::Obj,
            line,
            message,
        };
        match words.next() {
            Some(b"v") => {
                let mut position = [0.0f32; 3];
                for (axis, value) in position.iter_mut().enumerate() {
                    let word = words.next().ok_or_else(|| {
                        syntax(format!(
                            "vertex has {axis} coordinates, expected at least 3"
                        ))
                    })?;
                    *value = parse_f32(word).ok_or_else(|| {
                        syntax(format!(
                            "expected a number for a vertex coordinate, found `{}`",
                            printable(word)
                        ))
                    })?;
                }
                positions.push(position);
            }
            Some(b"f") | Some(b"fo") => {
                let first_corner = corners.len() as u32;
                for word in words {
                    let index_text = word.split(|b| *b == b'/').next().unwrap_or(word);
                    let index = parse_index(index_text).ok_or_else(|| {
                        syntax(format!(
                            "expected a vertex index in face corner `{}`",
                            printable(word)
                        ))
                    })?;
                    let face = polygons.len() as u64;
                    let resolved = match index {
                        0 => {
                            return Err(syntax(
                                "vertex index 0 is invalid: OBJ indices start at 1".to_string(),
                            ));
                        }
                        i if i > 0 => i - 1,
                        i => {
                            let absolute = positions.len() as i64 + i;
                            if absolute < 0 {
                                return Err(MeshError::IndexOutOfRange {
                                    format: Format::Obj,
                                    line,
                                    face,
                                    index: i,
                                    n_vertices: positions.len() as u64,
                                });
                            }
                            absolute
                        }
                    };
                    // Indices beyond u32 can never be valid: the vertex count is bounded far lower.
                    corners.push(u32::try_from(resolved).unwrap_or(u32::MAX));
                }
                let n_corners = corners.len() as u32 - first_corner;
                if n_corners < 3 {
                    return Err(syntax(format!(
                        "face has {n_corners} vertices, a face needs at least 3"
                    )));
                }
                n_triangles += u64::from(n_corners) - 2;
                if n_triangles > max_triangles {
                    return Err(MeshError::TooManyTriangles {
                        limit: max_triangles,
                    });
                }
                polygons.push(Polygon {
                    first_corner,
                    n_corners,
                    line,
                });
            }
            _ => {}
        }
        continued.clear();
    }

    for (face, polygon) in polygons.iter().enumerate() {
        let start = polygon.first_corner as usize;
        let ring = &corners[start..start + polygon.n_corners as usize];
        if let Some(&bad) = ring.iter().find(|&&idx| idx as usize >= positions.len()) {
            return Err(MeshError::IndexOutOfRange {
                format: Format::Obj,
                line: polygon.line,
                face: face as u64,
                index: i64::from(bad) + 1,
                n_vertices: positions.len() as u64,
            });
        }
        for k in 1..ring.len() - 1 {
            let triangle = [ring[0], ring[k], ring[k + 1]].map(|idx| positions[idx as usize]);
            sink.triangle(face as u64, Some(polygon.line), triangle)?;
        }
    }
    if polygons.is_empty() {
        return Err(MeshError::NoTriangles {
            format: Format::Obj,
        });
    }
    Ok(())
}

fn parse_index(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() || digits.len() > 12 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = digits
        .iter()
        .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0'));
    Some(if negative { -value } else { value })
}

/// Lines ending in LF, CRLF or CR, numbered from 1, with comments (`#` to the end) removed.
struct Lines<'a> {
    bytes: &'a [u8],
    at: usize,
    line: u64,
}

impl<'a> Lines<'a> {
    fn new(bytes: &'a [u8]) -> Lines<'a> {
        Lines {
            bytes,
            at: 0,
            line: 0,
        }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = (u64, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.bytes.len() {
            return None;
        }
        let rest = &self.bytes[self.at..];
        let end = rest
            .iter()
            .position(|b| *b == b'\n' || *b == b'\r')
            .unwrap_or(rest.len());
        let mut next = self.at + end + 1;
        if rest.get(end) == Some(&b'\r') && rest.get(end + 1) == Some(&b'\n') {
            next += 1;
        }
        self.at = next;
        self.line += 1;
        let text = &rest[..end];
        let text = match text.iter().position(|b| *b == b'#') {
            Some(hash) => &text[..hash],
            None => text,
        };
        Some((self.line, text))
    }
}

/// True when the first statement of the text is an OBJ statement.
pub(crate) fn looks_like_obj(bytes: &[u8]) -> bool {
    // Every statement of the OBJ specification, so that a file beginning with a rare one is
    // still recognised.
    const KEYWORDS: &[&[u8]] = &[
        b"v",
        b"vt",
        b"vn",
        b"vp",
        b"f",
        b"fo",
        b"o",
        b"g",
        b"s",
        b"mg",
        b"l",
        b"p",
        b"mtllib",
        b"usemtl",
        b"usemap",
        b"maplib",
        b"lod",
        b"bevel",
        b"c_interp",
        b"d_interp",
        b"shadow_obj",
        b"trace_obj",
        b"cstype",
        b"deg",
        b"bmat",
        b"step",
        b"curv",
        b"curv2",
        b"surf",
        b"parm",
        b"trim",
        b"hole",
        b"scrv",
        b"sp",
        b"end",
        b"con",
        b"ctech",
        b"stech",
        b"call",
        b"csh",
    ];
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut saw_comment = false;
    // Look at the first non-empty lines only, and only within the first 64 KiB.
    for (_, text) in Lines::new(&bytes[..bytes.len().min(1 << 16)]).take(1000) {
        let raw = text;
        let Some(word) = raw
            .split(|b| *b == b' ' || *b == b'\t')
            .find(|w| !w.is_empty())
        else {
            saw_comment = true;
            continue;
        };
        if !word.is_ascii() {
            return false;
        }
        return KEYWORDS.contains(&word);
    }
    saw_comment && !bytes.is_empty() && bytes.is_ascii()
}
