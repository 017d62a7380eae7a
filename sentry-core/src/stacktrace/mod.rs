//! Capturing and resolving stack traces. (Placeholder: being written.)
