"""The explorer's timeline window holds every event that touches [start, end), instants included."""

import numpy as np

from twotrack.model import Event, EventKind as K, Layout, Recording, TrackSource
from twotrack.show.app import RecordingView
from twotrack.turns import events_to_table


def view_of(events):
    tb = events_to_table(events)
    rec = Recording("r", (TrackSource("x.wav", 0), TrackSource("x.wav", 1)), Layout.MULTICHANNEL)
    return RecordingView(recording=rec, duration_s=20.0, sample_rate=16000, source_key="k", activity=[], **tb)


def test_a_zero_gap_transfer_at_a_window_edge_is_in_the_window_that_starts_there():
    # A's turn ends at 10.0 s exactly where B's starts: a floor transfer of FTO 0, an instant [10.0, 10.0].
    events = [Event(K.TURN, 2.0, 10.0, 0), Event(K.FLOOR_TRANSFER, 10.0, 10.0, 1, 0, 0.0), Event(K.TURN, 10.0, 15.0, 1)]
    view = view_of(events)
    first = [(view.kind[i], view.start[i]) for i in view.events_in(0.0, 10.0)]
    second = [(view.kind[i], view.start[i]) for i in view.events_in(10.0, 20.0)]
    assert first == [("turn", 2.0)]
    assert second == [("floor-transfer", 10.0), ("turn", 10.0)]  # the instant was in neither window before
