//! Client registration through the CLI and its rules.
