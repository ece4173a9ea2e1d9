//! Why a plugin call produced no answer: a wasmtime error classified into what a user can
//! act on (a deadline, a wall-clock limit, the memory cap, a trap with what the plugin said
//! on its stderr).

use std::time::Duration;

use super::*;

/// Why a plugin call produced no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginFailure {
    /// It ran longer than its CPU deadline and was stopped.
    Deadline { plugin: String, limit: Duration },
    /// The call took longer than its wall-clock limit (host calls included) and was stopped.
    WallClock { plugin: String, limit: Duration },
    /// It tried to grow its memory past the cap.
    OutOfMemory { plugin: String, limit: usize },
    /// It trapped (a panic, an abort, a wasm fault).
    Crashed { plugin: String, detail: String },
    /// It could not be instantiated.
    Instantiate { plugin: String, detail: String },
}

impl std::fmt::Display for PluginFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PluginFailure::Deadline { plugin, limit } => {
                write!(
                    f,
                    "plugin {plugin:?} was stopped: it used more than its CPU deadline of {limit:?}"
                )
            }
            PluginFailure::WallClock { plugin, limit } => {
                write!(
                    f,
                    "plugin {plugin:?} was stopped: its call took longer than its wall-clock limit of {limit:?} (Plex requests included)"
                )
            }
            PluginFailure::OutOfMemory { plugin, limit } => {
                write!(
                    f,
                    "plugin {plugin:?} ran out of memory: it tried to grow past its cap of {} MiB",
                    limit >> 20
                )
            }
            PluginFailure::Crashed { plugin, detail } => {
                write!(f, "plugin {plugin:?} crashed: {detail}")
            }
            PluginFailure::Instantiate { plugin, detail } => {
                write!(f, "plugin {plugin:?} could not start: {detail}")
            }
        }
    }
}

/// Turns a wasmtime error into the reason a user can act on.
pub(super) fn classify(
    store: &mut Store<State>,
    plugin: &str,
    e: wasmtime::Error,
    instantiating: bool,
) -> PluginFailure {
    let data = store.data();
    let plugin = plugin.to_owned();
    if data.clock.exceeded {
        return PluginFailure::Deadline {
            plugin,
            limit: data.clock.budget,
        };
    }
    if data.clock.wall_exceeded {
        return PluginFailure::WallClock {
            plugin,
            limit: data.clock.wall_limit,
        };
    }
    if data.limiter.memory_exceeded {
        return PluginFailure::OutOfMemory {
            plugin,
            limit: data.limiter.memory_bytes,
        };
    }
    // A Rust plugin's panic message or a Python traceback went to its stderr; it says more
    // than the trap. Its lines stay lines (escaped `\n`, as all plugin text is escaped).
    let stderr = data.stderr.drain();
    let said: Vec<&str> = stderr
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty() && !l.starts_with("note:"))
        .collect();
    let said = (!said.is_empty()).then(|| {
        let joined = said.join("\n");
        crate::text::escape_controls(&crate::text::clip_bytes(&joined, 2000)).into_owned()
    });
    let trap = match e.downcast_ref::<wasmtime::Trap>() {
        // Rust keeps its stack in linear memory: running off its end is this trap.
        Some(wasmtime::Trap::MemoryOutOfBounds) => {
            "wasm trap: out of bounds memory access (a stack overflow, e.g. runaway recursion, or a memory bug)".to_owned()
        }
        Some(t) => t.to_string(),
        // The cause (an unknown import called, say) first: the backtrace says less.
        None => {
            let root = e.root_cause().to_string();
            let top = e.to_string();
            if root == top {
                top
            } else {
                format!("{root}; {top}")
            }
        }
    };
    let detail = match said {
        Some(s) => format!("{s} ({trap})"),
        None => trap,
    };
    if instantiating {
        PluginFailure::Instantiate { plugin, detail }
    } else {
        PluginFailure::Crashed { plugin, detail }
    }
}

/// A wasmtime error as an anyhow error with `what` in front of wasmtime's own chain.
pub(super) fn explain(e: wasmtime::Error, what: String) -> anyhow::Error {
    anyhow::anyhow!("{what}: {e:#}")
}
