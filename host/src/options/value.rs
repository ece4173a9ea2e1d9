//! Reading an option's value from a flag's text, an environment variable or the
//! configuration file's TOML, and writing it back for `config show --json` and `--help`.

use std::path::PathBuf;

/// A value as a source gives it.
#[derive(Debug, Clone, Copy)]
pub enum Raw<'a> {
    /// The flag's values (one per use of a repeatable flag), or an environment variable's.
    Text(&'a [String]),
    /// The configuration file's value.
    Toml(&'a toml::Value),
}

/// A type an option can have.
pub trait Value: Sized {
    /// The value `raw` gives, or what is wrong with it ("must be …, not …").
    fn parse(raw: Raw<'_>) -> Result<Self, String>;
    /// The value as `config show --json` prints it.
    fn json(&self) -> serde_json::Value;
    /// The value as a flag would take it, to show as a default in `--help`.
    fn flag_text(&self) -> Option<String>;
}

/// The one text a single-valued option was given (the last, when a flag is repeated).
fn text(raw: &[String]) -> &str {
    raw.last().map(String::as_str).unwrap_or("").trim()
}

fn toml_shown(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

macro_rules! whole {
    ($($t:ty),*) => {$(
        impl Value for $t {
            fn parse(raw: Raw<'_>) -> Result<Self, String> {
                let bad = |shown: String| format!("must be a whole number, not {shown}");
                match raw {
                    Raw::Text(t) => text(t).parse().map_err(|_| bad(format!("{:?}", text(t)))),
                    Raw::Toml(toml::Value::Integer(i)) => {
                        <$t>::try_from(*i).map_err(|_| bad(i.to_string()))
                    }
                    Raw::Toml(v) => Err(bad(toml_shown(v))),
                }
            }
            fn json(&self) -> serde_json::Value {
                serde_json::json!(self)
            }
            fn flag_text(&self) -> Option<String> {
                Some(self.to_string())
            }
        }
    )*};
}
whole!(u32, u64, usize);

impl Value for f64 {
    fn parse(raw: Raw<'_>) -> Result<Self, String> {
        let bad = |shown: String| format!("must be a number, not {shown}");
        match raw {
            Raw::Text(t) => text(t).parse().map_err(|_| bad(format!("{:?}", text(t)))),
            Raw::Toml(toml::Value::Float(f)) => Ok(*f),
            Raw::Toml(toml::Value::Integer(i)) => Ok(*i as f64),
            Raw::Toml(v) => Err(bad(toml_shown(v))),
        }
    }
    fn json(&self) -> serde_json::Value {
        serde_json::json!(self)
    }
    fn flag_text(&self) -> Option<String> {
        Some(self.to_string())
    }
}

impl Value for bool {
    fn parse(raw: Raw<'_>) -> Result<Self, String> {
        match raw {
            Raw::Text(t) => match text(t).to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(true),
                "false" | "0" | "no" | "off" => Ok(false),
                other => Err(format!("must be true or false, not {other:?}")),
            },
            Raw::Toml(toml::Value::Boolean(b)) => Ok(*b),
            Raw::Toml(v) => Err(format!("must be true or false, not {}", toml_shown(v))),
        }
    }
    fn json(&self) -> serde_json::Value {
        serde_json::json!(self)
    }
    fn flag_text(&self) -> Option<String> {
        None
    }
}

impl Value for String {
    fn parse(raw: Raw<'_>) -> Result<Self, String> {
        match raw {
            Raw::Text(t) => Ok(t.last().cloned().unwrap_or_default()),
            Raw::Toml(toml::Value::String(s)) => Ok(s.clone()),
            Raw::Toml(v) => Err(format!("must be a string, not {}", toml_shown(v))),
        }
    }
    fn json(&self) -> serde_json::Value {
        serde_json::json!(self)
    }
    fn flag_text(&self) -> Option<String> {
        Some(self.clone())
    }
}

impl Value for PathBuf {
    /// A path from the file may start with `~/`, the home directory.
    fn parse(raw: Raw<'_>) -> Result<Self, String> {
        match raw {
            Raw::Toml(_) => String::parse(raw).map(|s| super::expand(&s)),
            Raw::Text(_) => String::parse(raw).map(PathBuf::from),
        }
    }
    fn json(&self) -> serde_json::Value {
        serde_json::json!(self.display().to_string())
    }
    fn flag_text(&self) -> Option<String> {
        Some(self.display().to_string())
    }
}

impl<T: Value> Value for Option<T> {
    fn parse(raw: Raw<'_>) -> Result<Self, String> {
        T::parse(raw).map(Some)
    }
    fn json(&self) -> serde_json::Value {
        self.as_ref()
            .map(T::json)
            .unwrap_or(serde_json::Value::Null)
    }
    fn flag_text(&self) -> Option<String> {
        self.as_ref().and_then(T::flag_text)
    }
}

impl Value for crate::paths::PathMaps {
    /// Rules as `FROM=TO` texts (flags, or strings in the file), or file tables with
    /// `from` and `to` (`[[paths.map]]`).
    fn parse(raw: Raw<'_>) -> Result<Self, String> {
        use crate::paths::{PathMap, PathMaps};
        let rules = match raw {
            Raw::Text(t) => t.iter().map(|r| PathMap::parse(r)).collect::<Result<_, _>>()?,
            Raw::Toml(toml::Value::Array(a)) => a
                .iter()
                .map(|v| match v {
                    toml::Value::String(s) => PathMap::parse(s),
                    toml::Value::Table(t) => match (t.get("from"), t.get("to")) {
                        (Some(toml::Value::String(f)), Some(toml::Value::String(to)))
                            if t.len() == 2 =>
                        {
                            PathMap::parse(&format!("{f}={to}"))
                        }
                        _ => Err(format!(
                            "must be tables of two strings, from and to, not {}",
                            toml_shown(v)
                        )),
                    },
                    other => Err(format!(
                        "must be a list of FROM=TO strings or [[paths.map]] tables, not one holding {}",
                        toml_shown(other)
                    )),
                })
                .collect::<Result<_, _>>()?,
            Raw::Toml(v) => {
                return Err(format!(
                    "must be a list of FROM=TO strings or [[paths.map]] tables, not {}",
                    toml_shown(v)
                ));
            }
        };
        Ok(PathMaps(rules))
    }
    fn json(&self) -> serde_json::Value {
        serde_json::json!(self.0.iter().map(|m| m.to_string()).collect::<Vec<_>>())
    }
    fn flag_text(&self) -> Option<String> {
        None
    }
}

impl Value for Vec<String> {
    /// A list from the file may name files under `~/`, the home directory.
    fn parse(raw: Raw<'_>) -> Result<Self, String> {
        match raw {
            Raw::Text(t) => Ok(t.to_vec()),
            Raw::Toml(toml::Value::Array(a)) => a
                .iter()
                .map(|v| match v {
                    toml::Value::String(s) if s.starts_with("~/") => {
                        Ok(super::expand(s).display().to_string())
                    }
                    toml::Value::String(s) => Ok(s.clone()),
                    other => Err(format!(
                        "must be a list of strings, not one holding {}",
                        toml_shown(other)
                    )),
                })
                .collect(),
            Raw::Toml(v) => Err(format!("must be a list of strings, not {}", toml_shown(v))),
        }
    }
    fn json(&self) -> serde_json::Value {
        serde_json::json!(self)
    }
    fn flag_text(&self) -> Option<String> {
        None
    }
}
