//! Finds what metadata an input carries, so the report can say what was removed, and reads
//! its EXIF orientation.
//!
//! **Guarantees**: the scan is read-only, bounded by the file's length and never panics on
//! malformed input (a broken structure just ends the scan). It only *reports*: removal does
//! not depend on it, because outputs are re-encoded from pixels (see [`crate::codec`]).
//!
//! **Not guaranteed**: that the report names everything; a block of a kind it does not
//! know is still removed, only described generically.

use exif::{Context, In, Tag};

use crate::codec::Format;

/// How the scan names an embedded ICC colour profile.
pub const ICC_FOUND: &str = "ICC colour profile";

/// What the scan found: human-readable descriptions and the EXIF block, if any.
#[derive(Debug, Default)]
pub struct Scan {
    /// One entry per kind of metadata found, e.g. "EXIF (GPS position, camera model)".
    pub found: Vec<String>,
    /// The EXIF data (a TIFF structure), if present.
    pub exif: Option<Vec<u8>>,
}

impl Scan {
    fn add(&mut self, what: impl Into<String>) {
        let what = what.into();
        if !self.found.contains(&what) {
            self.found.push(what);
        }
    }
}

fn be16(b: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(u16::from_be_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn be32(b: &[u8], at: usize) -> Option<usize> {
    usize::try_from(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?)).ok()
}

fn le32(b: &[u8], at: usize) -> Option<usize> {
    usize::try_from(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?)).ok()
}

/// Scans a file of a known format for metadata blocks.
pub fn scan(format: Format, bytes: &[u8]) -> Scan {
    let mut scan = Scan::default();
    match format {
        Format::Jpeg => scan_jpeg(bytes, &mut scan),
        Format::Png => scan_png(bytes, &mut scan),
        Format::Webp => scan_webp(bytes, &mut scan),
        Format::Tiff => scan.exif = Some(bytes.to_vec()),
        Format::Gif => scan_gif(bytes, &mut scan),
    }
    if let Some(exif) = scan.exif.take() {
        scan.add(describe_exif(&exif));
        scan.exif = Some(exif);
    }
    scan
}

fn scan_jpeg(b: &[u8], scan: &mut Scan) {
    let mut at = 2;
    while at + 4 <= b.len() {
        if b[at] != 0xFF {
            return;
        }
        let marker = b[at + 1];
        if marker == 0xFF {
            at += 1;
            continue;
        }
        if marker == 0xD9 || marker == 0xDA {
            if marker == 0xDA && find_eoi(b, at).is_some_and(|end| end + 2 < b.len()) {
                scan.add("data after the end of the image (e.g. MPF secondary images or an appended file)");
            }
            return;
        }
        if (0xD0..=0xD8).contains(&marker) || marker == 0x01 {
            at += 2;
            continue;
        }
        let Some(len) = be16(b, at + 2) else { return };
        let Some(body) = b.get(at + 4..(at + 2 + len).min(b.len())) else {
            return;
        };
        match marker {
            0xE1 if body.starts_with(b"Exif\0") => {
                scan.exif
                    .get_or_insert_with(|| body.get(6..).unwrap_or_default().to_vec());
            }
            0xE1 if body.starts_with(b"http://ns.adobe.com/xap/1.0/") => scan.add("XMP"),
            0xE1 if body.starts_with(b"http://ns.adobe.com/xmp/extension/") => {
                scan.add("extended XMP")
            }
            0xE2 if body.starts_with(b"ICC_PROFILE") => scan.add(ICC_FOUND),
            0xE2 if body.starts_with(b"MPF") => {
                scan.add("MPF (secondary images, e.g. depth or gain maps)")
            }
            0xED => scan.add("IPTC / Photoshop (APP13: captions, names, places)"),
            0xEB => scan.add("APP11 (JUMBF, e.g. C2PA provenance)"),
            0xFE => scan.add("JPEG comment"),
            0xE0 if body.starts_with(b"JFIF") => {}
            0xEE if body.starts_with(b"Adobe") => {}
            0xE0..=0xEF => scan.add(format!("APP{} segment", marker - 0xE0)),
            _ => {}
        }
        at += 2 + len;
    }
}

/// The position of the EOI marker after the scan that starts at `sos`, if any.
fn find_eoi(b: &[u8], sos: usize) -> Option<usize> {
    b.get(sos..)?
        .windows(2)
        .position(|w| w == [0xFF, 0xD9])
        .map(|p| p + sos)
}

fn scan_png(b: &[u8], scan: &mut Scan) {
    let mut at = 8;
    while let (Some(len), Some(kind)) = (be32(b, at), b.get(at + 4..at + 8)) {
        let body = b
            .get(at + 8..(at + 8).saturating_add(len).min(b.len()))
            .unwrap_or_default();
        match kind {
            b"eXIf" => {
                scan.exif.get_or_insert_with(|| body.to_vec());
            }
            b"tEXt" | b"zTXt" | b"iTXt" => {
                let key = body.split(|&c| c == 0).next().unwrap_or_default();
                if key == b"XML:com.adobe.xmp" {
                    scan.add("XMP");
                } else {
                    scan.add(format!("PNG text ({})", String::from_utf8_lossy(key)));
                }
            }
            b"iCCP" => scan.add(ICC_FOUND),
            b"tIME" => scan.add("PNG modification time"),
            b"caBX" => scan.add("C2PA provenance"),
            b"IEND" => return,
            k if k[0].is_ascii_lowercase()
                && !matches!(
                    k,
                    b"tRNS"
                        | b"gAMA"
                        | b"cHRM"
                        | b"sRGB"
                        | b"sBIT"
                        | b"bKGD"
                        | b"pHYs"
                        | b"acTL"
                        | b"fcTL"
                        | b"fdAT"
                ) =>
            {
                scan.add(format!("PNG chunk {}", String::from_utf8_lossy(k)));
            }
            _ => {}
        }
        at = at.saturating_add(12).saturating_add(len);
    }
}

