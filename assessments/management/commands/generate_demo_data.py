"""A realistic national dataset for trying the portal at scale: about 8,300 agencies × six years.

    python manage.py generate_demo_data --agencies 8317 --years 2563-2568 [--seed 1] [--questions] [--replace]

Agencies get codes GEN00001…, Thai-looking names, types in the national proportions and the
77 provinces with a spread close to the real number of local administrations per province.
Each year holds the ten indicator scores and the overall score as official figures, spread so
that the national average follows the published trend (FY2565 87.57, FY2568 93.82) with most
agencies at 85–100 and a tail down to about 40; an agency's standing persists from year to year.
With --questions the years whose framework has questions (FY2568) also get question, EIT part,
OIT item and sub-indicator scores, and the indicators are the means of those.

Everything is written with bulk_create; the derived Assessment fields are computed in Python with
assessments.scoring over one framework load per year, so no query runs per assessment."""

import math
import random
import re
import time
from decimal import ROUND_HALF_UP, Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from assessments import scoring
from assessments.models import (
    Agency,
    AnalysisText,
    Assessment,
    FiscalYear,
    Membership,
    Score,
    framework_nodes,
    level_rule_specs,
)
from assessments.services import aggregates_refresh_years

CENT = Decimal("0.01")
HUNDRED = Decimal("100.00")
CHUNK = 2000  # assessments written per bulk_create round: bounded memory at 8,317 × 6 years

# National average of the overall score per fiscal year (FY2565 and FY2568 as published by the
# NACC; the other years follow the trend). A year outside the table takes the nearest one.
NATIONAL_AVERAGE = {2563: 80.0, 2564: 83.0, 2565: 87.57, 2566: 91.0, 2567: 92.0, 2568: 93.82}

# Agencies per type in FY2568 (8,317 in all); --agencies scales them.
TYPE_COUNTS = [
    (Agency.Type.SAO, 5300),
    (Agency.Type.SUBDISTRICT_MUNICIPALITY, 2200),
    (Agency.Type.TOWN_MUNICIPALITY, 195),
    (Agency.Type.CITY_MUNICIPALITY, 30),
    (Agency.Type.PAO, 76),
    (Agency.Type.OTHER, 8317 - 5300 - 2200 - 195 - 30 - 76),
]
TYPE_PREFIX = {
    Agency.Type.SAO: "องค์การบริหารส่วนตำบล",
    Agency.Type.SUBDISTRICT_MUNICIPALITY: "เทศบาลตำบล",
    Agency.Type.TOWN_MUNICIPALITY: "เทศบาลเมือง",
    Agency.Type.CITY_MUNICIPALITY: "เทศบาลนคร",
    Agency.Type.PAO: "องค์การบริหารส่วนจังหวัด",
}
OTHER_PREFIXES = ["สำนักงาน", "สถาบัน", "กรม", "มหาวิทยาลัย", "โรงพยาบาล", "การไฟฟ้า", "สำนักงานประปา"]
# Larger administrations tend to score a little higher (a shift of the latent standing).
TYPE_SHIFT = {
    Agency.Type.SAO: 0.0,
    Agency.Type.SUBDISTRICT_MUNICIPALITY: -0.1,
    Agency.Type.TOWN_MUNICIPALITY: -0.3,
    Agency.Type.CITY_MUNICIPALITY: -0.4,
    Agency.Type.PAO: -0.4,
    Agency.Type.OTHER: -0.5,
}

