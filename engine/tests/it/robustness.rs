//! No input makes the engine panic: random bytes, every truncation of the small fixtures and
//! random mutations of every fixture, each parsed and, when it parses, analysed. The seeds are
//! fixed so that a failure reproduces; the failing input is written to the temp folder.

use std::panic::{AssertUnwindSafe, catch_unwind};

use pricing_engine::mesh::{self, Format, Limits, LoadOptions};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::{fixture, repo_root};

const FIXTURES: &[&str] = &[
    "cube_10mm.stl",
    "box_with_void.stl",
    "uv_sphere_r10.stl",
    "torus_r20_r5.stl",
    "two_cubes_apart.stl",
    "open_box.stl",
    "inside_out_cube.stl",
    "non_manifold_edge.stl",
    "degenerate_faces.stl",
    "binary_header_says_solid.stl",
    "multi_solid_cr.stl",
    "quads_negative_indices.obj",
    "inch_cube_transform.3mf",
];

/// Small limits, so that a mutated count cannot make a test slow.
fn options() -> LoadOptions {
    LoadOptions {
        limits: Limits {
            max_input_bytes: 1 << 20,
            max_triangles: 100_000,
        },
        ..LoadOptions::default()
    }
}

/// Parses (and analyses) `bytes`; on a panic, saves the input and fails naming it.
fn survive(bytes: &[u8], what: &str) {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let parsed = mesh::parse(bytes, &options());
        if let Ok(mesh) = &parsed {
            let analysis = pricing_engine::analyze(mesh);
            assert!(
                analysis.area_mm2.is_finite() && analysis.volume_mm3.is_finite(),
                "non-finite figures"
            );
        }
        let _ = mesh::decode(bytes, &options());
        let quick = pricing_engine::analysis::quick_measure(bytes, &options());
        if let Ok((_, quick)) = &quick {
            assert!(
                quick.volume_mm3.is_finite() && quick.area_mm2.is_finite(),
                "non-finite quick figures"
            );
        }
        // The quick measure reads what the parser reads and refuses what it refuses, with the
        // same words.
        match (&parsed, &quick) {
            (Ok(_), Ok(_)) => {}
            (Err(parse), Err(quick)) => assert_eq!(parse.to_string(), quick.to_string()),
            (parse, quick) => panic!(
                "the parser and the quick measure disagree: {:?} against {:?}",
                parse.as_ref().err(),
                quick.as_ref().err()
            ),
        }
        let _ = mesh::parse_reader(bytes, bytes.len() as u64, &options());
    }));
    if outcome.is_err() {
        let path = std::env::temp_dir().join(format!(
            "pricing-engine-crash-{}.bin",
            what.replace(['/', ' '], "_")
        ));
        let _ = std::fs::write(&path, bytes);
        panic!(
            "the engine panicked on {what}; the input is saved in {}",
            path.display()
        );
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = StdRng::seed_from_u64(0x5EED_0001);
    let prefixes: [&[u8]; 6] = [
        b"",
        b"solid ",
        b"PK\x03\x04",
        b"v 1 2 3\nf ",
        b"solid x\nfacet normal 0 0 0\n",
        b"# obj\n",
    ];
    for case in 0..3000 {
        let len = rng.random_range(0..2048);
        let mut bytes: Vec<u8> = prefixes[case % prefixes.len()].to_vec();
        bytes.extend((0..len).map(|_| rng.random::<u8>()));
        survive(&bytes, &format!("random case {case}"));
    }
}

#[test]
fn every_truncation_of_the_small_fixtures_fails_cleanly() {
    for name in FIXTURES {
        let bytes = fixture(name);
        if bytes.len() > 16 * 1024 {
            continue;
        }
        for len in 0..bytes.len() {
            survive(&bytes[..len], &format!("{name} truncated to {len}"));
        }
        // A truncated binary STL is always an error, never a smaller mesh.
        if mesh::detect(&bytes) == Ok(Format::BinaryStl) {
            for len in [bytes.len() - 1, bytes.len() - 50, 84] {
                assert!(
                    mesh::parse(&bytes[..len], &options()).is_err(),
                    "{name} truncated to {len} parsed"
                );
            }
        }
    }
}

#[test]
fn random_mutations_of_every_fixture_never_panic() {
    let mut rng = StdRng::seed_from_u64(0x5EED_0002);
    let mut all: Vec<String> = FIXTURES.iter().map(|s| s.to_string()).collect();
    all.extend(corpus_files());
    for name in &all {
        let original = if name.contains('/') {
            std::fs::read(name).expect("corpus file")
        } else {
            fixture(name)
        };
        for case in 0..200 {
            let mut bytes = original.clone();
            for _ in 0..rng.random_range(1..8) {
                mutate(&mut bytes, &mut rng);
            }
            survive(&bytes, &format!("{name} mutation {case}"));
        }
    }
}

