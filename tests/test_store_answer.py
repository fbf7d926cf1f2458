"""Store.answer: what `safehaven ack` and `safehaven depress` share (ground/operator.py): the monitor's answer
to an operator's queued row, or None and the row abandoned when no monitor took it in time."""
import threading

import pytest

from safehaven.ground.store import Store


@pytest.mark.parametrize("table", ["acks", "depress"])
def test_no_monitor_abandons_the_row(tmp_path, table):
    store = Store(tmp_path / "db.sqlite")
    row = store.queue_ack("cdr") if table == "acks" else store.queue_depress("cdr", "airlock", 60.0, None)
    assert store.answer(table, row, 0.1) is None
    got = store.ack_row(row) if table == "acks" else store.depress_row(row)
    assert got[0] == "abandoned", got
    store.close()


@pytest.mark.parametrize("table", ["acks", "depress"])
def test_the_monitors_answer_is_returned(tmp_path, table):
    """The monitor's side, as the station finishes a row, from another connection while the CLI waits."""
    path = tmp_path / "db.sqlite"
    cli = Store(path)
    row = cli.queue_ack("cdr") if table == "acks" else cli.queue_depress("cdr", "airlock", 60.0, None)

    def monitor():
        mon = Store(path)
        (mon.finish_ack if table == "acks" else mon.finish_depress)(row, "accepted", "ok")
        mon.close()

    threading.Timer(0.2, monitor).start()
    assert cli.answer(table, row, 5.0) == ("accepted", "ok")
    cli.close()
