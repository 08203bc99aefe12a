"""Plain words for a newcomer: what the turn-taking terms and the eight requirements mean.

The report shows them in a "Terms" block and under each requirement, the explorer in the timeline's legend
(one line per mark) and beside the requirement tables. They are one-line summaries of the specifications
in docs/turn-taking.md and docs/qualify.md (which hold the exact rules and the thresholds' config keys);
a changed definition there changes its line here.
"""

from __future__ import annotations

from typing import Any

from ..config import Config


def terms(config: Config) -> tuple[tuple[str, str], ...]:
    """(term, what it means), in the order a reader meets them on a timeline; thresholds from ``config``."""
    turns = config.turns
    return (
        ("IPU", f"inter-pausal unit: a stretch of one speaker's speech with no silence of "
                f"{turns.pause_threshold_s:g} s or more inside it (turns.pause_threshold_s)"),
        ("turn", "a speaker's hold of the floor: from the IPU with which they take it until the other speaker's "
                 "next turn starts; backchannels do not break it"),
        ("backchannel", f"a short IPU (at most {turns.backchannel_max_s:g} s) of the listener that does not take "
                        "the floor, e.g. \"mhm\", \"yeah\": the other speaker goes on"),
        ("pause", "a silence of both speakers inside one speaker's turn"),
        ("gap", "a silence of both speakers between one speaker's turn and the other's"),
        ("overlap", "both speak at once: \"floor changes\" when the incoming speaker's turn starts inside the "
                    "outgoing speaker's speech, \"floor kept\" for every other overlap (a backchannel or failed "
                    "interruption)"),
        ("floor transfer", "the change from one speaker's turn to the other's"),
        ("FTO", "floor-transfer offset: the next turn's start minus the previous turn's end, in seconds; positive "
                "is a gap, negative an overlap. People typically answer 0.1-0.2 s after the other stops"),
        ("interruption", "a floor transfer in overlap: the incoming speaker starts while the other is still "
                         "speaking and keeps the floor"),
        ("isolation", "whether each track holds one speaker (docs/checks.md): isolated; leaky (the other speaker "
                      "bleeds in at -35 to -15 dB); not-isolated (louder bleed, or a track mixes both); mono (one "
                      "track, or a copy); unknown (nothing to measure)"),
        ("bleed", "how loud the other speaker is on a track, in dB relative to that speaker's own track"),
        ("overlap share of speech", "the time both speak divided by the time at least one speaks"),
        ("speech share", "the share of the recording in which a track speaks"),
    )


def requirement_texts(config: Config) -> dict[int, str]:
    """What each of the eight requirements asks, in plain words, with ``config.qualify``'s thresholds (the
    verdict's numbers are beside it)."""
    q = config.qualify
    return {
        1: "Each speaker was recorded on their own track at the source (the checks' isolation verdict is "
           f"{' or '.join(q.accept_isolation)}: no duplicated channels, bleed below "
           f"{config.checks.bleed_not_isolated_db:g} dB, paired files on a known clock).",
        2: f"Two speakers in an unscripted conversation: both hold the floor, the floor changes at least "
           f"{q.min_transfers_per_min:g} times a minute, some transfers overlap and their timing varies; nothing "
           f"tagged {', '.join(q.scripted_flags)}.",
        # the bands are config choices around published figures (telephone, face to face, meetings), not a
        # measurement of telephone calls: say what they are
        3: "Overlap as in real conversation: the corpus's overlap share of speech "
           f"({q.band_overlap_speech_share[0]:.0%}-{q.band_overlap_speech_share[1]:.0%}), share of overlapping "
           f"transfers ({q.band_overlap_transfer_share[0]:.0%}-{q.band_overlap_transfer_share[1]:.0%}) and FTO "
           f"median ({q.band_fto_median_s[0]:g} to {q.band_fto_median_s[1]:g} s) fall inside the config's bands, "
           "set around published figures of real conversation (docs/qualify.md); each recording's overlap share "
           f"inside {q.recording_overlap_speech_band[0]:.1%}-{q.recording_overlap_speech_band[1]:.0%}.",
        4: f"Every recording carries a topic and a register tag; the corpus covers at least {q.min_topics} topics "
           f"and {q.min_registers} registers.",
        5: f"Many voices: at least {q.min_unique_speakers} speakers, none with more than "
           f"{q.max_speaker_hour_share:.0%} of the speaker-hours (judged on the corpus).",
        6: "Every speaker of the recording has consent for AI training in the consent ledger.",
        7: "The license and every speaker's consent allow the purpose judged (e.g. commercial training).",
        8: "The recording's data type is declared and confirmed by measurement, so it carries pre/mid/post-training "
           "labels.",
    }


#: The reference statistics' keys (``qualify.reference``) as a reader names them.
STATISTICS: dict[str, str] = {
    "overlap_transfer_share": "floor transfers in overlap (FTO < 0)",
    "overlap_speech_share": "overlap share of speech",
    "fto_s": "FTO median",
    "gap_s": "gap duration, median",
    "pause_s": "pause duration, median",
    "ipu_s": "IPU duration, median",
}


def context(config: Config) -> dict[str, Any]:
    """The names the templates read: ``terms``, ``term`` (by name), ``requirement_text``, ``statistic_name``."""
    listed = terms(config)
    return {"terms": listed, "term": dict(listed), "requirement_text": requirement_texts(config),
            "statistic_name": STATISTICS}
