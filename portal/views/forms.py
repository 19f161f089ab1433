"""Forms for the portal's own pages (questionnaire forms come from the engine)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    FileField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from ..models import CATEGORIES, SigningRole
from ..questionnaire.forms import DateAnswerField, SelectChoice

EMAIL_FORMAT = "Enter an email address in the correct format, like name@example.com"


class OneLine:
    """A name, role or title is one line: a line break in one would break the
    subject line of every email it is written into (and means nothing)."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __call__(self, form: FlaskForm, field: Field) -> None:
        if field.data and any(c in field.data for c in "\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029"):
            raise ValidationError(self.message)


class LoginForm(FlaskForm):
    email = EmailField("Email address", validators=[InputRequired("Enter your email address")])
    password = PasswordField("Password", validators=[InputRequired("Enter your password")])


class CodeForm(FlaskForm):
    code = StringField(
        "Code",
        description="The 6-digit code in your authenticator app, or one of your recovery codes.",
        validators=[
            InputRequired("Enter the code from your authenticator app"),
            Length(max=20, message="Enter the 6-digit code, or a recovery code"),
        ],
    )


class ReuseCodeForm(FlaskForm):
    code = StringField(
        "Code",
        description="The 6 digits in the email we sent.",
        validators=[
            InputRequired("Enter the 6-digit code from the email"),
            Length(max=20, message="Enter the 6-digit code from the email"),
        ],
    )


def _stripped(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class ReuseAddressForm(FlaskForm):
    email = EmailField(
        "Email address your earlier answers were submitted from",
        description="The address that other organisation sent its questionnaire to.",
        validators=[
            InputRequired("Enter the email address your earlier answers were submitted from"),
            Length(max=320, message="Enter an email address of 320 characters or fewer"),
            Email(EMAIL_FORMAT),
        ],
        # A space copied in with an address is not a different address.
        filters=[_stripped],
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        "Email address",
        validators=[InputRequired("Enter your email address"), Email(EMAIL_FORMAT)],
    )


class ChangePasswordForm(FlaskForm):
    current = PasswordField(
        "Your current password", validators=[InputRequired("Enter your current password")]
    )
    password = PasswordField(
        "New password",
        description="At least 12 characters. Three or four unrelated words work well.",
        validators=[InputRequired("Enter a new password")],
    )
    confirm = PasswordField(
        "Type the new password again", validators=[InputRequired("Type the new password again")]
    )

    def validate_confirm(self, field: PasswordField) -> None:
        if field.data != self.password.data:
            raise ValidationError("The passwords do not match")


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        "Choose a password",
        description="At least 12 characters. Three or four unrelated words work well.",
        validators=[InputRequired("Enter a password")],
    )
    confirm = PasswordField(
        "Type the password again", validators=[InputRequired("Type the password again")]
    )

    def validate_confirm(self, field: PasswordField) -> None:
        if field.data != self.password.data:
            raise ValidationError("The passwords do not match")


class InviteUserForm(FlaskForm):
    name = StringField(
        "Full name",
        validators=[
            OneLine("Enter their name on one line"),
            InputRequired("Enter their full name"),
            Length(max=200, message="Name must be 200 characters or fewer"),
        ],
    )
    email = EmailField(
        "Email address",
        validators=[InputRequired("Enter their email address"), Email(EMAIL_FORMAT)],
    )
    role = SelectField(
        "Role",
        choices=[
            SelectChoice("viewer", "Viewer: can see requests and answers"),
            SelectChoice("reviewer", "Reviewer: can also send requests and review answers"),
            SelectChoice("admin", "Administrator: can also invite and manage users"),
        ],
        validators=[InputRequired("Choose a role")],
    )


