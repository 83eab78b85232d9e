//! The deterministic state machine: one journal record in, one outcome out.
