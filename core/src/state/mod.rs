//! Shipment and vehicle state, the pure apply of SPEC §4, derived fields and the digest.
