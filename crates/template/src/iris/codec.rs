//! Reading and writing iris codes in the formats of open-iris and iris-mpc.
//!
//! - **Packed base64**: the 12,800 bits of one plane (code or mask) in flat-index order,
//!   packed MSB-first into 1,600 bytes (`numpy.packbits`), then standard base64 with
//!   padding. This is open-iris's `base64_encode_array`.
//! - **Template JSON** (one eye): `{"iris_codes": "<b64>", "mask_codes": "<b64>"}` with an
//!   optional `"iris_code_version"`, as open-iris serialises an `IrisTemplate` with one
//!   code array.
//! - **Two-eye JSON**: `{"IRIS_version": ..., "left_iris_code", "left_mask_code",
//!   "right_iris_code", "right_mask_code"}`, the form of iris-mpc's tools.
//!
//! Every reader validates lengths and the real/imag mask pairs and says which field was
//! wrong. [`IrisDocument::from_json`] reads either JSON form, telling them apart by their
//! field names.

use super::IrisCode;
use crate::TemplateError;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// Which eye of a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Eye {
    /// The left eye.
    Left,
    /// The right eye.
    Right,
}

/// A person's two iris codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EyePair {
    /// The left eye's code.
    pub left: IrisCode,
    /// The right eye's code.
    pub right: IrisCode,
}

impl EyePair {
    /// The code of one eye.
    pub fn eye(&self, eye: Eye) -> &IrisCode {
        match eye {
            Eye::Left => &self.left,
            Eye::Right => &self.right,
        }
    }
}

impl IrisCode {
    /// Packs the code plane MSB-first (1,600 bytes).
    pub fn code_packed(&self) -> Vec<u8> {
        pack(|i| self.code_bit(i))
    }

    /// Packs the mask plane MSB-first (1,600 bytes).
    pub fn mask_packed(&self) -> Vec<u8> {
        pack(|i| self.mask_bit(i))
    }

    /// Builds a code from two MSB-first packed planes of 1,600 bytes each.
    ///
    /// # Errors
    /// [`TemplateError::WrongLength`] or [`TemplateError::MaskPairMismatch`].
    pub fn from_packed(code: &[u8], mask: &[u8]) -> Result<Self, TemplateError> {
        check_len("code", code)?;
        check_len("mask", mask)?;
        IrisCode::from_fn(|i| packed_bit(code, i), |i| packed_bit(mask, i))
    }

    /// Decodes open-iris base64 code and mask strings.
    ///
    /// # Errors
    /// [`TemplateError::BadBase64`], [`TemplateError::WrongLength`] or
    /// [`TemplateError::MaskPairMismatch`].
    pub fn from_base64(code: &str, mask: &str) -> Result<Self, TemplateError> {
        decode_eye(("iris_codes", code), ("mask_codes", mask))
    }

    /// The open-iris base64 of the code plane.
    pub fn code_base64(&self) -> String {
        STANDARD.encode(self.code_packed())
    }

    /// The open-iris base64 of the mask plane.
    pub fn mask_base64(&self) -> String {
        STANDARD.encode(self.mask_packed())
    }

    /// Parses an open-iris template JSON document (one eye).
    ///
    /// # Errors
    /// [`TemplateError::BadJson`] for a document of the wrong shape, else as
    /// [`IrisCode::from_base64`].
    pub fn from_template_json(json: &str) -> Result<Self, TemplateError> {
        let doc: TemplateJson =
            serde_json::from_str(json).map_err(|e| TemplateError::BadJson(e.to_string()))?;
        Self::from_base64(&doc.iris_codes, &doc.mask_codes)
    }

    /// Writes the open-iris template JSON document (one eye).
    pub fn to_template_json(&self) -> String {
        let doc = TemplateJson {
            iris_codes: self.code_base64(),
            mask_codes: self.mask_base64(),
            iris_code_version: Some(IRIS_CODE_VERSION.to_owned()),
        };
        serde_json::to_string(&doc).expect("serialising strings cannot fail")
    }
}

