from django.core.management.base import BaseCommand, CommandError

from core.choices import Role
from governance.users import create_or_update_user


class Command(BaseCommand):
    help = "Create (or update) a user with the given roles."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--password", help="set this password (else unchanged / unusable)")
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--role",
            action="append",
            required=True,
            choices=Role.values,
            dest="roles",
            help="a role to hold; repeat for several",
        )

    def handle(self, *args, username, password, email, roles, **options):
        try:
            user, created = create_or_update_user(
                username, password=password, email=email, roles=roles
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} {user.username} with roles: {', '.join(sorted(roles))}")
