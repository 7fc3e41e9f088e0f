import re

from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

_TOKEN_KEY = re.compile(r"^[0-9a-f]{40}$")


class StrictTokenAuthentication(TokenAuthentication):
    """DRF's token auth, refusing malformed keys before they reach the database (a NUL in a
    header would otherwise become a server error on PostgreSQL)."""

    def authenticate_credentials(self, key):
        if not _TOKEN_KEY.match(key):
            raise AuthenticationFailed("Invalid token.")
        return super().authenticate_credentials(key)
