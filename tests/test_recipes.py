"""Corpus recipes on fixtures built in each publisher's exact layout (tests/recipe_corpora.py)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from recipe_corpora import (AMI_MEETING, AMI_PEOPLE, CALLHOME_CALLS, DIALOGUES, FISHER_CALLS, SWB_CALLERS,
                            SWB_CONVS, build_ami, build_callhome, build_callhome_talkbank, build_emilia, build_fisher,
                            build_switchboard, gold_words, scan_corpus, utterances)
from twotrack.cli import main
from twotrack.evaluate import gold_from_workspace
from twotrack.ingest.annotations import recording_gold
from twotrack.qualify.requirements import qualify_corpus
from twotrack.qualify.workspace import inputs_from_workspace
from twotrack.recipes.registry import RECIPES, prepare
from twotrack.run import scan
from twotrack.store import Workspace, queries


def _kinds(prepared_or_errors) -> list[str]:
    errors = getattr(prepared_or_errors, "errors", prepared_or_errors)
    return sorted(e.problem.split(":", 1)[0] for e in errors)


def _speaker_meta(ws) -> dict[str, dict]:
    return {k: json.loads(v or "{}") for k, v in queries.speaker_metadata(ws).items()}


# ---------------------------------------------------------------------------------------------
# Fisher English
# ---------------------------------------------------------------------------------------------


def test_fisher_fixture_scans_with_speakers_topics_and_gold(tmp_path):
    ws, summary, recs = scan_corpus(build_fisher(tmp_path / "corpus"), tmp_path / "ws", "fisher")
    assert summary.status == "completed" and summary.scanned == 3 and summary.failed == 0
    assert summary.errors == [] and queries.error_table(ws) == []
    assert sorted(recs) == [f"fe_03_{c}" for c in FISHER_CALLS]
    for call, (topic, apin, asx, bpin, bsx) in FISHER_CALLS.items():
        rec = recs[f"fe_03_{call}"]
        assert rec.speakers == (f"fisher-{apin}-{asx[0]}", f"fisher-{bpin}-{bsx[0]}")
        assert rec.tags["topic"] == topic
        assert rec.n_tracks == 2 and rec.transcript.endswith(f"fe_03_{call}.txt")
    assert recs["fe_03_00003"].tracks[0].path.endswith("fe_03_00003.wav")  # SPHERE named .wav is found
    meta = _speaker_meta(ws)
    assert meta["fisher-22222-m"]["sex"] == "male" and meta["fisher-33333-m"]["dialect"] == "o"
    # one PIN, a woman in one call and a man in another: two speakers, each with their own sex
    assert meta["fisher-11111-f"]["sex"] == "female" and meta["fisher-11111-m"]["sex"] == "male"
    assert meta["fisher-11111-f"]["pin"] == meta["fisher-11111-m"]["pin"] == "11111"
    # gold: the transcript's utterances, on their sides (IPU-level gold)
    gold, errors = gold_from_workspace(ws.path)
    assert errors == []
    for call, name in zip(FISHER_CALLS, DIALOGUES):
        got = sorted((w.track, round(w.start, 2), round(w.end, 2)) for w in gold[f"fe_03_{call}"])
        want = sorted((t, round(s, 2), round(e, 2)) for t, s, e, _ in utterances(name))
        assert got == want


def test_fisher_pindata_adds_the_enrolment_to_sides_audited_as_the_enrolled_sex(tmp_path):
    root = build_fisher(tmp_path / "corpus")
    got = prepare("fisher", [root])
    assert got.errors == []
    meta = got.speakers
    # PIN 11111 enrolled as a 54-year-old woman: her side of call 00001 (audited f) gets the enrolment; the man
    # audited on that PIN in call 00003 is someone else and gets none of it (the LDC readme's PIN 2637 case)
    assert meta["fisher-11111-f"] == {"sex": "female", "dialect": "a", "pin": "11111", "corpus": "fisher-english",
                                      "age": "54", "education_years": "16", "native_language": "English",
                                      "raised_in": "WA"}
    assert "age" not in meta["fisher-11111-m"] and "native_language" not in meta["fisher-33333-m"]
    assert meta["fisher-22222-m"]["education_years"] == "12" and "age" not in meta["fisher-22222-m"]  # NA
    assert meta["fisher-55555-f"]["age"] == "23" and "age" not in meta["fisher-44444-f"]
    # a damaged row is named; the others are read
    table = root / "fe_03_p1_tran" / "doc" / "fe_03_pindata.tbl"
    table.write_text(table.read_text().replace("22222,M,NA,12,English,PA,1,00001_B/m.a", "22222;M;NA"))
    got = prepare("fisher", [root])
    assert _kinds(got) == ["unreadable table"] and "line 3" in got.errors[0].problem
    assert got.speakers["fisher-11111-f"]["age"] == "54"


def test_fisher_pin_enrolled_twice_gives_each_sex_its_row_and_names_a_conflicting_repeat(tmp_path):
    # PIN 11111 enrolled once as a woman and once as a man (the man audited in call 00003): each side gets its own
    # answers; before, the second row was dropped without a word. 22222 enrolled again as a man with other answers:
    # named, the first row kept. A byte-identical repeat (a table appended twice) is no error.
    root = build_fisher(tmp_path / "corpus")
    table = root / "fe_03_p1_tran" / "doc" / "fe_03_pindata.tbl"
    table.write_text(table.read_text() + "11111,M,33,12,Spanish,CA,1,00003_B/m.a\n"
                     "22222,M,61,10,English,OH,1,00001_B/m.a\n55555,F,23,13,English,NY,1,00003_A/f.a\n")
    got = prepare("fisher", [root])
    assert _kinds(got) == ["unreadable table"]
    assert "line 8" in got.errors[0].problem and "line 3" in got.errors[0].problem
    assert got.errors[0].path.endswith("fe_03_pindata.tbl")
    assert got.speakers["fisher-11111-m"]["age"] == "33" and got.speakers["fisher-11111-f"]["age"] == "54"
    assert got.speakers["fisher-22222-m"]["education_years"] == "12"


def test_fisher_broken_fixture_gives_named_errors_listed_by_errors(tmp_path):
    root = build_fisher(tmp_path / "corpus", broken=True)
    assert _kinds(prepare("fisher", [root])) == ["audio without transcript", "table row without files",
                                                 "unknown channel"]
    ws = tmp_path / "ws"
    summary = scan([root], ws, jobs=0, recipe="fisher")
    assert summary.scanned == 3 and summary.exit_code == 1  # the audio is scanned; the misses are reported
    result = CliRunner().invoke(main, ["errors", "-w", str(ws), "--json"])
    assert result.exit_code == 1
    rows = json.loads(result.output)
    by_kind = {r["problem"].split(":", 1)[0]: r for r in rows}
    assert set(by_kind) == {"audio without transcript", "table row without files", "unknown channel"}
    assert by_kind["audio without transcript"]["recording_id"] == "fe_03_00002"
    assert by_kind["unknown channel"]["path"].endswith("fe_03_00003.txt")
    assert "line 6" in by_kind["unknown channel"]["problem"]
    assert by_kind["table row without files"]["path"].endswith("fe_03_p1_calldata.tbl")
    assert all(r["stage"] == "recipe" for r in rows)
    # the calls without usable gold carry none; the others keep theirs
    gold, _ = gold_from_workspace(ws)
    assert sorted(gold) == ["fe_03_00001"]


def test_fisher_mistyped_time_drops_the_calls_gold_with_a_named_error(tmp_path):
    # lhotse's fisher_english.py repairs a line of fe_03_11487 whose start was typed 31.09 for 231.09: one
    # utterance would cover three minutes of its side. The same mistake here, on side A of call 00001.
    root = build_fisher(tmp_path / "corpus")
    path = root / "fe_03_p1_tran" / "data" / "trans" / "000" / "fe_03_00001.txt"
    lines = path.read_text().splitlines()
    a_lines = [i for i, line in enumerate(lines) if " A: " in line]
    last = a_lines[-1]
    start, end, rest = lines[last].split(" ", 2)
    lines[last] = f"{float(start) - 10:.2f} {end} {rest}"  # starts 10 s early, inside earlier A lines
    path.write_text("\n".join(lines) + "\n")
    got = prepare("fisher", [root])
    assert _kinds(got) == ["unreadable transcript"]
    (err,) = got.errors
    assert err.path.endswith("fe_03_00001.txt") and f"line {last + 1}:" in err.problem
    assert "side A" in err.problem and err.recording_id == "fe_03_00001"
    recs = {r.recording_id: r for r in got.recordings}
    assert recs["fe_03_00001"].transcript is None and recs["fe_03_00002"].transcript  # the rest keep theirs


def test_fisher_transcript_whose_header_names_another_call_is_not_its_gold(tmp_path):
    root = build_fisher(tmp_path / "corpus")
    path = root / "fe_03_p1_tran" / "data" / "trans" / "000" / "fe_03_00002.txt"
    path.write_text(path.read_text().replace("# fe_03_00002.sph", "# fe_03_00003.sph", 1))
    got = prepare("fisher", [root])
    assert _kinds(got) == ["unreadable transcript"]
    assert "line 1: the header names fe_03_00003" in got.errors[0].problem
    assert {r.recording_id: r for r in got.recordings}["fe_03_00002"].transcript is None


def test_fisher_release_unpacked_twice_is_one_corpus_but_differing_copies_are_named(tmp_path):
    import shutil

    # a data guide written from a copy of the release describes LDC2005T19 unpacked twice (data/ and
    # fe_03_p2_tran/data/): identical copies are the same transcripts, not conflicts
    root = build_fisher(tmp_path / "corpus")
    shutil.copytree(root / "fe_03_p1_tran" / "data", root / "LDC2004T19" / "data")
    assert prepare("fisher", [root]).errors == []
    copy = root / "LDC2004T19" / "data" / "trans" / "000" / "fe_03_00002.txt"
    copy.write_text(copy.read_text() + "# a copy edited by hand\n")
    got = prepare("fisher", [root])
    assert _kinds(got) == ["duplicate transcript"] and "differs" in got.errors[0].problem


def test_fisher_call_missing_from_table_is_named(tmp_path):
    root = build_fisher(tmp_path / "corpus")
    table = root / "fe_03_p1_tran" / "doc" / "fe_03_p1_calldata.tbl"
    table.write_text("\n".join(line for line in table.read_text().splitlines() if not line.startswith("00002")))
    got = prepare("fisher", [root])
    assert _kinds(got) == ["recording not in table"]
    rec = {r.recording_id: r for r in got.recordings}["fe_03_00002"]
    assert rec.speakers == (None, None) and "topic" not in rec.tags


# ---------------------------------------------------------------------------------------------
# Switchboard-1
# ---------------------------------------------------------------------------------------------


def test_switchboard_fixture_scans_and_eval_uses_the_word_alignments(tmp_path):
    root = build_switchboard(tmp_path / "corpus")
    ws = tmp_path / "ws"
    runner = CliRunner()
    result = runner.invoke(main, ["scan", "--recipe", "switchboard", str(root), "-w", str(ws), "-j", "0",
                                  "--no-progress", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["recordings"]["scanned"] == 3
    recs = {r.recording_id: r for r in queries.recordings(Workspace(ws))}
    assert sorted(recs) == [f"sw0{c}" for c in SWB_CONVS]
    for conv, (a, b, topic) in SWB_CONVS.items():
        rec = recs[f"sw0{conv}"]
        assert rec.speakers == (f"swb-{a}", f"swb-{b}") and rec.tags["topic"] == topic
        assert [p.rsplit("/", 1)[-1] for p in rec.track_transcripts] == [
            f"sw{conv}A-ms98-a-word.text", f"sw{conv}B-ms98-a-word.text"]
    # gold words: every word of the alignment, silences and noises out, on its side
    rec = recs["sw02001"]
    words = recording_gold(rec)
    assert sorted((w.track, round(w.start, 3), w.text) for w in words) == sorted(
        (t, round(s, 3), text) for t, s, e, text in gold_words(DIALOGUES[0]))
    meta = _speaker_meta(Workspace(ws))
    for caller, (sex, born, dialect) in SWB_CALLERS.items():
        assert meta[f"swb-{caller}"]["sex"] == sex.lower()
        assert meta[f"swb-{caller}"]["dialect"] == dialect.lower()
    # eval with no --gold: the stored recordings' word alignments
    result = runner.invoke(main, ["eval", "-w", str(ws), "--json"])
    assert result.exit_code == 0, result.output
    ev = json.loads(result.output)
    assert ev["n_recordings"] == 3 and ev["unmatched_recordings"] == []
    assert ev["n_gold_ipus"] > 20 and ev["frame_f1"] > 0.8


def test_switchboard_qualify_evidence_reads_topics_and_speaker_sex_from_the_tables(tmp_path):
    ws, _, _ = scan_corpus(build_switchboard(tmp_path / "corpus"), tmp_path / "ws", "switchboard")
    report = qualify_corpus(inputs_from_workspace(ws))
    req = {r.id: r for r in report.requirements}
    assert req[4].evidence["topics"] == sorted(t for _, _, t in SWB_CONVS.values())
    assert req[4].evidence["untagged_share"] == 0.0
    assert req[5].evidence["unique_speakers"] == 5
    assert req[5].evidence["tracks_without_speaker_id"] == 0
    assert set(req[5].evidence["metadata_balance"]["sex"]["hours_share"]) == {"female", "male"}


def test_switchboard_reads_kaldis_conv_tab_as_well(tmp_path):
    got = prepare("switchboard", [build_switchboard(tmp_path / "corpus", conv_table="conv.tab")])
    assert got.errors == []
    for rec in got.recordings:
        a, b, topic = SWB_CONVS[rec.recording_id[3:]]
        assert rec.speakers == (f"swb-{a}", f"swb-{b}") and rec.tags["topic"] == topic


def test_switchboard_bad_conversation_table_rows_are_named_and_the_rest_read(tmp_path):
    root = build_switchboard(tmp_path / "corpus")
    table = root / "tables" / "call_con_tab.csv"
    rows = table.read_text().splitlines()
    rows[2] = rows[2].replace('"A"', '"C"')  # conversation 2002, side A written C
    rows.insert(4, "this row is damaged")
    table.write_text("\n".join(rows) + "\n")
    got = prepare("switchboard", [root])
    assert _kinds(got) == ["unreadable table", "unreadable table"]
    assert sorted(e.problem.split(":", 2)[1].strip() for e in got.errors) == ["line 3", "line 5"]
    recs = {r.recording_id: r for r in got.recordings}
    assert recs["sw02002"].speakers == (None, f"swb-{SWB_CONVS['2002'][1]}")  # side B still known
    assert recs["sw02001"].speakers == tuple(f"swb-{c}" for c in SWB_CONVS["2001"][:2])


def test_switchboard_broken_fixture_gives_named_errors(tmp_path):
    root = build_switchboard(tmp_path / "corpus", broken=True)
    got = prepare("switchboard", [root])
    assert _kinds(got) == ["audio without transcript", "table row without files", "unknown channel"]
    recs = {r.recording_id: r for r in got.recordings}
    assert recs["sw02002"].track_transcripts[1] is None and recs["sw02002"].track_transcripts[0]
    assert recs["sw02005"].track_transcripts[0] is None  # the damaged side gives no gold
    # without tables: recordings and gold still come, and the missing tables are said once per path
    root2 = build_switchboard(tmp_path / "bare", tables=False)
    got = prepare("switchboard", [root2])
    assert len(got.recordings) == 3 and _kinds(got) == ["nothing found"]
    assert all(r.speakers == (None, None) for r in got.recordings)


# ---------------------------------------------------------------------------------------------
# CALLHOME, AMI, Emilia
# ---------------------------------------------------------------------------------------------


def test_callhome_fixture_scans_with_side_speakers_and_gold(tmp_path):
    ws, summary, recs = scan_corpus(build_callhome(tmp_path / "corpus"), tmp_path / "ws", "callhome")
    assert summary.scanned == 3 and summary.errors == []
    assert sorted(recs) == [f"callhome-{c}" for c in CALLHOME_CALLS]
    assert recs["callhome-4093"].metadata["split"] == "evaltest"
    assert recs["callhome-4065"].speakers == ("callhome-4065-A", "callhome-4065-B")
    gold, errors = gold_from_workspace(ws.path)
    assert errors == [] and sorted(gold) == sorted(recs)
    first = [w for w in gold["callhome-4065"] if w.speaker == "A1"]
    want = utterances(DIALOGUES[0])[0]
    # the wrapped line, though it opens with '#' (simultaneous-speech markup), is joined: not a comment
    assert len(first) == 1 and first[0].text == want[3] and first[0].track == 0
    assert recs["callhome-4065"].tracks[0].path.endswith("en_4065.sph")  # the LDC's en_ names
    assert recs["callhome-4093"].transcript.endswith("4093.txt")  # and bare ones
    # the transcribed stretch (the header's "#Starting at 0 Ending at 20"): gold covers only it
    assert recs["callhome-4065"].metadata["transcribed_span_s"] == "0-20"
    scored = json.loads(CliRunner().invoke(main, ["eval", "-w", str(ws.path), "--json"]).output)["recordings"]
    assert {rid: r["scored_span_s"] for rid, r in scored.items()} == {rid: [0.0, 20.0] for rid in recs}
    meta = _speaker_meta(ws)  # each side's sex from callinfo.tbl; a second talker on a side is counted
    assert meta["callhome-4065-A"]["sex"] == "female" and meta["callhome-4065-B"]["sex"] == "male"
    assert meta["callhome-4074-B"]["talkers"] == "2" and meta["callhome-4074-B"]["accent"] == "new york"
    got = prepare("callhome", [build_callhome(tmp_path / "broken", broken=True)])
    assert _kinds(got) == ["transcript without audio", "unknown channel"]


def test_callhome_transcribed_span_covers_lines_outside_the_header_span(tmp_path):
    # the "#Starting at S Ending at E" header does not bound the timed lines: a CALLHOME-format transcript quoted in
    # lhotse's eval2000 recipe says "#Starting at 121" and opens with "116.17 121.98 A: ..."; before, such lines
    # fell outside transcribed_span_s (scored nowhere, recognised again by the words stage over their alignment)
    root = build_callhome(tmp_path / "corpus")
    transcript = root / "LDC97T14" / "transcrpt" / "train" / "en_4065.txt"
    transcript.write_text(transcript.read_text().replace("#Starting at 0 Ending at 20", "#Starting at 5 Ending at 15"))
    rec = next(r for r in prepare("callhome", [root]).recordings if r.recording_id == "callhome-4065")
    lines = utterances(DIALOGUES[0])
    first, last = min(u[1] for u in lines), max(u[2] for u in lines)
    assert first < 5 and last > 15
    assert rec.metadata["transcribed_span_s"] == f"{round(first, 2):g}-{round(last, 2):g}"


def test_callhome_line_of_no_length_does_not_widen_the_transcribed_span(tmp_path):
    # the release has lines whose end is not after their start (lhotse skips them; read_callhome leaves them out of
    # the gold): one before the header's start widened the span to it, so the untranscribed stretch before it was
    # neither recognised by the words stage nor scored as untranscribed by eval
    root = build_callhome(tmp_path / "corpus")
    transcript = root / "LDC97T14" / "transcrpt" / "train" / "en_4065.txt"
    text = transcript.read_text().replace("#Starting at 0 Ending at 20", "#Starting at 5 Ending at 15")
    lines = [line for line in text.splitlines() if not line[:1].isdigit() or 5 <= float(line.split()[0]) < 15]
    transcript.write_text("\n".join(lines[:4] + ["1.00 1.00 A: {laugh}", "14.50 14.20 B: uh"] + lines[4:]) + "\n")
    rec = next(r for r in prepare("callhome", [root]).recordings if r.recording_id == "callhome-4065")
    assert rec.metadata["transcribed_span_s"].startswith("5-")


def test_callhome_markup_reaches_the_aligner_as_tags_and_spoken_words(tmp_path):
    from twotrack.words.align import transcript_words

    # the LDC's CALLHOME conventions: {laugh} a sound by the talker, <Spanish ...> speech in another language; the
    # Hub5 2000 references in the same format add <contraction e_form="..">we're. Before, the aligner got the word
    # "laugh", lost "hola amigo", and read a stray "we" out of the contraction tag.
    root = build_callhome(tmp_path / "corpus")
    transcript = root / "LDC97T14" / "transcrpt" / "train" / "en_4065.txt"
    line = ('19.10 19.90 B: {laugh} <Spanish hola amigo> <contraction e_form="[we=>we][\'re=>are]">we\'re '
            '[[previous word lengthened]] %um &Mary +probably+ **poodle-ish** //quit it// #yes#')
    transcript.write_text(transcript.read_text() + "\n" + line + "\n")
    rec = next(r for r in prepare("callhome", [root]).recordings if r.recording_id == "callhome-4065")
    last = [w for w in recording_gold(rec) if w.start == 19.10]
    assert len(last) == 1 and last[0].track == 1
    # and the marks around spoken words (%um, &Mary, +..+, **..**, //..//, #..#) stay out of the words' spelling
    assert last[0].text == ("[laugh] hola amigo we're [[previous word lengthened]] um Mary probably poodle-ish "
                            "quit it yes")
    assert transcript_words(last[0].text) == ["hola", "amigo", "we're", "um", "Mary", "probably", "poodle-ish", "quit",
                                              "it", "yes"]


def test_callhome_marks_inside_a_guess_or_a_language_tag_leave_the_spelling(tmp_path):
    from twotrack.words.align import transcript_words

    # a guessed name ((&Mary)) and a non-lexeme in parentheses: the mark opens the word after '(' as after a space
    # (before, '&Mary' reached the aligned words and the exports); a language tag inside another is spoken words
    # (before, the outer tag was left whole and the aligner dropped all of it); '2+2' is no +mispronounced+ mark
    # (before, '2+2 and +think+' became '22 and think+')
    root = build_callhome(tmp_path / "corpus")
    transcript = root / "LDC97T14" / "transcrpt" / "train" / "en_4065.txt"
    line = "19.10 19.90 B: ((&Mary)) said (%uh) <Spanish hola <English yes> amigo> 2+2 and +think+ at AT&T"
    transcript.write_text(transcript.read_text() + "\n" + line + "\n")
    rec = next(r for r in prepare("callhome", [root]).recordings if r.recording_id == "callhome-4065")
    last = [w for w in recording_gold(rec) if w.start == 19.10]
    assert [w.text for w in last] == ["((Mary)) said (uh) hola yes amigo 2+2 and think at AT&T"]
    assert transcript_words(last[0].text) == ["Mary", "said", "(uh)", "hola", "yes", "amigo", "2+2", "and", "think",
                                              "at", "AT&T"]


def test_callhome_damaged_callinfo_line_and_missing_call_are_named(tmp_path):
    root = build_callhome(tmp_path / "corpus")
    table = root / "LDC97T14" / "doc" / "callinfo.tbl"
    lines = [line for line in table.read_text().splitlines() if not line.startswith("en_4093")]
    lines.insert(2, "en_4065 taA")  # a talker line with no fields
    table.write_text("\n".join(lines) + "\n")
    got = prepare("callhome", [root])
    assert _kinds(got) == ["recording not in table", "unreadable table"]
    by_kind = {e.problem.split(":", 1)[0]: e for e in got.errors}
    assert "line 3" in by_kind["unreadable table"].problem and by_kind["unreadable table"].path.endswith("callinfo.tbl")
    assert by_kind["recording not in table"].recording_id == "callhome-4093"
    assert got.speakers["callhome-4065-A"]["sex"] == "female"  # the good line of the same talker still read


def test_callhome_talkbank_chat_transcripts_are_gold(tmp_path):
    got = prepare("callhome", [build_callhome_talkbank(tmp_path / "corpus")])
    assert got.errors == []
    (rec,) = got.recordings
    assert rec.recording_id == "callhome-4065" and rec.transcript.endswith("4065.cha")
    words = recording_gold(rec)
    want = utterances(DIALOGUES[0])
    assert sorted((w.track, round(w.start, 3), round(w.end, 3)) for w in words) == sorted(
        (t, round(s, 3), round(e, 3)) for t, s, e, _ in want)
    assert words and all("\x15" not in w.text for w in words)
    # the wrapped utterance is one unit with all its words
    second = want[1]
    assert any(w.text.split()[:len(second[3].split())] == second[3].split() for w in words)
    # a one-channel media file cannot be two tracks: said, as for any CALLHOME audio
    got = prepare("callhome", [build_callhome_talkbank(tmp_path / "mono", channels=1)])
    assert _kinds(got) == ["missing channel"]


def test_callhome_chat_codes_reach_the_aligner_as_spoken_words_and_tags(tmp_path):
    from twotrack.words.align import transcript_words

    # CHAT's own main-line codes: <I want> [/] is said words a retracing code is about (before: 'want' alone, the
    # LDC language-tag rule taking 'I' for a language), &=laughs an event (before: the word 'laughs'), &-uh a
    # filler said, xxx speech not transcribed (before: the word 'xxx'), 0is a word not said
    root = build_callhome_talkbank(tmp_path / "corpus")
    cha = root / "CallHome" / "eng" / "4065.cha"
    utterance = "*B:\t<I want> [/] I want a &=laughs cookie &-uh xxx 0is it . \x1519100_19900\x15"
    cha.write_text(cha.read_text().replace("@End", utterance + "\n@End"))
    (rec,) = prepare("callhome", [root]).recordings
    (last,) = [w for w in recording_gold(rec) if w.start == 19.1]
    assert transcript_words(last.text) == ["I", "want", "I", "want", "a", "cookie", "uh", "it"]


@pytest.mark.parametrize("headsets", [None, "0,1"])
def test_ami_fixture_keeps_all_headsets_or_a_chosen_pair(tmp_path, headsets):
    options = {"headsets": headsets} if headsets else None
    ws, summary, recs = scan_corpus(build_ami(tmp_path / "corpus"), tmp_path / "ws", "ami", options)
    assert summary.scanned == 1 and summary.failed == 0 and summary.errors == []
    (rec,) = recs.values()
    wearer = {h: f"ami-{name}" for name, h, _ in AMI_PEOPLE.values()}
    kept = [0, 1] if headsets else [0, 1, 2]
    assert rec.recording_id == AMI_MEETING and rec.source_type.value == "multiparty"
    assert rec.speakers == tuple(wearer[h] for h in kept)
    words = recording_gold(rec)
    # headset 1 is worn by A, who speaks the sample's side A
    assert sorted(round(w.start, 2) for w in words if w.track == 1) == sorted(
        round(s, 2) for t, s, e, _ in gold_words(DIALOGUES[0]) if t == 0)
    meta = _speaker_meta(ws)
    assert meta["ami-FEE005"]["sex"] == "female"  # participants.xml says so (its nite:id names her)
    assert meta["ami-FEE005"]["age"] == "30" and meta["ami-FEE005"]["native_language"] == "English"
    assert meta["ami-MEE006"]["sex"] == "male"  # from the global name's letter
    report = qualify_corpus(inputs_from_workspace(ws))
    assert report.recordings[0].data_type.data_type == "multiparty"
    assert report.recordings[0].phase_fit.post == "unfit"
    # eval -w scores each headset against its wearer's words; a floor transfer is defined between two tracks only,
    # so a meeting of three headsets has no FTO (before: a ValueError traceback out of the turn-taking analysis)
    result = CliRunner().invoke(main, ["eval", "-w", str(ws.path), "--json"])
    assert result.exit_code == 0, result.output
    scored = json.loads(result.output)["recordings"][AMI_MEETING]
    assert scored["n_gold_ipus"] > 0 and scored["frame_f1"] > 0.5
    assert (scored["fto_mae_s"] is None) == (len(kept) > 2)
    got = prepare("ami", [build_ami(tmp_path / "broken", broken=True)])
    assert _kinds(got) == ["audio without transcript"]


def test_ami_unreadable_words_file_is_named_and_the_other_tracks_keep_their_gold(tmp_path):
    root = build_ami(tmp_path / "corpus")
    bad = root / "ami_public_manual_1.6.2" / "words" / f"{AMI_MEETING}.C.words.xml"
    bad.write_text(bad.read_text()[:-40])  # cut short: not well-formed XML
    got = prepare("ami", [root])
    assert _kinds(got) == ["unreadable transcript"]
    assert got.errors[0].path.endswith(f"{AMI_MEETING}.C.words.xml") and "XML" in got.errors[0].problem
    (rec,) = got.recordings
    wearer = {h: letter for letter, (_, h, _) in AMI_PEOPLE.items()}
    assert [bool(g) for g in rec.track_transcripts] == [wearer[h] != "C" for h in range(3)]


def test_ami_headsets_option_is_checked(tmp_path):
    from twotrack.errors import ConfigError

    with pytest.raises(ConfigError, match="at least two"):
        prepare("ami", [tmp_path], {"headsets": "1"})
    root = build_ami(tmp_path / "corpus")
    assert _kinds(prepare("ami", [root], {"headsets": "0,5"})) == ["missing channel"]


def test_emilia_fixture_gives_mono_segments_with_speakers(tmp_path):
    _, summary, recs = scan_corpus(build_emilia(tmp_path / "corpus"), tmp_path / "ws", "emilia")
    assert summary.scanned == 3 and summary.errors == []
    assert len(recs) == 3 and all(r.layout.value == "mono" and r.source_type.value == "mono" for r in recs.values())
    assert recs["EN_B00000_S00000_W000001"].speakers == ("emilia-EN_B00000_S00000",)
    assert recs["EN_B00001_S00001_W000000"].metadata["text"] == "other words."
    assert recs["EN_B00000_S00000_W000000"].license == "CC-BY-NC-4.0"
    got = prepare("emilia", [build_emilia(tmp_path / "broken", broken=True)])
    assert _kinds(got) == ["transcript without audio"]


def test_emilia_packed_shards_unreadable_index_and_second_copies_are_named(tmp_path):
    import shutil
    import tarfile

    root = build_emilia(tmp_path / "corpus")
    # The Hub release (amphion/Emilia-Dataset) ships <LANG>/<LANG>-B000000.tar shards: read once unpacked. A
    # shard kept beside its unpacked folder is not an error; one whose segments were not found unpacked is.
    shard = root / "EN-B000001"
    with tarfile.open(root / "EN" / "EN-B000001.tar", "w") as tar:
        for f in sorted(shard.iterdir()):
            tar.add(f, arcname=f.name)
    with tarfile.open(root / "EN" / "EN-B000002.tar", "w") as tar:
        tar.add(shard / "EN_B00001_S00001_W000000.mp3", arcname="EN_B00002_S00000_W000000.mp3")
    # the same shard unpacked twice: its segment is a second copy
    shutil.copytree(shard, root / "copy" / "EN-B000001")
    # an index that is not UTF-8: named, the other layouts still read
    (root / "DE").mkdir()
    (root / "DE" / "DE_B00000.jsonl").write_bytes(b'{"id": "DE_B00000_S00000_W000000", "text": "\xff\xfe"}\n')
    got = prepare("emilia", [root])
    assert _kinds(got) == ["duplicate audio", "unreadable audio", "unreadable metadata"]
    by_kind = {e.problem.split(":", 1)[0]: e for e in got.errors}
    assert by_kind["unreadable audio"].path.endswith("EN-B000002.tar") and "tar -xf" in by_kind["unreadable audio"].problem
    assert by_kind["unreadable metadata"].path.endswith("DE_B00000.jsonl")
    assert sorted(r.recording_id for r in got.recordings) == [
        "EN_B00000_S00000_W000000", "EN_B00000_S00000_W000001", "EN_B00001_S00001_W000000"]


# ---------------------------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------------------------


def test_recipes_command_lists_every_recipe_with_what_it_reads():
    result = CliRunner().invoke(main, ["recipes", "--json"])
    assert result.exit_code == 0
    listed = {r["name"]: r for r in json.loads(result.output)}
    assert set(listed) == set(RECIPES)
    assert any("calldata" in x["file"] for x in listed["fisher"]["reads"])
    text = CliRunner().invoke(main, ["recipes"]).output
    assert "ms98-a-word.text" in text


def test_unknown_recipe_or_option_is_a_usage_error(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["scan", "--recipe", "nope", str(tmp_path), "-w", str(tmp_path / "ws")])
    assert result.exit_code == 2 and "unknown recipe" in result.output
    result = runner.invoke(main, ["scan", "--recipe", "fisher", "--recipe-option", "colour=red", str(tmp_path),
                                  "-w", str(tmp_path / "ws")])
    assert result.exit_code == 2 and "colour=red" in result.output
    with pytest.raises(ValueError, match="unknown recipe"):
        scan([tmp_path], tmp_path / "ws2", jobs=0, recipe="nope")


# ---------------------------------------------------------------------------------------------
# Paths that hold nothing a recipe reads
# ---------------------------------------------------------------------------------------------


def test_a_path_with_none_of_the_recipes_files_is_named_with_its_packed_archives(tmp_path):
    import tarfile

    # lhotse's Emilia recipe documents the OpenXLab download as raw/openemilia_all.tar.gz beside raw/<LANG>/: kept
    # packed, the recipe found nothing and the scan reported 0 recordings and no error
    raw = tmp_path / "emilia" / "raw"
    raw.mkdir(parents=True)
    with tarfile.open(raw / "openemilia_all.tar.gz", "w:gz") as tar:
        tar.add(build_emilia(tmp_path / "unpacked") / "EN" / "EN_B00000.jsonl", arcname="EN/EN_B00000.jsonl")
    got = prepare("emilia", [tmp_path / "emilia"])
    assert got.recordings == [] and _kinds(got) == ["nothing found"]
    assert got.errors[0].path == str(tmp_path / "emilia") and "openemilia_all.tar.gz" in got.errors[0].problem
    # an LDC web download kept as its .tgz beside an unpacked release: the packed path is named, the rest is read
    ldc = tmp_path / "LDC97T14"
    ldc.mkdir()
    (ldc / "LDC97T14.tgz").write_bytes(b"\x1f\x8b packed")
    root = build_callhome(tmp_path / "callhome")
    got = prepare("callhome", [root, ldc])
    assert len(got.recordings) == 3 and _kinds(got) == ["nothing found"]
    assert got.errors[0].path == str(ldc) and "LDC97T14.tgz" in got.errors[0].problem
    # an empty folder given to any of the five recipes: named, where before the scan said 0 recordings found
    (tmp_path / "empty").mkdir()
    for recipe in ("fisher", "switchboard", "callhome", "ami", "emilia"):
        errors = prepare(recipe, [tmp_path / "empty"]).errors
        assert any(e.problem.startswith("nothing found: none of the files this recipe reads") for e in errors), recipe


def test_a_path_inside_another_given_path_is_not_named_empty(tmp_path):
    import os

    root = build_callhome(tmp_path / "corpus")
    # kaldi's data-prep scripts gather a release's parts as symlinks in one links/ folder; given beside the release
    # itself, the links lead to folders already read: not an empty path
    links = tmp_path / "links"
    links.mkdir()
    for part in ("LDC97S42", "LDC97T14"):
        os.symlink(root / part, links / part)
    got = prepare("callhome", [root, root / "LDC97T14", root / "LDC97S42" / "data" / "train" / "en_4065.sph", links])
    assert len(got.recordings) == 3 and got.errors == []


def test_ami_meeting_with_only_room_audio_is_named_once(tmp_path):
    import shutil

    # lhotse's download_ami fetches, per mic setting, <meeting>.Mix-Headset.wav (ihm-mix) or .Array1-01.wav (sdm)
    # instead of the headsets; before, each of the meeting's words files was a 'transcript without audio' error and
    # nothing said why
    root = build_ami(tmp_path / "corpus")
    audio = root / "amicorpus" / AMI_MEETING / "audio"
    shutil.copy(audio / f"{AMI_MEETING}.Headset-0.wav", audio / f"{AMI_MEETING}.Mix-Headset.wav")
    for f in audio.glob("*.Headset-*.wav"):
        f.unlink()
    got = prepare("ami", [root])
    assert got.recordings == [] and _kinds(got) == ["missing channel"]
    assert got.errors[0].path.endswith("Mix-Headset.wav") and "Headset-N.wav" in got.errors[0].problem


def test_ami_annotations_kept_zipped_are_named_in_the_missing_table_error(tmp_path):
    import shutil

    # lhotse's download_ami leaves ami_public_manual_1.6.2.zip packed beside the audio (its parser unzips it): the
    # audio is found, the tables are not, and the error says where they are
    root = build_ami(tmp_path / "corpus")
    shutil.make_archive(str(root / "ami_public_manual_1.6.2"), "zip", root / "ami_public_manual_1.6.2")
    shutil.rmtree(root / "ami_public_manual_1.6.2")
    got = prepare("ami", [root])
    assert [e.problem.split(":", 1)[0] for e in got.errors] == ["nothing found"]
    assert "meetings.xml" in got.errors[0].problem and "ami_public_manual_1.6.2.zip" in got.errors[0].problem


def test_a_disc_left_packed_is_named_by_the_errors_for_the_files_it_holds(tmp_path):
    import shutil

    # Fisher's audio discs arrive as one archive each: with the transcripts unpacked and a disc still packed beside
    # them, each call of that disc is a 'table row without files' / 'transcript without audio' error; before, none
    # said that an archive lay there (thousands of errors for one packed disc); the nothing-found rule did not
    # apply, since the path held the recipe's other files
    root = build_fisher(tmp_path / "corpus")
    shutil.make_archive(str(root / "fisher_eng_tr_sp_d1"), "gztar", root, "fisher_eng_tr_sp_d1")
    shutil.rmtree(root / "fisher_eng_tr_sp_d1")
    got = prepare("fisher", [root])
    assert got.recordings == [] and _kinds(got) == ["table row without files"] * 3 + ["transcript without audio"] * 3
    assert all("packed archive(s) found (fisher_eng_tr_sp_d1.tar.gz): if it is inside one" in e.problem for e in got.errors)
    # a release with nothing packed: the same errors say nothing of archives
    shutil.unpack_archive(root / "fisher_eng_tr_sp_d1.tar.gz", tmp_path / "elsewhere")
    (root / "fisher_eng_tr_sp_d1.tar.gz").unlink()
    got = prepare("fisher", [root])
    assert len(got.errors) == 6 and not any("packed" in e.problem for e in got.errors)


def test_a_path_already_named_nothing_found_is_not_named_again_for_its_missing_table(tmp_path):
    # a wrong folder (or a path that does not exist) given to a recipe that needs a table: one error per path;
    # before, each was named twice (once as holding none of the recipe's files, once as lacking the table)
    (tmp_path / "empty").mkdir()
    for recipe in ("fisher", "switchboard", "ami"):
        got = prepare(recipe, [tmp_path / "empty", tmp_path / "missing"])
        assert sorted(e.path for e in got.errors) == [str(tmp_path / "empty"), str(tmp_path / "missing")], recipe
    # a path that holds the audio but no table is still named for the table
    root = build_fisher(tmp_path / "fisher")
    (root / "fe_03_p1_tran" / "doc" / "fe_03_p1_calldata.tbl").unlink()
    got = prepare("fisher", [root])
    assert [e.problem.split(":")[1].strip() for e in got.errors] == ["no *_calldata.tbl under this path"]


def test_ami_meeting_missing_a_participants_headset_is_named(tmp_path):
    import shutil

    # a partial download: C's Headset-2.wav is absent while the room mix is there. Before, the meeting was scanned
    # as a two-track pair with no error (C's words.xml unused, C's speech on nobody's track) and 'no errors'
    root = build_ami(tmp_path / "corpus")
    audio = root / "amicorpus" / AMI_MEETING / "audio"
    shutil.copy(audio / f"{AMI_MEETING}.Headset-0.wav", audio / f"{AMI_MEETING}.Mix-Headset.wav")
    (audio / f"{AMI_MEETING}.Headset-2.wav").unlink()
    got = prepare("ami", [root])
    assert [len(r.tracks) for r in got.recordings] == [2]  # the headsets there are still scanned
    assert _kinds(got) == ["missing channel"]
    assert "Headset-2.wav" in got.errors[0].problem and f"ami-{AMI_PEOPLE['C'][0]}" in got.errors[0].problem
    assert got.errors[0].recording_id == AMI_MEETING
    # a pair chosen on purpose names nothing missing
    assert prepare("ami", [root], {"headsets": "0,1"}).errors == []


def test_ami_meeting_exports_without_allowing_unknown_clocks(tmp_path):
    from cli_run import grant_consent, run

    # the headsets are separate files that share no signal, so the checks measure no clock; AMI recorded them on
    # one synchronised system and the recipe declares that. Before, every AMI meeting was left out of every
    # export as 'clock unknown' (exported 0 of 1) unless --allow-unknown-clock was given
    ws, summary, _ = scan_corpus(build_ami(tmp_path / "corpus"), tmp_path / "ws", "ami")
    assert summary.errors == []
    grant_consent(ws.path, tmp_path, [f"ami-{name}" for name, _, _ in AMI_PEOPLE.values()])
    result = run("export", "lhotse", tmp_path / "out", "-w", ws.path, "--purpose", "research-training",
                 "--allow-no-text", "--json")
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    assert got["unknown_clock"] == {} and got["exported"] == 1


def test_stats_of_meetings_only_say_why_they_have_no_turn_taking_statistics(tmp_path):
    # an AMI workspace (three headsets per meeting): stats said "mono recordings and copied channels have none; or
    # the events stage never ran", none of which was the reason
    ws, _, _ = scan_corpus(build_ami(tmp_path / "corpus"), tmp_path / "ws", "ami")
    result = CliRunner().invoke(main, ["stats", "-w", str(ws.path)])
    assert result.exit_code == 0 and "more than two talking tracks" in " ".join(result.output.split())


def test_ami_file_names_in_another_case_are_one_meeting(tmp_path):
    # a copy whose words files were written upper case (an ISO 9660 disc, a renaming tool): ES2002A.C.WORDS.XML beside
    # ES2002a.Headset-2.wav. Before, these were two meetings: three 'audio without transcript' and three 'transcript
    # without audio' errors, and the meeting scanned without gold
    root = build_ami(tmp_path / "corpus")
    for f in (root / "ami_public_manual_1.6.2" / "words").iterdir():
        f.rename(f.with_name(f.name.upper()))
    audio = root / "amicorpus" / AMI_MEETING / "audio" / f"{AMI_MEETING}.Headset-2.wav"
    audio.rename(audio.with_name(audio.name.lower()))
    got = prepare("ami", [root])
    assert got.errors == []
    (rec,) = got.recordings
    assert rec.recording_id == AMI_MEETING and all(rec.track_transcripts) and len(rec.tracks) == 3


def test_eval_leaves_out_a_track_whose_gold_file_is_missing(tmp_path):
    # the broken AMI fixture has no words.xml for C (a named 'audio without transcript' error): C's headset has no
    # gold, not silent gold. Before, eval scored all of C's detected speech as false alarms (AMI frame precision
    # 0.54 against 0.97 with C's gold) and said nothing
    ws, _, _ = scan_corpus(build_ami(tmp_path / "corpus", broken=True), tmp_path / "ws", "ami")
    result = CliRunner().invoke(main, ["eval", "-w", str(ws.path), "--json"])
    assert result.exit_code == 0, result.output
    entry = json.loads(result.output)["recordings"][AMI_MEETING]
    assert entry["tracks_without_gold"] == ["C"] and entry["frame_precision"] > 0.9
    assert entry["fto_mae_s"] is None  # still a meeting of three: no floor transfer between the two scored
    text = CliRunner().invoke(main, ["eval", "-w", str(ws.path)]).output
    assert "track(s) C have no gold file: not scored" in text


def test_a_link_that_leads_to_nothing_does_not_displace_the_real_file(tmp_path):
    import os

    # a linked view left behind after the release moved (kaldi's links/ folder): its link to call 00001 leads to
    # nothing and sorts before the real file. Before, the real file was 'a second copy that differs' and ignored,
    # the link an 'unreadable audio', and call 00001 was lost
    root = build_fisher(tmp_path / "corpus")
    (root / "a_links").mkdir()
    os.symlink(tmp_path / "moved" / "fe_03_00001.sph", root / "a_links" / "fe_03_00001.sph")
    got = prepare("fisher", [root])
    assert sorted(r.recording_id for r in got.recordings) == [f"fe_03_{c}" for c in FISHER_CALLS]
    assert _kinds(got) == ["nothing found"] and got.errors[0].path == str(root / "a_links")
    assert "1 link(s) here lead to nothing (fe_03_00001.sph ->" in got.errors[0].problem
