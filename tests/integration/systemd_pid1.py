# SPDX-License-Identifier: ISC
"""Boot real systemd as PID 1 in a throw-away namespace and drive it.

    with SystemdPID1(units={"foo.service": "..."}) as sd:
        sd.systemctl("start", "foo.service")
        assert sd.show("foo.service", "ActiveState")["ActiveState"] == "active"

Stdlib only; needs root, util-linux `unshare`/`nsenter`, overlayfs and a
cgroup2 hierarchy. Nothing the booted systemd does may reach the host, so the
namespace is built like a small container (everything below was found
necessary on Debian 12 / systemd 252, see NEEDS):

* `unshare --pid --fork --mount --mount-proc --uts --ipc --cgroup
  --propagation private --kill-child`: systemd is PID 1 of its own pid
  namespace; private mounts, hostname and SysV IPC. The network namespace is
  shared on purpose: services reach loopback servers (fakecloud) of the test.
* Every mount inherited from the host is remounted read-only *in this mount
  namespace only*; what must be writable gets a private layer: a fresh tmpfs
  on /run (with /run/systemd/system/, the "booted with systemd" marker), a
  minimal private /dev (so that no /dev/log, /dev/hugepages... appear on the
  host), overlays with a tmpfs upper layer on /etc, /var and /tmp
  (ConfigurationDirectory=, StateDirectory=, DynamicUser=, PrivateTmp= and
  journald write there), /proc/sys read-only.
* A cgroup of its own: the harness creates a child of its current cgroup2
  group, the namespace is unshared from inside it (`--cgroup`) and a fresh
  cgroup2 is mounted on /sys/fs/cgroup, so systemd sees a pure unified
  hierarchy rooted at that group (the host may be hybrid v1/v2). On close,
  `cgroup.kill` reaps anything left and the groups are removed.
* `container=kmswatch-test` in PID 1's environment: systemd runs in
  container mode (no kernel modules, no sysctl/rlimit bumps on the host, no
  hostname from the host, and it leaves mount propagation alone).
* `mount --make-rshared /` inside the namespace (after unshare made every
  mount private, so no peer group reaches the host): LoadCredential= builds
  the credential ramfs in a child mount namespace and moves it into
  /run/credentials/UNIT; without shared propagation PID 1 and the service see
  an empty root-owned directory (EACCES in the service).
* The unit search path is *only* the harness's unit directory
  (`SYSTEMD_UNIT_PATH`, bind-mounted read-only on /etc/systemd/system) and
  generators are disabled (`SYSTEMD_GENERATOR_PATH`,
  `SYSTEMD_ENVIRONMENT_GENERATOR_PATH` -> an empty directory). The host's
  sysinit.target.wants/ (tmpfiles --remove, sysctl, sysusers, binfmt,
  journal flush, utmp...) must never run: it would empty the host's /tmp
  and rewrite kernel settings. sysinit.target, basic.target, shutdown.target
  and friends are empty stubs here, so units with DefaultDependencies=yes
  (like kmswatch.service) still load and start.
* /etc/machine-id: the host's, seen through the /etc overlay (systemd and
  journald need one; anything they write stays in the overlay).
* A terminal on /dev/console: PID 1 always reopens /dev/console for its log
  and status output and refuses a non-tty. The harness opens a pty, binds
  its slave onto the private /dev/console and copies the master side into
  `console.log` (setup messages and systemd's own log, `console()`).
* systemd is started with `--unit=<boot target>` (DefaultDependencies=no,
  wanting only what the test asks for: tests start their units themselves),
  `--log-target=console --show-status=no --crash-reboot=no --crash-shell=no`.
* Optional in-namespace journald (`journald=True`): minimal
  systemd-journald.socket/.service units started at boot with
  Storage=volatile, so services log to a real journal that `journal()` reads
  with journalctl inside the namespace. Without it, each service's
  stdout/stderr is appended to /run/kmswatch-test/UNIT.log (`service_log()`).
  The host journal is never involved.
* Every service gets an `ExecStopPost=+...` drop-in recording
  $SERVICE_RESULT $EXIT_CODE $EXIT_STATUS (`exits()`), because an inactive
  unit is garbage-collected and `systemctl show` then reports defaults.
* Files for the namespace (`files=`) are staged on the host and copied in by
  the setup script before systemd starts; `tmpfs=` gives directories such as
  /usr/local/sbin a private tmpfs (the binary under test goes there: a path
  under /tmp would be hidden by PrivateTmp=).
* Teardown: SIGKILL to PID 1 from this (ancestor) pid namespace, which the
  kernel then empties; the mounts go with the namespace. Then kill(2) of
  anything left in the cgroup, `cgroup.kill`, rmdir of the groups, removal
  of the harness directory. unshare runs with PR_SET_PDEATHSIG and
  `--kill-child`, so a SIGKILLed test runner takes systemd with it; the next
  harness start sweeps the cgroups and directories such a runner left.
"""

