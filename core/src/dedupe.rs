//! Dedupe by (source, sequence) and gap accounting (SPEC §3).
