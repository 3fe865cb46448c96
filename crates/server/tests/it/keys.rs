//! Signing keys: JWKS, sealing at rest, rotation across nodes.
