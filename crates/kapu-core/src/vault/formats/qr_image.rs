//! Pictures of QR codes (a screenshot of a portal's enrolment page, a photo of a printed
//! code): PNG or JPEG, decoded on the server. Each code found is read as the text it holds
//! (`otpauth://` or `otpauth-migration://`). A picture chooses its own cost (its pixels), so
//! it is charged before decoding: past a pixel budget it is refused, its decoded memory is
//! held from the readers' common gate, and what the code finder sees is scaled down to a
//! size it reads in well under a second (an enrolment code stays readable at that size).

use std::io::Cursor;

use image::{ImageReader, Limits};

use super::FileError;
use super::budget::{self, Budget};

/// A picture larger than this is not a screenshot of a code.
const MAX_SIDE: u32 = 6000;
/// Pixels a picture may have at all (a phone's photo has about 12 million).
const MAX_PIXELS: u64 = 16_000_000;
const MAX_DECODED_BYTES: u64 = 96 * 1024 * 1024;
/// The code finder's time grows with the pixels (and with noise): it sees at most this
/// long a side.
const SEARCH_SIDE: u32 = 1200;

pub fn is_image(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG\r\n\x1a\n") || bytes.starts_with(&[0xff, 0xd8, 0xff])
}

fn reader(bytes: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>, FileError> {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| FileError("vault.import_truncated"))?;
    reader.limits(limits);
    Ok(reader)
}

fn decoding(e: image::ImageError) -> FileError {
    match e {
        image::ImageError::Limits(_) => FileError("vault.import_image_too_large"),
        _ => FileError("vault.import_truncated"),
    }
}

/// The texts of every QR code in the picture.
pub fn texts(bytes: &[u8], budget: &Budget) -> Result<Vec<String>, FileError> {
    budget.check()?;
    let (w, h) = reader(bytes)?.into_dimensions().map_err(decoding)?;
    let pixels = u64::from(w) * u64::from(h);
    if pixels > MAX_PIXELS {
        return Err(FileError("vault.import_image_too_large"));
    }
    // The decoded picture (up to four bytes a pixel) and its grey copy.
    let held = budget::hold(budget, pixels * 5)?;
    let grey = reader(bytes)?.decode().map_err(decoding)?.to_luma8();
    budget.check()?;
    let long = w.max(h);
    let grey = if long > SEARCH_SIDE {
        let scale = |side: u32| (u64::from(side) * u64::from(SEARCH_SIDE) / u64::from(long)).max(1);
        image::imageops::resize(
            &grey,
            scale(w) as u32,
            scale(h) as u32,
            image::imageops::FilterType::Triangle,
        )
    } else {
        grey
    };
    budget.check()?;
    let (w, h) = (grey.width() as usize, grey.height() as usize);
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        grey.get_pixel(x as u32, y as u32).0[0]
    });
    let grids = prepared.detect_grids();
    drop(held);
    let texts: Vec<String> = grids
        .into_iter()
        .take(64)
        .filter_map(|g| g.decode().ok().map(|(_, text)| text))
        .collect();
    if texts.is_empty() {
        return Err(FileError("vault.import_no_qr"));
    }
    Ok(texts)
}
