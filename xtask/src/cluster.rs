//! `cargo xtask cluster`: a Tern cluster on one machine, to try it — three `nats-server`
//! processes clustered on loopback with JetStream (client ports 4222-4224, routes 6222-6224),
//! and three `tern` nodes on them (MQTT 1883/1884/1885, web UI 8080/8081/8082, replicas 3).
//! Their data (JetStream's store) stays in the tool cache between runs, so retained messages
//! and persistent sessions survive a restart of the whole cluster.
//!
//! Ctrl+C reaches every child (they share the terminal's process group) and each stops
//! gracefully; if any child exits by itself, the others are stopped too.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cmd::{self, Result, step};
use crate::{paths, setup, tasks, web};

const NODES: [&str; 3] = ["a", "b", "c"];

/// A child process with a name for messages; killed when dropped.
struct Proc {
    name: String,
    child: Child,
}

impl Drop for Proc {
    /// SIGTERM (both stop gracefully on it), SIGKILL after 5 s.
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nats_config(dir: &Path, i: usize) -> String {
    let routes: Vec<String> = (0..3)
        .map(|j| format!("\"nats-route://127.0.0.1:{}\"", 6222 + j))
        .collect();
    format!(
        "server_name: n{i}\nlisten: \"127.0.0.1:{}\"\n\
         jetstream {{ store_dir: \"{}\" }}\n\
         cluster {{ name: tern, listen: \"127.0.0.1:{}\", routes: [{}] }}\n",
        4222 + i,
        dir.join(format!("nats-{i}")).display(),
        6222 + i,
        routes.join(", ")
    )
}

fn tern_config(i: usize) -> String {
    let urls: Vec<String> = (0..3)
        .map(|j| format!("\"nats://127.0.0.1:{}\"", 4222 + j))
        .collect();
    format!(
        "tcp = \"127.0.0.1:{}\"\nhttp = \"127.0.0.1:{}\"\n\n[cluster]\nnode_id = \"{}\"\n\
         nats = [{}]\nreplicas = 3\n",
        1883 + i,
        8080 + i,
        NODES[i],
        urls.join(", ")
    )
}

fn spawn(name: &str, mut c: Command) -> Result<Proc> {
    let child = c.spawn().map_err(|e| format!("cannot start {name}: {e}"))?;
    Ok(Proc {
        name: name.to_string(),
        child,
    })
}

/// Waits for the node's "mqtt listening" line (it waits for NATS first), passing its
/// output through, then keeps forwarding it in the background.
fn await_listening(p: &mut Proc) -> Result {
    let out = p
        .child
        .stdout
        .take()
        .ok_or_else(|| format!("{}: no stdout", p.name))?;
    let (tx, rx) = std::sync::mpsc::channel();
    let name = p.name.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(|l| l.ok()) {
            eprintln!("[{name}] {line}");
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.contains("mqtt listening") => return Ok(()),
            Ok(_) => {}
            Err(_) => {
                return Err(format!(
                    "{} did not start within 60 s (its log is above; is a port of 1883-1885 or \
                     8080-8082 taken?)",
                    p.name
                ));
            }
        }
    }
}

/// `cargo xtask cluster`.
pub fn run() -> Result {
    let start = Instant::now();
    setup::for_cluster()?;
    web::build(&mut crate::lint::Lint::new(false)?)?;
    let tern = tasks::release_broker()?;
    let dir = paths::cache().join("cluster");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;

    let s = step(
        "three nats-server processes, clustered, JetStream (127.0.0.1:4222-4224)",
        "the nodes share messages, retained messages and sessions through NATS",
        None,
    );
    let mut procs = Vec::new();
    for i in 0..3 {
        let conf = dir.join(format!("nats-{i}.conf"));
        std::fs::write(&conf, nats_config(&dir, i))
            .map_err(|e| format!("{}: {e}", conf.display()))?;
        let log = dir.join(format!("nats-{i}.log"));
        let mut c = Command::new("nats-server");
        c.arg("-c")
            .arg(&conf)
            .arg("--log")
            .arg(&log)
            .stdin(Stdio::null());
        procs.push(spawn(&format!("nats-{i}"), c)?);
    }
    s.done();

    let s = step(
        "three tern nodes a, b, c (MQTT 1883-1885, web UI 8080-8082)",
        "each waits for NATS and its JetStream leaders (a few seconds)",
        None,
    );
    for (i, node) in NODES.iter().enumerate() {
        let conf = dir.join(format!("tern-{node}.toml"));
        std::fs::write(&conf, tern_config(i)).map_err(|e| format!("{}: {e}", conf.display()))?;
        let mut c = cmd::cmd(&tern, &["--config"]);
        c.arg(&conf).stdin(Stdio::null()).stdout(Stdio::piped());
        let mut p = spawn(&format!("tern-{node}"), c)?;
        await_listening(&mut p)?;
        procs.push(p);
    }
    s.done();
    cmd::summary("cluster running", start.elapsed());
    eprintln!(
        "\nThree Tern nodes share one NATS cluster:\n\
         \n    node a   web UI http://127.0.0.1:8080/   MQTT 127.0.0.1:1883\
         \n    node b   web UI http://127.0.0.1:8081/   MQTT 127.0.0.1:1884\
         \n    node c   web UI http://127.0.0.1:8082/   MQTT 127.0.0.1:1885\n\
         \nOpen two of the pages and connect each to its own node; a message published on one\
         \nreaches subscribers on the others. From a shell:\
         \n    mosquitto_sub -p 1884 -t 'demo/#' -v -q 1\
         \n    mosquitto_pub -p 1883 -t demo/hello -m 'from node a' -q 1\
         \nEvery node's statistics: mosquitto_sub -p 1885 -t '$SYS/brokers/+/clients/connected' -v\
         \nData (JetStream) and the NATS logs are in {}.\
         \nCtrl+C stops every node and NATS server.\n",
        dir.display()
    );
    // Until one of them ends (Ctrl+C ends them all; a crash ends the rest).
    loop {
        for p in &mut procs {
            if let Ok(Some(status)) = p.child.try_wait() {
                let name = p.name.clone();
                drop(procs);
                return if status.success() {
                    Ok(())
                } else {
                    Err(format!("{name} exited ({status}); stopped the others"))
                };
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
