"""ground/chatter.py: a report that keeps going in and out is latched; what matters is still told at once."""
from safehaven.ground.chatter import END, KIND, SETTLE_S, START, SUMMARY, SUMMARY_S, ChatterLatch

KEY = (2, "pressure_pa")


def test_a_single_gap_is_told_both_ways():
    latch = ChatterLatch()
    assert latch.change(100.0, KEY, "stale", False) == START
    assert latch.change(103.0, KEY, "ok", True) is None
    assert latch.due(103.0 + SETTLE_S - 1) == []
    assert latch.due(103.0 + SETTLE_S) == [(KEY, END, "healthy again (was stale)")]


def test_chattering_is_told_once_then_summarised_and_a_new_kind_at_once():
    latch = ChatterLatch()
    told = []
    for i in range(40):   # out for 3 s every 30 s for 20 min
        t = 10.0 + 30.0 * i
        told += [w for w in (latch.change(t, KEY, "stale", False), latch.change(t + 3, KEY, "ok", True)) if w]
        told += [w for _k, w, _text in latch.due(t + 3)]
    assert told == [START, SUMMARY]
    # a sensor fault in the middle of it is another matter: at once
    assert latch.change(1300.0, KEY, "fault", False) in (START, KIND)
    assert latch.change(1303.0, KEY, "ok", True) is None
    # its end once it stayed back twice as long as any spell between departures (117 s, before the fault)
    assert latch.due(1303.0 + SETTLE_S) == [] and latch.due(1303.0 + 233.0) == []
    assert latch.due(1303.0 + 234.0) == [(KEY, END, "healthy again (was fault)")]


def test_a_key_that_stays_out_is_told_once():
    latch = ChatterLatch()
    assert latch.change(5.0, KEY, "stale", False) == START
    assert all(latch.due(t) == [] for t in (10.0, SUMMARY_S, 3 * SUMMARY_S))
