//! EXIF: the fields athar uses, read the way `exiftool` reads them, plus
//! every raw tag as JSON.

use std::io::Cursor;

use exif::{Context, In, Tag, Value};
use serde::Serialize;
use serde_json::{json, Map};

use crate::ifd;

/// GPS position in decimal degrees (south and west negative) and metres
/// (below sea level negative), as `exiftool -n` prints the composite tags.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gps {
    pub lat: f64,
    pub lon: f64,
    pub alt: Option<f64>,
}

/// The EXIF fields athar records for a photo.
///
/// Strings are as stored, with the trailing NUL and trailing white space
/// removed (as `exiftool` prints them).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exif {
    /// IFD0 `Make`.
    pub make: Option<String>,
    /// IFD0 `Model`.
    pub model: Option<String>,
    /// Camera body serial: Exif `BodySerialNumber` (0xA431; exiftool
    /// `SerialNumber`), else the serial number in the maker notes of Olympus,
    /// Nikon and Canon cameras.
    pub serial: Option<String>,
    /// `DateTimeOriginal`, `YYYY:MM:DD HH:MM:SS` as stored.
    pub datetime_original: Option<String>,
    /// `SubSecTimeOriginal` (digits, as stored).
    pub subsec: Option<String>,
    /// `OffsetTimeOriginal`, e.g. `+03:00`.
    pub offset: Option<String>,
    /// IFD0 `Software`.
    pub software: Option<String>,
    /// IFD0 `Orientation` (1-8).
    pub orientation: Option<u16>,
    pub gps: Option<Gps>,
    /// The embedded JPEG thumbnail (IFD1), when there is one.
    #[serde(skip)]
    pub thumbnail: Option<Vec<u8>>,
    /// Length of [`Exif::thumbnail`] in bytes (for JSON output).
    pub thumbnail_len: Option<usize>,
    /// Every tag read, grouped by IFD (`IFD0`, `ExifIFD`, `GPS`, `Interop`,
    /// `IFD1`, ...), keyed by tag name (or `0xNNNN` when unknown). See
    /// `docs/formats/media.md` for the value encoding.
    pub raw: serde_json::Value,
}

/// Read the EXIF block of a JPEG, TIFF, PNG, WebP or HEIF file.
///
/// `Ok(None)`: the file has no EXIF. `Err`: there is an EXIF block but it
/// could not be read at all (a partly damaged block still gives `Ok` with
/// what could be read).
pub fn read_exif(bytes: &[u8]) -> Result<Option<Exif>, String> {
    let mut reader = exif::Reader::new();
    reader.continue_on_error(true);
    let parsed = match reader.read_from_container(&mut Cursor::new(bytes)) {
        Ok(e) => e,
        Err(exif::Error::NotFound(_)) => return Ok(None),
        Err(exif::Error::PartialResult(p)) => p.into_inner().0,
        Err(e) => return Err(format!("EXIF: {e}")),
    };
    Ok(Some(from_parsed(&parsed)))
}

fn ascii(v: &Value) -> Option<String> {
    match v {
        Value::Ascii(parts) => {
            let first = parts.first()?;
            let s = String::from_utf8_lossy(first);
            let s = s.trim_end();
            (!s.is_empty()).then(|| s.to_string())
        }
        _ => None,
    }
}

fn rational_f64(v: &Value, i: usize) -> Option<f64> {
    match v {
        Value::Rational(r) => r.get(i).map(|r| r.num as f64 / r.denom as f64),
        Value::SRational(r) => r.get(i).map(|r| r.num as f64 / r.denom as f64),
        Value::Double(d) => d.get(i).copied(),
        Value::Float(d) => d.get(i).map(|&x| x as f64),
        _ => None,
    }
    .filter(|x| x.is_finite())
}

fn dms(v: &Value) -> Option<f64> {
    let d = rational_f64(v, 0)?;
    let m = rational_f64(v, 1).unwrap_or(0.0);
    let s = rational_f64(v, 2).unwrap_or(0.0);
    Some(d + m / 60.0 + s / 3600.0)
}

