//! Arbitrary bytes into the streaming decoder, for every protocol version and a small and a
//! large maximum packet size. Must never panic; whatever decodes must re-encode and decode
//! to the same packet.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tern_codec::{DecodeConfig, Packet, Version, decode, encode};

fuzz_target!(|data: &[u8]| {
    for version in [Version::V3_1, Version::V3_1_1, Version::V5] {
        for max_packet_size in [64, 268_435_455] {
            let cfg = DecodeConfig {
                version,
                max_packet_size,
            };
            let mut buf = BytesMut::from(data);
            while let Ok(Some(packet)) = decode(&mut buf, &cfg) {
                let v = match &packet {
                    Packet::Connect(c) => c.version,
                    _ => version,
                };
                let mut out = BytesMut::new();
                encode(&packet, v, &mut out).expect("a decoded packet re-encodes");
                let again = decode(
                    &mut out,
                    &DecodeConfig {
                        version: v,
                        ..DecodeConfig::default()
                    },
                );
                assert_eq!(again, Ok(Some(packet)));
            }
        }
    }
});
