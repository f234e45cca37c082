//! Pixel decoding: JPEG (with reduced-size DCT decoding), PNG and TIFF.

use std::io::Cursor;

use crate::sniff;
use crate::MediaError;

/// Largest image (in pixels) this crate decodes; larger ones are refused
/// with [`MediaError::TooLarge`] rather than exhausting memory.
pub const MAX_PIXELS: u64 = 200_000_000;

/// An 8-bit RGB image, row-major, `width * height * 3` bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct RgbImage {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

impl std::fmt::Debug for RgbImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RgbImage({}x{})", self.width, self.height)
    }
}

impl RgbImage {
    /// A black image.
    pub fn new(width: u32, height: u32) -> RgbImage {
        RgbImage {
            width,
            height,
            pixels: vec![0; width as usize * height as usize * 3],
        }
    }

    /// Wrap existing pixels; `None` when the length does not match.
    pub fn from_raw(width: u32, height: u32, pixels: Vec<u8>) -> Option<RgbImage> {
        (pixels.len() == width as usize * height as usize * 3).then_some(RgbImage {
            width,
            height,
            pixels,
        })
    }

    /// Pixel `(x, y)`.
    #[inline]
    pub fn get(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]]
    }

    /// Set pixel `(x, y)`.
    #[inline]
    pub fn put(&mut self, x: u32, y: u32, c: [u8; 3]) {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        self.pixels[i..i + 3].copy_from_slice(&c);
    }

    /// Rec. 601 luma as `f32` (0..255), the input PDQ specifies.
    pub fn luma_f32(&self) -> Vec<f32> {
        self.pixels
            .chunks_exact(3)
            .map(|p| 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32)
            .collect()
    }

    /// Rec. 601 luma as `u8`.
    pub fn luma_u8(&self) -> Vec<u8> {
        self.pixels
            .chunks_exact(3)
            .map(|p| ((77 * p[0] as u32 + 150 * p[1] as u32 + 29 * p[2] as u32 + 128) >> 8) as u8)
            .collect()
    }
}

/// Pixels decoded at a (possibly) reduced size.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub image: RgbImage,
    /// Dimensions of the stored image (before reduction).
    pub full_width: u32,
    pub full_height: u32,
    /// Reduction factor of the decode (1, 2, 4 or 8).
    pub reduction: u32,
}

/// A rectangle in fractions of a photo's width and height (0 to 1, top-left origin), so it
/// means the same part at every scale: the common currency between decodes of one photo at
/// different scales, or of parts of it, and the card gate's regions.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Region {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
}

impl Region {
    /// The whole photo.
    pub const WHOLE: Region = Region {
        x0: 0.0,
        y0: 0.0,
        x1: 1.0,
        y1: 1.0,
    };

    /// Size of the whole photo at the scale of an image of `w` x `h` pixels showing this
    /// region; `None` for an empty region.
    pub(crate) fn full_size(&self, w: u32, h: u32) -> Option<(f32, f32)> {
        let (rw, rh) = (self.x1 - self.x0, self.y1 - self.y0);
        (rw > 0.0 && rh > 0.0).then(|| (w as f32 / rw, h as f32 / rh))
    }

    pub(crate) fn overlaps(&self, o: &Region) -> bool {
        self.x0 < o.x1 && o.x0 < self.x1 && self.y0 < o.y1 && o.y0 < self.y1
    }
}

/// Dimensions of the stored image from its header, without decoding pixels.
pub fn dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    match sniff::sniff(bytes) {
        sniff::JPEG => crate::jpeg::frame_size(bytes).filter(|&(w, h)| w > 0 && h > 0),
        sniff::PNG => image_dims(bytes, image::ImageFormat::Png),
        sniff::TIFF => image_dims(bytes, image::ImageFormat::Tiff),
        _ => None,
    }
}

fn image_dims(bytes: &[u8], fmt: image::ImageFormat) -> Option<(u32, u32)> {
    image::ImageReader::with_format(Cursor::new(bytes), fmt)
        .into_dimensions()
        .ok()
}

