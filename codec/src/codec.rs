//! tokio-util framing (feature `tokio`): `FramedRead`/`FramedWrite` over a TCP stream.

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

use crate::{DecodeConfig, DecodeError, EncodeError, Packet, Version, decode, encode};

/// Error of [`MqttCodec`]: I/O, or invalid input / output.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

/// Decoder/Encoder pair. `config.version` starts as the version to assume before CONNECT;
/// after the handshake, call [`MqttCodec::set_version`] with the negotiated version (it is
/// used for both directions).
#[derive(Debug, Clone, Copy, Default)]
pub struct MqttCodec {
    pub config: DecodeConfig,
}

impl MqttCodec {
    pub fn new(config: DecodeConfig) -> MqttCodec {
        MqttCodec { config }
    }

    pub fn set_version(&mut self, version: Version) {
        self.config.version = version;
    }

    pub fn version(&self) -> Version {
        self.config.version
    }
}

impl Decoder for MqttCodec {
    type Item = Packet;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Packet>, CodecError> {
        Ok(decode(src, &self.config)?)
    }
}

impl Encoder<Packet> for MqttCodec {
    type Error = CodecError;

    fn encode(&mut self, item: Packet, dst: &mut BytesMut) -> Result<(), CodecError> {
        Ok(encode(&item, self.config.version, dst)?)
    }
}

impl Encoder<&Packet> for MqttCodec {
    type Error = CodecError;

    fn encode(&mut self, item: &Packet, dst: &mut BytesMut) -> Result<(), CodecError> {
        Ok(encode(item, self.config.version, dst)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Pid, PubResp};

    #[test]
    fn decoder_and_encoder_agree() {
        let mut codec = MqttCodec::default();
        let mut buf = BytesMut::new();
        let p = Packet::PubAck(PubResp::new(Pid::new(3).unwrap()));
        Encoder::<&Packet>::encode(&mut codec, &p, &mut buf).unwrap();
        Encoder::<Packet>::encode(&mut codec, Packet::PingReq, &mut buf).unwrap();
        assert_eq!(Decoder::decode(&mut codec, &mut buf).unwrap(), Some(p));
        assert_eq!(
            Decoder::decode(&mut codec, &mut buf).unwrap(),
            Some(Packet::PingReq)
        );
        assert_eq!(Decoder::decode(&mut codec, &mut buf).unwrap(), None);
    }
}
