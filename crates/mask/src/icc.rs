//! Colour profiles for `--keep-icc`: recognising a standard RGB profile in an input and
//! writing masque's own copy of it.
//!
//! **Guarantees**: an input's profile is never copied. [`recognise`] reads its colorimetry
//! (the red, green and blue colorants and the three tone curves) and, when it matches sRGB
//! or Display P3, the output gets [`StandardProfile::bytes`], a profile masque builds
//! itself: its description, copyright and dates are masque's, so nothing the input's
//! profile carried (a device model in its description, a calibration date, a creator, a
//! profile ID) reaches the output. Any other profile (a calibrated camera or scanner
//! profile, Adobe RGB, a grey or CMYK profile, a malformed one) is dropped, as without
//! `--keep-icc`. Parsing is bounded by the profile's length and never panics.
//!
//! **Not guaranteed**: that colours are exactly those of the input's profile: a profile
//! whose colorants lie within [`COLORANT_TOLERANCE`] of the standard's and whose curves lie
//! within [`CURVE_TOLERANCE`] of the sRGB curve is replaced by the standard one.

use serde::Serialize;

/// The standard colour spaces whose profile `--keep-icc` keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StandardProfile {
    /// sRGB (IEC 61966-2-1).
    Srgb,
    /// Display P3 (DCI-P3 primaries, D65 white, the sRGB tone curve), used by phones.
    DisplayP3,
}

/// How far (in XYZ, D50) each colorant may be from the standard's to count as it.
pub const COLORANT_TOLERANCE: f64 = 0.004;
/// How far (linear light, 0 to 1) a tone curve may be from the sRGB curve to count as it.
pub const CURVE_TOLERANCE: f64 = 0.03;

/// The colorants (red, green, blue; XYZ adapted to D50 with the Bradford transform) of
/// each standard space, computed from their primaries and D65 white.
const SRGB: [[f64; 3]; 3] = [
    [0.436075, 0.222504, 0.013932],
    [0.385065, 0.716879, 0.097105],
    [0.143080, 0.060617, 0.714173],
];
const DISPLAY_P3: [[f64; 3]; 3] = [
    [0.515140, 0.241201, -0.001049],
    [0.291935, 0.692224, 0.041883],
    [0.157145, 0.066575, 0.784375],
];
/// The Bradford adaptation from D65 to D50 (the `chad` tag of a v4 display profile).
const CHAD_D65_TO_D50: [f64; 9] = [
    1.047811, 0.022887, -0.050127, 0.029542, 0.990484, -0.017049, -0.009234, 0.015044, 0.752132,
];
/// The D50 white of the profile connection space.
const D50: [f64; 3] = [0.9642, 1.0, 0.8249];

impl StandardProfile {
    /// Every standard profile, in the order they are tried.
    pub const ALL: [StandardProfile; 2] = [StandardProfile::Srgb, StandardProfile::DisplayP3];

    /// Its usual name.
    pub fn name(self) -> &'static str {
        match self {
            StandardProfile::Srgb => "sRGB",
            StandardProfile::DisplayP3 => "Display P3",
        }
    }

    fn colorants(self) -> [[f64; 3]; 3] {
        match self {
            StandardProfile::Srgb => SRGB,
            StandardProfile::DisplayP3 => DISPLAY_P3,
        }
    }

    /// masque's own ICC v4 profile for this space (the same bytes every time).
    pub fn bytes(self) -> Vec<u8> {
        rgb_profile(&format!("{} (masque)", self.name()), self.colorants())
    }
}

/// The sRGB tone curve: encoded value (0 to 1) to linear light.
fn srgb_curve(x: f64) -> f64 {
    if x <= 0.04045 {
        x / 12.92
    } else {
        ((x + 0.055) / 1.055).powf(2.4)
    }
}

