//! Network inputs ("canvases") and the windows of a level they show.
//!
//! A tile of the first pass, or a re-check window that is best run alone, is a canvas of
//! its own: the input is the window's size rounded up to what a plan takes, and the
//! picture past the window fills the rest of it (zeros past the level's edge), as before
//! canvases existed. The re-check's small windows are instead packed side by side into
//! shared canvases ([`pack`]), [`GAP`] pixels of zeros apart: a window around a small
//! cover is mostly margin, and rounding each one up to a plan's size on its own cost
//! about a fifth of a 1080p frame's re-check input (`docs/BENCHMARKS.md`).
//!
//! **Guarantees**: every window given to [`pack`] is shown whole, its own pixels at its
//! own place, in exactly one canvas; windows sharing a canvas are at least [`GAP`] pixels
//! apart and the rest of the canvas is zero; a canvas is at most [`MAX_TILE`] a side and
//! a size [`input_size`] keeps (a plan's), and the packing costs no more input than the
//! windows alone. A face is credited to the window holding its centre ([`Canvas::part_at`]).
//!
//! **Not guaranteed**: that the network answers a window in a shared canvas exactly as it
//! would alone: its context past the window is zeros and, further out, the neighbouring
//! windows instead of the picture. The re-check's windows already hold the context it
//! needs ([`super::windows::MARGIN`]); what lies past them was never guaranteed.

use super::windows::{Window, input_size};
use super::{MAX_TILE, TILE};

/// Zeros between two windows sharing a canvas, in pixels.
pub(crate) const GAP: u32 = 16;

/// Shared canvases' sides are rounded up to a multiple of this (up to [`MAX_TILE`]), so
/// that few distinct input sizes (plans, 10 to 20 ms each to build) are needed.
const CANVAS_STEP: u32 = 128;

/// The widths a picture's shared canvases may have: few, so that few plans are built
/// for one picture (the 12 MP benchmark photo's re-check built 46 plans instead of 13
/// with every multiple of [`CANVAS_STEP`], a few tenths of a second, and packed little).
pub(crate) const PICTURE_WIDTHS: &[u32] = &[TILE, MAX_TILE];

/// The widths a stream's shared canvases may have: every multiple of [`CANVAS_STEP`] up
/// to [`MAX_TILE`]. The plans are built once for the whole stream (6 for a 1080p clip
/// instead of 2), and the windows around a frame's covers pack much better.
pub(crate) const STREAM_WIDTHS: &[u32] = &[128, 256, 384, 512, 640, 768, 896, 1024, MAX_TILE];

/// A window of a level and where its top left corner lies in a canvas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Part {
    /// The level's pixels shown.
    pub window: Window,
    /// Left edge in the canvas.
    pub x: u32,
    /// Top edge in the canvas.
    pub y: u32,
}

/// One network input: its size (a plan's) and the windows it shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Canvas {
    /// Width of the input.
    pub width: u32,
    /// Height of the input.
    pub height: u32,
    /// The windows shown: one at (0, 0) filling the canvas where the level has pixels,
    /// or several apart with zeros around them.
    pub parts: Vec<Part>,
}

impl Canvas {
    /// `window` of a `level_width` x `level_height` level alone, on the input
    /// [`input_size`] gives it: the window is grown to fill that input where the level
    /// has pixels (more of the picture around it, as a tile shows).
    pub(crate) fn alone(window: Window, level_width: u32, level_height: u32) -> Canvas {
        let (width, height) = input_size(window.width, window.height);
        let grown = Window {
            width: width.min(level_width - window.x),
            height: height.min(level_height - window.y),
            ..window
        };
        Canvas {
            width,
            height,
            parts: vec![Part {
                window: grown,
                x: 0,
                y: 0,
            }],
        }
    }

    /// Pixels of input.
    pub(crate) fn area(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }

    /// The part a face centred at (`x`, `y`) of the canvas belongs to: a lone window's
    /// whatever the centre (as for a tile), otherwise the one whose window holds the
    /// centre; none for a centre in the zeros between windows.
    pub(crate) fn part_at(&self, x: f32, y: f32) -> Option<&Part> {
        if let [lone] = self.parts.as_slice() {
            return Some(lone);
        }
        self.parts.iter().find(|p| {
            let (px, py) = (p.x as f32, p.y as f32);
            x >= px && x < px + p.window.width as f32 && y >= py && y < py + p.window.height as f32
        })
    }
}

/// Pixels of input `canvases` cost.
pub(crate) fn cost(canvases: &[Canvas]) -> u64 {
    canvases.iter().map(Canvas::area).sum()
}

