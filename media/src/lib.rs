//! provlog media handling shared by the CLI and the log server: bounded
//! image decoding and the perceptual hash used as a soft binding.
//!
//! Image decoders are a classic attack surface (decompression bombs: a
//! 100-byte PNG can declare 65,535 x 65,535 pixels), so every decode here
//! goes through [`decode_image`], which checks the encoded size, reads the
//! header and checks the dimensions and pixel count *before* any pixel
//! buffer is allocated, and gives the decoder an allocation limit as well.
//!
//! [`perceptual_hash`] is the soft-binding fingerprint: the algorithm named
//! [`PHASH_ALG`], a 64-bit DCT hash (see `spec/claim.md` §3.3 for the exact
//! definition). Two images are "near" when the Hamming distance of their
//! hashes is small ([`hamming`]).

use std::io::Cursor;

use image::{DynamicImage, ImageReader, Limits};
use image_hasher::{FilterType, HashAlg, HasherConfig};

/// Largest encoded image accepted, in bytes.
pub const MAX_IMAGE_BYTES: usize = 32 * 1024 * 1024;
/// Largest width or height accepted, in pixels.
pub const MAX_DIMENSION: u32 = 16_384;
/// Most pixels accepted (width x height): 64 megapixels.
pub const MAX_PIXELS: u64 = 64 * 1024 * 1024;
/// Most memory the decoder may allocate, in bytes (64 MP of RGBA8 plus slack).
pub const MAX_DECODE_ALLOC: u64 = MAX_PIXELS * 4 + 64 * 1024 * 1024;

/// Name of the perceptual-hash soft-binding algorithm, as recorded in a
/// claim's soft binding `alg` and served by `/services/supportedAlgorithms`.
pub const PHASH_ALG: &str = "org.provlog.dhash.double-gradient-8x8.v1";

/// Why an image could not be decoded or hashed.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The encoded image is larger than [`MAX_IMAGE_BYTES`].
    #[error("the image is {size} bytes, over the {max}-byte limit")]
    TooLarge {
        /// Encoded size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The image declares more pixels than allowed (checked before decoding).
    #[error(
        "the image declares {width} x {height} pixels, over the limit of {MAX_DIMENSION} per side \
         and {MAX_PIXELS} in all"
    )]
    TooManyPixels {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
    },
    /// Not an image format this build decodes (JPEG, PNG, WebP, GIF).
    #[error("not a supported image (JPEG, PNG, WebP or GIF)")]
    Unsupported,
    /// The decoder refused the data.
    #[error("cannot decode the image: {0}")]
    Decode(String),
}

/// Whether the bytes start like an image this crate decodes.
pub fn is_supported_image(head: &[u8]) -> bool {
    matches!(
        image::guess_format(head),
        Ok(image::ImageFormat::Jpeg
            | image::ImageFormat::Png
            | image::ImageFormat::WebP
            | image::ImageFormat::Gif)
    )
}

fn reader(bytes: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>, MediaError> {
    if !is_supported_image(bytes) {
        return Err(MediaError::Unsupported);
    }
    ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| MediaError::Decode(e.to_string()))
}

fn limited_reader(bytes: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>, MediaError> {
    let mut r = reader(bytes)?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    r.limits(limits);
    Ok(r)
}

/// Decodes an image within the limits above.
///
/// Cost: the header is parsed first and the declared dimensions are checked
/// against [`MAX_DIMENSION`] and [`MAX_PIXELS`] before the pixel data is
/// decoded, so a decompression bomb is refused after reading its header.
/// Memory is at most about 4 bytes per pixel of an accepted image.
pub fn decode_image(bytes: &[u8]) -> Result<DynamicImage, MediaError> {
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(MediaError::TooLarge {
            size: bytes.len(),
            max: MAX_IMAGE_BYTES,
        });
    }
    // Reading the header allocates no pixel buffer.
    let (width, height) = reader(bytes)?
        .into_dimensions()
        .map_err(|e| MediaError::Decode(e.to_string()))?;
    if width > MAX_DIMENSION
        || height > MAX_DIMENSION
        || u64::from(width) * u64::from(height) > MAX_PIXELS
    {
        return Err(MediaError::TooManyPixels { width, height });
    }
    limited_reader(bytes)?
        .decode()
        .map_err(|e| MediaError::Decode(e.to_string()))
}

