//! The released contract versions are frozen: the working WIT, while it carries a released
//! version, must be identical to its frozen copy.

use std::path::Path;

#[test]
fn the_working_contract_matches_its_frozen_copy() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let working = std::fs::read_to_string(root.join("wit/plexmatch.wit")).unwrap();
    let version = working
        .lines()
        .find_map(|l| l.trim().strip_prefix("package plexmatch:plugin@"))
        .and_then(|v| v.strip_suffix(';'))
        .expect("the WIT declares its package version");
    assert_eq!(
        version,
        plexmatch_engine::runtime::contract::HOST_VERSION.to_string(),
        "the host implements the WIT's version"
    );
    let frozen = root.join(format!("wit/frozen/plexmatch-plugin-{version}.wit"));
    let frozen = std::fs::read_to_string(&frozen).unwrap_or_else(|_| {
        panic!(
            "{} is missing: freeze every released version",
            frozen.display()
        )
    });
    assert_eq!(
        working, frozen,
        "version {version} is released: change the contract only in a new version"
    );
}