/// Decode at full resolution (forensic work, e.g. sensor noise, needs every
/// pixel). Pixels are as stored: EXIF orientation is *not* applied.
pub fn decode_full(bytes: &[u8]) -> Result<RgbImage, MediaError> {
    decode_reduced(bytes, u32::MAX).map(|d| d.image)
}

/// Decode so that the longer side of the result is at least `min_size`
/// pixels (or the stored size when smaller). JPEG is decoded at 1/2, 1/4
/// or 1/8 scale where that suffices (reduced-size inverse DCTs, much faster
/// than a full decode and a resize); other formats are decoded at full
/// size. Pixels are as stored: EXIF orientation is *not* applied.
pub fn decode_reduced(bytes: &[u8], min_size: u32) -> Result<Decoded, MediaError> {
    match sniff::sniff(bytes) {
        sniff::JPEG => decode_jpeg(bytes, min_size),
        sniff::PNG => decode_image(bytes, image::ImageFormat::Png, "PNG"),
        sniff::TIFF => decode_image(bytes, image::ImageFormat::Tiff, "TIFF"),
        other => Err(MediaError::Unsupported(other.to_string())),
    }
}

/// Like [`decode_reduced`], for readers of brightness in known places (the card reader
/// around the gate's regions): a baseline JPEG gives only the luma inside `regions`, as grey
/// (R = G = B = the JPEG's Y), and black elsewhere, at a little over half the cost, since
/// blocks outside them and colour blocks are only entropy-decoded past. Anything else, or
/// a JPEG that path does not take, gives the whole image in colour as [`decode_reduced`].
pub fn decode_reduced_grey_in(
    bytes: &[u8],
    min_size: u32,
    regions: &[Region],
) -> Result<Decoded, MediaError> {
    if sniff::sniff(bytes) == sniff::JPEG {
        let (fw, fh) = crate::jpeg::frame_size(bytes).unwrap_or((0, 0));
        let reduction = jpeg_reduction(fw.max(fh), min_size);
        if fw as u64 * fh as u64 <= MAX_PIXELS && reduction > 1 {
            if let Ok(s) = crate::jpeg::decode_grey_in(bytes, reduction as usize, regions) {
                return Ok(Decoded::scaled(s, reduction));
            }
        }
    }
    decode_reduced(bytes, min_size)
}

impl Decoded {
    /// What the fast JPEG path gave at `1/reduction` scale.
    fn scaled(s: crate::jpeg::Scaled, reduction: u32) -> Decoded {
        Decoded {
            image: RgbImage {
                width: s.width,
                height: s.height,
                pixels: s.rgb,
            },
            full_width: s.full_width,
            full_height: s.full_height,
            reduction,
        }
    }
}

/// The largest JPEG reduction (8, 4, 2, else 1) that keeps the long side at `min_size` or more.
fn jpeg_reduction(long: u32, min_size: u32) -> u32 {
    [8u32, 4, 2]
        .into_iter()
        .find(|&r| long > 0 && long.div_ceil(r) >= min_size)
        .unwrap_or(1)
}

