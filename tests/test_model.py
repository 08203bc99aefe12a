import json

import numpy as np

from twotrack.config import Config
from twotrack.model import (
    FRAMES, CheckResult, Event, EventKind, Isolation, Layout, Recording, RecordingResult, Segment,
    TrackActivity, TrackSource, track_index,
)
from twotrack.timeline import bridge_gaps, drop_short, mask_to_segments, merge_segments, runs, segments_to_mask


def test_segment_algebra():
    assert Segment(1, 3) & Segment(2, 5) == Segment(2, 3)
    assert Segment(1, 2) | Segment(3, 4) == Segment(1, 4)
    assert Segment(1, 2) ^ Segment(3, 4) == Segment(2, 3)
    assert not (Segment(1, 2) & Segment(3, 4))
    assert 2.5 in Segment(2, 3) and 3.0 not in Segment(2, 3)
    assert Segment(2.2, 2.8) in Segment(2, 3)


def test_frame_grid_convention():
    assert FRAMES.to_frame(0.125) == 12
    assert FRAMES.to_frame(0.12) == 12  # float noise does not push 0.12 into frame 11
    assert FRAMES.centre(0) == 0.005
    assert Segment(0.104, 0.296).to_frames() == (10, 30)


def test_track_names():
    assert track_index("A") == 0 and track_index("2") == 1 and track_index("ch1") == 0


def test_result_round_trips_through_json():
    rec = Recording("r1", (TrackSource("a.flac", 0), TrackSource("a.flac", 1)), Layout.MULTICHANNEL,
                    speakers=("s1", None), license="CC-BY-4.0", tags={"register": "casual"})
    result = RecordingResult(
        recording=rec, duration_s=12.5, sample_rate=8000,
        checks=CheckResult(Isolation.LEAKY, bleed_db=-28.1, bleed_lag_ms=3.0, reasons=("bleed -28 dB",),
                           metrics={"x": float("nan")}),
        activity=(TrackActivity(0, (Segment(0.1, 1.2),), "silero"),),
        events=(Event(EventKind.FLOOR_TRANSFER, 1.2, 1.5, track=1, from_track=0, value=0.3),),
    )
    text = json.dumps(result.to_dict())
    back = RecordingResult.from_dict(json.loads(text))
    assert back.recording == rec
    assert back.events == result.events
    assert back.checks.isolation is Isolation.LEAKY
    assert back.checks.metrics["x"] is None  # NaN is written as "not measured"


def test_mask_runs_round_trip():
    mask = np.array([0, 1, 1, 0, 0, 1, 0, 1, 1, 1], bool)
    starts, stops = runs(mask)
    assert starts.tolist() == [1, 5, 7] and stops.tolist() == [3, 6, 10]
    assert bridge_gaps(mask, 1).tolist() == [0, 1, 1, 0, 0, 1, 1, 1, 1, 1]
    assert drop_short(mask, 2).tolist() == [0, 1, 1, 0, 0, 0, 0, 1, 1, 1]
    segs = mask_to_segments(mask)
    assert segs[0] == Segment(0.01, 0.03)
    assert segments_to_mask(segs, len(mask)).tolist() == mask.tolist()
    assert merge_segments([Segment(0, 1), Segment(1.1, 2), Segment(3, 4)], 0.2) == [Segment(0, 2), Segment(3, 4)]


def test_stage_hash_changes_only_with_its_section():
    a = Config()
    b = a.with_overrides({"activity.onset": 0.6})
    assert a.stage_hash("activity") != b.stage_hash("activity")
    assert a.stage_hash("checks") == b.stage_hash("checks")
