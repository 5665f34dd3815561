"""Word copies of the plan's documents (measures plan, announcement, progress report):
the headings and tables of templates/reports/*.html, from the same context builders
the PDFs use (measures_plan_context, announcement_context, progress_context)."""

from pathlib import Path
from urllib.parse import unquote, urlparse

from django.utils import timezone

from ita_portal import docx

# The announcement's Word copy is for adapting wording; the signed PDF stays the document of record.
ANNOUNCEMENT_NOTICE = (
    "สำเนาเนื้อหาประกาศสำหรับแก้ไขถ้อยคำ (ไฟล์ Word) ไม่ใช่เอกสารที่ลงนาม "
    "เอกสารที่ลงนามและตรวจสอบได้คือไฟล์ PDF ที่จัดเก็บในระบบ ITA Portal"
)
DRAFT_NOTICE = "ร่าง (ยังไม่ได้ลงนาม)"
FOOTER_NOTICE = "สำเนาสำหรับแก้ไขถ้อยคำ ไม่ใช่เอกสารที่ลงนาม"
DOTS_DATE = "......................................"


def _image_path(uri):
    """A file:// URL from a context (the agency's emblem) as a readable path, else None."""
    if not uri:
        return None
    parsed = urlparse(uri)
    path = Path(unquote(parsed.path)) if parsed.scheme == "file" else None
    return path if path is not None and path.is_file() else None


def _emblem(document, uri, *, height_cm=3):
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm

    path = _image_path(uri)
    if path is None:
        return False
    try:
        document.add_picture(str(path), height=Cm(height_cm))
    except Exception:  # an image format Word cannot hold (SVG, say): the copy goes without it
        return False
    document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    return True


def _notes(document, figure_notes):
    for note in figure_notes or []:
        docx.paragraph(document, f"[{note['mark']}] {note['text']}", size=docx.SMALL_PT)


# The measures plan ----------------------------------------------------------------------

PLAN_COLUMNS = [
    "ตัวชี้วัด\nคะแนน",
    "ประเด็นที่เป็นข้อบกพร่อง/ ที่ต้องพัฒนา",
    "มาตรการ/ โครงการ/ กิจกรรม",
    "ผลการวิเคราะห์",
    "ขั้นตอนหรือวิธีการปฏิบัติ",
    "ระยะเวลา",
    "ผู้รับ\nผิดชอบ",
    "กำหนด\nแล้วเสร็จ",
    "แนวทางการกำกับติดตาม",
]
# The PDF's column shares (templates/reports/measures_plan.html) of the landscape text width.
PLAN_SHARES = [6, 11.5, 8, 19.5, 24.5, 7.5, 7, 7, 9]
LANDSCAPE_TEXT_CM = 29.7 - docx.LANDSCAPE_MARGINS_CM["left"] - docx.LANDSCAPE_MARGINS_CM["right"]


