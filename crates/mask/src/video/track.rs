//! Keeping a face covered in the frames where the detector missed it.
//!
//! Detections of consecutive frames are linked into tracks (a detection joins the track
//! whose latest box it overlaps most, if that box is at most `hold` frames old). A frame
//! then gets, for every track:
//! - the track's own box where the track was detected in that frame;
//! - between two detections of the track (at most `hold` frames apart), the box
//!   interpolated linearly between them;
//! - up to `hold` frames after the track's last detection, and before its first, that
//!   detection's box, grown by [`GROWTH_PER_FRAME`] of its size per frame away (the face
//!   may be moving) up to [`MAX_GROWTH`].
//!
//! **Guarantees**: every detection covers its own frame; the boxes of frame `j` depend
//! only on the detections of frames up to `j + hold`, so frame `j` can be written once
//! frame `j + hold` has been looked at ([`Tracker::ready`]), and the answer is the same as
//! with the whole video known (tested).
//!
//! **Not guaranteed**: that a face the detector never found, or missed for longer than
//! `hold` frames, is covered; nor that a fast-moving face stays inside a held box.

use crate::detect::Face;

/// A held box grows by this fraction of its width and height for each frame away from the
/// detection it comes from.
pub const GROWTH_PER_FRAME: f32 = 0.05;
/// A held box grows at most by this fraction of its width and height.
pub const MAX_GROWTH: f32 = 0.5;
/// A detection joins a track whose latest box it overlaps by at least this intersection
/// over union, or whose latest box contains its centre.
const LINK_IOU: f32 = 0.2;

/// One face followed through the frames: its detections, in frame order.
#[derive(Clone, Debug, Default)]
struct Track {
    detections: Vec<(usize, Face)>,
}

impl Track {
    fn last(&self) -> (usize, Face) {
        *self.detections.last().expect("a track has a detection")
    }

    fn first(&self) -> (usize, Face) {
        self.detections[0]
    }
}

/// Where the boxes of a box-covering are, frame by frame; see the module documentation.
#[derive(Clone, Debug)]
pub struct Tracker {
    hold: usize,
    tracks: Vec<Track>,
    /// The next frame [`Tracker::push`] expects.
    next: usize,
}

/// Whether `face`'s centre lies inside `other`.
fn centre_inside(face: &Face, other: &Face) -> bool {
    let (cx, cy) = (face.x + face.width / 2.0, face.y + face.height / 2.0);
    cx >= other.x && cx <= other.x + other.width && cy >= other.y && cy <= other.y + other.height
}

/// `face` grown by `fraction` of its size about its centre.
fn grown(face: Face, fraction: f32) -> Face {
    let (dw, dh) = (face.width * fraction, face.height * fraction);
    Face {
        x: face.x - dw / 2.0,
        y: face.y - dh / 2.0,
        width: face.width + dw,
        height: face.height + dh,
        score: face.score,
    }
}

/// The box `t` of the way from `a` to `b`.
fn between(a: Face, b: Face, t: f32) -> Face {
    let mix = |p: f32, q: f32| p + (q - p) * t;
    Face {
        x: mix(a.x, b.x),
        y: mix(a.y, b.y),
        width: mix(a.width, b.width),
        height: mix(a.height, b.height),
        score: a.score.min(b.score),
    }
}

impl Tracker {
    /// A tracker that bridges gaps and holds boxes for up to `hold` frames (0: every frame
    /// gets its own detections only).
    pub fn new(hold: usize) -> Tracker {
        Tracker {
            hold,
            tracks: Vec::new(),
            next: 0,
        }
    }

    /// How many frames a box is held or a gap bridged.
    pub fn hold(&self) -> usize {
        self.hold
    }

