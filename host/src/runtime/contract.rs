//! Which versions of the plugin contract (the WIT package `plexmatch:plugin`) this host
//! runs, and what a component says about itself: checked before the plugin runs.
//!
//! Versioning policy (wit/VERSIONING.md): a new version of the contract only adds; a
//! change that would break a built plugin needs a new major version. Before 1.0 the second
//! number plays the major's part, as Cargo and wasmtime read 0.x versions: additions go
//! from 0.1.0 to 0.1.1, a breaking change to 0.2.0. The host runs every plugin built for
//! a version from the first of its series up to its own, and the frozen 0.1.0 (`SERIES`).

use std::fmt;

use wasmtime::Engine;
use wasmtime::component::Component;

/// The contract version this host implements (the package version in `wit/`).
pub const HOST_VERSION: Version = Version {
    major: 0,
    minor: 2,
    patch: 1,
};
/// The oldest contract version this host still runs.
pub const OLDEST_VERSION: Version = Version {
    major: 0,
    minor: 1,
    patch: 0,
};

/// Every series this host runs, as (first, newest) versions: the current contract's and,
/// through adapters (`runtime::v0_1`), the frozen 0.1.0's.
pub const SERIES: &[(Version, Version)] = &[
    (OLDEST_VERSION, OLDEST_VERSION),
    (
        Version {
            major: 0,
            minor: 2,
            patch: 0,
        },
        HOST_VERSION,
    ),
];

/// The package the contract's interfaces live in.
pub const PACKAGE: &str = "plexmatch:plugin";

/// A semantic version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
}

impl Version {
    /// Parses `1.2.3` (a pre-release or build suffix is ignored).
    pub fn parse(s: &str) -> Option<Version> {
        let core = s.split(['-', '+']).next()?;
        let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
        let v = Version {
            major: parts.next()??,
            minor: parts.next()??,
            patch: parts.next()??,
        };
        parts.next().is_none().then_some(v)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The versions this host runs, as users read them: `>=0.1.0, <=0.1.0 or >=0.2.0, <=0.2.1`.
pub fn supported_range() -> String {
    SERIES
        .iter()
        .map(|(first, newest)| format!(">={first}, <={newest}"))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// What a component declares: the contract version of its `matcher` export, and every
/// import (name as the component spells it).
#[derive(Debug, Clone)]
pub struct Declared {
    /// `None` when the component does not export `plexmatch:plugin/matcher` at all.
    pub version: Option<Version>,
    pub exports: Vec<String>,
    pub imports: Vec<String>,
}

/// Reads what `component` declares.
pub fn declared(engine: &Engine, component: &Component) -> Declared {
    let ty = component.component_type();
    let exports: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_owned()).collect();
    let imports: Vec<String> = ty.imports(engine).map(|(n, _)| n.to_owned()).collect();
    let version = exports
        .iter()
        .filter_map(|n| n.strip_prefix(&format!("{PACKAGE}/matcher@")))
        .find_map(Version::parse);
    Declared {
        version,
        exports,
        imports,
    }
}

/// Why a component cannot run here, if it cannot.
pub fn check(origin: &str, d: &Declared) -> Result<(), String> {
    let Some(v) = d.version else {
        return Err(format!(
            "plugin {origin} does not export {PACKAGE}/matcher (it exports: {}); is it a plexmatch plugin?",
            if d.exports.is_empty() {
                "nothing".to_owned()
            } else {
                d.exports.join(", ")
            }
        ));
    };
    if !SERIES
        .iter()
        .any(|(first, newest)| *first <= v && v <= *newest)
    {
        let advice = if v > HOST_VERSION {
            "upgrade plexmatch"
        } else {
            "rebuild the plugin against this plexmatch's wit/"
        };
        return Err(format!(
            "plugin {origin} was built for plugin contract {PACKAGE}@{v}; this plexmatch runs {} ({advice})",
            supported_range()
        ));
    }
    // An interface from another version of our package (a mixed build) would not link.
    if let Some(odd) = d.imports.iter().chain(&d.exports).find(|n| {
        n.strip_prefix(&format!("{PACKAGE}/"))
            .and_then(|rest| rest.split_once('@'))
            .is_some_and(|(_, ver)| Version::parse(ver) != Some(v))
    }) {
        return Err(format!(
            "plugin {origin} mixes contract versions: it uses {odd} next to matcher@{v}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared_at(v: &str) -> Declared {
        Declared {
            version: Version::parse(v),
            exports: vec![format!("{PACKAGE}/matcher@{v}")],
            imports: vec![format!("{PACKAGE}/plex@{v}"), "wasi:io/poll@0.2.6".into()],
        }
    }

    #[test]
    fn versions_in_the_series_run_and_others_are_refused_by_name() {
        assert!(check("p.wasm", &declared_at("0.1.0")).is_ok());
        assert!(check("p.wasm", &declared_at("0.2.0")).is_ok());
        let newer = check("p.wasm", &declared_at("0.2.3")).unwrap_err();
        assert!(
            newer.contains("p.wasm")
                && newer.contains("@0.2.3")
                && newer.contains(">=0.1.0, <=0.1.0 or >=0.2.0, <=0.2.1")
                && newer.contains("upgrade"),
            "{newer}"
        );
        let between = check("p.wasm", &declared_at("0.1.3")).unwrap_err();
        assert!(between.contains("@0.1.3"), "{between}");
        let other = check("p.wasm", &declared_at("0.3.0")).unwrap_err();
        assert!(other.contains("@0.3.0"), "{other}");
        let none = Declared {
            version: None,
            exports: vec!["run".into()],
            imports: vec![],
        };
        assert!(
            check("p.wasm", &none)
                .unwrap_err()
                .contains("does not export plexmatch:plugin/matcher (it exports: run)")
        );
        let mut mixed = declared_at("0.1.0");
        mixed.imports.push(format!("{PACKAGE}/log@0.0.9"));
        assert!(check("p.wasm", &mixed).unwrap_err().contains("mixes"));
    }

    #[test]
    fn versions_parse() {
        assert_eq!(
            Version::parse("0.1.0"),
            Some(Version {
                major: 0,
                minor: 1,
                patch: 0
            })
        );
        assert_eq!(
            Version::parse("1.2.3-rc.1"),
            Some(Version {
                major: 1,
                minor: 2,
                patch: 3
            })
        );
        assert_eq!(Version::parse("1.2"), None);
        assert_eq!(Version::parse("x"), None);
    }
}