fn from_parsed(e: &exif::Exif) -> Exif {
    let get = |tag: Tag| e.get_field(tag, In::PRIMARY).map(|f| &f.value);
    let s = |tag: Tag| get(tag).and_then(ascii);

    let gps = (|| {
        let mut lat = dms(get(Tag::GPSLatitude)?)?;
        let mut lon = dms(get(Tag::GPSLongitude)?)?;
        if get(Tag::GPSLatitudeRef).and_then(ascii).as_deref() == Some("S") {
            lat = -lat;
        }
        if get(Tag::GPSLongitudeRef).and_then(ascii).as_deref() == Some("W") {
            lon = -lon;
        }
        let alt = get(Tag::GPSAltitude)
            .and_then(|v| rational_f64(v, 0))
            .map(|a| {
                let below = get(Tag::GPSAltitudeRef).and_then(|v| v.get_uint(0)) == Some(1);
                if below {
                    -a
                } else {
                    a
                }
            });
        Some(Gps { lat, lon, alt })
    })();

    let thumbnail = (|| {
        let off = e
            .get_field(Tag::JPEGInterchangeFormat, In::THUMBNAIL)?
            .value
            .get_uint(0)? as usize;
        let len = e
            .get_field(Tag::JPEGInterchangeFormatLength, In::THUMBNAIL)?
            .value
            .get_uint(0)? as usize;
        let buf = e.buf();
        (len > 0).then_some(())?;
        buf.get(off..off.checked_add(len)?).map(|t| t.to_vec())
    })();

    let serial = s(Tag::BodySerialNumber).or_else(|| {
        let make = s(Tag::Make).unwrap_or_default();
        match get(Tag::MakerNote)? {
            Value::Undefined(mn, off) => {
                ifd::makernote_serial(&make, mn, *off as usize, e.buf(), e.little_endian())
            }
            _ => None,
        }
    });

    Exif {
        make: s(Tag::Make),
        model: s(Tag::Model),
        serial,
        datetime_original: s(Tag::DateTimeOriginal),
        subsec: s(Tag::SubSecTimeOriginal),
        offset: s(Tag::OffsetTimeOriginal),
        software: s(Tag::Software),
        orientation: get(Tag::Orientation)
            .and_then(|v| v.get_uint(0))
            .and_then(|o| u16::try_from(o).ok()),
        gps,
        thumbnail_len: thumbnail.as_ref().map(Vec::len),
        thumbnail,
        raw: raw_json(e),
    }
}

fn group(ifd: In, ctx: Context) -> String {
    match (ifd.index(), ctx) {
        (_, Context::Exif) => "ExifIFD".into(),
        (_, Context::Gps) => "GPS".into(),
        (_, Context::Interop) => "Interop".into(),
        (n, _) => format!("IFD{n}"),
    }
}

fn tag_name(t: Tag) -> String {
    if t.description().is_some() {
        t.to_string()
    } else {
        format!("0x{:04X}", t.number())
    }
}

fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(2 + 2 * b.len());
    s.push_str("0x");
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

fn one_or_many(mut v: Vec<serde_json::Value>) -> serde_json::Value {
    if v.len() == 1 {
        v.pop().unwrap()
    } else {
        serde_json::Value::Array(v)
    }
}

/// JSON form of one EXIF value (see docs/formats/media.md).
pub(crate) fn value_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    let nums = |it: Vec<J>| one_or_many(it);
    match v {
        Value::Byte(b) => nums(b.iter().map(|&x| json!(x)).collect()),
        Value::SByte(b) => nums(b.iter().map(|&x| json!(x)).collect()),
        Value::Short(b) => nums(b.iter().map(|&x| json!(x)).collect()),
        Value::SShort(b) => nums(b.iter().map(|&x| json!(x)).collect()),
        Value::Long(b) => nums(b.iter().map(|&x| json!(x)).collect()),
        Value::SLong(b) => nums(b.iter().map(|&x| json!(x)).collect()),
        Value::Float(b) => nums(b.iter().map(|&x| json!(x)).collect()),
        Value::Double(b) => nums(b.iter().map(|&x| json!(x)).collect()),
        Value::Rational(r) => nums(
            r.iter()
                .map(|x| J::String(format!("{}/{}", x.num, x.denom)))
                .collect(),
        ),
        Value::SRational(r) => nums(
            r.iter()
                .map(|x| J::String(format!("{}/{}", x.num, x.denom)))
                .collect(),
        ),
        Value::Ascii(parts) => one_or_many(
            parts
                .iter()
                .map(|p| J::String(String::from_utf8_lossy(p).into_owned()))
                .collect(),
        ),
        Value::Undefined(b, _) => {
            if !b.is_empty() && b.iter().all(|&c| (0x20..0x7f).contains(&c)) {
                J::String(String::from_utf8_lossy(b).into_owned())
            } else {
                J::String(hex(b))
            }
        }
        _ => J::Null,
    }
}

fn raw_json(e: &exif::Exif) -> serde_json::Value {
    let mut groups: Map<String, serde_json::Value> = Map::new();
    for f in e.fields() {
        let g = group(f.ifd_num, f.tag.context());
        let entry = groups
            .entry(g)
            .or_insert_with(|| serde_json::Value::Object(Map::new()));
        if let serde_json::Value::Object(m) = entry {
            m.insert(tag_name(f.tag), value_json(&f.value));
        }
    }
    serde_json::Value::Object(groups)
}