/// Builds an ICC v4 display profile with the sRGB tone curve for the three channels, the
/// given colorants (red, green, blue XYZ, D50) and `description`. Used for masque's
/// standard profiles, and by the tests to plant profiles.
pub fn rgb_profile(description: &str, colorants: [[f64; 3]; 3]) -> Vec<u8> {
    fn s15(v: f64) -> [u8; 4] {
        ((v * 65536.0).round() as i32).to_be_bytes()
    }
    fn xyz(v: [f64; 3]) -> Vec<u8> {
        let mut t = b"XYZ \0\0\0\0".to_vec();
        for c in v {
            t.extend_from_slice(&s15(c));
        }
        t
    }
    fn mluc(text: &str) -> Vec<u8> {
        let utf16: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let mut t = b"mluc\0\0\0\0".to_vec();
        t.extend_from_slice(&1u32.to_be_bytes());
        t.extend_from_slice(&12u32.to_be_bytes());
        t.extend_from_slice(b"enUS");
        t.extend_from_slice(&(utf16.len() as u32).to_be_bytes());
        t.extend_from_slice(&28u32.to_be_bytes());
        t.extend_from_slice(&utf16);
        t
    }
    let mut chad = b"sf32\0\0\0\0".to_vec();
    for v in CHAD_D65_TO_D50 {
        chad.extend_from_slice(&s15(v));
    }
    // Parametric curve type 3: Y = (aX + b)^g for X >= d, else cX (the sRGB curve).
    let mut para = b"para\0\0\0\0\0\x03\0\0".to_vec();
    for v in [2.4, 1.0 / 1.055, 0.055 / 1.055, 1.0 / 12.92, 0.04045] {
        para.extend_from_slice(&s15(v));
    }
    let elements: [(&[u8; 4], Vec<u8>); 7] = [
        (b"desc", mluc(description)),
        (b"cprt", mluc("No copyright, use freely")),
        (b"wtpt", xyz(D50)),
        (b"chad", chad),
        (b"rXYZ", xyz(colorants[0])),
        (b"gXYZ", xyz(colorants[1])),
        (b"bXYZ", xyz(colorants[2])),
    ];
    let tags = elements.len() + 3;
    let mut data = Vec::new();
    let mut table = Vec::new();
    let data_start = 128 + 4 + 12 * tags;
    let mut place = |sig: &[u8; 4], body: &[u8], data: &mut Vec<u8>| {
        table.extend_from_slice(sig);
        table.extend_from_slice(&((data_start + data.len()) as u32).to_be_bytes());
        table.extend_from_slice(&(body.len() as u32).to_be_bytes());
        data.extend_from_slice(body);
        while !data.len().is_multiple_of(4) {
            data.push(0);
        }
    };
    for (sig, body) in &elements {
        place(sig, body, &mut data);
    }
    // The three channels share one curve element.
    let trc_at = (data_start + data.len()) as u32;
    place(b"rTRC", &para, &mut data);
    for sig in [b"gTRC", b"bTRC"] {
        table.extend_from_slice(sig);
        table.extend_from_slice(&trc_at.to_be_bytes());
        table.extend_from_slice(&(para.len() as u32).to_be_bytes());
    }
    let size = data_start + data.len();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&(size as u32).to_be_bytes());
    out.extend_from_slice(&[0; 4]); // preferred CMM: none
    out.extend_from_slice(&[4, 0x30, 0, 0]); // version 4.3
    out.extend_from_slice(b"mntrRGB XYZ ");
    for v in [2020u16, 1, 1, 0, 0, 0] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(b"acsp");
    out.extend_from_slice(&[0; 16]); // platform, flags, manufacturer, model
    out.extend_from_slice(&[0; 8]); // attributes
    out.extend_from_slice(&[0; 4]); // perceptual intent
    for v in D50 {
        out.extend_from_slice(&s15(v));
    }
    out.extend_from_slice(&[0; 4]); // creator
    out.extend_from_slice(&[0; 16]); // profile ID: not computed
    out.extend_from_slice(&[0; 28]); // reserved
    debug_assert_eq!(out.len(), 128);
    out.extend_from_slice(&(tags as u32).to_be_bytes());
    out.extend_from_slice(&table);
    out.extend_from_slice(&data);
    debug_assert_eq!(out.len(), size);
    out
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn s15_at(b: &[u8], at: usize) -> Option<f64> {
    Some(f64::from(be32(b, at)? as i32) / 65536.0)
}

/// The body of tag `sig` (bounded by the profile), if present.
fn tag<'a>(icc: &'a [u8], sig: &[u8; 4]) -> Option<&'a [u8]> {
    let count = usize::try_from(be32(icc, 128)?).ok()?;
    if count > 200 {
        return None;
    }
    (0..count).find_map(|i| {
        let at = 132 + 12 * i;
        if icc.get(at..at + 4)? != sig {
            return None;
        }
        let offset = usize::try_from(be32(icc, at + 4)?).ok()?;
        let len = usize::try_from(be32(icc, at + 8)?).ok()?;
        icc.get(offset..offset.checked_add(len)?)
    })
}

fn read_xyz(icc: &[u8], sig: &[u8; 4]) -> Option<[f64; 3]> {
    let t = tag(icc, sig)?;
    if t.get(..4)? != b"XYZ " {
        return None;
    }
    Some([s15_at(t, 8)?, s15_at(t, 12)?, s15_at(t, 16)?])
}

