//! Where on a pyramid level the network is run.
//!
//! The first pass covers a level with tiles of at most [`MAX_TILE`] pixels a side,
//! overlapping by at least [`OVERLAP`] pixels ([`tiles`]), so a face up to [`LEVEL_FACE`]
//! pixels high (half the overlap) lies whole in one tile. A level is cut into as few
//! tiles as that allows, all of one size, so little of the network's work goes to overlap.
//!
//! The re-check after masking looks only around what changed ([`around`]), and only on
//! the levels that show a face the size it looks for there ([`Shown`]: from
//! [`RECHECK_SMALLEST`] of the changed area's longer side to all of it). On such a level
//! each changed area is grown by [`MARGIN`] pixels on every side, windows are merged where
//! one is no larger than two, a window larger than a tile is tiled like a level, and the
//! windows are packed side by side into shared inputs (`detect/canvas.rs`).
//! So every face of that size whose centre lies in a changed area lies whole in one window
//! of the level where it is between half of [`LEVEL_FACE`] and [`LEVEL_FACE`] (the size
//! every level's tiles show whole), with at least [`LEVEL_FACE`] pixels of the level
//! around it (where the level has them): what the adversary's check asks (no face centred
//! inside a covered region) for the faces a cover can leave behind (the covered face
//! itself is half of its area).
//!
//! **Not guaranteed**: a face centred outside every change whose score the change moved
//! (the network's context reaches further than the margin), or centred inside one but
//! smaller than [`RECHECK_SMALLEST`] of it or larger than it, is not looked at again;
//! whole tiles were, at 2.5 times the network input on the 12 MP benchmark photo's
//! re-check (44 megapixels against 17.7, see `docs/BENCHMARKS.md`).

use super::canvas::{self, Canvas, pack};
#[cfg(test)]
use super::canvas::{PICTURE_WIDTHS, STREAM_WIDTHS};
use super::{LEVEL_FACE, MAX_TILE, OVERLAP, Rect, TILE, WIDE_TILE};

/// A rectangle of a level, in whole pixels, shown to the network in a canvas (alone, or
/// beside other windows: `detect/canvas.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl Window {
    pub(crate) fn area(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }

    /// Whether the two share a pixel.
    fn meets(&self, other: &Window) -> bool {
        self.x < other.x + other.width
            && other.x < self.x + self.width
            && self.y < other.y + other.height
            && other.y < self.y + self.height
    }

    fn union(&self, other: &Window) -> Window {
        let (x, y) = (self.x.min(other.x), self.y.min(other.y));
        let x2 = (self.x + self.width).max(other.x + other.width);
        let y2 = (self.y + self.height).max(other.y + other.height);
        Window {
            x,
            y,
            width: x2 - x,
            height: y2 - y,
        }
    }
}

/// The face sizes a pyramid level shows whole, as heights in pixels of the full picture.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Shown {
    smallest: f32,
    largest: f32,
}

impl Shown {
    /// What the level at `scale` shows: faces from half of [`LEVEL_FACE`] to [`LEVEL_FACE`]
    /// pixels of the level, every smaller face too at the `finest` level (the picture
    /// itself) and every larger one at the `coarsest`.
    pub(crate) fn at(scale: f32, finest: bool, coarsest: bool) -> Shown {
        let face = LEVEL_FACE as f32 / scale;
        Shown {
            smallest: if finest { 0.0 } else { face / 2.0 },
            largest: if coarsest { f32::INFINITY } else { face },
        }
    }

    /// Whether the level shows a face the re-check looks for around `area` (in pixels of
    /// the full picture): one from [`RECHECK_SMALLEST`] of the area's longer side to the
    /// whole of it.
    pub(crate) fn any_around(&self, &(_, _, w, h): &Rect) -> bool {
        let side = w.max(h);
        side * RECHECK_SMALLEST <= self.largest && self.smallest <= side
    }
}

/// The smallest face the re-check looks for around a changed area, as a fraction of the
/// area's longer side. A covered face is half of its area (the cover is enlarged twice,
/// `cover::ENLARGE`); on the benchmark photo the re-check's detections inside covers were
/// 0.30 to 0.51 of the area (`docs/BENCHMARKS.md`, "Masking: the re-check at the levels
/// that matter").
pub(crate) const RECHECK_SMALLEST: f32 = 0.25;