class ApiKeyForm(FlaskForm):
    name = StringField(
        "Name",
        description="What the key is for, so you recognise it later. For example, Trust tracker sync.",
        validators=[
            OneLine("Enter the key's name on one line"),
            InputRequired("Enter a name for the key, for example Trust tracker sync"),
            Length(max=100, message="The name must be 100 characters or fewer"),
        ],
    )
    scope = RadioField(
        "What the key may do",
        choices=[
            SelectChoice("read", "Read: requests, answers, findings, exports and the directory"),
            SelectChoice(
                "write",
                "Read and write: also send requests, manage links, ask for clarification and decide",
            ),
        ],
        validators=[InputRequired("Choose what the key may do")],
    )


class NewRequestForm(FlaskForm):
    questionnaire = SelectField(
        "Questionnaire",
        validators=[InputRequired("Choose a questionnaire")],
        validate_choice=False,  # validate_questionnaire says it in clearer words
    )
    supplier_name = StringField(
        "Supplier name",
        description="The company or service you are checking, for example Acme IT Services Ltd.",
        validators=[
            OneLine("Enter the supplier's name on one line"),
            InputRequired("Enter the supplier's name"),
            Length(max=200, message="Supplier name must be 200 characters or fewer"),
        ],
    )
    contact_name = StringField(
        "Contact's full name",
        validators=[
            OneLine("Enter the contact's name on one line"),
            InputRequired("Enter the name of the person who will answer"),
            Length(max=200, message="Name must be 200 characters or fewer"),
        ],
    )
    contact_email = EmailField(
        "Contact's email address",
        description="We will email the questionnaire link to this address.",
        validators=[InputRequired("Enter the contact's email address"), Email(EMAIL_FORMAT)],
    )
    due_date = DateAnswerField(
        "Due date",
        description="Optional. The date you need the answers by.",
        validators=[Optional()],
    )
    link_days = IntegerField(
        "How long the link works, in days",
        description="Between 1 and 90. The supplier can save and come back until then; you can extend it later.",
        default=30,
        validators=[Optional(), NumberRange(1, 90, "Enter a number of days between 1 and 90")],
    )
    message = TextAreaField(
        "Message to the supplier",
        description="Optional. Shown on the email and the first page of the questionnaire.",
        validators=[Length(max=2000, message="Message must be 2,000 characters or fewer")],
    )

    on_behalf_of = SelectMultipleField(
        "On behalf of which of our schools",
        description="Optional. The supplier answers once; each school sees the answers "
        "against its own requirements, and the supplier in its register.",
        validators=[Optional()],
        validate_choice=False,  # the service keeps to the trust's own schools
    )

    def validate_questionnaire(self, field: SelectField) -> None:
        # iter_choices gives (value, label, ...) for tuples and SelectChoice alike.
        if field.data and field.data not in {str(c[0]) for c in field.iter_choices()}:
            raise ValidationError("Choose a questionnaire from the list")


class DeclarationForm(FlaskForm):
    declared_name = StringField(
        "Your full name",
        validators=[
            OneLine("Enter your name on one line"),
            InputRequired("Enter your full name"),
            Length(max=200, message="Name must be 200 characters or fewer"),
        ],
    )
    declared_role = StringField(
        "Your role",
        description="For example, Managing Director or Data Protection Officer.",
        validators=[
            OneLine("Enter your role on one line"),
            InputRequired("Enter your role"),
            Length(max=200, message="Role must be 200 characters or fewer"),
        ],
    )
    accurate = BooleanField(
        "I confirm these answers are accurate and complete to the best of my knowledge, "
        "and that I may give them for my organisation",
        validators=[InputRequired("Confirm that the answers are accurate to submit them")],
    )
    directory_consent = BooleanField(
        "The curated due-diligence directory may publish these answers, so that other schools "
        "can reuse them (optional)"
    )
    reuse_consent = BooleanField(
        "When another organisation asks us for this questionnaire, we may start from these "
        "answers, after typing a code emailed to the address this one was sent to (optional)"
    )


