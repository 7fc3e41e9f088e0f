"""Policy change control endpoints: list and read proposed changes, approve or reject them."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from policies import services
from policies.api.change_serializers import PolicyChangeDetailOutput, PolicyChangeOutput
from policies.api.waiver_serializers import DecisionInput
from policies.changes import change_impact
from policies.filtersets import PolicyChangeFilterSet
from policies.models import PolicyChange
from policies.selectors import readable_policy_changes
from registry.api.views import validated

DECISION_RESPONSES = {
    200: PolicyChangeDetailOutput,
    403: OpenApiResponse(
        description="not a Security Architect or MRC member, or the change's own proposer"
    ),
    404: OpenApiResponse(description="no such policy change"),
    409: OpenApiResponse(description="no longer PROPOSED, or the policy changed since"),
}


class PolicyChangeViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Changes relaxing an ACTIVE ENFORCE policy, proposed by one Security Architect and decided
    by a second person (filters `status`, `policy`), newest first."""

    serializer_class = PolicyChangeOutput
    filterset_class = PolicyChangeFilterSet

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return PolicyChange.objects.none()
        return readable_policy_changes(actor=self.request.user).order_by("-created_at", "-id")

    def _detail(self, change):
        impact = change_impact(change, actor=self.request.user)
        return PolicyChangeDetailOutput(change, context={"impact": impact}).data

    @extend_schema(responses={200: PolicyChangeDetailOutput})
    def retrieve(self, request, pk=None):
        """The change, with the dry run of its document against the versions you may see."""
        return Response(self._detail(self.get_object()))

    def _decide(self, request, name: str):
        data = validated(DecisionInput, request)
        decided = services.CHANGE_DECISIONS[name](self.get_object(), actor=request.user, **data)
        return Response(self._detail(self.get_queryset().get(pk=decided.pk)))

    @extend_schema(request=DecisionInput, responses=DECISION_RESPONSES)
    @action(detail=True, methods=["post"], filterset_class=None)
    def approve(self, request, pk=None):
        """Approve: the proposed document becomes the policy's at once."""
        return self._decide(request, "approve")

    @extend_schema(request=DecisionInput, responses=DECISION_RESPONSES)
    @action(detail=True, methods=["post"], filterset_class=None)
    def reject(self, request, pk=None):
        return self._decide(request, "reject")
