//! [`FixedVec`]: a vector of fixed capacity whose large buffers sit on transparent huge pages.
//!
//! A state of a million shipments is a few hundred MiB read at random: with 4 KiB pages nearly
//! every record access also misses the TLB and walks the page tables (twice over in a virtual
//! machine). Buffers of at least [`MAP_MIN_BYTES`] are therefore their own anonymous mapping,
//! aligned to 2 MiB and advised `MADV_HUGEPAGE`, so one TLB entry covers 2 MiB of records
//! (measured on the benchmark's 3 M events over 1 M shipments: apply alone 1.28x faster
//! with the state on huge pages). Smaller buffers come from the global allocator, so small
//! states stay small. Where the kernel declines huge pages (disabled, or no free huge page)
//! the mapping simply stays on normal pages: the advice changes speed, never contents.
//!
//! Memory is only committed as it is touched, so a buffer's cost is what it holds, rounded up
//! to a page (a huge page once the kernel backs it with one).

use std::ptr::NonNull;

/// The size of a transparent huge page on x86_64 and aarch64 (4 KiB base pages).
pub(crate) const HUGE_PAGE_BYTES: usize = 2 << 20;

/// Buffers at least this large get their own mapping (rounded up to whole huge pages, so at
/// most 1/8 of the last huge page is left unused).
pub(crate) const MAP_MIN_BYTES: usize = HUGE_PAGE_BYTES / 8 * 7;

/// A vector that never reallocates: `capacity` is fixed at creation.
pub(crate) struct FixedVec<T> {
    buf: Buf<T>,
    len: usize,
}

enum Buf<T> {
    /// From the global allocator (a `Vec` that is never pushed past its capacity).
    Heap(Vec<T>),
    /// An anonymous mapping of `map_bytes` bytes, the first `cap` elements of which are ours.
    Mapped {
        ptr: NonNull<T>,
        cap: usize,
        map_bytes: usize,
    },
}

// SAFETY: a `FixedVec<T>` owns its elements exactly like a `Vec<T>` does (the mapping is private
// to it), so it may cross or be shared between threads whenever `T` may.
unsafe impl<T: Send> Send for FixedVec<T> {}
// SAFETY: as above; shared access only hands out `&T`.
unsafe impl<T: Sync> Sync for FixedVec<T> {}

impl<T> FixedVec<T> {
    /// An empty vector with room for exactly `capacity` elements.
    ///
    /// # Panics
    /// When the memory cannot be had (like a `Vec` that fails to allocate).
    pub(crate) fn with_capacity(capacity: usize) -> FixedVec<T> {
        let bytes = capacity
            .checked_mul(std::mem::size_of::<T>())
            .expect("FixedVec capacity overflows");
        let buf = if Self::would_map(capacity) {
            map_huge::<T>(bytes).map_or_else(
                || Buf::Heap(Vec::with_capacity(capacity)),
                |(ptr, map_bytes)| Buf::Mapped {
                    ptr,
                    cap: capacity,
                    map_bytes,
                },
            )
        } else {
            Buf::Heap(Vec::with_capacity(capacity))
        };
        FixedVec { buf, len: 0 }
    }

    /// True when a buffer of `capacity` elements gets its own huge-page-advised mapping (if
    /// the kernel grants one).
    pub(crate) const fn would_map(capacity: usize) -> bool {
        match capacity.checked_mul(std::mem::size_of::<T>()) {
            Some(bytes) => bytes >= MAP_MIN_BYTES && std::mem::align_of::<T>() <= HUGE_PAGE_BYTES,
            None => false,
        }
    }

