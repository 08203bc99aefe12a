"""SPDX expressions: validation with license-expression, the permissions table, AND/OR semantics."""

from __future__ import annotations

import json

import pytest

from twotrack.errors import InputError
from twotrack.rights.licenses import (
    PERMISSION_FIELDS, PROJECT_LICENSE_REFS, evaluate_license, load_permissions, normalise_license, parse_license,
    validate_license,
)

COMMERCIAL_TRAINING = ("commercial_use", "derivatives", "share_derivatives")

REQUIRED_IDS = [
    f"CC-BY{v}-{ver}" for v in ("", "-SA", "-NC", "-NC-SA", "-ND", "-NC-ND") for ver in ("4.0", "3.0")
] + ["CC0-1.0", "LicenseRef-LDC-Non-Member-Agreement", "LicenseRef-Proprietary-Contract", "LicenseRef-Unknown"]


def test_table_covers_the_licenses_and_cites_sources():
    table = load_permissions()
    for key in REQUIRED_IDS:
        entry = table[key]
        assert entry.sources, key
        assert entry.ai_training, key
        assert validate_license(key) is None, key
    # every cited source id is defined in the file's sources section
    from importlib import resources

    data = json.loads(resources.files("twotrack.rights").joinpath("permissions.json").read_text())
    defined = set(data["sources"])
    for key, entry in data["licenses"].items():
        for src in entry["sources"]:
            head = src.split(" ")[0]
            assert head in defined or head.startswith("none"), (key, src)
    unknown = table["LicenseRef-Unknown"]
    assert not any(unknown.allows(p) for p in PERMISSION_FIELDS)  # unknown permits nothing


def test_parse_and_validate():
    assert normalise_license("cc-by-4.0 or cc0-1.0") == "CC-BY-4.0 OR CC0-1.0"
    assert str(parse_license("LicenseRef-LDC-Non-Member-Agreement")) == "LicenseRef-LDC-Non-Member-Agreement"
    for ref in PROJECT_LICENSE_REFS:
        assert validate_license(ref) is None
    for bad, why in [
        ("CC-BY-4.0 AND", "AND requires"),
        ("(CC-BY-4.0", "Invalid"),
        ("Not-A-License", "Unknown license key"),
        ("LicenseRef-Made-Up", "not a registered LicenseRef"),
        ("", "empty"),
    ]:
        with pytest.raises(InputError, match=why):
            parse_license(bad, source="manifest.csv line 3")
        assert why.split()[0].lower() in validate_license(bad).lower()


@pytest.mark.parametrize(
    "expr, allowed, reason",
    [
        ("CC-BY-4.0", True, None),
        ("CC0-1.0", True, None),
        ("CC-BY-SA-3.0", True, None),
        ("CC-BY-NC-4.0", False, "CC-BY-NC-4.0: no commercial use"),
        ("CC-BY-ND-4.0", False, "CC-BY-ND-4.0: adapted material may not be shared"),
        ("CC-BY-NC-ND-3.0", False, "no derivatives"),
        ("LicenseRef-LDC-Non-Member-Agreement", False, "no commercial use"),
        ("LicenseRef-Proprietary-Contract", True, None),
        ("LicenseRef-Unknown", False, "permits nothing"),
        ("MIT", False, "no entry in the permissions table"),
        # AND: every term must allow
        ("CC-BY-4.0 AND CC-BY-NC-4.0", False, "CC-BY-NC-4.0: no commercial use"),
        ("CC-BY-4.0 AND LicenseRef-Unknown", False, "permits nothing"),
        # OR: any choice that allows is enough
        ("CC-BY-NC-4.0 OR CC-BY-4.0", True, None),
        ("CC-BY-NC-4.0 OR CC-BY-ND-4.0", False, "no choice of"),
        ("(CC-BY-NC-4.0 OR CC0-1.0) AND CC-BY-SA-4.0", True, None),
        ("CC-BY-4.0 WITH Classpath-exception-2.0", True, None),
    ],
)
def test_commercial_training_permissions(expr, allowed, reason):
    v = evaluate_license(expr, COMMERCIAL_TRAINING)
    assert v.allowed is allowed
    if reason:
        assert any(reason in r for r in v.reasons), v.reasons
    else:
        assert v.reasons == ()


