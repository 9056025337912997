"""Word tables and text composers for the benchmark corpus (bench/corpus.py).

Everything here is plain text: people, companies, parts, failures, and the bodies of
complaints, follow-ups and out-of-office notes. All Chinese in the tables is encodable in
GB2312 on purpose, so a part declared ``gb2312`` is honest; only ``GBK_ONLY_NAMES`` and the en
dash in ``gbk_only_line`` need GBK (the ``gb2312_gbk_chars`` kind).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

SURNAMES = (
    ("张", "zhang"),
    ("王", "wang"),
    ("李", "li"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("赵", "zhao"),
    ("黄", "huang"),
    ("周", "zhou"),
    ("吴", "wu"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("马", "ma"),
    ("胡", "hu"),
    ("郭", "guo"),
    ("何", "he"),
    ("高", "gao"),
    ("林", "lin"),
    ("罗", "luo"),
    ("郑", "zheng"),
)
GIVEN = (
    ("伟", "wei"),
    ("娜", "na"),
    ("芳", "fang"),
    ("敏", "min"),
    ("静", "jing"),
    ("磊", "lei"),
    ("强", "qiang"),
    ("军", "jun"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("艳", "yan"),
    ("杰", "jie"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("秀英", "xiuying"),
    ("建华", "jianhua"),
    ("晓东", "xiaodong"),
    ("海燕", "haiyan"),
    ("志强", "zhiqiang"),
    ("丽华", "lihua"),
    ("国庆", "guoqing"),
    ("春梅", "chunmei"),
)
GBK_ONLY_NAMES = ("王喆", "李堃", "陈玥", "赵昇", "刘珺", "周琇", "杨镕", "黄瑄")
EN_FIRST = (
    "John",
    "Anna",
    "Michael",
    "Sarah",
    "David",
    "Laura",
    "Thomas",
    "Emma",
    "Raj",
    "Carlos",
    "Peter",
    "Julia",
    "Mark",
    "Olga",
    "Kenji",
    "Fatima",
)
EN_LAST = (
    "Miller",
    "Schmidt",
    "Smith",
    "Patel",
    "Garcia",
    "Brown",
    "Novak",
    "Kowalski",
    "Tanaka",
    "Rossi",
    "Wilson",
    "Jensen",
    "Silva",
    "Meyer",
)

ZH_PREFIXES = (
    ("东风", "dfmc"),
    ("一汽", "faw"),
    ("长安", "changan"),
    ("吉利", "geely"),
    ("奇瑞", "chery"),
    ("江淮", "jac"),
    ("宇通", "yutong"),
    ("福田", "foton"),
    ("十堰", "shiyan"),
    ("襄阳", "xiangyang"),
    ("芜湖", "wuhu"),
    ("柳州", "liuzhou"),
    ("重庆", "cq"),
    ("宁波", "ningbo"),
    ("台州", "taizhou"),
    ("长春", "cc"),
    ("武汉", "wuhan"),
    ("瑞安", "ruian"),
)
ZH_TYPES = (
    ("汽车零部件有限公司", "parts"),
    ("汽配有限公司", "autoparts"),
    ("汽车服务有限公司", "auto-service"),
    ("制动系统有限公司", "brake"),
    ("汽车销售服务有限公司", "motors"),
    ("车桥有限公司", "axle"),
    ("售后服务中心", "service"),
)
ZH_TLDS = ("cn", "com.cn", "com", "net.cn")
FREEMAIL = ("qq.com", "163.com", "126.com", "sina.com")
EN_COMPANIES = (
    ("Midwest Brake Supply", "midwest-brake.com"),
    ("Northline Fleet Services", "northline-fleet.co.uk"),
    ("Autohaus Keller", "autohaus-keller.de"),
    ("Baltic Truck Parts", "baltictruck.pl"),
    ("Iberia Recambios", "iberia-recambios.es"),
    ("Pacific Auto Components", "pacauto.com.au"),
    ("Lakeside Motors", "lakeside-motors.com"),
    ("Nordic Axle AB", "nordicaxle.se"),
    ("Sunrise Auto Trading", "sunrise-auto.co.th"),
    ("Delta Commercial Vehicles", "deltacv.in"),
    ("Alpine Fahrzeugteile", "alpine-teile.at"),
    ("Rio Grande Truck Service", "rgts.com.mx"),
    ("Harbor Fleet Maintenance", "harborfleet.com"),
    ("Kobe Parts Trading", "kobe-parts.jp"),
    ("Savanna Motors", "savannamotors.co.za"),
)

# (Chinese name, English name, failures that happen to this part)
PARTS = (
    ("前刹车片", "front brake pad", (0, 2, 8, 12)),
    ("后刹车片", "rear brake pad", (0, 8, 12)),
    ("刹车盘", "brake disc", (0, 4, 13)),
    ("油封", "oil seal", (1, 2, 10)),
    ("O型密封圈", "O-ring", (1, 2, 14)),
    ("水泵", "water pump", (1, 9, 11)),
    ("减震器", "shock absorber", (1, 9, 3)),
    ("转向拉杆", "tie rod", (6, 7, 13)),
    ("控制臂", "control arm", (3, 7, 13)),
    ("发动机支架", "engine bracket", (3, 2, 5)),
    ("排气管焊接总成", "exhaust pipe weld assembly", (3, 4, 5)),
    ("机油滤清器", "oil filter", (1, 6, 15)),
    ("线束总成", "wiring harness", (14, 15, 2)),
    ("制动软管", "brake hose", (1, 10, 4)),
    ("轮毂轴承", "wheel hub bearing", (9, 11, 12)),
)
FAILURES = (
    ("刹车片异响", "brake squeal"),
    ("密封圈漏油", "oil leak at the seal"),
    ("尺寸超差", "dimension out of tolerance"),
    ("焊点开裂", "cracked weld spots"),
    ("表面锈蚀", "surface corrosion"),
    ("涂层脱落", "coating peeling off"),
    ("螺纹滑丝", "stripped thread"),
    ("装配困难", "parts do not fit at assembly"),
    ("制动抖动", "brake judder"),
    ("异响", "abnormal noise"),
    ("渗漏", "seepage"),
    ("卡滞", "sticking"),
    ("磨损异常", "abnormal wear"),
    ("变形", "deformation"),
    ("漏装零件", "missing component"),
    ("标签错误", "wrong label"),
)
VEHICLES_ZH = (
    "东风天龙KL",
    "解放J6P",
    "欧曼EST",
    "长安CS75",
    "吉利博越",
    "哈弗H6",
    "宇通ZK6122",
    "江淮帅铃",
    "福田奥铃",
    "奇瑞瑞虎8",
)
VEHICLES_EN = (
    "Ford Transit",
    "VW Crafter",
    "MAN TGX",
    "Mercedes Sprinter",
    "Iveco Daily",
    "Scania R450",
    "Toyota Hilux",
)
REQUESTS_ZH = (
    "请尽快安排技术人员到现场确认。",
    "请于3个工作日内提供8D报告。",
    "申请三包索赔，索赔金额{amount}元，请审批。",
    "要求对该批次全部退货更换。",
    "请提供临时遏制措施，并安排人员到我司挑选。",
    "请确认是否为批次性问题，并回复处理意见。",
)
REQUESTS_EN = (
    "Please send a technician to confirm on site.",
    "Please provide an 8D report within 3 working days.",
    "We claim warranty compensation of EUR {amount}.",
    "Please replace the whole batch.",
    "Please advise containment actions.",
)
REPLIES_ZH = (
    "补充一下：不良数量增加到{qty}件，照片见附件。",
    "请问处理进度如何？客户一直在催。",
    "8D报告已收到，但是原因分析不充分，请补充。",
    "今天又发现{qty}件同样的问题。",
    "同意贵司的处理方案。",
    "满意，谢谢！",
    "不满意，问题还没解决。",
    "收到，谢谢。",
    "请尽快回复，我们的生产线在等这批零件。",
)
REPLIES_EN = (
    "Update: {qty} more parts failed today.",
    "Any news on this? Our customer is waiting.",
    "Thanks, we agree with your proposal.",
    "Satisfied, thanks.",
    "Not satisfied, the problem is still there.",
    "The 8D report does not explain the root cause. Please revise.",
)
_UTC_OFFSETS = {
    ".de": 1,
    ".at": 1,
    ".pl": 1,
    ".se": 1,
    ".es": 1,
    ".uk": 0,
    ".au": 11,
    ".jp": 9,
    ".th": 7,
    ".in": 5.5,
    ".mx": -6,
    ".za": 2,
    ".com": -5,
}  # English-writing customers
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
_VIN_VALUES = dict(
    zip("ABCDEFGHJKLMNPRSTUVWXYZ", (1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 7, 9, 2, 3, 4, 5, 6, 7, 8, 9), strict=True)
)
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


@dataclass(frozen=True, slots=True)
class Person:
    """A customer contact: who writes to us."""

    address: str
    name: str
    company: str
    lang: str  # "zh" or "en"
    phone: str
    utc_offset: float  # hours, for the Date header


@dataclass(frozen=True, slots=True)
class Facts:
    """What one complaint is about."""

    part: tuple[str, str]
    failure: tuple[str, str]
    part_no: str
    batch: str
    qty: int
    bad: int
    vehicle: str
    vin: str
    km: int
    amount: int


def vin(rng: random.Random) -> str:
    """A 17-character VIN with a valid ISO 3779 check digit (position 9)."""
    chars = [rng.choice(VIN_CHARS) for _ in range(17)]
    chars[0] = "L"  # China-built vehicles
    total = sum((int(c) if c.isdigit() else _VIN_VALUES[c]) * w for c, w in zip(chars, _VIN_WEIGHTS, strict=True))
    chars[8] = "X" if total % 11 == 10 else str(total % 11)
    return "".join(chars)


def make_facts(rng: random.Random, lang: str) -> Facts:
    zh, en, failures = rng.choice(PARTS)
    qty = rng.choice((50, 100, 200, 500, 1000, 2000))
    return Facts(
        part=(zh, en),
        failure=FAILURES[rng.choice(failures)],
        part_no=f"{rng.randint(1000, 9999)}-{rng.randint(1, 99999):05d}",
        batch=f"B2026-{rng.randint(9, 11):02d}{rng.randint(1, 28):02d}",
        qty=qty,
        bad=rng.randint(1, max(2, qty // 20)),
        vehicle=rng.choice(VEHICLES_ZH if lang == "zh" else VEHICLES_EN),
        vin=vin(rng),
        km=rng.randint(3, 120) * 1000,
        amount=rng.randint(5, 400) * 100,
    )


def make_people(rng: random.Random, count: int, domains: int) -> list[Person]:
    """About ``count`` distinct contacts spread over ``domains`` customer domains (3/4 Chinese)."""
    zh_companies = [(p + t, f"{ps}-{ts}.{rng.choice(ZH_TLDS)}") for p, ps in ZH_PREFIXES for t, ts in ZH_TYPES]
    rng.shuffle(zh_companies)
    n_en = min(len(EN_COMPANIES), domains // 4)
    n_zh = domains - n_en - len(FREEMAIL)
    companies = [(c, d, "zh") for c, d in zh_companies[:n_zh]]
    companies += [("", d, "zh") for d in FREEMAIL] + [(c, d, "en") for c, d in EN_COMPANIES[:n_en]]
    people: dict[str, Person] = {}
    while len(people) < count:
        company, domain, lang = companies[len(people) % len(companies)]
        if lang == "en":
            first, last = rng.choice(EN_FIRST), rng.choice(EN_LAST)
            name, local = f"{first} {last}", rng.choice((f"{first}.{last}", f"{first[0]}{last}"))
            phone = f"+{rng.choice((1, 44, 49, 34, 61))} {rng.randint(2000000, 99999999)}"
        else:
            phone = f"13{rng.randint(100000000, 999999999)}"
            (sur, sur_py), (giv, giv_py) = rng.choice(SURNAMES), rng.choice(GIVEN)
            name = sur + giv
            local = rng.choice((f"{sur_py}.{giv_py}", f"{sur_py}{giv_py}", f"{giv_py}.{sur_py}"))
            if domain == "qq.com":
                local = str(rng.randint(10000000, 2999999999))
            elif domain in FREEMAIL:
                local += str(rng.randint(70, 99))
        address = f"{local.lower()}@{domain}"
        offset = 8.0 if lang == "zh" else next(h for s, h in _UTC_OFFSETS.items() if domain.endswith(s))
        people.setdefault(address, Person(address, name, company or name, lang, phone, offset))
    return list(people.values())


def complaint(rng: random.Random, who: Person, facts: Facts) -> tuple[str, str]:
    """(subject, body) of a new complaint in the contact's language."""
    if who.lang == "en":
        return _complaint_en(rng, who, facts)
    part, fail = facts.part[0], facts.failure[0]
    subject = rng.choice(
        (
            f"关于{part}{fail}的投诉",
            f"【质量投诉】{facts.part_no} {fail}",
            f"三包索赔申请-{facts.vehicle} {part}",
            f"批次{facts.batch}{fail}问题反馈",
            f"紧急：{part}{fail}",
        )
    )
    request = rng.choice(REQUESTS_ZH).format(amount=facts.amount)
    if rng.random() < 0.5:
        text = (
            f"我司近期收到贵司供货的{part}（零件号{facts.part_no}，批次{facts.batch}），"
            f"装车后在{facts.vehicle}上出现{fail}，共{facts.bad}件。"
            f"车辆VIN：{facts.vin}，行驶里程{facts.km}公里。\n{request}"
        )
    else:
        text = (
            f"现将质量问题反馈如下：\n零件名称：{part}\n零件号：{facts.part_no}\n"
            f"批次：{facts.batch}\n数量：{facts.qty}件（不良{facts.bad}件）\n"
            f"车型：{facts.vehicle}  VIN：{facts.vin}\n行驶里程：{facts.km}公里\n"
            f"问题描述：{fail}\n处理要求：{request}"
        )
    greeting = rng.choice(("您好：", "王经理您好！", "贵司质量部：", "各位好，"))
    body = f"{greeting}\n\n{text}\n\n谢谢！\n\n{who.name}\n{who.company}\n电话：{who.phone}\n"
    return subject, body


