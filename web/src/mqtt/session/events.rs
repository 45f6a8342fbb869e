//! What the session reports to the view ([`Event`]) and why it fails ([`SessionError`],
//! [`PublishError`]).

use tern_codec::{Publish, QoS, ReasonCode, TopicFilter};

/// Something the view needs to know about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// CONNACK accepted the connection.
    Connected {
        session_present: bool,
        /// MQTT 5: the identifier the broker assigned when we sent an empty one.
        assigned_client_id: Option<String>,
        /// The keep-alive actually in force (the broker may override ours in MQTT 5).
        keep_alive: u16,
    },
    /// An application message for us (delivered once, even if the broker resends a QoS 2).
    Message(Publish),
    /// A QoS 1/2 message of ours completed its flow.
    Delivered { topic: String, qos: QoS },
    /// MQTT 5: the broker answered our PUBLISH with an error reason code.
    PublishRejected { topic: String, reason: ReasonCode },
    /// The answer to a SUBSCRIBE, one result per filter in request order.
    SubAck {
        filters: Vec<TopicFilter>,
        results: Vec<Result<QoS, ReasonCode>>,
    },
    /// The answer to an UNSUBSCRIBE.
    UnsubAck { filters: Vec<TopicFilter> },
    /// Unacknowledged messages were dropped because the broker had no session for us.
    Abandoned { count: usize },
}

/// Why the connection must be closed. The web layer closes the socket and explains it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionError {
    /// CONNACK carried a refusal.
    Refused {
        reason: ReasonCode,
        reason_string: Option<String>,
    },
    /// No CONNACK within [`super::CONNACK_TIMEOUT_MS`].
    NoConnAck,
    /// No PINGRESP in time after a PINGREQ: the connection is dead.
    PingTimeout,
    /// MQTT 5: the broker sent DISCONNECT.
    ServerDisconnect {
        reason: ReasonCode,
        reason_string: Option<String>,
    },
    /// The broker broke a protocol rule; the text cites it.
    Protocol(String),
}

impl SessionError {
    /// The MQTT 5 reason code to put in our DISCONNECT, if we send one.
    pub fn reason_code(&self) -> Option<ReasonCode> {
        match self {
            SessionError::Protocol(_) => Some(ReasonCode::ProtocolError),
            SessionError::PingTimeout | SessionError::NoConnAck => {
                Some(ReasonCode::KeepAliveTimeout)
            }
            SessionError::Refused { .. } | SessionError::ServerDisconnect { .. } => None,
        }
    }
}

/// Why a publish request was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishError {
    NotConnected,
    /// Too many messages already waiting for the broker.
    QueueFull,
    /// MQTT 5: above the Maximum QoS from CONNACK.
    QosNotSupported(QoS),
    /// MQTT 5: CONNACK said Retain Available = 0.
    RetainNotSupported,
}