# The 77 provinces with roughly the number of local administrations in each (the spread of agencies).
# Bangkok has no อบต. or เทศบาล; it hosts most national agencies (type "other").
PROVINCES = [
    ("กรุงเทพมหานคร", 0), ("กระบี่", 60), ("กาญจนบุรี", 112), ("กาฬสินธุ์", 151), ("กำแพงเพชร", 91),
    ("ขอนแก่น", 225), ("จันทบุรี", 77), ("ฉะเชิงเทรา", 101), ("ชลบุรี", 99), ("ชัยนาท", 64),
    ("ชัยภูมิ", 141), ("ชุมพร", 78), ("เชียงราย", 143), ("เชียงใหม่", 211), ("ตรัง", 100),
    ("ตราด", 43), ("ตาก", 65), ("นครนายก", 45), ("นครปฐม", 114), ("นครพนม", 103),
    ("นครราชสีมา", 333), ("นครศรีธรรมราช", 185), ("นครสวรรค์", 145), ("นนทบุรี", 46), ("นราธิวาส", 88),
    ("น่าน", 99), ("บึงกาฬ", 58), ("บุรีรัมย์", 208), ("ปทุมธานี", 64), ("ประจวบคีรีขันธ์", 66),
    ("ปราจีนบุรี", 65), ("ปัตตานี", 113), ("พระนครศรีอยุธยา", 158), ("พะเยา", 70), ("พังงา", 51),
    ("พัทลุง", 73), ("พิจิตร", 89), ("พิษณุโลก", 103), ("เพชรบุรี", 93), ("เพชรบูรณ์", 126),
    ("แพร่", 83), ("ภูเก็ต", 19), ("มหาสารคาม", 142), ("มุกดาหาร", 53), ("แม่ฮ่องสอน", 45),
    ("ยโสธร", 88), ("ยะลา", 66), ("ร้อยเอ็ด", 203), ("ระนอง", 30), ("ระยอง", 67),
    ("ราชบุรี", 104), ("ลพบุรี", 124), ("ลำปาง", 100), ("ลำพูน", 57), ("เลย", 98),
    ("ศรีสะเกษ", 206), ("สกลนคร", 139), ("สงขลา", 141), ("สตูล", 41), ("สมุทรปราการ", 49),
    ("สมุทรสงคราม", 36), ("สมุทรสาคร", 40), ("สระแก้ว", 69), ("สระบุรี", 108), ("สิงห์บุรี", 42),
    ("สุโขทัย", 86), ("สุพรรณบุรี", 124), ("สุราษฎร์ธานี", 137), ("สุรินทร์", 172), ("หนองคาย", 62),
    ("หนองบัวลำภู", 59), ("อ่างทอง", 64), ("อำนาจเจริญ", 56), ("อุดรธานี", 178), ("อุตรดิตถ์", 78),
    ("อุทัยธานี", 56), ("อุบลราชธานี", 216),
]
BANGKOK = "กรุงเทพมหานคร"

# Place names are built from common Thai place-name parts: a landform or water word, then one or two
# descriptive words (หนองบัวทอง, ท่าช้างแก้ว…).
PLACE_HEADS = [
    "บ้าน", "หนอง", "นา", "โนน", "ดอน", "ห้วย", "ท่า", "บาง", "คลอง", "วัง", "ทุ่ง", "โคก", "ป่า", "เขา",
    "สระ", "บึง", "หัว", "ไร่", "แม่", "ลำ", "เวียง", "เชียง", "ดง", "บ่อ", "หาด", "แหลม", "เกาะ", "ศรี",
]
PLACE_TAILS = [
    "ใหญ่", "ทอง", "แดง", "ขาม", "บัว", "สูง", "ยาง", "ไผ่", "งาม", "เจริญ", "สวรรค์", "คำ", "หลวง", "จันทร์",
    "เหนือ", "กลาง", "ม่วง", "สะแก", "แก้ว", "เงิน", "ชัย", "พัฒนา", "สมบูรณ์", "โพธิ์", "ตะเคียน", "มะขาม",
    "กระทุ่ม", "ช้าง", "เสือ", "หิน", "ทราย", "น้ำ", "ไทร", "จาน", "สำโรง", "กุง", "แสง", "ดี", "เก่า", "ใหม่",
]

# How far each tool's indicators fall below 100 relative to the overall shortfall: the internal
# survey (IIT) is usually highest, open data (OIT) the most spread. Normalised by the year's weights.
TOOL_SPREAD = {"IIT": 0.55, "EIT": 0.95, "OIT": 1.35}
MAX_SHORTFALL = 60.0  # the tail reaches down to about 40
PERSISTENCE = 0.6  # year-to-year correlation of the drifting part of an agency's standing


