"""What `safehaven ack` and `safehaven depress` share: an operator's request queued in the running monitor's
database, and its answer awaited (Store.answer), with the same exit codes: 0 accepted, 1 refused (the reason
is printed), 3 no monitor answered, 4 database problem."""
from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from safehaven.ground.store import Store, StoreError


def ask_monitor(command: str, db: str, table: str, queue: Callable[[Store], int], timeout_s: float,
                what: str) -> int:
    """Queue a request (queue(store) -> its row id in table) and print the monitor's answer; `what` names the
    request in the message when no monitor picks it up ("the acknowledgement")."""
    if not Path(db).exists():
        print(f"safehaven {command}: {db}: no database; is `safehaven monitor --db {db}` running?", file=sys.stderr)
        return 4
    try:
        store = Store(db)
        try:
            row = store.answer(table, queue(store), timeout_s)
        finally:
            store.close()
    except StoreError as exc:
        print(f"safehaven {command}: {exc}", file=sys.stderr)
        return 4
    if row is None:
        print(f"safehaven {command}: no monitor picked {what} up from {db}; is it running?", file=sys.stderr)
        return 3
    print(f"{row[0]}: {row[1]}")
    return 0 if row[0] == "accepted" else 1
