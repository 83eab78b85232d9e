//! The stored shape of one vehicle: its last-writer-wins position.

use super::register::Key;
use crate::event::{GeoPoint, MAX_HEADING_DEG};

#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub(crate) struct Vehicle {
    pub id: u64,
    /// Key of the winning `vehicle.position`.
    pub key: Key,
    pub position: GeoPoint,
    pub speed_kph_milli: u32,
    /// What only a version 2 position carries; taken from the same winning event.
    pub bearing: Bearing,
}

/// A position's heading and accuracy, each present or not (8 bytes, no padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub(crate) struct Bearing {
    heading_deg: u16,
    /// [`HAS_HEADING`] and [`HAS_ACCURACY`].
    flags: u16,
    accuracy_mm: u32,
}

const HAS_HEADING: u16 = 1;
const HAS_ACCURACY: u16 = 2;

impl Bearing {
    pub(crate) fn new(heading_deg: Option<u16>, accuracy_mm: Option<u32>) -> Bearing {
        debug_assert!(heading_deg.is_none_or(|h| h <= MAX_HEADING_DEG), "heading");
        let mut flags = 0;
        if heading_deg.is_some() {
            flags |= HAS_HEADING;
        }
        if accuracy_mm.is_some() {
            flags |= HAS_ACCURACY;
        }
        Bearing {
            heading_deg: heading_deg.unwrap_or(0),
            flags,
            accuracy_mm: accuracy_mm.unwrap_or(0),
        }
    }

    pub(crate) fn heading_deg(self) -> Option<u16> {
        (self.flags & HAS_HEADING != 0).then_some(self.heading_deg)
    }

    pub(crate) fn accuracy_mm(self) -> Option<u32> {
        (self.flags & HAS_ACCURACY != 0).then_some(self.accuracy_mm)
    }

    /// Whether the bearing is the canonical encoding of its two options (what every stored
    /// vehicle holds; a snapshot is checked against it).
    pub(crate) fn is_canonical(self) -> bool {
        self == Bearing::new(self.heading_deg(), self.accuracy_mm())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearing_round_trips_its_options() {
        for heading in [None, Some(0), Some(MAX_HEADING_DEG)] {
            for accuracy in [None, Some(0), Some(u32::MAX)] {
                let b = Bearing::new(heading, accuracy);
                assert_eq!((b.heading_deg(), b.accuracy_mm()), (heading, accuracy));
                assert!(b.is_canonical());
            }
        }
        assert!(!bytemuck::cast::<[u8; 8], Bearing>([7, 0, 0, 0, 0, 0, 0, 0]).is_canonical());
        assert_eq!(std::mem::size_of::<Vehicle>(), 48);
    }
}
