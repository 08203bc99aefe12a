"""Corpora in their publishers' exact layouts, built by the tests from the bundled sample dialogues.

Nothing of the real corpora ships: the audio is data/sample's three dialogues (cut to ``CLIP_S``), and
the transcripts and tables are written here in each publisher's format, with the sample's gold word
times (data/sample/gold/*.ctm) as their content. The ``broken=True`` variants remove or damage one piece
each, so the recipes' named errors can be checked.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache
from pathlib import Path

import numpy as np

from twotrack.ingest.annotations import read_ctm
from twotrack.ingest.audio import read_all
from twotrack.ingest.sphere import write_sphere

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
DIALOGUES = ("demo01_367_1688", "demo02_3080_2033", "demo03_2609_367")
CLIP_S = 20.0


@lru_cache(maxsize=None)
def telephone(name: str) -> np.ndarray:
    """One sample dialogue as 8 kHz two-channel int16, cut to ``CLIP_S``."""
    audio, rate = read_all(SAMPLE / "telephone" / f"{name}.sph")
    assert rate == 8000 and audio.shape[1] == 2
    clip = audio[: int(CLIP_S * rate)]
    return np.clip(np.round(clip * 32768), -32768, 32767).astype(np.int16)


@lru_cache(maxsize=None)
def gold_words(name: str) -> tuple[tuple[int, float, float, str], ...]:
    """(track, start, end, word) of the sample's gold inside the clip."""
    return tuple((w.track, w.start, w.end, w.text) for w in read_ctm(SAMPLE / "gold" / f"{name}.ctm")
                 if w.end <= CLIP_S)


def utterances(name: str, max_pause_s: float = 0.5) -> list[tuple[int, float, float, str]]:
    """Words merged per side across pauses shorter than ``max_pause_s``: (track, start, end, text)."""
    out: list[list] = []
    by_track = defaultdict(list)
    for w in gold_words(name):
        by_track[w[0]].append(w)
    for track, words in sorted(by_track.items()):
        for t, s, e, text in words:
            if out and out[-1][0] == track and s - out[-1][2] < max_pause_s:
                out[-1][2] = e
                out[-1][3] += " " + text
            else:
                out.append([track, s, e, text])
    return sorted((tuple(u) for u in out), key=lambda u: (u[1], u[0]))


def _sphere(path: Path, name: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_sphere(path, telephone(name), 8000, "ulaw")
    return path


# ---------------------------------------------------------------------------------------------
# Fisher English: LDC2004S13 audio, LDC2004T19 transcripts and call table
# ---------------------------------------------------------------------------------------------

# PIN 11111 speaks as a woman in call 00001 and as a man in call 00003: participants shared PINs (kaldi
# egs/sre08/v1/local/make_fisher.pl), so the recipe keeps a speaker per PIN and sex.
FISHER_CALLS = {"00001": ("ENG01", "11111", "f.a", "22222", "m.a"),
                "00002": ("ENG02", "33333", "m.o", "44444", "f.a"),
                "00003": ("ENG03", "55555", "f.a", "11111", "m.a")}


def fisher_audio_name(call: str) -> str:
    """Call 00003's audio is named ``.wav`` though it is SPHERE, as in a copy described by a data guide
    written from it (GitHub, ``Switchboard / CANDOR / Fisher`` reading guide: ``fe_03_00005.wav``, "NIST
    SPHERE, 8 kHz, 2 channels, 8-bit ulaw"); the others keep the published ``.sph``."""
    return f"fe_03_{call}.wav" if call == "00003" else f"fe_03_{call}.sph"


def build_fisher(root: Path, broken: bool = False) -> Path:
    """``fisher_eng_tr_sp_d1/audio/000/fe_03_NNNNN.sph`` (the folder name of the LDC's download of
    LDC2004S13, as kaldi's fisher_data_prep.sh and datasets_turntaking's fisher reader know it),
    ``fe_03_p1_tran/data/trans/000/fe_03_NNNNN.txt`` (with ``data/bbn_orig/`` beside it, whose BBN files
    are not transcripts the recipe reads) and ``fe_03_p1_tran/doc/fe_03_p1_calldata.tbl``.
    Broken: call 00002's transcript missing, 00003's has a line on side C, the table has a call 00099
    with no files."""
    for (call, _), name in zip(FISHER_CALLS.items(), DIALOGUES):
        _sphere(root / "fisher_eng_tr_sp_d1" / "audio" / "000" / fisher_audio_name(call), name)
        if broken and call == "00002":
            continue
        by = "at the LDC" if call != "00002" else "by BBN/WordWave"
        lines = [f"# fe_03_{call}.sph", f"# Transcribed {by}", ""]
        for track, s, e, text in utterances(name):
            lines.append(f"{s:.2f} {e:.2f} {'AB'[track]}: {text}")
            lines.append("")
        if broken and call == "00003":
            lines.insert(5, "3.00 3.50 C: who is this")
        path = root / "fe_03_p1_tran" / "data" / "trans" / "000" / f"fe_03_{call}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")
        bbn = root / "fe_03_p1_tran" / "data" / "bbn_orig" / "000" / "auto-segmented"
        bbn.mkdir(parents=True, exist_ok=True)
        (bbn / f"fe_03_{call}.trn").write_text("HELLO (fe_03_%s-A-0001)\n" % call)
    rows = ["CALL_ID,DATE_TIME,TOPICID,SIG_GRADE,CNV_GRADE,APIN,ASX.DL,APHNUM,APHSET,APHTYP,BPIN,BSX.DL,BPHNUM,"
            "BPHSET,BPHTYP"]
    calls = dict(FISHER_CALLS)
    if broken:
        calls["00099"] = ("ENG09", "77777", "m.a", "88888", "f.a")
    for call, (topic, apin, asx, bpin, bsx) in calls.items():
        rows.append(f"{call},20021210_1637{call[-2:]},{topic},2,3,{apin},{asx},e41fd2c3,4,3,{bpin},{bsx},"
                    f"0a1b2c3d,4,1")
    table = root / "fe_03_p1_tran" / "doc" / "fe_03_p1_calldata.tbl"
    table.parent.mkdir(parents=True, exist_ok=True)
    table.write_text("\n".join(rows) + "\n")
    (table.parent / "fe_03_pindata.tbl").write_text("\n".join(FISHER_PINDATA) + "\n")
    return root


