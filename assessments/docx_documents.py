"""The analysis report as a Word copy: the headings, tables, charts and paragraphs of
templates/reports/analysis.html, from the same context (documents.analysis_context)."""

from assessments.documents import analysis_context
from ita_portal import docx, thai

EST_NOTE = "* ค่าเฉลี่ยของ EITPublic และ EITSurvey เป็นค่าประมาณ สำนักงาน ป.ป.ช. ไม่ได้เผยแพร่วิธีรวมคะแนนสองส่วน"


def _score(value, digits="thai"):
    return thai.format_score(value, digits if digits in ("thai", "arabic") else "thai")


def _marked(text, note):
    return f"{text} [{note['mark']}]" if note else text


def build_analysis_docx(context, *, charts=True):
    """A python-docx Document of the analysis report built from `analysis_context`."""
    agency, year, digits = context["agency"], context["year"], context["digits"]
    overall, level = context["overall"], context["level"]
    level_name = level.name if level else "-"
    overall_note = context.get("overall_note")
    year_th = thai.thai_digits(year)
    document = docx.new_document(title=f"การวิเคราะห์ผลการประเมิน ITA {agency.name} {year_th}")

    # Cover
    for line in (
        "การวิเคราะห์ผลการประเมินคุณธรรมและความโปร่งใส\nในการดำเนินงานของหน่วยงานภาครัฐ (ITA)\n"
        f"ประจำปีงบประมาณ พ.ศ. {year_th}",
        "และการนำผลการประเมินไปสู่การพัฒนาองค์กร",
    ):
        docx.paragraph(document, line, bold=True, center=True, size=24, space_before=24)
    docx.paragraph(document, agency.name, bold=True, center=True, size=22, space_before=36)
    place = " ".join(
        part for part in (
            f"อำเภอ{agency.district}" if agency.district else "",
            f"จังหวัด{agency.province}" if agency.province else "",
        ) if part
    )
    if place:
        docx.paragraph(document, place, center=True)
    docx.table(
        document,
        ["คะแนนรวม"],
        [[_marked(_score(overall.value), overall_note)], [f"ระดับผลการประเมิน “{level_name}”"]],
        align=["center"],
        size=docx.BODY_PT,
    )

    # ๑. Overall
    docx.heading(document, "๑. ผลการประเมินในภาพรวม", 1).paragraph_format.page_break_before = True
    text = (
        f"ผลการประเมินคุณธรรมและความโปร่งใสในการดำเนินงานของหน่วยงานภาครัฐ ประจำปีงบประมาณ พ.ศ. {year_th} "
        f"ของ{agency.name} ได้คะแนนรวม {_marked(_score(overall.value), overall_note)} คะแนน "
        f"ระดับผลการประเมิน “{level_name}”"
    )
    if level and not level.tools_checked:
        text += " (พิจารณาจากคะแนนรวม เนื่องจากยังไม่มีคะแนนรายเครื่องมือในระบบ)"
    tools = context["tools"]
    if tools and tools[0]["figure"].value is not None:
        text += " โดยมีคะแนนรายเครื่องมือดังนี้ " + " ".join(
            f"{t['label']} {_marked(_score(t['figure'].value), t['note'])} คะแนน" for t in tools
        )
    docx.paragraph(document, text, indent=True)
    if charts:
        for key in ("chart_overall", "chart_history", "chart_tool_history"):
            docx.picture(document, docx.chart_png(context.get(key)))

    # ๒. Indicators
    docx.heading(document, "๒. ผลการประเมินรายตัวชี้วัด", 1)
    tool_labels = {
        t["figure"].node.code: f"{t['label']} ({_marked(_score(t['figure'].value, digits), t['note'])} คะแนน)"
        for t in tools
    }
    rows, last_tool = [], object()
    for row in context["indicator_rows"]:
        if row["tool"] != last_tool:
            last_tool = row["tool"]
            rows.append(docx.Group(tool_labels.get(row["tool"], "")))
        rows.append([
            row["label"],
            _marked(_score(row["figure"].value, digits), row["note"]),
            row["triage"].label if row["triage"] else "",
        ])
    docx.table(document, ["ตัวชี้วัด", "คะแนน", "ผลการจัดกลุ่ม"], rows, widths_cm=[9, 2.6, 4.4],
               align=["left", "right", "left"])
    if charts:
        docx.picture(document, docx.chart_png(context.get("chart_indicators")))

    # ๓. Ranked
    docx.heading(document, "๓. ตัวชี้วัดเรียงจากคะแนนสูงไปต่ำ", 1)
    highest, lowest = context["highest"], context["lowest"]
    if highest:
        docx.paragraph(
            document,
            f"ตัวชี้วัดที่ได้คะแนนสูงสุดคือ{highest.node.name} ({_score(highest.value)} คะแนน) "
            f"และตัวชี้วัดที่ได้คะแนนต่ำสุดคือ{lowest.node.name} ({_score(lowest.value)} คะแนน)",
            indent=True,
        )
    else:
        docx.paragraph(document, "ยังไม่มีคะแนนรายตัวชี้วัดของปีนี้ในระบบ", indent=True)
    docx.table(
        document,
        ["ลำดับ", "ตัวชี้วัดที่", "คะแนน", "ผลการจัดกลุ่ม"],
        [
            [
                thai.thai_digits(number),
                f"{thai.thai_digits(r['figure'].node.code)} {r['figure'].node.name}",
                _marked(_score(r["figure"].value, digits), r["note"]),
                r["figure"].triage.label if r["figure"].triage else "",
            ]
            for number, r in enumerate(context["ranked_rows"], start=1)
        ],
        widths_cm=[1.5, 8, 2.6, 3.9],
        align=["center", "left", "right", "left"],
    )

    # ๔. Per indicator
    docx.heading(document, "๔. ผลการวิเคราะห์รายตัวชี้วัด", 1)
    for number, section in enumerate(context["sections"], start=1):
        docx.heading(
            document,
            f"({thai.thai_digits(number)}) {section['label']} ได้ "
            f"{_marked(_score(section['figure'].value), section.get('note'))} คะแนน",
            2,
        )
        has_parts = section["has_parts"]
        for group in section["groups"]:
            if not group["rows"]:
                continue
            rows = []
            if group["head"]:
                rows.append(docx.Group(
                    f"{group['label']} ({_marked(_score(group['head'].value, digits), group.get('note'))} คะแนน)"
                ))
            for r in group["rows"]:
                figure = r["figure"]
                estimated = figure.official is None and figure.computed is not None
                value = _score(figure.value, digits) + ("*" if estimated else "")
                cells = [f"{thai.in_digits(r['code'], digits)} {r['name']}"]
                if has_parts:
                    cells += [_score(r["public"], digits), _score(r["survey"], digits)]
                rows.append([*cells, value])
            header = ["ข้อคำถาม/รายการ", *(["EITPublic", "EITSurvey"] if has_parts else []), "คะแนน"]
            widths = [9.4, 2.2, 2.2, 2.2] if has_parts else [13.4, 2.6]
            docx.table(document, header, rows, widths_cm=widths, align=["left"] + ["right"] * (len(header) - 1))
        if has_parts:
            docx.paragraph(document, EST_NOTE, size=docx.SMALL_PT)
        docx.paragraph(document, thai.thai_digits(section["analysis"]), indent=True)

    # Annex
    warnings, notes = context["warnings"], context["notes"]
    if warnings or notes:
        docx.heading(document, "ภาคผนวก ความสอดคล้องของคะแนน", 1).paragraph_format.page_break_before = True
        docx.paragraph(
            document,
            "คะแนนในเอกสารนี้เป็นคะแนนที่สำนักงาน ป.ป.ช. ประกาศ ระบบได้คำนวณคะแนนจากองค์ประกอบย่อยเพื่อตรวจสอบ "
            "และพบความแตกต่างเกิน ๐.๐๑ คะแนนดังนี้",
            indent=True,
        )
        figure_notes = context.get("figure_notes") or {}
        if figure_notes:
            docx.heading(document, "คะแนนที่ประกาศซึ่งไม่สอดคล้องกับองค์ประกอบ", 2)
            for n in figure_notes.values():
                docx.paragraph(document, f"[{n['mark']}] {n['text']}")
        if warnings:
            docx.heading(document, "คำเตือน (กฎการคำนวณแน่นอน)", 2)
            for w in context.get("annex_warnings", []):
                line = "• " + thai.thai_digits(w["message"])
                if w.get("cause"):
                    cause = w["cause"]
                    line += (f" (เกิดจาก{cause['label']} [{cause['mark']}] เมื่อใช้ค่าที่คำนวณแทน "
                             "คะแนนนี้สอดคล้องตามกฎการคำนวณ)")
                docx.paragraph(document, line)
        if notes:
            docx.heading(document, "หมายเหตุ (ค่าประมาณ)", 2)
            for n in notes:
                docx.paragraph(document, "• " + thai.thai_digits(n.message))
    return document


def render_analysis_docx(assessment, *, charts=True):
    """.docx bytes of the analysis report."""
    return docx.docx_bytes(build_analysis_docx(analysis_context(assessment), charts=charts))
