//! A minimal reader for SentencePiece's `ModelProto` (the `.spm` / `.model` file): the pieces, and
//! the trainer and normalizer fields that encoding needs. Protobuf wire format, proto2 defaults.

use std::fmt;

/// `SentencePiece.Type` values (`sentencepiece_model.proto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PieceType {
    Normal,
    Unknown,
    Control,
    UserDefined,
    Unused,
    Byte,
}

impl PieceType {
    fn from_wire(value: u64) -> Result<Self, ProtoError> {
        Ok(match value {
            1 => Self::Normal,
            2 => Self::Unknown,
            3 => Self::Control,
            4 => Self::UserDefined,
            5 => Self::Unused,
            6 => Self::Byte,
            other => return Err(ProtoError(format!("unknown piece type {other}"))),
        })
    }
}

/// One vocabulary entry.
#[derive(Debug, Clone)]
pub struct Piece {
    pub piece: String,
    pub score: f32,
    pub kind: PieceType,
}

/// The `TrainerSpec` fields that matter when encoding.
#[derive(Debug, Clone)]
pub struct TrainerSpec {
    /// 1 unigram, 2 BPE, 3 word, 4 char.
    pub model_type: i32,
    pub byte_fallback: bool,
    pub treat_whitespace_as_suffix: bool,
    pub unk_id: i32,
}

impl Default for TrainerSpec {
    fn default() -> Self {
        Self {
            model_type: 1,
            byte_fallback: false,
            treat_whitespace_as_suffix: false,
            unk_id: 0,
        }
    }
}

/// The `NormalizerSpec` fields that matter when encoding.
#[derive(Debug, Clone)]
pub struct NormalizerSpec {
    pub name: String,
    pub precompiled_charsmap: Vec<u8>,
    pub add_dummy_prefix: bool,
    pub remove_extra_whitespaces: bool,
    pub escape_whitespaces: bool,
}

impl Default for NormalizerSpec {
    fn default() -> Self {
        Self {
            name: String::new(),
            precompiled_charsmap: Vec::new(),
            add_dummy_prefix: true,
            remove_extra_whitespaces: true,
            escape_whitespaces: true,
        }
    }
}

/// A parsed SentencePiece model.
#[derive(Debug, Clone, Default)]
pub struct ModelProto {
    pub pieces: Vec<Piece>,
    pub trainer: TrainerSpec,
    pub normalizer: NormalizerSpec,
}

/// A malformed model file (truncated, not a SentencePiece model).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtoError(pub String);

impl fmt::Display for ProtoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProtoError {}

/// A field value as it appears on the wire.
enum Value<'a> {
    Varint(u64),
    Fixed32(u32),
    Fixed64,
    Bytes(&'a [u8]),
}

/// Walks the fields of one message.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    fn varint(&mut self) -> Result<u64, ProtoError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.data.get(self.pos).ok_or_else(|| truncated(self.pos))?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(ProtoError(format!(
            "varint longer than 10 bytes at byte {}",
            self.pos
        )))
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], ProtoError> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|&end| end <= self.data.len());
        let end = end.ok_or_else(|| truncated(self.pos))?;
        let bytes = &self.data[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    /// The next `(field number, value)`, or `None` at the end of the message.
    fn next_field(&mut self) -> Result<Option<(u64, Value<'a>)>, ProtoError> {
        if self.pos >= self.data.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let value = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Value::Fixed64
            }
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| truncated(self.pos))?;
                Value::Bytes(self.take(len)?)
            }
            5 => Value::Fixed32(u32::from_le_bytes(
                self.take(4)?.try_into().expect("4 bytes"),
            )),
            wire => {
                return Err(ProtoError(format!(
                    "unsupported wire type {wire} at byte {}",
                    self.pos
                )));
            }
        };
        Ok(Some((key >> 3, value)))
    }
}

fn truncated(pos: usize) -> ProtoError {
    ProtoError(format!(
        "the data ends inside a field (at byte {pos}): the file is truncated"
    ))
}

