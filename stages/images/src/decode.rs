//! Reading one image file into packed 8-bit RGB, the way PIL's `Image.open(p).convert('RGB')`
//! does: grey is replicated, alpha is dropped (not blended), EXIF orientation is ignored.

use std::io::Cursor;
use std::path::Path;

use image::{ImageFormat, ImageReader};

/// A decoded image: `width * height * 3` bytes, RGB, row-major.
pub struct Rgb {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

/// Reads and decodes `file`. The error says what is wrong, without the path (the caller adds it).
pub fn decode_rgb(file: &Path) -> Result<Rgb, String> {
    let bytes = std::fs::read(file).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "missing: no such file".to_string(),
        _ => format!("cannot read: {e}"),
    })?;
    let format = image::guess_format(&bytes)
        .map_err(|_| "not a JPEG or PNG file (unrecognised header)".to_string())?;
    match format {
        ImageFormat::Jpeg => check_jpeg_complete(&bytes)?,
        ImageFormat::Png => {}
        other => return Err(format!("is {other:?}, but only JPEG and PNG are read")),
    }
    let mut reader = ImageReader::new(Cursor::new(&bytes));
    reader.set_format(format);
    let decoded = reader
        .decode()
        .map_err(|e| format!("corrupt or truncated {format:?}: {e}"))?;
    let rgb = decoded.into_rgb8();
    let (width, height) = rgb.dimensions();
    Ok(Rgb {
        width,
        height,
        pixels: rgb.into_raw(),
    })
}

/// The JPEG decoder errors on some cut-off files but decodes others without complaint (a 64x48
/// JPEG cut to 3/4 of its bytes, or missing only its last 2, comes back as an image); PIL refuses
/// them ("image file is truncated"). A complete JPEG ends with the EOI marker `FF D9`, possibly
/// followed by a little padding, so its absence from the tail means the file was cut.
fn check_jpeg_complete(bytes: &[u8]) -> Result<(), String> {
    const TAIL: usize = 4096;
    let tail = &bytes[bytes.len().saturating_sub(TAIL)..];
    if tail.windows(2).any(|pair| pair == [0xFF, 0xD9]) {
        Ok(())
    } else {
        Err(format!(
            "truncated JPEG: no end-of-image marker ({} bytes); download or copy it again",
            bytes.len()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jpeg_without_end_marker_is_truncated() {
        let cut = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 1, 2, 3];
        assert!(check_jpeg_complete(&cut).unwrap_err().contains("truncated"));
        assert!(check_jpeg_complete(&[0xFF, 0xD8, 9, 0xFF, 0xD9]).is_ok());
    }

    #[test]
    fn unknown_and_missing_files_say_why() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("x.jpg");
        std::fs::write(&text, b"hello, not an image").unwrap();
        assert!(
            decode_rgb(&text)
                .err()
                .unwrap()
                .contains("not a JPEG or PNG")
        );
        assert!(
            decode_rgb(&dir.path().join("gone.jpg"))
                .err()
                .unwrap()
                .contains("missing")
        );
    }
}
