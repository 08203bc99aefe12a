"""Every corpus recipe by its command-line name (``twotrack scan --recipe NAME``, ``twotrack recipes``)."""

from __future__ import annotations

from .base import Prepared, Reads, Recipe
from .ami import prepare_ami
from .callhome import prepare_callhome
from .candor import prepare_candor
from .emilia import prepare_emilia
from .fisher import prepare_fisher
from .switchboard import prepare_switchboard

#: Options every recipe takes.
COMMON_OPTIONS = (("license", "SPDX expression (or a registered LicenseRef-) for every recording; the "
                              "publisher's terms depend on your agreement, so none is assumed"),)

RECIPES: dict[str, Recipe] = {}


def register(recipe: Recipe) -> Recipe:
    RECIPES[recipe.name] = recipe
    return recipe


register(Recipe(
    name="fisher",
    title="Fisher English Parts 1 and 2 (audio LDC2004S13, LDC2005S13; transcripts LDC2004T19, LDC2005T19)",
    data_type="two-track",
    reads=(
        Reads("fe_03_NNNNN.sph (.wav)", "the call: 2 channels, 8 kHz; side A = track A, side B = track B"),
        Reads("fe_03_NNNNN.txt", "gold: '<start> <end> <A|B>: text' utterances (IPU-level gold)"),
        Reads("*_calldata.tbl", "topic (TOPICID -> tag topic), per side PIN and sex.dialect (speaker "
                                "fisher-<PIN>-<m|f>: PINs were shared; sex, dialect), DATE_TIME, SIG_GRADE, "
                                "CNV_GRADE (metadata)"),
        Reads("fe_03_pindata.tbl", "per PIN, the enrolment's age, years of education, native language, where "
                                   "raised: speaker metadata of a side audited as the PIN's enrolled sex"),
    ),
    prepare=prepare_fisher,
    options=COMMON_OPTIONS,
))

register(Recipe(
    name="switchboard",
    title="Switchboard-1 Release 2 (LDC97S62) with the Mississippi State (ISIP ms98) word alignments",
    data_type="two-track",
    reads=(
        Reads("swNNNNN.sph", "the conversation: 2 channels, 8 kHz; side A = track A, side B = track B"),
        Reads("swNNNNA-ms98-a-word.text / ...B...", "gold: hand-corrected word start/end times of side A / B "
                                                    "([silence], [noise], <b_aside>/<e_aside> are not words)"),
        Reads("call_con_tab.csv (or conv.tab, conv_tab.csv)", "callers of side A and B (speaker swb-<caller>), "
                                                              "topic number (tag topic), talk day (conv.tab only)"),
        Reads("caller.tab (caller_tab.csv)", "per caller: sex, birth year, dialect area, education"),
    ),
    prepare=prepare_switchboard,
    options=COMMON_OPTIONS,
))

register(Recipe(
    name="callhome",
    title="CALLHOME American English Speech (audio LDC97S42, transcripts LDC97T14)",
    data_type="two-track",
    reads=(
        Reads("en_NNNN.sph (data/train|devtest|evltest)", "the call: 2 channels, 8 kHz; side A = track A, side B = "
                                                          "track B; the folder gives the split (metadata)"),
        Reads("en_NNNN.txt (transcrpt/...)", "gold: '<start> <end> <A|B>[n]: text' utterances (IPU-level gold) of "
                                             "the transcribed 10 (5) minutes, kept as metadata transcribed_span_s"),
        Reads("callinfo.tbl", "the LDC's audit: sex, age, accent of each side's talker (speakers are the call's "
                              "sides, callhome-NNNN-A/-B)"),
    ),
    prepare=prepare_callhome,
    options=COMMON_OPTIONS,
))

register(Recipe(
    name="candor",
    title="CANDOR corpus (BetterUp; Reece et al. 2023): video calls between two strangers, a folder per conversation",
    data_type="two-track",
    reads=(
        Reads("<convo_id>/processed/<convo_id>.mp3", "the call, stereo: channel L = track A, R = track B (one file, "
                                                     "one clock); a one-channel mix is scanned mono (post unfit)"),
        Reads("<convo_id>/processed/<user_id>.flac|.wav", "a participant's own audio (extracted from the release's "
                                                          "<user_id>.mp4): used when the mix is not stereo, or with "
                                                          "audio=participants; paired, clock declared shared"),
        Reads("processed/channel_map.json / metadata.json", "who is on L and on R: speaker candor-<user_id> per track"),
        Reads("transcription/transcribe_output.json", "gold (preferred): AWS Transcribe words with times, per channel "
                                                      "(machine-made, not human)"),
        Reads("transcription/transcript_audiophile.csv", "gold when no words file: each turn on its speaker's track "
                                                         "(IPU-level); cliffhanger/backbiter with transcript=..."),
        Reads("survey.csv", "per user_id: sex, age, race, edu, politics, employ (speaker metadata); no topic: the "
                            "calls had none assigned"),
    ),
    prepare=prepare_candor,
    options=COMMON_OPTIONS + (
        ("audio", "auto (default: the stereo mix, else the participants' files, else the mono mix), mix, or "
                  "participants (their own files first)"),
        ("transcript", "auto (default: transcribe_output.json words, else audiophile turns), words, audiophile, "
                       "cliffhanger or backbiter"),
    ),
))

register(Recipe(
    name="ami",
    title="AMI Meeting Corpus, individual headsets + manual word annotations (CC BY 4.0)",
    data_type="multiparty",
    reads=(
        Reads("<meeting>.Headset-N.wav", "one track per headset kept (all, or --recipe-option headsets=0,1)"),
        Reads("<meeting>.<letter>.words.xml", "gold: each participant's timed words (NITE XML), on the track of "
                                              "their headset"),
        Reads("corpusResources/meetings.xml", "participant letter -> global name (speaker ami-<name>) and headset"),
        Reads("corpusResources/participants.xml", "per global name: sex (when the file carries it; else the "
                                                  "global name's F/M letter)"),
    ),
    prepare=prepare_ami,
    options=COMMON_OPTIONS + (("headsets", "all (default) or the headset numbers to keep, e.g. 0,1"),),
))

register(Recipe(
    name="emilia",
    title="Emilia / Emilia-YODAS (Amphion): single-speaker web speech segments (CC BY-NC 4.0)",
    data_type="mono",
    reads=(
        Reads("<LANG>_B00000.jsonl", "one segment per line: wav path, id, text, speaker, language, duration, "
                                     "dnsmos"),
        Reads("<id>.mp3 + <id>.json", "the same fields in a sidecar (the Hugging Face WebDataset layout, unpacked)"),
    ),
    prepare=prepare_emilia,
    options=COMMON_OPTIONS,
))


def get_recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r} (known: {', '.join(sorted(RECIPES))})")
    return RECIPES[name]


def prepare(name: str, paths, options=None) -> Prepared:
    """Run one recipe over ``paths`` (folders or files); see ``base.Prepared``."""
    return get_recipe(name)(paths, options)
