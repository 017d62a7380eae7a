//! The DSN: where to send events and with which key. (Placeholder: being written.)