/// Replayed inputs from fuzzing (`fuzz/corpus`, when present) and the regression folder.
fn corpus_files() -> Vec<String> {
    let dir = repo_root().join("engine/tests/regressions");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path().display().to_string())
        .collect()
}

fn mutate(bytes: &mut Vec<u8>, rng: &mut StdRng) {
    if bytes.is_empty() {
        bytes.push(rng.random());
        return;
    }
    let at = rng.random_range(0..bytes.len());
    match rng.random_range(0..6) {
        0 => bytes[at] = rng.random(),
        1 => bytes[at] ^= 1 << rng.random_range(0..8),
        2 => {
            bytes.remove(at);
        }
        3 => bytes.insert(
            at,
            *b" \n\r\t-.e/0123456789"
                .get(rng.random_range(0..19))
                .unwrap_or(&b'0'),
        ),
        4 => {
            // Overwrite a run with an "interesting" 32-bit value (counts, indices, floats).
            let value: u32 = [
                0,
                1,
                u32::MAX,
                0x7FC0_0000,
                0x7F80_0000,
                0x8000_0000,
                0xFFFF,
            ][rng.random_range(0..7)];
            for (k, byte) in value.to_le_bytes().iter().enumerate() {
                if let Some(slot) = bytes.get_mut(at + k) {
                    *slot = *byte;
                }
            }
        }
        _ => {
            let end = (at + rng.random_range(1..64)).min(bytes.len());
            let run: Vec<u8> = bytes[at..end].to_vec();
            let to = rng.random_range(0..bytes.len());
            bytes.splice(to..to, run);
        }
    }
}

#[test]
fn limits_are_errors_not_allocations() {
    // A binary header declaring four billion triangles, in a file of 84 bytes.
    let mut huge = vec![b' '; 80];
    huge.extend_from_slice(&u32::MAX.to_le_bytes());
    let err = mesh::parse(&huge, &LoadOptions::default()).expect_err("must fail");
    assert_eq!(err.kind(), "stl_truncated", "{err}");

    let cube = fixture("cube_10mm.stl");
    let tight = LoadOptions {
        limits: Limits {
            max_input_bytes: 1 << 20,
            max_triangles: 11,
        },
        ..LoadOptions::default()
    };
    let err = mesh::parse(&cube, &tight).expect_err("12 triangles over a limit of 11");
    assert_eq!(
        err.to_string(),
        "the model has more than 11 triangles, the configured limit"
    );
    let err = mesh::parse_reader(&cube[..], cube.len() as u64, &tight).expect_err("streamed too");
    assert_eq!(err.kind(), "too_many_triangles");

    let small = LoadOptions {
        limits: Limits {
            max_input_bytes: 100,
            max_triangles: 100,
        },
        ..LoadOptions::default()
    };
    let err = mesh::parse(&cube, &small).expect_err("684 bytes over a limit of 100");
    assert_eq!(
        err.to_string(),
        "the input is 684 bytes, above the limit of 100 bytes"
    );
}

/// A large binary STL is streamed: read and decoded on the caller's thread, welded on a
/// second one. Its errors must be those of parsing it from memory, wherever they fall, and a
/// reader that ends early is a truncated file.
#[test]
fn streaming_a_large_file_fails_as_parsing_it_does() {
    // 100 000 triangles: several chunks, so the second thread runs.
    let mesh = super::gridded_box([40.0, 30.0, 20.0], 90);
    assert!(
        mesh.triangles().len() > 90_000,
        "{}",
        mesh.triangles().len()
    );
    let soup: Vec<_> = (0..mesh.triangles().len())
        .map(|k| mesh.corners(k))
        .collect();
    let bytes = super::stl_bytes(&soup);
    let streamed =
        |bytes: &[u8], len: usize| mesh::parse_reader(bytes, len as u64, &LoadOptions::default());

    let whole = streamed(&bytes, bytes.len()).expect("streams");
    assert_eq!(whole.triangles(), mesh.triangles());
    assert_eq!(whole.positions(), mesh.positions());

    for face in [0, 8191, 8192, 50_000, soup.len() - 1] {
        let mut bad = bytes.clone();
        let at = 84 + 50 * face + 12 + 4 * 4;
        bad[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
        let from_memory = mesh::parse(&bad, &LoadOptions::default()).expect_err("NaN");
        let err = streamed(&bad, bad.len()).expect_err("NaN streamed");
        assert_eq!(err.to_string(), from_memory.to_string(), "face {face}");
        assert!(err.to_string().contains(&format!("face {face}")), "{err}");
    }

    for cut in [84 + 50 * 20_000 + 7, bytes.len() - 1] {
        let err = streamed(&bytes[..cut], bytes.len()).expect_err("ends early");
        assert_eq!(err.kind(), "stl_truncated", "{err}");
    }
}
