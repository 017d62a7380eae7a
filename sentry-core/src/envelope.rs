//! Envelopes: the container the SDK sends to the server. (Placeholder: being written.)

/// An envelope. (Placeholder.)
#[derive(Debug, Clone, Default)]
pub struct Envelope {}
