"""An organisation's DPIA risk matrix: the portal's default until an
administrator sets their own (issue 21). Every change is audited with the
cells before and after, since it changes the level of every risk in every
DPIA of the organisation that is not yet decided."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from ...models import Organisation, User
from ...questionnaire.risk import (
    DEFAULT_MATRIX,
    LIKELIHOODS,
    SEVERITIES,
    Matrix,
    cell_key,
    matrix_from_stored,
    matrix_problems,
)
from ..errors import ServiceError
from ..platform.audit import record_event


def matrix_for(organisation: Organisation) -> Matrix:
    return matrix_from_stored(organisation.risk_matrix)


def is_own(organisation: Organisation) -> bool:
    """Whether the organisation set a matrix that differs from the default."""
    return matrix_for(organisation) != DEFAULT_MATRIX


def _stored(matrix: Matrix) -> dict[str, str]:
    return {cell_key(lk, sv): matrix[(lk, sv)] for lk in LIKELIHOODS for sv in SEVERITIES}


def set_matrix(
    session: Session, organisation: Organisation, actor: User, cells: Mapping[str, str]
) -> None:
    """Save the organisation's matrix from form cells ('possible_severe' ->
    'high'), or raise with every problem, naming the first cell at fault."""
    matrix = {(lk, sv): cells.get(cell_key(lk, sv), "") for lk in LIKELIHOODS for sv in SEVERITIES}
    problems = matrix_problems(matrix)
    if problems:
        raise ServiceError("; ".join(problems), "matrix")
    before = _stored(matrix_for(organisation))
    after = _stored(matrix)
    if before == after:
        return
    # None while it is the default, so a later change of the default reaches
    # organisations that never chose their own.
    organisation.risk_matrix = None if matrix == DEFAULT_MATRIX else after
    record_event(
        session,
        "risk_matrix_changed",
        organisation=organisation,
        actor=actor,
        changed={
            key: f"{before[key]} to {after[key]}" for key in after if before[key] != after[key]
        },
    )
    session.flush()