fn decode_jpeg(bytes: &[u8], min_size: u32) -> Result<Decoded, MediaError> {
    let (fw, fh) = crate::jpeg::frame_size(bytes).unwrap_or((0, 0));
    if fw as u64 * fh as u64 > MAX_PIXELS {
        return Err(MediaError::TooLarge(fw, fh));
    }
    let reduction = jpeg_reduction(fw.max(fh), min_size);
    if reduction > 1 {
        // The fast path; anything it does not handle (or finds damaged)
        // goes to the general decoder, whose verdict counts.
        if let Ok(s) = crate::jpeg::decode_scaled(bytes, reduction as usize) {
            return Ok(Decoded::scaled(s, reduction));
        }
    }
    let mut d = jpeg_decoder::Decoder::new(bytes);
    d.read_info().map_err(jpeg_err)?;
    let info = d
        .info()
        .ok_or_else(|| MediaError::Decode("JPEG: no frame header".into()))?;
    let (fw, fh) = (info.width as u32, info.height as u32);
    if fw == 0 || fh == 0 {
        return Err(MediaError::Decode("JPEG: zero-sized frame".into()));
    }
    if fw as u64 * fh as u64 > MAX_PIXELS {
        return Err(MediaError::TooLarge(fw, fh));
    }
    if reduction > 1 {
        let l = fw.max(fh).div_ceil(reduction).min(u16::MAX as u32) as u16;
        d.scale(l, l).map_err(jpeg_err)?;
    }
    d.set_max_decoding_buffer_size(usize::MAX);
    let px = d.decode().map_err(jpeg_err)?;
    let info = d
        .info()
        .ok_or_else(|| MediaError::Decode("JPEG: no frame header".into()))?;
    let (w, h) = (info.width as u32, info.height as u32);
    let n = w as usize * h as usize;
    use jpeg_decoder::PixelFormat as P;
    let rgb = match info.pixel_format {
        P::RGB24 => px,
        P::L8 => px.iter().flat_map(|&v| [v, v, v]).collect(),
        P::L16 => px
            .chunks_exact(2)
            .flat_map(|v| [v[0], v[0], v[0]])
            .collect(),
        // jpeg-decoder returns Adobe-style (inverted) CMYK.
        P::CMYK32 => px
            .chunks_exact(4)
            .flat_map(|c| {
                let k = c[3] as u32;
                [
                    (c[0] as u32 * k / 255) as u8,
                    (c[1] as u32 * k / 255) as u8,
                    (c[2] as u32 * k / 255) as u8,
                ]
            })
            .collect(),
    };
    if rgb.len() != n * 3 {
        return Err(MediaError::Decode(format!(
            "JPEG: decoder returned {} bytes for {w}x{h}",
            rgb.len()
        )));
    }
    Ok(Decoded {
        image: RgbImage {
            width: w,
            height: h,
            pixels: rgb,
        },
        full_width: fw,
        full_height: fh,
        reduction: if (w, h) == (fw.div_ceil(reduction), fh.div_ceil(reduction)) {
            reduction
        } else {
            (fw / w.max(1)).max(1)
        },
    })
}

fn jpeg_err(e: jpeg_decoder::Error) -> MediaError {
    match e {
        jpeg_decoder::Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            MediaError::Decode(
                "JPEG: data ends before the image is complete (truncated file)".into(),
            )
        }
        e => MediaError::Decode(format!("JPEG: {e}")),
    }
}

fn decode_image(bytes: &[u8], fmt: image::ImageFormat, name: &str) -> Result<Decoded, MediaError> {
    let err = |e: image::ImageError| MediaError::Decode(format!("{name}: {e}"));
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), fmt);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_PIXELS * 8);
    reader.limits(limits);
    let img = reader.decode().map_err(err)?;
    let rgb = img.into_rgb8();
    let (w, h) = rgb.dimensions();
    if w == 0 || h == 0 {
        return Err(MediaError::Decode(format!("{name}: zero-sized image")));
    }
    Ok(Decoded {
        image: RgbImage {
            width: w,
            height: h,
            pixels: rgb.into_raw(),
        },
        full_width: w,
        full_height: h,
        reduction: 1,
    })
}

/// The fast reduced-scale JPEG path alone (no fallback), for tests and
/// benchmarks. `reduction` is 2, 4 or 8.
#[doc(hidden)]
pub fn decode_jpeg_fast(bytes: &[u8], reduction: u32) -> Result<RgbImage, String> {
    crate::jpeg::decode_scaled(bytes, reduction as usize)
        .map(|s| RgbImage {
            width: s.width,
            height: s.height,
            pixels: s.rgb,
        })
        .map_err(|e| format!("{e:?}"))
}
