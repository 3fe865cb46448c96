//! Directories the service makes for its data, its mail files and its keys:
//! readable by its own user only, since they hold personal data, mailed
//! links that set a password, and the key that opens the signing keys.

use std::{io, path::Path};

/// Creates `path` and any missing parent as `0700` (on Unix). A directory
/// that exists already keeps the mode its operator gave it.
pub fn create(path: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}
