"""The container's filesystem: overlay rootfs, its mounts, /dev, masks, pivot_root.

Everything before `pivot_root` runs in the birth child, inside its new
mount namespace and after `make_rprivate()`, so nothing mounted here is
ever seen by the host and all of it vanishes with the namespace: a
container cannot leak a mount, whatever way it dies. Paths inside the
container are resolved under the rootfs with symlinks followed as if the
rootfs were `/` (an image cannot point a mount at the host's /etc).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from runtime.linux import symlinks
from runtime.linux import syscalls as sc
from runtime.spec import Mount, Rootfs

# Option name -> (flags to set, flags to clear).
_FLAG_OPTIONS: dict[str, tuple[int, int]] = {
    "ro": (sc.MS_RDONLY, 0), "rw": (0, sc.MS_RDONLY),
    "nosuid": (sc.MS_NOSUID, 0), "suid": (0, sc.MS_NOSUID),
    "nodev": (sc.MS_NODEV, 0), "dev": (0, sc.MS_NODEV),
    "noexec": (sc.MS_NOEXEC, 0), "exec": (0, sc.MS_NOEXEC),
    "sync": (sc.MS_SYNCHRONOUS, 0), "async": (0, sc.MS_SYNCHRONOUS),
    "dirsync": (sc.MS_DIRSYNC, 0), "mand": (sc.MS_MANDLOCK, 0), "nomand": (0, sc.MS_MANDLOCK),
    "noatime": (sc.MS_NOATIME, 0), "atime": (0, sc.MS_NOATIME),
    "nodiratime": (sc.MS_NODIRATIME, 0), "diratime": (0, sc.MS_NODIRATIME),
    "relatime": (sc.MS_RELATIME, 0), "norelatime": (0, sc.MS_RELATIME),
    "strictatime": (sc.MS_STRICTATIME, 0), "nostrictatime": (0, sc.MS_STRICTATIME),
    "nosymfollow": (sc.MS_NOSYMFOLLOW, 0), "bind": (sc.MS_BIND, 0), "rbind": (sc.MS_BIND | sc.MS_REC, 0),
}  # fmt: skip
_PROPAGATION: dict[str, int] = {
    "private": sc.MS_PRIVATE, "rprivate": sc.MS_PRIVATE | sc.MS_REC,
    "shared": sc.MS_SHARED, "rshared": sc.MS_SHARED | sc.MS_REC,
    "slave": sc.MS_SLAVE, "rslave": sc.MS_SLAVE | sc.MS_REC,
    "unbindable": sc.MS_UNBINDABLE, "runbindable": sc.MS_UNBINDABLE | sc.MS_REC,
}  # fmt: skip
# statvfs f_flag bits -> mount flags a bind remount must keep unless told otherwise.
_KEEP_ON_REMOUNT = (
    (os.ST_NOSUID, sc.MS_NOSUID), (os.ST_NODEV, sc.MS_NODEV), (os.ST_NOEXEC, sc.MS_NOEXEC),
    (os.ST_NOATIME, sc.MS_NOATIME), (os.ST_NODIRATIME, sc.MS_NODIRATIME), (os.ST_RELATIME, sc.MS_RELATIME),
    (os.ST_RDONLY, sc.MS_RDONLY),
)  # fmt: skip

DEVICES: tuple[tuple[str, int, int], ...] = (
    ("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0),
)
DEV_LINKS: tuple[tuple[str, str], ...] = (
    ("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"), ("ptmx", "pts/ptmx"), ("core", "/proc/kcore"),
)
_MAX_MOUNT_DATA = 4000  # one page, minus the kernel's slack
_MAX_LINKS = symlinks.MAX_LINKS


@dataclass(frozen=True)
class MountOptions:
    flags: int  # MS_* to set on mount (for binds: the bind itself, MS_BIND [| MS_REC])
    clear: int  # MS_* the options ask to clear (rw, suid, exec...)
    propagation: int
    data: str  # filesystem-specific options, comma separated
    copy_up: bool  # tmpcopyup: a tmpfs starts with what the image had there


def parse_options(options: Iterable[str]) -> MountOptions:
    flags = clear = propagation = 0
    data: list[str] = []
    copy_up = False
    for option in options:
        if option in _FLAG_OPTIONS:
            on, off = _FLAG_OPTIONS[option]
            flags, clear = (flags | on) & ~off, (clear | off) & ~on
        elif option in _PROPAGATION:
            propagation = _PROPAGATION[option]
        elif option == "tmpcopyup":
            copy_up = True
        elif option:
            data.append(option)
    return MountOptions(flags, clear, propagation, ",".join(data), copy_up)


# -- paths ---------------------------------------------------------------------------------


def resolve_in_root(root: str, path: str) -> str:
    """The host path of container path `path`, following symlinks as if `root` were `/`.

    Components that do not exist yet are taken literally (they cannot be links).
    """

    def link_at(parts: list[str], more: bool) -> str | None:
        candidate = os.path.join(root, *parts)
        try:
            mode = os.lstat(candidate).st_mode
        except (FileNotFoundError, NotADirectoryError):
            return None
        return os.readlink(candidate) if stat.S_ISLNK(mode) else None

    try:
        return os.path.join(root, *symlinks.follow(path.split("/"), link_at, _MAX_LINKS))
    except symlinks.TooManyLinks:
        raise OSError(errno.ELOOP, f"too many symlinks resolving {path!r} in {root}") from None


def ensure_target(path: str, kind: str) -> None:
    """Create the mount point: a directory, or an empty file (for binds of files)."""
    if kind == "file":
        if not os.path.lexists(path):
            os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644))
        return
    os.makedirs(path, mode=0o755, exist_ok=True)


# -- host side (the supervisor, before the birth) ------------------------------------------------


def prepare_host_dirs(rootfs: Rootfs, bundle: str) -> Rootfs:
    """Create upper/work/mountpoint; an image without layers gets one empty lower dir."""
    for path in (rootfs.upperdir, rootfs.workdir, rootfs.mountpoint):
        os.makedirs(path, mode=0o755, exist_ok=True)
    if rootfs.lowerdirs:
        return rootfs
    empty = os.path.join(bundle, "empty-lower")
    os.makedirs(empty, mode=0o755, exist_ok=True)
    return Rootfs((empty,), rootfs.upperdir, rootfs.workdir, rootfs.mountpoint, rootfs.readonly)


def unmount_tree(path: str) -> list[str]:
    """Lazily unmount `path` and every mount under it in this namespace; the points unmounted."""
    prefix = path.rstrip("/") + "/"
    points = [p for p in mount_points() if p == path.rstrip("/") or p.startswith(prefix)]
    done = []
    for point in sorted(points, key=len, reverse=True):
        try:
            sc.umount2(point, sc.MNT_DETACH)
            done.append(point)
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.ENOENT):
                raise
    return done


def mount_points(mountinfo: str = "/proc/self/mountinfo") -> list[str]:
    with open(mountinfo) as f:
        return [_unescape(line.split()[4]) for line in f if line.strip()]


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo.
    if "\\" not in field:
        return field
    return field.encode().decode("unicode_escape").encode("latin-1").decode()


# -- the birth child, before pivot_root ---------------------------------------------------------


def make_rprivate() -> None:
    """Stop all mount propagation to and from the host for this namespace (first thing done)."""
    sc.mount(None, "/", None, sc.MS_REC | sc.MS_PRIVATE)


def mount_rootfs(rootfs: Rootfs) -> None:
    """The overlay at rootfs.mountpoint (highest layer first); relative paths when the list is long."""
    dirs = [*rootfs.lowerdirs, rootfs.upperdir, rootfs.workdir]
    data = _overlay_data(rootfs.lowerdirs, rootfs.upperdir, rootfs.workdir)
    if len(data) > _MAX_MOUNT_DATA:
        base = os.path.commonpath(dirs)
        os.chdir(base)
        rel = [os.path.relpath(d, base) for d in dirs]
        data = _overlay_data(rel[:-2], rel[-2], rel[-1])
        if len(data) > _MAX_MOUNT_DATA:
            raise OSError(errno.E2BIG, f"overlay options too long ({len(data)} bytes, {len(rootfs.lowerdirs)} layers)")
    sc.mount("overlay", rootfs.mountpoint, "overlay", 0, data)


def _overlay_data(lower: Sequence[str], upper: str, work: str) -> str:
    return f"lowerdir={':'.join(lower)},upperdir={upper},workdir={work}"


def apply_mounts(root: str, mounts: Sequence[Mount]) -> None:
    for m in mounts:
        apply_mount(root, m)


def apply_mount(root: str, m: Mount) -> None:
    opts = parse_options(m.options)
    target = resolve_in_root(root, m.target)
    if m.type == "bind" or opts.flags & sc.MS_BIND:
        _bind(m.source, target, opts)
    else:
        ensure_target(target, "dir")
        if m.type == "cgroup":
            _mount_cgroup(target, opts.flags)
        else:
            _mount_fs(m, target, opts)
    propagation = _PROPAGATION.get(m.propagation, 0) or opts.propagation
    if propagation:
        sc.mount(None, target, None, propagation)


def _bind(source: str, target: str, opts: MountOptions) -> None:
    try:  # before the mount point is made: a missing source leaves no file where a later dir must go
        is_dir = stat.S_ISDIR(os.stat(source).st_mode)
    except OSError as exc:
        raise OSError(exc.errno, f"bind source path does not exist: {source}") from exc
    ensure_target(target, "dir" if is_dir else "file")
    sc.mount(source, target, None, sc.MS_BIND | (opts.flags & sc.MS_REC))
    extra = opts.flags & ~(sc.MS_BIND | sc.MS_REC)
    if extra or opts.clear:
        remount_bind(target, extra, opts.clear)


def remount_bind(target: str, flags: int, clear: int = 0) -> None:
    """Remount a bind with `flags`, keeping the flags it already has (nosuid, nodev...) unless cleared."""
    current = os.statvfs(target).f_flag
    kept = 0
    for st_bit, ms_bit in _KEEP_ON_REMOUNT:
        if current & st_bit:
            kept |= ms_bit
    sc.mount(None, target, None, sc.MS_BIND | sc.MS_REMOUNT | ((kept | flags) & ~clear))


def _mount_fs(m: Mount, target: str, opts: MountOptions) -> None:
    flags = opts.flags & ~(sc.MS_BIND | sc.MS_REC)
    if opts.copy_up and m.type == "tmpfs":
        _tmpfs_copy_up(m, target, flags, opts.data)
        return
    try:
        sc.mount(m.source or m.type, target, m.type, flags, opts.data or None)
    except OSError as exc:
        # Without its own network namespace a container may not mount sysfs:
        # it gets the host's, read-only (as runc does).
        if m.type != "sysfs" or exc.errno != errno.EPERM:
            raise
        sc.mount("/sys", target, None, sc.MS_BIND | sc.MS_REC)
        remount_bind(target, flags | sc.MS_RDONLY)


def _tmpfs_copy_up(m: Mount, target: str, flags: int, data: str) -> None:
    """A tmpfs that starts with the image's content of `target` (Docker's default for --tmpfs)."""
    under = os.open(target, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        sc.mount(m.source or "tmpfs", target, "tmpfs", flags & ~sc.MS_RDONLY, data or None)
        copy_tree(f"/proc/self/fd/{under}", target)
        if flags & sc.MS_RDONLY:
            sc.mount(None, target, None, sc.MS_REMOUNT | flags, data or None)
    finally:
        os.close(under)


def copy_tree(src: str, dst: str) -> None:
    """Copy a directory's content with modes, owners and symlinks (no xattrs)."""
    for entry in os.scandir(src):
        s, d = entry.path, os.path.join(dst, entry.name)
        st = entry.stat(follow_symlinks=False)
        if entry.is_symlink():
            os.symlink(os.readlink(s), d)
        elif entry.is_dir(follow_symlinks=False):
            os.mkdir(d, stat.S_IMODE(st.st_mode))
            copy_tree(s, d)
        elif entry.is_file(follow_symlinks=False):
            with open(s, "rb") as fi, open(d, "wb") as fo:
                while chunk := fi.read(1 << 20):
                    fo.write(chunk)
        else:
            continue
        os.chown(d, st.st_uid, st.st_gid, follow_symlinks=False)
        if not entry.is_symlink():
            os.chmod(d, stat.S_IMODE(st.st_mode))