def cent(value):
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def dec(x):
    """A float score as a 2-decimal Decimal within 0–100."""
    return Decimal(f"{min(100.0, max(0.0, x)):.2f}")


def phi(z):
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def parse_years(text):
    match = re.fullmatch(r"\s*(\d{4})\s*(?:-\s*(\d{4})\s*)?", text)
    if not match:
        raise CommandError(f"รูปแบบปีไม่ถูกต้อง: {text!r} (ตัวอย่าง 2563-2568 หรือ 2568)")
    first = int(match.group(1))
    last = int(match.group(2) or first)
    if last < first:
        raise CommandError(f"ปีสิ้นสุด {last} มาก่อนปีเริ่มต้น {first}")
    return list(range(first, last + 1))


def scaled_counts(total, counts):
    """Split `total` in the proportions of `counts` (largest remainder, so the parts add up)."""
    whole = sum(n for _, n in counts)
    raw = [(key, total * n / whole) for key, n in counts]
    result = {key: int(share) for key, share in raw}
    left = total - sum(result.values())
    for key, _ in sorted(raw, key=lambda kv: kv[1] - int(kv[1]), reverse=True)[:left]:
        result[key] += 1
    return result


class PlaceNames:
    """Unique Thai-looking place names from syllables."""

    def __init__(self, rng):
        self.rng = rng
        self.used = {name for name, _ in PROVINCES}

    def new(self):
        for attempt in range(1000):
            name = self.rng.choice(PLACE_HEADS) + self.rng.choice(PLACE_TAILS)
            if attempt > 20 or self.rng.random() < 0.35:
                name += self.rng.choice(PLACE_TAILS)
            if name not in self.used:
                self.used.add(name)
                return name
        raise CommandError("สร้างชื่อสถานที่ไม่ซ้ำไม่ได้")


def build_agencies(rng, total, prefix):
    """Agency rows (unsaved) plus each one's persistent standing: a list of (Agency, latent z)."""
    places = PlaceNames(rng)
    weights = {name: w for name, w in PROVINCES}
    local = [name for name, w in PROVINCES if w]
    local_weights = [weights[name] for name in local]
    province_shift = {name: rng.gauss(0, 0.25) for name, _ in PROVINCES}
    districts = {}
    for name, w in PROVINCES:
        count = max(3, round(w / 12)) if w else 6
        first = "เมือง" + name if name != BANGKOK else "พระนคร"
        districts[name] = [first] + [places.new() for _ in range(count - 1)]

    counts = scaled_counts(total, TYPE_COUNTS)
    if counts[Agency.Type.PAO] > len(local):  # one อบจ. per province at most
        counts[Agency.Type.OTHER] += counts[Agency.Type.PAO] - len(local)
        counts[Agency.Type.PAO] = len(local)
    plan = []
    for agency_type, count in counts.items():
        if agency_type == Agency.Type.PAO:
            provinces = rng.sample(local, count)
        elif agency_type == Agency.Type.OTHER:
            provinces = [
                BANGKOK if rng.random() < 0.5 else rng.choices(local, local_weights)[0] for _ in range(count)
            ]
        else:
            provinces = rng.choices(local, local_weights, k=count)
        plan += [(agency_type, province) for province in provinces]
    rng.shuffle(plan)

    rows = []
    for number, (agency_type, province) in enumerate(plan, start=1):
        if agency_type == Agency.Type.PAO:
            name, district = TYPE_PREFIX[agency_type] + province, districts[province][0]
        elif agency_type == Agency.Type.OTHER:
            name, district = rng.choice(OTHER_PREFIXES) + places.new(), rng.choice(districts[province])
        else:
            name, district = TYPE_PREFIX[agency_type] + places.new(), rng.choice(districts[province])
        agency = Agency(
            code=f"{prefix}{number:05d}", name=name, agency_type=agency_type, district=district, province=province
        )
        z = rng.gauss(0, 1) + TYPE_SHIFT[agency_type] + province_shift[province]
        rows.append((agency, z))
    return rows


