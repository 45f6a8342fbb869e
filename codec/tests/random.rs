//! Bounded random-input tests (the unbounded search is the `codec/fuzz` target): random bytes
//! and randomly corrupted valid packets never panic, and whatever decodes re-encodes.

mod common;

use bytes::BytesMut;
use common::*;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use tern_codec::*;

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Decodes everything in `bytes`; checks that decoded packets re-encode and decode again
/// to themselves (the decoder never accepts what the encoder cannot reproduce).
fn drain(bytes: &[u8], version: Version, max: u32) -> usize {
    let cfg = DecodeConfig {
        version,
        max_packet_size: max,
    };
    let mut buf = BytesMut::from(bytes);
    let mut packets = 0;
    while let Ok(Some(p)) = decode(&mut buf, &cfg) {
        packets += 1;
        let v = match &p {
            Packet::Connect(c) => c.version,
            _ => version,
        };
        let mut out = BytesMut::new();
        encode(&p, v, &mut out)
            .unwrap_or_else(|e| panic!("decoded {p:?} but cannot encode it: {e}"));
        // The canonical re-encoding may differ in size from the input; no size limit here.
        let again = decode(&mut out, &common::cfg(v)).unwrap();
        assert_eq!(again.as_ref(), Some(&p));
    }
    packets
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut decoded = 0;
    for i in 0..60_000 {
        let len = rng.below(48);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        // Bias towards plausible headers: a valid type/flags byte and a small length.
        if i % 2 == 0 && len >= 2 {
            bytes[0] = [
                0x10, 0x20, 0x30, 0x32, 0x34, 0x40, 0x62, 0x82, 0x90, 0xA2, 0xB0, 0xE0, 0xF0,
            ][rng.below(13)];
            bytes[1] = (len - 2) as u8;
        }
        for v in VERSIONS {
            decoded += drain(&bytes, v, 64);
        }
    }
    // The biased inputs must reach the body decoders, not only fail in the header.
    assert!(decoded > 100, "only {decoded} packets decoded");
}

#[test]
fn corrupted_valid_packets_never_panic() {
    let mut runner = TestRunner::deterministic();
    let mut rng = Rng(0xDEAD_BEEF_CAFE_F00D);
    let strategy = arb_versioned_packet();
    for _ in 0..1_500 {
        let (version, packet) = strategy.new_tree(&mut runner).unwrap().current();
        let bytes = encode_vec(&packet, version);
        for _ in 0..20 {
            let mut m = bytes.clone();
            match rng.below(4) {
                0 => {
                    let i = rng.below(m.len());
                    m[i] ^= 1 << rng.below(8);
                }
                1 => {
                    let i = rng.below(m.len());
                    m[i] = rng.next() as u8;
                }
                2 => m.truncate(rng.below(m.len())),
                _ => {
                    let i = rng.below(m.len() + 1);
                    m.insert(i, rng.next() as u8);
                }
            }
            drain(&m, version, ANY_SIZE);
        }
    }
}

const ANY_SIZE: u32 = 268_435_455;
