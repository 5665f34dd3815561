"""The analysis paragraphs, written by rules over the figures: pure functions, no django.db.

A paragraph is assembled from facts, in this order: the score and what it means (DOMAIN
triage: below 85 urgent, 85 up to 100 improve, exactly 100 maintain; 95 and above is "high"),
the change since the agency's previous assessment, the averages of its province and of the
nation that year, then the questions: those below 85 first, then those below 100, then those at
100. The wording attached to an indicator or question is data (`AnalysisPhrase`, editable in
the admin), passed in as `Phrase`:

- `finding` (what a score below 100 points to) and `advice` (what to do) of a question are used
  only when that question scored below 100: a question at 100 is never called a weakness;
- `strength` (what a full score shows) only when the figure is 100;
- an indicator's own `advice` only when it is below 100 and has no question scores, since it
  does not say which question is weak.

All numbers come out in Thai digits, rounded half-up to two decimals."""

from dataclasses import dataclass
from decimal import Decimal

from assessments.scoring import FULL_MARK, PASS_MARK, Triage, round2, triage_of
from ita_portal.thai import format_score, thai_digits

HIGH_MARK = Decimal("95")


@dataclass(frozen=True)
class Phrase:
    strength: str = ""
    finding: str = ""
    advice: str = ""


NO_PHRASE = Phrase()


@dataclass(frozen=True)
class Item:
    """A question (or OIT item, or sub-indicator) under the indicator being described.
    `parts`: (label, value) of its EIT parts, e.g. ("EITSurvey", Decimal("79.09"))."""

    code: str
    name: str
    value: Decimal | None
    phrase: Phrase = NO_PHRASE
    parts: tuple = ()


@dataclass(frozen=True)
class Standing:
    """Where a figure stands against last year and against its province and the nation.
    An average is given only when it rests on other agencies too (the caller decides)."""

    previous: Decimal | None = None
    previous_year: int | None = None
    province: Decimal | None = None
    province_name: str = ""
    national: Decimal | None = None


NO_STANDING = Standing()


def score(value):
    return format_score(round2(value))


def code(text):
    return thai_digits(text)


def points(value):
    return f"{score(value)} คะแนน"


def level_words(value):
    """What a score means, in words: positive for high scores, plain about those below 85."""
    shown = round2(value)
    if shown >= FULL_MARK:
        return "ซึ่งเป็นคะแนนเต็ม"
    if shown >= HIGH_MARK:
        return "อยู่ในระดับสูงและผ่านเกณฑ์ ๘๕ คะแนน"
    if shown >= PASS_MARK:
        return "ผ่านเกณฑ์ ๘๕ คะแนน แต่ยังมีประเด็นที่ต้องพัฒนาให้ดีขึ้น"
    return "ต่ำกว่าเกณฑ์ ๘๕ คะแนน จัดเป็นข้อบกพร่องหรือจุดอ่อนที่ต้องแก้ไขโดยเร่งด่วน"


def change_words(value, previous, previous_year):
    """The change since the previous assessment on record, on the 2-decimal figures users see:
    "เพิ่มขึ้นจากปีงบประมาณ พ.ศ. ๒๕๖๗ (๘๘.๑๐ คะแนน) ๔.๑๗ คะแนน"."""
    if value is None or previous is None or previous_year is None:
        return ""
    before = f"ปีงบประมาณ พ.ศ. {thai_digits(previous_year)} ({points(previous)})"
    diff = round2(value) - round2(previous)
    if diff > 0:
        return f"เพิ่มขึ้นจาก{before} {points(diff)}"
    if diff < 0:
        return f"ลดลงจาก{before} {points(-diff)}"
    return f"เท่ากับ{before}"


def _versus(value, average, whose):
    diff = round2(value) - round2(average)
    if diff > 0:
        return f"สูงกว่าค่าเฉลี่ย{whose} ({points(average)}) {points(diff)}"
    if diff < 0:
        return f"ต่ำกว่าค่าเฉลี่ย{whose} ({points(average)}) {points(-diff)}"
    return f"เท่ากับค่าเฉลี่ย{whose} ({points(average)})"


def comparison_words(value, standing):
    """Against the year's province and national averages: "สูงกว่าค่าเฉลี่ยของหน่วยงานใน
    จังหวัดนครราชสีมา (๙๐.๑๒ คะแนน) ๒.๑๕ คะแนน และต่ำกว่าค่าเฉลี่ยระดับประเทศ (…)"."""
    if value is None:
        return ""
    parts = []
    if standing.province is not None:
        whose = f"ของหน่วยงานในจังหวัด{standing.province_name}" if standing.province_name else "ของหน่วยงานในจังหวัด"
        parts.append(_versus(value, standing.province, whose))
    if standing.national is not None:
        parts.append(_versus(value, standing.national, "ระดับประเทศ"))
    return " และ".join(parts)


def _sentence(*parts):
    return " ".join(p.strip() for p in parts if p and p.strip())