class RuleForm(FlaskForm):
    """One question's rule in a requirement profile; choices are set per question."""

    operator = SelectField(
        "The supplier's answer",
        validators=[InputRequired("Choose a rule")],
        validate_choice=False,  # the service says which rules fit this question
    )
    values = SelectMultipleField("Answers the rule names", choices=[], validate_choice=False)
    value = StringField(
        "Value",
        description="A number: the limit, the number of days, or how many rows, files or choices.",
        validators=[Length(max=500)],
    )
    severity = RadioField(
        "Severity",
        choices=[
            SelectChoice("critical", "Critical: a gap makes the rating red"),
            SelectChoice("major", "Major: a gap makes the rating at best amber"),
            SelectChoice("minor", "Minor"),
        ],
        validators=[InputRequired("Choose a severity")],
    )
    off = BooleanField("Do not check this requirement for our school")
    note = TextAreaField(
        "Why our rule differs",
        description="Shown beside the rule to reviewers, and kept in the history.",
        validators=[
            InputRequired("Say why your rule differs from the baseline"),
            Length(max=2000, message="Keep the note to 2,000 characters or fewer"),
        ],
    )


class ReviewFindingForm(FlaskForm):
    outcome = RadioField(
        "Your judgement",
        choices=[
            SelectChoice("met", "Met"),
            SelectChoice("partly_met", "Partly met"),
            SelectChoice("not_met", "Not met"),
            SelectChoice("not_applicable", "Not applicable to us"),
        ],
        validators=[InputRequired("Choose what you judge the finding to be")],
    )
    reason = TextAreaField(
        "Reason",
        description="For example, the compensating control you accept. Shown beside the finding and kept in the history.",
        validators=[
            InputRequired(
                "Say why you judge it differently, for example the compensating control you accept"
            ),
            Length(max=2000, message="Keep the reason to 2,000 characters or fewer"),
        ],
    )


class DecisionForm(FlaskForm):
    outcome = RadioField(
        "Decision",
        choices=[
            SelectChoice("accepted", "Accept"),
            SelectChoice("accepted_with_conditions", "Accept with conditions"),
            SelectChoice("rejected", "Reject"),
        ],
        validators=[InputRequired("Choose accept, accept with conditions or reject")],
    )
    conditions = TextAreaField(
        "Conditions",
        description="Only for accept with conditions. One per line, for example: Sign our data processing agreement by 31/01/2027.",
        validators=[Length(max=5000, message="Keep the conditions to 5,000 characters or fewer")],
    )
    reason = TextAreaField(
        "Reason for the decision",
        validators=[
            InputRequired("Give the reason for your decision"),
            Length(max=5000, message="Keep the reason to 5,000 characters or fewer"),
        ],
    )
    next_review = DateAnswerField(
        "Next review date",
        description="When to check this supplier again. We suggest 12 months: the DfE expects IT support to be reviewed at least once a year.",
        validators=[Optional()],
    )


class FollowUpForm(FlaskForm):
    questionnaire = RadioField(
        "Questionnaire to send", validators=[InputRequired("Choose the questionnaire to send")]
    )
    due_date = DateAnswerField(
        "Due date", description="Optional. Defaults to 30 days from today.", validators=[Optional()]
    )


class ProfileImportForm(FlaskForm):
    workbook = FileField(
        "Your requirements workbook",
        description="An .xlsx file exported from this page, with your changes.",
    )


class EntryForm(FlaskForm):
    """What the curator says about a directory entry."""

    product = StringField(
        "Product or service",
        validators=[
            InputRequired("Enter the product or service name"),
            Length(max=200, message="Keep the name to 200 characters or fewer"),
        ],
    )
    category = SelectField(
        "Category",
        choices=[SelectChoice("", "Choose a category")]
        + [SelectChoice(value, label) for value, label in CATEGORIES],
        validators=[InputRequired("Choose a category")],
    )
    summary = TextAreaField(
        "Curator's summary",
        description="What a school should know, in a few sentences. Needed to publish.",
        validators=[Length(max=5000, message="Keep the summary to 5,000 characters or fewer")],
    )
    rating = RadioField(
        "Rating",
        choices=[
            SelectChoice("green", "Green: no significant gaps"),
            SelectChoice("amber", "Amber: gaps a school should weigh"),
            SelectChoice("red", "Red: serious gaps"),
        ],
        validators=[Optional()],
    )
    conditions = TextAreaField(
        "Known conditions",
        description="Optional. What a school should ask for or check before relying on this.",
        validators=[Length(max=5000, message="Keep the conditions to 5,000 characters or fewer")],
    )
    review_due = DateAnswerField(
        "Review due",
        description="When this assessment should be checked again. 12 months if left blank.",
        validators=[Optional()],
    )
    sources = TextAreaField(
        "Public documents used",
        description="For an assessment you fill in yourself: the privacy notice, terms, security pages and so on, with their dates.",
        validators=[Length(max=5000, message="Keep this to 5,000 characters or fewer")],
    )


