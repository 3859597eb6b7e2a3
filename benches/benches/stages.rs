//! Criterion benches for each stage of the engine (parse, quick measure, weld, analyse, slice,
//! orientation candidates, thin walls),
//! on a generated 200k-triangle UV sphere (as binary and ASCII STL) and on the OBJ and 3MF
//! fixtures.
//!
//! `cargo bench -p pricing-bench --bench stages`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pricing_bench::generate::{Revolution, ascii_stl, binary_stl};
use pricing_engine::analysis::{analyze, quick_measure};
use pricing_engine::mesh::{self, LoadOptions};

fn stages(c: &mut Criterion) {
    let sphere = Revolution::uv_sphere(50.0, 448, 224).triangles();
    let binary = binary_stl("bench sphere", &sphere);
    let ascii = ascii_stl(&[("bench", sphere.clone())], "\n");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/models");
    let obj = std::fs::read(root.join("quads_negative_indices.obj")).expect("fixture");
    let threemf = std::fs::read(root.join("inch_cube_transform.3mf")).expect("fixture");
    let options = LoadOptions::default();

    let mut group = c.benchmark_group("parse");
    for (name, bytes) in [
        ("binary_stl_200k", &binary),
        ("ascii_stl_200k", &ascii),
        ("obj_cube", &obj),
        ("3mf_cube", &threemf),
    ] {
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| mesh::decode(bytes, &options).expect("parses"))
        });
    }
    group.finish();

    let (format, soup) = mesh::decode(&binary, &options).expect("parses");
    let welded = soup.weld(format).expect("welds");
    let mut group = c.benchmark_group("stages_200k");
    group.throughput(Throughput::Elements(sphere.len() as u64));
    group.bench_function("quick_measure", |b| {
        b.iter(|| quick_measure(&binary, &options).expect("measures"))
    });
    group.bench_function("weld", |b| b.iter(|| soup.weld(format).expect("welds")));
    group.bench_function("analyse", |b| b.iter(|| analyze(&welded)));
    // A 100 mm tall sphere in 0.2 mm layers: 500 cuts.
    let plan = pricing_engine::slicing::LayerPlan::new(0.2, 0.2).expect("valid heights");
    group.bench_function("slice_0.2mm", |b| {
        b.iter(|| pricing_engine::slicing::slice(&welded, &plan))
    });
    group.bench_function("orientation_candidates", |b| {
        b.iter(|| pricing_engine::orientation::candidates(&welded))
    });
    // One ray per face through a BVH built each time.
    group.bench_function("thin_walls_0.8mm", |b| {
        b.iter(|| pricing_engine::manufacturability::thin_walls(&welded, 0.8))
    });
    group.bench_function("parse_streamed_and_analyse", |b| {
        b.iter(|| {
            analyze(
                &mesh::parse_reader(&binary[..], binary.len() as u64, &options).expect("parses"),
            )
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = stages
}
criterion_main!(benches);
