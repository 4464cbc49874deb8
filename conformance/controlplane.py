"""A throwaway Kubernetes control plane on 127.0.0.1, from a directory of binaries.

For testing schedulers against the real thing without a cluster: etcd, kube-apiserver,
kube-scheduler, kube-controller-manager (only the controllers that finalize deleted
namespaces) and, when present, ``node-ready`` (a stand-in for KWOK that marks fake nodes
Ready). There are no kubelets: the scheduler binds pods to Node objects and nothing runs
them. Everything listens on free loopback ports; state lives in a temporary directory.

The binaries come from a Kubernetes release (``kubernetes-server-linux-amd64.tar.gz``
holds kube-apiserver, kube-scheduler and kube-controller-manager; etcd from an etcd
release; KWOK's ``kwok`` binary can replace node-ready, see docs/adapters.md)::

    from podfit.conformance.controlplane import ControlPlane
    with ControlPlane("/opt/k8s/bin") as cp:
        print(cp.kubeconfig, cp.context)          # an admin kubeconfig (system:masters)
        cp.start_scheduler("packer", config_text)  # a second kube-scheduler, own profile

The pytest plugin's ``podfit_control_plane`` fixture starts one per session from the
directory named by ``$PODFIT_CONTROL_PLANE`` (skipping, with the reason, without it).

What differs from a production control plane, on purpose: the admission plugin
TaintNodesByCondition is off (no node lifecycle controller would ever lift the not-ready
taint it puts on new nodes), the API server does not reconcile its own endpoints, and
etcd does not fsync (``fast_etcd``).
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

__all__ = ["ControlPlane", "ControlPlaneError", "missing_binaries"]

REQUIRED = ("etcd", "kube-apiserver", "kube-scheduler")
OPTIONAL = ("kube-controller-manager", "node-ready")
CONTEXT = "podfit-local"


class ControlPlaneError(RuntimeError):
    """The control plane could not be started; the message ends with the relevant log."""


def missing_binaries(bin_dir: str | os.PathLike[str]) -> list[str]:
    """The binaries a control plane needs that ``bin_dir`` lacks (and openssl, on PATH)."""
    directory = Path(bin_dir)
    missing = [name for name in REQUIRED if not os.access(directory / name, os.X_OK)]
    if shutil.which("openssl") is None:
        missing.append("openssl (on PATH)")
    return missing


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@dataclass
class _Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path


@dataclass
class ControlPlane:
    """Start with :meth:`start` (or ``with``), stop with :meth:`stop`."""

    bin_dir: Path | str
    work: Path | None = None
    fast_etcd: bool = True
    controller_manager: bool = True
    scheduler: bool = True
    node_ready: bool = True
    timeout: float = 60.0
    context: str = CONTEXT
    apiserver_port: int = 0
    processes: dict[str, _Process] = field(default_factory=dict)
    _own_work: bool = False

    def __post_init__(self) -> None:
        self.bin_dir = Path(self.bin_dir)
        if self.work is None:
            self.work = Path(tempfile.mkdtemp(prefix="podfit-cp-"))
            self._own_work = True
        self.work = Path(self.work)

    # -- paths --

    @property
    def pki(self) -> Path:
        assert self.work is not None
        return self.work / "pki"

    @property
    def kubeconfig(self) -> Path:
        assert self.work is not None
        return self.work / "admin.kubeconfig"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.apiserver_port}"

    def _bin(self, name: str) -> str:
        return str(Path(self.bin_dir) / name)

    # -- PKI --

    def _ca(self, name: str, cn: str) -> None:
        key, crt = self.pki / f"{name}.key", self.pki / f"{name}.crt"
        _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key))
        _openssl(
            "req", "-x509", "-new", "-key", str(key), "-subj", f"/CN={cn}", "-days", "3650",
            "-sha256", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", str(crt),
        )  # fmt: skip

    def certificate(
        self, name: str, cn: str, org: str = "", san: str = "", ca: str = "ca"
    ) -> tuple[Path, Path]:
        """A key and certificate signed by the cluster CA (a client one without ``san``):
        a user ``cn`` in group ``org``, as the API server reads client certificates."""
        key, crt = self.pki / f"{name}.key", self.pki / f"{name}.crt"
        csr, ext = self.pki / f"{name}.csr", self.pki / f"{name}.ext"
        _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key))
        subject = f"/O={org}/CN={cn}" if org else f"/CN={cn}"
        _openssl("req", "-new", "-key", str(key), "-subj", subject, "-out", str(csr))
        usage = "serverAuth,clientAuth" if san else "clientAuth"
        lines = [
            "basicConstraints=CA:FALSE",
            "keyUsage=critical,digitalSignature,keyEncipherment",
            f"extendedKeyUsage={usage}",
        ]
        if san:
            lines.append(f"subjectAltName={san}")
        ext.write_text("\n".join(lines) + "\n")
        _openssl(
            "x509", "-req", "-in", str(csr), "-CA", str(self.pki / f"{ca}.crt"),
            "-CAkey", str(self.pki / f"{ca}.key"), "-CAcreateserial", "-days", "3650",
            "-sha256", "-extfile", str(ext), "-out", str(crt),
        )  # fmt: skip
        csr.unlink()
        ext.unlink()
        key.chmod(0o600)
        return key, crt

    def write_kubeconfig(self, path: Path, user: str, cert: Path, key: Path) -> Path:
        """A kubeconfig for this control plane with a client certificate (context
        :attr:`context`)."""

        def b64(p: Path) -> str:
            return base64.b64encode(p.read_bytes()).decode()

        path.write_text(
            f"""apiVersion: v1
