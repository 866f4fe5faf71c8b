//! glibc's allocator, set to one malloc arena before the process starts any thread.
//!
//! glibc gives threads their own arenas and each keeps the memory freed in it for reuse, so
//! a run's resident peak is well above what its operators hold at once. With one arena the
//! shipped library over 20.5 M events (release, 2 cores) peaks at 285–288 MB resident
//! instead of 349–353 MB, for a few percent more time (docs/decisions.md, "One malloc
//! arena"). `MALLOC_ARENA_MAX` in the environment wins; other platforms are unchanged.

/// Limit glibc to one malloc arena unless `MALLOC_ARENA_MAX` is set.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn one_malloc_arena() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    // SAFETY: `mallopt` only sets a parameter of glibc's allocator (thread-safe, and this
    // runs before the runtime starts any thread); its result (0 when glibc refuses) needs
    // no handling: the defaults stay.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Other platforms keep their allocator's defaults.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn one_malloc_arena() {}