def _mount_cgroup(target: str, flags: int) -> None:
    """/sys/fs/cgroup as the host lays it out: cgroup2 alone, or (v1/hybrid) a tmpfs with one mount per hierarchy.

    Mounted from inside the cgroup namespace, each shows the container's own
    cgroup as its root.
    """
    flags = flags & ~(sc.MS_BIND | sc.MS_REC) | sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC
    hierarchies = host_cgroup_mounts()
    if not hierarchies:  # pure v2: cgroup2 sits at /sys/fs/cgroup itself
        sc.mount("cgroup2", target, "cgroup2", flags)
        return
    sc.mount("tmpfs", target, "tmpfs", sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC, "mode=755")
    for name, fstype, options in hierarchies:
        point = os.path.join(target, name)
        os.makedirs(point, exist_ok=True)
        sc.mount("cgroup", point, fstype, flags, options or None)
    if flags & sc.MS_RDONLY:
        sc.mount(None, target, None, sc.MS_REMOUNT | sc.MS_RDONLY | sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC,
                 "mode=755")


def host_cgroup_mounts(mountinfo: str = "/proc/self/mountinfo") -> list[tuple[str, str, str]]:
    """(dir name, fstype, controller options) of each cgroup hierarchy under /sys/fs/cgroup."""
    found = []
    with open(mountinfo) as f:
        for line in f:
            left, _, right = line.partition(" - ")
            point = _unescape(left.split()[4])
            fstype, _source, super_opts = [*right.split(), "", "", ""][:3]
            if fstype not in ("cgroup", "cgroup2") or os.path.dirname(point) != "/sys/fs/cgroup":
                continue
            controllers = [o for o in super_opts.split(",") if o not in ("rw", "ro") and fstype == "cgroup"]
            found.append((os.path.basename(point), fstype, ",".join(controllers)))
    return found


