//! [`LargePages`], the allocator the binaries install: the system's, asking Linux to back large
//! blocks with transparent huge pages.
//!
//! Welding and topology make random accesses over arrays of many megabytes (the welding table,
//! the vertices, the half-edge regions, the union-find parents). With 4 KiB pages each such
//! access is also a TLB miss, and each page is a fault when first written. Debian's kernels give
//! huge pages only where a program asks (`madvise` mode), and glibc asks only when told by
//! `GLIBC_TUNABLES=glibc.malloc.hugetlb=1`. On the 754k-triangle gear that setting took
//! `pricing-bench analyze` from 58 to 47 ms (median of 20 alternating runs, 2 cores), with peak
//! memory 41.5 -> 42.9 MB. This allocator asks for every block of at least one huge page, so the
//! binaries get it without the environment variable; small blocks are left alone.

use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks at least this large are advised: one huge page on x86-64 and most arm64 kernels.
const LARGE_BYTES: usize = 2 << 20;

/// The system allocator, with large blocks advised to use transparent huge pages. Install it
/// in a binary with `#[global_allocator] static ALLOCATOR: LargePages = LargePages;`.
pub struct LargePages;

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// caller's guarantees are `System`'s; `advise` only changes how the kernel backs memory the
// block already owns, never its contents or its extent.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for LargePages {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: see the impl.
        let block = unsafe { System.alloc(layout) };
        advise(block, layout.size());
        block
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: see the impl.
        let block = unsafe { System.alloc_zeroed(layout) };
        advise(block, layout.size());
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: see the impl.
        unsafe { System.dealloc(block, layout) }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: see the impl.
        let moved = unsafe { System.realloc(block, layout, new_size) };
        if new_size > layout.size() {
            advise(moved, new_size);
        }
        moved
    }
}

/// Tells the C allocator to keep the memory a process frees for its next blocks, rather than
/// give it back to the kernel and take it again, faulting every page in anew. Call it once,
/// early in `main`, before the work starts. A quote builds and drops the same large buffers
/// for each of its 13-18 candidate orientations: with glibc's defaults (blocks above 128 KiB
/// mapped and unmapped one by one, the threshold rising with freed blocks up to 32 MiB, freed
/// heap tops trimmed) the extruder body's quote took 12.3k page faults, 4.9k with these
/// settings. Blocks up to 32 MiB (the top of glibc's own rising threshold; the value measured)
/// now come from the heap, and the heap is trimmed only above 512 MiB free. Over the 20
/// models of `quote_vs_slicer.py` (`quote_ab.py`, best of 5): quotes 0.96x as long (median),
/// 0.94x (geometric mean), the quadknot 0.79x. Not for `analyze`, whose peak memory it raises
/// (the robot's 12.5 -> 15.0 MB: freed blocks do not fit the next ones). A no-op where the C
/// library is not glibc.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        #[allow(unsafe_code)]
        // SAFETY: mallopt only sets allocator parameters, under glibc's own lock. A refused
        // setting (result 0) leaves glibc's default, which is correct, only slower.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
        }
    }
}

/// Asks the kernel to back the whole pages of `size` bytes at `block` with huge pages where it
/// can. Best effort: a kernel without transparent huge pages refuses, and nothing changes.
#[allow(unsafe_code)]
fn advise(block: *mut u8, size: usize) {
    if block.is_null() || size < LARGE_BYTES {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let start = (block as usize).next_multiple_of(PAGE);
        let end = (block as usize + size) / PAGE * PAGE;
        if end > start {
            // SAFETY: `start..end` lies inside the block just handed out, which stays valid;
            // MADV_HUGEPAGE changes only how the kernel backs it. The result is ignored on
            // purpose: the advice is optional.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocks large and small, grown, shrunk and zeroed, keep their contents.
    #[test]
    fn blocks_keep_their_contents() {
        for size in [16, 4096, LARGE_BYTES - 1, LARGE_BYTES, 3 * LARGE_BYTES + 17] {
            let layout = Layout::from_size_align(size, 8).expect("layout");
            #[allow(unsafe_code)]
            // SAFETY: the layouts are valid and non-zero, each block is freed once with the
            // layout it has at that point.
            unsafe {
                let zeroed = LargePages.alloc_zeroed(layout);
                assert!(!zeroed.is_null());
                assert!(
                    std::slice::from_raw_parts(zeroed, size)
                        .iter()
                        .all(|&b| b == 0)
                );
                LargePages.dealloc(zeroed, layout);

                let block = LargePages.alloc(layout);
                assert!(!block.is_null());
                for k in 0..size {
                    *block.add(k) = (k % 251) as u8;
                }
                let grown = LargePages.realloc(block, layout, 2 * size);
                assert!(!grown.is_null());
                assert!(
                    (0..size).all(|k| *grown.add(k) == (k % 251) as u8),
                    "{size}"
                );
                let grown_layout = Layout::from_size_align(2 * size, 8).expect("layout");
                let shrunk = LargePages.realloc(grown, grown_layout, size / 2 + 1);
                assert!((0..size / 2 + 1).all(|k| *shrunk.add(k) == (k % 251) as u8));
                let shrunk_layout = Layout::from_size_align(size / 2 + 1, 8).expect("layout");
                LargePages.dealloc(shrunk, shrunk_layout);
            }
        }
    }
}
