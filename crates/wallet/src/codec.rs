//! JSON helpers for secret data: serialisation into one zeroized buffer that never
//! reallocates (a reallocation would leave a copy of the secret in freed memory), and
//! error reasons that never quote the input.

use serde::Serialize;
use zeroize::Zeroizing;

/// Counts the bytes written to it.
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `value` as compact JSON in a zeroized buffer with room for `spare` more bytes (an AEAD
/// tag), sized exactly by a first counting pass.
pub(crate) fn to_zeroizing_json<T: Serialize>(value: &T, spare: usize) -> Zeroizing<Vec<u8>> {
    let mut counter = Counter(0);
    serde_json::to_writer(&mut counter, value).expect("wallet types always serialise");
    let mut out = Zeroizing::new(Vec::with_capacity(counter.0 + spare));
    serde_json::to_writer(&mut *out, value).expect("wallet types always serialise");
    debug_assert_eq!(out.len(), counter.0);
    out
}

/// Why JSON did not parse, without quoting it: serde's messages can quote a string value
/// (`invalid type: string "...", expected ...`), which could be the recovery phrase, so a
/// message with a quote in it is replaced by its category.
pub(crate) fn json_reason(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let message = e.to_string();
    let what = if !message.contains('"') {
        // serde_json appends the position itself.
        return message;
    } else {
        match e.classify() {
            Category::Io => "it cannot be read",
            Category::Syntax => "it is not valid JSON",
            Category::Data => "a field has the wrong type or value",
            Category::Eof => "it ends too early (truncated)",
        }
    };
    format!("{what} at line {} column {}", e.line(), e.column())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_exact_and_reasons_never_quote_values() {
        let value = serde_json::json!({"a": "secret words", "b": [1, 2]});
        let out = to_zeroizing_json(&value, 16);
        assert_eq!(out.capacity(), out.len() + 16);
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&out).unwrap(),
            value
        );

        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Numbers {
            n: u64,
        }
        let err = serde_json::from_str::<Numbers>(r#"{"n": "secret words"}"#).unwrap_err();
        let reason = json_reason(&err);
        assert!(!reason.contains("secret"), "{reason}");
        assert!(
            reason.contains("wrong type") && reason.contains("column"),
            "{reason}"
        );
        let err = serde_json::from_str::<Numbers>(r#"{"n": 1"#).unwrap_err();
        assert!(json_reason(&err).contains("EOF"), "{}", json_reason(&err));
    }
}