import ctypes
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import termios
import threading
import time

SYSTEMD = "/lib/systemd/systemd"
JOURNALD = "/lib/systemd/systemd-journald"
BOOT_TARGET = "kmswatch-test.target"
LOG_DIR = "/run/kmswatch-test"  # inside the namespace

NEEDS = (
    "root",
    "unshare/nsenter (util-linux >= 2.38 for --kill-child)",
    "overlayfs (private /etc, /var, /tmp)",
    "a cgroup2 hierarchy to create a child group in",
    SYSTEMD,
)

# Stubs for the targets that default dependencies refer to. Only Requires=
# strictly needs its target to exist (sysinit.target); the others keep
# `systemctl status` free of "not-found" noise.
STUB_TARGETS = (
    "sysinit.target", "basic.target", "sockets.target", "paths.target",
    "timers.target", "slices.target", "local-fs.target", "shutdown.target",
    "network.target", "network-online.target", "nss-lookup.target",
    "multi-user.target",
)

JOURNALD_UNITS = {
    "systemd-journald.socket": """\
[Unit]
Description=Journal Socket (test namespace)
DefaultDependencies=no
Before=sockets.target

[Socket]
ListenDatagram=/run/systemd/journal/socket
ListenStream=/run/systemd/journal/stdout
PassCredentials=yes
PassSecurity=yes
ReceiveBuffer=8M
Service=systemd-journald.service
SocketMode=0666
""",
    "systemd-journald.service": """\
[Unit]
Description=Journal Service (test namespace)
DefaultDependencies=no
Requires=systemd-journald.socket
After=systemd-journald.socket

[Service]
Type=notify
Sockets=systemd-journald.socket
ExecStart=%s
Restart=always
RestartSec=0
StandardOutput=null
FileDescriptorStoreMax=4224
RuntimeDirectory=systemd/journal
RuntimeDirectoryPreserve=yes
""" % JOURNALD,
}

