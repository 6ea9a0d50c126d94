//! Fuzzes every parser that reads untrusted bytes: signed notes, checkpoints, tile paths,
//! witness requests, entry bundles and policies. None may panic; whatever parses must
//! serialize back to the same bytes (notes, checkpoints, tile paths are canonical).
#![no_main]

use libfuzzer_sys::fuzz_target;
use masque_tlog::checkpoint::Checkpoint;
use masque_tlog::note::Note;
use masque_tlog::policy::Policy;
use masque_tlog::tiles::{TileId, decode_bundle};
use masque_tlog::witness::AddCheckpoint;

fuzz_target!(|data: &[u8]| {
    if let Ok(note) = Note::parse(data) {
        assert_eq!(note.to_bytes(), data);
        if let Ok(c) = Checkpoint::parse(note.text()) {
            assert_eq!(c.to_text(), note.text());
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(c) = Checkpoint::parse(text) {
            assert_eq!(c.to_text(), text);
        }
        if let Ok(tile) = TileId::parse_path(text) {
            assert_eq!(tile.path(), text);
        }
        let _ = Policy::parse(text);
    }
    if let Ok(req) = AddCheckpoint::parse(data) {
        assert_eq!(req.to_bytes(), data);
    }
    for width in [0usize, 1, 255] {
        let _ = decode_bundle(data, width);
    }
});