def _listing(items, *, names=True):
    """"i๑ (๙๘.๐๖ คะแนน) และ i๒ …"; an item's name is given when asked, or when it has no phrase
    of its own to say what it is about."""
    names = [
        f"{code(i.code)} {i.name} ({points(i.value)})" if names or not (i.phrase.finding or i.phrase.advice)
        else f"{code(i.code)} ({points(i.value)})"
        for i in items
    ]
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " และ " + names[-1]


def _codes(items):
    codes = [code(i.code) for i in items]
    if len(codes) == 1:
        return codes[0]
    return ", ".join(codes[:-1]) + " และ " + codes[-1]


def _reasons(items):
    """For each question below 100: what its score points to and what to do, from its phrase."""
    out = []
    for item in items:
        phrase = item.phrase
        if phrase.finding and phrase.advice:
            out.append(f"ข้อ {code(item.code)} สะท้อนว่า{phrase.finding} หน่วยงานจึงควร{phrase.advice}")
        elif phrase.finding:
            out.append(f"ข้อ {code(item.code)} สะท้อนว่า{phrase.finding}")
        elif phrase.advice:
            out.append(f"สำหรับข้อ {code(item.code)} หน่วยงานควร{phrase.advice}")
    return out


def indicator_paragraph(*, agency, label, value, phrase=NO_PHRASE, items=(), subs=(), standing=NO_STANDING):
    """The analysis paragraph of one indicator, from its score, its questions (`items`), its
    sub-indicators (`subs`, OIT) and where it stands. See the module docstring for the rules."""
    if value is None:
        return ""
    opening = f"{agency} ได้คะแนน{label} {points(value)} {level_words(value)}"
    change = change_words(value, standing.previous, standing.previous_year)
    versus = comparison_words(value, standing)
    sentences = [_sentence(opening, f"โดย{change}" if change else "", f"และ{versus}" if change and versus else versus)]

    urgent_subs = [s for s in subs if s.value is not None and triage_of(s.value) == Triage.URGENT]
    full_subs = [s for s in subs if s.value is not None and triage_of(s.value) == Triage.MAINTAIN]
    if urgent_subs:
        sentences.append(f"ตัวชี้วัดย่อยที่ต่ำกว่า ๘๕ คะแนน ได้แก่ {_listing(urgent_subs)}")
    if full_subs:
        sentences.append(f"ตัวชี้วัดย่อยที่ได้คะแนนเต็ม ได้แก่ {_listing(full_subs)}")

    scored = [i for i in items if i.value is not None]
    urgent = [i for i in scored if triage_of(i.value) == Triage.URGENT]
    improve = [i for i in scored if triage_of(i.value) == Triage.IMPROVE]
    full = [i for i in scored if triage_of(i.value) == Triage.MAINTAIN]
    scored_subs = [s for s in subs if s.value is not None]
    if not scored and scored_subs:
        # Sub-indicator scores without item scores (OIT): the sub-indicators are the finest level.
        sentences[1:] = [f"คะแนนรายตัวชี้วัดย่อย ได้แก่ {_listing(scored_subs)}"]
        weak = [s for s in scored_subs if triage_of(s.value) != Triage.MAINTAIN]
        for sub in weak:
            if sub.phrase.advice:
                sentences.append(f"สำหรับตัวชี้วัดย่อยที่ {code(sub.code)} หน่วยงานควร{sub.phrase.advice}")
        if not weak:
            sentences.append(f"สะท้อนว่า{phrase.strength} ควรรักษามาตรฐานนี้ไว้" if phrase.strength else "ควรรักษามาตรฐานนี้ไว้")
        return " ".join(sentences)
    if not scored:
        if round2(value) >= FULL_MARK:
            if phrase.strength:
                sentences.append(f"สะท้อนว่า{phrase.strength} ควรรักษามาตรฐานนี้ไว้")
            else:
                sentences.append("ควรรักษามาตรฐานนี้ไว้")
        else:
            sentences.append("ในระบบยังไม่มีคะแนนรายข้อคำถามของตัวชี้วัดนี้ จึงยังระบุไม่ได้ว่าข้อใดเป็นจุดที่ต้องพัฒนา")
            if phrase.advice:
                lead = "เพื่อรักษาระดับและยกระดับให้ได้คะแนนเต็ม หน่วยงานควร" if round2(value) >= HIGH_MARK else "หน่วยงานควร"
                sentences.append(f"{lead}{phrase.advice}")
        return " ".join(sentences)

    if not urgent and not improve:
        sentences.append("ทุกข้อคำถามได้คะแนนเต็ม")
        if phrase.strength:
            sentences.append(f"สะท้อนว่า{phrase.strength} ควรรักษามาตรฐานนี้ไว้")
        else:
            sentences.append("ควรรักษามาตรฐานนี้ไว้")
        return " ".join(sentences)

    if urgent:
        sentences.append(f"ข้อที่ได้ต่ำกว่า ๘๕ คะแนนและต้องแก้ไขโดยเร่งด่วน ได้แก่ {_listing(urgent, names=False)}")
        sentences += _reasons(urgent)
    if improve:
        head = "ข้อที่ผ่านเกณฑ์แล้วแต่ยังไม่ได้คะแนนเต็ม" if urgent else "ข้อที่ยังไม่ได้คะแนนเต็ม"
        sentences.append(f"{head} ได้แก่ {_listing(improve, names=False)}")
        sentences += _reasons(improve)
    weak_parts = [
        (i, label_, v) for i in improve for label_, v in i.parts
        if v is not None and triage_of(v) == Triage.URGENT
    ]
    for item, part, part_value in weak_parts:
        sentences.append(
            f"แม้ข้อ {code(item.code)} จะผ่านเกณฑ์ แต่คะแนนส่วน {part} ได้ {points(part_value)} ต่ำกว่า ๘๕ คะแนน ควรพิจารณาเป็นพิเศษ"
        )
    if len(full) > 5:
        sentences.append(f"ส่วนอีก {thai_digits(len(full))} ข้อได้คะแนนเต็มแล้ว ควรรักษาระดับไว้")
    elif full:
        sentences.append(f"ส่วนข้อ {_codes(full)} ได้คะแนนเต็มแล้ว ควรรักษาระดับไว้")
    return " ".join(sentences)


