//! Binary STL records: the fuzz input becomes the records of a file whose header count
//! matches its length, so every input reaches the binary reader.
#![no_main]
#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let records = data.len() / 50;
    let mut bytes = vec![b' '; 80];
    bytes.extend_from_slice(&(records as u32).to_le_bytes());
    bytes.extend_from_slice(&data[..records * 50]);
    common::exercise(&bytes);
});
