"""Voice activity per track on the 10 ms grid: silero (ONNX) or energy, refined edges, crosstalk rule."""

from .detect import DETECTORS, TrackFrames, decide, detect, detect_stream, detect_tracks, to_activity

__all__ = ["DETECTORS", "TrackFrames", "decide", "detect", "detect_stream", "detect_tracks", "to_activity"]
