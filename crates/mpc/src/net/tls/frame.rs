//! The frame format on a party-to-party connection.
//!
//! Every message travels as one frame `[u32 len][u64 session][payload]`: `len` is the
//! payload length in bytes, both integers big-endian (network order). A receiver checks
//! `len` against its maximum *before* allocating anything, so a peer cannot make it
//! reserve more than the limit; a frame over the limit, or a stream that ends inside a
//! frame, is a [`FrameError`] and the connection is dropped. A stream that ends exactly
//! between two frames is a clean close.
//!
//! Session id `u64::MAX` ([`CONTROL`]) is reserved for control frames between the nodes
//! themselves; the only one is [`Control::SessionClosed`], payload `[0x01][u64 session]`,
//! which a node sends to both peers when a session ends at it.

use crate::randomness::SessionId;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Bytes of a frame header: the payload length and the session id.
pub const HEADER_LEN: usize = 12;

/// The session id of control frames (never a protocol session).
pub const CONTROL: SessionId = SessionId(u64::MAX);

/// A control frame's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// The sender closed this session: it will send nothing more in it.
    SessionClosed(SessionId),
}

const SESSION_CLOSED: u8 = 1;

impl Control {
    /// The payload of the control frame.
    pub fn encode(self) -> Vec<u8> {
        match self {
            Control::SessionClosed(id) => {
                let mut out = vec![SESSION_CLOSED];
                out.extend_from_slice(&id.0.to_be_bytes());
                out
            }
        }
    }

    /// Parses a control frame's payload.
    pub fn decode(payload: &[u8]) -> Result<Self, FrameError> {
        match payload {
            [SESSION_CLOSED, id @ ..] => {
                let id: [u8; 8] = id.try_into().map_err(|_| {
                    FrameError::Control(format!("session-closed of {} bytes", payload.len()))
                })?;
                Ok(Control::SessionClosed(SessionId(u64::from_be_bytes(id))))
            }
            [kind, ..] => Err(FrameError::Control(format!("unknown kind {kind}"))),
            [] => Err(FrameError::Control("empty".into())),
        }
    }
}

/// Why bytes from a peer are not a valid frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The header announces a payload over the receiver's limit.
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Announced payload length.
        len: u64,
        /// The receiver's limit.
        max: u32,
    },
    /// The bytes end inside a frame.
    #[error("truncated frame: {got} of {expected} bytes")]
    Truncated {
        /// Bytes the frame needs (header and payload).
        expected: u64,
        /// Bytes that were there.
        got: u64,
    },
    /// A control frame that is not one this code knows.
    #[error("malformed control frame: {0}")]
    Control(String),
    /// The connection failed while reading (an I/O error, not a format error).
    #[error("connection failed while reading a frame: {0}")]
    Io(String),
}

/// The header of a frame carrying `len` payload bytes for `session`.
pub fn encode_header(session: SessionId, len: u32) -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    header[..4].copy_from_slice(&len.to_be_bytes());
    header[4..].copy_from_slice(&session.0.to_be_bytes());
    header
}

/// Splits a header into (payload length, session), refusing a length over `max`.
pub fn decode_header(header: &[u8; HEADER_LEN], max: u32) -> Result<(u32, SessionId), FrameError> {
    let mut len = [0u8; 4];
    len.copy_from_slice(&header[..4]);
    let len = u32::from_be_bytes(len);
    if len > max {
        return Err(FrameError::TooLarge {
            len: len.into(),
            max,
        });
    }
    let mut session = [0u8; 8];
    session.copy_from_slice(&header[4..]);
    Ok((len, SessionId(u64::from_be_bytes(session))))
}

/// One whole frame; `None` if the payload does not fit the `u32` length field.
pub fn encode(session: SessionId, payload: &[u8]) -> Option<Vec<u8>> {
    let len = u32::try_from(payload.len()).ok()?;
    let mut frame = Vec::with_capacity(HEADER_LEN + payload.len());
    frame.extend_from_slice(&encode_header(session, len));
    frame.extend_from_slice(payload);
    Some(frame)
}

/// Parses the first frame of `bytes`: its session, payload and the bytes it used.
pub fn decode(bytes: &[u8], max: u32) -> Result<(SessionId, &[u8], usize), FrameError> {
    let header: &[u8; HEADER_LEN] = bytes
        .get(..HEADER_LEN)
        .and_then(|h| h.try_into().ok())
        .ok_or(FrameError::Truncated {
            expected: HEADER_LEN as u64,
            got: bytes.len() as u64,
        })?;
    let (len, session) = decode_header(header, max)?;
    let end = HEADER_LEN + len as usize;
    let payload = bytes.get(HEADER_LEN..end).ok_or(FrameError::Truncated {
        expected: end as u64,
        got: bytes.len() as u64,
    })?;
    Ok((session, payload, end))
}