/// `windows` of a `level_width` x `level_height` level (each at most [`MAX_TILE`] a side)
/// on as little input as the shelves below find: each window alone (its sides rounded
/// up to [`CANVAS_STEP`], as re-check windows always were), or packed tallest first
/// into rows of canvases of one of `widths`, whichever costs least.
pub(crate) fn pack(
    mut windows: Vec<Window>,
    (level_width, level_height): (u32, u32),
    widths: &[u32],
) -> Vec<Canvas> {
    windows.sort_by_key(|w| {
        (
            std::cmp::Reverse(w.height),
            std::cmp::Reverse(w.width),
            w.y,
            w.x,
        )
    });
    let level = (level_width, level_height);
    let mut best: Vec<Canvas> = windows.iter().map(|&w| alone(w, level)).collect();
    let widest = windows.iter().map(|w| w.width).max().unwrap_or(0);
    for &width in widths.iter().filter(|&&w| w >= widest) {
        let packed = shelves(&windows, width, level);
        if cost(&packed) < cost(&best) {
            best = packed;
        }
    }
    best
}

/// `window` alone, its sides rounded up to [`CANVAS_STEP`] within the level.
fn alone(window: Window, (level_width, level_height): (u32, u32)) -> Canvas {
    let (x, width) = round_within(window.x, window.width, level_width);
    let (y, height) = round_within(window.y, window.height, level_height);
    Canvas::alone(
        Window {
            x,
            y,
            width,
            height,
        },
        level_width,
        level_height,
    )
}

/// The span at `start` of `len` pixels grown to a multiple of [`CANVAS_STEP`] (up to
/// [`MAX_TILE`]), moved back where it would pass `limit`: the new (start, len).
fn round_within(start: u32, len: u32, limit: u32) -> (u32, u32) {
    if len > MAX_TILE {
        return (start, len);
    }
    let rounded = len.div_ceil(CANVAS_STEP) * CANVAS_STEP;
    let rounded = rounded.min(MAX_TILE).min(limit).max(len);
    let start = start.min(limit - rounded);
    (start, rounded)
}

