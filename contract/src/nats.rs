//! The names a cluster puts on the wire of NATS JetStream (docs/cluster.md): its streams and
//! subjects, the headers of its messages and their message ids. The cluster publishes and
//! reads with these, and the AsyncAPI document describes these, so the two cannot disagree.

/// The stream of accepted events by source range (stage one's input).
pub const IN_STREAM: &str = "WAYBILL_IN";
/// The prefix of [`IN_STREAM`]'s subjects: `wb.in.<range>`.
pub const IN_SUBJECT_PREFIX: &str = "wb.in.";
/// The prefix of a key group's stream: `WAYBILL_KG_<group>`.
pub const KG_STREAM_PREFIX: &str = "WAYBILL_KG_";
/// The prefix of a key group's subject: `wb.kg.<group>`.
pub const KG_SUBJECT_PREFIX: &str = "wb.kg.";
/// The header that says what a key-group message is ([`Kind`]).
pub const KIND_HEADER: &str = "Waybill-Kind";
/// The header with an event's full length in bytes when ingress cut it at 1 MiB
/// (`waybill_core::input`).
pub const LEN_HEADER: &str = "Waybill-Len";
/// The header of an input message naming the ingress run and the event's position in its
/// input, `<run>#<position>` (tells a resend from a genuine duplicate).
pub const ORIGIN_HEADER: &str = "Waybill-Origin";
/// JetStream's message id header: a stream drops a message whose id it already holds.
pub const MSG_ID_HEADER: &str = "Nats-Msg-Id";

/// The subject of source range `range` in [`IN_STREAM`].
pub fn in_subject(range: u32) -> String {
    format!("{IN_SUBJECT_PREFIX}{range}")
}

/// The stream of key group `group` (stage two's input): one stream per key group, so that a
/// message's stream sequence is its position in the key group (the journal's resume point).
pub fn kg_stream(group: u32) -> String {
    format!("{KG_STREAM_PREFIX}{group}")
}

/// The subject of key group `group`.
pub fn kg_subject(group: u32) -> String {
    format!("{KG_SUBJECT_PREFIX}{group}")
}

/// The message id of an accepted event: `<source>#<sequence>` (a resend is dropped by the
/// stream's deduplication).
pub fn event_id(source: &str, sequence: u64) -> String {
    format!("{source}#{sequence}")
}

/// The message id of an input message that is not an event (it did not decode): `raw#<origin>`.
pub fn raw_id(origin: &str) -> String {
    format!("raw#{origin}")
}

/// The message id of anything stage one forwards that is not a new event, named by the input
/// message it came from: `dead#<range>#<input sequence>`.
pub fn dead_id(range: u32, in_sequence: u64) -> String {
    format!("dead#{range}#{in_sequence}")
}

/// The message id of a gap notice: `gap#<source>#<first>-<last>`.
pub fn gap_id(source: &str, first: u64, last: u64) -> String {
    format!("gap#{source}#{first}-{last}")
}

/// What a key-group message carries ([`KIND_HEADER`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An event the sequencer found new, as received (JSON).
    Event,
    /// An event that failed acceptance, as received (the core dead-letters it the same way).
    Dead,
    /// Missing sequences of a source (`waybill_core::event::GapNotice` as JSON).
    Gap,
}

impl Kind {
    /// Every kind, in the order of the documents.
    pub const ALL: [Kind; 3] = [Kind::Event, Kind::Dead, Kind::Gap];

    /// The header's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Event => "event",
            Kind::Dead => "dead",
            Kind::Gap => "gap",
        }
    }

    /// The kind a header names.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_documented_ones() {
        let cases: [(String, &str); 8] = [
            (in_subject(3), "wb.in.3"),
            (kg_stream(17), "WAYBILL_KG_17"),
            (kg_subject(17), "wb.kg.17"),
            (event_id("erp/a", 7), "erp/a#7"),
            (raw_id("r1#9"), "raw#r1#9"),
            (dead_id(2, 130), "dead#2#130"),
            (gap_id("fleet/t-1", 4, 6), "gap#fleet/t-1#4-6"),
            (Kind::Gap.as_str().to_owned(), "gap"),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
        }
        assert_eq!(Kind::parse("settings"), None);
    }
}
