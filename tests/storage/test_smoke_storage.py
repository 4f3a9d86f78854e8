"""The schema migrates and tenants authenticate on both backends."""

from segmentd.storage.db import Database
from segmentd.storage.tenants import authenticate, default_list_id
from tests.conftest import Tenant


def test_tenant_authenticates_and_has_a_default_list(db: Database, tenant: Tenant) -> None:
    with db.read() as conn:
        assert authenticate(conn, tenant.api_user, tenant.api_key) == tenant.id
        assert authenticate(conn, tenant.api_user, tenant.api_key + "x") is None
        assert authenticate(conn, "nobody", tenant.api_key) is None
        assert default_list_id(conn, tenant.id) > 0
