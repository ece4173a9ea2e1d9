//! wasi:http refused: a component that imports it links, and a plugin that tries a request
//! is stopped with a trap that names the function.

use super::*;

/// Defines every wasi:http function the component imports as a trap that names it, and its
/// resources as host resources nothing can create: the component links, and a plugin that
/// tries a request is stopped. (Only wasi:http: wasmtime's `define_unknown_imports_as_traps`
/// would also shadow WASI interfaces the component imports at another patch version.)
pub(super) fn refuse_http(
    engine: &Engine,
    linker: &mut Linker<State>,
    component: &wasmtime::component::Component,
) -> wasmtime::Result<()> {
    use wasmtime::component::ResourceType;
    use wasmtime::component::types::ComponentItem;
    use wasmtime_wasi::p2::{DynInputStream, DynOutputStream, DynPollable, IoError};
    struct Refused;
    let ty = component.component_type();
    // wasi:http/types re-exports wasi:io's streams, pollable and error: those must stay the
    // very resources wasmtime-wasi implements, or the import does not type-check.
    let io_resources: Vec<(ResourceType, ResourceType)> = ty
        .imports(engine)
        .filter(|(name, _)| name.starts_with("wasi:io/"))
        .filter_map(|(_, item)| match item.ty {
            ComponentItem::ComponentInstance(instance) => Some(instance),
            _ => None,
        })
        .flat_map(|instance| {
            instance
                .exports(engine)
                .filter_map(|(export, item)| {
                    let ComponentItem::Resource(theirs) = item.ty else {
                        return None;
                    };
                    let ours = match export {
                        "pollable" => ResourceType::host::<DynPollable>(),
                        "input-stream" => ResourceType::host::<DynInputStream>(),
                        "output-stream" => ResourceType::host::<DynOutputStream>(),
                        "error" => ResourceType::host::<IoError>(),
                        _ => return None,
                    };
                    Some((theirs, ours))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    for (name, item) in ty.imports(engine) {
        let (true, ComponentItem::ComponentInstance(instance)) =
            (name.starts_with("wasi:http/"), item.ty)
        else {
            continue;
        };
        let mut li = linker.instance(name)?;
        for (export, item) in instance.exports(engine) {
            match item.ty {
                ComponentItem::ComponentFunc(_) => {
                    let called = format!("{name}#{export}");
                    li.func_new(export, move |_, _, _, _| {
                        wasmtime::bail!(
                            "{called} refused: a plugin may not reach the network (wasi:http)"
                        )
                    })?;
                }
                ComponentItem::Resource(theirs) => {
                    match io_resources.iter().find(|(t, _)| *t == theirs) {
                        Some((_, ours)) => li.resource(export, *ours, |_, _| Ok(()))?,
                        None => {
                            li.resource(export, ResourceType::host::<Refused>(), |_, _| Ok(()))?
                        }
                    }
                }
                _ => {}
            }
        }
    }
    Ok(())
}