# Runs as PID 1 of the new namespaces, then execs systemd. $1 is the
# harness directory on the host, $2 the boot target, $3 extra tmpfs mounts.
SETUP_SH = r"""#!/bin/sh
set -eu
S=$1 TARGET=$2 TMPFS=$3 CONSOLE=$4 OVERLAYS=$5 UNITS_RW=$6
say() { echo "pid1-setup: $*" >&2; }

# 1. /run: fresh tmpfs; /run/systemd/system/ tells everyone systemd booted.
mount -t tmpfs -o mode=0755,nosuid,nodev,size=64m tmpfs /run
mkdir -p /run/systemd/system /run/.pid1/empty /run/.pid1/ovl /run/kmswatch-test
# PID 1 always (re)opens /dev/console and wants a terminal there: hand it the
# harness's pty (reached through the host /dev/pts, about to be covered).
touch /run/.pid1/console
mount --bind "$CONSOLE" /run/.pid1/console

# 2. /dev: minimal and private; /dev/console is the console log.
mount -t tmpfs -o mode=0755,nosuid,size=4m tmpfs /dev
for n in "null 1 3" "zero 1 5" "full 1 7" "random 1 8" "urandom 1 9" "tty 5 0"; do
	set -- $n
	mknod -m 0666 "/dev/$1" c "$2" "$3"
done
mkdir /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts
ln -s pts/ptmx /dev/ptmx
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
mount -t mqueue -o nosuid,nodev,noexec mqueue /dev/mqueue
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
touch /dev/console
mount --bind /run/.pid1/console /dev/console
umount /run/.pid1/console

# 3. Host mounts read-only here (only this mount namespace; propagation is
#    private). /proc stays writable (uid_map for PrivateUsers=) but /proc/sys
#    does not; /run, /dev and /sys/fs/cgroup are replaced below.
awk '{print $5}' /proc/self/mountinfo | sort -u | while read -r mp; do
	mp=$(printf '%b' "$mp")
	case $mp in
	/proc|/proc/*|/run|/run/*|/dev|/dev/*|/sys/fs/cgroup|/sys/fs/cgroup/*) continue ;;
	esac
	mount -o remount,bind,ro "$mp" 2>/dev/null || say "could not make $mp read-only"
done
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
if [ -e /proc/sysrq-trigger ]; then
	mount --bind /proc/sysrq-trigger /proc/sysrq-trigger
	mount -o remount,bind,ro /proc/sysrq-trigger
fi

# 4. cgroup2 of this cgroup namespace (rooted at the harness's group).
umount -R /sys/fs/cgroup
mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 /sys/fs/cgroup

# 5. Writable, private /etc, /var and /tmp (and OVERLAYS, e.g. usr for a
#    package test): overlays with a tmpfs upper.
for d in etc var tmp $OVERLAYS; do
	mkdir -p "/run/.pid1/ovl/$d/upper" "/run/.pid1/ovl/$d/work"
	mount -t overlay "overlay-$d" \
		-o "lowerdir=/$d,upperdir=/run/.pid1/ovl/$d/upper,workdir=/run/.pid1/ovl/$d/work" "/$d"
done

# 6. The unit directory, the first (usually the only) one systemd will
#    search: read-only, or (UNITS_RW=1, for systemctl enable and
#    deb-systemd-helper) a private tmpfs holding a copy of it.
mkdir -p /etc/systemd/system
if [ "$UNITS_RW" = 1 ]; then
	mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /etc/systemd/system
	cp -a "$S/units/." /etc/systemd/system/
else
	mount --bind "$S/units" /etc/systemd/system
	mount -o remount,bind,ro /etc/systemd/system
fi

# 7. Extra tmpfs directories (e.g. /usr/local/sbin for the binary under test),
#    then the staged files.
for d in $TMPFS; do
	mount -t tmpfs -o mode=0755,nosuid,nodev "tmpfs" "$d"
done
umask 022
(cd "$S/stage" && find . ! -type d) | while read -r f; do
	f=${f#.}
	mkdir -p "${f%/*}"
	cp -pP "$S/stage$f" "$f"
done

# 8. Shared propagation *within* this namespace (unshare made everything
#    private first, so no peer group reaches the host). systemd leaves
#    propagation to the container manager, and needs it: LoadCredential= sets
#    up the credential ramfs in a child mount namespace and moves it into
#    /run/credentials/, which PID 1 only sees through propagation.
mount --make-rshared /

say "namespace ready, exec $0 -> systemd"
exec env -i \
	container=kmswatch-test \
	SYSTEMD_UNIT_PATH=@UNITPATH@ \
	SYSTEMD_GENERATOR_PATH=/run/.pid1/empty \
	SYSTEMD_ENVIRONMENT_GENERATOR_PATH=/run/.pid1/empty \
	LANG=C.UTF-8 \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	@SYSTEMD@ --system --unit="$TARGET" --log-target=console --log-level=@LOGLEVEL@ \
		--log-color=no --show-status=no --crash-reboot=no --crash-shell=no
"""


class HarnessError(RuntimeError):
    pass


