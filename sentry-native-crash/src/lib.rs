//! Native crash capture for the SDK. Filled in by the native-crash issue.
