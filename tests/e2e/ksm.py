"""The host's KSM settings: read, speed up for a test, and put back as found."""

import os
import stat
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
        # Mode bits, not access(): root may open even the read-only counters.
        if not os.stat(os.path.join(KSM, name)).st_mode & stat.S_IWUSR:
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


# Full scans in which ksmd must merge identical pages that stay unchanged:
# it records a page's checksum on one scan and merges it on the next.
SCANS_TO_MERGE = 5


def wait_for_sharing():
    """True once ksmd shares pages; False when SCANS_TO_MERGE full scans
    merged nothing. Judged by ksmd's own progress, not by the clock, so a
    busy host only makes it slower."""
    start = int(read("full_scans"))
    while int(read("pages_shared")) == 0:
        if read("run") != "1" or int(read("full_scans")) - start >= SCANS_TO_MERGE:
            return False
        time.sleep(0.05)
    return True


def unmerge(timeout=60):
    """run=2 unmerges every page; wait until the kernel says none is shared."""
    write("run", 2)
    return wait_for(lambda: read("pages_shared") == "0", timeout)


def restore(saved):
    """Puts back every setting that changed, unmerging first where the kernel needs it."""
    changed = [name for name, value in saved.items() if read_chosen(name) != value]
    if any(name in NEEDS_UNMERGED for name in changed) and not unmerge():
        raise RuntimeError("KSM pages still shared after run=2; cannot restore settings")
    # Those that need no shared page first; run last, as unmerge() left it at 2.
    order = sorted(saved, key=lambda name: (name == "run", name not in NEEDS_UNMERGED, name))
    errors = []
    for name in order:
        if read_chosen(name) == saved[name]:
            continue
        try:
            write(name, saved[name])
        except OSError as err:
            errors.append(f"{name}={saved[name]}: {err.strerror}")
    if errors:
        raise RuntimeError(f"KSM settings not restored: {', '.join(errors)}")


def read_chosen(name):
    value = read(name)
    return value.split("[", 1)[1].split("]", 1)[0] if "[" in value else value