/// The perceptual hash of a decoded image ([`PHASH_ALG`]), as a 64-bit
/// integer whose big-endian bytes are the soft-binding value.
///
/// Definition (image_hasher 3.1, `HashAlg::DoubleGradient`, hash size
/// 8 x 8, Lanczos3): the image (first scaled with a triangle filter to fit
/// 512 x 512 when larger) is converted to 8-bit luma and resized to 5 x 5
/// pixels with a Lanczos3 filter; each of the 20 pairs of horizontally
/// adjacent pixels (row-major), then each of the 20 vertically adjacent
/// pairs (column-major), gives one bit, 1 when the second pixel is brighter
/// than the first; the 40 bits are packed least significant bit first into
/// 5 bytes, followed by 3 zero bytes. The measurements that chose it over
/// gradient, DCT, median and block hashes are in BENCHMARKS.md.
pub fn perceptual_hash(img: &DynamicImage) -> u64 {
    let hasher = HasherConfig::with_bytes_type::<[u8; 8]>()
        .hash_size(8, 8)
        .hash_alg(HashAlg::DoubleGradient)
        .resize_filter(FilterType::Lanczos3)
        .to_hasher();
    // Resizing a large photograph straight to 16 x 16 with Lanczos3 costs
    // O(pixels) anyway; a cheap box pre-scale bounds the work for huge images
    // without changing the result measurably (the DCT keeps only the lowest
    // frequencies).
    let small;
    let img = if img.width() > 512 || img.height() > 512 {
        small = img.resize(512, 512, image::imageops::FilterType::Triangle);
        &small
    } else {
        img
    };
    let hash = hasher.hash_image(img);
    let mut b = [0u8; 8];
    b.copy_from_slice(&hash.as_bytes()[..8]);
    u64::from_be_bytes(b)
}

/// Decodes (bounded) and hashes an encoded image.
pub fn perceptual_hash_of(bytes: &[u8]) -> Result<u64, MediaError> {
    Ok(perceptual_hash(&decode_image(bytes)?))
}

/// Hamming distance of two 64-bit hashes.
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

/// The soft-binding value bytes of a hash (big-endian, 8 bytes).
pub fn phash_value(hash: u64) -> [u8; 8] {
    hash.to_be_bytes()
}

/// The hash from a soft-binding value, if it is 8 bytes.
pub fn phash_from_value(value: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(value).ok().map(u64::from_be_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([
                (x * 7 % 256) as u8,
                (y * 3 % 256) as u8,
                ((x + y) % 256) as u8,
            ])
        });
        let mut out = Vec::new();
        DynamicImage::ImageRgb8(img)
            .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .expect("encode");
        out
    }

    #[test]
    fn hashes_a_png_and_is_deterministic() {
        let bytes = png(200, 150);
        let a = perceptual_hash_of(&bytes).expect("hash");
        let b = perceptual_hash_of(&bytes).expect("hash");
        assert_eq!(a, b);
        assert_eq!(phash_from_value(&phash_value(a)), Some(a));
    }

    #[test]
    fn refuses_non_images() {
        assert!(matches!(
            perceptual_hash_of(b"not an image at all"),
            Err(MediaError::Unsupported)
        ));
    }

    /// A PNG whose header declares 60,000 x 60,000 pixels (a decompression
    /// bomb: 14 GB of RGBA) is refused from its header, before decoding.
    #[test]
    fn refuses_a_decompression_bomb_from_its_header() {
        for (w, h) in [(60_000u32, 60_000u32), (16_000, 16_000), (16_385, 1)] {
            let mut bytes = png(8, 8);
            // IHDR: length at 8..12, type at 12..16, width 16..20, height
            // 20..24, CRC (over type and data) at 29..33.
            bytes[16..20].copy_from_slice(&w.to_be_bytes());
            bytes[20..24].copy_from_slice(&h.to_be_bytes());
            let crc = crc32fast::hash(&bytes[12..29]);
            bytes[29..33].copy_from_slice(&crc.to_be_bytes());
            let err = decode_image(&bytes).expect_err("must refuse");
            assert!(
                matches!(err, MediaError::TooManyPixels { .. }),
                "{w}x{h}: {err}"
            );
        }
    }

    #[test]
    fn refuses_oversized_input_before_parsing() {
        let bytes = vec![0u8; MAX_IMAGE_BYTES + 1];
        assert!(matches!(
            decode_image(&bytes),
            Err(MediaError::TooLarge { .. })
        ));
    }
}
