"""Buyer visit policies over the API: staff read every policy, a buyer only its own (another policy
is 404, so existence does not leak) with each buyer view audited; admins add versions, audited as
``policy.version`` [R-CASE-AUDIT]. A bad document is 422 naming the dotted path of the bad field."""
from __future__ import annotations

from datetime import date

from fastapi import APIRouter, HTTPException, status

from api.deps import DB, People, Principal, audit_buyer_view
from api.errors import WITH_BODY, error, errors
from api.schemas.common import PathText
from api.schemas.policies import PolicyVersionIn, PolicyVersionOut
from core import PolicyError, current_versions, policy_versions, save_policy_version
from core.models import Buyer, Role, VisitPolicyVersion

router = APIRouter(tags=["policies"], responses=errors(*WITH_BODY))
NO_POLICY = error(404, "no such policy, or another buyer's")


def _out(row: VisitPolicyVersion) -> PolicyVersionOut:
    return PolicyVersionOut(name=row.name, version=row.version, effective_from=row.effective_from,
                            source=row.source, created_by=row.created_by, created_at=row.created_at,
                            document=row.document)


def _buyer_policy(db: DB, principal: Principal) -> str | None:
    """The one policy a buyer may see; None for staff, who see all."""
    if principal.buyer_scope is None:
        return None
    return db.get(Buyer, principal.buyer_scope).policy_name


@router.get("/policies", response_model=list[PolicyVersionOut])
def list_policies(db: DB, principal: People) -> list[PolicyVersionOut]:
    """The version of each policy in force today."""
    rows = current_versions(db, date.today())
    if principal.is_buyer:
        own = _buyer_policy(db, principal)
        rows = [r for r in rows if r.name == own]
        audit_buyer_view(db, principal, "view", "policies")
    return [_out(r) for r in rows]


@router.get("/policies/{name}", response_model=list[PolicyVersionOut], responses=NO_POLICY)
def get_policy(name: PathText, db: DB, principal: People) -> list[PolicyVersionOut]:
    """Every version of one policy, oldest first."""
    if principal.is_buyer and name != _buyer_policy(db, principal):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no policy {name!r}")
    rows = policy_versions(db, name)
    if not rows:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no policy {name!r}")
    audit_buyer_view(db, principal, "view", f"policy:{name}")
    return [_out(r) for r in rows]


@router.post("/policies/{name}/versions", response_model=PolicyVersionOut, status_code=status.HTTP_201_CREATED,
             responses={**NO_POLICY, **error(409, "a version of the policy already starts that day")})
def add_policy_version(name: PathText, body: PolicyVersionIn, db: DB, admin: People) -> PolicyVersionOut:
    """Add a version of a policy, effective from a date (admins only). A buyer naming another buyer's
    policy gets 404 before any role check, so existence does not leak."""
    if admin.is_buyer and name != _buyer_policy(db, admin):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no policy {name!r}")
    if admin.role != Role.admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"role {admin.role.value} may not do this; needs one of admin")
    try:
        row = save_policy_version(db, name, body.document, body.effective_from, actor=admin.actor)
    except PolicyError as exc:
        code = status.HTTP_409_CONFLICT if "already starts" in str(exc) else status.HTTP_422_UNPROCESSABLE_CONTENT
        raise HTTPException(code, str(exc)) from None
    return _out(row)