#: ``fe_03_pindata.tbl`` as the LDC's fe_03_readme.txt describes it: CSV, a header row, then PIN, sex, age, years
#: of education, native language, where raised, number of calls, the call-sides with their audited sex.dialect
#: (its example row: ``2637,F,54,16,English,WA,2,06972_A/m.a;08175_A/f.a``). Only ``PIN`` as the first label is
#: known of the header (readers skip the row naming it); the others here are placeholders. PIN 11111 enrolled as
#: a woman and was audited male in call 00003 (the readme's case); 33333 enrolled female, audited male; 22222 left
#: his age unanswered (``NA``); 44444 is missing; 55555's row is about another person's PIN, 5555 (no match).
FISHER_PINDATA = ("PIN,SEX,AGE,EDU_YEARS,NATIVE_LANG,RAISED,NCALLS,CALLS",
                  "11111,F,54,16,English,WA,2,00001_A/f.a;00003_B/m.a",
                  "22222,M,NA,12,English,PA,1,00001_B/m.a",
                  "33333,F,31,18,Spanish,TX,1,00002_A/m.o",
                  "5555,F,40,14,English,OH,1,09999_A/f.a",
                  "55555,F,23,13,English,NY,1,00003_A/f.a")


# ---------------------------------------------------------------------------------------------
# Switchboard-1: LDC97S62 audio, ISIP ms98 word alignments, conv.tab and caller.tab
# ---------------------------------------------------------------------------------------------

SWB_CONVS = {"2001": ("1000", "1001", "323"), "2002": ("1002", "1003", "324"), "2005": ("1001", "1004", "325")}
SWB_CALLERS = {"1000": ("FEMALE", "1954", "SOUTH MIDLAND"), "1001": ("MALE", "1940", "WESTERN"),
               "1002": ("FEMALE", "1962", "NORTHERN"), "1003": ("MALE", "1971", "NEW ENGLAND"),
               "1004": ("FEMALE", "1959", "NYC")}


