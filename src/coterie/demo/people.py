"""Realistic people from several cultures, generated cheaply enough for a million.

Phone numbers vary the last digits of each region's example mobile number, a pattern checked once
per region; they may belong to real people, so never message them. Emails use `.example` domains.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache, lru_cache
from typing import Any

import phonenumbers

from coterie import ids
from coterie.db import utcnow

ADMIN_EMAIL = "admin@demo.example"
OPERATOR_EMAIL = "viewer@demo.example"
DEFAULT_PASSWORD = "demo-admin-pass"
PLANS = ("Free", "Pro", "Enterprise")
INTERESTS = ("Sports", "Music", "Travel", "Cooking", "Technology", "Fashion", "Gaming", "Fitness")
FIELDS = (  # key, label, type, options
    ("plan", "Plan", "enum", PLANS),
    ("city", "City", "text", ()),
    ("lifetime_value", "Lifetime value (USD)", "number", ()),
    ("birthday", "Birthday", "date", ()),
    ("interests", "Interests", "multi_enum", INTERESTS),
    ("newsletter", "Newsletter", "boolean", ()),
)
_SOURCES = (("internal", 35), ("import", 30), ("integration", 15), ("app", 15), ("scim", 5))
_REFS = {
    "import": ("contacts-2024-11.csv", "event-signups.xlsx", "crm-export-2025-03.csv"),
    "integration": ("shopify", "hubspot", "stripe", "zendesk"),
    "app": ("ios", "android", "web"),
    "scim": ("okta", "entra"),
}
_NICKNAMES = {
    "William": "Bill", "Robert": "Bob", "Elizabeth": "Liz", "Jennifer": "Jen", "José": "Pepe",
    "Alejandro": "Alex", "Francisco": "Paco", "Guadalupe": "Lupe", "Katarzyna": "Kasia",
    "Aleksandra": "Ola", "Giuseppe": "Beppe", "Johannes": "Hannes", "Oluwaseun": "Seun",
    "Chukwuemeka": "Emeka", "Margaux": "Margot", "Rafael": "Rafa", "Maximilian": "Max",
}  # fmt: skip
_CHANNELS = ("whatsapp", "instagram", "email", "phone", "sms")
_EMAIL_STYLES = ("{f}.{l}", "{f}{l}", "{i}{l}", "{l}.{f}")
_HANDLE_STYLES = ("{f}.{l}", "{f}_{l}", "the{f}", "{f}{l}")
# Letters NFKD does not take apart (the last one is the Turkish dotless i).
_FOLD = str.maketrans({"ß": "ss", "ł": "l", "Ł": "l", "ø": "o", "đ": "d", "Đ": "d", "\u0131": "i"})

# One block per region: "REGION weight mail-domain [family-first] [unspaced]", then given names,
# family names and cities. `native:latin` gives a romanization; `_` stands for a space.
_CULTURES = """
US 16 mail.example
James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Tyler Jessica Emily
Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Moore Jackson Lee O'Brien
New_York Los_Angeles Chicago Houston Phoenix Seattle Denver Boston Atlanta Austin

GB 7 post.example
Oliver Amelia George Isla Harry Ava Jack Mia Charlie Grace Alfie Freya Siobhan Rhys
Smith Jones Taylor Evans Thomas Roberts Patel Wright Walker Hughes Murphy MacDonald
London Manchester Leeds Glasgow Bristol Cardiff Belfast Leicester

MX 9 correo.example
José María Guadalupe Juan Alejandro Fernanda Sofía Diego Valentina Luis Ximena Francisco Camila
García Hernández Martínez López González Rodríguez Pérez Sánchez Ramírez Flores Cruz Gómez
Ciudad_de_México Guadalajara Monterrey Puebla Tijuana León Mérida Querétaro

ES 5 correo.example
Lucía Hugo Martina Mateo Paula Álvaro Carmen Pablo Nerea Javier Elena Iñaki
García Fernández González Rodríguez López Martínez Sánchez Pérez Jiménez Ruiz Muñoz Iglesias
Madrid Barcelona Valencia Sevilla Bilbao Málaga Zaragoza

