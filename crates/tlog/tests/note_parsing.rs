//! Signed-note known answers (C2SP and Go `sumdb/note` examples) and strict parsing of
//! malformed notes.

use masque_tlog::keys::{KeyName, PublicKey, SecretKey, TYPE_ED25519};
use masque_tlog::note::{self, Ed25519Signer, Ed25519Verifier, Note, NoteError, NoteVerifier};

const C2SP_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const C2SP_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
const GO_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_SIG_LINE: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

/// Recognises the error a malformed input must produce.
type ErrorCheck = fn(&NoteError) -> bool;

fn c2sp_verifier() -> Ed25519Verifier {
    Ed25519Verifier::new(PublicKey::from_vkey(C2SP_VKEY).unwrap()).unwrap()
}

#[test]
fn c2sp_example_note_verifies() {
    let v = c2sp_verifier();
    let opened = note::open(C2SP_NOTE.as_bytes(), &[&v]).unwrap();
    assert_eq!(opened.note.text(), "This is an example message.\n");
    assert_eq!(opened.verified, vec![0]);
    assert_eq!(opened.note.to_bytes(), C2SP_NOTE.as_bytes());
}

#[test]
fn go_example_signature_is_reproduced_exactly() {
    // Ed25519 is deterministic: our signer must produce Go's published signature line.
    let key = SecretKey::from_skey(GO_SKEY).unwrap();
    let mut n = Note::new(GO_TEXT).unwrap();
    n.sign(&Ed25519Signer::new(&key));
    let want = format!("{GO_TEXT}\n{GO_SIG_LINE}");
    assert_eq!(String::from_utf8(n.to_bytes()).unwrap(), want);
    let v = Ed25519Verifier::new(key.public_key(TYPE_ED25519)).unwrap();
    assert!(note::open(want.as_bytes(), &[&v]).is_ok());
}

#[test]
fn unknown_keys_are_ignored_but_one_known_key_is_required() {
    let v = c2sp_verifier();
    let other = SecretKey::generate(KeyName::new("other.example/key").unwrap());
    let mut n = Note::parse(C2SP_NOTE.as_bytes()).unwrap();
    n.sign(&Ed25519Signer::new(&other));
    let opened = note::open(&n.to_bytes(), &[&v]).unwrap();
    assert_eq!(opened.verified, vec![0]);
    // Same name as a known key but another ID: ignored, so only unknown signatures remain.
    let impostor = SecretKey::generate(KeyName::new("example.com/foo").unwrap());
    let mut only_impostor = Note::new("This is an example message.\n").unwrap();
    only_impostor.sign(&Ed25519Signer::new(&impostor));
    assert_eq!(
        note::open(&only_impostor.to_bytes(), &[&v]),
        Err(NoteError::NotSignedByKnownKey)
    );
    let no_keys: [&dyn NoteVerifier; 0] = [];
    assert_eq!(
        note::open(C2SP_NOTE.as_bytes(), &no_keys),
        Err(NoteError::NotSignedByKnownKey)
    );
}

#[test]
fn bad_signature_by_known_key_rejects_the_note() {
    let v = c2sp_verifier();
    let tampered = C2SP_NOTE.replace("example message", "exemple message");
    assert!(matches!(
        note::open(tampered.as_bytes(), &[&v]),
        Err(NoteError::InvalidSignature { .. })
    ));
}

#[test]
fn duplicate_signature_by_known_key_is_refused() {
    let v = c2sp_verifier();
    let line = C2SP_NOTE.split("\n\n").nth(1).unwrap();
    let doubled = format!("{C2SP_NOTE}{line}");
    assert!(matches!(
        note::open(doubled.as_bytes(), &[&v]),
        Err(NoteError::DuplicateSignature { .. })
    ));
}

#[test]
fn malformed_notes_are_refused_with_a_reason() {
    let sig = C2SP_NOTE
        .split("\n\n")
        .nth(1)
        .unwrap()
        .trim_end_matches('\n');
    let cases: Vec<(String, ErrorCheck)> = vec![
        // CRLF line endings.
        (C2SP_NOTE.replace('\n', "\r\n"), |e| {
            matches!(e, NoteError::ControlCharacter { char: 0x0d, .. })
        }),
        // No blank line before the signatures.
        (format!("This is an example message.\n{sig}\n"), |e| {
            matches!(e, NoteError::MissingSignatures)
        }),
        // Missing final newline.
        (format!("This is an example message.\n\n{sig}"), |e| {
            matches!(e, NoteError::MissingSignatures)
        }),
        // Extra blank line after the signatures.
        (format!("{C2SP_NOTE}\n"), |e| {
            matches!(e, NoteError::MissingSignatures)
        }),
        // Extra non-signature line in the block.
        (format!("{C2SP_NOTE}hello\n"), |e| {
            matches!(e, NoteError::BadSignatureLine { line: 2 })
        }),
        // Bad base64.
        (C2SP_NOTE.replace("Uw2QOkn8", "Uw2QOk!8"), |e| {
            matches!(e, NoteError::BadSignatureLine { line: 1 })
        }),
        // Non-canonical base64 (padding removed).
        (C2SP_NOTE.replace("aQM=", "aQM"), |e| {
            matches!(e, NoteError::BadSignatureLine { .. })
        }),
        // Hyphen instead of em dash.
        (C2SP_NOTE.replace('\u{2014}', "-"), |e| {
            matches!(e, NoteError::BadSignatureLine { .. })
        }),
        // Two spaces after the dash (empty name).
        (C2SP_NOTE.replace("\u{2014} ", "\u{2014}  "), |e| {
            matches!(e, NoteError::BadSignatureLine { .. })
        }),
        // Signature too short for a key ID.
        ("x\n\n\u{2014} a AAAA\n".to_string(), |e| {
            matches!(e, NoteError::BadSignatureLine { .. })
        }),
        // Tab in the text.
        (C2SP_NOTE.replace("is an", "is\tan"), |e| {
            matches!(e, NoteError::ControlCharacter { char: 9, .. })
        }),
        // Invalid UTF-8 is checked on bytes below.
        // Empty text.
        (format!("\n{sig}\n"), |e| {
            matches!(e, NoteError::MissingSignatures | NoteError::BadText)
        }),
    ];
    for (input, expect) in cases {
        let err = Note::parse(input.as_bytes()).unwrap_err();
        assert!(expect(&err), "{input:?} gave {err:?}");
    }
    assert_eq!(Note::parse(b"\xff\n\n"), Err(NoteError::NotUtf8));
    let too_many: String = format!(
        "x\n\n{}",
        (0..101)
            .map(|_| "\u{2014} a AAAAAAA=\n")
            .collect::<String>()
    );
    assert_eq!(
        Note::parse(too_many.as_bytes()),
        Err(NoteError::TooManySignatures)
    );
}

#[test]
fn adding_a_signature_twice_keeps_one() {
    let key = SecretKey::from_skey(GO_SKEY).unwrap();
    let mut n = Note::new(GO_TEXT).unwrap();
    n.sign(&Ed25519Signer::new(&key));
    n.sign(&Ed25519Signer::new(&key));
    assert_eq!(n.signatures().len(), 1);
}
