"""SQLAlchemy models: tables only, no behaviour beyond what the ORM needs."""

from .accounts import (
    InvitationStatus,
    LoginFailure,
    Membership,
    MembershipInvitation,
    Organisation,
    OrgKind,
    RecoveryCode,
    Role,
    TokenPurpose,
    User,
    UserToken,
)
from .api_keys import ApiKey, ApiScope
from .audit import AuditEvent
from .base import Base, utcnow
from .directory import CATEGORIES, Adoption, DirectoryEntry, EntryStatus
from .dpia import Dpia, DpiaAnswer, DpiaStatus
from .outbox import OutgoingEmail
from .questionnaires import QuestionnaireVersion
from .requests import (
    ANSWERED_STATUSES,
    DECIDED_STATUSES,
    UNDECIDED_STATUSES,
    Answer,
    Clarification,
    Evidence,
    Request,
    RequestOnBehalf,
    RequestStatus,
    ReuseCode,
)
from .review import FindingReview, RequirementRule
from .standards import (
    Assessment,
    AssessmentAnswer,
    AssessmentFile,
    FeedbackComment,
    FeedbackShare,
    RaciEntry,
    RaciLetter,
    ReminderSent,
    StandardPlan,
    SupplierUse,
)
from .suppliers import Supplier

__all__ = [
    "ANSWERED_STATUSES",
    "DECIDED_STATUSES",
    "UNDECIDED_STATUSES",
    "CATEGORIES",
    "Adoption",
    "Assessment",
    "AssessmentAnswer",
    "AssessmentFile",
    "FeedbackComment",
    "FeedbackShare",
    "RaciEntry",
    "RaciLetter",
    "ReminderSent",
    "StandardPlan",
    "SupplierUse",
    "ApiKey",
    "ApiScope",
    "DirectoryEntry",
    "Dpia",
    "DpiaAnswer",
    "DpiaStatus",
    "EntryStatus",
    "Answer",
    "AuditEvent",
    "Base",
    "Clarification",
    "Evidence",
    "FindingReview",
    "InvitationStatus",
    "LoginFailure",
    "Membership",
    "MembershipInvitation",
    "OrgKind",
    "Organisation",
    "OutgoingEmail",
    "QuestionnaireVersion",
    "RecoveryCode",
    "Request",
    "RequestOnBehalf",
    "ReuseCode",
    "RequestStatus",
    "RequirementRule",
    "Role",
    "Supplier",
    "TokenPurpose",
    "User",
    "UserToken",
    "utcnow",
]