BR 9 correio.example
João Maria Ana Pedro Gabriel Júlia Rafael Beatriz Lucas Larissa Thiago Camila Matheus Letícia
Silva Santos Oliveira Souza Rodrigues Ferreira Alves Pereira Lima Gomes Costa Araújo
São_Paulo Rio_de_Janeiro Belo_Horizonte Salvador Fortaleza Curitiba Recife Porto_Alegre

FR 6 courriel.example
Camille Léa Hugo Chloé Louis Manon Gabriel Inès Théo Margaux Lucas Zoé Benoît Cécile
Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Lefèvre Girard
Paris Lyon Marseille Toulouse Nice Nantes Strasbourg Lille

DE 6 posteo.example
Lukas Anna Leon Lena Finn Marie Jonas Sophie Felix Hannah Johannes Jürgen Käthe Maximilian
Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Groß Köhler
Berlin Hamburg München Köln Frankfurt Stuttgart Düsseldorf Leipzig

IT 4 posta.example
Giuseppe Giulia Francesco Sofia Alessandro Aurora Lorenzo Ginevra Matteo Chiara Niccolò
Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco De_Luca
Roma Milano Napoli Torino Palermo Bologna Firenze

PL 3 poczta.example
Katarzyna Aleksandra Piotr Krzysztof Agnieszka Tomasz Małgorzata Paweł Zofia Łukasz
Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński
Warszawa Kraków Łódź Wrocław Poznań Gdańsk

TR 3 posta.example
Mehmet Ayşe Mustafa Fatma Emre Zeynep Burak Elif Çağan Şeyma
Yılmaz Kaya Demir Şahin Çelik Yıldız Öztürk Aydın
İstanbul Ankara İzmir Bursa Antalya

IN 9 dak.example
Aarav Priya Vivaan Ananya Aditya Diya Arjun Saanvi Rohan Kavya Ishaan Lakshmi Rahul Sneha
Sharma Patel Singh Kumar Gupta Reddy Iyer Nair Das Mehta Chatterjee Joshi
Mumbai Delhi Bengaluru Hyderabad Chennai Kolkata Pune Jaipur

NG 5 mail.example
Chukwuemeka Oluwaseun Ngozi Adebayo Chiamaka Ifeanyi Funmilayo Tunde Amaka Yusuf Zainab
Okafor Adeyemi Okonkwo Balogun Eze Ibrahim Nwosu Abubakar Ogunleye Obi
Lagos Abuja Ibadan Kano Port_Harcourt Enugu Benin_City

KE 2 mail.example
Wanjiru Kamau Achieng Otieno Njeri Mwangi Akinyi Kiprop Wambui
Mwangi Otieno Kariuki Odhiambo Wanjiku Kiptoo Njoroge Chebet
Nairobi Mombasa Kisumu Nakuru Eldoret

EG 3 barid.example
Mohamed Ahmed Mahmoud Mostafa Fatma Nour Yasmin Omar Mariam Hana
Hassan Ibrahim Mahmoud Abdelrahman Salem Farouk Mansour Shawky
Cairo Alexandria Giza Luxor Aswan Mansoura

SA 2 barid.example
محمد:Mohammed أحمد:Ahmed علي:Ali عمر:Omar خالد:Khalid فاطمة:Fatima مريم:Maryam سارة:Sara
العتيبي:Alotaibi القحطاني:Alqahtani الغامدي:Alghamdi الشمري:Alshammari الحربي:Alharbi
الرياض جدة مكة الدمام

CN 5 youxiang.example family-first unspaced
伟:Wei 芳:Fang 娜:Na 敏:Min 静:Jing 丽:Li 强:Qiang 磊:Lei 洋:Yang 杰:Jie 涛:Tao 秀英:Xiuying
王:Wang 李:Li 张:Zhang 刘:Liu 陈:Chen 杨:Yang 黄:Huang 赵:Zhao 吴:Wu 周:Zhou
北京 上海 广州 深圳 成都 杭州

JP 3 meeru.example family-first
陽翔:Haruto 蓮:Ren 湊:Minato 大翔:Hiroto 悠真:Yuma 陽葵:Himari 凛:Rin 結菜:Yuna 葵:Aoi 美咲:Misaki
佐藤:Sato 鈴木:Suzuki 高橋:Takahashi 田中:Tanaka 伊藤:Ito 渡辺:Watanabe 山本:Yamamoto 中村:Nakamura
東京 大阪 横浜 名古屋 札幌 福岡

