//! The wasmtime engines plugins run in: the pooling allocator's when its slots can be
//! reserved (instances about 30% cheaper to make), else on-demand; each with a thread that
//! advances its epoch, which is how a plugin's CPU deadline is enforced.

use std::sync::OnceLock;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances; a runaway plugin is stopped within this of its deadline.
const TICK: Duration = Duration::from_millis(10);

/// Largest memory cap the pooled engine serves; plugins allowed more use the on-demand one.
pub const POOLED_MEMORY_MAX: usize = 256 << 20;
/// Instances the pool holds at once: the batch engine's at most 64 workers times a chain
/// of a few plugins, with room to spare. (The slots are address space reserved up front,
/// not memory used.)
const POOLED_INSTANCES: u32 = 512;

/// The engine for plugins whose memory cap is `memory_bytes`: the pooling allocator's
/// (instances come from pre-reserved slots, about 30% cheaper to make) when the cap fits
/// its slots and the machine lets it reserve them, else wasmtime's on-demand allocator.
/// `PLEXMATCH_NO_POOLING=1` turns pooling off (for machines that limit address space).
pub fn engine_for(memory_bytes: usize) -> &'static Engine {
    static POOLED: OnceLock<Option<Engine>> = OnceLock::new();
    let pooled = POOLED.get_or_init(|| {
        if std::env::var_os("PLEXMATCH_NO_POOLING").is_some_and(|v| !v.is_empty() && v != "0") {
            return None;
        }
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(POOLED_INSTANCES)
            .total_core_instances(POOLED_INSTANCES * 8)
            .total_memories(POOLED_INSTANCES * 2)
            .total_tables(POOLED_INSTANCES * 8)
            .max_memory_size(POOLED_MEMORY_MAX)
            // Stacks serve async calls only, which plexmatch never makes (wasmtime-wasi
            // turns the feature on). The default 1,000 cost an `mprotect` each at every
            // start: a fifth of a one-path run's CPU.
            .total_stacks(0);
        let mut config = base_config();
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        match Engine::new(&config) {
            Ok(e) => Some(start_ticker(e)),
            Err(e) => {
                tracing::info!("the pooling allocator is not available here ({e}); instances are made on demand");
                None
            }
        }
    });
    match pooled {
        Some(e) if memory_bytes <= POOLED_MEMORY_MAX => e,
        _ => engine(),
    }
}

/// The on-demand engine (no reservations), with its epoch ticker thread.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        start_ticker(Engine::new(&base_config()).expect("the wasmtime configuration is valid"))
    })
}

fn base_config() -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config
}

/// Advances the engine's epoch every [`TICK`] for as long as the engine lives.
fn start_ticker(engine: Engine) -> Engine {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("plexmatch-epoch".into())
        .spawn(move || {
            while let Some(e) = weak.upgrade() {
                e.increment_epoch();
                drop(e);
                std::thread::sleep(TICK);
            }
        })
        .expect("can start the epoch thread");
    engine
}