fn expect_bytes<'a>(value: Value<'a>, what: &str) -> Result<&'a [u8], ProtoError> {
    match value {
        Value::Bytes(bytes) => Ok(bytes),
        _ => Err(ProtoError(format!(
            "field `{what}` has the wrong wire type"
        ))),
    }
}

fn expect_varint(value: Value<'_>, what: &str) -> Result<u64, ProtoError> {
    match value {
        Value::Varint(v) => Ok(v),
        _ => Err(ProtoError(format!(
            "field `{what}` has the wrong wire type"
        ))),
    }
}

fn expect_string(value: Value<'_>, what: &str) -> Result<String, ProtoError> {
    let bytes = expect_bytes(value, what)?;
    String::from_utf8(bytes.to_vec())
        .map_err(|_| ProtoError(format!("field `{what}` is not UTF-8")))
}

/// An int32 varint: negative values are sign-extended to 64 bits on the wire.
fn as_i32(value: u64) -> i32 {
    value as i64 as i32
}

impl ModelProto {
    /// Parses the bytes of a `.spm` / `.model` file.
    pub fn parse(data: &[u8]) -> Result<Self, ProtoError> {
        let mut model = ModelProto::default();
        let mut reader = Reader::new(data);
        while let Some((field, value)) = reader.next_field()? {
            match field {
                1 => model
                    .pieces
                    .push(parse_piece(expect_bytes(value, "pieces")?)?),
                2 => model.trainer = parse_trainer(expect_bytes(value, "trainer_spec")?)?,
                3 => model.normalizer = parse_normalizer(expect_bytes(value, "normalizer_spec")?)?,
                _ => {}
            }
        }
        if model.pieces.is_empty() {
            return Err(ProtoError(
                "no pieces: this is not a SentencePiece model".into(),
            ));
        }
        Ok(model)
    }
}

fn parse_piece(data: &[u8]) -> Result<Piece, ProtoError> {
    let mut piece = Piece {
        piece: String::new(),
        score: 0.0,
        kind: PieceType::Normal,
    };
    let mut reader = Reader::new(data);
    while let Some((field, value)) = reader.next_field()? {
        match (field, value) {
            (1, value) => piece.piece = expect_string(value, "piece")?,
            (2, Value::Fixed32(bits)) => piece.score = f32::from_bits(bits),
            (2, _) => return Err(ProtoError("field `score` has the wrong wire type".into())),
            (3, value) => piece.kind = PieceType::from_wire(expect_varint(value, "type")?)?,
            _ => {}
        }
    }
    Ok(piece)
}

fn parse_trainer(data: &[u8]) -> Result<TrainerSpec, ProtoError> {
    let mut spec = TrainerSpec::default();
    let mut reader = Reader::new(data);
    while let Some((field, value)) = reader.next_field()? {
        match field {
            3 => spec.model_type = as_i32(expect_varint(value, "model_type")?),
            24 => {
                spec.treat_whitespace_as_suffix =
                    expect_varint(value, "treat_whitespace_as_suffix")? != 0
            }
            35 => spec.byte_fallback = expect_varint(value, "byte_fallback")? != 0,
            40 => spec.unk_id = as_i32(expect_varint(value, "unk_id")?),
            _ => {}
        }
    }
    Ok(spec)
}

fn parse_normalizer(data: &[u8]) -> Result<NormalizerSpec, ProtoError> {
    let mut spec = NormalizerSpec::default();
    let mut reader = Reader::new(data);
    while let Some((field, value)) = reader.next_field()? {
        match field {
            1 => spec.name = expect_string(value, "name")?,
            2 => spec.precompiled_charsmap = expect_bytes(value, "precompiled_charsmap")?.to_vec(),
            3 => spec.add_dummy_prefix = expect_varint(value, "add_dummy_prefix")? != 0,
            4 => {
                spec.remove_extra_whitespaces =
                    expect_varint(value, "remove_extra_whitespaces")? != 0
            }
            5 => spec.escape_whitespaces = expect_varint(value, "escape_whitespaces")? != 0,
            _ => {}
        }
    }
    Ok(spec)
}