/// `windows` (tallest first) in rows of canvases at most `max_width` wide and
/// [`MAX_TILE`] high, [`GAP`] apart; a canvas left with one window is that window alone.
fn shelves(windows: &[Window], max_width: u32, level: (u32, u32)) -> Vec<Canvas> {
    /// A canvas being filled: its parts and its last row's top, height and right end.
    struct Open {
        parts: Vec<Part>,
        row_y: u32,
        row_height: u32,
        row_end: u32,
    }
    let close = |open: Open| -> Canvas {
        if let [lone] = open.parts.as_slice() {
            return alone(lone.window, level);
        }
        let used_height = open.row_y + open.row_height;
        let (width, height) = input_size(
            max_width,
            (used_height.div_ceil(CANVAS_STEP) * CANVAS_STEP).min(MAX_TILE),
        );
        Canvas {
            width,
            height,
            parts: open.parts,
        }
    };
    let mut canvases = Vec::new();
    let mut open: Option<Open> = None;
    for &window in windows {
        let place = |o: &mut Open, x: u32, y: u32| o.parts.push(Part { window, x, y });
        if let Some(o) = open.as_mut() {
            let x = o.row_end + GAP;
            if x + window.width <= max_width && window.height <= o.row_height {
                place(o, x, o.row_y);
                o.row_end = x + window.width;
                continue;
            }
            let y = o.row_y + o.row_height + GAP;
            if y + window.height <= MAX_TILE {
                place(o, 0, y);
                (o.row_y, o.row_height, o.row_end) = (y, window.height, window.width);
                continue;
            }
            canvases.extend(open.take().map(close));
        }
        let mut o = Open {
            parts: Vec::new(),
            row_y: 0,
            row_height: window.height,
            row_end: window.width,
        };
        place(&mut o, 0, 0);
        open = Some(o);
    }
    canvases.extend(open.map(close));
    canvases
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn window(x: u32, y: u32, width: u32, height: u32) -> Window {
        Window {
            x,
            y,
            width,
            height,
        }
    }

    #[test]
    fn a_lone_window_fills_its_input_with_the_level_around_it() {
        let c = Canvas::alone(window(100, 50, 200, 150), 1000, 230);
        assert_eq!((c.width, c.height), (256, 192));
        assert_eq!(
            c.parts,
            vec![Part {
                window: window(100, 50, 256, 180),
                x: 0,
                y: 0
            }]
        );
        // Any centre belongs to it, as for a tile.
        assert_eq!(c.part_at(-3.0, 500.0), Some(&c.parts[0]));
    }

    #[test]
    fn small_windows_share_a_canvas_and_faces_go_to_the_window_holding_their_centre() {
        let windows = vec![
            window(0, 0, 200, 200),
            window(1000, 600, 210, 190),
            window(500, 900, 180, 180),
        ];
        let packed = pack(windows.clone(), (2000, 1500), STREAM_WIDTHS);
        // Alone, each would be a 256 x 256 input; together they fit 640 x 256 or
        // 256 x 640 (the narrowest first, on a tie).
        assert_eq!(packed.len(), 1, "{packed:?}");
        assert_eq!(cost(&packed), 640 * 256, "{packed:?}");
        let c = &packed[0];
        assert_eq!(c.parts.len(), 3);
        for p in &c.parts {
            let (w, h) = (p.window.width as f32, p.window.height as f32);
            let (x, y) = (p.x as f32, p.y as f32);
            assert_eq!(c.part_at(x + w / 2.0, y + h / 2.0), Some(p));
            assert_eq!(c.part_at(x + 0.5, y + h - 0.5), Some(p));
            // Just past the window's right and bottom edges: the gap.
            assert_eq!(c.part_at(x + w + 1.0, y + 1.0), None, "{c:?}");
            assert_eq!(c.part_at(x + 1.0, y + h + 1.0), None, "{c:?}");
        }
    }

    #[test]
    fn a_window_alone_stays_alone_and_nothing_is_packed_from_nothing() {
        let packed = pack(
            vec![window(900, 1400, 200, 100)],
            (1000, 1450),
            STREAM_WIDTHS,
        );
        // Rounded up to 256 x 128 and moved back inside the level.
        assert_eq!(
            packed,
            vec![Canvas {
                width: 256,
                height: 128,
                parts: vec![Part {
                    window: window(744, 1322, 256, 128),
                    x: 0,
                    y: 0
                }],
            }]
        );
        assert!(pack(Vec::new(), (100, 100), PICTURE_WIDTHS).is_empty());
    }

    proptest! {
        /// Every window is shown whole in exactly one canvas, at its own pixels; windows
        /// sharing a canvas are GAP apart and inside it; canvases are plan sizes no larger
        /// than a tile; and packing never costs more than the windows alone.
        #[test]
        fn packing_shows_every_window_once_apart_and_costs_no_more(
            (lw, lh) in (1u32..3000, 1u32..3000),
            raw in proptest::collection::vec((0f32..1.0, 0f32..1.0, 1u32..=MAX_TILE, 1u32..=MAX_TILE), 0..14),
            picture: bool,
        ) {
            let windows: Vec<Window> = raw
                .iter()
                .map(|&(fx, fy, w, h)| {
                    let (w, h) = (w.min(lw), h.min(lh));
                    let x = ((lw - w) as f32 * fx) as u32;
                    let y = ((lh - h) as f32 * fy) as u32;
                    window(x, y, w, h)
                })
                .collect();
            let widths = if picture { PICTURE_WIDTHS } else { STREAM_WIDTHS };
            let packed = pack(windows.clone(), (lw, lh), widths);
            let alone: Vec<Canvas> = windows.iter().map(|&w| alone(w, (lw, lh))).collect();
            prop_assert!(cost(&packed) <= cost(&alone));
            let parts: Vec<(usize, Part)> = packed
                .iter()
                .enumerate()
                .flat_map(|(i, c)| c.parts.iter().map(move |&p| (i, p)))
                .collect();
            for c in &packed {
                prop_assert_eq!(input_size(c.width, c.height), (c.width, c.height));
                prop_assert!(c.width <= MAX_TILE && c.height <= MAX_TILE);
                for (k, a) in c.parts.iter().enumerate() {
                    prop_assert!(a.x + a.window.width <= c.width && a.y + a.window.height <= c.height);
                    prop_assert!(a.window.x + a.window.width <= lw && a.window.y + a.window.height <= lh);
                    for b in &c.parts[k + 1..] {
                        let apart = a.x + a.window.width + GAP <= b.x
                            || b.x + b.window.width + GAP <= a.x
                            || a.y + a.window.height + GAP <= b.y
                            || b.y + b.window.height + GAP <= a.y;
                        prop_assert!(apart, "{a:?} and {b:?} in {c:?}");
                    }
                }
            }
            // Each window in exactly one part (a lone one grown or moved to hold it).
            for w in &windows {
                let holding = parts
                    .iter()
                    .filter(|(i, p)| {
                        if packed[*i].parts.len() > 1 {
                            p.window == *w
                        } else {
                            p.window.x <= w.x && p.window.y <= w.y
                                && p.window.x + p.window.width >= w.x + w.width
                                && p.window.y + p.window.height >= w.y + w.height
                        }
                    })
                    .count();
                prop_assert!(holding >= 1, "{w:?} in none of {packed:?}");
            }
            prop_assert_eq!(parts.len(), windows.len());
        }
    }
}