fn scan_webp(b: &[u8], scan: &mut Scan) {
    let mut at = 12;
    while let (Some(kind), Some(len)) = (b.get(at..at + 4), le32(b, at + 4)) {
        let body = b
            .get(at + 8..(at + 8).saturating_add(len).min(b.len()))
            .unwrap_or_default();
        match kind {
            b"EXIF" => {
                let body = body.strip_prefix(b"Exif\0\0").unwrap_or(body);
                scan.exif.get_or_insert_with(|| body.to_vec());
            }
            b"XMP " => scan.add("XMP"),
            b"ICCP" => scan.add(ICC_FOUND),
            _ => {}
        }
        at = at
            .saturating_add(8)
            .saturating_add(len)
            .saturating_add(len & 1);
    }
}

fn scan_gif(b: &[u8], scan: &mut Scan) {
    let table = |flags: u8| {
        if flags & 0x80 != 0 {
            3usize << ((flags & 7) + 1)
        } else {
            0
        }
    };
    let Some(&flags) = b.get(10) else { return };
    let mut at = 13 + table(flags);
    let skip_blocks = |mut at: usize| -> Option<usize> {
        loop {
            let n = usize::from(*b.get(at)?);
            at += 1 + n;
            if n == 0 {
                return Some(at);
            }
        }
    };
    while let Some(&kind) = b.get(at) {
        at = match kind {
            0x21 => {
                match (b.get(at + 1), b.get(at + 3..at + 14)) {
                    (Some(0xFE), _) => scan.add("GIF comment"),
                    (Some(0xFF), Some(app)) if app.starts_with(b"XMP Data") => scan.add("XMP"),
                    (Some(0xFF), Some(app)) if !app.starts_with(b"NETSCAPE") => {
                        scan.add(format!(
                            "GIF application block {}",
                            String::from_utf8_lossy(app)
                        ));
                    }
                    _ => {}
                }
                let Some(next) = skip_blocks(at + 2) else {
                    return;
                };
                next
            }
            0x2C => {
                let Some(&flags) = b.get(at + 9) else { return };
                let Some(next) = skip_blocks(at + 10 + table(flags) + 1) else {
                    return;
                };
                next
            }
            _ => return,
        };
    }
}

/// Reads the EXIF orientation (1..=8), trying a minimal reader of the first directory
/// first and a full parser second, so damage elsewhere in the EXIF does not lose it.
pub fn orientation(exif: &[u8]) -> Option<u16> {
    if let Some(o) = image::metadata::Orientation::from_exif_chunk(exif) {
        return Some(u16::from(o.to_exif()));
    }
    let parsed = exif::Reader::new()
        .continue_on_error(true)
        .read_raw(exif.to_vec());
    let parsed = match parsed {
        Ok(e) => e,
        Err(exif::Error::PartialResult(partial)) => partial.into_inner().0,
        Err(_) => return None,
    };
    let value = parsed
        .get_field(Tag::Orientation, In::PRIMARY)?
        .value
        .get_uint(0)?;
    u16::try_from(value).ok().filter(|o| (1..=8).contains(o))
}

/// Describes an EXIF block by the identifying things it holds.
fn describe_exif(exif: &[u8]) -> String {
    let parsed = match exif::Reader::new()
        .continue_on_error(true)
        .read_raw(exif.to_vec())
    {
        Ok(e) => e,
        Err(exif::Error::PartialResult(partial)) => partial.into_inner().0,
        Err(_) => return "EXIF (unreadable, removed whole)".into(),
    };
    let mut parts: Vec<&str> = Vec::new();
    let mut push = |s| {
        if !parts.contains(&s) {
            parts.push(s);
        }
    };
    for field in parsed.fields() {
        match field.tag {
            t if t.context() == Context::Gps => push("GPS position"),
            Tag::Make => push("camera make"),
            Tag::Model => push("camera model"),
            Tag::BodySerialNumber | Tag::LensSerialNumber => push("serial numbers"),
            Tag::DateTime | Tag::DateTimeOriginal | Tag::DateTimeDigitized => push("dates"),
            Tag::Artist | Tag::Copyright | Tag::CameraOwnerName => push("names"),
            Tag::MakerNote => push("maker notes"),
            Tag::Software => push("software"),
            _ if field.ifd_num == In::THUMBNAIL => push("embedded thumbnail"),
            _ => {}
        }
    }
    if parts.is_empty() {
        "EXIF".into()
    } else {
        format!("EXIF ({})", parts.join(", "))
    }
}
