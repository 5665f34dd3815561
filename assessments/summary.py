"""The assessment summary as JSON-ready data (the `assessment_summary` contract)."""

from assessments import scoring
from assessments.models import compute_assessment


def fmt(value):
    rounded = scoring.round2(value)
    return None if rounded is None else f"{rounded:.2f}"


def assessment_summary(assessment, result=None):
    if result is None:
        result = compute_assessment(assessment)
    tools = result.of_kind(scoring.TOOL)
    overall = result.overall
    return {
        "agency": {
            "code": assessment.agency.code,
            "name": assessment.agency.name,
            "type": assessment.agency.get_agency_type_display(),
            "province": assessment.agency.province,
            "district": assessment.agency.district,
        },
        "fiscal_year": assessment.fiscal_year.year,
        "overall": fmt(overall.value),
        "level": result.level.name if result.level else None,
        "passed": result.level.passed if result.level else None,
        "tools": {f.node.code: fmt(f.value) for f in tools},
        "official": {
            "overall": fmt(overall.official),
            "tools": {f.node.code: fmt(f.official) for f in tools},
        },
        "computed": {
            "overall": fmt(overall.computed),
            "tools": {f.node.code: fmt(f.computed) for f in tools},
        },
        "indicators": [
            {
                "number": f.node.code,
                "name": f.node.name,
                "tool": f.node.parent,
                "score": fmt(f.value),
                "official": fmt(f.official),
                "computed": fmt(f.computed),
                "triage": f.triage.value if f.triage else None,
            }
            for f in result.of_kind(scoring.INDICATOR)
        ],
        "sub_indicators": [
            {"number": f.node.code, "name": f.node.name, "score": fmt(f.value), "computed": fmt(f.computed)}
            for f in result.of_kind(scoring.SUB_INDICATOR)
        ],
        "questions": [
            {
                "code": f.node.code,
                "score": fmt(f.value),
                **(
                    {
                        "public": fmt(result.parts.get((f.node.code, scoring.PUBLIC))),
                        "survey": fmt(result.parts.get((f.node.code, scoring.SURVEY))),
                    }
                    if f.node.has_parts
                    else {}
                ),
                "triage": f.triage.value if f.triage else None,
            }
            for f in result.of_kind(scoring.QUESTION)
        ],
        "warnings": [finding.message for finding in result.warnings],
        "notes": [finding.message for finding in result.notes],
    }
