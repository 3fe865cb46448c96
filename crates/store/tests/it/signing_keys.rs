//! Signing keys as stored: sealed private halves, rotation windows.
