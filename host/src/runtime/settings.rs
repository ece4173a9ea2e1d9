//! Declared settings (contract 0.2): a plugin's user settings checked against what it
//! declares, its defaults filled in, and a chain's settings checked for keys no plugin reads.

use anyhow::{Result, bail};

use super::bindings::exports::plexmatch::plugin::matcher::{Setting, SettingKind};

/// Whether the declared setting `d` covers `key` (`rewrite*` covers `rewrite2` and
/// `rewrite-nas`, not `rewritee`: see `plexmatch_matchkit::paths::in_family`).
pub fn covers(d: &Setting, key: &str) -> bool {
    match d.name.strip_suffix('*') {
        Some(prefix) => plexmatch_matchkit::paths::in_family(prefix, key),
        None => d.name == key,
    }
}

/// The declared settings, as a user reads them: `rewrite* (path-mapping)`.
pub fn known(declared: &[Setting]) -> String {
    if declared.is_empty() {
        return "none".into();
    }
    declared
        .iter()
        .map(|d| format!("{} ({})", d.name, kind_name(d.kind)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The kind's name in messages and `plugin inspect`.
pub fn kind_name(k: SettingKind) -> &'static str {
    match k {
        SettingKind::Text => "text",
        SettingKind::Integer => "integer",
        SettingKind::Number => "number",
        SettingKind::Boolean => "boolean",
        SettingKind::PathMapping => "path-mapping",
    }
}

/// Why `value` is not of `kind`, if it is not.
fn bad_value(kind: SettingKind, value: &str) -> Option<&'static str> {
    let v = value.trim();
    let ok = match kind {
        SettingKind::Text => true,
        SettingKind::Integer => v.parse::<i64>().is_ok(),
        SettingKind::Number => v.parse::<f64>().is_ok_and(f64::is_finite),
        SettingKind::Boolean => matches!(
            v.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "1" | "0"
        ),
        SettingKind::PathMapping => v
            .split_once("=>")
            .is_some_and(|(from, _)| !from.trim().is_empty()),
    };
    (!ok).then_some(match kind {
        SettingKind::Integer => "a whole number",
        SettingKind::Number => "a number",
        SettingKind::Boolean => "true or false",
        SettingKind::PathMapping => "FROM=>TO",
        SettingKind::Text => "text",
    })
}

/// The settings plugin `origin` runs with: the user's (each value checked against the
/// declaration of its key, when the plugin declares it), then the declared defaults of keys
/// the user did not set. Keys the plugin does not declare are checked for the whole chain
/// by [`check_chain`].
pub fn effective(
    origin: &str,
    user: Vec<(String, String)>,
    declared: &[Setting],
) -> Result<Vec<(String, String)>> {
    for (key, value) in &user {
        if let Some(d) = declared.iter().find(|d| covers(d, key))
            && let Some(want) = bad_value(d.kind, value)
        {
            bail!(
                "plugin {origin}: setting {key}={value:?} is not {want} ({}: {})",
                d.name,
                d.description
            );
        }
    }
    let mut out = user;
    for d in declared {
        if let Some(default) = &d.default
            && !d.name.ends_with('*')
            && !out.iter().any(|(k, _)| *k == d.name)
        {
            out.push((d.name.clone(), default.clone()));
        }
    }
    Ok(out)
}

/// A plugin of a chain as the check needs it: its names (its `info()` name and its file's
/// stem), whether it declares its settings (contract 0.2 on), and what it declares.
pub struct Member<'a> {
    pub names: Vec<&'a str>,
    pub declares: bool,
    pub declared: &'a [Setting],
}

