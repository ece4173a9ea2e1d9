//! The contract in Rust: bindings generated from `wit/`, the current series and the frozen
//! 0.1.0 one. The host side of each interface (`capabilities`) and the sandbox that calls
//! plugins (`runtime`) both stand on them.

pub mod bindings {
    //! Rust bindings generated from `wit/plexmatch.wit`: the contract this host implements.
    wasmtime::component::bindgen!({ path: "../wit/plexmatch.wit", world: "plugin" });
}

pub mod bindings_v0_1 {
    //! Rust bindings of the frozen contract 0.1.0, for plugins built against it.
    wasmtime::component::bindgen!({
        path: "../wit/frozen/plexmatch-plugin-0.1.0.wit",
        world: "plugin",
    });
}

pub mod v0_1;
