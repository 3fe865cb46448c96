//! The credentials suite: published vectors, behaviour, the pool, secrets, and
//! that no input makes anything panic.

mod behaviour;
mod no_panic;
mod pool;
mod secrets;
mod vectors;