/// Refuses a user setting that no plugin of the chain reads: a `name:key` setting whose
/// plugin declares its settings and not `key`, or a plain `key` that no plugin declares
/// while every plugin declares its settings. The message names the settings there are.
pub fn check_chain(settings: &[(String, String)], chain: &[Member<'_>]) -> Result<()> {
    let unread = |key: &str, why: String| {
        anyhow::Error::new(UnreadSetting {
            key: key.to_owned(),
            why,
        })
    };
    for (key, _) in settings {
        let scoped = key
            .split_once(':')
            .map(|(name, k)| (chain.iter().find(|m| m.names.contains(&name)), k));
        match scoped {
            // For a plugin not in this chain (a configuration file serves several).
            Some((None, _)) => {}
            Some((Some(m), k)) => {
                if m.declares && !m.declared.iter().any(|d| covers(d, k)) {
                    return Err(unread(
                        key,
                        format!(
                            "plugin {} has no setting {k:?}; its settings: {}",
                            m.names[0],
                            known(m.declared)
                        ),
                    ));
                }
            }
            None => {
                let read = chain
                    .iter()
                    .any(|m| !m.declares || m.declared.iter().any(|d| covers(d, key)));
                if !read {
                    let all: Vec<String> = chain
                        .iter()
                        .map(|m| format!("{}: {}", m.names[0], known(m.declared)))
                        .collect();
                    return Err(unread(
                        key,
                        format!(
                            "no plugin reads the setting {key:?}; the settings there are: {}",
                            all.join("; ")
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// A setting no plugin of the chain reads: the caller may say where it was set.
#[derive(Debug)]
pub struct UnreadSetting {
    /// The setting as given (`key` or `plugin:key`).
    pub key: String,
    why: String,
}

impl std::fmt::Display for UnreadSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.why)
    }
}

impl std::error::Error for UnreadSetting {}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(name: &str, kind: SettingKind, default: Option<&str>) -> Setting {
        Setting {
            name: name.into(),
            kind,
            default: default.map(str::to_owned),
            description: format!("what {name} does"),
        }
    }

    #[test]
    fn values_are_checked_and_defaults_filled() {
        let d = [
            decl("threshold", SettingKind::Number, Some("0.8")),
            decl("rewrite*", SettingKind::PathMapping, None),
            decl("strict", SettingKind::Boolean, None),
        ];
        let got = effective("p", vec![("rewrite2".into(), "/a=>/b".into())], &d).unwrap();
        assert_eq!(
            got,
            [
                ("rewrite2".to_owned(), "/a=>/b".to_owned()),
                ("threshold".to_owned(), "0.8".to_owned())
            ]
        );
        let bad = effective("p", vec![("threshold".into(), "high".into())], &d).unwrap_err();
        assert!(bad.to_string().contains("is not a number"), "{bad}");
        let bad = effective("p", vec![("rewrite".into(), "/a".into())], &d).unwrap_err();
        assert!(bad.to_string().contains("FROM=>TO"), "{bad}");
        assert!(effective("p", vec![("strict".into(), "yes".into())], &d).is_ok());
    }

    #[test]
    fn keys_no_plugin_reads_are_refused_naming_the_known_ones() {
        let d = [decl("rewrite*", SettingKind::PathMapping, None)];
        let declares = Member {
            names: vec!["pm", "pm-file"],
            declares: true,
            declared: &d,
        };
        let err = check_chain(&[("rewritee".into(), "x".into())], &[declares]).unwrap_err();
        assert!(
            err.to_string().contains("rewritee")
                && err.to_string().contains("rewrite* (path-mapping)"),
            "{err}"
        );
        let declares = Member {
            names: vec!["pm"],
            declares: true,
            declared: &d,
        };
        let err = check_chain(&[("pm:nosuch".into(), "x".into())], &[declares]).unwrap_err();
        assert!(
            err.to_string()
                .contains("plugin pm has no setting \"nosuch\""),
            "{err}"
        );
        // A plugin built for 0.1 declares nothing: any plain key may be its.
        let old = Member {
            names: vec!["old"],
            declares: false,
            declared: &[],
        };
        assert!(check_chain(&[("anything".into(), "x".into())], &[old]).is_ok());
    }
}
