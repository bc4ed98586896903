"""The host's KSM settings: read, speed up for a test, and put back as found."""

import os
import time

KSM = "/sys/kernel/mm/ksm"
# Settings the kernel refuses to change (EBUSY) while any page is shared.
NEEDS_UNMERGED = ("merge_across_nodes", "max_page_sharing")


def read(name):
    with open(os.path.join(KSM, name), encoding="ascii") as f:
        return f.read().strip()


def write(name, value):
    with open(os.path.join(KSM, name), "w", encoding="ascii") as f:
        f.write(str(value))


def available():
    return os.access(os.path.join(KSM, "run"), os.W_OK)


def settings():
    """Every writable setting; a selection like '[none] scan-time' as its chosen word."""
    saved = {}
    for name in sorted(os.listdir(KSM)):
        path = os.path.join(KSM, name)
        if not os.access(path, os.W_OK):
            continue
        saved[name] = read_chosen(name)
    return saved


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def unmerge(timeout=60):
    """run=2 unmerges every page; wait until the kernel says none is shared."""
    write("run", 2)
    return wait_for(lambda: read("pages_shared") == "0", timeout)


def restore(saved):
    """Puts back every setting that changed, unmerging first where the kernel needs it."""
    changed = {k: v for k, v in saved.items() if k != "run" and read_chosen(k) != v}
    if any(k in NEEDS_UNMERGED for k in changed) and not unmerge():
        raise RuntimeError("KSM pages still shared after run=2; cannot restore settings")
    for name in NEEDS_UNMERGED + tuple(sorted(changed)):
        if name in changed:
            write(name, changed.pop(name))
    if read("run") != saved["run"]:
        write("run", saved["run"])
    left = {k: (v, read_chosen(k)) for k, v in saved.items() if read_chosen(k) != v}
    if left:
        raise RuntimeError(f"KSM settings not restored: {left}")


def read_chosen(name):
    value = read(name)
    return value.split("[", 1)[1].split("]", 1)[0] if "[" in value else value
