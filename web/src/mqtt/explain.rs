//! Failures in words, for the status line: what happened and what to try.

use tern_codec::{ConnectReturnCode, ReasonCode, Version};

use super::session::{PublishError, SessionError};

/// A CONNACK refusal, with the code as the broker sent it and a hint.
pub fn refusal(reason: ReasonCode, version: Version, reason_string: Option<&str>) -> String {
    let code = if version.is_v5() {
        format!("CONNACK reason code 0x{:02X}", reason.value())
    } else {
        format!(
            "CONNACK return code {}",
            ConnectReturnCode::from(reason) as u8
        )
    };
    let hint = match reason {
        ReasonCode::UnsupportedProtocolVersion => " Try another protocol version.",
        ReasonCode::ClientIdentifierNotValid => {
            " Regenerate the Client ID, or tick Clean Session for an empty one."
        }
        ReasonCode::BadUserNameOrPassword => " Check the user name and password.",
        ReasonCode::NotAuthorized => " This user is not allowed to connect.",
        ReasonCode::ServerUnavailable | ReasonCode::ServerBusy => " Try again later.",
        _ => "",
    };
    let detail = reason_string
        .map(|s| format!(" The broker says: “{s}”."))
        .unwrap_or_default();
    format!(
        "The broker refused the connection: {} ({code}).{detail}{hint}",
        reason.description()
    )
}

/// Whether retrying the same CONNECT can succeed.
pub fn refusal_is_transient(reason: ReasonCode) -> bool {
    matches!(
        reason,
        ReasonCode::ServerUnavailable
            | ReasonCode::ServerBusy
            | ReasonCode::ConnectionRateExceeded
            | ReasonCode::QuotaExceeded
            | ReasonCode::UnspecifiedError
            | ReasonCode::ImplementationSpecificError
    )
}

/// The WebSocket closed. `opened`: the handshake had succeeded; `accepted`: CONNACK had
/// accepted us on this socket.
pub fn socket_closed(url: &str, code: u16, reason: &str, opened: bool, accepted: bool) -> String {
    let why = match (code, reason.is_empty()) {
        (_, false) => format!("code {code}: {reason}"),
        (1000, true) => "code 1000, closed normally".into(),
        (1001, true) => "code 1001, the server is going away".into(),
        (1006, true) => "code 1006, no close frame: the network or the server dropped it".into(),
        (1011, true) => "code 1011, server error".into(),
        _ => format!("code {code}"),
    };
    if !opened {
        format!(
            "Could not open a WebSocket to {url} ({why}). Check host, port and path: the \
             broker must accept WebSocket connections with the “mqtt” subprotocol there, and \
             be running."
        )
    } else if !accepted {
        format!(
            "The WebSocket to {url} opened, then closed before the broker accepted the MQTT \
             connection ({why}). Is this an MQTT-over-WebSocket endpoint, and does it speak \
             this protocol version?"
        )
    } else {
        format!("Connection to {url} lost ({why}).")
    }
}

/// The server completed the handshake without choosing the `mqtt` subprotocol.
pub fn wrong_subprotocol(url: &str, chosen: &str) -> String {
    let chosen = if chosen.is_empty() {
        "none".to_owned()
    } else {
        format!("“{chosen}”")
    };
    format!(
        "{url} accepted the WebSocket but not the “mqtt” subprotocol (it chose {chosen}). \
         Check the path: it should be the broker's MQTT endpoint."
    )
}

/// Why we closed the connection ourselves.
pub fn session_error(e: &SessionError, version: Version) -> String {
    match e {
        SessionError::Refused {
            reason,
            reason_string,
        } => refusal(*reason, version, reason_string.as_deref()),
        SessionError::NoConnAck => "The broker did not answer CONNECT within 10 seconds; \
                                    closing the connection."
            .into(),
        SessionError::PingTimeout => "The broker stopped answering keep-alive pings \
                                      (no PINGRESP); the connection is dead."
            .into(),
        SessionError::ServerDisconnect {
            reason,
            reason_string,
        } => {
            let detail = reason_string
                .as_deref()
                .map(|s| format!(" “{s}”"))
                .unwrap_or_default();
            format!(
                "The broker disconnected us: {} (reason code 0x{:02X}).{detail}",
                reason.description(),
                reason.value()
            )
        }
        SessionError::Protocol(m) => format!("The broker broke the MQTT protocol: {m}."),
    }
}

/// Whether to reconnect by ourselves after this error.
pub fn session_error_is_transient(e: &SessionError) -> bool {
    match e {
        SessionError::Refused { reason, .. } => refusal_is_transient(*reason),
        SessionError::ServerDisconnect { reason, .. } => !matches!(
            reason,
            ReasonCode::NotAuthorized | ReasonCode::Banned | ReasonCode::SessionTakenOver
        ),
        SessionError::NoConnAck | SessionError::PingTimeout | SessionError::Protocol(_) => true,
    }
}

pub fn publish_error(e: &PublishError) -> String {
    match e {
        PublishError::NotConnected => "Not connected: connect first, then publish.".into(),
        PublishError::QueueFull => "Too many messages are waiting for the broker; try again \
                                    in a moment."
            .into(),
        PublishError::QosNotSupported(max) => {
            format!("This broker accepts at most QoS {}.", *max as u8)
        }
        PublishError::RetainNotSupported => {
            "This broker does not support retained messages.".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_code_per_version() {
        let v3 = refusal(ReasonCode::BadUserNameOrPassword, Version::V3_1_1, None);
        assert!(v3.contains("bad user name or password"), "{v3}");
        assert!(v3.contains("CONNACK return code 4"), "{v3}");
        let v5 = refusal(ReasonCode::NotAuthorized, Version::V5, Some("closed today"));
        assert!(v5.contains("0x87") && v5.contains("closed today"), "{v5}");
        assert!(refusal_is_transient(ReasonCode::ServerUnavailable));
        assert!(!refusal_is_transient(ReasonCode::BadUserNameOrPassword));
    }

    #[test]
    fn socket_failures_point_at_the_likely_cause() {
        let never = socket_closed("ws://h:1/x", 1006, "", false, false);
        assert!(
            never.contains("Could not open") && never.contains("path"),
            "{never}"
        );
        assert!(never.contains("mqtt"));
        let no_connack = socket_closed("ws://h:1/x", 1000, "", true, false);
        assert!(
            no_connack.contains("before the broker accepted"),
            "{no_connack}"
        );
        let lost = socket_closed("ws://h:1/x", 1001, "", true, true);
        assert!(
            lost.contains("lost") && lost.contains("going away"),
            "{lost}"
        );
        let with_reason = socket_closed("ws://h:1/x", 4000, "bye", true, true);
        assert!(with_reason.contains("code 4000: bye"));
        assert!(wrong_subprotocol("ws://h/x", "").contains("chose none"));
    }

    #[test]
    fn session_errors_read_well_and_know_if_retry_helps() {
        let e = SessionError::PingTimeout;
        assert!(session_error(&e, Version::V3_1_1).contains("PINGRESP"));
        assert!(session_error_is_transient(&e));
        let banned = SessionError::ServerDisconnect {
            reason: ReasonCode::Banned,
            reason_string: None,
        };
        assert!(!session_error_is_transient(&banned));
        assert!(session_error(&banned, Version::V5).contains("banned"));
        assert!(
            publish_error(&PublishError::QosNotSupported(tern_codec::QoS::AtLeastOnce))
                .contains("QoS 1")
        );
    }
}