/// The code version written into template JSON: open-iris's 16x200x2x2 layout.
const IRIS_CODE_VERSION: &str = "v2.1";
/// The version written into two-eye JSON, as in iris-mpc's example data.
const TWO_EYE_VERSION: &str = "1.6.1";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateJson {
    iris_codes: String,
    mask_codes: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iris_code_version: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TwoEyeJson {
    #[serde(rename = "IRIS_version")]
    iris_version: String,
    left_iris_code: String,
    left_mask_code: String,
    right_iris_code: String,
    right_mask_code: String,
}

impl EyePair {
    /// Parses the two-eye JSON form of iris-mpc's tools.
    ///
    /// # Errors
    /// [`TemplateError::BadJson`] for a document of the wrong shape; decoding errors name
    /// the field (`left_iris_code`, ...).
    pub fn from_json(json: &str) -> Result<Self, TemplateError> {
        let doc: TwoEyeJson =
            serde_json::from_str(json).map_err(|e| TemplateError::BadJson(e.to_string()))?;
        doc.decode()
    }

    /// Writes the two-eye JSON form.
    pub fn to_json(&self) -> String {
        let doc = TwoEyeJson {
            iris_version: TWO_EYE_VERSION.to_owned(),
            left_iris_code: self.left.code_base64(),
            left_mask_code: self.left.mask_base64(),
            right_iris_code: self.right.code_base64(),
            right_mask_code: self.right.mask_base64(),
        };
        serde_json::to_string(&doc).expect("serialising strings cannot fail")
    }
}

/// The fields that mark a document as iris-mpc's two-eye form.
const TWO_EYE_FIELDS: [&str; 5] = [
    "IRIS_version",
    "left_iris_code",
    "left_mask_code",
    "right_iris_code",
    "right_mask_code",
];
/// The fields that mark a document as open-iris's one-eye template form.
const TEMPLATE_FIELDS: [&str; 3] = ["iris_codes", "mask_codes", "iris_code_version"];

/// An iris document of either form: iris-mpc's two-eye JSON or open-iris's one-eye
/// template JSON.
///
/// The form is told by the document's field names, before any field is decoded, so an
/// error in a document of one form is reported as that form's error (naming the field)
/// instead of as a failure to read it as the other form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IrisDocument {
    /// A two-eye document ([`EyePair::from_json`]).
    Pair(Box<EyePair>),
    /// A one-eye template ([`IrisCode::from_template_json`]).
    Eye(Box<IrisCode>),
}

impl IrisDocument {
    /// Parses a document of either form.
    ///
    /// # Errors
    /// [`TemplateError::BadJson`] if the text is not a JSON object, or has none of the
    /// fields of either form (the message lists what it has); otherwise the errors of
    /// [`EyePair::from_json`] or [`IrisCode::from_template_json`], which name the field
    /// that was wrong.
    pub fn from_json(json: &str) -> Result<Self, TemplateError> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| TemplateError::BadJson(e.to_string()))?;
        let Some(object) = value.as_object() else {
            return Err(TemplateError::BadJson(format!(
                "expected an object with iris code fields, found {}",
                json_kind(&value)
            )));
        };
        let has = |fields: &[&str]| fields.iter().any(|f| object.contains_key(*f));
        if has(&TWO_EYE_FIELDS) {
            let doc: TwoEyeJson = serde_json::from_value(value)
                .map_err(|e| TemplateError::BadJson(format!("two-eye (iris-mpc) form: {e}")))?;
            doc.decode().map(|pair| Self::Pair(Box::new(pair)))
        } else if has(&TEMPLATE_FIELDS) {
            let doc: TemplateJson = serde_json::from_value(value).map_err(|e| {
                TemplateError::BadJson(format!("one-eye template (open-iris) form: {e}"))
            })?;
            IrisCode::from_base64(&doc.iris_codes, &doc.mask_codes)
                .map(|eye| Self::Eye(Box::new(eye)))
        } else {
            let found: Vec<&str> = object.keys().map(String::as_str).collect();
            Err(TemplateError::BadJson(format!(
                "neither iris-mpc two-eye JSON (fields {}) nor open-iris template JSON (fields {}); the object has {}",
                TWO_EYE_FIELDS.join(", "),
                TEMPLATE_FIELDS[..2].join(", "),
                if found.is_empty() {
                    "no fields".to_owned()
                } else {
                    format!("fields {}", found.join(", "))
                }
            )))
        }
    }
}

