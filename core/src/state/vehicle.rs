//! The stored shape of one vehicle: its last-writer-wins position.

use super::register::Key;
use crate::event::GeoPoint;

#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub(crate) struct Vehicle {
    pub id: u64,
    /// Key of the winning `vehicle.position`.
    pub key: Key,
    pub position: GeoPoint,
    pub speed_kph_milli: u32,
}
