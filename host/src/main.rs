//! The `plexmatch` binary.

fn main() {
    std::process::exit(plexmatch::cli::run());
}