/// What kind of JSON value this is, for error messages.
fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

impl TwoEyeJson {
    /// Decodes both eyes; errors name the field.
    fn decode(&self) -> Result<EyePair, TemplateError> {
        Ok(EyePair {
            left: decode_eye(
                ("left_iris_code", &self.left_iris_code),
                ("left_mask_code", &self.left_mask_code),
            )?,
            right: decode_eye(
                ("right_iris_code", &self.right_iris_code),
                ("right_mask_code", &self.right_mask_code),
            )?,
        })
    }
}

/// Decodes one eye from base64 code and mask planes; errors name the `(field, text)`
/// that was wrong.
fn decode_eye(code: (&str, &str), mask: (&str, &str)) -> Result<IrisCode, TemplateError> {
    let code_bytes = decode(code.0, code.1)?;
    let mask_bytes = decode(mask.0, mask.1)?;
    check_len(code.0, &code_bytes)?;
    check_len(mask.0, &mask_bytes)?;
    IrisCode::from_fn(
        |i| packed_bit(&code_bytes, i),
        |i| packed_bit(&mask_bytes, i),
    )
}

fn decode(field: &str, text: &str) -> Result<Vec<u8>, TemplateError> {
    STANDARD
        .decode(text.trim())
        .map_err(|e| TemplateError::BadBase64 {
            field: field.to_owned(),
            reason: e.to_string(),
        })
}

fn check_len(field: &str, bytes: &[u8]) -> Result<(), TemplateError> {
    if bytes.len() == IrisCode::PACKED_BYTES {
        Ok(())
    } else {
        Err(TemplateError::WrongLength {
            field: field.to_owned(),
            expected: IrisCode::PACKED_BYTES,
            actual: bytes.len(),
        })
    }
}

fn packed_bit(bytes: &[u8], i: usize) -> bool {
    bytes[i / 8] >> (7 - i % 8) & 1 == 1
}

