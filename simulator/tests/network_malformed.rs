//! Malformed copies decode to exactly the dead-letter reason they were made for, for every
//! reason and every event type; events and duplicates decode back to the world's event.

mod network_support;

use network_support::*;
use waybill_core::decode::decode;
use waybill_core::event::{DeadLetterReason, Entry};
use waybill_sim::network::{Delivered, Delivery, Wire, deliver, encode};

fn reason_of(bytes: &[u8]) -> Option<DeadLetterReason> {
    match decode(bytes) {
        Entry::DeadLetter(dl) => Some(dl.reason),
        Entry::Event(_) | Entry::Settings(_) | Entry::Notice(_) => None,
    }
}

#[test]
fn every_reason_is_crafted_for_every_event() {
    // 3000 events: every type with many index variants (each reason has a few variants
    // chosen by the index).
    let world = world(3_000);
    let mut out = Vec::new();
    for (i, _) in world.events.iter().enumerate() {
        for reason in DeadLetterReason::ALL {
            out.clear();
            let d = Delivery {
                arrival_us: 0,
                what: Delivered::Malformed {
                    of: i as u32,
                    reason,
                },
            };
            encode(&world, &Wire::CANONICAL, &d, &mut out);
            let got = reason_of(&out);
            assert_eq!(
                got,
                Some(reason),
                "event {i} ({}) crafted for {}: {}",
                world.events[i].event.event_type().as_str(),
                reason.as_str(),
                String::from_utf8_lossy(&out[..out.len().min(400)])
            );
            if reason != DeadLetterReason::TooLarge {
                assert!(out.len() <= 64 * 1024);
            }
            assert!(!out.contains(&b'\n'), "one line");
            // Deterministic.
            let mut again = Vec::new();
            encode(&world, &Wire::CANONICAL, &d, &mut again);
            assert_eq!(again, out);
        }
    }
}

#[test]
fn events_and_duplicates_are_the_world_event_byte_for_byte() {
    let world = world(1_500);
    let mut a = b"prefix".to_vec();
    let mut b = Vec::new();
    for (i, e) in world.events.iter().enumerate() {
        a.truncate(6);
        b.clear();
        encode(
            &world,
            &Wire::CANONICAL,
            &Delivery {
                arrival_us: 1,
                what: Delivered::Event(i as u32),
            },
            &mut a,
        );
        encode(
            &world,
            &Wire::CANONICAL,
            &Delivery {
                arrival_us: 2,
                what: Delivered::Duplicate(i as u32),
            },
            &mut b,
        );
        assert_eq!(&a[..6], b"prefix", "encode appends");
        assert_eq!(&a[6..], &b[..]);
        assert_eq!(decode(&b), Entry::Event(e.event.clone()));
    }
}

#[test]
fn the_injected_counts_are_what_the_decoder_says() {
    let world = world(40_000);
    let stream = deliver(
        &world,
        &scenario(
            "[[fault]]\nkind = \"malformed\"\nsource = \"*\"\nprobability = 0.2\n\
             [[fault]]\nkind = \"duplicate\"\nsource = \"*\"\nprobability = 0.1\n\
             [[fault]]\nkind = \"drop\"\nsource = \"*\"\nprobability = 0.01\n",
        ),
        99,
    );
    let mut decoded = [0u64; 8];
    let mut out = Vec::new();
    for d in &stream.deliveries {
        out.clear();
        encode(&world, &stream.wire, d, &mut out);
        match (d.what, reason_of(&out)) {
            (Delivered::Malformed { reason, .. }, Some(got)) => {
                assert_eq!(got, reason);
                decoded[got.index()] += 1;
            }
            (Delivered::Malformed { .. }, None) => panic!("a malformed copy was accepted"),
            (_, Some(r)) => panic!("a world event was dead-lettered: {}", r.as_str()),
            (_, None) => {}
        }
    }
    assert_eq!(decoded, stream.injected.malformed);
    assert!(decoded.iter().all(|&c| c > 500), "{decoded:?}");
}

#[test]
fn every_invalid_envelope_variant_is_made() {
    // What each way of breaking the envelope is named by in the decoder's detail.
    const DETAILS: [&str; 10] = [
        "attribute `sequence`",
        "attribute `time`",
        "attribute `specversion`",
        "attribute `subject`",
        "attribute `source`",
        "extension attribute \"Priority\" must be named",
        "extension attribute `priority` must be a string",
        "attribute `datacontenttype`",
        "attribute `dataschema`",
        "attribute `data_base64`",
    ];
    let world = world(1_000);
    let mut seen = [0u32; DETAILS.len()];
    let mut out = Vec::new();
    for i in 0..world.events.len() {
        out.clear();
        let what = Delivered::Malformed {
            of: i as u32,
            reason: DeadLetterReason::InvalidEnvelope,
        };
        encode(
            &world,
            &Wire::CANONICAL,
            &Delivery {
                arrival_us: 0,
                what,
            },
            &mut out,
        );
        let Entry::DeadLetter(dl) = decode(&out) else {
            panic!("event {i}: a malformed copy was accepted");
        };
        let which = DETAILS.iter().position(|d| dl.detail.contains(d));
        seen[which.unwrap_or_else(|| panic!("event {i}: unexpected detail {}", dl.detail))] += 1;
    }
    assert!(seen.iter().all(|&n| n > 0), "{seen:?}");
}
