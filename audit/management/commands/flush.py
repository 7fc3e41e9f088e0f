"""Django's `flush`, able to empty the audit tables on PostgreSQL, and leaving the audit trail
writable afterwards.

Their BEFORE TRUNCATE triggers (migrations 0005, 0006) refuse any TRUNCATE, and flush empties
tables with TRUNCATE. Flushing the whole database is a deliberate act of the tables' owner (the
test runner does it between transactional tests, `flush` asks first otherwise), and the owner
may switch triggers off anyway; so this command switches the audit tables' TRUNCATE triggers
off around Django's own flush, in one transaction: they are back on when it ends, whatever
happens, and no other session ever sees them off.

Flush also removes the chain head row that migration 0002 created, without which no event can
be written; it is put back (an empty chain), as a fresh migrate leaves it.
"""

from django.core.management.commands import flush
from django.db import connections, transaction

from audit.models import AuditChainHead

GUARDED = ("audit_auditevent", "audit_auditchainhead", "audit_auditcheckpoint")
TRUNCATE_TRIGGERS = (
    "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
    "WHERE t.tgname = c.relname || '_no_truncate' AND c.relname = ANY(%s)"
)


class Command(flush.Command):
    def handle(self, **options):
        connection = connections[options["database"]]
        with transaction.atomic(using=connection.alias):
            triggers = []
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(TRUNCATE_TRIGGERS, [list(GUARDED)])
                    triggers = cursor.fetchall()
                    for table, trigger in triggers:
                        cursor.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER "{trigger}"')
            super().handle(**options)
            with connection.cursor() as cursor:
                for table, trigger in triggers:
                    cursor.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER "{trigger}"')
            if AuditChainHead._meta.db_table in connection.introspection.table_names():
                AuditChainHead.objects.using(connection.alias).get_or_create(pk=1)