VN 3 thu.example family-first
An Anh Bảo Châu Dũng Hà Hải Hương Khoa Linh Minh Ngọc Phương Tuấn Trang
Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Đặng Bùi
Hà_Nội Hồ_Chí_Minh Đà_Nẵng Hải_Phòng Cần_Thơ
"""  # noqa: RUF001 (Turkish and Vietnamese letters)


def _fold(text: str) -> str:
    """Lower-case ASCII letters and digits only, for email local parts and handles."""
    plain = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(c for c in plain.lower() if c.isascii() and c.isalnum())


def _names(words: str) -> tuple[tuple[str, str], ...]:
    """(display, ASCII) pairs from `native:latin` or plain tokens; `_` stands for a space."""
    pairs = []
    for token in words.split():
        shown, _, latin = token.replace("_", " ").partition(":")
        pairs.append((shown, _fold(latin or shown) or "user"))
    return tuple(pairs)


@dataclass(frozen=True)
class _Region:
    code: str
    weight: int
    domain: str
    family_first: bool
    spaced: bool
    first: tuple[tuple[str, str], ...]
    last: tuple[tuple[str, str], ...]
    cities: tuple[str, ...]
    prefix: str  # E.164 up to the varied digits
    digits: int  # how many trailing digits vary


@cache
def _phone_pattern(region: str) -> tuple[str, int]:
    """E.164 prefix and the number of trailing digits that can vary and stay a valid mobile."""
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:
        raise ValueError(f"phonenumbers has no example mobile number for {region}")
    e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    probe = random.Random(region)
    for digits in (6, 5, 4, 3):
        samples = ["0" * digits, "9" * digits]
        samples += [str(probe.randrange(10**digits)).zfill(digits) for _ in range(30)]
        candidates = (phonenumbers.parse(e164[:-digits] + s) for s in samples)
        if all(phonenumbers.is_valid_number(n) for n in candidates):
            return e164[:-digits], digits
    raise ValueError(f"cannot vary the example mobile number of {region}")


@lru_cache(maxsize=1)
def _regions() -> tuple[_Region, ...]:
    regions = []
    for block in _CULTURES.strip().split("\n\n"):
        header, first, last, cities = block.splitlines()
        code, weight, domain, *flags = header.split()
        towns = tuple(c.replace("_", " ") for c in cities.split())
        order, spacing = "family-first" in flags, "unspaced" not in flags
        regions.append(
            _Region(code, int(weight), domain, order, spacing, _names(first), _names(last), towns,
                    *_phone_pattern(code))
        )  # fmt: skip
    return tuple(regions)


class _Numbers:
    """Unique numbers per region: a counter run through a bijection of 0..10**digits-1."""

    def __init__(self, regions: tuple[_Region, ...], seed: int) -> None:
        self._used = [0] * len(regions)
        self._offset = [(seed * 7_919 + i * 104_729) for i in range(len(regions))]

    def next(self, index: int, region: _Region) -> str | None:
        used = self._used[index]
        space = 10**region.digits
        if used >= space:
            return None
        self._used[index] = used + 1
        tail = (used * 7_919 + self._offset[index]) % space
        return f"{region.prefix}{tail:0{region.digits}d}"


class _Unique:
    """`base`, then `base2`, `base3`...: unique among what this generator made."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def __call__(self, base: str, limit: int) -> str:
        count = self._seen.get(base, 0) + 1
        self._seen[base] = count
        suffix = str(count) if count > 1 else ""
        return base[: limit - len(suffix)] + suffix


# Interest sets by bit mask; two random 8-bit masks ANDed pick each interest with p = 1/4.
_INTEREST_SETS = tuple(
    tuple(name for bit, name in enumerate(INTERESTS) if mask >> bit & 1) for mask in range(256)
)
_LTV_SCALE = {"Free": 40.0, "Pro": 900.0, "Enterprise": 25_000.0}
_BIRTHDAY_EPOCH = date(1950, 1, 1).toordinal()


