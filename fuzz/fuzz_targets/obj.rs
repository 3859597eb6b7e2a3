//! OBJ: the fuzz input follows a vertex statement, so every input reaches the OBJ reader.
#![no_main]
#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut bytes = b"v 0 0 0\n".to_vec();
    bytes.extend_from_slice(data);
    common::exercise(&bytes);
});
