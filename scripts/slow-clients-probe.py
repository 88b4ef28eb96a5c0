#!/usr/bin/env python3
"""The slow-client probe of issue 8 against a running `pathwise serve` on loopback.

Phase 1: 20 connections send one header byte every 2 s and 20 idle connections are open.
Phase 2: one client (127.0.0.1) opens connections up to its per-client cap and re-opens any the
server closes. Meanwhile GET /health is timed on a new connection from 127.0.0.2 every 250 ms.
Prints /health latency percentiles per phase and what happened to the probe's own connections.

usage: scripts/slow-clients-probe.py PORT [--seconds 12] [--cap 64]
(start the server first, e.g. build/pathwise serve --data /tmp/pw --no-auth --listen 127.0.0.1:7071)
"""
import argparse
import socket
import statistics
import threading
import time

HEALTH = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def connect(port, source="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    return s


def health_ms(port):
    """Milliseconds for one /health on a new connection from 127.0.0.2, and the status line."""
    start = time.monotonic()
    s = connect(port, "127.0.0.2")
    s.sendall(HEALTH)
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    return (time.monotonic() - start) * 1000, data.split(b"\r\n", 1)[0].decode()


def time_health(port, seconds):
    samples, statuses = [], {}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ms, status = health_ms(port)
        samples.append(ms)
        statuses[status] = statuses.get(status, 0) + 1
        time.sleep(0.25)
    samples.sort()
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    return (f"/health n={len(samples)} p50={statistics.median(samples):.2f} ms "
            f"p99={p99:.2f} ms max={samples[-1]:.2f} ms statuses={statuses}")


def slowloris(port, stop, closed):
    s = connect(port)
    request = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 100 + b"\r\n\r\n"
    start = time.monotonic()
    for byte in request:
        if stop.is_set():
            break
        try:
            s.sendall(bytes([byte]))
        except OSError:
            break
        s.settimeout(2)
        try:
            reply = s.recv(4096)
            closed.append((time.monotonic() - start, reply.split(b"\r\n", 1)[0].decode()))
            break
        except socket.timeout:
            pass
    s.close()


def idle(port, stop, closed):
    s = connect(port)
    start = time.monotonic()
    s.settimeout(0.5)
    while not stop.is_set():
        try:
            if s.recv(1) == b"":
                closed.append((time.monotonic() - start, "closed while idle"))
                break
        except socket.timeout:
            pass
    s.close()


def greedy(port, cap, stop, refused):
    """Holds cap connections from 127.0.0.1; counts the answers to one more connection."""
    held = []
    while not stop.is_set():
        held = [s for s in held if s.fileno() >= 0]
        while len(held) < cap and not stop.is_set():
            held.append(connect(port))
        over = connect(port)
        over.sendall(HEALTH)
        try:
            status = over.recv(64).split(b"\r\n", 1)[0].decode() or "closed"
        except OSError as e:
            status = type(e).__name__
        refused[status] = refused.get(status, 0) + 1
        over.close()
        for s in held:  # the server closes idle ones after the keep-alive timeout: re-open
            s.setblocking(False)
            try:
                if s.recv(1) == b"":
                    s.close()
            except BlockingIOError:
                pass
        time.sleep(0.2)
    for s in held:
        s.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--seconds", type=float, default=12)
    parser.add_argument("--cap", type=int, default=64)
    args = parser.parse_args()
    print("baseline:", time_health(args.port, 2))

    stop, closed = threading.Event(), []
    threads = [threading.Thread(target=slowloris, args=(args.port, stop, closed)) for _ in range(20)]
    threads += [threading.Thread(target=idle, args=(args.port, stop, closed)) for _ in range(20)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    print("20 slowloris + 20 idle:", time_health(args.port, args.seconds))
    stop.set()
    for t in threads:
        t.join()
    by_kind = {}
    for seconds, what in closed:
        by_kind.setdefault(what, []).append(seconds)
    for what, times in sorted(by_kind.items()):
        print(f"  {len(times)} connections ended with '{what}' after {min(times):.1f}-{max(times):.1f} s")

    stop, refused = threading.Event(), {}
    thread = threading.Thread(target=greedy, args=(args.port, args.cap, stop, refused))
    thread.start()
    time.sleep(0.5)
    print(f"one client at its cap of {args.cap}:", time_health(args.port, args.seconds))
    stop.set()
    thread.join()
    print(f"  answers to the client's connection beyond its {args.cap} held: {refused}")


if __name__ == "__main__":
    main()