class AuthoredEntryForm(EntryForm):
    supplier_name = StringField(
        "Supplier name",
        validators=[
            OneLine("Enter the supplier's name on one line"),
            InputRequired("Enter the supplier's name"),
            Length(max=200, message="Supplier name must be 200 characters or fewer"),
        ],
    )
    questionnaire = SelectField(
        "Questionnaire", validators=[InputRequired("Choose a questionnaire")]
    )


class EvidenceExpiryForm(FlaskForm):
    """The curator dates one question's evidence on a draft entry (issue 26)."""

    question = StringField(
        "Question", validators=[InputRequired("Choose a question"), Length(max=64)]
    )
    expires = DateAnswerField(
        "Expires on",
        description="Leave blank if the documents give no date.",
        validators=[Optional()],
    )


class WithdrawForm(FlaskForm):
    reason = TextAreaField(
        "Why it is withdrawn",
        description="Schools that adopted this entry will see it.",
        validators=[
            InputRequired("Say why the entry is withdrawn: schools that adopted it will see this"),
            Length(max=2000, message="Keep the reason to 2,000 characters or fewer"),
        ],
    )


class DigitalLeadForm(FlaskForm):
    lead = SelectField(
        "SLT digital lead",
        description="A member of the senior leadership team with a login here. "
        "Ask an admin to invite them first if they are not in the list.",
        validators=[InputRequired("Choose the SLT digital lead")],
        validate_choice=False,  # the view says which people may be chosen
    )
    link_governor = StringField(
        "Governor or trustee linked with the digital lead",
        description="Optional. Their name: governors need no login.",
        validators=[
            OneLine("Enter the governor's name on one line"),
            Length(max=200, message="Name must be 200 characters or fewer"),
        ],
    )


class StandardPlanForm(FlaskForm):
    target_date = DateAnswerField(
        "Target date",
        description="When we mean to meet this standard. For example, 31/03/2027.",
        validators=[Optional()],
    )
    next_review_date = DateAnswerField(
        "Next review date",
        description="When we look at this standard again: at least once a year.",
        validators=[Optional()],
    )


class RaciForm(FlaskForm):
    responsible = SelectMultipleField(
        "Responsible: who does the work", validators=[Optional()], validate_choice=False
    )
    accountable = SelectField(
        "Accountable: who answers for it (exactly one)",
        validators=[InputRequired("Choose who is accountable: exactly one person or role")],
    )
    consulted = SelectMultipleField(
        "Consulted: who is asked before", validators=[Optional()], validate_choice=False
    )
    informed = SelectMultipleField(
        "Informed: who is told after", validators=[Optional()], validate_choice=False
    )


class RegisterDetailsForm(FlaskForm):
    category = SelectField(
        "What we use them for",
        choices=[SelectChoice("", "Choose a category")]
        + [SelectChoice(value, label) for value, label in CATEGORIES],
        validators=[Optional()],
    )
    contract_start = DateAnswerField(
        "Contract start", description="Optional. For example, 1/9/2026.", validators=[Optional()]
    )
    contract_end = DateAnswerField(
        "Contract end",
        description="Optional. When it ends or next renews.",
        validators=[Optional()],
    )
    data_held = TextAreaField(
        "The personal data they hold",
        description="Optional. For example: pupils' names, classes and reading levels; staff email addresses.",
        validators=[Length(max=2000, message="Enter 2,000 characters or fewer")],
    )
    notes = TextAreaField(
        "Notes",
        description="Optional.",
        validators=[Length(max=2000, message="Enter 2,000 characters or fewer")],
    )
    next_review_date = DateAnswerField(
        "Next review date",
        description="Optional. Left blank, the date set with the latest decision stands.",
        validators=[Optional()],
    )


