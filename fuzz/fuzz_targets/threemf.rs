//! 3MF: the fuzz input is the model XML, stored in a valid zip archive, so every input reaches
//! the XML reader (raw archives are covered by the `any` target).
#![no_main]
#[path = "common.rs"]
mod common;

use std::io::Write;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    if zip.start_file("3D/3dmodel.model", options).is_err() || zip.write_all(data).is_err() {
        return;
    }
    if let Ok(archive) = zip.finish() {
        common::exercise(&archive.into_inner());
    }
});
