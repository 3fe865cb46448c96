//! Signing keys: generation, sealing at rest, rotation, JWKS.
