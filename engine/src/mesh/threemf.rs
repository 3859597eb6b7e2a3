//! 3MF: a zip container whose model part (found through `_rels/.rels`) is XML with `object`s
//! (a `mesh` of vertices and triangles, or `components` that place other objects) and a `build`
//! whose `item`s place objects on the plate.
//!
//! Components may place objects of other model parts (`p:path`, the production extension that
//! Bambu Studio and others write): each such part is loaded once, and every part is read in
//! the root part's unit.
//!
//! Transforms are the 3MF 3x4 matrices (`m00 m01 m02 m10 m11 m12 m20 m21 m22 m30 m31 m32`,
//! row-vector convention: `x' = x m00 + y m10 + z m20 + m30`), composed in f64 and applied before
//! the model's `unit` is converted to millimetres. A mirroring transform (negative determinant)
//! reverses the corner order so that faces keep pointing outwards.
//!
//! The archive is untrusted: an entry larger than the input limit, or compressed more than
//! [`MAX_COMPRESSION_RATIO`] times, is refused before it is inflated, and inflation itself stops
//! at the limit whatever the entry's header claims.

use std::collections::HashMap;
use std::io::Read;

use quick_xml::events::{BytesStart, Event};

use super::weld::{Checked, TriangleSink};
use super::{Format, Limits, MeshError};

/// Real model XML compresses 5 to 20 times; a zip bomb compresses by thousands.
pub const MAX_COMPRESSION_RATIO: u64 = 250;
const MAX_COMPONENT_DEPTH: usize = 32;

type Transform = [f64; 12];
const IDENTITY: Transform = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0];

#[derive(Default)]
struct Object {
    positions: Vec<[f32; 3]>,
    triangles: Vec<[u32; 3]>,
    components: Vec<Placement>,
}

/// An object placed by a component or a build item: in another model part when `part` is set
/// (the production extension's `p:path`), else in the same part.
#[derive(Debug, Clone)]
struct Placement {
    part: Option<String>,
    object: u32,
    transform: Transform,
    /// The byte offset of the element in its part, for error messages.
    position: u64,
}

/// The scale from a 3MF `unit` to millimetres.
fn unit_scale(unit: &str) -> Option<f64> {
    Some(match unit {
        "micron" => 0.001,
        "millimeter" => 1.0,
        "centimeter" => 10.0,
        "inch" => 25.4,
        "foot" => 304.8,
        "meter" => 1000.0,
        _ => return None,
    })
}

pub(crate) fn parse_3mf<S: TriangleSink>(
    bytes: &[u8],
    limits: &Limits,
    sink: &mut Checked<'_, S>,
) -> Result<(), MeshError> {
    let archive_error = |message: String| MeshError::Archive { message };
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|err| archive_error(format!("not a readable zip archive: {err}")))?;

    let model_path = match read_entry(&mut archive, "_rels/.rels", limits)? {
        Some(rels) => model_path_from_rels(&rels).unwrap_or_else(|| "3D/3dmodel.model".to_string()),
        None => "3D/3dmodel.model".to_string(),
    };
    let xml = read_entry(&mut archive, &model_path, limits)?.ok_or_else(|| {
        archive_error(format!(
            "the model part `{model_path}` named by _rels/.rels is not in the archive"
        ))
    })?;
    let mut inflated = xml.len() as u64;
    let root = parse_model_xml(&xml, &model_path)?;
    // Load every other model part that a placement names, once each.
    let mut parts: HashMap<String, Model> = HashMap::new();
    let mut pending: Vec<String> = root.named_parts();
    while let Some(path) = pending.pop() {
        if path == model_path || parts.contains_key(&path) {
            continue;
        }
        let xml = read_entry(&mut archive, &path, limits)?.ok_or_else(|| MeshError::ThreeMf {
            entry: model_path.clone(),
            message: format!(
                "a component names the model part `{path}`, which is not in the archive"
            ),
        })?;
        inflated += xml.len() as u64;
        if inflated > limits.max_input_bytes {
            return Err(archive_error(format!(
                "its model parts inflate past the limit of {} bytes",
                limits.max_input_bytes
            )));
        }
        let part = parse_model_xml(&xml, &path)?;
        pending.extend(part.named_parts());
        parts.insert(path, part);
    }
    emit(
        &Parts {
            root_path: model_path,
            root,
            others: parts,
        },
        limits,
        sink,
    )
}

