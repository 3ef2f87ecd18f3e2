"""A fleet on loopback for the cluster benchmark and drills (docs/cluster.md): its own
redis-server on a free 127.0.0.1 port (no persistence) and roomcast nodes, each on a free
127.0.0.1 port, every process started here and ended here by its PID only.

Also the readings the benchmark and drills take: CPU seconds of a PID from /proc/PID/stat,
Redis `INFO commandstats` / `INFO stats`, and a node's Prometheus metrics summed by name.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

HOST = "127.0.0.1"
CURSOR_KEY = "cd" * 32
TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process (all its threads), from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Proc:
    """One child process; only its own PID is ever signalled."""

    def __init__(self, argv, log_path):
        self.argv = argv
        self.log_path = log_path
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True)
        self.pid = self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            os.kill(self.pid, sig)

    def stop(self, timeout=10.0):
        if not self.alive():
            return
        os.kill(self.pid, signal.SIGCONT)
        os.kill(self.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def kill9(self):
        os.kill(self.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


class Redis(Proc):
    def __init__(self, out_dir):
        if shutil.which("redis-server") is None:
            raise SystemExit("redis-server missing (scripts/install-deps.sh installs it)")
        self.port = free_port()
        super().__init__(["redis-server", "--port", str(self.port), "--bind", HOST, "--save", "",
                          "--appendonly", "no", "--protected-mode", "no"],
                         os.path.join(out_dir, "redis.log"))
        deadline = time.monotonic() + 10
        while self.cli("PING") != "PONG":
            if time.monotonic() > deadline:
                raise SystemExit("redis-server did not answer PING within 10 s")
            time.sleep(0.05)

    def cli(self, *args, timeout=5.0) -> str:
        try:
            r = subprocess.run(["redis-cli", "-h", HOST, "-p", str(self.port), *args],
                               capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return ""
        return r.stdout.strip()

    def commandstats(self) -> dict:
        """{command: (calls, usec)} from INFO commandstats (calls made inside scripts included;
        usec is Redis's own time inside the command, I/O excluded)."""
        calls = {}
        for line in self.cli("INFO", "commandstats").splitlines():
            m = re.match(r"cmdstat_([^:]+):calls=(\d+),usec=(\d+)", line)
            if m:
                calls[m.group(1)] = (int(m.group(2)), int(m.group(3)))
        return calls

    def stats(self) -> dict:
        out = {}
        for line in self.cli("INFO", "stats").splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                if re.fullmatch(r"\d+", v.strip()):
                    out[k] = int(v)
        return out


class Node(Proc):
    def __init__(self, binary, out_dir, name, shards, redis_addr=None, extra=()):
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.ws = f"ws://{HOST}:{self.port}"
        self.name = name
        argv = [binary, "--listen", f"{HOST}:{self.port}", "--shards", str(shards),
                "--dev-auth", "--rate-limit", "off", "--max-conns", "60000",
                "--hot-msgs-per-sec", "0", "--max-visible-rate", "0"]  # as perf/run.sh
        if redis_addr:
            argv += ["--redis", redis_addr, "--cursor-key", CURSOR_KEY]
        super().__init__(argv + list(extra), os.path.join(out_dir, f"{name}.log"))

    def wait_ready(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise SystemExit(f"{self.name} exited: see {self.log_path}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.05)
        raise SystemExit(f"{self.name} not ready within {timeout} s")

    def metrics(self) -> dict:
        """Every sample of /metrics summed by metric name (labels dropped)."""
        with urllib.request.urlopen(self.url + "/metrics", timeout=5) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            name_labels, _, value = line.rpartition(" ")
            name = name_labels.split("{", 1)[0]
            try:
                out[name] = out.get(name, 0.0) + float(value)
            except ValueError:
                pass
        return out


def start_fleet(binary, out_dir, nodes, shards, redis=True, extra=(), redis_addr_of=None):
    """Redis (when `redis`) and `nodes` nodes; redis_addr_of(i, redis) may give node i another
    --redis address (the drills' stalling proxy). Returns (redis or None, [Node])."""
    os.makedirs(out_dir, exist_ok=True)
    r = Redis(out_dir) if redis else None
    ns = []
    try:
        for i in range(nodes):
            addr = None
            if r is not None:
                addr = redis_addr_of(i, r) if redis_addr_of else f"{HOST}:{r.port}"
            ns.append(Node(binary, out_dir, f"node-{i + 1}", shards, addr, extra))
        for n in ns:
            n.wait_ready()
    except BaseException:
        stop_fleet(r, ns)
        raise
    return r, ns


def stop_fleet(redis, nodes):
    for n in nodes:
        n.stop()
    if redis is not None:
        redis.stop()