class AddSupplierForm(RegisterDetailsForm):
    supplier_name = StringField(
        "Supplier name",
        validators=[
            OneLine("Enter the supplier's name on one line"),
            InputRequired("Enter the supplier's name"),
            Length(max=200, message="Name must be 200 characters or fewer"),
        ],
    )


class DpoAdviceForm(FlaskForm):
    dpo_name = StringField(
        "Who gave the advice",
        description="The DPO, or the DPO service and the adviser's name.",
        validators=[
            OneLine("Enter the name on one line"),
            InputRequired("Enter the name of the DPO (or DPO service) who gave the advice"),
            Length(max=200, message="Keep the name to 200 characters or fewer"),
        ],
    )
    advice = TextAreaField(
        "The DPO's advice",
        description="In the DPO's words where you can: whether the measures are enough, and whether the processing can go ahead.",
        validators=[
            InputRequired("Enter the DPO's advice"),
            Length(max=10_000, message="Keep the advice to 10,000 characters or fewer"),
        ],
    )
    advised_on = DateAnswerField("Date of the advice", validators=[Optional()])


class DpoServiceAdviceForm(DpoAdviceForm):
    """The DPO service's own advice on a DPIA a school shared with it."""

    ico = RadioField(
        "Should the school consult the ICO before the processing starts?",
        description="Yes when a high risk remains that the measures do not reduce (UK GDPR Article 36).",
        choices=[SelectChoice("yes", "Yes"), SelectChoice("no", "No")],
        validators=[
            InputRequired(
                "Say whether the school should consult the ICO before the processing starts"
            )
        ],
    )


class DpiaDecisionForm(FlaskForm):
    outcome = RadioField(
        "Decision",
        choices=[
            SelectChoice("approve", "Approve: the processing can go ahead with these measures"),
            SelectChoice("reject", "Reject: the processing must not go ahead"),
        ],
        validators=[InputRequired("Choose approve or reject")],
    )
    approver_role = RadioField(
        "You sign as",
        choices=[
            SelectChoice(SigningRole.DIGITAL_LEAD, SigningRole.DIGITAL_LEAD),
            SelectChoice(SigningRole.HEADTEACHER, SigningRole.HEADTEACHER),
        ],
        validators=[
            InputRequired("Choose whether you sign as the SLT digital lead or the headteacher")
        ],
        # Who may sign as which is the service's to say, in words (not "Not a valid choice").
        validate_choice=False,
    )
    advice_followed = RadioField(
        "Was the DPO's advice followed?",
        choices=[SelectChoice("yes", "Yes"), SelectChoice("no", "No")],
        validators=[InputRequired("Say whether the DPO's advice was followed")],
    )
    not_followed_reason = TextAreaField(
        "Why the advice was not followed",
        description="Only if it was not. The reasons must be recorded.",
        validators=[Length(max=5000, message="Keep the reasons to 5,000 characters or fewer")],
    )
    note = TextAreaField(
        "Notes on the decision",
        description="Needed for a rejection: why the processing must not go ahead.",
        validators=[Length(max=5000, message="Keep the notes to 5,000 characters or fewer")],
    )
    decided_on = DateAnswerField("Date of the decision", validators=[Optional()])
    next_review_date = DateAnswerField(
        "Next review date",
        description="When to look at this DPIA again, or sooner if the processing changes. We suggest a year.",
        validators=[Optional()],
    )
    ico_acknowledged = BooleanField(
        "A high risk remains: we will consult the ICO, and the processing will not start until it has answered"
    )