def missing_requirement():
    """A reason why the harness cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (unshare --pid/--mount, mounts, cgroups)"
    for tool in ("unshare", "nsenter"):
        if not shutil.which(tool):
            return "%s not found" % tool
    if not os.access(SYSTEMD, os.X_OK):
        return "%s not found" % SYSTEMD
    try:
        with open("/proc/filesystems") as f:
            fs = f.read()
    except OSError as e:
        return "cannot read /proc/filesystems: %s" % e
    if "overlay" not in fs:
        return "overlayfs not available"
    if _cgroup2_root() is None:
        return "no cgroup2 hierarchy mounted"
    return None


def _cgroup2_root():
    """Directory of this process's own cgroup2 group, or None."""
    mnt = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.split(" ", 1)[0] == "cgroup2":
                mnt = left.split()[4]
                break
    if mnt is None:
        return None
    path = None
    with open("/proc/self/cgroup") as f:
        for line in f:
            if line.startswith("0::"):
                path = line[3:].strip()
    if path is None:
        return None
    d = os.path.normpath(mnt + "/" + path)
    return d if os.path.isdir(d) else None


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _remove_cgroup_tree(top, timeout=10.0):
    """Kill whatever is left in a cgroup subtree, then remove it. kill(2)
    from here is "from an ancestor pid namespace", which even a namespace's
    PID 1 cannot ignore; cgroup.kill is the belt to those braces."""
    deadline = time.monotonic() + timeout
    while os.path.isdir(top):
        dirs = [root for root, _, _ in os.walk(top)]
        for d in dirs:
            try:
                with open(os.path.join(d, "cgroup.procs")) as f:
                    for pid in f.read().split():
                        try:
                            os.kill(int(pid), signal.SIGKILL)
                        except ProcessLookupError:
                            pass
            except OSError:
                pass
        try:
            with open(os.path.join(top, "cgroup.kill"), "w") as f:
                f.write("1")
        except OSError:
            pass
        for d in sorted(dirs, key=len, reverse=True):
            try:
                os.rmdir(d)
            except FileNotFoundError:
                pass
            except OSError:
                break
        if not os.path.isdir(top):
            return
        if time.monotonic() > deadline:
            raise HarnessError("could not remove cgroup %s" % top)
        time.sleep(0.05)


def _sweep_stale():
    """Remove what an earlier, SIGKILLed test runner could not: its cgroups
    (their processes die with the runner: PR_SET_PDEATHSIG on unshare, and
    unshare --kill-child) and its harness directories."""
    stale = re.compile(r"^(?:kmswatch-test|kmswatch-pid1)-(\d+)-")
    parent = _cgroup2_root()
    for base, is_cg in ((parent, True), (tempfile.gettempdir(), False)):
        try:
            names = os.listdir(base) if base else []
        except OSError:
            continue
        for n in names:
            m = stale.match(n)
            if not m or _pid_alive(int(m.group(1))):
                continue
            path = os.path.join(base, n)
            try:
                if is_cg:
                    _remove_cgroup_tree(path, timeout=2)
                else:
                    shutil.rmtree(path, ignore_errors=True)
            except HarnessError:
                pass


def _set_pdeathsig():
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_PDEATHSIG = 1
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _pump(master, path):
    """Copy the console pty to the log file until every slave is closed."""
    with open(path, "ab", buffering=0) as out:
        while True:
            try:
                b = os.read(master, 65536)
            except OSError:  # EIO: no slave left
                break
            if not b:
                break
            out.write(b.replace(b"\r", b""))  # PID 1 turns OPOST back on
    os.close(master)


def _stub(name):
    return "[Unit]\nDescription=%s (test stub)\nDefaultDependencies=no\n" % name