kind: Config
clusters:
- name: {self.context}
  cluster:
    server: {self.server}
    certificate-authority-data: {b64(self.pki / "ca.crt")}
users:
- name: {user}
  user:
    client-certificate-data: {b64(cert)}
    client-key-data: {b64(key)}
contexts:
- name: {self.context}
  context:
    cluster: {self.context}
    user: {user}
current-context: {self.context}
"""
        )
        path.chmod(0o600)
        return path

    def _make_pki(self) -> None:
        self.pki.mkdir(parents=True, exist_ok=True)
        self._ca("ca", "podfit-local-ca")
        self._ca("front-proxy-ca", "podfit-local-front-proxy-ca")
        self.certificate(
            "apiserver",
            "kube-apiserver",
            san="IP:127.0.0.1,DNS:localhost,IP:10.96.0.1,DNS:kubernetes,"
            "DNS:kubernetes.default,DNS:kubernetes.default.svc",
        )
        self.certificate("admin", "podfit-admin", "system:masters")
        self.certificate("scheduler", "system:kube-scheduler")
        self.certificate("controller-manager", "system:kube-controller-manager")
        self.certificate("front-proxy-client", "front-proxy-client", ca="front-proxy-ca")
        _openssl("genrsa", "-out", str(self.pki / "sa.key"), "2048")
        _openssl(
            "rsa", "-in", str(self.pki / "sa.key"), "-pubout", "-out", str(self.pki / "sa.pub")
        )
        assert self.work is not None
        for user, name in (
            ("admin", "admin"),
            ("system:kube-scheduler", "scheduler"),
            ("system:kube-controller-manager", "controller-manager"),
        ):
            self.write_kubeconfig(
                self.work / f"{name}.kubeconfig",
                user,
                self.pki / f"{name}.crt",
                self.pki / f"{name}.key",
            )

    # -- processes --

    def _launch(self, name: str, args: list[str]) -> _Process:
        assert self.work is not None
        logs = self.work / "logs"
        logs.mkdir(exist_ok=True)
        log = logs / f"{name}.log"
        with open(log, "wb") as out:
            popen = subprocess.Popen(
                args,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C in a terminal reaches the test run, not them
            )
        process = _Process(name, popen, log)
        self.processes[name] = process
        return process

    def _failed(self, process: _Process, why: str) -> ControlPlaneError:
        tail = process.log.read_text(errors="replace").splitlines()[-20:]
        return ControlPlaneError(
            f"{process.name} {why}; last lines of its log:\n" + "\n".join(tail)
        )

    def _wait(self, process: _Process, url: str, context: ssl.SSLContext | None) -> None:
        end = time.monotonic() + self.timeout
        while True:
            if process.popen.poll() is not None:
                raise self._failed(process, f"exited with code {process.popen.returncode}")
            try:
                with urllib.request.urlopen(url, timeout=2, context=context) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > end:
                raise self._failed(process, f"not ready after {self.timeout:g} s")
            time.sleep(0.1)

    def _admin_tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        context.load_cert_chain(str(self.pki / "admin.crt"), str(self.pki / "admin.key"))
        return context

    @staticmethod
    def _insecure() -> ssl.SSLContext:
        # The scheduler's and controller manager's serving certificates are self-signed.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context

    def start(self) -> ControlPlane:
        """Make the PKI, start every process and wait until each is ready."""
        missing = missing_binaries(self.bin_dir)
        if missing:
            raise ControlPlaneError(f"{self.bin_dir}: missing {', '.join(missing)}")
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        assert self.work is not None
        etcd_port, peer_port = free_port(), free_port()
        self.apiserver_port = free_port()
        self._make_pki()  # after the port: the kubeconfigs name the server
        etcd = [
            self._bin("etcd"), "--name", "podfit", "--data-dir", str(self.work / "etcd-data"),
            "--listen-client-urls", f"http://127.0.0.1:{etcd_port}",
            "--advertise-client-urls", f"http://127.0.0.1:{etcd_port}",
            "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-cluster", f"podfit=http://127.0.0.1:{peer_port}",
            "--initial-cluster-state", "new", "--quota-backend-bytes", "4294967296",
        ]  # fmt: skip
        if self.fast_etcd:
            etcd.append("--unsafe-no-fsync")  # a throwaway cluster: speed over durability
        self._wait(self._launch("etcd", etcd), f"http://127.0.0.1:{etcd_port}/health", None)
        disabled = "TaintNodesByCondition"
        if not self.controller_manager:
            disabled += ",ServiceAccount"  # nobody would create the default ServiceAccounts
        pki = self.pki
        apiserver = [
            self._bin("kube-apiserver"),
            "--bind-address", "127.0.0.1", "--secure-port", str(self.apiserver_port),
            "--advertise-address", "127.0.0.1", "--endpoint-reconciler-type", "none",
            "--etcd-servers", f"http://127.0.0.1:{etcd_port}",
            "--tls-cert-file", str(pki / "apiserver.crt"),
            "--tls-private-key-file", str(pki / "apiserver.key"),
            "--client-ca-file", str(pki / "ca.crt"),
            "--requestheader-client-ca-file", str(pki / "front-proxy-ca.crt"),
            "--requestheader-allowed-names", "front-proxy-client",
            "--requestheader-username-headers", "X-Remote-User",
            "--requestheader-group-headers", "X-Remote-Group",
            "--requestheader-extra-headers-prefix", "X-Remote-Extra-",
            "--proxy-client-cert-file", str(pki / "front-proxy-client.crt"),
            "--proxy-client-key-file", str(pki / "front-proxy-client.key"),
            "--service-account-key-file", str(pki / "sa.pub"),
            "--service-account-signing-key-file", str(pki / "sa.key"),
            "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
            "--service-cluster-ip-range", "10.96.0.0/16",
            "--authorization-mode", "RBAC",
            "--disable-admission-plugins", disabled,
            "--profiling=false",
        ]  # fmt: skip
        self._wait(
            self._launch("kube-apiserver", apiserver),
            f"{self.server}/readyz",
            self._admin_tls(),
        )
        if self.controller_manager and os.access(self._bin("kube-controller-manager"), os.X_OK):
            config = str(self.work / "controller-manager.kubeconfig")
            port = free_port()
            manager = [
                self._bin("kube-controller-manager"),
                "--kubeconfig", config, "--authentication-kubeconfig", config,
                "--authorization-kubeconfig", config,
                "--bind-address", "127.0.0.1", "--secure-port", str(port),
                "--leader-elect=false",
                # Deleted namespaces get finalized; default ServiceAccounts exist.
                "--controllers", "namespace,serviceaccount,serviceaccount-token,garbagecollector",
                "--service-account-private-key-file", str(pki / "sa.key"),
                "--root-ca-file", str(pki / "ca.crt"),
                "--use-service-account-credentials=true",
            ]  # fmt: skip
            self._wait(
                self._launch("kube-controller-manager", manager),
                f"https://127.0.0.1:{port}/healthz",
                self._insecure(),
            )
        if self.scheduler:
            self.start_scheduler()
        if self.node_ready and os.access(self._bin("node-ready"), os.X_OK):
            process = self._launch(
                "node-ready", [self._bin("node-ready"), "--kubeconfig", str(self.kubeconfig)]
            )
            end = time.monotonic() + self.timeout
            while "managing nodes" not in process.log.read_text(errors="replace"):
                if process.popen.poll() is not None:
                    raise self._failed(process, "exited")
                if time.monotonic() > end:
                    raise self._failed(process, "did not start")
                time.sleep(0.1)

    def start_scheduler(self, name: str = "kube-scheduler", config: str | None = None) -> str:
        """Start a kube-scheduler (``config``: a KubeSchedulerConfiguration's text, its
        profiles under their own schedulerNames); returns the process name."""
        assert self.work is not None
        kubeconfig = str(self.work / "scheduler.kubeconfig")
        port = free_port()
        args = [
            self._bin("kube-scheduler"),
            "--authentication-kubeconfig", kubeconfig, "--authorization-kubeconfig", kubeconfig,
            "--bind-address", "127.0.0.1", "--secure-port", str(port),
        ]  # fmt: skip
        if config is None:
            args += ["--kubeconfig", kubeconfig, "--leader-elect=false"]
        else:
            path = self.work / f"{name}.yaml"
            # The configuration names the kubeconfig and leader election itself.
            text = config.replace("$KUBECONFIG", kubeconfig)
            path.write_text(text)
            args += ["--config", str(path)]
        self._wait(self._launch(name, args), f"https://127.0.0.1:{port}/readyz", self._insecure())
        return name

    def stop(self) -> None:
        """Stop every process this control plane started (SIGTERM, then SIGKILL after 15 s)
        and remove its temporary directory."""
        for process in reversed(list(self.processes.values())):
            if process.popen.poll() is None:
                process.popen.terminate()
                try:
                    process.popen.wait(15)
                except subprocess.TimeoutExpired:
                    process.popen.kill()
                    process.popen.wait(5)
        self.processes.clear()
        if self._own_work and self.work is not None:
            with contextlib.suppress(OSError):
                shutil.rmtree(self.work)

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """``python -m podfit.conformance.controlplane BIN_DIR``: start, print how to reach it,
    run until Ctrl-C (or SIGTERM), stop."""
    import argparse
    import signal
    import sys

    parser = argparse.ArgumentParser(
        prog="python -m podfit.conformance.controlplane", description=main.__doc__
    )
    parser.add_argument("bin_dir", help="directory with etcd, kube-apiserver, kube-scheduler")
    args = parser.parse_args(argv)
    plane = ControlPlane(args.bin_dir)
    try:
        plane.start()
    except ControlPlaneError as exc:
        sys.exit(f"control plane: {exc}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"kubeconfig: {plane.kubeconfig} (context {plane.context})", flush=True)
    print(f"adapter:    kube:{plane.context}?kubeconfig={plane.kubeconfig}", flush=True)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        # A second Ctrl-C or SIGTERM must not cut the shutdown short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        plane.stop()


if __name__ == "__main__":
    main()