def _complaint_en(rng: random.Random, who: Person, facts: Facts) -> tuple[str, str]:
    part, fail = facts.part[1], facts.failure[1]
    subject = rng.choice(
        (
            f"Complaint: {part} - {fail}",
            f"Quality issue {facts.part_no}",
            f"Warranty claim {facts.vehicle} {part}",
            f"URGENT: {fail} on {part}",
        )
    )
    request = rng.choice(REQUESTS_EN).format(amount=facts.amount)
    body = (
        f"Dear Sir or Madam,\n\nwe found {fail} on {facts.bad} of {facts.qty} pcs of your "
        f"{part}\n(part no. {facts.part_no}, batch {facts.batch}), fitted to a "
        f"{facts.vehicle},\nVIN {facts.vin}, at {facts.km} km.\n\n{request}\n\n"
        f"Best regards,\n{who.name}\n{who.company}\nPhone {who.phone}\n"
    )
    return subject, body


def follow_up(rng: random.Random, who: Person) -> str:
    """The new text of a reply (above the quotation)."""
    table = REPLIES_EN if who.lang == "en" else REPLIES_ZH
    sign = f"\n\n{who.name}\n" if rng.random() < 0.7 else "\n"
    return rng.choice(table).format(qty=rng.randint(2, 40)) + sign