class YearShape:
    """What the generator needs of one year's framework: tools with weights and their indicators."""

    def __init__(self, nodes):
        self.nodes = nodes
        children = {}
        for node in nodes:
            children.setdefault(node.parent, []).append(node)
        for group in children.values():
            group.sort(key=lambda n: n.order)
        self.children = children
        self.overall = next(n for n in nodes if n.kind == scoring.OVERALL)
        self.tools = [n for n in children.get(self.overall.code, []) if n.kind == scoring.TOOL]
        self.indicators = [(tool, ind) for tool in self.tools for ind in children.get(tool.code, [])]
        total = sum(float(t.weight or 0) * TOOL_SPREAD.get(t.code, 1.0) for t in self.tools) or 1.0
        self.spread = {t.code: TOOL_SPREAD.get(t.code, 1.0) / total for t in self.tools}

    def has_questions(self):
        return any(n.kind in (scoring.QUESTION, scoring.SUB_INDICATOR) for n in self.nodes)


class Generator:
    def __init__(self, rng, years):
        self.rng = rng
        self.years = years
        self.profiles = None  # per agency and indicator: lasting strengths and weaknesses

    def standings(self, latent):
        """Per agency and year, the standing z (higher is weaker): a lasting part from the agency's
        latent z plus a year-to-year part that drifts (AR(1)), so good agencies stay mostly good."""
        lasting, drifting = math.sqrt(0.6), math.sqrt(0.4)
        keep = math.sqrt(1 - PERSISTENCE * PERSISTENCE)
        result = []
        for z0 in latent:
            e, row = self.rng.gauss(0, 1), []
            for _ in self.years:
                row.append(lasting * z0 + drifting * e)
                e = PERSISTENCE * e + keep * self.rng.gauss(0, 1)
            result.append(row)
        return result

    def year_profiles(self, shape, standings_of_year, profiles):
        """Per agency for one year: a raw shortfall below 100 (an exponential draw from its standing,
        so most agencies sit close to 100 with a long tail) and one factor per indicator (mean 1)
        from its lasting profile plus this year's noise. `calibrate` scales the shortfalls."""
        raw = [-math.log(max(1e-12, 1 - phi(z))) for z in standings_of_year]
        noise = [
            [math.exp(0.35 * profiles[a][i] + 0.25 * self.rng.gauss(0, 1) - 0.092) for i in range(len(shape.indicators))]
            for a in range(len(raw))
        ]
        return raw, noise

    def indicator_floats(self, shape, scale, raw, noise):
        rows = []
        for r, n in zip(raw, noise, strict=True):
            shortfall = min(MAX_SHORTFALL, scale * r)
            rows.append([
                min(100.0, max(0.0, 100.0 - shortfall * shape.spread[tool.code] * n[i]))
                for i, (tool, _) in enumerate(shape.indicators)
            ])
        return rows

    def calibrate(self, shape, target, raw, noise):
        """Indicator scores (floats) scaled so the mean overall score is the year's national average."""
        scale = 100.0 - target
        weights = [(float(t.weight or 0), [i for i, (tool, _) in enumerate(shape.indicators) if tool is t])
                   for t in shape.tools]
        for _ in range(6):
            rows = self.indicator_floats(shape, scale, raw, noise)
            mean = sum(
                sum(w * sum(row[i] for i in idx) / len(idx) for w, idx in weights if idx) for row in rows
            ) / max(1, len(rows))
            shortfall = 100.0 - mean
            if shortfall <= 0:
                break
            scale *= (100.0 - target) / shortfall
        return self.indicator_floats(shape, scale, raw, noise)

    def figures(self, shape, indicator_values, questions):
        """Official figures of one assessment: (code, part) → Decimal."""
        figures = {}
        for (_, node), value in zip(shape.indicators, indicator_values, strict=True):
            if questions:
                derived = self.question_figures(shape, node, value, figures)
                figures[(node.code, "")] = derived if derived is not None else dec(value)
            else:
                figures[(node.code, "")] = dec(value)
        tool_means = []
        for tool in shape.tools:
            values = [figures[(ind.code, "")] for t, ind in shape.indicators if t is tool]
            if values:
                tool_means.append((tool.weight or Decimal(0), scoring.mean(values)))
        figures[(shape.overall.code, "")] = cent(scoring.weighted_overall(tool_means))
        return figures

    def question_figures(self, shape, indicator, target, figures):
        """Question-level figures under one indicator around its target score; returns the indicator
        as the mean of what was generated (None when the indicator has no parts)."""
        rng = self.rng
        kids = shape.children.get(indicator.code, [])
        if not kids:
            return None
        gap = 100.0 - target
        if kids[0].kind == scoring.SUB_INDICATOR:
            subs = []
            for sub in kids:
                items = shape.children.get(sub.code, [])
                if not items:
                    continue
                values = []
                # Share of the items fully met; the shortfall varies by sub-indicator around the target's.
                p = max(0.0, 1.0 - gap / 100.0 * self.spread_factor())
                half = min(p, 1 - p, 0.15)
                for item in items:
                    u = rng.random()
                    value = HUNDRED if u < p - half else Decimal("50.00") if u < p + half else Decimal("0.00")
                    figures[(item.code, "")] = value
                    values.append(value)
                subs.append(cent(scoring.mean(values)))
                figures[(sub.code, "")] = subs[-1]
            return cent(scoring.mean(subs)) if subs else None
        means = []
        for question in kids:
            q = max(0.0, 100.0 - gap * self.spread_factor()) if gap > 0.3 else 100.0
            if question.has_parts:
                public = dec(q + (100.0 - q) * rng.uniform(0.4, 0.95))
                survey = dec(2 * q - float(public))
                figures[(question.code, scoring.PUBLIC)] = public
                figures[(question.code, scoring.SURVEY)] = survey
                means.append(scoring.mean([public, survey]))
            else:
                value = dec(q)
                figures[(question.code, "")] = value
                means.append(value)
        return cent(scoring.mean(means))


    def spread_factor(self):
        """A positive factor with mean 1 (lognormal): parts scatter around their parent's shortfall
        without moving its mean, and never above 100."""
        return math.exp(self.rng.gauss(0, 0.5) - 0.125)