class DpiaReturnForm(FlaskForm):
    reason = TextAreaField(
        "What needs changing",
        validators=[
            InputRequired("Say what needs changing"),
            Length(max=2000, message="Keep it to 2,000 characters or fewer"),
        ],
    )


class QuestionnaireWorkbookForm(FlaskForm):
    workbook = FileField(
        "Questionnaire workbook",
        description="An .xlsx file: download a questionnaire below, change it, raise its version "
        "on the settings sheet, and upload it here.",
    )


class LocalQuestionForm(FlaskForm):
    """One of a school's own questions, added on the page (the workbook takes more)."""

    label = TextAreaField(
        "Question",
        description="As the supplier will read it, for example: Does your product sync with "
        "our MIS without copying pupil data to another system?",
        validators=[
            InputRequired("Enter the question"),
            Length(max=500, message="Keep the question to 500 characters or fewer"),
        ],
    )
    hint = TextAreaField(
        "Hint (optional)",
        description="A line under the question that helps the supplier answer it.",
        validators=[Length(max=1000, message="Keep the hint to 1,000 characters or fewer")],
    )
    type = RadioField(
        "The supplier answers with",
        validators=[InputRequired("Choose what kind of answer the supplier gives")],
        validate_choice=False,  # the service names the types, and says which is wrong
    )
    choices = TextAreaField(
        "Answers to choose from",
        description="For a list: one answer on each line.",
        validators=[Length(max=5000, message="Keep the answers to 5,000 characters or fewer")],
    )
    required = RadioField(
        "Must the supplier answer it?",
        choices=[SelectChoice("yes", "Yes"), SelectChoice("no", "No, it is optional")],
        default="yes",
        validators=[InputRequired("Say whether the supplier must answer it")],
    )
    expected = RadioField(
        "The answer that meets your requirement (for a yes or no question)",
        choices=[
            SelectChoice("", "None: we only want to know"),
            SelectChoice("yes", "Yes"),
            SelectChoice("no", "No"),
        ],
        default="",
        validate_choice=False,
    )
    severity = RadioField(
        "When the answer does not meet it",
        choices=[
            SelectChoice("critical", "Critical: the rating is red"),
            SelectChoice("major", "Major: the rating is at best amber"),
            SelectChoice("minor", "Minor"),
        ],
        default="major",
        validate_choice=False,
    )
    why = TextAreaField(
        "Why it matters (optional)",
        description="Shown to reviewers beside the finding.",
        validators=[Length(max=2000, message="Keep it to 2,000 characters or fewer")],
    )


class LocalTitleForm(FlaskForm):
    title = StringField(
        "Section title",
        description="The heading the supplier sees above your questions.",
        validators=[
            InputRequired("Enter the section title"),
            Length(max=200, message="Keep the title to 200 characters or fewer"),
            OneLine("The title is one line: remove the line break"),
        ],
    )
    intro = TextAreaField(
        "Introduction (optional)",
        validators=[Length(max=2000, message="Keep the introduction to 2,000 characters or fewer")],
    )


class LocalWorkbookForm(FlaskForm):
    workbook = FileField(
        "Your questions as a workbook",
        description="An .xlsx file in the same layout as the one you can download here: one "
        "row of the survey sheet for each question, with names starting local_.",
    )


class ColleagueForm(FlaskForm):
    """The supplier's contact hands sections to a colleague."""

    name = StringField(
        "Your colleague's name",
        validators=[
            InputRequired("Enter your colleague's name"),
            Length(max=200, message="The name must be 200 characters or fewer"),
            OneLine("Enter the name on one line"),
        ],
    )
    email = EmailField(
        "Their email address",
        description="We email them their own link. It opens only the sections you choose.",
        validators=[
            InputRequired("Enter their email address"),
            Email(EMAIL_FORMAT),
            Length(max=320, message="The email address must be 320 characters or fewer"),
        ],
    )
    sections = SelectMultipleField(
        "Sections they answer",
        validators=[InputRequired("Choose at least one section to hand over")],
        validate_choice=False,  # the service keeps the questionnaire's own sections
    )
