from pathlib import Path

from django.conf import settings

from governance.diagram import to_dot, transitions


def test_committed_diagram_matches_the_code():
    committed = (Path(settings.BASE_DIR) / "docs" / "state-machine.dot").read_text()
    assert committed == to_dot(), "run `python manage.py workflow_diagram` and commit the result"


def test_every_contract_move_is_a_transition():
    moves = {(source, target) for source, target, _ in transitions()}
    for move in [
        ("DRAFT", "SUBMITTED"),
        ("CHANGES_REQUIRED", "SUBMITTED"),
        ("SUBMITTED", "CHANGES_REQUIRED"),
        ("SUBMITTED", "MRC_REVIEW"),
        ("SUBMITTED", "APPROVED_STAGING"),
        ("MRC_REVIEW", "SECURITY_REVIEW"),
        ("MRC_REVIEW", "APPROVED_STAGING"),
        ("MRC_REVIEW", "CHANGES_REQUIRED"),
        ("SECURITY_REVIEW", "APPROVED_STAGING"),
        ("SECURITY_REVIEW", "CHANGES_REQUIRED"),
        ("APPROVED_STAGING", "STAGING"),
        ("STAGING", "PRODUCTION_REVIEW"),
        ("STAGING", "APPROVED_PRODUCTION"),
        ("PRODUCTION_REVIEW", "APPROVED_PRODUCTION"),
        ("PRODUCTION_REVIEW", "STAGING"),
        ("APPROVED_PRODUCTION", "PRODUCTION"),
        ("PRODUCTION", "RETIRED"),
    ]:
        assert move in moves
    assert not any(source == "RETIRED" for source, _ in moves)
