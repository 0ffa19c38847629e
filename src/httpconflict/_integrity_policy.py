"""From an integrity violation to the answer: which status, which problem, which fields.

The default mapping (configurable per problem type):

    unique       409 unique-violation       the request conflicts with a record that exists
    exclusion    409 exclusion-violation
    foreign key  409 still-referenced       a delete or key change of a row others point to
    foreign key  422 foreign-key-violation  a reference to a row that does not exist
    not null     422 not-null-violation     the request is invalid, not conflicting
    check        422 check-violation

Each answer is an RFC 9457 problem whose ``conflicts`` member names the
fields and the constraint: ``[{"fields": ["email"], "constraint":
"users_email_key"}]``. The offending values belong to another caller's
record, so they appear (as ``values``) only when `expose_values` is set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from . import _problem
from ._errors import ProblemError
from ._integrity import Violation, ViolationKind, classify
from ._problem import ProblemDetails, ProblemType

_TYPES: Final = {
    ViolationKind.UNIQUE: _problem.UNIQUE_VIOLATION,
    ViolationKind.EXCLUSION: _problem.EXCLUSION_VIOLATION,
    ViolationKind.NOT_NULL: _problem.NOT_NULL_VIOLATION,
    ViolationKind.FOREIGN_KEY: _problem.FOREIGN_KEY_VIOLATION,
    ViolationKind.CHECK: _problem.CHECK_VIOLATION,
}


def problem_type_of(violation: Violation) -> ProblemType:
    """The problem type a violation is answered with."""
    if violation.kind is ViolationKind.FOREIGN_KEY and violation.referenced:
        return _problem.STILL_REFERENCED
    return _TYPES[violation.kind]


FieldNames = Mapping[str, str] | Callable[[Violation], Sequence[str]]


@dataclass(frozen=True, slots=True)
class IntegrityPolicy:
    """How violations become problem details.

    `status` overrides the status per problem type slug, e.g.
    ``{"foreign-key-violation": 409}``. `fields` renames database columns
    to the API's field names, by ``"table.column"`` or ``"column"``, or is a
    function of the violation. `expose_values` adds the offending values;
    `expose_constraint` (on by default) names the constraint.
    """

    status: Mapping[str, int] = field(default_factory=dict)
    fields: FieldNames | None = None
    expose_values: bool = False
    expose_constraint: bool = True

    def field_names(self, violation: Violation) -> list[str]:
        if callable(self.fields):
            return list(self.fields(violation))
        names = self.fields or {}
        table = violation.table or ""
        return [names.get(f"{table}.{c}", names.get(c, c)) for c in violation.columns]

    def problem(self, violation: Violation, *, instance: str | None = None) -> ProblemDetails:
        """The problem details answering `violation`."""
        problem_type = problem_type_of(violation)
        fields = self.field_names(violation)
        conflict: dict[str, Any] = {"fields": fields}
        if self.expose_constraint and violation.constraint is not None:
            conflict["constraint"] = violation.constraint
        if self.expose_values and violation.values is not None:
            conflict["values"] = list(violation.values)
        return ProblemDetails(
            type=problem_type.uri,
            title=problem_type.title,
            status=self.status.get(problem_type.slug, problem_type.status),
            detail=_detail(violation, fields),
            instance=instance,
            extensions={"conflicts": [conflict]},
        )


DEFAULT_POLICY: Final = IntegrityPolicy()


def _detail(violation: Violation, fields: Sequence[str]) -> str:
    named = " and ".join(", ".join(fields).rsplit(", ", 1)) if fields else ""
    match violation.kind:
        case ViolationKind.UNIQUE if named:
            noun = "value" if len(fields) == 1 else "combination of values"
            return f"Another record already has this {noun} for {named}."
        case ViolationKind.UNIQUE:
            return "Another record already has these values."
        case ViolationKind.EXCLUSION:
            return f"It overlaps a record that exists{f' ({named})' if named else ''}."
        case ViolationKind.NOT_NULL:
            return f"{named or 'A required field'} must have a value."
        case ViolationKind.FOREIGN_KEY if violation.referenced:
            return "Other records still refer to this one."
        case ViolationKind.FOREIGN_KEY:
            return f"{named or 'A reference'} refers to a record that does not exist."
        case _:
            return f"The value of {named or 'a field'} is not allowed."


class ConstraintViolated(ProblemError):
    """The database refused a write: unique, exclusion (409) or not-null, FK, check (422).

    Raise it from the driver's error (``raise ConstraintViolated(v) from exc``)
    to answer with the problem and keep the cause.
    """

    problem_type = _problem.UNIQUE_VIOLATION

    def __init__(self, violation: Violation, *, policy: IntegrityPolicy = DEFAULT_POLICY) -> None:
        self.violation = violation
        self.problem_type = problem_type_of(violation)
        problem = policy.problem(violation)
        super().__init__(problem.detail or self.problem_type.title)
        self.problem = problem


class Completes(Protocol):
    """What fills in a violation's columns: a `Catalog`, or a cache of one."""

    def complete(self, violation: Violation) -> Violation: ...


def integrity_error(
    exc: BaseException,
    *,
    policy: IntegrityPolicy = DEFAULT_POLICY,
    catalog: Completes | None = None,
) -> ConstraintViolated | None:
    """The `ConstraintViolated` for a database error, or None when it is not one."""
    violation = classify(exc)
    if violation is None:
        return None
    if catalog is not None:
        violation = catalog.complete(violation)
    return ConstraintViolated(violation, policy=policy)


def integrity_problem(
    exc: BaseException,
    *,
    policy: IntegrityPolicy = DEFAULT_POLICY,
    catalog: Completes | None = None,
) -> ProblemDetails | None:
    """The problem details for a database error, or None when it is not an integrity error."""
    error = integrity_error(exc, policy=policy, catalog=catalog)
    return None if error is None else error.problem