/// Reads the next frame; `Ok(None)` when the stream ends cleanly between frames.
pub async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    max: u32,
) -> Result<Option<(SessionId, Vec<u8>)>, FrameError> {
    let mut header = [0u8; HEADER_LEN];
    let got = read_full(reader, &mut header).await?;
    if got == 0 {
        return Ok(None);
    }
    if got < HEADER_LEN {
        return Err(FrameError::Truncated {
            expected: HEADER_LEN as u64,
            got: got as u64,
        });
    }
    let (len, session) = decode_header(&header, max)?;
    // Allocated only after the length passed the limit.
    let mut payload = vec![0u8; len as usize];
    let got = read_full(reader, &mut payload).await?;
    if got < payload.len() {
        return Err(FrameError::Truncated {
            expected: (HEADER_LEN + payload.len()) as u64,
            got: (HEADER_LEN + got) as u64,
        });
    }
    Ok(Some((session, payload)))
}

/// Fills `buf` unless the stream ends first; returns the bytes read.
async fn read_full<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut [u8],
) -> Result<usize, FrameError> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]).await {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            // A peer that vanishes without a TLS close_notify is an ended stream.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(FrameError::Io(e.to_string())),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn read_all(bytes: &[u8], max: u32) -> Result<Vec<(SessionId, Vec<u8>)>, FrameError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let mut reader = bytes;
            let mut out = Vec::new();
            while let Some(frame) = read_frame(&mut reader, max).await? {
                out.push(frame);
            }
            Ok(out)
        })
    }

    proptest! {
        #[test]
        fn frames_round_trip(
            frames in proptest::collection::vec(
                (any::<u64>(), proptest::collection::vec(any::<u8>(), 0..300)), 0..8)
        ) {
            let mut stream = Vec::new();
            for (s, p) in &frames {
                stream.extend(encode(SessionId(*s), p).unwrap());
            }
            let got = read_all(&stream, 300).unwrap();
            let want: Vec<_> = frames.iter().map(|(s, p)| (SessionId(*s), p.clone())).collect();
            prop_assert_eq!(&got, &want);
            // The slice decoder agrees and consumes exactly the stream.
            let mut rest = &stream[..];
            for (s, p) in &want {
                let (session, payload, used) = decode(rest, 300).unwrap();
                prop_assert_eq!((session, payload), (*s, &p[..]));
                rest = &rest[used..];
            }
            prop_assert!(rest.is_empty());
        }

        #[test]
        fn any_cut_inside_a_frame_is_truncated(
            payload in proptest::collection::vec(any::<u8>(), 0..100),
            cut in any::<prop::sample::Index>(),
        ) {
            let frame = encode(SessionId(7), &payload).unwrap();
            let cut = 1 + cut.index(frame.len() - 1); // 1..len: never empty, never whole
            let stream = &frame[..cut];
            prop_assert!(
                matches!(read_all(stream, 1000), Err(FrameError::Truncated { .. })),
                "cut at {}", cut
            );
            let truncated = matches!(decode(stream, 1000), Err(FrameError::Truncated { .. }));
            prop_assert!(truncated);
        }

        #[test]
        fn oversized_headers_are_refused_before_the_payload(len in 101u32.., session in any::<u64>()) {
            // Only the header: the reader must refuse without waiting for the payload.
            let header = encode_header(SessionId(session), len);
            prop_assert_eq!(
                read_all(&header, 100),
                Err(FrameError::TooLarge { len: len.into(), max: 100 })
            );
            prop_assert_eq!(
                decode(&header, 100).map(|(s, p, n)| (s, p.to_vec(), n)),
                Err(FrameError::TooLarge { len: len.into(), max: 100 })
            );
        }
    }

    #[test]
    fn control_frames_round_trip_and_unknown_ones_are_refused() {
        let c = Control::SessionClosed(SessionId(0x0102_0304_0506_0708));
        assert_eq!(c.encode(), [1, 1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(Control::decode(&c.encode()), Ok(c));
        for bad in [&[][..], &[1, 2, 3], &[2, 0, 0, 0, 0, 0, 0, 0, 0], &[1; 10]] {
            assert!(
                matches!(Control::decode(bad), Err(FrameError::Control(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn header_layout_is_big_endian_length_then_session() {
        let frame = encode(SessionId(0x0102_0304_0506_0708), b"ab").unwrap();
        assert_eq!(frame, [0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8, b'a', b'b']);
        assert_eq!(
            read_all(&[], 10),
            Ok(vec![]),
            "an empty stream is a clean close"
        );
        let limit = encode(SessionId(1), &[9; 100]).unwrap();
        assert_eq!(
            read_all(&limit, 100).unwrap().len(),
            1,
            "the limit itself is allowed"
        );
    }
}