def swb_word_lines(conv: str, side: str, name: str) -> list[str]:
    """``sw2001A-ms98-a-0001 <start> <end> <word>`` lines: ``[silence]`` between the side's words, one
    utterance number per stretch of speech, as the ISIP release writes them."""
    track = "AB".index(side)
    words = [w for w in gold_words(name) if w[0] == track]
    lines, t, utt = [], 0.0, 1
    for _, s, e, text in words:
        if s - t > 0.5:
            lines.append(f"sw{conv}{side}-ms98-a-{utt:04d} {t:.6f} {s:.6f} [silence]")
            utt += 1
        elif s > t:
            lines.append(f"sw{conv}{side}-ms98-a-{utt:04d} {t:.6f} {s:.6f} [silence]")
        lines.append(f"sw{conv}{side}-ms98-a-{utt:04d} {s:.6f} {e:.6f} {text}")
        t = e
    lines.append(f"sw{conv}{side}-ms98-a-{utt:04d} {t:.6f} {CLIP_S:.6f} [silence]")
    # An aside (speech to someone in the room) is bracketed by <b_aside> ... <e_aside> marker tokens in the
    # ms98 files (kaldi swbd1_data_prep.sh removes them; vap_turn_taking's tests skip them): markers, not words.
    words_at = [i for i, line in enumerate(lines) if not line.endswith("[silence]")]
    if len(words_at) > 4:
        first, last = words_at[2], words_at[3]
        _, s, _, _ = lines[first].split()
        _, _, e, _ = lines[last].split()
        uid = lines[first].split()[0]
        lines.insert(last + 1, f"{uid} {e} {float(e) + 0.05:.6f} <e_aside>")
        lines.insert(first, f"{uid} {float(s) - 0.05:.6f} {s} <b_aside>")
    return lines


def build_switchboard(root: Path, broken: bool = False, tables: bool = True,
                      conv_table: str = "call_con_tab.csv") -> Path:
    """``swb1_d1/data/sw0NNNN.sph``, ``swb_ms98_transcriptions/NN/NNNN/swNNNN{A,B}-ms98-a-{word,trans}.text``,
    ``tables/<conv_table>`` and ``tables/caller_tab.csv``. The conversation table is the LDC's online docs'
    ``call_con_tab.csv`` (catalog.ldc.upenn.edu/docs/LDC97S62/, one row per side: conversation, side,
    caller, phone, length, topic, remarks, active, as Coquery's coq_install_switchboard.py names them) or
    ``conv.tab`` (one row per conversation, callers in columns 3 and 4, as kaldi's swbd1_fix_speakerid.pl
    reads it). Broken: conversation 2002's B side has no word file, 2005's A file has a line whose id names
    side C, and the conversation table has a conversation 4999 with no files."""
    for (conv, _), name in zip(SWB_CONVS.items(), DIALOGUES):
        _sphere(root / "swb1_d1" / "data" / f"sw0{conv}.sph", name)
        folder = root / "swb_ms98_transcriptions" / conv[:2] / conv
        folder.mkdir(parents=True, exist_ok=True)
        for side in "AB":
            if broken and conv == "2002" and side == "B":
                continue
            lines = swb_word_lines(conv, side, name)
            if broken and conv == "2005" and side == "A":
                lines.insert(3, f"sw{conv}C-ms98-a-0002 3.000000 3.200000 hello")
            (folder / f"sw{conv}{side}-ms98-a-word.text").write_text("\n".join(lines) + "\n")
            (folder / f"sw{conv}{side}-ms98-a-trans.text").write_text(
                f"sw{conv}{side}-ms98-a-0001 0.000000 {CLIP_S:.6f} segment transcript not read\n")
    if tables:
        convs = dict(SWB_CONVS)
        if broken:
            convs["4999"] = ("1000", "1003", "326")
        (root / "tables").mkdir(exist_ok=True)
        if conv_table == "conv.tab":
            text = "".join(f'{conv},  "Y",  {a},  {b},  {topic},  "A",  920323,  "1543",  "1558",  ""\n'
                           for conv, (a, b, topic) in convs.items())
        else:
            text = "".join(f'{conv},  "{side}",  {caller},  "2145551234",  300,  {topic},  "",  "Y"\n'
                           for conv, (a, b, topic) in convs.items() for side, caller in (("A", a), ("B", b)))
        (root / "tables" / conv_table).write_text(text)
        (root / "tables" / "caller_tab.csv").write_text("".join(
            f'{caller},  {int(caller) - 900},  "N",  "{sex}",  {born},  "{dialect}",  2,  0,  "CASH",  15,  '
            f'"N",  "",  0,  "A"\n' for caller, (sex, born, dialect) in SWB_CALLERS.items()))
    return root


# ---------------------------------------------------------------------------------------------
# CALLHOME American English: LDC97S42 audio, LDC97T14 transcripts
# ---------------------------------------------------------------------------------------------