/// The root model part and the others its components name.
struct Parts {
    root_path: String,
    root: Model,
    others: HashMap<String, Model>,
}

impl Parts {
    /// The model part at `path` (`None`: the root) and its entry name.
    fn get<'a>(&'a self, path: Option<&'a str>) -> Option<(&'a Model, &'a str)> {
        match path {
            None => Some((&self.root, &self.root_path)),
            Some(path) if path == self.root_path => Some((&self.root, &self.root_path)),
            Some(path) => self.others.get(path).map(|model| (model, path)),
        }
    }
}

/// Reads one archive entry, refusing oversized and over-compressed ones. `Ok(None)` when absent.
fn read_entry(
    archive: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>,
    name: &str,
    limits: &Limits,
) -> Result<Option<Vec<u8>>, MeshError> {
    let entry_error = |message: String| MeshError::ThreeMf {
        entry: name.to_string(),
        message,
    };
    let mut file = match archive.by_name(name) {
        Ok(file) => file,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(err) => return Err(entry_error(format!("cannot be opened: {err}"))),
    };
    let declared = file.size();
    let compressed = file.compressed_size().max(1);
    if declared > limits.max_input_bytes {
        return Err(entry_error(format!(
            "inflates to {declared} bytes, above the limit of {} bytes",
            limits.max_input_bytes
        )));
    }
    if declared / compressed > MAX_COMPRESSION_RATIO {
        return Err(entry_error(format!(
            "is compressed {}:1 ({compressed} bytes inflating to {declared}), above {MAX_COMPRESSION_RATIO}:1; refused as a possible zip bomb",
            declared / compressed
        )));
    }
    let mut out = Vec::with_capacity(declared.min(limits.max_input_bytes) as usize);
    // The header may lie: stop at the limit whatever it says.
    file.by_ref()
        .take(limits.max_input_bytes + 1)
        .read_to_end(&mut out)
        .map_err(|err| entry_error(format!("cannot be inflated: {err}")))?;
    if out.len() as u64 > limits.max_input_bytes {
        return Err(entry_error(format!(
            "inflates past the limit of {} bytes",
            limits.max_input_bytes
        )));
    }
    Ok(Some(out))
}

