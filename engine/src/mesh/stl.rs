//! STL, binary and ASCII.
//!
//! Binary STL is an 80-byte header, a little-endian `u32` triangle count and 50 bytes per
//! triangle (normal, three corners, attribute word). The length of the file decides whether a
//! file is binary: many exporters (SolidWorks among them) begin the binary header with `solid`,
//! so the first word proves nothing.
//!
//! ASCII STL is a sequence of `solid NAME ... endsolid NAME` blocks of
//! `facet normal nx ny nz / outer loop / vertex x y z (x3) / endloop / endfacet`. Keywords are
//! matched in any letter case, any whitespace separates tokens, and LF, CRLF and bare CR all end
//! a line. Stored normals are ignored (they are often wrong, or `nan` on degenerate faces): the
//! analysis derives orientation from the corner order.

use super::weld::{Checked, TriangleSink};
use super::{Format, MeshError, Triangle};

pub(crate) const HEADER_BYTES: usize = 84;
pub(crate) const RECORD_BYTES: usize = 50;

/// The number of triangles a binary STL header declares, when the input is long enough to hold
/// a header.
pub(crate) fn declared_count(bytes: &[u8]) -> Option<u64> {
    let count = bytes.get(80..84)?;
    Some(u64::from(u32::from_le_bytes([
        count[0], count[1], count[2], count[3],
    ])))
}

/// The byte length of a binary STL declaring `count` triangles.
pub(crate) fn binary_len(count: u64) -> u64 {
    HEADER_BYTES as u64 + RECORD_BYTES as u64 * count
}

/// True when the length of `bytes` is exactly what its binary header declares.
pub(crate) fn is_exact_binary(bytes: &[u8]) -> bool {
    declared_count(bytes).is_some_and(|count| binary_len(count) == bytes.len() as u64)
}

/// The error for an input that is read as binary STL but whose length disagrees with its count.
pub(crate) fn length_error(declared: u64, actual_bytes: u64) -> MeshError {
    let expected_bytes = binary_len(declared);
    if actual_bytes < expected_bytes {
        MeshError::StlTruncated {
            declared,
            expected_bytes,
            actual_bytes,
        }
    } else {
        MeshError::StlCountMismatch {
            declared,
            expected_bytes,
            actual_bytes,
        }
    }
}

/// Decodes whole 50-byte records; `first_face` is the number of the first record in the file.
pub(crate) fn parse_binary_records<S: TriangleSink>(
    records: &[u8],
    first_face: u64,
    sink: &mut Checked<'_, S>,
) -> Result<(), MeshError> {
    for (offset, record) in records.chunks_exact(RECORD_BYTES).enumerate() {
        sink.triangle(first_face + offset as u64, None, decode_record(record))?;
    }
    Ok(())
}

/// The three corners of one 50-byte record (the stored normal is skipped).
#[inline]
pub(crate) fn decode_record(record: &[u8]) -> Triangle {
    // One bounds check for the nine corners, then plain 4-byte loads.
    let corners: &[u8; 36] = record[12..48].try_into().expect("a 50-byte record");
    let f = |at: usize| {
        f32::from_le_bytes([
            corners[at],
            corners[at + 1],
            corners[at + 2],
            corners[at + 3],
        ])
    };
    [
        [f(0), f(4), f(8)],
        [f(12), f(16), f(20)],
        [f(24), f(28), f(32)],
    ]
}

/// Parses a binary STL whose length has been checked against its header.
pub(crate) fn parse_binary<S: TriangleSink>(
    bytes: &[u8],
    sink: &mut Checked<'_, S>,
) -> Result<(), MeshError> {
    parse_binary_records(&bytes[HEADER_BYTES..], 0, sink)
}

/// Splits bytes into whitespace-separated tokens and counts lines as it goes.
pub(crate) struct Tokens<'a> {
    bytes: &'a [u8],
    at: usize,
    /// The line being scanned (1-based).
    scan_line: u64,
    /// The line of the last token returned: where an error is reported, even at the end of the
    /// input.
    pub(crate) line: u64,
}

