//! The imperative shell around the machine: decode, journal, apply, durability.
