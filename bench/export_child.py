"""One directory export in a process of its own, so its peak memory is its own.

python -m bench.export_child ours|floor ENTRIES OUT  -> prints "seconds rss_mb"
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import xlsxwriter

from portal.exports.directory import DirectoryBlock, DirectoryRow, directory_workbook
from portal.questionnaire.definition import load_file
from portal.questionnaire.examples import example_answers

ROOT = Path(__file__).resolve().parent.parent


def rows(count: int, answers: dict[str, object]) -> object:
    from datetime import date

    for number in range(count):
        yield DirectoryRow(
            supplier=f"Supplier {number}", product=f"Product {number}", category="Learning platform",
            rating="green", score=None, status="Published", reviewed=date(2026, 11, 1),
            review_due=date(2027, 11, 1), summary="Looks fine", conditions="", answers=answers,
        )  # fmt: skip


def main() -> None:
    mode, count, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    questionnaire = load_file(ROOT / "questionnaires" / "cloud_supplier.toml")
    answers = example_answers(questionnaire)
    questions = [q for q in questionnaire.questions() if q.answerable]
    started = time.perf_counter()
    if mode == "ours":
        directory_workbook(out, [DirectoryBlock(questionnaire, rows(count, answers))])  # type: ignore[arg-type]
    else:
        # The floor: the same cells, written raw, with no checks and no formats.
        from portal.questionnaire.display import display_value

        workbook = xlsxwriter.Workbook(out, {"constant_memory": True})
        sheet = workbook.add_worksheet()
        for line, row in enumerate(rows(count, answers), start=2):  # type: ignore[arg-type]
            sheet.write_string(line, 0, row.supplier)
            sheet.write_string(line, 1, row.product)
            sheet.write_string(line, 2, row.category)
            sheet.write_string(line, 8, row.summary)
            for column, question in enumerate(questions, start=10):
                value = row.answers.get(question.id)
                if value is None:
                    continue
                if isinstance(value, int | float) and not isinstance(value, bool):
                    sheet.write_number(line, column, value)
                else:
                    sheet.write_string(line, column, display_value(question, value))
        workbook.close()
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{seconds:.3f} {peak:.1f}")


if __name__ == "__main__":
    main()