def test_research_and_redistribution_and_duties():
    assert evaluate_license("CC-BY-NC-ND-4.0", ["derivatives"]).allowed  # private adaptation is licensed in 4.0
    assert not evaluate_license("CC-BY-NC-ND-3.0", ["derivatives"]).allowed  # 3.0 ND has no adaptation right
    assert not evaluate_license("LicenseRef-LDC-Non-Member-Agreement", ["redistribution"]).allowed
    v = evaluate_license("CC-BY-SA-4.0 OR CC-BY-NC-4.0", COMMERCIAL_TRAINING)
    assert v.allowed and v.licenses == ("CC-BY-SA-4.0",)
    assert v.duties == ("attribution (CC-BY-SA-4.0)", "share-alike (CC-BY-SA-4.0)")


def test_bad_expressions_are_verdicts_not_crashes():
    for expr in (None, "", "   ", "CC-BY-4.0 AND", "AND OR", "((", "CC-BY-4.0 WITH", "LicenseRef-Nope"):
        v = evaluate_license(expr, COMMERCIAL_TRAINING)
        assert not v.allowed and v.reasons


def test_user_permissions_file_overrides_and_registers(tmp_path):
    f = tmp_path / "perms.json"
    f.write_text(json.dumps({"licenses": {
        "LicenseRef-Acme-Data-Contract": {"name": "Acme", "commercial_use": True, "derivatives": True,
                                          "share_derivatives": True, "redistribution": False,
                                          "sources": ["contract 2025-17 s.4"]},
        "MIT": {"commercial_use": True, "derivatives": True, "share_derivatives": True, "redistribution": True,
                "attribution": True, "sources": ["https://spdx.org/licenses/MIT.html"]},
    }}))
    table = load_permissions(f)
    assert evaluate_license("LicenseRef-Acme-Data-Contract", COMMERCIAL_TRAINING, table).allowed
    assert evaluate_license("MIT", COMMERCIAL_TRAINING, table).allowed
    assert not evaluate_license("LicenseRef-Acme-Data-Contract", ["redistribution"], table).allowed
    f.write_text(json.dumps({"licenses": {"MIT": {"commercial_use": "yes"}}}))
    with pytest.raises(InputError, match="true or false"):
        load_permissions(f)


def test_a_team_entry_spelled_in_another_case_replaces_ours(tmp_path):
    """SPDX ids ignore case: a team's `cc-by-4.0` (no commercial use, as its counsel reads it) is the
    table's CC-BY-4.0. Before, it sat beside the packaged `CC-BY-4.0`, which decided: allowed."""
    ours = {"name": "CC BY 4.0 as our counsel reads it", "commercial_use": False, "derivatives": True,
            "share_derivatives": True, "redistribution": True, "attribution": True, "sources": ["memo 12"]}
    f = tmp_path / "perms.json"
    f.write_text(json.dumps({"licenses": {"cc-by-4.0": ours}}))
    table = load_permissions(f)
    for spelling in ("CC-BY-4.0", "cc-by-4.0", "CC-BY-4.0 AND CC0-1.0"):
        v = evaluate_license(spelling, COMMERCIAL_TRAINING, table)
        assert not v.allowed and any("no commercial use" in r for r in v.reasons), (spelling, v)
    assert evaluate_license("CC-BY-4.0", ["redistribution"], table).allowed
    assert table["CC-BY-4.0"].name == ours["name"]
    f.write_text(json.dumps({"licenses": {"cc-by-4.0": ours, "CC-BY-4.0": {**ours, "commercial_use": True}}}))
    with pytest.raises(InputError, match="name the same license"):  # which of the two would decide?
        load_permissions(f)
    f.write_text(json.dumps({"licenses": {"licenseref-our-panel": {**ours, "commercial_use": True}}}))
    table = load_permissions(f)
    assert evaluate_license("LicenseRef-our-panel", COMMERCIAL_TRAINING, table).allowed
    assert normalise_license("licenseref-our-panel", table) == "LicenseRef-our-panel"  # cards name it so