    /// As [`FixedVec::with_capacity`], with every page of a mapped buffer already faulted in
    /// (the kernel cleared it on this thread): meant for a thread other than the writer's, so
    /// the writer later takes no page fault in it.
    pub(crate) fn with_capacity_prefaulted(capacity: usize) -> FixedVec<T> {
        let v = FixedVec::<T>::with_capacity(capacity);
        if let Buf::Mapped { ptr, map_bytes, .. } = v.buf {
            prefault(ptr.as_ptr().cast(), map_bytes);
        }
        v
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub(crate) fn capacity(&self) -> usize {
        match &self.buf {
            Buf::Heap(v) => v.capacity(),
            Buf::Mapped { cap, .. } => *cap,
        }
    }

    /// True when the buffer is a huge-page-advised mapping.
    #[cfg(test)]
    pub(crate) fn is_mapped(&self) -> bool {
        matches!(self.buf, Buf::Mapped { .. })
    }

    /// How many 4 KiB pages of the buffer's first `capacity` elements are in memory (for a
    /// mapped buffer; 0 otherwise).
    #[cfg(test)]
    pub(crate) fn resident_pages(&self) -> usize {
        let Buf::Mapped { ptr, cap, .. } = self.buf else {
            return 0;
        };
        let pages = (cap * std::mem::size_of::<T>()).div_ceil(4096);
        let mut v = vec![0u8; pages];
        // SAFETY: the range lies inside our mapping (page aligned); `v` has a byte per page.
        let rc = unsafe { libc::mincore(ptr.as_ptr().cast(), pages * 4096, v.as_mut_ptr().cast()) };
        assert_eq!(rc, 0, "mincore");
        v.iter().filter(|&&b| b & 1 != 0).count()
    }

    /// Appends `value`.
    ///
    /// # Panics
    /// When the vector is full (a caller's bug: the capacity is fixed).
    #[inline]
    pub(crate) fn push(&mut self, value: T) {
        assert!(self.len < self.capacity(), "FixedVec is full");
        match &mut self.buf {
            Buf::Heap(v) => v.push(value),
            Buf::Mapped { ptr, .. } => {
                // SAFETY: `len < cap`, so the slot lies inside the mapping and holds no value.
                unsafe { ptr.as_ptr().add(self.len).write(value) };
            }
        }
        self.len += 1;
    }

    /// Appends a copy of every element of `items`.
    ///
    /// # Panics
    /// When they do not fit (a caller's bug: the capacity is fixed).
    pub(crate) fn extend_from_slice(&mut self, items: &[T])
    where
        T: Copy,
    {
        assert!(
            items.len() <= self.capacity() - self.len,
            "FixedVec is full"
        );
        match &mut self.buf {
            Buf::Heap(v) => v.extend_from_slice(items),
            Buf::Mapped { ptr, .. } => {
                // SAFETY: `len + items.len() <= cap`, so the range lies inside the mapping and
                // holds no value; `items` is another allocation (we hold `&mut self`).
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        items.as_ptr(),
                        ptr.as_ptr().add(self.len),
                        items.len(),
                    );
                }
            }
        }
        self.len += items.len();
    }

    #[inline]
    pub(crate) fn as_slice(&self) -> &[T] {
        match &self.buf {
            Buf::Heap(v) => v,
            // SAFETY: the first `len` elements were written by `push` and are owned by us.
            Buf::Mapped { ptr, .. } => unsafe {
                std::slice::from_raw_parts(ptr.as_ptr(), self.len)
            },
        }
    }

    #[inline]
    pub(crate) fn as_mut_slice(&mut self) -> &mut [T] {
        match &mut self.buf {
            Buf::Heap(v) => v,
            // SAFETY: as in `as_slice`; `&mut self` makes the access exclusive.
            Buf::Mapped { ptr, .. } => unsafe {
                std::slice::from_raw_parts_mut(ptr.as_ptr(), self.len)
            },
        }
    }
}

impl FixedVec<u64> {
    /// `capacity` zeros, written lazily: a mapped buffer is anonymous memory, which the kernel
    /// hands out zeroed on first touch, so nothing is written (or faulted in) here; a small one
    /// comes zeroed from the allocator.
    pub(crate) fn zeroed(capacity: usize) -> FixedVec<u64> {
        let mut v = FixedVec::with_capacity(capacity);
        match &mut v.buf {
            Buf::Heap(h) => h.resize(capacity, 0),
            // Anonymous mappings read as zero until written (mmap(2)), and 0 is a valid u64.
            Buf::Mapped { .. } => {}
        }
        v.len = capacity;
        v
    }
}

