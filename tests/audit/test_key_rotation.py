"""Rotating the audit signing key (`manage.py audit_signing_key --rotate`): the chain is sealed
under the old key, the new key endorses the old one, and every checkpoint — before and after —
keeps verifying. An endorsement nobody trusted made (a key dropped into the folder, a forged or
altered endorsement) never makes an old key trusted."""

from __future__ import annotations

import io
import json
import os
import stat

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command

from audit import signing
from audit.choices import AuditAction, EventType
from audit.models import AuditCheckpoint, AuditEvent
from audit.services import ChainBroken, make_checkpoint, record_event, verify_chain

pytestmark = pytest.mark.django_db


def _events(n: int) -> None:
    for i in range(n):
        record_event(EventType.MODEL_REGISTRY, AuditAction.UPDATE_MODEL, details={"i": i})


def rotate() -> str:
    out = io.StringIO()
    call_command("audit_signing_key", "--rotate", stdout=out)
    return out.getvalue()


def test_checkpoints_signed_before_and_after_a_rotation_all_verify():
    _events(3)
    make_checkpoint()
    old_id = signing.key_id(signing.public_key())
    output = rotate()
    new_id = signing.key_id(signing.public_key())
    assert new_id != old_id
    assert f"retired key id: {old_id}" in output and f"new key id: {new_id}" in output
    _events(2)
    make_checkpoint()

    keys = list(AuditCheckpoint.objects.order_by("number").values_list("key_id", flat=True))
    # Ours, the seal under the old key, the first under the new, and one more.
    assert keys == [old_id, old_id, new_id, new_id]
    verdict = verify_chain()
    assert verdict.valid, verdict.reason
    assert verdict.checkpoints == 4


def test_the_rotation_is_audited_and_the_files_are_private(settings):
    rotate()
    event = AuditEvent.objects.get(action=AuditAction.ROTATE_SIGNING_KEY)
    assert event.user_id == "system"
    assert event.details["keyId"] == signing.key_id(signing.public_key())
    endorsement = signing.endorsement_path(event.details["keyId"])
    assert endorsement.exists()
    assert stat.S_IMODE(os.stat(signing.key_path()).st_mode) == 0o600
    # The staged file was renamed into place, not left beside it.
    assert [p.name for p in signing.key_path().parent.glob(".*.new")] == []


def test_two_rotations_chain_their_endorsements():
    make_checkpoint()
    first = signing.key_id(signing.public_key())
    rotate()
    second = signing.key_id(signing.public_key())
    rotate()
    predecessors = signing.endorsed_predecessors(signing.public_key())
    assert set(predecessors) == {first, second}
    assert verify_chain().valid


def test_without_the_endorsement_the_old_checkpoints_do_not_verify():
    make_checkpoint()
    rotate()
    signing.endorsement_path(signing.key_id(signing.public_key())).unlink()
    verdict = verify_chain()
    assert not verdict.valid
    assert "not the registry's signing key" in verdict.reason


def test_an_endorsement_signed_by_another_key_is_not_trusted():
    """Someone who can write the folder but does not hold the current key writes an
    endorsement of their own key: checkpoints they forge with it still fail."""
    make_checkpoint()
    rotate()
    current_id = signing.key_id(signing.public_key())
    path = signing.endorsement_path(current_id)
    document = json.loads(path.read_text())
    intruder = Ed25519PrivateKey.generate()
    document["predecessorPublicKey"] = signing.public_pem(intruder.public_key())
    document["predecessorKeyId"] = signing.key_id(intruder.public_key())
    path.write_text(json.dumps(document))
    assert signing.endorsed_predecessors(signing.public_key()) == {}
    assert not verify_chain().valid


@pytest.mark.parametrize("content", ["not json", "{}", '{"predecessorPublicKey": 5}'])
def test_a_damaged_endorsement_trusts_nothing_and_raises_nothing(content):
    make_checkpoint()
    rotate()
    signing.endorsement_path(signing.key_id(signing.public_key())).write_text(content)
    assert signing.endorsed_predecessors(signing.public_key()) == {}
    assert not verify_chain().valid


def test_rotation_needs_the_current_key(settings, tmp_path):
    settings.AUDIT_SIGNING_KEY_FILE = tmp_path / "absent.pem"
    with pytest.raises(CommandError, match="does not exist"):
        rotate()


def test_a_host_still_holding_the_retired_key_refuses_to_sign_after_a_rotation():
    """Rotated on one host; another still has the old key file: it must not sign (its
    checkpoint would break the chain for good), and the chain stays valid."""
    make_checkpoint()
    old_pem = signing.key_path().read_bytes()
    rotate()
    new_pem = signing.key_path().read_bytes()
    signing.key_path().write_bytes(old_pem)
    with pytest.raises(ChainBroken, match="rotated on another host"):
        make_checkpoint()
    signing.key_path().write_bytes(new_pem)
    assert verify_chain().valid


def test_a_checkpoint_signed_with_a_retired_key_after_its_successor_is_refused():
    """The old key leaked: a checkpoint signed with it (around make_checkpoint, as someone
    holding the key and the database would) after the rotation fails verification."""
    from django.utils import timezone

    from audit import checkpoints as checkpoint_docs
    from audit.models import AuditChainHead, canonical_timestamp

    make_checkpoint()
    old_pem = signing.key_path().read_bytes()
    rotate()
    new_pem = signing.key_path().read_bytes()
    signing.key_path().write_bytes(old_pem)
    head = AuditChainHead.objects.get(pk=1)
    previous = AuditCheckpoint.objects.order_by("-number").first()
    signed_at = timezone.now()
    document = {
        "number": previous.number + 1,
        "seq": head.seq,
        "headHash": head.hash,
        "signedAt": canonical_timestamp(signed_at),
        "keyId": signing.key_id(signing.public_key()),
        "trigger": "MANUAL",
        "prevSignature": previous.signature,
    }
    AuditCheckpoint(
        number=document["number"],
        seq=document["seq"],
        head_hash=document["headHash"],
        signed_at=signed_at,
        key_id=document["keyId"],
        trigger=document["trigger"],
        prev_signature=document["prevSignature"],
        signature=signing.sign(checkpoint_docs.payload(document)),
    ).save()
    signing.key_path().write_bytes(new_pem)
    verdict = verify_chain()
    assert not verdict.valid
    assert "after its successor" in verdict.reason