class SystemdPID1:
    """One booted systemd. Use as a context manager; close() is idempotent."""

    def __init__(self, units, *, wants=(), files=None, tmpfs=(), journald=False,
                 boot_timeout=20.0, log_level="info", name="kmswatch-test",
                 overlays=(), writable_units=False, unit_path=()):
        """units: {unit name: text}; drop-ins as "foo.service.d/x.conf".
        wants: units the boot target pulls in at boot (tests usually start
        their unit themselves). files: {absolute path in the namespace:
        (bytes|str, mode)} written before systemd starts; the path must be
        in a writable place (/etc, /var, /tmp, /run or a `tmpfs` entry).
        tmpfs: directories that get a private tmpfs (e.g. /usr/local/sbin).
        journald: run systemd-journald in the namespace.
        overlays: more top-level directories made writable by an overlay
        (e.g. "usr", so that dpkg can install a package in the namespace).
        writable_units: /etc/systemd/system is a private writable copy of
        the unit directory (systemctl enable, deb-systemd-helper).
        unit_path: directories searched after it (e.g. /lib/systemd/system,
        given a private tmpfs in `tmpfs` so that none of the host's units
        and .wants/ links can be pulled in)."""
        self.units = dict(units)
        self.wants = list(wants)
        self.files = dict(files or {})
        self.tmpfs = list(tmpfs)
        self.journald = journald
        self.boot_timeout = boot_timeout
        self.log_level = log_level
        self.name = name
        self.overlays = list(overlays)
        self.writable_units = writable_units
        self.unit_path = ["/etc/systemd/system"] + list(unit_path)
        for o in self.overlays:
            if not re.fullmatch(r"[a-z]+", o):
                raise HarnessError("overlays: %r is not a top-level directory name" % o)
        self.dir = None
        self.cgroup = None
        self.proc = None       # the unshare process
        self.pid = None        # systemd, PID 1 inside, as seen from here
        self._pump = None

    # ---- lifecycle -------------------------------------------------------
    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self):
        why = missing_requirement()
        if why:
            raise HarnessError(why)
        for d in self.tmpfs:
            if not os.path.isdir(d):
                raise HarnessError("tmpfs mount point %s does not exist on the host" % d)
        _sweep_stale()
        self.dir = tempfile.mkdtemp(prefix="kmswatch-pid1-%d-" % os.getpid())
        os.chmod(self.dir, 0o755)
        self._write_units()
        self._write_stage()
        setup = os.path.join(self.dir, "setup.sh")
        with open(setup, "w") as f:
            f.write(SETUP_SH.replace("@SYSTEMD@", SYSTEMD).replace("@LOGLEVEL@", self.log_level)
                    .replace("@UNITPATH@", ":".join(self.unit_path)))
        self.console_log = os.path.join(self.dir, "console.log")
        master, slave = os.openpty()
        attrs = termios.tcgetattr(slave)
        attrs[1] &= ~termios.OPOST          # no \r\n translation
        attrs[3] &= ~(termios.ECHO | termios.ICANON)
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        slave_path = os.ttyname(slave)
        self._pump = threading.Thread(target=_pump, args=(master, self.console_log),
                                      name="pid1-console", daemon=True)
        self._pump.start()

        parent = _cgroup2_root()
        self.cgroup = os.path.join(parent, "%s-%d-%s" % (self.name, os.getpid(),
                                                          os.path.basename(self.dir)))
        os.mkdir(self.cgroup)
        procs = os.path.join(self.cgroup, "cgroup.procs")

        def preexec():
            _set_pdeathsig()
            with open(procs, "w") as f:
                f.write("0")

        argv = ["unshare", "--pid", "--fork", "--kill-child", "--mount", "--mount-proc",
                "--uts", "--ipc", "--cgroup", "--propagation", "private",
                "/bin/sh", setup, self.dir, BOOT_TARGET, " ".join(self.tmpfs), slave_path,
                " ".join(self.overlays), "1" if self.writable_units else "0"]
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave,
                                         stderr=slave, preexec_fn=preexec, close_fds=True)
        finally:
            os.close(slave)  # the pump sees EOF once the namespace is gone
        self._wait_boot()

    def close(self):
        """Kill PID 1 (and so the namespace), reap, remove cgroups and files."""
        try:
            if self.pid is None and self.proc is not None:
                self.pid = self._child_pid(wait=False)
            if self.pid is not None:
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if self.proc is not None:
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=10)
        finally:
            self.pid = None
            self.proc = None
            self._remove_cgroup()
            if self._pump is not None:
                self._pump.join(timeout=5)
                self._pump = None
            if self.dir and not os.environ.get("KMSWATCH_PID1_KEEP"):
                shutil.rmtree(self.dir, ignore_errors=True)
                self.dir = None

    # ---- driving ---------------------------------------------------------
    def nsenter(self):
        if self.pid is None:
            raise HarnessError("systemd is not running")
        return ["nsenter", "-t", str(self.pid), "-m", "-p", "-u", "-i", "-C", "--"]

    def run(self, argv, *, check=True, timeout=20, env=None, input=None):
        """Run argv inside the namespace (as root, in the host's cgroup)."""
        e = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
             "SYSTEMD_PAGER": "", "SYSTEMD_COLORS": "0", "TERM": "dumb",
             "SYSTEMD_LOG_LEVEL": "notice"}
        e.update(env or {})
        p = subprocess.run(self.nsenter() + list(argv), capture_output=True, text=True,
                           timeout=timeout, env=e, input=input)
        if check and p.returncode != 0:
            raise HarnessError("%s exited %d\nstdout: %s\nstderr: %s" % (
                shlex.join(argv), p.returncode, p.stdout, p.stderr))
        return p

    def systemctl(self, *args, check=True, timeout=20):
        return self.run(["systemctl", "--no-pager", "--no-ask-password"] + list(args),
                        check=check, timeout=timeout)

    def show(self, unit, *props):
        out = self.systemctl("show", unit, "-p", ",".join(props)).stdout
        res = {}
        for line in out.splitlines():
            k, _, v = line.partition("=")
            res[k] = v
        return res

    def state(self, unit):
        s = self.show(unit, "ActiveState", "SubState")
        return s["ActiveState"], s["SubState"]

    def wait_until(self, pred, timeout=10.0, interval=0.05, what="condition"):
        deadline = time.monotonic() + timeout
        last = None
        while True:
            last = pred()
            if last:
                return last
            if time.monotonic() > deadline:
                raise HarnessError("timed out after %.1fs waiting for %s" % (timeout, what))
            time.sleep(interval)

    def wait_state(self, unit, active, sub=None, timeout=10.0):
        def ok():
            a, s = self.state(unit)
            return a == active and (sub is None or s == sub)
        try:
            self.wait_until(ok, timeout, what="%s to be %s/%s" % (unit, active, sub))
        except HarnessError as e:
            raise HarnessError("%s; it is %s/%s\n%s" % (e, *self.state(unit),
                                                      self.diagnostics(unit))) from None

    def journal(self, *args):
        """journalctl inside the namespace, e.g. journal("-u", "x", "-o", "json")."""
        return self.run(["journalctl", "--no-pager", "-q"] + list(args)).stdout

    def journal_json(self, *args):
        out = self.journal("-o", "json", *args)
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def path(self, p):
        """Host path of a namespace path (through /proc/PID/root)."""
        return "/proc/%d/root%s" % (self.pid, p)

    def read(self, p):
        try:
            with open(self.path(p), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def service_log(self, unit):
        """stdout+stderr of a unit: the journal with journald, else its file."""
        if self.journald:
            return self.journal("-u", unit, "-o", "cat")
        return self.read("%s/%s.log" % (LOG_DIR, unit))

    def exits(self, unit):
        """[(SERVICE_RESULT, EXIT_CODE, EXIT_STATUS)] of each stop of unit,
        recorded by an ExecStopPost= the harness adds to every service."""
        return [tuple(line.split(" ", 2)) for line in
                self.read("%s/%s.exit" % (LOG_DIR, unit)).splitlines()]

    def console(self):
        with open(self.console_log, errors="replace") as f:
            return f.read()

    def diagnostics(self, unit=None):
        parts = ["--- console (systemd PID 1) ---", self.console()[-6000:]]
        if self.pid is not None and unit:
            p = self.systemctl("status", unit, check=False)
            parts += ["--- systemctl status %s ---" % unit, p.stdout + p.stderr]
            parts += ["--- output of %s ---" % unit, self.service_log(unit)[-4000:]]
        return "\n".join(parts)

    # ---- internals -------------------------------------------------------
    def _write_units(self):
        ud = os.path.join(self.dir, "units")
        os.mkdir(ud)
        units = {t: _stub(t) for t in STUB_TARGETS}
        wants = list(self.wants)
        if self.journald:
            units.update(JOURNALD_UNITS)
            # started at boot, not on first use: its journal then predates
            # every unit ("journal has been rotated" notices otherwise)
            wants[:0] = ["systemd-journald.socket", "systemd-journald.service"]
        units[BOOT_TARGET] = (
            "[Unit]\nDescription=kmswatch test boot target\nDefaultDependencies=no\n"
            + "".join("Wants=%s\n" % w for w in wants))
        units.update(self.units)
        for name, text in units.items():
            p = os.path.join(ud, name)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(text)
        for name in self.units:
            if "/" in name or not name.endswith(".service"):
                continue
            d = os.path.join(ud, name + ".d")
            os.makedirs(d, exist_ok=True)
            # "+": outside the unit's sandbox, so it works for hardened units
            conf = ("[Service]\nExecStopPost=+/bin/sh -c 'echo \"$$SERVICE_RESULT "
                    "$$EXIT_CODE $$EXIT_STATUS\" >> %s/%%n.exit'\n" % LOG_DIR)
            if not self.journald:
                conf += ("StandardOutput=append:%s/%s.log\nStandardError=inherit\n"
                         % (LOG_DIR, name))
            with open(os.path.join(d, "00-harness.conf"), "w") as f:
                f.write(conf)
        for root, dirs, fs in os.walk(ud):
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o755)
            for f in fs:
                os.chmod(os.path.join(root, f), 0o644)

    def _write_stage(self):
        st = os.path.join(self.dir, "stage")
        os.mkdir(st)
        os.chmod(st, 0o755)
        files = dict(self.files)
        if self.journald:
            # keep the journal in /run: no flush service, nothing in /var/log
            files.setdefault("/etc/systemd/journald.conf.d/50-kmswatch-test.conf",
                             ("[Journal]\nStorage=volatile\n", 0o644))
        for path, (content, mode) in files.items():
            if not path.startswith("/"):
                raise HarnessError("files: %s is not absolute" % path)
            p = os.path.join(st, path.lstrip("/"))
            os.makedirs(os.path.dirname(p), exist_ok=True)
            d = os.path.dirname(p)
            while d != st:
                os.chmod(d, 0o755)
                d = os.path.dirname(d)
            with open(p, "wb") as f:
                f.write(content.encode() if isinstance(content, str) else content)
            os.chmod(p, mode)

    def _child_pid(self, wait=True):
        deadline = time.monotonic() + 5
        while True:
            if self.proc is None:
                return None
            try:
                with open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)) as f:
                    kids = f.read().split()
            except OSError:
                kids = []
            if kids:
                return int(kids[0])
            if not wait or self.proc.poll() is not None or time.monotonic() > deadline:
                return None
            time.sleep(0.01)

    def _wait_boot(self):
        deadline = time.monotonic() + self.boot_timeout
        child = self._child_pid()
        if child is None:
            raise HarnessError("namespace did not start\n" + self.console())
        self.pid = child
        # wait for the exec of systemd and its private bus socket
        while True:
            if self.proc.poll() is not None:
                raise HarnessError("PID 1 exited with %s during boot\n%s" % (
                    self.proc.returncode, self.console()))
            try:
                exe = os.readlink("/proc/%d/exe" % child)
            except OSError:
                exe = ""
            if exe == os.path.realpath(SYSTEMD) and os.path.exists(
                    self.path("/run/systemd/private")):
                break
            if time.monotonic() > deadline:
                raise HarnessError("systemd did not come up\n" + self.console())
            time.sleep(0.02)
        while True:
            p = self.systemctl("show", "-P", "SystemState", check=False, timeout=5)
            st = p.stdout.strip()
            if st in ("running", "degraded"):
                break
            if time.monotonic() > deadline:
                raise HarnessError("boot did not finish (SystemState=%r)\n%s" % (
                    st, self.console()))
            time.sleep(0.05)
        if st == "degraded":
            p = self.systemctl("--failed", check=False)
            raise HarnessError("boot degraded:\n%s\n%s" % (p.stdout, self.console()))

    def _remove_cgroup(self):
        if self.cgroup:
            _remove_cgroup_tree(self.cgroup)
            self.cgroup = None