/// How far (in pixels of the level) a changed area is grown on every side: half the
/// largest face a level must show whole (a face that size centred on the area's edge
/// reaches that far past it), that face's size again as surroundings, and the two pixels
/// over which the triangle filter that makes a smaller level mixes neighbouring pixels.
pub(crate) const MARGIN: u32 = LEVEL_FACE / 2 + LEVEL_FACE + 2;

/// Sides of inputs smaller than a tile are rounded up to a multiple of this (the network
/// needs a multiple of 32; 64 keeps the number of distinct plans down).
const SMALL_STEP: u32 = 64;

/// The input the network runs a `width` x `height` window on: the window's sides rounded
/// up to a multiple of [`SMALL_STEP`], widened to a square where it is taller than wide by
/// at most a quarter, or [`TILE`] x [`TILE`] (the plan always loaded) where that fits and
/// the rounded window would be more than three quarters of it.
///
/// Why widen: tract's plan costs more per pixel on an input taller than wide than on the
/// same input turned (`examples/profile_tile.rs`, one thread: 1,024 x 1,088 took 1.2 s
/// against 0.75 to 1.0 s for the larger 1,088 x 1,088; 576 x 960 0.78 s per megapixel
/// against 0.58 for 960 x 576), so a 1080p frame's two tiles of 1,024 x 1,080 ran faster
/// on 1,088 x 1,088 inputs, which show a little more of the picture past the tile. That
/// cost was in tract's matrix products; with masque's own kernels (since 2026-12-04) the
/// two inputs cost the same per run, and the widening neither helps nor hurts much.
pub(crate) fn input_size(width: u32, height: u32) -> (u32, u32) {
    let fit = |side: u32| side.div_ceil(SMALL_STEP).max(1) * SMALL_STEP;
    let (mut w, h) = (fit(width), fit(height));
    if w < h && h * 4 <= w * 5 {
        w = h;
    }
    if w <= TILE && h <= TILE && u64::from(w) * u64::from(h) * 4 > u64::from(TILE * TILE) * 3 {
        (TILE, TILE)
    } else {
        (w, h)
    }
}

/// What running the network on `windows` costs, in pixels of input.
fn cost(windows: &[Window]) -> u64 {
    windows
        .iter()
        .map(|w| {
            let (iw, ih) = input_size(w.width, w.height);
            u64::from(iw) * u64::from(ih)
        })
        .sum()
}

/// Spans (start, length) of the fewest tiles no longer than `max` (a multiple of
/// [`SMALL_STEP`] larger than [`OVERLAP`]) that cover `len` pixels with neighbours
/// overlapping by at least [`OVERLAP`]: all of one length (a multiple of [`SMALL_STEP`]),
/// spread evenly, the first at 0 and the last ending at `len`.
pub(crate) fn spans(len: u32, max: u32) -> Vec<(u32, u32)> {
    if len <= max {
        return vec![(0, len)];
    }
    // n tiles of length t overlap by OVERLAP when n * t >= len + (n - 1) * OVERLAP.
    let n = (len - OVERLAP).div_ceil(max - OVERLAP);
    let t = (len + (n - 1) * OVERLAP).div_ceil(n).div_ceil(SMALL_STEP) * SMALL_STEP;
    let t = t.min(max);
    (0..n)
        .map(|i| {
            let start = u64::from(i) * u64::from(len - t) / u64::from(n - 1);
            (start as u32, t)
        })
        .collect()
}

/// The tiles covering the `width` x `height` rectangle at (`x`, `y`), at most `max_width`
/// x `max_height` pixels each.
fn tile(
    (x, y, width, height): (u32, u32, u32, u32),
    (max_width, max_height): (u32, u32),
) -> impl Iterator<Item = Window> {
    spans(height, max_height)
        .into_iter()
        .flat_map(move |(ty, th)| {
            spans(width, max_width)
                .into_iter()
                .map(move |(tx, tw)| Window {
                    x: x + tx,
                    y: y + ty,
                    width: tw,
                    height: th,
                })
        })
}

/// The first pass's tiles of a `width` x `height` level: at most [`MAX_TILE`] pixels a
/// side, or, with `wide`, up to [`WIDE_TILE`] on one side and [`MAX_TILE`] on the other
/// (whichever way round costs less input), so that a 1080p frame is one input of
/// 1,920 x 1,088 instead of two of 1,088 x 1,088 (see [`WIDE_TILE`]).
pub(crate) fn tiles(width: u32, height: u32, wide: bool) -> Vec<Window> {
    let level = (0, 0, width, height);
    if !wide {
        return tile(level, (MAX_TILE, MAX_TILE)).collect();
    }
    let across: Vec<Window> = tile(level, (WIDE_TILE, MAX_TILE)).collect();
    let down: Vec<Window> = tile(level, (MAX_TILE, WIDE_TILE)).collect();
    if cost(&down) < cost(&across) {
        down
    } else {
        across
    }
}

