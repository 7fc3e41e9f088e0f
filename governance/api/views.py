from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.fields import StrictInputSerializer
from core.roles import roles_of
from governance.lockout import LockedOut, is_locked_out
from governance.users import issue_token


class TokenInput(StrictInputSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=1000, trim_whitespace=False)


class TokenOutput(serializers.Serializer):
    token = serializers.CharField()


class MeOutput(serializers.Serializer):
    username = serializers.CharField()
    email = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())


class ObtainTokenView(APIView):
    """Exchange a username and password for an API token (`Authorization: Token <key>`).

    The password is checked by `django.contrib.auth.authenticate` with the request, so
    django-axes counts the failures here as on the login page and refuses a locked-out
    username or address (429, Retry-After) without checking the password."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=TokenInput,
        responses={
            200: TokenOutput,
            400: OpenApiResponse(description="wrong username or password"),
            429: OpenApiResponse(
                description="too many failed logins for this username or address, or too "
                "many requests; Retry-After says when to try again"
            ),
        },
    )
    def post(self, request):
        serializer = TokenInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(request, **serializer.validated_data)
        if is_locked_out(request):
            raise LockedOut(request)
        if user is None or not user.is_active:
            return Response(
                {"detail": "unable to log in with the given username and password"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response({"token": issue_token(user).key})


class MeView(APIView):
    @extend_schema(responses=MeOutput)
    def get(self, request):
        user = request.user
        return Response(
            {"username": user.username, "email": user.email, "roles": sorted(roles_of(user))}
        )
