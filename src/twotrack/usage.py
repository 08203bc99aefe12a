"""Which tracks of a recording carry a person, and which are unused channels.

A multichannel file often has more channels than people: a 4-input field recorder or an audio interface
with the two talkers on two inputs and the others silent or unplugged. A track is **used** when the
manifest names its speaker (``speaker_a`` ... ``speaker_h``) or when the activity stage found speech on
it. A track with neither is **unused**: it records nobody, so it needs no consent, and the exports leave
it out. A track with speech and no named speaker records someone unknown and still blocks every purpose.

The signal is the activity stage's speech time per track (silero VAD, after its crosstalk rule), not the
checks' "dead" flag (< 1 s of energy above the floor): silero answers "is this speech", so a hiss, a hum
or a room's tone on a spare input is not; the crosstalk rule leaves out the named talkers' own voices
leaking into it; and it is the speech the events, statistics and exports count. Any speech at all makes
a track used (a stranger's half-second "yes" is a recording of that stranger). Without an activity
result for a track (the stage has not run, or failed) nothing shows it silent: it counts as used.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .model import Recording, Record, TrackActivity, is_unknown_speaker, track_name


@dataclass(frozen=True)
class TrackUse(Record):
    """One track: the speaker the manifest names for it (None: none) and the activity stage's speech
    seconds on it (None: not known)."""

    track: int
    speaker: str | None
    speech_s: float | None

    @property
    def name(self) -> str:
        return track_name(self.track)

    @property
    def used(self) -> bool:
        return self.speaker is not None or self.speech_s is None or self.speech_s > 0

    @property
    def unknown_speaker(self) -> bool:
        """Used by someone nobody named: speech (or no activity result) on a track without a speaker."""
        return self.speaker is None and self.used

    def why(self) -> str:
        """Why the track is used or not, in words (what the rights, exports and ``show`` say)."""
        if self.speaker is not None:
            return f"speaker {self.speaker}"
        if self.speech_s is None:
            return "no speaker named, and no activity result shows it silent"
        if self.speech_s > 0:
            return f"no speaker named, but {self.speech_s:.1f} s of speech on it (activity stage)"
        return "unused channel: no speaker named and no speech on it (activity stage)"


def speech_per_track(activity: Iterable[TrackActivity]) -> dict[int, float]:
    """track -> speech seconds, from a recording's stored activity."""
    return {int(a.track): float(a.speech_s) for a in activity}


def track_uses(recording: Recording, speech: Mapping[int, float] | Sequence[float] | None) -> tuple[TrackUse, ...]:
    """Every track of ``recording`` with its named speaker and speech time. ``speech``: track -> speech
    seconds from the activity stage (``speech_per_track``, ``store.queries.speech_by_track``), or None when
    the stage has no result. A mono recording's one track holds every speaker: it is always used."""
    if speech is not None and not isinstance(speech, Mapping):
        speech = dict(enumerate(speech))
    out = []
    for i in range(recording.n_tracks):
        spk = recording.speakers[i] if i < len(recording.speakers) else None
        named = None if is_unknown_speaker(spk) else str(spk).strip()
        seconds = None if speech is None or recording.is_mono else speech.get(i)
        out.append(TrackUse(i, named, None if seconds is None else float(seconds)))
    return tuple(out)


def speaking_pair(speech: Mapping[int, float] | Sequence[float], n_tracks: int) -> tuple[int, int] | None:
    """The dyad of a recording with more than two tracks: its two tracks with speech, when exactly two carry
    any (the rest are unused or unnamed-silent), else None. The events stage extracts the turn-taking events
    of that pair; the statistics and qualification read the recording as that pair."""
    if n_tracks <= 2:
        return None
    if not isinstance(speech, Mapping):
        speech = dict(enumerate(speech))
    talking = sorted(t for t, s in speech.items() if 0 <= t < n_tracks and s is not None and s > 0)
    return (talking[0], talking[1]) if len(talking) == 2 else None


def used_tracks(uses: Sequence[TrackUse]) -> list[int]:
    return [u.track for u in uses if u.used]


def unused_tracks(uses: Sequence[TrackUse]) -> list[int]:
    return [u.track for u in uses if not u.used]


def unused_note(uses: Sequence[TrackUse]) -> str | None:
    """One line naming the unused channels (None when every track is used)."""
    unused = unused_tracks(uses)
    if not unused:
        return None
    names = ", ".join(track_name(t) for t in unused)
    return (f"track {names}: unused channel{'s' if len(unused) > 1 else ''} (no speaker named and no speech on "
            f"{'them' if len(unused) > 1 else 'it'}): no consent needed, left out of exports")
