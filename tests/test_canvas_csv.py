"""The Canvas gradebook import (`grader.results.formats.canvas_csv`): Canvas's columns, one row per submission."""

import csv
import io

from grader.course import TOTAL_POINTS
from grader.results import formats, model


def result_of(score: float) -> model.GradingResult:
    return model.GradingResult([
        model.TestResult("test_a", "1.1", "activations", "relu", score, TOTAL_POINTS, "passed" if score else "failed"),
    ])  # fmt: skip


def test_canvas_csv_has_canvas_columns_points_possible_and_a_total_per_graded_submission():
    rows = [
        formats.gradebook_row("alice", result_of(87)),
        formats.gradebook_row("bob", None, status="failed"),
        {**formats.gradebook_row("carol", result_of(100)), "student": "Carol, Jr.", "sis_user_id": "S42"},
    ]
    table = list(csv.reader(io.StringIO(formats.canvas_csv(rows, assignment="DL exercises"))))
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "DL exercises"]
    assert table[1] == ["Points Possible", "", "", "", "", f"{TOTAL_POINTS:g}"]
    assert table[2] == ["alice", "", "", "alice", "", "87"]
    assert table[3] == ["bob", "", "", "bob", "", ""]  # not graded: a blank cell, which Canvas leaves alone
    assert table[4] == ["Carol, Jr.", "", "S42", "carol", "", "100"]
    assert len(table) == 5
