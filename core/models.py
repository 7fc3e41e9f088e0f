from django.conf import settings
from django.db import models


class SsoIdentity(models.Model):
    """Who a single-sign-on user is at the identity provider: its issuer and the subject (`sub`)
    it never reassigns. Single sign-on logs a person into the account this row names and no
    other: not a local (break-glass or service) account of the same username, and not the
    account of someone whose username the bank has since given to another person."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identity"
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="sso_identity_unique")
        ]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"
