"""Interop peer: drives the tern broker with paho-mqtt 2.x (TCP or WebSocket, MQTT 3.1.1 or 5).

Run by server/tests/interop/main.rs as
    python paho_peer.py --host H --port P --transport tcp|websockets --version 311|5 SCENARIO
(plus --cafile CA.pem for TLS: mqtts, or wss with --transport websockets)
with SCENARIO one of qos, retain, will. Prints "OK <scenario>" and exits 0 on success; any
failed expectation exits 1 with the reason on stderr. Every wait is bounded.
"""

import argparse
import queue
import subprocess
import sys
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

TIMEOUT = 10.0


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


class Peer:
    """One paho client with a queue of received messages."""

    def __init__(self, args, client_id, will=None):
        self.args = args
        protocol = MQTTProtocolVersion.MQTTv5 if args.version == "5" else MQTTProtocolVersion.MQTTv311
        kwargs = {"client_id": client_id, "protocol": protocol, "transport": args.transport}
        if protocol == MQTTProtocolVersion.MQTTv311:
            kwargs["clean_session"] = True
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, **kwargs)
        if args.transport == "websockets":
            self.c.ws_set_options(path="/mqtt")
        if args.cafile:
            # TLS verifying the broker's certificate (and host name) against the test CA.
            self.c.tls_set(ca_certs=args.cafile)
        if will:
            topic, payload = will
            self.c.will_set(topic, payload, qos=1, retain=False)
        self.messages = queue.Queue()
        self.acks = queue.Queue()
        self.connected = queue.Queue()
        self.c.on_connect = lambda c, u, flags, rc, props=None: self.connected.put(rc)
        self.c.on_message = lambda c, u, m: self.messages.put(m)
        self.c.on_subscribe = lambda c, u, mid, rcs, props=None: self.acks.put(("sub", mid, rcs))

    def connect(self):
        self.c.connect(self.args.host, self.args.port, keepalive=30)
        self.c.loop_start()
        try:
            rc = self.connected.get(timeout=TIMEOUT)
        except queue.Empty:
            fail("no CONNACK")
        if rc.is_failure:
            fail(f"CONNACK refused: {rc}")
        return self

    def subscribe(self, topic, qos):
        result, mid = self.c.subscribe(topic, qos)
        if result != mqtt.MQTT_ERR_SUCCESS:
            fail(f"subscribe {topic}: {result}")
        try:
            kind, got_mid, rcs = self.acks.get(timeout=TIMEOUT)
        except queue.Empty:
            fail(f"no SUBACK for {topic}")
        if got_mid != mid or any(rc.is_failure for rc in rcs):
            fail(f"SUBACK {got_mid} {rcs} for {topic}")

    def publish(self, topic, payload, qos, retain=False):
        info = self.c.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(timeout=TIMEOUT)
        if not info.is_published():
            fail(f"publish to {topic} at QoS {qos} not completed")

    def next_message(self, what):
        try:
            return self.messages.get(timeout=TIMEOUT)
        except queue.Empty:
            fail(f"no message: {what}")

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


def tag(args):
    return f"interop/paho-{args.transport}-{args.version}"


def scenario_qos(args):
    t = tag(args)
    sub = Peer(args, f"{t}-sub".replace("/", "-")).connect()
    sub.subscribe(f"{t}/q/#", 2)
    pub = Peer(args, f"{t}-pub".replace("/", "-")).connect()
    for qos in (0, 1, 2):
        payload = f"qos{qos} from paho".encode()
        pub.publish(f"{t}/q/{qos}", payload, qos)
        m = sub.next_message(f"QoS {qos} round trip")
        if (m.topic, m.payload, m.qos, m.retain) != (f"{t}/q/{qos}", payload, qos, False):
            fail(f"QoS {qos}: got {m.topic} {m.payload!r} qos={m.qos} retain={m.retain}")
    pub.close()
    sub.close()


def scenario_retain(args):
    t = tag(args)
    pub = Peer(args, "paho-retain-pub").connect()
    pub.publish(f"{t}/r", b"kept", 1, retain=True)
    late = Peer(args, "paho-retain-late").connect()
    late.subscribe(f"{t}/r", 1)
    m = late.next_message("retained message on subscribe")
    if (m.payload, m.retain) != (b"kept", True):
        fail(f"retained: got {m.payload!r} retain={m.retain}")
    late.close()
    # An empty retained payload deletes it: a new subscriber gets the marker first.
    pub.publish(f"{t}/r", b"", 1, retain=True)
    fresh = Peer(args, "paho-retain-fresh").connect()
    fresh.subscribe(f"{t}/r", 1)
    fresh.subscribe(f"{t}/marker", 1)
    pub.publish(f"{t}/marker", b"marker", 1)
    m = fresh.next_message("marker after deletion")
    if m.topic != f"{t}/marker":
        fail(f"retained message not deleted: got {m.topic} {m.payload!r}")
    fresh.close()
    pub.close()


def scenario_will(args):
    t = tag(args)
    watcher = Peer(args, "paho-will-watcher").connect()
    watcher.subscribe(f"{t}/will", 1)
    victim = subprocess.Popen(
        [sys.executable, __file__, "--host", args.host, "--port", str(args.port),
         "--transport", args.transport, "--version", args.version, "victim"]
        + (["--cafile", args.cafile] if args.cafile else []),
        stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + TIMEOUT
        line = ""
        while "READY" not in line:
            if time.monotonic() > deadline:
                fail("victim never connected")
            line = victim.stdout.readline()
            if not line and victim.poll() is not None:
                fail(f"victim exited with {victim.returncode}")
        victim.kill()  # SIGKILL: the socket closes without DISCONNECT
        victim.wait(timeout=TIMEOUT)
    finally:
        if victim.poll() is None:
            victim.kill()
    m = watcher.next_message("will message after the victim died")
    if (m.topic, m.payload) != (f"{t}/will", b"paho died"):
        fail(f"will: got {m.topic} {m.payload!r}")
    watcher.close()


def role_victim(args):
    t = tag(args)
    Peer(args, "paho-will-victim", will=(f"{t}/will", b"paho died")).connect()
    print("READY", flush=True)
    time.sleep(TIMEOUT * 3)  # killed long before


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--transport", choices=["tcp", "websockets"], default="tcp")
    p.add_argument("--version", choices=["311", "5"], default="311")
    p.add_argument("--cafile", default=None)
    p.add_argument("scenario", choices=["qos", "retain", "will", "victim"])
    args = p.parse_args()
    {"qos": scenario_qos, "retain": scenario_retain, "will": scenario_will,
     "victim": role_victim}[args.scenario](args)
    print(f"OK {args.scenario}", flush=True)


if __name__ == "__main__":
    main()
