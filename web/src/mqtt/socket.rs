//! The browser WebSocket carrying MQTT: subprotocol `mqtt`, binary frames as ArrayBuffer,
//! decoded by [`PacketStream`] (several packets per frame, packets across frames).

use std::rc::Rc;

use bytes::{Bytes, BytesMut};
use tern_codec::{DecodeConfig, Packet, Version, encode};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{BinaryType, CloseEvent, Event, MessageEvent, WebSocket};

use super::stream::PacketStream;

/// What the socket reports, in order.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // short-lived, moved straight to the handler
pub enum SocketEvent {
    /// The handshake finished; `protocol` is the subprotocol the server chose.
    Open {
        protocol: String,
    },
    /// A packet and its bytes as they arrived (for the protocol trace).
    Packet(Packet, Bytes),
    /// Bytes that are not valid MQTT, or a text frame. The socket is already being closed.
    Invalid(String),
    Closed {
        code: u16,
        reason: String,
    },
}

pub struct Socket {
    ws: WebSocket,
    version: Version,
    _on_open: Closure<dyn FnMut(Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Socket {
    /// Starts connecting. Errors are synchronous failures of the WebSocket constructor (a
    /// malformed URL, or ws:// from an https page), described in words.
    pub fn open(
        url: &str,
        cfg: DecodeConfig,
        on_event: Rc<dyn Fn(SocketEvent)>,
    ) -> Result<Socket, String> {
        let ws = WebSocket::new_with_str(url, "mqtt").map_err(|e| {
            let detail = e
                .dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
                .unwrap_or_else(|| format!("{e:?}"));
            format!("The browser refused to open {url}: {detail}")
        })?;
        ws.set_binary_type(BinaryType::Arraybuffer);
        let version = cfg.version;

        let cb = on_event.clone();
        let ws2 = ws.clone();
        let on_open = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            cb(SocketEvent::Open {
                protocol: ws2.protocol(),
            });
        });

        let mut stream = PacketStream::new(cfg);
        let cb = on_event.clone();
        let ws2 = ws.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let decoded = match e.data().dyn_into::<js_sys::ArrayBuffer>() {
                Ok(ab) => {
                    let chunk = js_sys::Uint8Array::new(&ab);
                    let d = stream.push_with(chunk.length() as usize, |dst| chunk.copy_to(dst));
                    let error = d.error.map(|e| format!("undecodable data: {e}"));
                    (d.packets, d.raw, error)
                }
                // [MQTT-6.0.0-1]: MQTT travels in binary frames only; anything else closes.
                Err(_) => (
                    Vec::new(),
                    Vec::new(),
                    Some("[MQTT-6.0.0-1] a text frame".to_owned()),
                ),
            };
            let (packets, raw, error) = decoded;
            for (p, bytes) in packets.into_iter().zip(raw) {
                cb(SocketEvent::Packet(p, bytes));
            }
            if let Some(msg) = error {
                let _ = ws2.close_with_code_and_reason(1002, "MQTT protocol error");
                cb(SocketEvent::Invalid(msg));
            }
        });

        let cb = on_event;
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
            cb(SocketEvent::Closed {
                code: e.code(),
                reason: e.reason(),
            });
        });

        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(Socket {
            ws,
            version,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        })
    }

    /// Encodes the packets into one binary frame and sends it. Returns each packet's bytes
    /// (for the protocol trace), in order.
    pub fn send(&self, packets: &[Packet]) -> Result<Vec<Bytes>, String> {
        if packets.is_empty() {
            return Ok(Vec::new());
        }
        let mut buf = BytesMut::new();
        let mut ends = Vec::with_capacity(packets.len());
        for p in packets {
            encode(p, self.version, &mut buf)
                .map_err(|e| format!("could not encode {}: {e}", p.packet_type()))?;
            ends.push(buf.len());
        }
        self.ws
            .send_with_u8_array(&buf)
            .map_err(|e| format!("the WebSocket refused to send: {e:?}"))?;
        let all = buf.freeze();
        let mut start = 0;
        Ok(ends
            .into_iter()
            .map(|end| {
                let one = all.slice(start..end);
                start = end;
                one
            })
            .collect())
    }

    /// The subprotocol the server agreed to.
    pub fn protocol(&self) -> String {
        self.ws.protocol()
    }

    /// Closes without reporting anything back: the caller has already dealt with it.
    pub fn close_quietly(&self, code: u16, reason: &str) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close_with_code_and_reason(code, reason);
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.close_quietly(1000, "");
    }
}
