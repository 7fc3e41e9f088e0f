"""Registry endpoints: parse, call the service, answer. No rule lives here."""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from core.api.negotiation import FirstRendererNegotiation
from core.api.parsers import StrictJSONParser
from registry import artifacts, downloads, services, uploads
from registry.api.serializers import (
    ArtifactCreateInput,
    ArtifactUpdateInput,
    ArtifactUploadInput,
    ModelCreateInput,
    ModelUpdateInput,
    VersionCreateInput,
    VersionUpdateInput,
)
from registry.filtersets import ModelVersionFilterSet, RegisteredModelFilterSet
from registry.models import Artifact, ModelVersion, RegisteredModel
from registry.shapes import ArtifactOutput, ModelOutput, VersionOutput


def versions_with_artifacts(queryset):
    return queryset.select_related("model", "created_by").prefetch_related(
        Prefetch(
            "artifacts",
            queryset=Artifact.objects.select_related("scanned_by").order_by("created_at", "id"),
        )
    )


def validated(serializer_class, request, **kwargs) -> dict:
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ModelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ModelOutput
    filterset_class = RegisteredModelFilterSet
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return (
            RegisteredModel.objects.visible_to(self.request.user)
            .select_related("owner")
            .order_by("name")
        )

    @extend_schema(request=ModelCreateInput, responses={201: ModelOutput})
    def create(self, request):
        model = services.register_model(actor=request.user, **validated(ModelCreateInput, request))
        return Response(ModelOutput(model).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ModelUpdateInput, responses=ModelOutput)
    def partial_update(self, request, pk=None):
        model = services.update_model(
            self.get_object(), actor=request.user, **validated(ModelUpdateInput, request)
        )
        return Response(ModelOutput(model).data)

    @extend_schema(methods=["get"], responses=VersionOutput(many=True))
    @extend_schema(methods=["post"], request=VersionCreateInput, responses={201: VersionOutput})
    @action(detail=True, methods=["get", "post"], url_path="versions")
    def versions(self, request, pk=None):
        model = self.get_object()
        if request.method == "GET":
            queryset = versions_with_artifacts(model.versions.order_by("-created_at"))
            page = self.paginate_queryset(queryset)
            return self.get_paginated_response(VersionOutput(page, many=True).data)
        version = services.create_version(
            model, actor=request.user, **validated(VersionCreateInput, request)
        )
        # Answered from the objects in hand, not read back: a new version has no artifacts yet,
        # and its model and creator are the ones just used.
        version._prefetched_objects_cache = {"artifacts": Artifact.objects.none()}
        return Response(VersionOutput(version).data, status=status.HTTP_201_CREATED)


class VersionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = VersionOutput
    filterset_class = ModelVersionFilterSet
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        visible = ModelVersion.objects.visible_to(self.request.user)
        if self.action == "artifacts" and self.request.method == "POST":
            # Adding an artifact reads the version's model, not its artifacts.
            return visible.select_related("model")
        return versions_with_artifacts(visible.order_by("-created_at", "-id"))

    @extend_schema(request=VersionUpdateInput, responses=VersionOutput)
    def partial_update(self, request, pk=None):
        version = services.update_version(
            self.get_object(), actor=request.user, **validated(VersionUpdateInput, request)
        )
        return Response(VersionOutput(self.get_queryset().get(pk=version.pk)).data)

    def initialize_request(self, request, *args, **kwargs):
        # Artifact bytes are hashed as they arrive: the handler must be in place before the
        # session authentication's CSRF check reads the body.
        if request.method == "POST" and request.content_type == "multipart/form-data":
            uploads.install(request)
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(methods=["get"], responses=ArtifactOutput(many=True))
    @extend_schema(
        methods=["post"],
        request={
            "application/json": ArtifactCreateInput,
            "multipart/form-data": ArtifactUploadInput,
        },
        responses={
            201: ArtifactOutput,
            413: OpenApiResponse(description="the file is over ARTIFACT_MAX_BYTES"),
        },
        description="JSON: a reference to bytes the registry does not hold (`uri`, `sha256`). "
        "multipart/form-data: the bytes themselves (`file`), streamed to the registry's "
        "storage and hashed by it; the registry then scans them in the background.",
    )
    @action(
        detail=True,
        methods=["get", "post"],
        url_path="artifacts",
        parser_classes=[StrictJSONParser, MultiPartParser],
    )
    def artifacts(self, request, pk=None):
        version = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(
                version.artifacts.select_related("scanned_by").order_by("created_at", "id")
            )
            return self.get_paginated_response(
                ArtifactOutput(page, many=True, context=self.get_serializer_context()).data
            )
        shape = (
            ArtifactUploadInput
            if request.content_type.startswith("multipart/")
            else (ArtifactCreateInput)
        )
        artifact = artifacts.add_artifact(version, actor=request.user, **validated(shape, request))
        return Response(
            ArtifactOutput(artifact, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )


class ArtifactViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ArtifactOutput
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        return Artifact.objects.visible_to(self.request.user).select_related(
            "version__model", "scanned_by"
        )

    @extend_schema(request=ArtifactUpdateInput, responses=ArtifactOutput)
    def partial_update(self, request, pk=None):
        artifact = artifacts.update_artifact(
            self.get_object(), actor=request.user, **validated(ArtifactUpdateInput, request)
        )
        return Response(ArtifactOutput(artifact, context=self.get_serializer_context()).data)

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            409: OpenApiResponse(description="a reference: the registry does not hold the bytes"),
        },
        description="The bytes the registry holds, streamed; the download is audited.",
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="download",
        content_negotiation_class=FirstRendererNegotiation,
    )
    def download(self, request, pk=None):
        artifact = self.get_object()
        return downloads.artifact_response(artifact, actor=request.user)
