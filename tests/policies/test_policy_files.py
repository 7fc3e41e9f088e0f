import json
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from policies.documents import to_document
from policies.models import Policy

pytestmark = pytest.mark.django_db


def test_default_pack_loads_idempotently(capsys):
    call_command("load_policies", "policies/packs/default.yaml")
    assert "7 created" in capsys.readouterr().out
    call_command("load_policies", "policies/packs/default.yaml")
    assert "7 unchanged" in capsys.readouterr().out
    assert Policy.objects.count() == 7


def test_export_then_load_is_unchanged(tmp_path, capsys):
    call_command("load_policies", "policies/packs/default.yaml")
    before = [to_document(p) for p in Policy.objects.order_by("policy_id")]
    out = tmp_path / "export.json"
    call_command("export_policies", "--format", "json", "--output", str(out))
    assert json.loads(out.read_text()) == before
    call_command("load_policies", str(out))
    assert "7 unchanged" in capsys.readouterr().out


def test_changed_file_updates_and_a_bad_file_is_refused_whole(tmp_path, capsys):
    call_command("load_policies", "policies/packs/default.yaml")
    documents = yaml.safe_load(Path("policies/packs/default.yaml").read_text())
    documents[0]["severity"] = "CRITICAL"
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(documents))
    call_command("load_policies", str(changed))
    assert "1 updated" in capsys.readouterr().out
    assert Policy.objects.get(policy_id=documents[0]["policyId"]).severity == "CRITICAL"
    documents[1]["rules"][0]["condition"] = "nonsense =="
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(documents))
    with pytest.raises(CommandError, match="document 1"):
        call_command("load_policies", str(broken))
