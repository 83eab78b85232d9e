//! Decoding and validation of CloudEvents JSON (SPEC §1-3).