def create_devices(root: str, privileged: bool = False) -> None:
    """The default device nodes in the container's /dev (mknod, or a bind of the host's node)."""
    dev = resolve_in_root(root, "/dev")
    for name, major, minor in DEVICES:
        make_device(os.path.join(dev, name), major, minor, f"/dev/{name}")
    if privileged:
        for host_path in _host_devices():
            st = os.stat(host_path)
            make_device(os.path.join(dev, os.path.relpath(host_path, "/dev")), os.major(st.st_rdev),
                        os.minor(st.st_rdev), host_path, stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode))
    for name, link in DEV_LINKS:
        path = os.path.join(dev, name)
        if not os.path.lexists(path):
            os.symlink(link, path)


def make_device(path: str, major: int, minor: int, host_path: str, kind: int = stat.S_IFCHR,
                mode: int = 0o666) -> None:
    if os.path.lexists(path):
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        os.mknod(path, kind | mode, os.makedev(major, minor))
        os.chmod(path, mode)
    except PermissionError:
        ensure_target(path, "file")
        sc.mount(host_path, path, None, sc.MS_BIND)


def _host_devices() -> list[str]:
    skip = {"/dev/console", "/dev/ptmx", "/dev/tty"}
    found = []
    for dirpath, dirnames, filenames in os.walk("/dev"):
        dirnames[:] = [d for d in dirnames if d not in ("pts", "shm", "mqueue", "hugepages")]
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                continue
            if (stat.S_ISCHR(mode) or stat.S_ISBLK(mode)) and path not in skip:
                found.append(path)
    return found