def build_measures_plan_docx(context):
    """A python-docx Document of the measures plan built from `measures_plan_context`."""
    document = docx.new_document(title=f"{context['title']} {context['agency_name']}")
    if context.get("is_draft"):
        from docx.enum.text import WD_ALIGN_PARAGRAPH

        docx.paragraph(document, "ฉบับร่าง", size=docx.SMALL_PT).alignment = WD_ALIGN_PARAGRAPH.RIGHT
    docx.heading(document, "\n".join(context["title_lines"]), 0)
    docx.paragraph(document, context["agency_name"], bold=True, center=True, size=17)
    if context.get("show_fiscal_year"):
        docx.paragraph(document, context["fiscal_year_label"], bold=True, center=True, size=17)
    if context.get("revision_label"):
        docx.paragraph(document, f"({context['revision_label']})", center=True)

    docx.heading(document, "๑. ที่มาและความสำคัญ", 1)
    for text in context["background"]:
        docx.paragraph(document, text, indent=True)

    docx.heading(document, f"๒. ผลการประเมินประจำปีงบประมาณ พ.ศ. {context['assessed_year']}", 1)
    level = context.get("level")
    docx.paragraph(
        document,
        f"{context['agency_name']} ได้คะแนนรวม {context['overall']} คะแนน"
        + (f" ระดับผลการประเมิน “{level}”" if level else "")
        + " คะแนนแยกตามเครื่องมือการประเมินเป็นดังนี้",
        indent=True,
    )
    rows = [[f"{t['code']} {t['name']}", t["weight"], t["score"]] for t in context["tools"]]
    rows.append(["คะแนนรวม", "", context["overall_table"]])
    if level:
        rows.append(["ระดับผลการประเมิน", "", level])
    docx.table(document, ["เครื่องมือการประเมิน", "น้ำหนัก (ร้อยละ)", "คะแนน"], rows,
               widths_cm=[10.5, 3, 2.5], align=["left", "center", "right"])

    docx.heading(document, "๓. ผลการวิเคราะห์ตัวชี้วัดจำแนกตามระดับคะแนน", 1)
    docx.paragraph(
        document,
        "ตัวชี้วัดทั้งหมดจัดเป็น ๓ กลุ่มตามคะแนนที่ได้รับ เพื่อกำหนดลำดับความสำคัญของมาตรการ"
        f"ในปีงบประมาณ พ.ศ. {context['target_year']}",
        indent=True,
    )
    rows = []
    for group in context["triage"]:
        rows.append(docx.Group(f"{group['label']} ({group['criterion']})"))
        rows += [[r["number"], r["name"], r["tool"], r["score"]] for r in group["rows"]] or [["", "ไม่มี", "", ""]]
    if context.get("unscored"):
        rows.append(docx.Group(context["unscored_label"]))
        rows += [[r["number"], r["name"], r["tool"], r["score"]] for r in context["unscored"]]
    docx.table(document, ["ที่", "ตัวชี้วัด", "แบบวัด", "คะแนน"], rows, widths_cm=[1.5, 10, 2, 2.5],
               align=["center", "left", "center", "right"])

    # Nine columns do not fit A4 portrait: the measures table goes on landscape pages, as in the PDF.
    docx.landscape_section(document)
    docx.heading(
        document, f"๔. มาตรการ โครงการ หรือกิจกรรม ประจำปีงบประมาณ พ.ศ. {context['target_year']}", 1
    )
    if context["groups"]:
        rows = []
        for group in context["groups"]:
            band = f" ({group['band']})" if group.get("band") else ""
            rows.append(docx.Group(f"{group['label']} — {group['score']} คะแนน{band}"))
            for r in group["rows"]:
                weakness = r["weakness"] + (f"\nข้อคำถาม/รายการ: {r['questions']}" if r["questions"] else "")
                rows.append([
                    f"{group['number']}\n{group['score']}", weakness, r["title"], r["analysis"], r["steps"],
                    r["period"], r["units"], r["deadline"], r["monitoring"],
                ])
        total = sum(PLAN_SHARES)
        docx.table(
            document, PLAN_COLUMNS, rows, widths_cm=[LANDSCAPE_TEXT_CM * s / total for s in PLAN_SHARES],
            align=["center"] + ["left"] * 8, size=docx.SMALL_PT, keep_rows=False,
        )
    else:
        docx.paragraph(document, "ยังไม่มีมาตรการในแผนนี้")
    _notes(document, context.get("figure_notes"))
    return document


# The announcement -----------------------------------------------------------------------

ATTACHMENT_COLUMNS = ["ตัวชี้วัด", "ประเด็นที่ต้องแก้ไข/พัฒนา", "มาตรการ/โครงการ/กิจกรรม", "ขั้นตอน", "ระยะเวลา",
                      "ผู้รับผิดชอบ"]
ATTACHMENT_SHARES = [11, 20, 16, 35, 9, 9]


