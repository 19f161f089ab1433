"""The OpenAPI 3.1 document of the API, served at ``/api/v1/openapi.json``.

Assembled, not written out: response schemas come from the pydantic models
that serialise the responses (schemas.py), request bodies from the WTForms
classes the API validates with (form_schemas.py), and the operations from the
table below. tests/test_api_openapi.py checks that every route is documented
and every documented operation exists, and Schemathesis checks real responses
against it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, models_json_schema
from pydantic_core import CoreSchema

from ...models import RequestStatus
from ...services.directory.curation import CATEGORY_LABELS
from ..forms import (
    AddSupplierForm,
    DecisionForm,
    DeclarationForm,
    DpiaDecisionForm,
    DpoAdviceForm,
    DpoServiceAdviceForm,
    EntryForm,
    NewRequestForm,
    RegisterDetailsForm,
    ReviewFindingForm,
    StandardPlanForm,
    WithdrawForm,
)
from . import bp
from . import curation as cur
from . import dpia_schemas as d
from . import records_schemas as rec
from . import schemas as s
from .form_schemas import form_schema

Schema = dict[str, Any]
REF = "#/components/schemas/{model}"
STRING: Schema = {"type": "string"}
STRINGS: Schema = {"type": "array", "items": STRING}

FORM_BODIES: dict[str, Schema] = {
    "NewRequest": form_schema(
        NewRequestForm,
        api_only={
            "on_behalf_of": {
                "type": "array",
                "items": {"type": "integer", "minimum": 1},
                "description": "A trust only: the ids of its schools this request is for "
                "(GET /trust/schools). The supplier answers once; each school sees the answers "
                "against its own requirements",
            },
            "questionnaire": {"type": "string", "description": "A key from GET /questionnaires"},
            "email_supplier": {
                "type": "boolean",
                "description": "false: we do not email the link; send supplier_link yourself",
            },
        },
    ),
    "DecisionBody": form_schema(
        DecisionForm,
        api_only={
            "conditions": {
                "description": "Required to accept with conditions: a list, or one per line",
                "oneOf": [STRING, STRINGS],
            }
        },
    ),
    "ReviewBody": form_schema(ReviewFindingForm),
    "DpoAdviceBody": form_schema(DpoAdviceForm),
    "DpoServiceAdviceBody": form_schema(DpoServiceAdviceForm),
    "DpiaDecisionBody": form_schema(DpiaDecisionForm),
    "StandardPlanBody": form_schema(StandardPlanForm),
    "RegisterDetailsBody": form_schema(RegisterDetailsForm),
    "AddSupplierBody": form_schema(AddSupplierForm),
    "EntryBody": form_schema(
        EntryForm,
        api_only={
            "listing": {
                "type": "integer",
                "description": "Optional: this supplier's listing to add a version to",
            }
        },
    ),
    "WithdrawBody": form_schema(WithdrawForm),
    "Declaration": form_schema(DeclarationForm),
}

# A response: a model, a model with its description, or a whole response object.
Reply = type[BaseModel] | tuple[type[BaseModel], str] | Schema
# A body: a model or form above by name, a model, or a whole requestBody object.
Body = type[BaseModel] | str | Schema | None

STAFF = ("apiKey", "session")
SUPPLIER = ("linkToken", "session")
ANYONE = ("apiKey", "linkToken", "session")
PUBLIC: tuple[str, ...] = ()
READ = ("400", "401", "403", "404", "429")
WRITE = ("400", "401", "403", "404", "409", "415", "422", "429")
ACT = ("400", "401", "403", "404", "409", "429")  # a write without a body


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    operation_id: str
    summary: str
    tag: str
    ok: dict[str, Reply]
    auth: tuple[str, ...]
    errors: tuple[str, ...]
    query: tuple[Schema, ...] = ()
    body: Body = None
    description: str = ""


def query(name: str, description: str, schema: Schema | None = None) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema or STRING,
        "description": description,
    }


def enum(*values: str) -> Schema:
    return {"type": "string", "enum": list(values)}


# Every list's paging (common.page_args).
PAGING = (
    query("cursor", "next_cursor from the previous page"),
    query("limit", "Page size (default 50)", {"type": "integer", "minimum": 1, "maximum": 200}),
)

PATH_PARAMETERS: dict[str, Schema] = {
    "reference": {"schema": STRING, "description": "The request's reference, e.g. DD-7K2M9Q"},
    "question_id": {"schema": STRING},
    "key": {"schema": STRING},
    "version": {"schema": {"type": "integer", "minimum": 0}},
    "entry_id": {"schema": {"type": "integer", "minimum": 0}},
    "dpia_id": {"schema": {"type": "integer", "minimum": 0}},
    "share_id": {"schema": {"type": "integer", "minimum": 0}},
    "supplier_id": {"schema": {"type": "integer", "minimum": 0}},
    "request_id": {"schema": {"type": "integer", "minimum": 0}},
    "file_id": {"schema": {"type": "integer", "minimum": 0}},
    "slug": {"schema": STRING, "description": "A standard's slug, from GET /standards"},
}
XLSX: Schema = {
    "description": "The workbook",
    "content": {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
            "schema": {"type": "string", "format": "binary"}
        }
    },
}
PDF: Schema = {
    "description": "The document (tagged PDF, PDF/UA-1)",
    "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
}
UPLOAD: Schema = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
                    "issued_on": {
                        "type": "string",
                        "format": "date",
                        "description": "The date the document was issued (YYYY-MM-DD). "
                        "Required where the expiry counts from it ('12 months'); optional "
                        "where the expiry date is asked; not taken otherwise",
                    },
                    "expires_on": {
                        "type": "string",
                        "format": "date",
                        "description": "The date the document expires (YYYY-MM-DD). Required "
                        'where the question asks for it (expires = "asked"); not taken '
                        "otherwise",
                    },
                    "renewing": {
                        "type": "string",
                        "enum": ["true", "false"],
                        "description": "true: the document has run out and is being renewed "
                        "(an expired date is then accepted). Default false",
                    },
                    "undated": {
                        "type": "string",
                        "enum": ["true", "false"],
                        "description": "true: the document shows no date; it is kept undated "
                        "for the school to accept or not (dates sent with it are still "
                        "checked). Default false",
                    },
                },
                "required": ["file"],
            }
        }
    },
}
FILES: Schema = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "file": {"type": "array", "items": {"type": "string", "format": "binary"}}
                },
                "required": ["file"],
            }
        }
    },
}
BINARY: Schema = {
    "description": "The file, as it was uploaded (an attachment)",
    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
}
WORKBOOK: Schema = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"workbook": {"type": "string", "format": "binary"}},
                "required": ["workbook"],
            }
        }
    },
}
STATUSES = enum(*RequestStatus)
R = "/requests/{reference}"

# One row per operation: method, path, id, summary, tag, replies, who, errors, then
# query parameters, body and a longer description where there is one.
OPERATIONS = [
    Op("get", "/health", "health", "The app, its database and its rate-limit store answer", "Operations",
       {"200": s.Health, "503": (s.Health, "The rate-limit store is unreachable")}, PUBLIC, ()),
    Op("get", "/openapi.json", "openapi", "This document", "Operations",
       {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}},
       PUBLIC, ("429",)),
    Op("get", "/questionnaires", "list_questionnaires", "The questionnaires a new request can use",
       "Questionnaires", {"200": s.QuestionnaireList}, ANYONE, ("401", "403", "429")),
    Op("get", "/questionnaires/{key}/{version}", "get_questionnaire",
       "One questionnaire version's whole definition", "Questionnaires",
       {"200": s.QuestionnaireDefinition}, ANYONE, ("401", "403", "404", "429")),
    Op("get", "/requests", "list_requests", "Your organisation's requests, newest first", "Requests",
       {"200": s.RequestPage}, STAFF, ("400", "401", "403", "429"),
       query=(query("status", "Only this status", STATUSES),
              query("supplier", "Part of the supplier's name"),
              query("questionnaire", "A questionnaire key"),
              *PAGING)),
    Op("post", "/requests", "create_request", "Create a request and send its link", "Requests",
       {"201": (s.IssuedRequest, "Created; Location names it")}, STAFF,
       ("400", "401", "403", "415", "422", "429"), body="NewRequest",
       description="Checked by the same form as the New request page. The response's "
       "supplier_link is the only time the link exists in clear."),
    Op("get", R, "get_request", "One request, with its evidence and when it runs out",
       "Requests", {"200": s.RequestDetail}, STAFF, READ,
       description="evidence.tracked has each piece of evidence whose expiry the school "
       "follows, with its status today; evidence.files every file with the dates given "
       "beside it."),
    Op("get", "/evidence/expiring", "expiring_evidence_list",
       "Your evidence that has run out or runs out soon, oldest expiry first", "Evidence",
       {"200": s.ExpiringEvidencePage}, STAFF, ("400", "401", "403", "422", "429"),
       query=(query("within", "Days ahead to reach, 0 to 365 (default 60; 0: expired only)",
                    {"type": "integer", "minimum": 0, "maximum": 365}),
              *PAGING),
       description="The evidence of each supplier's latest answered request of your "
       "organisation (an older request is superseded), as the Evidence page lists it. 422 when "
       "within is not a whole number from 0 to 365."),
    Op("post", f"{R}/revoke", "revoke_request_link", "Stop the supplier's link working", "Requests",
       {"200": s.Request}, STAFF, ACT),
    Op("post", f"{R}/extend", "extend_request_link", "Let the link work for more days", "Requests",
       {"200": s.Request}, STAFF, WRITE, body=s.Extend),
    Op("post", f"{R}/reissue", "reissue_request_link", "Email a new link; the old one stops working",
       "Requests", {"200": s.IssuedRequest}, STAFF, ACT),
    Op("post", f"{R}/remind", "remind_supplier", "Email the supplier a reminder now", "Requests",
       {"200": s.Reminded}, STAFF, ACT),
    Op("get", f"{R}/answers", "request_answers", "The answers as stored (typed)", "Requests",
       {"200": s.Answers}, STAFF, READ),
    Op("get", f"{R}/findings", "request_findings",
       "The answers against your requirements: rating, triage, findings", "Requests",
       {"200": s.Findings}, STAFF, ACT),
    Op("get", f"{R}/export.xlsx", "request_export", "The request as an Excel workbook", "Requests",
       {"200": XLSX}, STAFF, READ),
    Op("get", f"{R}/report.pdf", "request_report",
       "The request's report as a PDF: decision, rating, findings, answers, timeline",
       "Requests", {"200": PDF}, STAFF, READ),
    Op("post", f"{R}/clarifications", "ask_clarification",
       "Ask the supplier to clarify answers (emails a new link)", "Requests",
       {"201": (s.ClarificationAsked, "Asked")}, STAFF, WRITE, body=s.ClarificationAsk),
    Op("post", f"{R}/decision", "decide", "Accept, accept with conditions, or reject", "Requests",
       {"200": s.Request}, STAFF, WRITE, body="DecisionBody"),
    Op("put", f"{R}/findings/{{question_id}}/review", "review_finding",
       "Judge one finding differently, with a reason", "Requests", {"200": s.Findings}, STAFF, WRITE,
       body="ReviewBody"),
    Op("delete", f"{R}/findings/{{question_id}}/review", "remove_finding_review",
       "Go back to the computed finding", "Requests", {"200": s.Findings}, STAFF, ACT),
    Op("post", f"{R}/reopen", "reopen_decision", "Take back a decision to review again", "Requests",
       {"200": s.Request}, STAFF, ACT),
    Op("get", "/register.xlsx", "register_export", "The supplier register as an Excel workbook",
       "Requests", {"200": XLSX}, STAFF, ("400", "401", "403", "429"),
       query=(query("answer", "A question id to add as a column (repeatable)"),)),
    Op("get", "/supplier/request", "supplier_request", "Your request: questionnaire, answers, progress",
       "Supplier", {"200": s.SupplierRequest}, SUPPLIER, ("401", "404", "429"),
       query=(query("reference", "With a browser session holding several requests: which one"),)),
    Op("put", "/supplier/answers/{question_id}", "save_answer", "Save one answer", "Supplier",
       {"200": s.SavedAnswer}, SUPPLIER, ("400", "401", "404", "409", "415", "422", "429"),
       body=s.AnswerBody,
       description="Checked exactly as the questionnaire page checks it. 409 with the current "
       "revision when someone changed the answer after you read it."),
    Op("post", "/supplier/evidence/{question_id}", "upload_evidence", "Upload files for a question",
       "Supplier", {"201": (s.Uploaded, "Stored")}, SUPPLIER,
       ("400", "401", "404", "409", "413", "422", "429"), body=UPLOAD,
       description="The dates beside the files are checked as the questionnaire page checks "
       "them; wrong dates (or dates the question does not take) are a 422 naming the field, "
       "and no file is stored."),
    Op("get", "/supplier/workbook", "supplier_workbook",
       "Every question as an Excel workbook to answer in a spreadsheet", "Supplier",
       {"200": XLSX}, SUPPLIER, ("401", "404", "409", "429")),
    Op("post", "/supplier/workbook", "upload_supplier_workbook",
       "Save the answers of a filled-in workbook", "Supplier",
       {"200": s.WorkbookReport}, SUPPLIER, ("400", "401", "404", "409", "413", "422", "429"),
       body=WORKBOOK,
       description="Each section's answers are checked as the pages check them; sound ones are "
       "saved, the rest listed in refused (sheet, row and the page's message). An answer changed "
       "since the workbook was downloaded is kept and listed in conflicts. 422 when the file is "
       "not this request's workbook (nothing saved)."),
    Op("post", "/supplier/submit", "submit", "Submit the answers with the declaration", "Supplier",
       {"200": s.Submitted}, SUPPLIER, ("400", "401", "404", "409", "415", "422", "429"),
       body="Declaration",
       description="422 (type .../incomplete) lists every answer still needed by question id."),
    Op("get", "/standards", "list_standards",
       "Your DfE standards: status, items answered, target and review dates", "Standards",
       {"200": rec.StandardList}, STAFF, ("401", "403", "409", "429")),
    Op("get", "/standards/{slug}", "get_standard",
       "One standard: each item's answer, note, outcome and evidence names; its RACI",
       "Standards", {"200": rec.StandardDetail}, STAFF, ("401", "403", "404", "409", "429")),
    Op("put", "/standards/{slug}/plan", "plan_standard",
       "Set the standard's target date and next review date", "Standards",
       {"200": rec.StandardDetail}, STAFF, WRITE, body="StandardPlanBody"),
    Op("patch", "/standards/answers", "change_standard_answers",
       "Change self-assessment answers and notes (null clears one)", "Standards",
       {"200": rec.StandardList}, STAFF, WRITE, body=rec.StandardAnswersBody,
       description="Checked as the pages check them; the valid ones are saved and the others "
       "listed by question id (422). Evidence files are uploaded on the page."),
    Op("post", "/standards/evidence/{question_id}", "upload_standard_evidence",
       "Add evidence files to a self-assessment item", "Standards",
       {"201": (rec.StandardEvidence, "Stored; the item's files")}, STAFF,
       ("400", "401", "403", "404", "409", "413", "422", "429"), body=FILES,
       description="Checked as the page checks them (count, type, content, your room); if one "
       "fails, none is stored (422 naming file)."),
    Op("get", "/standards/evidence/files/{file_id}", "download_standard_evidence",
       "One of your evidence files", "Standards", {"200": BINARY}, STAFF, READ),
    Op("delete", "/standards/evidence/files/{file_id}", "remove_standard_evidence",
       "Remove one of your evidence files", "Standards",
       {"204": {"description": "Removed"}}, STAFF, ACT),
    Op("get", "/raci", "get_raci", "The RACI chart of the standards' tasks, with its gaps",
       "Standards", {"200": rec.Raci}, STAFF, ("401", "403", "409", "429")),
    Op("put", "/raci/{question_id}", "set_raci_task",
       "Set one task's chart: exactly one accountable, at least one responsible", "Standards",
       {"200": rec.Task}, STAFF, WRITE, body=rec.RaciBody,
       description="Values from parties in GET /raci."),
    Op("get", "/register", "list_register", "Your supplier register, by supplier name",
       "Register", {"200": rec.RegisterPage}, STAFF, ("400", "401", "403", "429"),
       query=PAGING),
    Op("post", "/register", "add_to_register", "Add a supplier to the register", "Register",
       {"201": (rec.RegisterEntry, "Added")}, STAFF, WRITE, body="AddSupplierBody"),
    Op("put", "/register/{supplier_id}", "change_register_entry",
       "Change a supplier's details in the register", "Register", {"200": rec.RegisterEntry},
       STAFF, WRITE, body="RegisterDetailsBody"),
    Op("post", "/register/{supplier_id}/review", "record_supplier_review",
       "Record today's annual review: the next is due in a year", "Register",
       {"200": rec.RegisterEntry}, STAFF, ACT),
    Op("get", "/dpias", "list_dpias", "Your DPIAs, newest first", "DPIAs", {"200": d.DpiaPage},
       STAFF, ("400", "401", "403", "429"),
       query=PAGING),
    Op("get", "/dpias/{dpia_id}", "get_dpia",
       "One DPIA: answers, risk register, advice, sign-off, its share with the DPO service",
       "DPIAs", {"200": d.DpiaDetail}, STAFF, READ),
    Op("post", f"{R}/dpia", "start_dpia",
       "Start the DPIA of the tool a request assessed, prefilled from its answers", "DPIAs",
       {"201": (d.DpiaDetail, "Started; Location names it"),
        "200": (d.DpiaDetail, "The DPIA already begun for this tool")}, STAFF, ACT),
    Op("patch", "/dpias/{dpia_id}/answers", "change_dpia_answers",
       "Change answers of a draft DPIA (null clears one); the rest stay", "DPIAs",
       {"200": d.DpiaDetail}, STAFF, WRITE, body=d.DpiaAnswersBody,
       description="Each answer is checked as the DPIA's pages check it; the valid ones are saved "
       "and the others listed by question id (422)."),
    Op("post", "/dpias/{dpia_id}/ask-for-advice", "ask_for_dpo_advice",
       "Send the finished draft for the DPO's advice (every question answered)", "DPIAs",
       {"200": d.DpiaDetail}, STAFF, ACT),
    Op("post", "/dpias/{dpia_id}/advice", "record_dpo_advice",
       "Record the DPO's advice given outside the portal", "DPIAs", {"200": d.DpiaDetail},
       STAFF, WRITE, body="DpoAdviceBody"),
    Op("post", "/dpias/{dpia_id}/decision", "decide_dpia",
       "Approve or reject (the SLT digital lead or the headteacher, signed in)", "DPIAs",
       {"200": d.DpiaDetail}, ("session",), WRITE, body="DpiaDecisionBody",
       description="An API key is no person and never signs a DPIA off: 403."),
    Op("get", "/dpias/{dpia_id}/dpo-share", "get_dpia_share",
       "The DPIA's newest share with the DPO service, and what it said", "DPO service",
       {"200": d.Share}, STAFF, READ),
    Op("post", "/dpias/{dpia_id}/dpo-share", "share_dpia",
       "Ask the DPO service for its advice on a DPIA waiting for it", "DPO service",
       {"201": (d.Share, "Shared; the DPO service is emailed")}, STAFF, WRITE, body=d.MessageBody),
    Op("post", "/dpias/{dpia_id}/dpo-share/withdraw", "withdraw_dpia_share",
       "Withdraw the share: the DPO service sees nothing more of it", "DPO service",
       {"200": d.Share}, STAFF, ACT),
    Op("get", f"{R}/feedback", "get_request_feedback",
       "The request's newest share with the DPO service, and its comments", "DPO service",
       {"200": d.Share}, STAFF, READ),
    Op("post", f"{R}/feedback", "share_request",
       "Ask the DPO service for feedback on a request", "DPO service",
       {"201": (d.Share, "Shared; the DPO service is emailed")}, STAFF, WRITE, body=d.MessageBody),
    Op("post", f"{R}/feedback/withdraw", "withdraw_request_share",
       "Withdraw the request's share", "DPO service", {"200": d.Share}, STAFF, ACT),
    Op("get", "/standards/feedback", "get_tracker_feedback",
       "The standards tracker's newest share with the DPO service", "DPO service",
       {"200": d.Share}, STAFF, READ),
    Op("post", "/standards/feedback", "share_tracker",
       "Ask the DPO service for feedback on the standards tracker", "DPO service",
       {"201": (d.Share, "Shared; the DPO service is emailed")}, STAFF, WRITE, body=d.MessageBody),
    Op("post", "/standards/feedback/withdraw", "withdraw_tracker_share",
       "Withdraw the tracker's share", "DPO service", {"200": d.Share}, STAFF, ACT),
    Op("get", "/dpo/cases", "list_cases",
       "A DPO service's caseload: waiting (oldest first) or answered", "DPO service",
       {"200": d.CasePage}, STAFF, ("400", "401", "403", "429"),
       query=(query("show", "waiting (default) or answered", enum("waiting", "answered")),
              *PAGING),
       description="Only what schools shared with this DPO service and have not withdrawn. "
       "403 for a key or account that is not the DPO service's."),
    Op("get", "/dpo/cases/{share_id}", "get_case",
       "One case: the shared DPIA, or the request's answers, and the thread", "DPO service",
       {"200": d.CaseDetail}, STAFF, READ),
    Op("post", "/dpo/cases/{share_id}/comments", "comment_on_case",
       "Comment on a case (the school is emailed)", "DPO service",
       {"201": (d.CaseDetail, "Commented")}, STAFF, WRITE, body=d.CommentBody),
    Op("post", "/dpo/cases/{share_id}/advice", "advise_on_case",
       "Give the DPO service's advice on a shared DPIA (the school is emailed)", "DPO service",
       {"200": d.CaseDetail}, STAFF, WRITE, body="DpoServiceAdviceBody"),
    Op("get", "/curator/workspace", "curator_workspace",
       "The curator's workspace: the queue of submissions, or a list of entries", "Curation",
       {"200": cur.CuratorPage}, STAFF, ("400", "401", "403", "429"),
       query=(query("list", "Which list (default queue)", enum(*cur.LISTS)),
              *PAGING),
       description="403 for anyone but the curator organisation."),
    Op("post", "/curator/submissions/{request_id}/draft", "draft_entry",
       "Make a draft entry from a consented submission", "Curation",
       {"201": (s.DirectoryEntryDetail, "Drafted; Location names it")}, STAFF, WRITE,
       body="EntryBody",
       description="Only the questionnaire's answers are copied: never a school's own questions. "
       "listing: the id of this supplier's listing to add a version to."),
    Op("get", "/curator/entries/{entry_id}", "get_curated_entry",
       "Any entry (drafts and withdrawn ones too), with its answers", "Curation",
       {"200": s.DirectoryEntryDetail}, STAFF, READ),
    Op("post", "/curator/entries/{entry_id}/publish", "publish_entry",
       "Publish a draft (schools that adopted the listing are told)", "Curation",
       {"200": s.DirectoryEntryDetail}, STAFF, ACT),
    Op("post", "/curator/entries/{entry_id}/withdraw", "withdraw_entry",
       "Withdraw a published entry, saying why", "Curation",
       {"200": s.DirectoryEntryDetail}, STAFF, WRITE, body="WithdrawBody"),
    Op("post", "/curator/entries/{entry_id}/refresh", "refresh_entry",
       "A new draft version to refresh a listing's answers and evidence dates", "Curation",
       {"201": (s.DirectoryEntryDetail, "Drafted; Location names it")}, STAFF, ACT),
    Op("get", "/trust/schools", "trust_schools", "A trust's schools", "Trusts",
       {"200": s.SchoolList}, STAFF, ("401", "403", "404", "429"),
       description="404 for a key or account that is not a trust's. Pass a school's id as "
       "school to the other GET operations to read that school's data (read only)."),
    Op("get", "/trust/requests", "trust_requests",
       "Every request of the trust and its schools, newest first", "Trusts",
       {"200": s.TrustRequestPage}, STAFF, ("400", "401", "403", "404", "429"),
       query=(query("school", "Only this school's (an id from GET /trust/schools)",
                    {"type": "integer", "minimum": 1}),
              query("status", "Only this status", STATUSES),
              query("rating", "green, amber or red", enum("green", "amber", "red")),
              query("overdue", "true: only those still open after their due date",
                    enum("true", "false")),
              query("supplier", "Part of the supplier's name"),
              query("questionnaire", "A questionnaire key"),
              *PAGING),
       description="A school's request is read (answers, findings, exports) with its links, "
       "which carry school=<id>."),
    Op("get", "/directory", "search_directory", "Search the published directory", "Directory",
       {"200": s.DirectoryPage}, STAFF, ("400", "401", "403", "429"),
       query=(query("q", "Words in the supplier, product or summary"),
              query("category", "A category", enum(*CATEGORY_LABELS)),
              query("rating", "green, amber or red", enum("green", "amber", "red")),
              query("questionnaire", "A questionnaire key"),
              query("freshness", "current or overdue", enum("current", "overdue")),
              *PAGING),
       description="With words in q, the best matches first (a word in the product counts most, "
       "then the supplier's name, then the summary; each word also finds words it begins); "
       "without, by product name."),
    Op("get", "/directory/{entry_id}", "get_directory_entry", "One entry with its answers", "Directory",
       {"200": s.DirectoryEntryDetail}, STAFF, READ,
       query=(query("compare", "true: add the findings against your own requirements",
                    enum("true", "false")),)),
]  # fmt: skip

ERRORS = {
    "400": "The request could not be read (a query parameter or body of the wrong shape)",
    "401": "No credential, or one that is not valid (WWW-Authenticate: Bearer)",
    "403": "The key or account may not do this (a read-only key writing, a viewer deciding)",
    "404": "Not found, or another organisation's (never told apart)",
    "409": "Not possible in the request's state (already submitted, a stale revision...)",
    "413": "The upload is too large",
    "415": "The body must be JSON",
    "422": "Fields or answers need changing: errors has the messages by field or question id",
    "429": "Too many calls for this key, token or address: wait Retry-After seconds",
}
SECURITY_SCHEMES = {
    "apiKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "An organisation API key (made by an admin on the API keys page)",
    },
    "linkToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "The token at the end of the supplier's link",
    },
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "session",
        "description": "A browser session; writes need the X-CSRFToken header",
    },
}
DESCRIPTION = (
    "Requests, answers, findings and exports for schools and trusts (an organisation API key: "
    "Authorization: Bearer ddp_...); one request's questionnaire for its supplier (the link's "
    "token as the Bearer token). Errors are RFC 9457 problem details; type "
    "/api/v1/problems/validation carries errors by field or question id, "
    "/api/v1/problems/incomplete the answers still needed, /api/v1/problems/stale-revision the "
    "current revision, /api/v1/problems/refused a state that does not allow it."
)


def ref(name: str) -> Schema:
    return {"$ref": REF.format(model=name)}


def json_reply(schema: Schema, description: str = "OK", media: str = "application/json") -> Schema:
    return {"description": description, "content": {media: {"schema": schema}}}


def reply(spec: Reply) -> Schema:
    if isinstance(spec, tuple):
        return json_reply(ref(spec[0].__name__), spec[1])
    if isinstance(spec, dict):
        return spec
    return json_reply(ref(spec.__name__))


def request_body(body: Body) -> Schema | None:
    if body is None or isinstance(body, dict):
        return body
    name = body if isinstance(body, str) else body.__name__
    return {"required": True, "content": {"application/json": {"schema": ref(name)}}}


# A trust reads each of its schools' data through the staff GET operations.
IN_SCHOOL = query(
    "school",
    "A trust's key or people: read this school of the trust (an id from GET /trust/schools); "
    "404 for any other",
    {"type": "integer", "minimum": 1},
)


def reads_schools(op: Op) -> bool:
    """The staff reads a trust may make in one of its schools (permissions.api_caller)."""
    return (
        op.method == "get"
        and op.auth == STAFF
        and not op.path.startswith(("/trust/", "/directory"))
    )


def operation(op: Op) -> Schema:
    path_names = re.findall(r"{(\w+)}", op.path)
    parameters = [
        {"name": name, "in": "path", "required": True, **PATH_PARAMETERS[name]}
        for name in path_names
    ] + list(op.query)
    errors = op.errors
    if reads_schools(op):
        parameters.append(IN_SCHOOL)
        errors = tuple(sorted({*errors, "404"}))
    problems = {code: {"$ref": f"#/components/responses/Problem{code}"} for code in errors}
    found: Schema = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "security": [{name: []} for name in op.auth] or [{}],
        "responses": {code: reply(spec) for code, spec in op.ok.items()} | problems,
        "description": op.description,
        "parameters": parameters,
        "requestBody": request_body(op.body),
    }
    return {key: value for key, value in found.items() if value}


class WithoutFieldTitles(GenerateJsonSchema):
    """Model titles stay (they name the component); a title per field only repeats its name."""

    def field_title_should_be_set(self, schema: CoreSchema) -> bool:
        return False


def models_in(operations: list[Op]) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = [s.Problem]
    for op in operations:
        for spec in [*op.ok.values(), op.body]:
            model = spec[0] if isinstance(spec, tuple) else spec
            if isinstance(model, type) and issubclass(model, BaseModel) and model not in found:
                found.append(model)
    return found


def document() -> dict[str, Any]:
    """The whole OpenAPI document."""
    _, model_schemas = models_json_schema(
        [(model, "serialization") for model in models_in(OPERATIONS)],
        ref_template=REF,
        schema_generator=WithoutFieldTitles,
    )
    paths: dict[str, Schema] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Due Diligence Portal API",
            "version": "1.0.0",
            "description": DESCRIPTION,
        },
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "schemas": model_schemas["$defs"] | FORM_BODIES,
            "responses": {
                f"Problem{code}": json_reply(ref("Problem"), text, "application/problem+json")
                for code, text in ERRORS.items()
            },
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(document())