/// The re-check's canvases of a `width` x `height` level around `areas` (in the level's
/// pixels); none when no area reaches the level. The windows, packed into canvases of
/// `widths` ([`pack`]); or, where those would cost more than the level's own tiles that reach the
/// grown areas (a small level with many changes close together), those tiles: a face
/// centred in an area lies within [`MARGIN`] of it, so the tile that shows it whole in
/// the first pass reaches the grown area and is among them (with the surroundings a
/// tile's overlap leaves it, not [`LEVEL_FACE`]).
pub(crate) fn around(areas: &[Rect], width: u32, height: u32, widths: &[u32]) -> Vec<Canvas> {
    let grown = grown(areas, width, height);
    let packed = pack(merged(grown.clone()), (width, height), widths);
    let tiles: Vec<Canvas> = tiles(width, height, false)
        .into_iter()
        .filter(|t| grown.iter().any(|g| t.meets(g)))
        .map(|t| Canvas::alone(t, width, height))
        .collect();
    if canvas::cost(&tiles) < canvas::cost(&packed) {
        tiles
    } else {
        packed
    }
}

/// `areas` grown by [`MARGIN`] and clipped to the level; those outside it dropped.
fn grown(areas: &[Rect], width: u32, height: u32) -> Vec<Window> {
    let margin = MARGIN as f32;
    areas
        .iter()
        .filter_map(|&(x, y, w, h)| {
            if !(x.is_finite() && y.is_finite() && w.is_finite() && h.is_finite()) {
                return None;
            }
            let clamp = |v: f32, max: u32| v.clamp(0.0, max as f32) as u32;
            let (x0, y0) = (
                clamp((x - margin).floor(), width),
                clamp((y - margin).floor(), height),
            );
            let x1 = clamp((x + w.max(0.0) + margin).ceil(), width);
            let y1 = clamp((y + h.max(0.0) + margin).ceil(), height);
            (x1 > x0 && y1 > y0).then_some(Window {
                x: x0,
                y: y0,
                width: x1 - x0,
                height: y1 - y0,
            })
        })
        .collect()
}

