//! A [`State`] in a snapshot: every store's records in slot order, as they lie in memory,
//! and the interners' values by their bytes. Indexes are not written: loading rebuilds them
//! from the records they point to. Slots, symbols and text references come back unchanged,
//! so the loaded state is the state that was written, store for store; nothing in it depends
//! on when or how it was loaded.

use std::io;

use super::extra::ExtraStores;
use super::index::Index;
use super::intern::{Interner, TermsInterner};
use super::shipment::{Progress, Shipment, flag};
use super::store::Chunked;
use super::vehicle::Vehicle;
use super::{State, register::Key};
use crate::snapshot::format::{SectionReader, SectionWriter, SnapshotDefect, defect};

impl State {
    /// Writes the state's sections (`shipments` to `state.misc`).
    pub(crate) fn write_image(&self, w: &mut SectionWriter) -> io::Result<()> {
        w.parts("shipments", self.shipments.parts())?;
        w.parts("progress", self.progress.parts())?;
        w.parts("vehicles", self.vehicles.parts())?;
        self.extras.write_image(w)?;
        self.customers.write_image("customers", w)?;
        self.detention_terms.write_image(w)?;
        self.routes.write_image("routes", w)?;
        w.section("state.misc", &[u64::from(self.max_failed_attempts)])
    }

    /// The state [`Self::write_image`] wrote, its references checked (`sources`: how many
    /// sources the machine has, for the keys). A snapshot whose references do not hold is
    /// refused, so that no read of the loaded state can go out of bounds.
    pub(crate) fn read_image(
        r: &mut SectionReader<'_>,
        sources: usize,
    ) -> Result<State, SnapshotDefect> {
        let shipments = Chunked::from_records(r.section::<Shipment>("shipments")?);
        let progress = Chunked::from_records(r.section::<Progress>("progress")?);
        let vehicles = Chunked::from_records(r.section::<Vehicle>("vehicles")?);
        let extras = ExtraStores::read_image(r, sources)?;
        let customers = Interner::read_image("customers", r)?;
        let detention_terms = TermsInterner::read_image(r)?;
        let routes = Interner::read_image("routes", r)?;
        let misc = r.one::<u64>("state.misc")?;
        let max_failed_attempts =
            u32::try_from(misc).map_err(|_| defect(0, "state.misc out of range"))?;
        let shipment_index = Index::rebuilt(shipments.len(), |i| shipments.get(i).id);
        let vehicle_index = Index::rebuilt(vehicles.len(), |i| vehicles.get(i).id);
        let state = State {
            shipments,
            shipment_index,
            progress,
            extras,
            vehicles,
            vehicle_index,
            customers,
            detention_terms,
            routes,
            max_failed_attempts,
            touched: Default::default(),
        };
        state.check_refs(sources).map_err(|e| defect(0, e))?;
        Ok(state)
    }

    /// Every reference of a shipment, progress part or vehicle lands on something that exists.
    fn check_refs(&self, sources: usize) -> Result<(), String> {
        let key_ok = |k: Key| k.sequence() == 0 || (k.source().0 as usize) < sources;
        for (slot, s) in self.shipments.iter().enumerate() {
            let order_ok = !s.has(flag::HAS_ORDER)
                || ((s.customer as usize) < self.customers.len()
                    && (s.detention as usize) < self.detention_terms.len());
            let ok = order_ok
                && (s.progress as usize) <= self.progress.len()
                && (s.extra as usize) <= self.extras.len()
                && key_ok(s.created_key);
            if !ok {
                return Err(format!("shipment {slot} refers past its stores"));
            }
        }
        for (slot, p) in self.progress.iter().enumerate() {
            let ok = (p.route as usize) < self.routes.len().max(1)
                && key_ok(p.route_key)
                && key_ok(p.eta_key)
                && key_ok(p.delivered_key);
            if !ok {
                return Err(format!("progress part {slot} refers past its stores"));
            }
        }
        if let Some(bad) = self.vehicles.iter().position(|v| !key_ok(v.key)) {
            return Err(format!("vehicle {bad} refers to an unknown source"));
        }
        let bearing_ok = |v: &Vehicle| {
            v.bearing.is_canonical()
                && v.bearing
                    .heading_deg()
                    .is_none_or(|h| h <= crate::event::MAX_HEADING_DEG)
        };
        if let Some(bad) = self.vehicles.iter().position(|v| !bearing_ok(v)) {
            return Err(format!(
                "vehicle {bad} has a heading or accuracy out of form"
            ));
        }
        Ok(())
    }
}
