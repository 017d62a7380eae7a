//! What can go wrong reading or building an envelope.

use std::fmt;

/// Why bytes are not an envelope, or why an envelope cannot do what was asked.
///
/// Item indexes in messages count from 0, in the order the items appear.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The input is empty; an envelope has at least a header line.
    Empty,
    /// The first line is not a JSON object. The text is the JSON parser's message.
    InvalidHeader(String),
    /// A known header key has a value of the wrong form, such as an `event_id` that is
    /// not a UUID.
    InvalidHeaderField {
        /// The header key.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// An item's header line is not a JSON object. The text is the JSON parser's message.
    InvalidItemHeader {
        /// Which item.
        index: usize,
        /// The JSON parser's message.
        reason: String,
    },
    /// An item's header has no `type`, or its `type` is not a string.
    MissingItemType {
        /// Which item.
        index: usize,
    },
    /// An item's `length` is not a non-negative integer.
    InvalidItemLength {
        /// Which item.
        index: usize,
    },
    /// An item's `length` runs past the end of the input.
    TruncatedItem {
        /// Which item.
        index: usize,
        /// The length the header promises.
        expected: u64,
        /// The bytes left in the input.
        available: usize,
    },
    /// An item's payload, of the length its header gives, is followed by something other
    /// than a newline or the end of the input.
    MissingNewlineAfterItem {
        /// Which item.
        index: usize,
    },
    /// The envelope has no item of type `event`.
    NoEventItem,
    /// The `event` item's payload is not a valid event. The text is the JSON parser's
    /// message.
    InvalidEvent(String),
    /// A header key that has a typed setter, or that the format writes itself, was given
    /// to `set_header`.
    ReservedHeader(String),
}

impl fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvelopeError::Empty => {
                write!(
                    f,
                    "the envelope is empty; it needs at least a JSON header line"
                )
            }
            EnvelopeError::InvalidHeader(reason) => write!(
                f,
                "the envelope's first line is not a JSON object header: {reason}"
            ),
            EnvelopeError::InvalidHeaderField { field, reason } => {
                write!(f, "the envelope header's `{field}` is invalid: {reason}")
            }
            EnvelopeError::InvalidItemHeader { index, reason } => write!(
                f,
                "the header line of envelope item {index} is not a JSON object: {reason}"
            ),
            EnvelopeError::MissingItemType { index } => write!(
                f,
                "envelope item {index} has no `type` string in its header"
            ),
            EnvelopeError::InvalidItemLength { index } => write!(
                f,
                "envelope item {index} has a `length` that is not a non-negative integer"
            ),
            EnvelopeError::TruncatedItem {
                index,
                expected,
                available,
            } => write!(
                f,
                "envelope item {index} declares a length of {expected} bytes but only {available} bytes follow; the envelope is truncated or the length is wrong"
            ),
            EnvelopeError::MissingNewlineAfterItem { index } => write!(
                f,
                "envelope item {index} is not followed by a newline after its declared length; the length is wrong"
            ),
            EnvelopeError::NoEventItem => write!(f, "the envelope has no item of type `event`"),
            EnvelopeError::InvalidEvent(reason) => {
                write!(
                    f,
                    "the envelope's event item is not a valid event: {reason}"
                )
            }
            EnvelopeError::ReservedHeader(key) => write!(
                f,
                "the header `{key}` cannot be set this way: use its typed setter (the format writes `type` and `length` itself)"
            ),
        }
    }
}

impl std::error::Error for EnvelopeError {}