def _attributes(rng: random.Random, region: _Region) -> dict[str, Any]:
    r = rng.random
    values: dict[str, Any] = {}
    roll = r()
    plan = "Free" if roll < 0.6 else "Pro" if roll < 0.9 else "Enterprise"
    if r() < 0.95:
        values["plan"] = plan
    if r() < 0.9:
        values["city"] = region.cities[int(r() * len(region.cities))]
    if r() < 0.9:
        values["lifetime_value"] = round(rng.expovariate(1 / _LTV_SCALE[plan]), 2)
    if r() < 0.7:
        values["birthday"] = date.fromordinal(_BIRTHDAY_EPOCH + int(r() * 20_450)).isoformat()
    if r() < 0.8:
        interests = _INTEREST_SETS[rng.getrandbits(8) & rng.getrandbits(8)]
        if interests:
            values["interests"] = list(interests)
    if r() < 0.75:
        values["newsletter"] = r() < 0.4
    return values


def generate_people(
    count: int, seed: int = 42, *, now: datetime | None = None
) -> Iterator[dict[str, Any]]:
    """`count` distinct people as User column values, normalized (E.164, lower-case emails).

    Keys: full_name, first_name, last_name, nicknames, phone, email, whatsapp, instagram,
    external_id, primary_channel, source, source_ref, created_at, last_activity_at, attributes.
    The same seed and `now` give the same people; identifiers are unique within one call.
    """
    rng = random.Random(seed)
    r = rng.random
    now = (now or utcnow()).replace(microsecond=0)
    regions = _regions()
    weights = [reg.weight for reg in regions]
    numbers, emails, handles = _Numbers(regions, seed), _Unique(), _Unique()
    picks = rng.choices(range(len(regions)), weights, k=count)
    sources = rng.choices([s for s, _ in _SOURCES], [w for _, w in _SOURCES], k=count)
    for n in range(count):
        index = picks[n]
        region = regions[index]
        first, first_ascii = region.first[int(r() * len(region.first))]
        last, last_ascii = region.last[int(r() * len(region.last))]
        given, family = (last, first) if region.family_first else (first, last)
        full_name = f"{given} {family}" if region.spaced else f"{given}{family}"
        phone = numbers.next(index, region) if r() < 0.8 else None
        whatsapp = None
        if r() < 0.4:
            whatsapp = phone if phone and r() < 0.8 else numbers.next(index, region)
        email = instagram = None
        style = int(r() * 4)
        if r() < 0.85 or not (phone or whatsapp):
            local = _EMAIL_STYLES[style].format(f=first_ascii, l=last_ascii, i=first_ascii[0])
            domain = region.domain if r() < 0.6 else "mail.example"
            email = f"{emails(local, 60)}@{domain}"
        if r() < 0.3:
            base = _HANDLE_STYLES[style].format(f=first_ascii, l=last_ascii)
            instagram = handles(base, 30)
        have = (whatsapp, instagram, email, phone, phone)
        channels = [channel for channel, value in zip(_CHANNELS, have, strict=True) if value]
        source = sources[n]
        refs = _REFS.get(source)
        ref = refs[int(r() * len(refs))] if refs else None
        created_at = now - timedelta(seconds=int(r() * 730 * 86_400))
        active = None
        if r() < 0.85:
            span = min((now - created_at).total_seconds(), 365 * 86_400)
            active = now - timedelta(seconds=int(span * r() ** 2))
        nickname = _NICKNAMES.get(first)
        yield {
            "full_name": full_name,
            "first_name": first,
            "last_name": last,
            "nicknames": [nickname] if nickname and r() < 0.5 else [],
            "phone": phone,
            "email": email,
            "whatsapp": whatsapp,
            "instagram": instagram,
            "external_id": f"{ref}-{n + 1:07d}" if source in ("integration", "scim") else None,
            "primary_channel": channels[int(r() * len(channels))],
            "source": source,
            "source_ref": ref,
            "created_at": created_at,
            "last_activity_at": active,
            "attributes": _attributes(rng, region),
        }


def as_row(person: dict[str, Any], *, workspace_id: int) -> dict[str, Any]:
    """A generated person as a complete `users` row, for bulk inserts with SQLAlchemy Core."""
    return {
        **person,
        "workspace_id": workspace_id,
        "id": ids.new_id(),
        "role": "none",
        "status": "active",
        "scoring_enabled": False,
        "roaming": False,
        "updated_at": person["created_at"],
    }