    /// Records the detections of the next frame (frames are pushed in order, from 0).
    /// Returns that frame's number.
    pub fn push(&mut self, faces: &[Face]) -> usize {
        let frame = self.next;
        self.next += 1;
        // Candidate links, strongest overlap first; each track and detection used once.
        let mut links = Vec::new();
        for (d, face) in faces.iter().enumerate() {
            for (t, track) in self.tracks.iter().enumerate() {
                let (seen, last) = track.last();
                if frame - seen > self.hold.max(1) {
                    continue;
                }
                let iou = face.iou(&last);
                if iou >= LINK_IOU || centre_inside(face, &last) || centre_inside(&last, face) {
                    links.push((iou, d, t));
                }
            }
        }
        links.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut detection_used = vec![false; faces.len()];
        let mut track_used = vec![false; self.tracks.len()];
        for (_, d, t) in links {
            if detection_used[d] || track_used[t] {
                continue;
            }
            detection_used[d] = true;
            track_used[t] = true;
            self.tracks[t].detections.push((frame, faces[d]));
        }
        for (d, face) in faces.iter().enumerate() {
            if !detection_used[d] {
                self.tracks.push(Track {
                    detections: vec![(frame, *face)],
                });
            }
        }
        // Tracks that can no longer reach any frame still to be asked for.
        let horizon = self.hold * 2 + 1;
        self.tracks
            .retain(|t| frame.saturating_sub(t.last().0) <= horizon);
        frame
    }

    /// Whether [`Tracker::boxes`] for `frame` is final: the frames up to `frame + hold`
    /// have been pushed (or `finished`: the video has no more frames).
    pub fn ready(&self, frame: usize, finished: bool) -> bool {
        frame < self.next && (finished || frame + self.hold < self.next)
    }

    /// The boxes to cover in `frame` (see the module documentation). Final once
    /// [`Tracker::ready`] says so; frames more than `hold + 1` behind the latest one
    /// pushed may have been forgotten.
    pub fn boxes(&self, frame: usize) -> Vec<Face> {
        let mut out = Vec::new();
        for track in &self.tracks {
            let (first_seen, first) = track.first();
            let (last_seen, last) = track.last();
            if frame < first_seen {
                let away = first_seen - frame;
                if away <= self.hold {
                    out.push(grown(first, growth(away)));
                }
            } else if frame > last_seen {
                let away = frame - last_seen;
                if away <= self.hold {
                    out.push(grown(last, growth(away)));
                }
            } else {
                // first_seen <= frame <= last_seen: between two detections of the track.
                let after = track.detections.partition_point(|&(f, _)| f <= frame);
                let (fa, a) = track.detections[after - 1];
                if fa == frame {
                    out.push(a);
                } else {
                    let (fb, b) = track.detections[after];
                    out.push(between(a, b, (frame - fa) as f32 / (fb - fa) as f32));
                }
            }
        }
        out
    }
}

