"""Policy endpoints. GET returns the guide's document, so an export imports unchanged."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import ListAPIView
from rest_framework.response import Response

from governance.api.workflow_views import visible_version
from policies import services
from policies.api.change_serializers import PolicyChangeOutput
from policies.documents import PolicyDocumentInput, to_document, to_fields, validate_document
from policies.filtersets import PolicyFilterSet
from policies.impact import impact
from policies.models import Policy, PolicyChange, PolicyEvaluation
from policies.selectors import latest_evaluations, readable_policies
from policies.shapes import PolicyEvaluationOutput

DOCUMENT_RESPONSE = OpenApiResponse(description="the policy document (the guide's shape)")
CHANGE_RESPONSES = {
    200: DOCUMENT_RESPONSE,
    202: OpenApiResponse(
        PolicyChangeOutput,
        description="the change relaxes an ACTIVE ENFORCE policy: nothing changed yet, the "
        "PROPOSED change awaits a second person (POST /api/v1/policy-changes/{id}/approve/)",
    ),
    409: OpenApiResponse(description="another relaxing change of this policy awaits a decision"),
}


def document_with_id(policy: Policy) -> dict:
    return {"id": policy.pk, **to_document(policy)}


def change_answer(result: Policy | PolicyChange) -> Response:
    """200 with the policy when the change took effect, 202 with the proposal when it waits."""
    if isinstance(result, PolicyChange):
        return Response(PolicyChangeOutput(result).data, status=status.HTTP_202_ACCEPTED)
    return Response(document_with_id(result))


class PolicyViewSet(viewsets.GenericViewSet):
    lookup_field = "policy_id"
    lookup_url_kwarg = "policyId"
    lookup_value_regex = r"[^/]+"
    filterset_class = PolicyFilterSet
    serializer_class = PolicyDocumentInput

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Policy.objects.none()
        return readable_policies(actor=self.request.user).order_by("policy_id")

    @extend_schema(responses={200: DOCUMENT_RESPONSE})
    def list(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response([document_with_id(p) for p in page])

    @extend_schema(responses={200: DOCUMENT_RESPONSE})
    def retrieve(self, request, policyId=None):
        return Response(document_with_id(self.get_object()))

    @extend_schema(request=PolicyDocumentInput, responses={201: DOCUMENT_RESPONSE})
    def create(self, request):
        document = validate_document(request.data)
        policy = services.create_policy(actor=request.user, document=document)
        return Response(document_with_id(policy), status=status.HTTP_201_CREATED)

    @extend_schema(request=PolicyDocumentInput, responses=CHANGE_RESPONSES)
    def update(self, request, policyId=None):
        policy = self.get_object()
        document = validate_document(request.data)
        return change_answer(services.replace_policy(policy, actor=request.user, document=document))

    @extend_schema(request=PolicyDocumentInput, responses=CHANGE_RESPONSES)
    def partial_update(self, request, policyId=None):
        policy = self.get_object()
        if not isinstance(request.data, dict):
            return Response({"detail": "send a JSON object"}, status=status.HTTP_400_BAD_REQUEST)
        document = validate_document(services.merged_document(policy, request.data))
        return change_answer(services.replace_policy(policy, actor=request.user, document=document))

    @extend_schema(responses={200: OpenApiResponse(description="{policyId, versions: [...]}")})
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None)
    def impact(self, request, policyId=None):
        policy = self.get_object()
        versions = impact(policy, actor=request.user)
        return Response({"policyId": policy.policy_id, "versions": versions})

    @extend_schema(
        request=PolicyDocumentInput,
        responses={200: OpenApiResponse(description="{policyId, versions: [...]}, nothing saved")},
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="dry-run",
        filterset_class=None,
        pagination_class=None,
    )
    def dry_run(self, request):
        """Which versions an unsaved policy document would pass or fail now."""
        self.get_queryset()  # the same read rule as the list
        document = validate_document(request.data)
        candidate = Policy(**to_fields(document))
        versions = impact(candidate, actor=request.user)
        return Response({"policyId": candidate.policy_id, "versions": versions})


class VersionPolicyEvaluationsView(ListAPIView):
    """The latest evaluation of every policy in scope on the version, per environment."""

    serializer_class = PolicyEvaluationOutput

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return PolicyEvaluation.objects.none()
        return latest_evaluations(visible_version(self.request, self.kwargs["pk"]))