/// A tone curve (`curv` or `para`), evaluated at `x` in 0..=1.
fn eval_curve(t: &[u8], x: f64) -> Option<f64> {
    match t.get(..4)? {
        b"curv" => {
            let n = usize::try_from(be32(t, 8)?).ok()?;
            match n {
                0 => Some(x),
                1 => Some(x.powf(f64::from(be16(t, 12)?) / 256.0)),
                _ => {
                    let pos = x * (n - 1) as f64;
                    let i = (pos.floor() as usize).min(n - 2);
                    let frac = pos - i as f64;
                    let a = f64::from(be16(t, 12 + 2 * i)?) / 65535.0;
                    let b = f64::from(be16(t, 12 + 2 * (i + 1))?) / 65535.0;
                    Some(a + (b - a) * frac)
                }
            }
        }
        b"para" => {
            let kind = be16(t, 8)?;
            let needed = [1, 3, 4, 5, 7].get(usize::from(kind)).copied()?;
            let mut p = [0.0; 7];
            for (i, v) in p.iter_mut().enumerate().take(needed) {
                *v = s15_at(t, 12 + 4 * i)?;
            }
            let [g, a, b, c, d, e, f] = p;
            let pow = |base: f64| if base > 0.0 { base.powf(g) } else { 0.0 };
            Some(match kind {
                0 => pow(x),
                1 if x >= -b / a => pow(a * x + b),
                2 if x >= -b / a => pow(a * x + b) + c,
                1 => 0.0,
                2 => c,
                3 if x >= d => pow(a * x + b),
                3 => c * x,
                _ if x >= d => pow(a * x + b) + e,
                _ => c * x + f,
            })
        }
        _ => None,
    }
}

fn is_srgb_curve(icc: &[u8], sig: &[u8; 4]) -> bool {
    let Some(t) = tag(icc, sig) else { return false };
    [0.0, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0]
        .iter()
        .all(|&x| {
            eval_curve(t, x)
                .is_some_and(|y| y.is_finite() && (y - srgb_curve(x)).abs() <= CURVE_TOLERANCE)
        })
}

/// Which standard space an embedded profile describes, by its colorimetry (never by its
/// name, which anyone can write): an RGB display (or colour space) profile to XYZ, whose
/// colorants are within [`COLORANT_TOLERANCE`] of sRGB's or Display P3's and whose three
/// curves are the sRGB curve within [`CURVE_TOLERANCE`]. `None` for anything else,
/// including a malformed profile.
pub fn recognise(icc: &[u8]) -> Option<StandardProfile> {
    let size = usize::try_from(be32(icc, 0)?).ok()?;
    if size < 132 || size > icc.len() {
        return None;
    }
    let icc = &icc[..size];
    if icc.get(36..40)? != b"acsp"
        || icc.get(16..24)? != b"RGB XYZ "
        || !matches!(icc.get(12..16)?, b"mntr" | b"spac")
    {
        return None;
    }
    let found = [
        read_xyz(icc, b"rXYZ")?,
        read_xyz(icc, b"gXYZ")?,
        read_xyz(icc, b"bXYZ")?,
    ];
    if !(is_srgb_curve(icc, b"rTRC") && is_srgb_curve(icc, b"gTRC") && is_srgb_curve(icc, b"bTRC"))
    {
        return None;
    }
    StandardProfile::ALL.into_iter().find(|p| {
        p.colorants()
            .iter()
            .flatten()
            .zip(found.iter().flatten())
            .all(|(want, got)| (want - got).abs() <= COLORANT_TOLERANCE)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masques_own_profiles_are_recognised() {
        for p in StandardProfile::ALL {
            assert_eq!(recognise(&p.bytes()), Some(p), "{p:?}");
        }
    }

    #[test]
    fn other_colorants_and_curves_are_not() {
        // Adobe RGB (1998)'s colorants, adapted to D50.
        let adobe = [
            [0.609756, 0.311124, 0.019481],
            [0.205240, 0.625656, 0.060890],
            [0.149224, 0.063220, 0.744839],
        ];
        assert_eq!(recognise(&rgb_profile("sRGB", adobe)), None);
        // sRGB colorants with a linear curve (type 0, gamma 1).
        let mut linear = StandardProfile::Srgb.bytes();
        let para = linear
            .windows(4)
            .position(|w| w == b"para")
            .expect("a curve");
        linear[para + 12..para + 16].copy_from_slice(&65536i32.to_be_bytes());
        linear[para + 8..para + 10].copy_from_slice(&0u16.to_be_bytes());
        assert_eq!(recognise(&linear), None);
    }

    #[test]
    fn malformed_profiles_are_dropped_without_panicking() {
        let good = StandardProfile::Srgb.bytes();
        for len in 0..good.len() {
            let cut = &good[..len];
            assert_eq!(recognise(cut), None, "cut at {len}");
        }
        let mut huge = good.clone();
        huge[128..132].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(recognise(&huge), None);
        let mut offsets = good.clone();
        for i in 0..10 {
            let at = 132 + 12 * i + 4;
            offsets[at..at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        }
        assert_eq!(recognise(&offsets), None);
        assert_eq!(recognise(&[0xFF; 4096]), None);
    }
}
