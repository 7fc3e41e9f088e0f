"""factory_boy factories: build state directly, so tests exercise one behaviour each."""

from __future__ import annotations

import hashlib

import factory
from django.contrib.auth import get_user_model

from governance.roles import set_roles
from registry.choices import RiskTier, ScanStatus
from registry.models import Artifact, ModelVersion, RegisteredModel
from registry.services import grant_owner_permissions

PASSWORD = "test-pass-1234"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            set_roles(self, list(extracted))


class RegisteredModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RegisteredModel
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"model-{n}")
    description = "A model for tests."
    owner = factory.SubFactory(UserFactory, roles=["Model Owner"])
    risk_tier = RiskTier.MEDIUM
    risk_tier_reason = "MEDIUM: stated by the owner without an assessment"
    tags = factory.LazyFunction(dict)

    @factory.post_generation
    def owner_permissions(self, create, extracted, **kwargs):
        if create:
            grant_owner_permissions(self, self.owner)


class ModelVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelVersion

    model = factory.SubFactory(RegisteredModelFactory)
    version = factory.Sequence(lambda n: f"1.{n}.0")
    description = "A version for tests."
    documentation = "# Model card"
    tags = factory.LazyFunction(dict)
    created_by = factory.LazyAttribute(lambda v: v.model.owner)


class ArtifactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Artifact

    version = factory.SubFactory(ModelVersionFactory)
    name = factory.Sequence(lambda n: f"artifact-{n}.onnx")
    type = "model"
    uri = factory.LazyAttribute(lambda a: f"s3://models/{a.name}")
    sha256 = factory.LazyAttribute(lambda a: hashlib.sha256(a.name.encode()).hexdigest())
    scan_status = ScanStatus.PASSED
    scan_scanner = "trivy"