impl<'a> Tokens<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Tokens<'a> {
        Tokens {
            bytes,
            at: 0,
            scan_line: 1,
            line: 1,
        }
    }

    fn skip_space(&mut self) {
        while let Some(&byte) = self.bytes.get(self.at) {
            match byte {
                b'\n' => self.scan_line += 1,
                // A bare CR ends a line; the CR of a CRLF pair does not count twice.
                b'\r' if self.bytes.get(self.at + 1) != Some(&b'\n') => self.scan_line += 1,
                // NUL counts as space: some exporters pad the file after `endsolid`.
                b'\r' | b' ' | b'\t' | 0x0B | 0x0C | 0 => {}
                _ => return,
            }
            self.at += 1;
        }
    }

    pub(crate) fn next_token(&mut self) -> Option<&'a [u8]> {
        self.skip_space();
        let start = self.at;
        while let Some(&byte) = self.bytes.get(self.at) {
            if byte.is_ascii_whitespace() || byte == 0x0B || byte == 0 {
                break;
            }
            self.at += 1;
        }
        if self.at == start {
            return None;
        }
        self.line = self.scan_line;
        Some(&self.bytes[start..self.at])
    }

    /// Skips the rest of the current line (a solid's name) and returns it.
    pub(crate) fn rest_of_line(&mut self) -> &'a [u8] {
        let start = self.at;
        while let Some(&byte) = self.bytes.get(self.at) {
            if byte == b'\n' || byte == b'\r' {
                break;
            }
            self.at += 1;
        }
        &self.bytes[start..self.at]
    }
}

/// True when the text, after leading whitespace (and a UTF-8 byte order mark), begins with the
/// keyword `solid` in any case.
pub(crate) fn starts_like_ascii(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let word = &bytes[start..];
    word.len() >= 5
        && word[..5].eq_ignore_ascii_case(b"solid")
        && word.get(5).is_none_or(|b| b.is_ascii_whitespace())
}

struct AsciiParser<'a> {
    tokens: Tokens<'a>,
}

impl<'a> AsciiParser<'a> {
    fn error(&self, message: String) -> MeshError {
        MeshError::Syntax {
            format: Format::AsciiStl,
            line: self.tokens.line,
            message,
        }
    }

    fn expect(&mut self, keyword: &str, context: &str) -> Result<(), MeshError> {
        match self.tokens.next_token() {
            Some(token) if token.eq_ignore_ascii_case(keyword.as_bytes()) => Ok(()),
            Some(token) => Err(self.error(format!(
                "expected `{keyword}` {context}, found `{}`",
                printable(token)
            ))),
            None => Err(self.error(format!(
                "the file ends where `{keyword}` was expected {context}"
            ))),
        }
    }

    fn number(&mut self, what: &str) -> Result<f32, MeshError> {
        match self.tokens.next_token() {
            Some(token) => parse_f32(token).ok_or_else(|| {
                self.error(format!(
                    "expected a number for {what}, found `{}`",
                    printable(token)
                ))
            }),
            None => Err(self.error(format!(
                "the file ends where a number for {what} was expected"
            ))),
        }
    }

    fn run<S: TriangleSink>(&mut self, sink: &mut Checked<'_, S>) -> Result<(), MeshError> {
        let mut face = 0u64;
        let mut n_solids = 0u64;
        loop {
            match self.tokens.next_token() {
                None if n_solids > 0 => return Ok(()),
                None => return Err(self.error("the file ends before `solid`".to_string())),
                Some(token) if token.eq_ignore_ascii_case(b"solid") => {
                    n_solids += 1;
                    self.tokens.rest_of_line();
                }
                Some(token) => {
                    return Err(
                        self.error(format!("expected `solid`, found `{}`", printable(token)))
                    );
                }
            }
            // Facets until `endsolid`.
            loop {
                let token = match self.tokens.next_token() {
                    Some(token) => token,
                    None => {
                        return Err(self.error(format!(
                            "the file ends inside solid {n_solids}: `endsolid` is missing"
                        )));
                    }
                };
                if token.eq_ignore_ascii_case(b"endsolid") {
                    self.tokens.rest_of_line();
                    break;
                }
                if !token.eq_ignore_ascii_case(b"facet") {
                    return Err(self.error(format!(
                        "expected `facet` or `endsolid`, found `{}`",
                        printable(token)
                    )));
                }
                let line = self.tokens.line;
                self.expect("normal", "after `facet`")?;
                // The normal is ignored, so any three tokens will do: exporters write `nan`,
                // `-nan` or Windows' `1.#QNAN0` on degenerate faces.
                for _ in 0..3 {
                    if self.tokens.next_token().is_none() {
                        return Err(self.error("the file ends inside a facet normal".to_string()));
                    }
                }
                self.expect("outer", "to open the facet's loop")?;
                self.expect("loop", "after `outer`")?;
                let mut corners: Triangle = [[0.0; 3]; 3];
                for corner in &mut corners {
                    self.expect("vertex", "in the facet's loop")?;
                    for value in corner.iter_mut() {
                        *value = self.number("a vertex coordinate")?;
                    }
                }
                // A loop with more than three vertices is a polygon: fan-triangulate it.
                let mut polygon_tail = Vec::new();
                loop {
                    match self.tokens.next_token() {
                        Some(token) if token.eq_ignore_ascii_case(b"endloop") => break,
                        Some(token) if token.eq_ignore_ascii_case(b"vertex") => {
                            let mut corner = [0.0f32; 3];
                            for value in &mut corner {
                                *value = self.number("a vertex coordinate")?;
                            }
                            polygon_tail.push(corner);
                        }
                        Some(token) => {
                            return Err(self.error(format!(
                                "expected `endloop` after the facet's vertices, found `{}`",
                                printable(token)
                            )));
                        }
                        None => return Err(self.error("the file ends inside a facet".to_string())),
                    }
                }
                self.expect("endfacet", "after `endloop`")?;
                sink.triangle(face, Some(line), corners)?;
                face += 1;
                let mut previous = corners[2];
                for corner in polygon_tail {
                    sink.triangle(face, Some(line), [corners[0], previous, corner])?;
                    previous = corner;
                    face += 1;
                }
            }
        }
    }
}