/// The target of the 3D-model relationship in `_rels/.rels`, without its leading slash.
fn model_path_from_rels(rels: &[u8]) -> Option<String> {
    let mut reader = quick_xml::Reader::from_reader(rels);
    loop {
        match reader.read_event() {
            Ok(Event::Empty(element)) | Ok(Event::Start(element))
                if element.local_name().as_ref() == "Relationship" =>
            {
                let kind = attribute(&element, "Type")?;
                if kind.ends_with("/3dmodel") {
                    let target = attribute(&element, "Target")?;
                    return Some(target.trim_start_matches('/').to_string());
                }
            }
            Ok(Event::Eof) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

fn attribute(element: &BytesStart<'_>, name: &str) -> Option<String> {
    element
        .attributes()
        .flatten()
        .find(|attr| attr.key.local_name().as_ref() == name)
        .map(|attr| attr.value.into_owned())
}

struct Model {
    scale: f64,
    objects: HashMap<u32, Object>,
    build: Vec<Placement>,
}

impl Model {
    /// The other model parts this part's placements name.
    fn named_parts(&self) -> Vec<String> {
        let components = self.objects.values().flat_map(|object| &object.components);
        components
            .chain(&self.build)
            .filter_map(|placement| placement.part.clone())
            .collect()
    }
}

/// A `p:path` as an archive entry name: without its leading slash.
fn part_name(path: String) -> String {
    path.trim_start_matches('/').to_string()
}

fn parse_model_xml(xml: &[u8], entry: &str) -> Result<Model, MeshError> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut model = Model {
        scale: 1.0,
        objects: HashMap::new(),
        build: Vec::new(),
    };
    let mut current: Option<(u32, Object)> = None;
    let mut saw_model = false;
    loop {
        let position = reader.buffer_position();
        let error = |message: String| MeshError::ThreeMf {
            entry: entry.to_string(),
            message: format!("byte {position}: {message}"),
        };
        let event = reader
            .read_event()
            .map_err(|err| error(format!("malformed XML: {err}")))?;
        let (element, is_start) = match event {
            Event::Start(element) => (element, true),
            Event::Empty(element) => (element, false),
            Event::End(end) => {
                if end.local_name().as_ref() == "object"
                    && let Some((id, object)) = current.take()
                {
                    model.objects.insert(id, object);
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let attr_f32 = |name: &str| -> Result<f32, MeshError> {
            let value = attribute(&element, name).ok_or_else(|| {
                error(format!(
                    "<{}> has no `{}` attribute",
                    printable_name(&element),
                    name
                ))
            })?;
            value.trim().parse::<f32>().ok().ok_or_else(|| {
                error(format!(
                    "`{}` is not a number: `{}`",
                    name,
                    printable_bytes(value.as_bytes())
                ))
            })
        };
        let attr_u32 = |name: &str| -> Result<u32, MeshError> {
            let value = attribute(&element, name).ok_or_else(|| {
                error(format!(
                    "<{}> has no `{}` attribute",
                    printable_name(&element),
                    name
                ))
            })?;
            value.trim().parse::<u32>().ok().ok_or_else(|| {
                error(format!(
                    "`{}` is not a non-negative integer: `{}`",
                    name,
                    printable_bytes(value.as_bytes())
                ))
            })
        };
        let transform = || -> Result<Transform, MeshError> {
            match attribute(&element, "transform") {
                None => Ok(IDENTITY),
                Some(value) => parse_transform(&value).ok_or_else(|| {
                    error(format!(
                        "`transform` is not 12 numbers: `{}`",
                        printable_bytes(value.as_bytes())
                    ))
                }),
            }
        };
        match element.local_name().as_ref() {
            "model" => {
                saw_model = true;
                if let Some(unit) = attribute(&element, "unit") {
                    model.scale = unit_scale(&unit).ok_or_else(|| {
                        error(format!(
                            "unknown unit `{}` (expected micron, millimeter, centimeter, inch, foot or meter)",
                            printable_bytes(unit.as_bytes())
                        ))
                    })?;
                }
            }
            "object" if is_start => {
                current = Some((attr_u32("id")?, Object::default()));
            }
            "vertex" => {
                let object = &mut current
                    .as_mut()
                    .ok_or_else(|| error("<vertex> outside an <object>".to_string()))?
                    .1;
                object
                    .positions
                    .push([attr_f32("x")?, attr_f32("y")?, attr_f32("z")?]);
            }
            "triangle" => {
                let object = &mut current
                    .as_mut()
                    .ok_or_else(|| error("<triangle> outside an <object>".to_string()))?
                    .1;
                let triangle = [attr_u32("v1")?, attr_u32("v2")?, attr_u32("v3")?];
                if let Some(&bad) = triangle
                    .iter()
                    .find(|&&v| v as usize >= object.positions.len())
                {
                    return Err(error(format!(
                        "triangle {} references vertex {bad} but the object has {} vertices",
                        object.triangles.len(),
                        object.positions.len()
                    )));
                }
                object.triangles.push(triangle);
            }
            "component" => {
                let placement = Placement {
                    part: attribute(&element, "path").map(part_name),
                    object: attr_u32("objectid")?,
                    transform: transform()?,
                    position,
                };
                let object = &mut current
                    .as_mut()
                    .ok_or_else(|| error("<component> outside an <object>".to_string()))?
                    .1;
                object.components.push(placement);
            }
            "item" => {
                model.build.push(Placement {
                    part: attribute(&element, "path").map(part_name),
                    object: attr_u32("objectid")?,
                    transform: transform()?,
                    position,
                });
            }
            _ => {}
        }
    }
    if !saw_model {
        return Err(MeshError::ThreeMf {
            entry: entry.to_string(),
            message: "no <model> element".to_string(),
        });
    }
    Ok(model)
}

fn emit<S: TriangleSink>(
    parts: &Parts,
    limits: &Limits,
    sink: &mut Checked<'_, S>,
) -> Result<(), MeshError> {
    if parts.root.build.is_empty() {
        return Err(MeshError::ThreeMf {
            entry: parts.root_path.clone(),
            message: "the <build> has no <item>".to_string(),
        });
    }
    let mut emitter = Emitter {
        parts,
        face: 0,
        placements: 0,
        max_placements: limits.triangle_limit(),
        sink,
    };
    for item in &parts.root.build {
        emitter.place(None, item, &IDENTITY, 0)?;
    }
    if emitter.face == 0 {
        return Err(MeshError::NoTriangles {
            format: Format::ThreeMf,
        });
    }
    Ok(())
}

/// Walks build items and components, emitting every placed triangle.
struct Emitter<'a, 'b, S> {
    parts: &'a Parts,
    face: u64,
    /// Objects placed so far: components of empty objects nested deep could otherwise place
    /// billions of objects without emitting a triangle.
    placements: u64,
    max_placements: u64,
    sink: &'a mut Checked<'b, S>,
}

impl<S: TriangleSink> Emitter<'_, '_, S> {
    /// Emits `placement`, made in the part `from` (`None`: the root), under `parent` (the
    /// transform of the placements above it). Every part shares the root's unit.
    fn place(
        &mut self,
        from: Option<&str>,
        placement: &Placement,
        parent: &Transform,
        depth: usize,
    ) -> Result<(), MeshError> {
        let parts = self.parts;
        let (_, from_entry) = parts.get(from).unwrap_or((&parts.root, &parts.root_path));
        let error = |message: String| MeshError::ThreeMf {
            entry: from_entry.to_string(),
            message: format!("byte {}: {message}", placement.position),
        };
        let object_id = placement.object;
        if depth > MAX_COMPONENT_DEPTH {
            return Err(error(format!(
                "components nest deeper than {MAX_COMPONENT_DEPTH} levels (a cycle through object {object_id}?)"
            )));
        }
        self.placements += 1;
        if self.placements > self.max_placements {
            return Err(error(format!(
                "components place more than {} objects",
                self.max_placements
            )));
        }
        let part = placement.part.as_deref().or(from);
        let (model, _) = parts
            .get(part)
            .ok_or_else(|| error(format!("model part `{}` is not loaded", part.unwrap_or(""))))?;
        let object = model.objects.get(&object_id).ok_or_else(|| match part {
            Some(path) if Some(path) != from => {
                error(format!("object {object_id} is not defined in `{path}`"))
            }
            _ => error(format!("object {object_id} is not defined")),
        })?;
        let transform = compose(&placement.transform, parent);
        let mirrored = determinant(&transform) < 0.0;
        for triangle in &object.triangles {
            let mut corners = triangle
                .map(|idx| apply(&transform, object.positions[idx as usize], parts.root.scale));
            if mirrored {
                corners.swap(1, 2);
            }
            self.sink.triangle(self.face, None, corners)?;
            self.face += 1;
        }
        for component in &object.components {
            self.place(part, component, &transform, depth + 1)?;
        }
        Ok(())
    }
}

fn parse_transform(text: &str) -> Option<Transform> {
    let mut out = [0.0f64; 12];
    let mut numbers = text.split_ascii_whitespace();
    for slot in &mut out {
        *slot = numbers
            .next()?
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())?;
    }
    numbers.next().is_none().then_some(out)
}

/// `p' = p * M` in the 3MF row-vector convention, then scaled to millimetres.
fn apply(m: &Transform, p: [f32; 3], scale: f64) -> [f32; 3] {
    let [x, y, z] = p.map(f64::from);
    [
        ((x * m[0] + y * m[3] + z * m[6] + m[9]) * scale) as f32,
        ((x * m[1] + y * m[4] + z * m[7] + m[10]) * scale) as f32,
        ((x * m[2] + y * m[5] + z * m[8] + m[11]) * scale) as f32,
    ]
}

/// The transform that applies `first`, then `second`.
fn compose(first: &Transform, second: &Transform) -> Transform {
    let mut out = [0.0; 12];
    for row in 0..4 {
        for col in 0..3 {
            let mut value = if row == 3 { second[9 + col] } else { 0.0 };
            for k in 0..3 {
                value += first[row * 3 + k] * second[k * 3 + col];
            }
            out[row * 3 + col] = value;
        }
    }
    out
}

fn determinant(m: &Transform) -> f64 {
    m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6])
        + m[2] * (m[3] * m[7] - m[4] * m[6])
}

fn printable_bytes(bytes: &[u8]) -> String {
    super::stl::printable(bytes)
}

fn printable_name(element: &BytesStart<'_>) -> String {
    printable_bytes(element.local_name().as_ref().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_applies_first_then_second() {
        let scale2: Transform = [2.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0];
        let shift: Transform = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 10.0, 0.0, 0.0];
        let combined = compose(&scale2, &shift);
        assert_eq!(apply(&combined, [1.0, 1.0, 1.0], 1.0), [12.0, 2.0, 2.0]);
        let combined = compose(&shift, &scale2);
        assert_eq!(apply(&combined, [1.0, 1.0, 1.0], 1.0), [22.0, 2.0, 2.0]);
    }
}
