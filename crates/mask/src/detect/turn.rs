//! Quarter turns of a picture, and where a box lies once the picture is turned and back.
//!
//! The network finds upright faces best; a picture that may be sideways or upside down is
//! searched in its turned copies too ([`super::Detector::search_turned`]), and each copy's
//! boxes are turned back into the picture's pixels.
//!
//! **Guarantees**: [`Turn::back`] undoes [`Turn::forward`] exactly, and both agree with
//! the pixels [`Turn::apply`] moves (tested on a marked pixel).

use image::RgbImage;
use image::imageops;
use serde::Serialize;

use super::Rect;

/// A clockwise quarter turn of the picture, tried when it may be sideways or upside down
/// (the network finds upright faces best).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Turn {
    /// The picture as it is.
    #[serde(rename = "0")]
    None,
    /// Turned 90 degrees clockwise.
    #[serde(rename = "90")]
    Quarter,
    /// Turned 180 degrees.
    #[serde(rename = "180")]
    Half,
    /// Turned 270 degrees clockwise (90 anticlockwise).
    #[serde(rename = "270")]
    ThreeQuarters,
}

impl Turn {
    /// All four turns, the picture as it is first.
    pub const ALL: [Turn; 4] = [Turn::None, Turn::Quarter, Turn::Half, Turn::ThreeQuarters];

    /// The turn in degrees, clockwise.
    pub fn degrees(self) -> u16 {
        match self {
            Turn::None => 0,
            Turn::Quarter => 90,
            Turn::Half => 180,
            Turn::ThreeQuarters => 270,
        }
    }

    /// `image` turned.
    pub fn apply(self, image: &RgbImage) -> RgbImage {
        match self {
            Turn::None => image.clone(),
            Turn::Quarter => imageops::rotate90(image),
            Turn::Half => imageops::rotate180(image),
            Turn::ThreeQuarters => imageops::rotate270(image),
        }
    }

    /// Where the rectangle (x, y, width, height) of a `w` x `h` picture lies once the
    /// picture is turned.
    pub fn forward(self, (x, y, bw, bh): Rect, w: f32, h: f32) -> Rect {
        match self {
            Turn::None => (x, y, bw, bh),
            Turn::Quarter => (h - y - bh, x, bh, bw),
            Turn::Half => (w - x - bw, h - y - bh, bw, bh),
            Turn::ThreeQuarters => (y, w - x - bw, bh, bw),
        }
    }

    /// Where a rectangle of the turned picture lies in the `w` x `h` picture as it is
    /// (the inverse of [`Turn::forward`]).
    pub fn back(self, (x, y, bw, bh): Rect, w: f32, h: f32) -> Rect {
        match self {
            Turn::None => (x, y, bw, bh),
            Turn::Quarter => (y, h - x - bw, bh, bw),
            Turn::Half => (w - x - bw, h - y - bh, bw, bh),
            Turn::ThreeQuarters => (w - y - bh, x, bh, bw),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_map_boxes_there_and_back() {
        let (w, h) = (300.0, 200.0);
        let b = (10.0, 20.0, 30.0, 40.0);
        for turn in Turn::ALL {
            assert_eq!(turn.back(turn.forward(b, w, h), w, h), b, "{turn:?}");
        }
        // Checked against the pixels: a single marked pixel goes where the box says.
        let mut img = RgbImage::new(3, 2);
        img.put_pixel(2, 0, image::Rgb([255, 0, 0]));
        for turn in Turn::ALL {
            let t = turn.apply(&img);
            let (x, y, bw, bh) = turn.forward((2.0, 0.0, 1.0, 1.0), 3.0, 2.0);
            assert_eq!((bw, bh), (1.0, 1.0));
            assert_eq!(t.get_pixel(x as u32, y as u32).0, [255, 0, 0], "{turn:?}");
        }
    }
}
