//! The list of loaded modules. (Placeholder: being written.)
