//! Mosquitto as the conformance target (`TERN_CONFORMANCE_TARGET=mosquitto`, see
//! [`super::broker`]): the test's [`Config`] translated into a `mosquitto.conf` with a TCP
//! and a WebSocket listener, started as a child process.

use std::net::{SocketAddr, TcpListener as StdListener};
use std::process::Stdio;
use std::time::Duration;

use tern_server::Config;
use tokio::process::{Child, Command};

use super::DEADLINE;

/// Starts `mosquitto -c <generated conf>`; returns the TCP and WebSocket addresses once both
/// accept connections, the child (killed on drop) and the directory holding the conf.
pub(super) async fn start(config: &Config) -> (SocketAddr, SocketAddr, Child, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (tcp_port, ws_port) = (free_port(), free_port());
    // Listener-scoped options follow each `listener` line.
    let per_listener = format!(
        "max_qos {}\nmax_connections {}\nmax_topic_alias {}\n",
        config.max_qos, config.max_connections, config.max_topic_alias
    );
    let mut conf = format!(
        "per_listener_settings false\nallow_anonymous true\npersistence false\n\
         max_keepalive {}\nmax_inflight_messages {}\nmax_queued_messages {}\nsys_interval {}\n\
         retain_available {}\nallow_zero_length_clientid {}\n\
         listener {tcp_port} 127.0.0.1\n{per_listener}\
         listener {ws_port} 127.0.0.1\nprotocol websockets\n{per_listener}",
        config.max_keepalive,
        config.max_inflight_messages,
        config.max_queued_messages,
        config.sys_interval.as_secs(),
        config.retain_available,
        config.allow_zero_length_clientid,
    );
    if config.max_packet_size != 0 {
        conf.push_str(&format!("max_packet_size {}\n", config.max_packet_size));
    }
    let path = dir.path().join("mosquitto.conf");
    std::fs::write(&path, conf).expect("write mosquitto.conf");
    let child = Command::new("mosquitto")
        .arg("-c")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn mosquitto (apt-get install mosquitto)");
    let tcp = SocketAddr::from(([127, 0, 0, 1], tcp_port));
    let http = SocketAddr::from(([127, 0, 0, 1], ws_port));
    // Readiness: poll until both ports accept (bounded); Mosquitto has no start-up line.
    for addr in [tcp, http] {
        let ready = tokio::time::timeout(DEADLINE, async {
            loop {
                if tokio::net::TcpStream::connect(addr).await.is_ok() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(ready.is_ok(), "mosquitto did not listen on {addr}");
    }
    (tcp, http, child, dir)
}

/// A free loopback port (Mosquitto cannot report a port-0 binding).
fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}
