//! ASCII STL: the fuzz input follows `solid `, so every input reaches the ASCII reader.
#![no_main]
#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut bytes = b"solid fuzz\n".to_vec();
    bytes.extend_from_slice(data);
    common::exercise(&bytes);
});
