//! Pictures of QR codes (a screenshot of a portal's enrolment page, a photo of a printed
//! code): PNG or JPEG, decoded on the server. Each code found is read as the text it holds
//! (`otpauth://` or `otpauth-migration://`).

use std::io::Cursor;

use image::{ImageReader, Limits};

use super::FileError;

/// A picture larger than this is not a screenshot of a code.
const MAX_SIDE: u32 = 6000;
const MAX_DECODED_BYTES: u64 = 96 * 1024 * 1024;

pub fn is_image(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG\r\n\x1a\n") || bytes.starts_with(&[0xff, 0xd8, 0xff])
}

/// The texts of every QR code in the picture.
pub fn texts(bytes: &[u8]) -> Result<Vec<String>, FileError> {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| FileError("vault.import_truncated"))?;
    reader.limits(limits);
    let picture = reader
        .decode()
        .map_err(|e| match e {
            image::ImageError::Limits(_) => FileError("vault.import_image_too_large"),
            _ => FileError("vault.import_truncated"),
        })?
        .to_luma8();
    let (w, h) = (picture.width() as usize, picture.height() as usize);
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        picture.get_pixel(x as u32, y as u32).0[0]
    });
    let texts: Vec<String> = prepared
        .detect_grids()
        .into_iter()
        .filter_map(|g| g.decode().ok().map(|(_, text)| text))
        .collect();
    if texts.is_empty() {
        return Err(FileError("vault.import_no_qr"));
    }
    Ok(texts)
}
