//! The `single-identity` binary.

use std::process::ExitCode;

fn main() -> ExitCode {
    single_identity::cli::main()
}