def pivot(root: str) -> None:
    """Make `root` the filesystem root and drop the old one (pivot_root(".", ".") then detach)."""
    old = os.open("/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    new = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fchdir(new)
        sc.pivot_root(".", ".")
        # The old root now sits on top of the new one; from inside it, "." is it.
        os.fchdir(old)
        sc.umount2(".", sc.MNT_DETACH)
        os.chdir("/")
    finally:
        os.close(old)
        os.close(new)


# -- the birth child, after pivot_root --------------------------------------------------------------


def setup_console(slave_index: int) -> None:
    """Bind the container's pty slave over /dev/console, as runc does."""
    console = "/dev/console"
    ensure_target(console, "file")
    os.chmod(console, 0o600)
    sc.mount(f"/dev/pts/{slave_index}", console, None, sc.MS_BIND)


def mask_paths(paths: Iterable[str]) -> None:
    """Hide each path: /dev/null over files, an empty read-only tmpfs over directories."""
    for path in paths:
        try:
            is_dir = stat.S_ISDIR(os.stat(path).st_mode)
        except (FileNotFoundError, NotADirectoryError):
            continue
        if is_dir:
            sc.mount("tmpfs", path, "tmpfs", sc.MS_RDONLY)
        else:
            sc.mount("/dev/null", path, None, sc.MS_BIND)


def readonly_paths(paths: Iterable[str]) -> None:
    for path in paths:
        try:
            sc.mount(path, path, None, sc.MS_BIND | sc.MS_REC)
        except FileNotFoundError:
            continue
        remount_bind(path, sc.MS_RDONLY)


def remount_root_readonly() -> None:
    remount_bind("/", sc.MS_RDONLY)
