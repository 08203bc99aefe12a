"""The workspace schema as a list of migrations: step ``i`` (0-based) takes the schema to version ``i + 1``.

Append a step to change the schema; never edit a step that has shipped. The tables hold only the
current result of each recording: a recomputed stage replaces that recording's rows of that stage.
No table has a key constraint: the single writer keeps ``recording_id`` unique per table by deleting a
recording's rows before inserting them, inside one transaction (docs/workspace.md lists the keys).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "initial schema",
        (
            """CREATE TABLE schema_version (
                version INTEGER, description VARCHAR, applied_at TIMESTAMP)""",
            """CREATE TABLE runs (
                run_id INTEGER, started_at TIMESTAMP, finished_at TIMESTAMP, status VARCHAR,
                paths VARCHAR[], config VARCHAR, stage_keys VARCHAR, jobs INTEGER,
                twotrack_version VARCHAR, host VARCHAR, pid INTEGER,
                n_found INTEGER, n_scanned INTEGER, n_skipped INTEGER, n_failed INTEGER,
                audio_s DOUBLE, wall_s DOUBLE, notes VARCHAR[])""",
            """CREATE TABLE sources (
                path VARCHAR, sha256 VARCHAR, size_bytes BIGINT, mtime_ns BIGINT,
                format VARCHAR, codec VARCHAR, channels INTEGER, sample_rate INTEGER,
                n_samples BIGINT, duration_s DOUBLE, repairs VARCHAR[], probe VARCHAR,
                run_id INTEGER)""",
            """CREATE TABLE recordings (
                recording_id VARCHAR, source_key VARCHAR, layout VARCHAR, source_type VARCHAR,
                n_tracks INTEGER, license VARCHAR, tags VARCHAR, metadata VARCHAR, transcript VARCHAR,
                duration_s DOUBLE, sample_rate INTEGER, status VARCHAR, recording VARCHAR,
                run_id INTEGER, scanned_at TIMESTAMP DEFAULT current_timestamp)""",
            """CREATE TABLE tracks (
                recording_id VARCHAR, track INTEGER, name VARCHAR, path VARCHAR, channel INTEGER,
                sha256 VARCHAR, speaker_id VARCHAR)""",
            """CREATE TABLE speakers (speaker_id VARCHAR, metadata VARCHAR)""",
            """CREATE TABLE checks (
                recording_id VARCHAR, isolation VARCHAR, bleed_db DOUBLE, bleed_lag_ms DOUBLE,
                bleed_direction VARCHAR, offset_ms DOUBLE, drift_ppm DOUBLE, duplicate_channels BOOLEAN,
                codec VARCHAR, sample_rate INTEGER, reasons VARCHAR[], result VARCHAR)""",
            """CREATE TABLE track_quality (
                recording_id VARCHAR, track INTEGER, clipping_share DOUBLE, dc_offset DOUBLE,
                effective_bandwidth_hz DOUBLE, snr_db DOUBLE, speech_share DOUBLE, digital_silence BOOLEAN)""",
            """CREATE TABLE track_activity (
                recording_id VARCHAR, track INTEGER, detector VARCHAR, n_segments INTEGER, speech_s DOUBLE)""",
            """CREATE TABLE activity (
                recording_id VARCHAR, track INTEGER, start_s DOUBLE, end_s DOUBLE, detector VARCHAR)""",
            """CREATE TABLE events (
                recording_id VARCHAR, kind VARCHAR, start_s DOUBLE, end_s DOUBLE, track INTEGER,
                from_track INTEGER, value DOUBLE)""",
            """CREATE TABLE errors (
                recording_id VARCHAR, path VARCHAR, stage VARCHAR, problem VARCHAR, origin VARCHAR,
                run_id INTEGER, created_at TIMESTAMP DEFAULT current_timestamp)""",
            """CREATE TABLE stage_results (
                recording_id VARCHAR, stage VARCHAR, source_key VARCHAR, stage_key VARCHAR,
                status VARCHAR, note VARCHAR, seconds DOUBLE, run_id INTEGER,
                computed_at TIMESTAMP DEFAULT current_timestamp)""",
            """CREATE TABLE frame_files (
                recording_id VARCHAR, kind VARCHAR, stage_key VARCHAR, path VARCHAR, n_frames BIGINT,
                hop_s DOUBLE)""",
        ),
    ),
    Migration(
        "words stage: timed words per track and each track's language (issue 19)",
        (
            """CREATE TABLE words (
                recording_id VARCHAR, track INTEGER, start_s DOUBLE, end_s DOUBLE, word VARCHAR,
                probability DOUBLE, source VARCHAR)""",
            """CREATE TABLE track_languages (
                recording_id VARCHAR, track INTEGER, language VARCHAR, probability DOUBLE, model VARCHAR,
                source VARCHAR)""",
        ),
    ),
    Migration(
        "words stage: each aligned transcript line's text fit, and why a line kept no words",
        (
            """CREATE TABLE line_fits (
                recording_id VARCHAR, track INTEGER, start_s DOUBLE, end_s DOUBLE, text VARCHAR, fit DOUBLE,
                coverage DOUBLE, kept BOOLEAN, reason VARCHAR)""",
        ),
    ),
)

#: The schema version this code reads and writes.
SCHEMA_VERSION = len(MIGRATIONS)

#: Tables that hold one recording's results, in the order a recording's rows are replaced.
RESULT_TABLES = ("recordings", "tracks", "checks", "track_quality", "track_activity", "activity", "events",
                 "words", "track_languages", "line_fits", "stage_results", "frame_files")


def current_version(con) -> int:
    """Schema version of an open database (0 when it is empty)."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()[0]
    if not exists:
        return 0
    row = con.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(con) -> list[int]:
    """Apply every missing step, each in its own transaction; returns the versions applied."""
    applied = []
    version = current_version(con)
    for index in range(version, SCHEMA_VERSION):
        step = MIGRATIONS[index]
        con.execute("BEGIN TRANSACTION")
        try:
            for statement in step.statements:
                con.execute(statement)
            con.execute(
                "INSERT INTO schema_version VALUES (?, ?, now())", [index + 1, step.description]
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(index + 1)
    return applied
