from django.core.management.base import BaseCommand

from governance.demo import DEMO_PASSWORD, DEMO_USERS, seed_demo


class Command(BaseCommand):
    help = "Create the demo users (one per role) and demo models at every risk tier."

    def handle(self, *args, **options):
        result = seed_demo()
        self.stdout.write(f"Demo models created: {result['models_created']}")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, roles in DEMO_USERS:
            self.stdout.write(f"  {username:<10} {', '.join(roles)}")