fn growth(frames_away: usize) -> f32 {
    (frames_away as f32 * GROWTH_PER_FRAME).min(MAX_GROWTH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn face(x: f32, y: f32, side: f32) -> Face {
        Face {
            x,
            y,
            width: side,
            height: side,
            score: 0.9,
        }
    }

    fn contains(outer: &Face, inner: &Face) -> bool {
        outer.x <= inner.x + 1e-3
            && outer.y <= inner.y + 1e-3
            && outer.x + outer.width >= inner.x + inner.width - 1e-3
            && outer.y + outer.height >= inner.y + inner.height - 1e-3
    }

    #[test]
    fn a_gap_is_bridged_by_interpolation_and_the_ends_are_held() {
        let mut tracker = Tracker::new(3);
        let detections = [
            vec![],
            vec![face(10.0, 10.0, 20.0)],
            vec![],
            vec![],
            vec![face(16.0, 10.0, 20.0)],
            vec![],
            vec![],
            vec![],
            vec![],
        ];
        for d in &detections {
            tracker.push(d);
        }
        // Frame 0 is one frame before the first detection: held, grown by 5 %.
        assert_eq!(tracker.boxes(0), vec![grown(face(10.0, 10.0, 20.0), 0.05)]);
        assert_eq!(tracker.boxes(1), vec![face(10.0, 10.0, 20.0)]);
        assert_eq!(tracker.boxes(2), vec![face(12.0, 10.0, 20.0)]);
        assert_eq!(tracker.boxes(3), vec![face(14.0, 10.0, 20.0)]);
        assert_eq!(tracker.boxes(7), vec![grown(face(16.0, 10.0, 20.0), 0.15)]);
        assert!(
            tracker.boxes(8).is_empty(),
            "four frames after: no longer held"
        );
    }

    #[test]
    fn two_faces_far_apart_are_two_tracks() {
        let mut tracker = Tracker::new(2);
        tracker.push(&[face(0.0, 0.0, 10.0), face(100.0, 0.0, 10.0)]);
        tracker.push(&[face(101.0, 0.0, 10.0)]);
        tracker.push(&[face(1.0, 0.0, 10.0), face(102.0, 0.0, 10.0)]);
        let boxes = tracker.boxes(1);
        assert_eq!(boxes.len(), 2, "{boxes:?}");
        assert!(boxes.contains(&face(101.0, 0.0, 10.0)));
        assert!(boxes.contains(&face(0.5, 0.0, 10.0)), "{boxes:?}");
    }

    #[test]
    fn hold_zero_covers_each_frame_with_its_own_detections_only() {
        let mut tracker = Tracker::new(0);
        tracker.push(&[face(5.0, 5.0, 10.0)]);
        tracker.push(&[]);
        assert!(tracker.ready(0, false) && tracker.ready(1, false));
        assert_eq!(tracker.boxes(0), vec![face(5.0, 5.0, 10.0)]);
        assert!(tracker.boxes(1).is_empty());
    }

    /// Detection lists for a few frames: boxes on a coarse grid so that links happen.
    fn video() -> impl Strategy<Value = Vec<Vec<Face>>> {
        let face = (0u8..6, 0u8..3, 0u8..4).prop_map(|(x, y, s)| {
            super::tests::face(x as f32 * 8.0, y as f32 * 8.0, 8.0 + s as f32 * 4.0)
        });
        proptest::collection::vec(proptest::collection::vec(face, 0..4), 1..24)
    }

    proptest! {
        #[test]
        fn every_detection_covers_its_frame_and_streaming_gives_the_final_answer(
            frames in video(),
            hold in 0usize..5,
        ) {
            // Streaming, as the video loop does: each frame asked for as soon as ready.
            let mut tracker = Tracker::new(hold);
            let mut streamed = Vec::new();
            for faces in &frames {
                tracker.push(faces);
                while streamed.len() < frames.len() && tracker.ready(streamed.len(), false) {
                    streamed.push(tracker.boxes(streamed.len()));
                }
            }
            while streamed.len() < frames.len() {
                prop_assert!(tracker.ready(streamed.len(), true));
                streamed.push(tracker.boxes(streamed.len()));
            }
            // The whole video known, nothing forgotten.
            let mut whole = Tracker::new(hold);
            for faces in &frames {
                whole.push(faces);
            }
            for (j, faces) in frames.iter().enumerate() {
                for f in faces {
                    prop_assert!(
                        streamed[j].iter().any(|b| contains(b, f)),
                        "frame {j}: {f:?} not covered by {:?}", streamed[j]
                    );
                }
                if j + hold + 2 >= frames.len() {
                    // Recent enough that the whole-video tracker still remembers it.
                    let mut a = streamed[j].clone();
                    let mut b = whole.boxes(j);
                    let key = |f: &Face| (f.x.to_bits(), f.y.to_bits(), f.width.to_bits());
                    a.sort_by_key(key);
                    b.sort_by_key(key);
                    prop_assert_eq!(a, b, "frame {}", j);
                }
            }
        }

        #[test]
        fn a_face_seen_with_a_short_gap_is_covered_in_the_gap(
            gap in 1usize..6,
            hold in 1usize..6,
            dx in -3.0f32..3.0,
        ) {
            // Linked and interpolated within `hold`; held from both ends up to twice that.
            prop_assume!(gap <= 2 * hold);
            let mut tracker = Tracker::new(hold);
            tracker.push(&[face(50.0, 50.0, 20.0)]);
            for _ in 0..gap {
                tracker.push(&[]);
            }
            tracker.push(&[face(50.0 + dx * gap as f32, 50.0, 20.0)]);
            for j in 1..=gap {
                let boxes = tracker.boxes(j);
                prop_assert!(!boxes.is_empty(), "frame {j} of a gap of {gap}, hold {hold}");
            }
        }
    }
}
