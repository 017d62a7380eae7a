//! Panic capture for the SDK. Filled in by the panics issue.