CALLHOME_CALLS = {"4065": ("train", DIALOGUES[0]), "4074": ("devtest", DIALOGUES[1]), "4093": ("evltest", DIALOGUES[2])}


def callhome_name(call: str) -> str:
    """The LDC names files ``en_4065.sph`` / ``en_4065.txt`` (LDC97T14 as read by the datasets_turntaking
    callhome reader, ErikEkstedt/datasets_turntaking; LDC's AG toolkit demo loads ``en_4065.sph`` with
    ``en_4065.txt``); call 4093 keeps a bare ``4093`` name, as renamed copies do, so both forms are read."""
    return call if call == "4093" else f"en_{call}"


def build_callhome(root: Path, broken: bool = False) -> Path:
    """``LDC97S42/data/<split>/en_NNNN.sph`` and ``LDC97T14/transcrpt/<split>/en_NNNN.txt`` (the LDC spells the
    audio's evaluation folder ``evltest``, the transcripts' ``evaltest``). Each transcript opens with the
    release's ``#Language: eng`` header block and separates lines by blank lines; side A's first line is
    labelled ``A1`` and its text wraps onto an untimed line, the wrapped part opening with ``#...#``
    (simultaneous speech on one channel, the guide's markup), as in the release. Broken: 4074's transcript
    has a line on side C, and a transcript 4999 has no audio."""
    for call, (split, name) in CALLHOME_CALLS.items():
        _sphere(root / "LDC97S42" / "data" / split / f"{callhome_name(call)}.sph", name)
        lines = ["#Language: eng", f"#File id: {call}", "#Starting at 0 Ending at 20", "# 0 1 #BEGIN",
                 "# 19 20 #END"]
        for i, (track, s, e, text) in enumerate(utterances(name)):
            label = "AB"[track] + ("1" if i == 0 and track == 0 else "")
            words = text.split()
            if len(words) > 3 and i == 0:
                lines += [f"{s:.2f} {e:.2f} {label}: {' '.join(words[:2])}", f"#{' '.join(words[2:])}#"]
            else:
                lines.append(f"{s:.2f} {e:.2f} {label}: {text}")
        if broken and call == "4074":
            lines.insert(7, "5.00 5.40 C: hello")
        folder = root / "LDC97T14" / "transcrpt" / split.replace("evltest", "evaltest")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{callhome_name(call)}.txt").write_text("\n\n".join(lines) + "\n")
    # callinfo.tbl, the LDC's audit of the calls, in the layout the CALLHOME German/Mandarin/Japanese/Spanish
    # docs (catalog.ldc.upenn.edu/docs/LDC97S43/CALLINFO.TXT, .../LDC96T16/callinfo.txt) describe; the LDC97T14
    # catalogue page says the English transcripts come with the same audit (gender, channel quality)
    info = []
    for call, sex_a, sex_b in (("4065", "female", "male"), ("4074", "male", "male"), ("4093", "female", "female")):
        info += [f"en_{call} ntalkers=2 nfemale=1 nmale=1", f"en_{call} siA difficulty=2 bgnoise=1 chnoise=2",
                 f'en_{call} taA sex={sex_a} age=adult rate=normal artic=clear accent="midwest" acc_pron=1',
                 f'en_{call} taB sex={sex_b} age=adult rate=fast artic=clear accent="new york" acc_pron=1']
    info.append('en_4074 taB1 sex=female age=child rate=normal artic=clear accent="new york"')
    (root / "LDC97T14" / "doc").mkdir(parents=True, exist_ok=True)
    (root / "LDC97T14" / "doc" / "callinfo.tbl").write_text("\n".join(info) + "\n")
    if broken:
        (root / "LDC97T14" / "transcrpt" / "train" / "en_4999.txt").write_text("0.00 1.00 A: hello\n")
    return root