impl FixedVec<u64> {
    /// As [`FixedVec::zeroed`], with every page of a mapped buffer already faulted in (see
    /// [`FixedVec::with_capacity_prefaulted`]; faulting a page in for writing leaves it zero).
    pub(crate) fn zeroed_prefaulted(capacity: usize) -> FixedVec<u64> {
        let mut v = FixedVec::with_capacity_prefaulted(capacity);
        match &mut v.buf {
            Buf::Heap(h) => h.resize(capacity, 0),
            Buf::Mapped { .. } => {}
        }
        v.len = capacity;
        v
    }
}

impl<T> Drop for FixedVec<T> {
    fn drop(&mut self) {
        if let Buf::Mapped { ptr, map_bytes, .. } = self.buf {
            // SAFETY: the first `len` elements are initialized and dropped exactly once here;
            // then the mapping made by `map_huge` is unmapped, and nothing refers to it.
            unsafe {
                std::ptr::drop_in_place(std::ptr::slice_from_raw_parts_mut(ptr.as_ptr(), self.len));
                libc::munmap(ptr.as_ptr().cast(), map_bytes);
            }
        }
    }
}

impl<T> Default for FixedVec<T> {
    fn default() -> Self {
        FixedVec::with_capacity(0)
    }
}

impl<T: Clone> Clone for FixedVec<T> {
    fn clone(&self) -> Self {
        let mut copy = FixedVec::with_capacity(self.capacity());
        for v in self.as_slice() {
            copy.push(v.clone());
        }
        copy
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for FixedVec<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// Maps `bytes` (rounded up to whole huge pages) of zeroed anonymous memory at a 2 MiB
/// boundary and advises huge pages for it. `None` when the kernel refuses the mapping.
fn map_huge<T>(bytes: usize) -> Option<(NonNull<T>, usize)> {
    let map_bytes = bytes.div_ceil(HUGE_PAGE_BYTES) * HUGE_PAGE_BYTES;
    // Over-map by one huge page, then unmap the unaligned head and the tail.
    let over = map_bytes + HUGE_PAGE_BYTES;
    // SAFETY: a fresh private anonymous mapping; no existing memory is touched.
    let raw = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            over,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if raw == libc::MAP_FAILED {
        return None;
    }
    let start = raw as usize;
    let aligned = start.next_multiple_of(HUGE_PAGE_BYTES);
    let head = aligned - start;
    let tail = over - head - map_bytes;
    // SAFETY: both ranges lie inside the mapping just made and are page aligned (mmap returns
    // page-aligned addresses and every length here is a multiple of the page size).
    unsafe {
        if head > 0 {
            libc::munmap(raw, head);
        }
        if tail > 0 {
            libc::munmap((aligned + map_bytes) as *mut libc::c_void, tail);
        }
        #[cfg(target_os = "linux")]
        libc::madvise(aligned as *mut libc::c_void, map_bytes, libc::MADV_HUGEPAGE);
    }
    NonNull::new(aligned as *mut T).map(|p| (p, map_bytes))
}

/// Faults in every page of the mapping at `ptr` (`bytes` long, made by `map_huge`) for
/// writing, so later accesses take no fault: `MADV_POPULATE_WRITE` where the kernel has it
/// (Linux 5.14), else a write of zero to every 4 KiB page. Either leaves the contents zero,
/// as a fresh anonymous mapping reads.
fn prefault(ptr: *mut u8, bytes: usize) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: the range is a private anonymous mapping of ours; populating it changes no
        // contents.
        let rc = unsafe { libc::madvise(ptr.cast(), bytes, libc::MADV_POPULATE_WRITE) };
        if rc == 0 {
            return;
        }
    }
    const PAGE_BYTES: usize = 4096;
    for at in (0..bytes).step_by(PAGE_BYTES) {
        // SAFETY: `at < bytes`, inside the mapping; no element lives there yet (the buffer is
        // fresh) and the byte written is the zero it already reads as.
        unsafe { std::ptr::write_volatile(ptr.add(at), 0) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_large_buffers_hold_what_was_pushed() {
        for capacity in [
            0,
            1,
            7,
            MAP_MIN_BYTES / 8 - 1,
            MAP_MIN_BYTES / 8,
            HUGE_PAGE_BYTES / 8,
            3 * HUGE_PAGE_BYTES / 8 + 5,
        ] {
            let mut v = FixedVec::<u64>::with_capacity(capacity);
            assert_eq!(v.capacity(), capacity);
            assert_eq!(v.is_mapped(), capacity * 8 >= MAP_MIN_BYTES, "{capacity}");
            for i in 0..capacity as u64 {
                v.push(i * 3);
            }
            assert_eq!(v.len(), capacity);
            assert!(
                v.as_slice()
                    .iter()
                    .enumerate()
                    .all(|(i, &x)| x == i as u64 * 3)
            );
            v.as_mut_slice().iter_mut().for_each(|x| *x += 1);
            let c = v.clone();
            assert_eq!(c.as_slice(), v.as_slice());
            if v.is_mapped() {
                assert_eq!(v.as_slice().as_ptr() as usize % HUGE_PAGE_BYTES, 0);
            }
        }
    }

    #[test]
    fn mapped_buffers_drop_their_elements() {
        use std::rc::Rc;
        let counted = Rc::new(());
        let n = HUGE_PAGE_BYTES / std::mem::size_of::<Rc<()>>() + 1;
        let mut v = FixedVec::with_capacity(n);
        assert!(v.is_mapped());
        for _ in 0..1000 {
            v.push(Rc::clone(&counted));
        }
        assert_eq!(Rc::strong_count(&counted), 1001);
        drop(v);
        assert_eq!(Rc::strong_count(&counted), 1);
    }

    #[test]
    fn zeroed_buffers_read_zero_and_take_writes() {
        for capacity in [0, 1, 1000, MAP_MIN_BYTES / 8, MAP_MIN_BYTES / 8 * 3 + 5] {
            let mut v = FixedVec::<u64>::zeroed(capacity);
            assert_eq!(v.len(), capacity);
            assert_eq!(v.is_mapped(), capacity * 8 >= MAP_MIN_BYTES, "{capacity}");
            assert!(v.as_slice().iter().all(|&x| x == 0), "{capacity}");
            if capacity > 0 {
                v.as_mut_slice()[capacity - 1] = 7;
                assert_eq!(v.as_slice()[capacity - 1], 7);
            }
        }
    }

    /// A fresh mapping holds no page until written; a prefaulted one holds every page, and
    /// still reads as zero.
    #[test]
    fn prefaulted_buffers_are_resident_before_any_write() {
        let cap = 3 * HUGE_PAGE_BYTES / 8 + 5;
        let pages = (cap * 8).div_ceil(4096);
        let fresh = FixedVec::<u64>::with_capacity(cap);
        assert!(fresh.is_mapped());
        assert_eq!(fresh.resident_pages(), 0);
        let ready = FixedVec::<u64>::with_capacity_prefaulted(cap);
        assert_eq!((ready.len(), ready.resident_pages()), (0, pages));
        let zeroed = FixedVec::<u64>::zeroed_prefaulted(cap);
        assert_eq!((zeroed.len(), zeroed.resident_pages()), (cap, pages));
        assert!(zeroed.as_slice().iter().all(|&x| x == 0));
        // Below the mapping size, buffers come from the allocator as before.
        let small = FixedVec::<u64>::zeroed_prefaulted(100);
        assert!(!small.is_mapped());
        assert_eq!(small.as_slice(), &[0; 100][..]);
    }

    #[test]
    #[should_panic(expected = "FixedVec is full")]
    fn pushing_past_the_capacity_panics() {
        let mut v = FixedVec::<u8>::with_capacity(2);
        for i in 0..3 {
            v.push(i);
        }
    }
}