def quotation(rng: random.Random, who: Person, date: str, subject: str, body: str) -> str:
    """The quoted earlier message, in the style of a common client."""
    if who.lang == "en":
        quoted = "".join(f"> {line}\n" for line in body.splitlines())
        return f"\nOn {date}, {who.name} <{who.address}> wrote:\n{quoted}"
    if rng.random() < 0.5:
        quoted = "".join(f"> {line}\n" for line in body.splitlines())
        return f'\n在 {date}，"{who.name}" <{who.address}> 写道：\n{quoted}'
    return (
        f'\n------------------ 原始邮件 ------------------\n发件人: "{who.name}" '
        f"<{who.address}>\n发送时间: {date}\n主题: {subject}\n\n{body}"
    )


def out_of_office(rng: random.Random, who: Person) -> str:
    day = rng.randint(1, 20)
    if who.lang == "en":
        return (
            f"Thank you for your email. I am out of the office until November {day + 7} "
            f"with limited access to email.\nFor urgent matters please call {who.phone}.\n"
        )
    return f"您好！我于11月{day}日至11月{day + 7}日休假，期间不能及时回复邮件，紧急事宜请致电{who.phone}。谢谢！\n"


def attachment(
    rng: random.Random,
    who: Person,
    facts: Facts,
    n: int,
    when: datetime,
) -> tuple[str, str, bytes]:
    """(content type, file name, bytes) of a PDF-like report or a JPEG-like photo, 5-60 KB."""
    size = rng.randint(5 * 1024, 60 * 1024 - 64)  # plus a few bytes of header and trailer
    names: tuple[str, ...]
    if rng.random() < 0.5:
        names = (
            (f"检测报告_{facts.part_no}.pdf", f"8D报告-{facts.batch}.pdf", "三包索赔单.pdf")
            if who.lang == "zh"
            else (f"inspection_report_{facts.part_no}.pdf", "claim.pdf")
        )
        data = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + rng.randbytes(size) + b"\n%%EOF\n"
        return "application/pdf", rng.choice(names), data
    names = (
        (f"{facts.part[0]}不良照片{n + 1}.jpg", f"现场照片{n + 1}.jpg", f"IMG_{when:%Y%m%d_%H%M%S}_{n}.jpg")
        if who.lang == "zh"
        else (f"photo_{n + 1}.jpg",)
    )
    jfif = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01"
    data = jfif + rng.randbytes(size) + b"\xff\xd9"
    return "image/jpeg", rng.choice(names), data


def gbk_only_line(rng: random.Random, facts: Facts) -> str:
    """A line a GB2312 decoder garbles: a GBK-only name and an en dash."""
    return (
        f"联系人：{rng.choice(GBK_ONLY_NAMES)}，涉及批次 {facts.batch}–"
        f"{facts.batch[:-2]}{int(facts.batch[-2:]) + 1:02d}\n"
    )