def derived_fields(result):
    """overall / level / urgent_indicator_count exactly as services.assessment_refresh stores them."""
    overall = result.overall.value if result.figures else None
    urgent = sum(1 for f in result.of_kind(scoring.INDICATOR) if f.triage == scoring.Triage.URGENT)
    return {
        "overall": overall.quantize(Decimal("0.0001")) if overall is not None else None,
        "level": result.level.name if result.level else "",
        "urgent_indicator_count": urgent,
    }


class Command(BaseCommand):
    help = "สร้างข้อมูลตัวอย่างระดับประเทศ (หน่วยงานรหัส GEN…) พร้อมผลการประเมินหลายปี เพื่อทดลองใช้งานและวัดความเร็ว"

    def add_arguments(self, parser):
        parser.add_argument("--agencies", type=int, default=8317, help="จำนวนหน่วยงาน (ค่าเริ่มต้น 8317)")
        parser.add_argument("--years", default="2563-2568", help="ช่วงปีงบประมาณ เช่น 2563-2568")
        parser.add_argument("--seed", type=int, default=1, help="ค่าตั้งต้นของตัวสุ่ม (ได้ข้อมูลเดิมทุกครั้ง)")
        parser.add_argument("--questions", action="store_true", help="สร้างคะแนนรายข้อคำถามในปีที่กรอบการประเมินมีข้อคำถาม")
        parser.add_argument("--prefix", default="GEN", help="คำนำหน้ารหัสหน่วยงาน (ค่าเริ่มต้น GEN)")
        parser.add_argument("--replace", action="store_true", help="ลบหน่วยงานตัวอย่างที่มีคำนำหน้ารหัสนี้ก่อนแล้วสร้างใหม่")

    def handle(self, *args, agencies, years, seed, questions, prefix, replace, **options):
        started = time.monotonic()
        if not 1 <= agencies <= 99999:
            raise CommandError("จำนวนหน่วยงานต้องอยู่ระหว่าง 1 ถึง 99,999")
        if not re.fullmatch(r"[A-Z]{2,10}", prefix):
            raise CommandError("คำนำหน้ารหัสต้องเป็นอักษรภาษาอังกฤษตัวใหญ่ 2–10 ตัว")
        year_list = parse_years(years)
        fiscal_years = {fy.year: fy for fy in FiscalYear.objects.filter(year__in=year_list)}
        missing = [y for y in year_list if y not in fiscal_years]
        if missing:
            raise CommandError(
                "ยังไม่มีกรอบการประเมินของปีงบประมาณ " + ", ".join(map(str, missing)) + " กรุณาเพิ่มในหน้าผู้ดูแลก่อน"
            )
        ours = Agency.objects.filter(code__regex=rf"^{prefix}[0-9]{{5}}$")
        existing = ours.count()
        if existing and not replace:
            raise CommandError(
                f"มีหน่วยงานตัวอย่างรหัส {prefix}xxxxx อยู่แล้ว {existing:,} หน่วยงาน "
                "ไม่ได้สร้างเพิ่ม ใช้ --replace เพื่อลบของเดิมแล้วสร้างใหม่"
            )

        rng = random.Random(seed)
        with transaction.atomic():
            if existing:
                self._delete(ours)
                self.stdout.write(f"ลบหน่วยงานตัวอย่างเดิม {existing:,} หน่วยงาน พร้อมผลการประเมินทั้งหมดแล้ว")
            rows = build_agencies(rng, agencies, prefix)
            created = Agency.objects.bulk_create([agency for agency, _ in rows], batch_size=1000)
            if any(a.pk is None for a in created):  # a backend that cannot return ids from bulk inserts
                ids = dict(ours.values_list("code", "pk"))
                for agency in created:
                    agency.pk = ids[agency.code]
            self._report_agencies(created)

            generator = Generator(rng, year_list)
            standings = generator.standings([z for _, z in rows])
            for index, year in enumerate(year_list):
                self._year(generator, fiscal_years[year], created, [s[index] for s in standings], questions)
        if connection.vendor == "postgresql":
            # Fresh planner statistics after a bulk load: without them PostgreSQL plans the national
            # averages as if the score table were small (the comparison page ran 3× slower). VACUUM
            # too, when allowed (not inside a transaction), so autovacuum does not start mid-use.
            tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in (Agency, Assessment, Score))
            with connection.cursor() as cursor:
                cursor.execute(f"{'ANALYZE' if connection.in_atomic_block else 'VACUUM ANALYZE'} {tables}")
        aggregates_refresh_years(fiscal_years=fiscal_years.values())
        self.stdout.write(self.style.SUCCESS(f"เสร็จแล้วใน {time.monotonic() - started:.1f} วินาที"))

    def _delete(self, agencies):
        from plans.models import Plan

        if Plan.objects.filter(agency__in=agencies).exists():
            raise CommandError("หน่วยงานตัวอย่างเดิมมีแผนที่จัดทำไว้แล้ว ไม่ลบให้ กรุณาลบแผนเหล่านั้นในหน้าผู้ดูแลก่อน")
        assessments = Assessment.objects.filter(agency__in=agencies)
        AnalysisText.objects.filter(assessment__in=assessments).delete()
        Membership.objects.filter(agency__in=agencies).delete()
        # Raw deletes: hundreds of thousands of rows; the ORM would load each one to send signals
        # and write a history row. The import batch log, not the history, is the audit trail here.
        Score.objects.filter(assessment__in=assessments)._raw_delete(Score.objects.db)
        assessments._raw_delete(Assessment.objects.db)
        agencies.delete()

    def _report_agencies(self, agencies):
        by_type = {}
        for agency in agencies:
            by_type[agency.agency_type] = by_type.get(agency.agency_type, 0) + 1
        provinces = len({a.province for a in agencies})
        self.stdout.write(f"สร้างหน่วยงาน {len(agencies):,} หน่วยงาน ใน {provinces} จังหวัด")
        for agency_type, label in Agency.Type.choices:
            if by_type.get(agency_type):
                self.stdout.write(f"  {label}: {by_type[agency_type]:,}")

    def _year(self, generator, fiscal_year, agencies, standings, questions):
        tick = time.monotonic()
        nodes = framework_nodes(fiscal_year)
        rules = level_rule_specs(fiscal_year)
        shape = YearShape(nodes)
        if not shape.indicators:
            raise CommandError(f"กรอบการประเมินปี {fiscal_year.year} ยังไม่มีตัวชี้วัด")
        year_questions = questions and shape.has_questions()
        items = dict(fiscal_year.items.values_list("code", "pk"))
        if generator.profiles is None or len(generator.profiles[0]) != len(shape.indicators):
            # The agency's strengths and weaknesses by indicator persist across years.
            generator.profiles = [[generator.rng.gauss(0, 1) for _ in shape.indicators] for _ in agencies]
        profiles = generator.profiles
        target = NATIONAL_AVERAGE.get(
            fiscal_year.year, NATIONAL_AVERAGE[min(NATIONAL_AVERAGE, key=lambda y: abs(y - fiscal_year.year))]
        )
        raw, noise = generator.year_profiles(shape, standings, profiles)
        values = generator.calibrate(shape, target, raw, noise)

        total, passed, scores_written, levels = Decimal(0), 0, 0, {}
        for start in range(0, len(agencies), CHUNK):
            batch, figures_of = [], []
            for agency, indicator_values in zip(agencies[start:start + CHUNK], values[start:start + CHUNK], strict=True):
                figures = generator.figures(shape, indicator_values, year_questions)
                result = scoring.compute(nodes, figures, rules)
                derived = derived_fields(result)
                batch.append(Assessment(agency=agency, fiscal_year=fiscal_year, **derived))
                figures_of.append(figures)
                total += derived["overall"]
                passed += bool(result.level and result.level.passed)
                levels[derived["level"]] = levels.get(derived["level"], 0) + 1
            Assessment.objects.bulk_create(batch, batch_size=1000)
            if any(a.pk is None for a in batch):
                ids = dict(
                    Assessment.objects.filter(fiscal_year=fiscal_year, agency__in=[a.agency_id for a in batch])
                    .values_list("agency_id", "pk")
                )
                for assessment in batch:
                    assessment.pk = ids[assessment.agency_id]
            scores = [
                Score(assessment_id=assessment.pk, item_id=items[code], part=part, value=value)
                for assessment, figures in zip(batch, figures_of, strict=True)
                for (code, part), value in figures.items()
            ]
            Score.objects.bulk_create(scores, batch_size=2000)
            scores_written += len(scores)
        count = len(agencies)
        average = cent(total / count) if count else Decimal(0)
        share = Decimal(100 * passed) / count if count else Decimal(0)
        level_text = ", ".join(f"{name} {n:,}" for name, n in sorted(levels.items(), key=lambda kv: -kv[1]))
        self.stdout.write(
            f"ปีงบประมาณ {fiscal_year.year}: ผลการประเมิน {count:,} หน่วยงาน คะแนน {scores_written:,} รายการ"
            f"{' (รวมรายข้อคำถาม)' if year_questions else ''} ค่าเฉลี่ยทั้งประเทศ {average} "
            f"ผ่านเกณฑ์ {cent(share)}% ({time.monotonic() - tick:.1f} วินาที)"
        )
        self.stdout.write(f"  ระดับ: {level_text}")
