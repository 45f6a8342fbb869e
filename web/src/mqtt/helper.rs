//! A second, short-lived connection for the lesson's experiments (a client with a will, a
//! silent client, a client with a persistent session). It has no timers: it sends nothing
//! unless told to, which is exactly what the keep-alive experiment needs.

use std::cell::RefCell;
use std::rc::Rc;

use bytes::Bytes;
use tern_codec::{DecodeConfig, QoS, TopicFilter};

use super::options::{ConnectOptions, MAX_PACKET_SIZE};
use super::session::{Event, Session};
use super::socket::{Socket, SocketEvent};
use crate::browser::now_ms;

#[derive(Default)]
struct State {
    session: Session,
    socket: Option<Socket>,
    options: Option<ConnectOptions>,
    session_present: Option<bool>,
    messages: Vec<(String, Bytes, bool)>,
    closed: bool,
}

#[derive(Clone)]
pub struct Helper {
    state: Rc<RefCell<State>>,
}

impl Helper {
    /// Opens `url` and sends CONNECT with `options` once the socket is open.
    pub fn open(url: &str, options: ConnectOptions) -> Result<Helper, String> {
        let state = Rc::new(RefCell::new(State {
            options: Some(options.clone()),
            ..State::default()
        }));
        let weak = Rc::downgrade(&state);
        let on_event: Rc<dyn Fn(SocketEvent)> = Rc::new(move |ev| {
            let Some(rc) = weak.upgrade() else { return };
            let mut s = rc.borrow_mut();
            let now = now_ms();
            match ev {
                SocketEvent::Open { .. } => {
                    if let Some(o) = s.options.clone() {
                        s.session.start(&o, now);
                    }
                }
                SocketEvent::Packet(p, _) => match s.session.handle(p, now) {
                    Ok(events) => {
                        for e in events {
                            match e {
                                Event::Connected {
                                    session_present, ..
                                } => {
                                    s.session_present = Some(session_present);
                                }
                                Event::Message(m) => {
                                    s.messages.push((m.topic.to_string(), m.payload, m.retain));
                                }
                                _ => {}
                            }
                        }
                    }
                    Err(_) => s.closed = true,
                },
                SocketEvent::Invalid(_) | SocketEvent::Closed { .. } => s.closed = true,
            }
            let out = s.session.take_outgoing(now);
            if let Some(sock) = &s.socket {
                let _ = sock.send(&out);
            }
        });
        let cfg = DecodeConfig {
            version: options.version,
            max_packet_size: MAX_PACKET_SIZE,
        };
        let socket = Socket::open(url, cfg, on_event)?;
        state.borrow_mut().socket = Some(socket);
        Ok(Helper { state })
    }

    /// `Some(session present)` once CONNACK accepted the connection.
    pub fn connected(&self) -> Option<bool> {
        self.state.borrow().session_present
    }

    pub fn is_closed(&self) -> bool {
        self.state.borrow().closed
    }

    /// Messages received so far: (topic, payload, retain).
    pub fn messages(&self) -> Vec<(String, Bytes, bool)> {
        self.state.borrow().messages.clone()
    }

    pub fn subscribe(&self, filter: TopicFilter, qos: QoS) {
        let mut s = self.state.borrow_mut();
        s.session.subscribe(vec![(filter, qos)]);
        self.flush(&mut s);
    }

    /// A proper goodbye: DISCONNECT (the broker discards the will), then close.
    pub fn disconnect(&self) {
        let mut s = self.state.borrow_mut();
        s.session.disconnect();
        self.flush(&mut s);
        if let Some(sock) = s.socket.take() {
            sock.close_quietly(1000, "");
        }
        s.closed = true;
    }

    /// Cuts the connection without DISCONNECT, as a crash would.
    pub fn cut(&self) {
        let mut s = self.state.borrow_mut();
        if let Some(sock) = s.socket.take() {
            sock.close_quietly(1000, "");
        }
        s.closed = true;
    }

    fn flush(&self, s: &mut State) {
        let out = s.session.take_outgoing(now_ms());
        if let Some(sock) = &s.socket {
            let _ = sock.send(&out);
        }
    }
}