def overall_paragraph(*, agency, value, standing=NO_STANDING, indicators=(), missing=""):
    """The paragraph after the overall score: what it means, the change since last year, the
    province and national averages, how many indicators fall in each triage band (`indicators`:
    `Item`s) and, when the record is incomplete, what is missing (`missing`: a sentence)."""
    if value is None:
        return missing
    shown = round2(value)
    if shown >= HIGH_MARK:
        meaning = "คะแนนรวมอยู่ในระดับสูง สะท้อนการดำเนินงานที่โปร่งใสและเป็นที่ยอมรับของผู้มีส่วนได้ส่วนเสีย"
    elif shown >= PASS_MARK:
        meaning = "คะแนนรวมผ่านเกณฑ์ ๘๕ คะแนน และยังยกระดับให้สูงขึ้นได้"
    else:
        meaning = "คะแนนรวมยังต่ำกว่าเกณฑ์ ๘๕ คะแนน หน่วยงานต้องเร่งยกระดับผลการประเมิน"
    sentences = [meaning]
    change = change_words(value, standing.previous, standing.previous_year)
    if change:
        sentences.append(f"คะแนนรวม{change}")
    versus = comparison_words(value, standing)
    if versus:
        sentences.append(f"คะแนนรวม{versus}")
    scored = [i for i in indicators if i.value is not None]
    if scored:
        bands = {t: [i for i in scored if triage_of(i.value) == t] for t in Triage}
        counts = []
        if bands[Triage.MAINTAIN]:
            counts.append(f"ได้คะแนนเต็ม {thai_digits(len(bands[Triage.MAINTAIN]))} ตัวชี้วัด")
        if bands[Triage.IMPROVE]:
            counts.append(f"ผ่านเกณฑ์แต่ยังไม่เต็ม {thai_digits(len(bands[Triage.IMPROVE]))} ตัวชี้วัด")
        if bands[Triage.URGENT]:
            urgent = ", ".join(f"ตัวชี้วัดที่ {code(i.code)} {i.name}" for i in bands[Triage.URGENT])
            counts.append(f"ต่ำกว่า ๘๕ คะแนนและต้องแก้ไขโดยเร่งด่วน {thai_digits(len(bands[Triage.URGENT]))} ตัวชี้วัด ({urgent})")
        lead = f"จากตัวชี้วัดที่มีคะแนน {thai_digits(len(scored))} ตัวชี้วัด มีตัวชี้วัดที่"
        text = lead + " ".join(counts)
        if not bands[Triage.URGENT]:
            text += " และไม่มีตัวชี้วัดใดต่ำกว่า ๘๕ คะแนน"
        sentences.append(text)
    if missing:
        sentences.append(missing)
    return " ".join(sentences)


def missing_words(*, has_tools, has_indicators, has_questions):
    """What the record lacks, so that the reader knows why sections are left out."""
    if not has_tools and not has_indicators:
        return ("ในระบบมีเฉพาะคะแนนรวมของปีนี้ ยังไม่มีคะแนนรายเครื่องมือ รายตัวชี้วัด และรายข้อคำถาม "
                "รายงานฉบับนี้จึงแสดงเฉพาะผลการประเมินในภาพรวม")
    if not has_indicators:
        return "ในระบบยังไม่มีคะแนนรายตัวชี้วัดและรายข้อคำถามของปีนี้ รายงานฉบับนี้จึงแสดงผลถึงระดับเครื่องมือ"
    if not has_questions:
        return "ในระบบยังไม่มีคะแนนรายข้อคำถามของปีนี้ รายงานฉบับนี้จึงวิเคราะห์ถึงระดับตัวชี้วัด"
    return ""
