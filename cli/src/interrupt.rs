//! Ctrl-C during a batch: stop reading paths, answer those in flight, print the summary,
//! exit 130. A second Ctrl-C ends the process at once (the handler is reset after the first).

use std::sync::atomic::Ordering;

use plexmatch_engine::input::STOP;

extern "C" fn on_sigint(_: libc::c_int) {
    // Only an atomic store: nothing else is safe in a signal handler.
    STOP.store(true, Ordering::SeqCst);
}

/// Installs the SIGINT handler; `false` if it could not be.
pub fn install() -> bool {
    // SAFETY: `sigaction` with a zeroed struct, an empty mask and a handler that only
    // stores to an atomic (stdin is read through `StoppableStdin`, which sees it).
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigint as *const () as usize;
        action.sa_flags = libc::SA_RESETHAND;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut()) == 0
    }
}

/// Whether Ctrl-C was pressed.
pub fn stopped() -> bool {
    plexmatch_engine::input::stopping()
}
