//! The append-only, memory-mapped, hash-chained journal (SPEC §6).