def build_announcement_docx(context):
    """An editable copy of the announcement's content from `announcement_context`: no
    signature image, no QR code, and a notice that it is not the signed document."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    agency = context["agency_name"]
    document = docx.new_document(title=f"ประกาศ{agency} (สำเนาสำหรับแก้ไข ไม่ใช่เอกสารที่ลงนาม)")
    notice = docx.paragraph(document, ANNOUNCEMENT_NOTICE if context["signed"] else DRAFT_NOTICE,
                            size=docx.SMALL_PT)
    notice.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    # Every printed page says so too, in the footer (first page and the others).
    section = document.sections[0]
    for footer in (section.footer, section.first_page_footer):
        footer.is_linked_to_previous = False
        docx.footer_text(footer, FOOTER_NOTICE if context["signed"] else DRAFT_NOTICE)
    if not _emblem(document, context.get("emblem_url")):
        docx.table(document, ["ยังไม่ได้อัปโหลดตราสัญลักษณ์ (ครุฑ สูง ๓ ซม.)"], [], size=docx.SMALL_PT)
    docx.heading(document, f"ประกาศ{agency}", 1, center=True)
    docx.paragraph(document, f"เรื่อง {context['subject']}", bold=True, center=True)
    docx.paragraph(document, "……………………………………………………", center=True)
    overall = ""
    if context.get("overall_score"):
        overall = f" ได้คะแนนรวม {context['overall_score']} คะแนน"
        if context.get("level"):
            overall += f" อยู่ในระดับ “{context['level']}”"
    for text in (
        f"ตามที่{agency}ได้รับการประเมินคุณธรรมและความโปร่งใสในการดำเนินงานของหน่วยงานภาครัฐ (ITA) "
        f"ประจำปีงบประมาณ พ.ศ. {context['assessed_year']} ของสำนักงาน ป.ป.ช.{overall} นั้น",
        f"คณะทำงานเพื่อยกระดับผลการประเมินคุณธรรมและความโปร่งใสในการดำเนินงานของ{agency} ได้ประชุม "
        f"ครั้งที่ {context.get('meeting_number') or '............'} "
        f"เมื่อวันที่ {context.get('meeting_date') or '....................................'} "
        "เพื่อวิเคราะห์ผลการประเมินรายตัวชี้วัดและรายข้อคำถาม จำแนกประเด็นที่ต้องแก้ไขโดยเร่งด่วน "
        "ประเด็นที่ต้องพัฒนาให้ดีขึ้น และประเด็นที่ควรรักษาระดับ โดยที่ประชุมมีมติเห็นชอบมาตรการส่งเสริมคุณธรรม"
        f"และความโปร่งใสภายในหน่วยงาน ประจำปีงบประมาณ พ.ศ. {context['target_year']} "
        f"จำนวน {context['measure_count']} มาตรการ",
        "เพื่อให้การปฏิบัติราชการเป็นไปด้วยความสุจริต โปร่งใส และตรวจสอบได้ อาศัยมติของคณะทำงานดังกล่าว "
        f"{agency}จึงประกาศมาตรการส่งเสริมคุณธรรมและความโปร่งใสภายในหน่วยงาน ประจำปีงบประมาณ พ.ศ. "
        f"{context['target_year']} ให้บุคลากรทุกส่วนราชการถือปฏิบัติและรายงานผลเป็นรายไตรมาส "
        "รายละเอียดปรากฏตามเอกสารแนบท้ายประกาศนี้",
        "จึงประกาศให้ทราบโดยทั่วกัน",
    ):
        docx.paragraph(document, text, indent=True)
    announced_on = context.get("announced_on") or DOTS_DATE
    docx.paragraph(document, f"ประกาศ ณ วันที่ {announced_on}", indent=True, space_before=8)
    if context["signed"]:
        name, position = context.get("signatory_name", ""), context.get("signatory_position", "")
    else:
        name, position = "......................................................", "......................................................"
    for number, line in enumerate((f"({name})", position)):
        p = docx.paragraph(document, line, space_before=48 if number == 0 else None)
        p.paragraph_format.left_indent = docx_cm(7.5)
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER

    docx.landscape_section(document)
    docx.heading(document, f"เอกสารแนบท้ายประกาศ{agency}", 1, center=True)
    docx.paragraph(document, f"เรื่อง {context['subject']}", center=True)
    docx.paragraph(document, f"ลงวันที่ {announced_on}", center=True)
    width = 29.7 - docx.LANDSCAPE_MARGINS_CM["left"] - docx.LANDSCAPE_MARGINS_CM["right"]
    total = sum(ATTACHMENT_SHARES)
    for group in context["groups"]:
        docx.heading(document, group["name"] + (f" ({group['code']})" if group["code"] else ""), 2)
        rows = [
            [
                r["indicator"] + (f"\nคะแนน {r['score']}" if r["score"] else ""),
                (r["weakness"] or "-") + (f"\nข้อคำถาม: {r['questions']}" if r["questions"] else ""),
                r["title"], r["steps"] or "-", r["period"] or "-", r["units"] or "-",
            ]
            for r in group["rows"]
        ]
        docx.table(document, ATTACHMENT_COLUMNS, rows, widths_cm=[width * s / total for s in ATTACHMENT_SHARES],
                   size=docx.SMALL_PT, keep_rows=False)
    if not context["groups"]:
        docx.paragraph(document, "ไม่มีมาตรการ", center=True)
    _notes(document, context.get("figure_notes"))
    return document


def docx_cm(value):
    from docx.shared import Cm

    return Cm(value)


# The progress report --------------------------------------------------------------------

PROGRESS_COLUMNS = ["ลำดับ", "มาตรการ/โครงการ/กิจกรรม", "ไตรมาส", "สถานะ", "ผลการดำเนินงาน", "หลักฐาน"]


def build_progress_docx(context):
    """A python-docx Document of the progress report built from `progress_context`
    (A4 landscape throughout, as the PDF)."""
    agency = context["agency"]
    document = docx.new_document(
        title=f"{context['report_name']} {context['fiscal_year']} {agency.name}", landscape=True
    )
    _emblem(document, context.get("emblem"), height_cm=2.6)
    docx.heading(document, context["report_name"], 0)
    docx.paragraph(document, f"ประจำ{context['fiscal_year']}", bold=True, center=True, size=17)
    docx.paragraph(document, agency.name, bold=True, center=True, size=17)
    docx.paragraph(document, f"ข้อมูล ณ วันที่ {context['report_date']}", center=True)

    docx.heading(document, "๑. สรุปผลการดำเนินการ", 1)
    announced = f" และประกาศเมื่อวันที่ {context['announced_on']}" if context.get("announced_on") else ""
    docx.paragraph(
        document,
        f"ตามที่{agency.name}ได้กำหนดมาตรการส่งเสริมคุณธรรมและความโปร่งใสภายในหน่วยงาน "
        f"ประจำ{context['fiscal_year']}{announced} เพื่อยกระดับผลการประเมินคุณธรรมและความโปร่งใส"
        f"ในการดำเนินงานของหน่วยงานภาครัฐ (ITA) รวมจำนวน {context['measure_count']} มาตรการ นั้น "
        f"บัดนี้ได้ติดตามผลการดำเนินการตามมาตรการดังกล่าวแล้ว ข้อมูล ณ วันที่ {context['report_date']} "
        "สรุปได้ดังนี้ (นับตามสถานะของไตรมาสล่าสุดที่รายงานผลของแต่ละมาตรการ)",
        indent=True,
    )
    from ita_portal import thai

    for number, (label, count) in enumerate(context["summary"], start=1):
        p = docx.paragraph(document, f"({thai.thai_digits(number)}) {label} จำนวน {count} มาตรการ")
        p.paragraph_format.left_indent = docx_cm(2.5)
        p.paragraph_format.space_after = 0
    if context.get("unreported"):
        docx.paragraph(
            document,
            f"ในจำนวนมาตรการที่ยังไม่ดำเนินการ มี {context['unreported']} มาตรการที่ยังไม่ได้รายงานผลในไตรมาสใดเลย",
            indent=True,
        )
    docx.paragraph(
        document, f"มาตรการที่ดำเนินการแล้วเสร็จคิดเป็นร้อยละ {context['percent']} ของมาตรการทั้งหมดที่ไม่ได้ยกเลิก",
        indent=True,
    )

    heading = docx.heading(document, "๒. ผลการดำเนินการรายมาตรการและรายไตรมาส", 1)
    heading.paragraph_format.page_break_before = True
    if context["rows"]:
        rows, spans = [], []
        for row in context["rows"]:
            first = len(rows) + 1  # table row index, after the header
            for index, q in enumerate(row["quarters"]):
                lead = [row["number"], f"{row['title']}\n{row['indicator']}"] if index == 0 else ["", ""]
                rows.append([*lead, q["label"], q["status"], q["note"] or "-", q["evidence"] or "-"])
            spans.append((first, len(rows)))
        width = 29.7 - docx.LANDSCAPE_MARGINS_CM["left"] - docx.LANDSCAPE_MARGINS_CM["right"]
        widths = [1.2, 5.8, 1.7, 3.9, width - 17, 4.4]
        table = docx.table(document, PROGRESS_COLUMNS, rows, widths_cm=widths, size=docx.SMALL_PT,
                           align=["center", "left", "center", "left", "left", "left"])
        # A measure's number and title span its quarter rows, as the PDF's rowspan.
        for first, last in spans:
            if last > first:
                for column in (0, 1):
                    table.cell(first, column).merge(table.cell(last, column))
    else:
        docx.paragraph(document, "แผนนี้ยังไม่มีมาตรการ")
    docx.paragraph(
        document, f"จัดทำจากข้อมูลผลการดำเนินงานที่บันทึกในระบบ ITA Portal ข้อมูล ณ วันที่ {context['report_date']}",
        size=docx.SMALL_PT, space_before=8,
    )
    return document


# Rendering --------------------------------------------------------------------------------

def render_plan_docx(plan, kind, *, today=None):
    """.docx bytes of a plan's document (kind: plan, announcement or progress)."""
    if kind == "plan":
        from plans.measures_plan import measures_plan_context

        document = build_measures_plan_docx(measures_plan_context(plan))
    elif kind == "announcement":
        from plans.announcement import announcement_context

        # verify_url stays empty: no QR code, the Word copy is not what was signed.
        document = build_announcement_docx(announcement_context(plan, signed=plan.is_signed))
    elif kind == "progress":
        from plans.progress_report import progress_context

        document = build_progress_docx(progress_context(plan, today or timezone.localdate()))
    else:
        raise ValueError(kind)
    return docx.docx_bytes(document)
