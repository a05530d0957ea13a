"""Independent readers of tsfleet's report files, driven by the Rust tests
(tests/it/report.rs): jsonschema validates JSON reports against
schemas/report.schema.json, junitparser reads the JUnit XML.

Usage: report_check.py SCHEMA [--json FILE]... [--junit FILE]
Answer (stdout, JSON):
  {"json": [{"file": F, "errors": ["path: message", ...]}, ...],
   "junit": {"suites": [{"name", "tests", "failures", "errors", "skipped",
                         "time", "system_out",
                         "cases": [{"name", "classname", "result", "type",
                                    "message", "time"}]}]}}
"""

import json
import sys

from jsonschema import Draft202012Validator
from junitparser import Failure, Error, JUnitXml, Skipped


def check_json(validator, path):
    with open(path, encoding="utf-8") as f:
        document = json.load(f)
    errors = sorted(
        validator.iter_errors(document), key=lambda e: list(e.absolute_path)
    )
    return {
        "file": path,
        "errors": [
            "/".join(str(p) for p in e.absolute_path) + ": " + e.message
            for e in errors
        ],
    }


def case_result(case):
    for r in case.result:
        if isinstance(r, Failure):
            return "failure", r.type, r.message
        if isinstance(r, Error):
            return "error", r.type, r.message
        if isinstance(r, Skipped):
            return "skipped", r.type, r.message
    return "passed", None, None


def system_out(suite):
    # junitparser exposes system-out on test cases only; read the element.
    elem = suite._elem.find("system-out")
    return None if elem is None else elem.text


def read_junit(path):
    xml = JUnitXml.fromfile(path)
    suites = []
    for suite in xml:
        cases = []
        for case in suite:
            result, kind, message = case_result(case)
            cases.append(
                {
                    "name": case.name,
                    "classname": case.classname,
                    "result": result,
                    "type": kind,
                    "message": message,
                    "time": case.time,
                }
            )
        suites.append(
            {
                "name": suite.name,
                "tests": suite.tests,
                "failures": suite.failures,
                "errors": suite.errors,
                "skipped": suite.skipped,
                "time": suite.time,
                "system_out": system_out(suite),
                "cases": cases,
            }
        )
    return {"suites": suites}


def main(argv):
    schema_path, rest = argv[0], argv[1:]
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(
        schema, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    answer = {"json": [], "junit": None}
    while rest:
        flag, path, rest = rest[0], rest[1], rest[2:]
        if flag == "--json":
            answer["json"].append(check_json(validator, path))
        elif flag == "--junit":
            answer["junit"] = read_junit(path)
        else:
            raise SystemExit(f"unknown flag {flag}")
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