fn pack(bit: impl Fn(usize) -> bool) -> Vec<u8> {
    let mut out = vec![0u8; IrisCode::PACKED_BYTES];
    for i in 0..IrisCode::BITS {
        if bit(i) {
            out[i / 8] |= 0x80 >> (i % 8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_EYE: &str = include_str!("../../tests/data/iris-mpc/iris_codes.json");

    #[test]
    fn two_eye_json_round_trips_bit_exactly() {
        let pair = EyePair::from_json(TWO_EYE).unwrap();
        let again = EyePair::from_json(&pair.to_json()).unwrap();
        assert_eq!(pair, again);
        let original: serde_json::Value = serde_json::from_str(TWO_EYE).unwrap();
        let written: serde_json::Value = serde_json::from_str(&pair.to_json()).unwrap();
        for field in [
            "left_iris_code",
            "left_mask_code",
            "right_iris_code",
            "right_mask_code",
        ] {
            assert_eq!(original[field], written[field], "{field}");
        }
    }

    #[test]
    fn packed_bits_are_msb_first() {
        let mut code = vec![0u8; 1600];
        code[0] = 0b1000_0000;
        code[1] = 0b0000_0001;
        let code = IrisCode::from_packed(&code, &[0xFF; 1600]).unwrap();
        assert!(code.code_bit(0));
        assert!(code.code_bit(15));
        assert_eq!(code.code_packed()[0], 0x80);
    }

    #[test]
    fn template_json_round_trips() {
        let pair = EyePair::from_json(TWO_EYE).unwrap();
        let json = pair.left.to_template_json();
        assert_eq!(IrisCode::from_template_json(&json).unwrap(), pair.left);
    }

    /// The two-eye test vector with one field replaced.
    fn two_eye_with(field: &str, value: &str) -> String {
        let mut doc: serde_json::Value = serde_json::from_str(TWO_EYE).unwrap();
        doc[field] = serde_json::Value::String(value.to_owned());
        doc.to_string()
    }

    #[test]
    fn either_form_is_told_apart_by_its_fields() {
        let pair = EyePair::from_json(TWO_EYE).unwrap();
        assert_eq!(
            IrisDocument::from_json(TWO_EYE).unwrap(),
            IrisDocument::Pair(Box::new(pair.clone()))
        );
        assert_eq!(
            IrisDocument::from_json(&pair.right.to_template_json()).unwrap(),
            IrisDocument::Eye(Box::new(pair.right))
        );
    }

    #[test]
    fn a_damaged_two_eye_document_reports_the_damaged_field() {
        // Used to be reported as `unknown field 'IRIS_version'`: the two-eye error was
        // dropped and the document retried as a one-eye template.
        let short = STANDARD.encode([0u8; 1599]);
        let err = IrisDocument::from_json(&two_eye_with("left_iris_code", &short)).unwrap_err();
        assert!(
            matches!(&err, TemplateError::WrongLength { field, expected: 1600, actual: 1599 } if field == "left_iris_code"),
            "{err}"
        );
        let text = err.to_string();
        assert!(
            text.contains("left_iris_code") && !text.contains("IRIS_version"),
            "{text}"
        );
        let err = IrisDocument::from_json(&two_eye_with("right_mask_code", "%%%")).unwrap_err();
        assert!(
            matches!(&err, TemplateError::BadBase64 { field, .. } if field == "right_mask_code"),
            "{err}"
        );
        let mut missing: serde_json::Value = serde_json::from_str(TWO_EYE).unwrap();
        missing.as_object_mut().unwrap().remove("right_iris_code");
        let text = IrisDocument::from_json(&missing.to_string())
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("two-eye") && text.contains("right_iris_code"),
            "{text}"
        );
    }

    #[test]
    fn a_damaged_template_or_unknown_document_says_what_is_wrong() {
        let good = STANDARD.encode([0u8; 1600]);
        let doc = format!("{{\"iris_codes\": \"{good}\", \"mask_codes\": \"AAAA\"}}");
        assert!(matches!(
            IrisDocument::from_json(&doc),
            Err(TemplateError::WrongLength { field, actual: 3, .. }) if field == "mask_codes"
        ));
        let text = IrisDocument::from_json("{\"codes\": 1}")
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("neither") && text.contains("fields codes"),
            "{text}"
        );
        for not_an_object in ["[1, 2]", "\"x\"", "null", "{", ""] {
            assert!(matches!(
                IrisDocument::from_json(not_an_object),
                Err(TemplateError::BadJson(_))
            ));
        }
    }

    #[test]
    fn bad_inputs_get_typed_errors() {
        let good = STANDARD.encode([0u8; 1600]);
        let short = STANDARD.encode([0u8; 1599]);
        assert!(matches!(
            IrisCode::from_base64("not base64!", &good),
            Err(TemplateError::BadBase64 { field, .. }) if field == "iris_codes"
        ));
        assert!(matches!(
            IrisCode::from_base64(&good, &short),
            Err(TemplateError::WrongLength { field, expected: 1600, actual: 1599 }) if field == "mask_codes"
        ));
        // Mask bit 0 set without bit 1: real and imaginary disagree.
        let mut mask = [0u8; 1600];
        mask[0] = 0b1000_0000;
        assert!(matches!(
            IrisCode::from_base64(&good, &STANDARD.encode(mask)),
            Err(TemplateError::MaskPairMismatch {
                row: 0,
                column: 0,
                filter: 0
            })
        ));
        assert!(matches!(
            EyePair::from_json("{\"left_iris_code\": 3}"),
            Err(TemplateError::BadJson(_))
        ));
        let err = IrisCode::from_base64(&good, &short)
            .unwrap_err()
            .to_string();
        assert!(err.contains("1599") && err.contains("1600"), "{err}");
    }
}