def build_callhome_talkbank(root: Path, channels: int = 2) -> Path:
    """TalkBank's CA version of CALLHOME English (talkbank.org/ca/access/CallHome: ``eng/NNNN.cha`` transcripts,
    media ``eng/0wav/NNNN.wav``, as the AU-Harness CallHome preprocessor reads them): CHAT utterances
    ``*A:<tab>text \x15start_end\x15`` in milliseconds, long ones continued on tab-indented lines, ``%`` tiers
    and ``@`` headers between. How many channels TalkBank's wav files hold was not established: ``channels``
    builds either."""
    import soundfile as sf

    call, name = "4065", DIALOGUES[0]
    audio = telephone(name)
    media = root / "CallHome" / "eng" / "0wav" / f"{call}.wav"
    media.parent.mkdir(parents=True, exist_ok=True)
    sf.write(media, audio if channels == 2 else audio.mean(axis=1).astype(np.int16), 8000, subtype="PCM_16")
    lines = ["@UTF8", "@Begin", "@Languages:\teng", "@Participants:\tA Speaker, B Speaker", f"@Media:\t{call}, audio"]
    for i, (track, s, e, text) in enumerate(utterances(name)):
        bullet = f"\x15{round(s * 1000)}_{round(e * 1000)}\x15"
        words = text.split()
        if i == 1 and len(words) > 2:  # a long utterance wraps; the bullet closes its last line
            lines += [f"*{'AB'[track]}:\t{' '.join(words[:2])}", f"\t{' '.join(words[2:])} . {bullet}"]
        else:
            lines.append(f"*{'AB'[track]}:\t{text} . {bullet}")
        if i == 0:
            lines.append("%com:\tlaughs")
    lines.append("@End")
    (root / "CallHome" / "eng" / f"{call}.cha").write_text("\n".join(lines) + "\n")
    return root


# ---------------------------------------------------------------------------------------------
# AMI: headset WAVs, words.xml, meetings.xml, participants.xml
# ---------------------------------------------------------------------------------------------

AMI_MEETING = "ES2002a"
AMI_PEOPLE = {"A": ("FEE005", 1, "f"), "B": ("MEE006", 0, "m"), "C": ("MEE007", 2, "m")}


def _words_xml(meeting: str, letter: str, words) -> str:
    items = [f'<w nite:id="{meeting}.{letter}.words{i}" starttime="{s:.2f}" endtime="{e:.2f}">{text}</w>'
             for i, (s, e, text) in enumerate(words)]
    if words:
        s, e, _ = words[-1]
        items.append(f'<w nite:id="{meeting}.{letter}.words{len(words)}" starttime="{e:.2f}" endtime="{e:.2f}" '
                     f'punc="true">.</w>')
    return (f'<?xml version="1.0" encoding="ISO-8859-1" standalone="yes"?>\n<nite:root nite:id="{meeting}.{letter}.'
            f'words" xmlns:nite="http://nite.sourceforge.net/">\n' + "\n".join(items) + "\n</nite:root>\n")


def build_ami(root: Path, broken: bool = False) -> Path:
    """``amicorpus/ES2002a/audio/ES2002a.Headset-{0,1,2}.wav`` (16 kHz mono: the clean sample's two sides
    and a third speaker from another dialogue), ``ami_public_manual_1.6.2/words/ES2002a.{A,B,C}.words.xml``,
    ``corpusResources/meetings.xml`` and ``participants.xml``. Speaker A wears headset 1, B headset 0.
    Broken: C's words.xml is missing."""
    import soundfile as sf

    a, rate = sf.read(SAMPLE / "clean" / f"{DIALOGUES[0]}.flac", dtype="float32")
    c, _ = sf.read(SAMPLE / "clean" / f"{DIALOGUES[1]}.flac", dtype="float32")
    n = int(CLIP_S * rate)
    channels = {1: a[:n, 0], 0: a[:n, 1], 2: 0.5 * c[:n, 0]}  # headset -> audio
    audio_dir = root / "amicorpus" / AMI_MEETING / "audio"
    audio_dir.mkdir(parents=True, exist_ok=True)
    for h, x in channels.items():
        sf.write(audio_dir / f"{AMI_MEETING}.Headset-{h}.wav", x, rate, subtype="PCM_16")
    ann = root / "ami_public_manual_1.6.2"
    (ann / "words").mkdir(parents=True, exist_ok=True)
    sides = {"A": [(s, e, t) for tr, s, e, t in gold_words(DIALOGUES[0]) if tr == 0],
             "B": [(s, e, t) for tr, s, e, t in gold_words(DIALOGUES[0]) if tr == 1],
             "C": [(s, e, t) for tr, s, e, t in gold_words(DIALOGUES[1]) if tr == 0]}
    for letter, words in sides.items():
        if broken and letter == "C":
            continue
        (ann / "words" / f"{AMI_MEETING}.{letter}.words.xml").write_text(_words_xml(AMI_MEETING, letter, words))
    res = ann / "corpusResources"
    res.mkdir(exist_ok=True)
    speakers = "\n".join(f'    <speaker nxt_agent="{letter}" global_name="{name}" channel="{h}" role="PM"/>'
                         for letter, (name, h, _) in AMI_PEOPLE.items())
    (res / "meetings.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<meetings>\n'
        f'  <meeting observation="{AMI_MEETING}" duration="{CLIP_S}" type="scenario">\n{speakers}\n  </meeting>\n'
        '</meetings>\n')
    # participants.xml names each person by nite:id with sex, age_at_collection, native_language attributes
    # (readers of the release: an AMI channel reader matching <participant nite:id=".." sex=".." ..
    # native_language="..">, the ami summaries' NITE reader matching nite:id to meetings.xml's global_name).
    # One participant has no sex here: it then comes from the global name's letter (F.., M..), as lhotse's
    # ami.py takes it.
    people = "\n".join(f'  <participant nite:id="{name}" meeting="{AMI_MEETING[:6]}"'
                       + (f' sex="{sex}"' if letter != "B" else "") + ' age_at_collection="30" native_language="English"/>'
                       for letter, (name, _, sex) in AMI_PEOPLE.items())
    (res / "participants.xml").write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n<nite:root nite:id="participants" '
                                          f'xmlns:nite="http://nite.sourceforge.net/">\n{people}\n</nite:root>\n')
    return root


