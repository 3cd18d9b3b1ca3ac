"""Child of test_backup.py: backs up a database and is killed or interrupted meanwhile.

    python backup_child.py MODE SRC DEST

MODE "kill": commits three transactions (node "K" {"seq": n}, numbered on from the K
nodes already there), printing "ack n" after each, then backs up SRC to DEST; at the
second progress call it prints "started DONE TOTAL" and sleeps there until it is killed.

MODE "sigint": a thread sends this process SIGINT as soon as the backup's hidden
directory appears beside DEST, while the main thread is in db.backup(DEST) with no
progress callback. It prints "interrupted" if backup() raised KeyboardInterrupt,
"finished" if it returned, then "dest yes|no" and "hidden N" (hidden directories left).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import List

import quiver


def hidden(dest: Path) -> List[str]:
    prefix = f".{dest.name}.qvbackup-"
    return [p.name for p in dest.parent.iterdir() if p.name.startswith(prefix)]


def kill_mode(db: quiver.Database, dest: Path) -> None:
    with db.read() as tx:
        n = len(list(tx.nodes("K")))
    for _ in range(3):
        n += 1
        with db.write() as tx:
            tx.create_node("K", {"seq": n})
        print(f"ack {n}", flush=True)
    calls = 0

    def progress(done: int, total: int) -> bool:
        nonlocal calls
        calls += 1
        if calls == 2:
            print(f"started {done} {total}", flush=True)
            time.sleep(120)  # killed here; cancels if the parent never kills
            return True
        return False

    db.backup(dest, progress=progress)
    print("finished", flush=True)


def sigint_mode(db: quiver.Database, dest: Path) -> None:
    def send_when_started() -> None:
        deadline = time.monotonic() + 60
        while not hidden(dest) and time.monotonic() < deadline:
            time.sleep(0.0005)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=send_when_started, daemon=True).start()
    try:
        db.backup(dest)
        print("finished", flush=True)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    print(f"dest {'yes' if dest.exists() else 'no'}", flush=True)
    print(f"hidden {len(hidden(dest))}", flush=True)


def main() -> None:
    mode, src, dest = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    with quiver.open(src, create=False) as db:
        (kill_mode if mode == "kill" else sigint_mode)(db, dest)


if __name__ == "__main__":
    main()
