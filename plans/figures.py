"""What each figure printed in a plan document is (issue 10, item 2).

A measure for a weak question sits under its indicator, and the two scores differ: in
seed 000 item O1 has 50.00 while indicator 9 has 88.75. Every figure is therefore printed
with its label: the indicator's score, an IIT/EIT question's score, an EIT part
(EITPublic / EITSurvey) or an OIT item's score. A question score the NACC did not publish
(an EIT question's mean of its two parts, computed by the portal) is an estimate: the
plan prints it marked with ESTIMATE_MARK and ESTIMATE_NOTE; the signed announcement
leaves it out and prints the two published parts only."""

from assessments import scoring
from ita_portal import thai

INDICATOR_SCORE = "คะแนนตัวชี้วัด"
QUESTION_SCORE = "คะแนนข้อคำถาม"
OIT_ITEM_SCORE = "คะแนนรายการ OIT"
PART_LABELS = ((scoring.PUBLIC, "EITPublic"), (scoring.SURVEY, "EITSurvey"))
ESTIMATE_MARK = "*"
ESTIMATED_MEAN = "ค่าเฉลี่ยที่ระบบคำนวณ"
ESTIMATE_NOTE = (
    "* ค่าเฉลี่ยของ EITPublic และ EITSurvey ที่ระบบคำนวณ สำนักงาน ป.ป.ช. ไม่ได้เผยแพร่คะแนนรวมของข้อคำถามนี้ "
    "และไม่ได้เผยแพร่วิธีรวมคะแนนสองส่วน จึงเป็นค่าประมาณ"
)


def tool_code(result, code):
    """The code of the tool (IIT, EIT, OIT) a figure belongs to, "" when it has none."""
    figure = result.figures.get(code)
    seen = 0
    while figure is not None and figure.node.kind != scoring.TOOL and seen < 10:
        figure = result.figures.get(figure.node.parent) if figure.node.parent else None
        seen += 1
    return figure.node.code if figure is not None and figure.node.kind == scoring.TOOL else ""


def indicator_score_text(value, digits="thai"):
    """ "คะแนนตัวชี้วัด ๘๘.๗๕", or "" when the indicator has no score."""
    if value is None:
        return ""
    return f"{INDICATOR_SCORE} {thai.format_score(value, digits)}"


def question_text(result, code, digits="thai", *, estimates=True):
    """A question or item code with its labelled figures, and whether an estimate is printed.

    "O๑ (คะแนนรายการ OIT ๕๐.๐๐)", "i๑ (คะแนนข้อคำถาม IIT ๙๘.๐๖)",
    "e๓ (EITPublic ๑๐๐.๐๐, EITSurvey ๗๙.๐๙, ค่าเฉลี่ยที่ระบบคำนวณ ๘๙.๕๕*)";
    with estimates=False the computed mean is left out."""
    code_text = thai.in_digits(code, digits)
    figure = result.figures.get(code)
    if figure is None:
        return code_text, False
    tool = tool_code(result, code)
    pieces = []
    if figure.official is not None:
        label = OIT_ITEM_SCORE if tool == "OIT" else f"{QUESTION_SCORE} {tool}".rstrip()
        pieces.append(f"{label} {thai.format_score(figure.official, digits)}")
    for part, label in PART_LABELS:
        value = result.parts.get((code, part))
        if value is not None:
            pieces.append(f"{label} {thai.format_score(value, digits)}")
    estimated = False
    if figure.official is None and figure.computed is not None and estimates:
        pieces.append(f"{ESTIMATED_MEAN} {thai.format_score(figure.computed, digits)}{ESTIMATE_MARK}")
        estimated = True
    if not pieces:
        return code_text, False
    return f"{code_text} ({', '.join(pieces)})", estimated