# ---------------------------------------------------------------------------------------------
# Emilia: jsonl index + mp3 (original release) and mp3 + json sidecars (WebDataset, unpacked)
# ---------------------------------------------------------------------------------------------


def build_emilia(root: Path, broken: bool = False) -> Path:
    """``EN/EN_B00000.jsonl`` naming ``EN_B00000/EN_B00000_S00000/mp3/EN_B00000_S00000_W00000{0,1}.mp3``,
    and ``EN-B000001/EN_B00001_S00001_W000000.{mp3,json}`` (a WebDataset shard unpacked). Segments are
    3 s of one side of the clean sample. Broken: a sidecar json without its mp3."""
    import json as _json

    import soundfile as sf

    x, rate = sf.read(SAMPLE / "clean" / f"{DIALOGUES[0]}.flac", dtype="float32")
    lang = root / "EN"
    rows = []
    for w in range(2):
        rel = f"EN_B00000/EN_B00000_S00000/mp3/EN_B00000_S00000_W00000{w}.mp3"
        (lang / rel).parent.mkdir(parents=True, exist_ok=True)
        sf.write(lang / rel, x[w * 3 * rate:(w + 1) * 3 * rate, 0], rate)
        rows.append({"id": f"EN_B00000_S00000_W00000{w}", "wav": rel, "text": " some words here.",
                     "duration": 3.0, "speaker": "EN_B00000_S00000", "language": "en", "dnsmos": 3.2})
    (lang / "EN_B00000.jsonl").write_text("".join(_json.dumps(r) + "\n" for r in rows))
    shard = root / "EN-B000001"
    shard.mkdir(parents=True, exist_ok=True)
    sf.write(shard / "EN_B00001_S00001_W000000.mp3", x[: 3 * rate, 1], rate)
    # the shard's json as the Hub release writes it (amphion/Emilia-Dataset, DE/DE-B000000.tar as the dataset
    # viewer shows it): the keys of the index line, "wav" naming the original layout's path (not read here)
    (shard / "EN_B00001_S00001_W000000.json").write_text(_json.dumps(
        {"dnsmos": 3.4, "duration": 3.0, "id": "EN_B00001_S00001_W000000", "language": "en",
         "speaker": "EN_B00001_S00001", "text": " other words.",
         "wav": "EN_B00001/EN_B00001_S00001/mp3/EN_B00001_S00001_W000000.mp3"}))
    if broken:
        (shard / "EN_B00001_S00001_W000001.json").write_text(_json.dumps({"id": "EN_B00001_S00001_W000001"}))
    return root


def scan_corpus(root: Path, ws_path: Path, recipe: str, options: dict[str, str] | None = None):
    """``root`` scanned by the real scan with ``recipe`` into a new workspace at ``ws_path``:
    (workspace, scan summary, recordings by id)."""
    from twotrack.run import scan
    from twotrack.store import Workspace, queries

    ws = Workspace(ws_path, create=True)
    summary = scan([root], ws, jobs=0, recipe=recipe, recipe_options=options)
    return ws, summary, {r.recording_id: r for r in queries.recordings(ws)}
