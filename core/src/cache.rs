//! Software prefetch: ask the CPU to start loading a cache line that a step a few events
//! later will read (the source table's slot, the id index's entry).

/// Starts loading the cache line that holds `at` into every cache level. Reads nothing and
/// changes nothing but what is in cache; a no-op off x86_64.
#[inline(always)]
pub(crate) fn prefetch<T>(at: &T) {
    // SAFETY: SSE is part of every x86_64 target; a prefetch reads nothing and cannot fault
    // (and `at` is a valid reference anyway).
    #[cfg(target_arch = "x86_64")]
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            (at as *const T).cast(),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = at;
}