/// Parses an ASCII STL with any number of solids.
pub(crate) fn parse_ascii<S: TriangleSink>(
    bytes: &[u8],
    sink: &mut Checked<'_, S>,
) -> Result<(), MeshError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    AsciiParser {
        tokens: Tokens::new(bytes),
    }
    .run(sink)
}

/// Parses a decimal number (`1`, `-2.5`, `1e-3`, `+.5E+2`, `inf`, `nan`) the way C's `strtof`
/// would, correctly rounded to `f32`.
pub(crate) fn parse_f32(token: &[u8]) -> Option<f32> {
    plain_f32(token).or_else(|| std::str::from_utf8(token).ok()?.parse::<f32>().ok())
}

/// The powers of ten that `f32` holds exactly.
const EXACT_POWERS_OF_TEN: [f32; 11] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10];

/// The common case of an exporter's numbers, without the library's general parser: `[+-]`
/// digits with at most one point, fewer than 2^24 as an integer of all their digits and at most
/// ten after the point. Both that integer and the power of ten are exact in `f32`, so one
/// division rounds the quotient correctly (Clinger's fast path), the same `f32` as the library
/// gives. `None` for anything else.
fn plain_f32(token: &[u8]) -> Option<f32> {
    let (negative, digits) = match token.first()? {
        b'-' => (true, &token[1..]),
        b'+' => (false, &token[1..]),
        _ => (false, token),
    };
    let (mut mantissa, mut decimals, mut any_digit, mut point) = (0u32, 0usize, false, false);
    for &byte in digits {
        match byte {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u32::from(byte - b'0');
                if mantissa >= 1 << 24 {
                    return None;
                }
                any_digit = true;
                decimals += usize::from(point);
            }
            b'.' if !point => point = true,
            _ => return None,
        }
    }
    if !any_digit {
        return None;
    }
    let value = mantissa as f32 / *EXACT_POWERS_OF_TEN.get(decimals)?;
    Some(if negative { -value } else { value })
}

/// A token shortened for an error message, with non-printable bytes escaped.
pub(crate) fn printable(token: &[u8]) -> String {
    const MAX: usize = 40;
    let text: String = token
        .iter()
        .take(MAX)
        .flat_map(|b| std::ascii::escape_default(*b))
        .map(char::from)
        .collect();
    if token.len() > MAX {
        format!("{text}...")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::parse_f32;

    /// The fast path gives the library's `f32` for every plain decimal, and leaves the rest
    /// to it.
    #[test]
    fn plain_decimals_parse_as_the_library_parses_them() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..200_000 {
            let digits = (next() % 12 + 1) as usize;
            let mut text: String = (0..digits)
                .map(|_| char::from(b'0' + (next() % 10) as u8))
                .collect();
            if next() % 4 != 0 {
                let at = (next() as usize) % (digits + 1);
                text.insert(at, '.');
            }
            match next() % 3 {
                0 => text.insert(0, '-'),
                1 => text.insert(0, '+'),
                _ => {}
            }
            let ours = parse_f32(text.as_bytes());
            let library = text.parse::<f32>().ok();
            assert_eq!(ours.map(f32::to_bits), library.map(f32::to_bits), "{text}");
        }
        for text in [
            "", "-", ".", "+.", "1..2", "1.2.3", "1e3", "-.5", "5.", "inf", "nan", "0x10", "1_0",
        ] {
            assert_eq!(
                parse_f32(text.as_bytes()).map(f32::to_bits),
                text.parse::<f32>().ok().map(f32::to_bits),
                "{text:?}"
            );
        }
    }
}