/// `grown` merged where one window over two is no larger than the two apart, and tiled
/// where larger than a tile.
fn merged(mut grown: Vec<Window>) -> Vec<Window> {
    let mut merged = true;
    while merged {
        merged = false;
        'pairs: for i in 0..grown.len() {
            for j in i + 1..grown.len() {
                let union = grown[i].union(&grown[j]);
                if union.area() <= grown[i].area() + grown[j].area() {
                    grown[i] = union;
                    grown.swap_remove(j);
                    merged = true;
                    break 'pairs;
                }
            }
        }
    }
    grown
        .into_iter()
        .flat_map(|w| tile((w.x, w.y, w.width, w.height), (MAX_TILE, MAX_TILE)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tiles_cover_with_overlap() {
        for max in [MAX_TILE, WIDE_TILE] {
            assert_eq!(spans(100, max), vec![(0, 100)]);
            assert_eq!(spans(max, max), vec![(0, max)]);
            for len in (max + 1..20_000).step_by(97) {
                let s = spans(len, max);
                assert_eq!(s[0].0, 0);
                assert_eq!(s.last().unwrap().0 + s.last().unwrap().1, len, "{s:?}");
                assert!(
                    s.iter()
                        .all(|&(_, t)| t <= max && t.is_multiple_of(SMALL_STEP)),
                    "{s:?}"
                );
                for pair in s.windows(2) {
                    assert!(pair[0].0 + pair[0].1 >= pair[1].0 + OVERLAP, "{len}: {s:?}");
                }
                // The fewest: one tile fewer could not overlap by OVERLAP.
                let n = s.len() as u32;
                assert!((n - 1) * max < len + (n - 2) * OVERLAP, "{len}: {s:?}");
            }
        }
        // A 1080p frame is two tiles; a 12 MP photo twelve.
        assert_eq!(tiles(1920, 1080, false).len(), 2);
        assert_eq!(tiles(4000, 3000, false).len(), 12);
    }

    #[test]
    fn wide_tiles_make_a_1080p_frame_one_input_either_way_up() {
        let one = |w: u32, h: u32| {
            vec![Window {
                x: 0,
                y: 0,
                width: w,
                height: h,
            }]
        };
        assert_eq!(tiles(1920, 1080, true), one(1920, 1080));
        assert_eq!(input_size(1920, 1080), (WIDE_TILE, 1088));
        assert_eq!(tiles(1080, 1920, true), one(1080, 1920));
        assert_eq!(input_size(1080, 1920), (1088, WIDE_TILE));
        assert_eq!(tiles(1280, 720, true), one(1280, 720));
        // Larger levels are cut, into tiles of at most WIDE_TILE by MAX_TILE, costing no
        // more input than the square tiles.
        for (w, h) in [
            (3840, 2160),
            (2160, 3840),
            (4000, 3000),
            (2000, 1500),
            (1921, 1089),
        ] {
            let (wide, square) = (tiles(w, h, true), tiles(w, h, false));
            assert!(cost(&wide) <= cost(&square), "{w} x {h}: {wide:?}");
            for t in &wide {
                let (long, short) = (t.width.max(t.height), t.width.min(t.height));
                assert!(long <= WIDE_TILE && short <= MAX_TILE, "{t:?}");
                assert!(t.x + t.width <= w && t.y + t.height <= h, "{t:?}");
            }
        }
    }

    #[test]
    fn levels_far_from_an_areas_size_are_skipped() {
        let (finest, middle, coarsest) = (
            Shown::at(1.0, true, false),
            Shown::at(0.25, false, false),
            Shown::at(0.125, false, true),
        );
        // A 30-pixel cover: faces of 7.5 to 30 pixels, all at the picture's own level.
        let small = (100.0, 100.0, 20.0, 30.0);
        assert!(finest.any_around(&small));
        assert!(!middle.any_around(&small) && !coarsest.any_around(&small));
        // An 800-pixel cover: faces of 200 to 800 pixels; the quarter level shows 96 to
        // 192, the coarsest everything from 192 up.
        let large = (0.0, 0.0, 800.0, 600.0);
        assert!(!finest.any_around(&large) && !middle.any_around(&large));
        assert!(coarsest.any_around(&large));
        assert!(!finest.any_around(&(0.0, 0.0, f32::NAN, f32::NAN)));
    }

    #[test]
    fn a_small_face_gets_one_small_window() {
        let canvases = around(&[(1000.0, 800.0, 40.0, 50.0)], 4000, 3000, STREAM_WIDTHS);
        let [canvas] = canvases.as_slice() else {
            panic!("{canvases:?}")
        };
        let [part] = canvas.parts.as_slice() else {
            panic!("{canvas:?}")
        };
        let w = part.window;
        assert!(
            w.x <= 1000 - MARGIN && w.x + w.width >= 1040 + MARGIN,
            "{w:?}"
        );
        assert!(canvas.width <= 256 && canvas.height <= 256, "{canvas:?}");
        assert!(around(&[(5000.0, 10.0, 10.0, 10.0)], 4000, 3000, STREAM_WIDTHS).is_empty());
        assert!(around(&[(f32::NAN, 10.0, 10.0, 10.0)], 4000, 3000, STREAM_WIDTHS).is_empty());
        // Two faces side by side share one window; three far apart share an input as
        // three windows (two would cost as much packed as apart, and stay apart).
        let near = around(
            &[(100.0, 100.0, 40.0, 40.0), (150.0, 100.0, 40.0, 40.0)],
            4000,
            3000,
            STREAM_WIDTHS,
        );
        assert_eq!(near.len(), 1);
        assert_eq!(near[0].parts.len(), 1);
        let far = around(
            &[
                (100.0, 100.0, 40.0, 40.0),
                (1500.0, 100.0, 40.0, 40.0),
                (800.0, 2000.0, 40.0, 40.0),
            ],
            4000,
            3000,
            STREAM_WIDTHS,
        );
        assert_eq!(far.len(), 1);
        assert_eq!(far[0].parts.len(), 3);
    }

    #[test]
    fn many_changes_on_a_small_level_cost_no_more_than_its_tiles() {
        let areas: Vec<Rect> = (0..48)
            .map(|i| ((i % 8) as f32 * 250.0, (i / 8) as f32 * 250.0, 12.0, 12.0))
            .collect();
        let windows = around(&areas, 2000, 1500, STREAM_WIDTHS);
        assert!(
            canvas::cost(&windows) <= cost(&tiles(2000, 1500, false)),
            "{windows:?}"
        );
        let one = around(&areas[..1], 2000, 1500, STREAM_WIDTHS);
        assert!(
            canvas::cost(&one) * 4 < cost(&tiles(2000, 1500, false)),
            "{one:?}"
        );
    }

    proptest! {
        /// The re-check skips a level for an area only where that level shows no face
        /// the re-check looks for around it: each face from RECHECK_SMALLEST of the area's
        /// longer side to all of it is shown whole at a level the area is kept at.
        #[test]
        fn every_face_the_recheck_wants_is_shown_at_a_level_kept(
            levels in 1usize..7,
            (w, h) in (0.5f32..6000.0, 0.5f32..6000.0),
            fraction in 0f32..=1.0,
        ) {
            let area = (10.0, 20.0, w, h);
            let side = w.max(h);
            let face = side * (RECHECK_SMALLEST + fraction * (1.0 - RECHECK_SMALLEST));
            let shown: Vec<Shown> = (0..levels)
                .map(|l| Shown::at(0.5f32.powi(l as i32), l == 0, l == levels - 1))
                .collect();
            let showing = shown
                .iter()
                .find(|s| s.smallest <= face && face <= s.largest);
            prop_assert!(showing.is_some(), "no level shows a {face} px face: {shown:?}");
            prop_assert!(showing.unwrap().any_around(&area), "{face} px, {shown:?}");
        }

        /// The guarantee: every face up to LEVEL_FACE pixels whose centre lies in a changed
        /// area lies whole in one window, with LEVEL_FACE pixels of the level around it
        /// where the level has them; every window lies inside the level and fits a tile.
        #[test]
        fn every_face_centred_in_a_change_lies_whole_in_a_window(
            width in 1u32..2500,
            height in 1u32..2500,
            areas in proptest::collection::vec((0f32..2600.0, 0f32..2600.0, 0f32..700.0, 0f32..700.0), 1..12),
            face in (0u32..2500, 0u32..2500, 1u32..=LEVEL_FACE, 1u32..=LEVEL_FACE),
            picture: bool,
        ) {
            let widths = if picture { PICTURE_WIDTHS } else { STREAM_WIDTHS };
            let canvases = around(&areas, width, height, widths);
            let windows: Vec<Window> = canvases
                .iter()
                .flat_map(|c| c.parts.iter().map(|p| p.window))
                .collect();
            for w in &windows {
                prop_assert!(w.x + w.width <= width && w.y + w.height <= height, "{w:?}");
                prop_assert!(w.width <= MAX_TILE && w.height <= MAX_TILE, "{w:?}");
                prop_assert!(w.width > 0 && w.height > 0, "{w:?}");
            }
            let (fx, fy) = (face.0.min(width - 1), face.1.min(height - 1));
            let (fx2, fy2) = ((fx + face.2).min(width), (fy + face.3).min(height));
            let (cx, cy) = ((fx + fx2) as f32 / 2.0, (fy + fy2) as f32 / 2.0);
            let centred = areas.iter().any(|&(x, y, w, h)| {
                cx >= x && cx <= x + w && cy >= y && cy <= y + h
            });
            // The face grown by LEVEL_FACE on every side, clipped to the level.
            let (gx, gy) = (fx.saturating_sub(LEVEL_FACE), fy.saturating_sub(LEVEL_FACE));
            let (gx2, gy2) = ((fx2 + LEVEL_FACE).min(width), (fy2 + LEVEL_FACE).min(height));
            // Where the level's own tiles were cheaper, they give what the first pass gave:
            // the face whole in one of them.
            let level_tiles: Vec<Canvas> = tiles(width, height, false)
                .into_iter()
                .map(|t| Canvas::alone(t, width, height))
                .collect();
            let tiled = canvases.iter().all(|c| level_tiles.contains(c));
            let (gx, gy, gx2, gy2) = if tiled { (fx, fy, fx2, fy2) } else { (gx, gy, gx2, gy2) };
            if centred {
                prop_assert!(
                    windows.iter().any(|w| w.x <= gx && w.y <= gy
                        && w.x + w.width >= gx2 && w.y + w.height >= gy2),
                    "face {:?} (tiled: {tiled}) in none of {windows:?}", (fx, fy, fx2, fy2)
                );
            }
        }
    }
}
